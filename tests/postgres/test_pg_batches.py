"""A delivery in batches (``ugc_pipeline.batches``) on PostgreSQL: the spooled rows and quarantine
go out as COPY from the Parquet spool, and the raw layer and quarantine are the ones a DuckDB
warehouse gets from the same delivery in one batch; a rerun replaces it; a delivery whose last
file is unreadable leaves the PostgreSQL warehouse as it was."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pg_support import duckdb_url
from sqlalchemy import text
from ugc_pipeline import batches, warehouse
from ugc_pipeline.parse import DeliveryError
from ugc_pipeline.pipeline import ingest_source
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import get_source

DAY = date(2025, 5, 6)


def review(rid: int, **extra) -> dict:
    base = {"id": rid, "sku": "MV-OLV-500", "score": 5, "title": "Très bien, \"vraiment\"",
            "content": "Ligne 1\nLigne 2, avec une virgule; et un \\ antislash", "created_at": "2025-05-06T08:00:00Z",
            "updated_at": "2025-05-06T08:00:00Z", "votes_up": 2, "votes_down": 0, "name": "Zoé",
            "email": "zoe@example.fr", "reviewer_type": "verified_buyer", "deleted": False, "archived": False,
            "is_incentivized": False, "incentive_type": None}
    return {**base, **extra}


def deliver(root: Path, pages: dict[str, object]) -> None:
    folder = root / "yotpo_reviews" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, content in pages.items():
        (folder / name).write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")


PAGES = {
    "page-1.json": {"reviews": [review(487100001, votes_up=1), review(487100002), review(487100003, score=0)]},
    "page-2.json": {"reviews": [review(487100004), review(487100001, votes_up=7), review(487100005, title="")]},
    "page-3.json": {"reviews": [review(487100001, score="cinq"), review(487100006), review(487100007, score=6)]},
}


def state(url: str) -> tuple[list[tuple], list[tuple]]:
    engine = warehouse.create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            table = get_source("yotpo_reviews").tables[0]
            columns = [c for c in warehouse.raw_columns(table) if c not in ("run_id", "loaded_at")]
            raw = conn.execute(text(
                f"select {', '.join(chr(34) + c + chr(34) for c in columns)} from raw.yotpo_reviews "
                "order by source_file, record_number")).fetchall()
            rejects = conn.execute(text(
                "select source, delivery_date, file, position, reasons, raw from audit.rejected_records "
                "order by file, position")).fetchall()
    finally:
        engine.dispose()
    return [tuple(str(v) for v in r) for r in raw], [tuple(str(v) for v in r) for r in rejects]


@pytest.fixture
def tiny_groups(monkeypatch):
    monkeypatch.setattr(batches, "PARSE_GROUP_BYTES", 1)  # every file its own parse group


def test_a_delivery_in_batches_on_postgresql_equals_one_batch_on_duckdb(pg_url, tmp_path, tiny_groups):
    landing = tmp_path / "landing"
    deliver(landing, PAGES)
    duck = duckdb_url(tmp_path / "wh.duckdb")
    one = ingest_source("yotpo_reviews", DAY, Settings(landing_uri=str(landing), warehouse_url=duck,
                                                       batch_records=1_000), "one-batch")
    split = ingest_source("yotpo_reviews", DAY, Settings(landing_uri=str(landing), warehouse_url=pg_url,
                                                         batch_records=1), "batches")

    assert (split.records_read, split.records_loaded, split.records_rejected) == (
        one.records_read, one.records_loaded, one.records_rejected) == (9, 5, 4)
    assert state(pg_url) == state(duck)
    raw, rejects = state(pg_url)
    assert [(r[2].rsplit("/", 1)[1], r[3]) for r in rejects] == [
        ("page-1.json", "$.reviews[0]"), ("page-1.json", "$.reviews[2]"), ("page-3.json", "$.reviews[0]"),
        ("page-3.json", "$.reviews[2]")]
    assert "kept yotpo_reviews/2025-05-06/page-2.json $.reviews[1]" in rejects[0][4]
    assert len(raw) == 5

    again = ingest_source("yotpo_reviews", DAY, Settings(landing_uri=str(landing), warehouse_url=pg_url,
                                                         batch_records=2), "again")
    assert (again.records_loaded, again.records_rejected) == (5, 4)
    assert state(pg_url) == (raw, rejects)


def test_an_unreadable_last_file_leaves_postgresql_as_it_was(pg_url, tmp_path, tiny_groups):
    landing = tmp_path / "landing"
    deliver(landing, PAGES)
    settings = Settings(landing_uri=str(landing), warehouse_url=pg_url, batch_records=1)
    ingest_source("yotpo_reviews", DAY, settings, "first")
    before = state(pg_url)

    deliver(landing, {**PAGES, "page-4.json": '{"reviews": [{"id": 4871'})
    with pytest.raises(DeliveryError, match=r"page-4\.json: cannot be read as json"):
        ingest_source("yotpo_reviews", DAY, settings, "broken")

    assert state(pg_url) == before
