"""A warehouse created by an earlier version gains the columns documented since (no manual step)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from ugc_pipeline import warehouse

PULL_COLUMNS = ["pull_requests", "pull_pages", "pull_records", "pull_retries", "pull_cursor"]


def columns(engine, table: str) -> list[str]:
    schema, name = table.split(".")
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text(
            "select column_name from information_schema.columns where table_schema = :s and table_name = :t "
            "order by ordinal_position"), {"s": schema, "t": name})]


def test_an_older_pipeline_runs_table_gets_the_pull_columns(tmp_path):
    engine = warehouse.create_warehouse_engine(f"duckdb:///{tmp_path / 'old.duckdb'}")
    warehouse.ensure_warehouse(engine)
    with engine.begin() as conn:  # the table as the previous version created it
        for name in PULL_COLUMNS:
            conn.exec_driver_sql(f"alter table audit.pipeline_runs drop column {name}")
        conn.exec_driver_sql("insert into audit.pipeline_runs (run_id, source, delivery_date, started_at, status) "
                             "values ('old-run', 'yotpo_reviews', date '2025-05-01', now(), 'success')")
    assert not set(PULL_COLUMNS) & set(columns(engine, "audit.pipeline_runs"))

    warehouse.ensure_warehouse(engine)  # what every ingest task does first

    assert columns(engine, "audit.pipeline_runs")[-5:] == PULL_COLUMNS
    warehouse.record_run(engine, {"run_id": "new-run", "source": "yotpo_reviews", "delivery_date": date(2025, 5, 2),
                                  "started_at": datetime.now(UTC), "status": "success", "pull_pages": 3,
                                  "pull_cursor": '{"app": "2025-05-02T08:00:00Z"}'})
    with engine.connect() as conn:
        rows = conn.execute(text("select run_id, pull_pages, pull_cursor from audit.pipeline_runs order by run_id")).all()
    assert [tuple(r) for r in rows] == [("new-run", 3, '{"app": "2025-05-02T08:00:00Z"}'), ("old-run", None, None)]


@pytest.mark.parametrize("name", ["marts.duckdb", "raw.duckdb", "Audit.db"])
def test_a_duckdb_file_named_like_a_schema_is_refused_with_the_reason(tmp_path, name):
    """DuckDB names its catalog after the file: 'marts.duckdb' would make every marts.<table>
    ambiguous ("Ambiguous reference to catalog or schema") deep inside the first task."""
    with pytest.raises(ValueError, match="named like one of the warehouse's schemas"):
        warehouse.create_warehouse_engine(f"duckdb:///{tmp_path / name}")
    assert not (tmp_path / name).exists()


def test_older_raw_tables_get_the_native_column_names_with_their_rows(tmp_path):
    """Raw columns used to have names of the pipeline's own (``review_id``, ``create_time``...);
    a warehouse created then gets them renamed to the platforms' field names, rows kept."""
    from ugc_pipeline.sources import raw_tables

    engine = warehouse.create_warehouse_engine(f"duckdb:///{tmp_path / 'old.duckdb'}")
    warehouse.ensure_warehouse(engine)
    tables = {t.name: t for t in raw_tables()}
    assert set(warehouse.RENAMED_RAW_COLUMNS) <= set(tables)
    with engine.begin() as conn:  # the raw tables as the previous version created them
        for name, renames in warehouse.RENAMED_RAW_COLUMNS.items():
            assert set(renames.values()) <= {c.name for c in tables[name].columns}, name
            for old, new in renames.items():
                conn.exec_driver_sql(f'alter table raw.{name} rename column "{new}" to {old}')
        conn.exec_driver_sql("insert into raw.yotpo_reviews (delivery_date, source_file, record_number, "
                             "record_position, run_id, loaded_at, review_id, is_deleted, score) values "
                             "(date '2025-05-01', 'p.json', 1, '$.reviews[0]', 'old-run', now(), '487', 'true', '5')")
    assert "review_id" in columns(engine, "raw.yotpo_reviews")

    warehouse.ensure_warehouse(engine)  # what every ingest task does first

    for name, table in tables.items():
        assert columns(engine, f"raw.{name}") == warehouse.raw_columns(table), name
    with engine.connect() as conn:
        rows = conn.execute(text("select id, deleted, score, run_id from raw.yotpo_reviews")).all()
    assert [tuple(r) for r in rows] == [("487", "true", "5", "old-run")]
    warehouse.ensure_warehouse(engine)  # and once renamed, nothing more to do
    assert columns(engine, "raw.google_business_reviews") == warehouse.raw_columns(tables["google_business_reviews"])
