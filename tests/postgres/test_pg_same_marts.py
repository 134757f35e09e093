"""The same landing zone gives the same warehouse on DuckDB and on PostgreSQL.

The landing zone (the hand-made one of tests/e2e plus a day of tricky text, ``pg_landing``) is
run through ``ingest_source`` (every source, every delivery day, in order) and ``build_marts``
(``dbt build`` after each day, as the DAGs do: the marts grow by incremental runs) into a DuckDB
file and into a PostgreSQL database; then every mart dbt builds, every raw table and the
quarantine are compared row by row, by key: same columns in the same order, same row counts,
same keys, same integers and texts, doubles within 1e-9 (relative). A ``--full-refresh`` on
PostgreSQL then gives the same marts again.
"""

from __future__ import annotations

from pg_landing import PLUS_DAYS, TRICKY_DAY, YOTPO_TEXTS
from pg_support import (
    _plain,
    compare_warehouses,
    count,
    dbt_models,
    duckdb_url,
    expected_index_shapes,
    index_shapes,
    run_days,
    settings_for,
    table_keys,
)
from sqlalchemy import text
from support import expected as by_hand  # the e2e expectations, reused as they are
from support.expected import MV, A, assert_same_values
from support.readme_queries import analyst_queries
from support.runs import Run, by_key, fetch
from ugc_pipeline import catalog, transform, warehouse
from ugc_pipeline.landing import Landing
from ugc_pipeline.parse import parse_delivery, sql_ident
from ugc_pipeline.pipeline import build_marts
from ugc_pipeline.sample import write_sample_landing
from ugc_pipeline.sources import SOURCES, raw_tables

MARTS = [s.qualified for s in catalog.mart_specs()]


def test_every_mart_is_the_same_on_duckdb_and_postgresql(duckdb_plus_run, pg_plus_run):
    # every mart model of the dbt project is compared (its YAML gives the grain, the key)
    assert sorted(MARTS) == [f"marts.{name}" for name in dbt_models("marts")]
    for table in MARTS:
        assert count(pg_plus_run, f"select count(*) from {table}") > 0, f"{table} is empty: nothing compared"
        assert count(duckdb_plus_run, f"select count(*) from {table}") > 0, f"{table} is empty: nothing compared"
    assert compare_warehouses(duckdb_plus_run, pg_plus_run, MARTS) == []


def test_a_full_refresh_on_postgresql_gives_the_same_marts(duckdb_plus_run, pg_plus_copy):
    """The marts built from scratch (``dbt build --full-refresh``, on a copy of the PostgreSQL run)
    are the ones the incremental runs of every day left: the same as DuckDB's, with their keys and
    indexes."""
    settings = pg_plus_copy.settings
    transform.run_dbt(settings.warehouse_url, ["build", "--select", "marts", "--full-refresh"],
                      timezone=settings.timezone)
    assert compare_warehouses(duckdb_plus_run, pg_plus_copy, MARTS) == []
    assert index_shapes(pg_plus_copy.engine) == expected_index_shapes()


def test_raw_tables_and_quarantine_are_the_same_on_duckdb_and_postgresql(duckdb_plus_run, pg_plus_run):
    """What COPY loaded is what DuckDB loaded: every raw text, NULL, date and number."""
    others = [t for t in table_keys() if t not in MARTS]
    assert count(pg_plus_run, "select count(*) from audit.rejected_records") >= 1
    assert compare_warehouses(duckdb_plus_run, pg_plus_run, others) == []


def _key(table: str) -> str:
    """The raw column of a table's native key (named as the platform names it)."""
    return sql_ident(next(t for t in raw_tables() if t.name == table).key[0])


def test_copy_keeps_quotes_newlines_backslashes_and_nulls(pg_plus_run):
    rows = {int(r["review_id"]): r for r in fetch(
        pg_plus_run, f"select {_key('yotpo_reviews')} as review_id, content, title from raw.yotpo_reviews "
        "where delivery_date = :d", d=TRICKY_DAY)}
    assert sorted(rows) == sorted(YOTPO_TEXTS)
    for rid, (content, title) in YOTPO_TEXTS.items():
        assert rows[rid]["content"] == content.strip()
        # blank and missing are both unknown (NULL): never the text "" or "\N"
        assert rows[rid]["title"] == ((title or "").strip() or None)
    retailer = {r["review_id"]: r for r in fetch(
        pg_plus_run, f"select {_key('retailer_reviews')} as review_id, title, review_text from raw.retailer_reviews "
        "where delivery_date = :d", d=TRICKY_DAY)}
    assert retailer["RV-10"] == {"review_id": "RV-10", "title": "Top; top",
                                 "review_text": 'Très "bonne"; vraiment\nà racheter'}
    assert (retailer["RV-11"]["review_text"], retailer["RV-11"]["title"]) == ("\\.", '"')
    assert retailer["RV-12"]["title"] == "\\N"
    assert retailer["RV-12"]["review_text"] in ("ligne\r\nsuivante, fin", "ligne\nsuivante, fin")


def test_marts_by_hand_on_postgresql_and_the_kpi_calendar(pg_hand_copy):
    """The e2e expectations computed by hand (tests/support/expected.py) on PostgreSQL, on the
    warehouse the hand-made landing zone's days left (every source, marts after each day: a copy of
    the PostgreSQL run as it was after ``DAYS``); then the marts rebuilt with the KPI calendar in
    UTC move the items created between 22:00Z and midnight UTC back to their UTC day
    (tests/e2e/test_kpi_calendar.py)."""
    run = pg_hand_copy
    by_hand.assert_marts_match_hand_values(run)
    by_hand.assert_audit_matches(run, run_ids_expected=4)

    build_marts(settings_for(run.settings.landing_uri, run.settings.warehouse_url, timezone="UTC"))
    ugc = by_key(fetch(run, "select * from marts.ugc_daily"),
                 "kpi_date", "brand", "sku", "platform", "content_type", "influencer_tier")
    assert_same_values(ugc[("2025-05-05", MV, None, "google_business", "review", "unknown")],
                       {"ugc_count": 4, "review_count": 4, "rating_count": 3, "avg_rating": 4.0}, "utc")
    assert ("2025-05-06", MV, None, "google_business", "review", "unknown") not in ugc
    conversion = by_key(fetch(run, "select * from marts.conversion_daily"), "kpi_date", "sku")
    assert_same_values(conversion[("2025-05-06", A)], {"cumulative_reviews": 4, "avg_rating_to_date": 4.5}, "utc")
    assert_same_values(conversion[("2025-05-05", A)], {"orders": 5, "conversion_variation": 3 / 14}, "utc")


def test_day_order_and_reruns_change_nothing_on_postgresql(duckdb_plus_run, plus_landing, new_pg_url):
    """Days ingested in reverse order with the marts built once, then every delivered day run
    again: the same warehouse as DuckDB's forward run (tests/e2e/test_order_independence and
    test_idempotency, on PostgreSQL)."""
    url = new_pg_url("order")
    reversed_run = run_days("reversed", plus_landing, url, list(reversed(PLUS_DAYS)), marts_each_day=False)
    assert compare_warehouses(duckdb_plus_run, reversed_run) == []
    rerun = run_days("rerun", plus_landing, url, PLUS_DAYS, marts_each_day=False, delivered_only=True)
    assert compare_warehouses(duckdb_plus_run, rerun) == []
    # the run history is append-only: one row per source and day of the first pass, plus the reruns
    assert count(rerun, "select count(*) from audit.pipeline_runs where run_id like 'pg-reversed-%'") == (
        len(PLUS_DAYS) * len(SOURCES))
    assert count(rerun, "select count(*) from audit.pipeline_runs where run_id like 'pg-rerun-%'") > 0


def test_sample_landing_gives_the_same_marts(tmp_path, new_pg_url):
    """The generated sample landing zone (every source, five delivery days: snapshots and 28 days
    of fact history, a 3-day campaign and a day after it, ~2,800 records): each delivery parsed
    once and loaded into both warehouses with ``replace_delivery`` (the raw load of
    ``ingest_source``; the sample's exports are clean, and validation is covered above), the
    marts built on both and compared."""
    sample = write_sample_landing(tmp_path / "landing", campaign_days=3, extra_delivery_days=1)
    landing = Landing(str(tmp_path / "landing"))
    duck = Run("duckdb", settings_for(tmp_path / "landing", duckdb_url(tmp_path / "wh.duckdb")), None)
    pg = Run("postgresql", settings_for(tmp_path / "landing", new_pg_url("sample")), None)
    engines = [duck.engine, pg.engine]
    for engine in engines:
        warehouse.ensure_warehouse(engine)
    loaded = 0
    for day in sample.delivery_dates:
        for source in SOURCES.values():
            files = landing.files(source.name, day)
            if not files:
                continue
            parsed = parse_delivery(source, landing, files)
            for engine in engines:
                with engine.begin() as conn:
                    for table in parsed.values():
                        loaded += warehouse.replace_delivery(conn, table.table, day, table.arrow, f"sample-{day}")
    assert loaded > 2 * 2500
    for run in (duck, pg):
        build_marts(run.settings)
    for table in MARTS:
        assert count(pg, f"select count(*) from {table}") > 0
    assert compare_warehouses(duck, pg, [t for t in table_keys() if t != "audit.rejected_records"]) == []
    # the README's example queries for analysts answer the same on both (row order aside: the two
    # sort text by different collations)
    for query in analyst_queries():
        answers = []
        for run in (duck, pg):
            with run.engine.connect() as conn:
                answers.append(sorted((tuple(_plain(v) for v in row) for row in conn.execute(text(query))), key=repr))
        assert answers[0] and answers[0] == answers[1], query


def test_the_report_reads_the_same_numbers_on_postgresql(duckdb_plus_run, pg_plus_run):
    """What the HTML report reads (``ugc_pipeline.report.QUERIES``: marts, the enriched items'
    authors and stars) is the same on both warehouses (doubles to 9 decimals)."""
    from ugc_pipeline.report import load_report_data

    def rows(frame):
        return sorted(map(tuple, frame.round(9).astype(str).to_numpy()))

    duck, pg = load_report_data(duckdb_plus_run.engine), load_report_data(pg_plus_run.engine)
    for name in ("ugc", "reach", "authors", "ratings", "conversion", "uplift", "buckets", "freshness"):
        left, right = getattr(duck, name), getattr(pg, name)
        assert list(left.columns) == list(right.columns), name
        assert len(left) > 0, f"{name}: nothing compared"
        assert rows(left) == rows(right), name
