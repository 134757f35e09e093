"""The dialect macros of the dbt project (``sql/macros/dialect.sql``), compiled by dbt for DuckDB
and for PostgreSQL (``dbt compile --inline``, the same dispatch the models go through), give the
same results on both; ``ugc_local_date`` gives the KPI day in the zone of the dbt var
``kpi_timezone`` that ``transform.run_dbt`` passes (UGC_TIMEZONE)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pg_support import compile_inline, duckdb_url
from sqlalchemy import text
from ugc_pipeline import warehouse

TEXTS = [None, "", "#OliveDuMatin", "#oliveDuMatin, #MaisonVerte!", "Café ☕️ #ÉTÉ «bon»\n#OLIVEDUMATIN",
         "straße STRASSE", "中文 #美食", "٣٤ digits", "a_b-c.d", "  spaced\ttab\nnl ", "🍕#pizza🍕", "ΣΊΣΥΦΟΣ",
         "Z-NORD  Z-SUD\tZ-EST", "https://www.instagram.com/p/DAbc111xyz/?igsh=abc"]
PATTERNS = ["/(?:p|reel|reels|tv)/([A-Za-z0-9_-]+)", "[?&]v=([A-Za-z0-9_-]+)", "/locations/([^/]+)/", "(nomatch)"]
URLS = [None, "https://www.instagram.com/p/DAbc111xyz/?igsh=abc", "https://www.youtube.com/watch?v=yt0Olive001&t=1",
        "accounts/108/locations/1001/reviews/G1", "https://youtu.be/abc", ""]
SECONDS = ["1746554400", "0", None]
TIMESTAMPS = [datetime(2025, 5, 5, 21, 59, 59, tzinfo=UTC), datetime(2025, 5, 5, 22, 0, tzinfo=UTC),
              datetime(2025, 3, 30, 0, 59, tzinfo=UTC), datetime(2025, 10, 26, 23, 30, tzinfo=UTC),
              datetime(2025, 5, 5, 15, 0, tzinfo=UTC), None]

# One row per probe value; each macro is applied to its column (arguments are SQL expressions).
PROBE_SQL = ("select id, {{ ugc_hashtag_text('s') }} as hashtag_text, {{ ugc_words('s') }} as words, "
             + ", ".join(f"{{{{ ugc_regexp_extract('s', \"'{p}'\") }}}} as extracted_{i}" for i, p in enumerate(PATTERNS))
             + ", {{ ugc_from_unix_seconds('secs') }} as from_seconds, {{ ugc_local_date('t') }} as kpi_date "
             "from ugc_probe order by id")


def _rows() -> list[dict]:
    texts = TEXTS + URLS
    n = max(len(texts), len(SECONDS), len(TIMESTAMPS))
    return [{"id": i, "s": texts[i] if i < len(texts) else None, "secs": SECONDS[i] if i < len(SECONDS) else None,
             "t": TIMESTAMPS[i] if i < len(TIMESTAMPS) else None} for i in range(n)]


@pytest.fixture(scope="module")
def warehouses(session_pg_url, tmp_path_factory) -> dict[str, str]:
    """A DuckDB file and a PostgreSQL database holding the table ``ugc_probe`` of the probe values."""
    urls = {"duckdb": duckdb_url(tmp_path_factory.mktemp("dialect") / "wh.duckdb"),
            "postgresql": session_pg_url("dialect")}
    for url in urls.values():
        engine = warehouse.create_warehouse_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("create table ugc_probe (id integer, s varchar, secs varchar, t timestamp with time zone)")
            conn.execute(text("insert into ugc_probe values (:id, :s, :secs, :t)"), _rows())
        engine.dispose()
    return urls


@pytest.fixture(scope="module")
def probe(warehouses, tmp_path_factory):
    """``probe(warehouse, zone)``: the probe query, compiled by dbt for that warehouse with
    kpi_timezone = ``zone``, run there: {id: row}."""
    done: dict[tuple[str, str], dict[int, dict]] = {}

    def run(name: str, zone: str) -> dict[int, dict]:
        if (name, zone) not in done:
            url = warehouses[name]
            sql = compile_inline(url, PROBE_SQL, zone, tmp_path_factory.mktemp(f"dbt_{name}"))
            engine = warehouse.create_warehouse_engine(url)
            with engine.connect() as conn:
                done[(name, zone)] = {r["id"]: dict(r) for r in conn.exec_driver_sql(sql).mappings()}
            engine.dispose()
        return done[(name, zone)]

    return run


def test_the_macros_compile_to_each_warehouses_sql(probe, warehouses, tmp_path):
    """The dispatch picks the warehouse's own functions (not one dialect run on both)."""
    duck = compile_inline(warehouses["duckdb"], "{{ ugc_words('s') }} {{ ugc_local_date('t') }}", "Europe/Paris",
                          tmp_path / "duck")
    pg = compile_inline(warehouses["postgresql"], "{{ ugc_words('s') }} {{ ugc_local_date('t') }}", "Europe/Paris",
                        tmp_path / "pg")
    assert "string_split(" in duck and "timezone('Europe/Paris', t)" in duck
    assert "string_to_array(" in pg and "at time zone 'Europe/Paris'" in pg


def test_hashtag_text_and_words(probe):
    duck, pg = probe("duckdb", "Europe/Paris"), probe("postgresql", "Europe/Paris")
    assert sorted(duck) == sorted(pg) == [r["id"] for r in _rows()]
    for i, row in duck.items():
        assert row["hashtag_text"] == pg[i]["hashtag_text"], row
        # DuckDB keeps one '' for a blank list; the models drop it
        assert [w for w in row["words"] if w] == [w for w in pg[i]["words"] if w], row
    hashtags = {r["id"]: r["s"] for r in _rows()}
    by_text = {hashtags[i]: row["hashtag_text"] for i, row in pg.items()}
    assert by_text["Café ☕️ #ÉTÉ «bon»\n#OLIVEDUMATIN"] == " café été bon olivedumatin "
    assert by_text[None] == by_text[""] == "  "


def test_regexp_extract_and_unix_seconds(probe):
    duck, pg = probe("duckdb", "Europe/Paris"), probe("postgresql", "Europe/Paris")
    for i, row in duck.items():
        for k in range(len(PATTERNS)):
            assert row[f"extracted_{k}"] == pg[i][f"extracted_{k}"], (row, PATTERNS[k])
        assert row["from_seconds"] == pg[i]["from_seconds"], row
    extracted = {r["s"]: (pg[r["id"]]["extracted_0"], pg[r["id"]]["extracted_1"]) for r in _rows()}
    assert extracted["https://www.instagram.com/p/DAbc111xyz/?igsh=abc"] == ("DAbc111xyz", None)
    assert extracted["https://www.youtube.com/watch?v=yt0Olive001&t=1"] == (None, "yt0Olive001")
    assert pg[0]["from_seconds"] == datetime(2025, 5, 6, 18, 0, tzinfo=UTC)
    assert pg[2]["from_seconds"] is None


@pytest.mark.parametrize("zone", ["Europe/Paris", "Asia/Tokyo"])
def test_local_date_is_the_kpi_day_in_the_zone_of_the_run(probe, zone):
    """Around midnight and across both daylight-saving changes; NULL stays NULL."""
    for name in ("duckdb", "postgresql"):
        rows = probe(name, zone)
        for i, ts in enumerate(TIMESTAMPS):
            expected = ts.astimezone(ZoneInfo(zone)).date() if ts else None
            assert rows[i]["kpi_date"] == expected, (name, zone, ts)
    paris, tokyo = probe("postgresql", "Europe/Paris"), probe("postgresql", "Asia/Tokyo")
    assert (paris[0]["kpi_date"], paris[1]["kpi_date"]) == (date(2025, 5, 5), date(2025, 5, 6))
    assert tokyo[0]["kpi_date"] == date(2025, 5, 6)
