"""The helper functions of sql/dialect/ give the same results on DuckDB and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from ugc_pipeline import warehouse

TEXTS = [None, "", "#OliveDuMatin", "#oliveDuMatin, #MaisonVerte!", "Café ☕️ #ÉTÉ «bon»\n#OLIVEDUMATIN",
         "straße STRASSE", "中文 #美食", "٣٤ digits", "a_b-c.d", "  spaced\ttab\nnl ", "🍕#pizza🍕", "ΣΊΣΥΦΟΣ",
         "Z-NORD  Z-SUD\tZ-EST", "https://www.instagram.com/p/DAbc111xyz/?igsh=abc"]
PATTERNS = ["/(?:p|reel|reels|tv)/([A-Za-z0-9_-]+)", "[?&]v=([A-Za-z0-9_-]+)", "/locations/([^/]+)/", "(nomatch)"]
URLS = [None, "https://www.instagram.com/p/DAbc111xyz/?igsh=abc", "https://www.youtube.com/watch?v=yt0Olive001&t=1",
        "accounts/108/locations/1001/reviews/G1", "https://youtu.be/abc", ""]
TIMESTAMPS = [datetime(2025, 5, 5, 21, 59, 59, tzinfo=UTC), datetime(2025, 5, 5, 22, 0, tzinfo=UTC),
              datetime(2025, 3, 30, 0, 59, tzinfo=UTC), datetime(2025, 10, 26, 23, 30, tzinfo=UTC)]


@pytest.fixture
def engines(pg_url, tmp_path):
    out = []
    for url in (f"duckdb:///{tmp_path / 'wh.duckdb'}", pg_url):
        engine = warehouse.create_warehouse_engine(url)
        warehouse.ensure_warehouse(engine)
        with engine.begin() as conn:
            warehouse.set_timezone(conn, "Europe/Paris")
        out.append(engine)
    return out


def _one(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_hashtag_text_and_words(engines):
    duck, pg = engines
    for value in TEXTS:
        assert _one(duck, "select ugc_hashtag_text(:s)", s=value) == _one(
            pg, "select ugc_hashtag_text(cast(:s as text))", s=value), value
        words_duck = [w for w in _one(duck, "select ugc_words(:s)", s=value) if w]
        words_pg = [w for w in _one(pg, "select ugc_words(cast(:s as text))", s=value) if w]
        assert words_duck == words_pg, value  # DuckDB keeps one '' for a blank list; models drop it


def test_regexp_extract_and_unix_seconds(engines):
    duck, pg = engines
    for url in URLS:
        for pattern in PATTERNS:
            assert _one(duck, "select ugc_regexp_extract(:s, :p)", s=url, p=pattern) == _one(
                pg, "select ugc_regexp_extract(cast(:s as text), cast(:p as text))", s=url, p=pattern), (url, pattern)
    for seconds in ("1746554400", "0", None):
        assert _one(duck, "select ugc_from_unix_seconds(:s)", s=seconds) == _one(
            pg, "select ugc_from_unix_seconds(cast(:s as text))", s=seconds)


def test_local_date_follows_the_stored_zone_and_the_rebuild_setting(engines):
    duck, pg = engines
    for ts in TIMESTAMPS:
        expected = ts.astimezone(ZoneInfo("Europe/Paris")).date()
        assert _one(duck, "select ugc_local_date(:t)", t=ts) == expected
        assert _one(pg, "select ugc_local_date(cast(:t as timestamptz))", t=ts) == expected
    # inside a rebuild's transaction the setting (the zone just stored) is used; afterwards the table
    with pg.begin() as conn:
        warehouse.set_timezone(conn, "UTC")
        assert conn.execute(text("select ugc_local_date(cast(:t as timestamptz))"),
                            {"t": TIMESTAMPS[1]}).scalar_one() == date(2025, 5, 5)
    assert _one(pg, "select ugc_local_date(cast(:t as timestamptz))", t=TIMESTAMPS[1]) == date(2025, 5, 5)
    with pg.begin() as conn:
        conn.execute(text("update meta.pipeline_settings set timezone = 'Asia/Tokyo'"))
    assert _one(pg, "select ugc_local_date(cast(:t as timestamptz))", t=TIMESTAMPS[0]) == date(2025, 5, 6)
