"""Primary keys, unique keys and indexes of the PostgreSQL warehouse.

The raw and audit tables get theirs from ``warehouse.ensure_warehouse`` (Python DDL); the marts,
which dbt creates, from the marts' post-hook (``sql/macros/postgres_keys.sql``), from each mart's
YAML (``config.meta``: grain, unique_grain, indexes; not_null tests). DuckDB gets none.
"""

from __future__ import annotations

from datetime import date

import pytest
from pg_support import expected_index_shapes, index_shapes, indexes_by_table, settings_for, task_build_views
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from ugc_pipeline import catalog, dialects, transform, warehouse
from ugc_pipeline.pipeline import build_marts
from ugc_pipeline.sources import raw_tables

PG_MAX_IDENT = 63


@pytest.fixture(scope="module")
def marts_db(session_pg_url, tmp_path_factory):
    """A PostgreSQL warehouse whose marts dbt has built (empty: the keys do not depend on rows)."""
    settings = settings_for(tmp_path_factory.mktemp("keys") / "landing", session_pg_url("keys"))
    build_marts(settings)
    return settings


def _dbt(settings, *args: str) -> None:
    """``dbt run`` of the marts: their materialization and post-hook, which make the keys, as in
    ``dbt build``, without the dbt tests of the (empty) marts, which check rows, not keys."""
    transform.run_dbt(settings.warehouse_url, ["run", "--select", "marts", *args], timezone=settings.timezone)


def _assert_grain_rejects_duplicates(engine) -> None:
    """Two ugc_daily rows that differ only by NULLs are the same grain; so are two reach_daily
    rows; conversion_daily's grain (its primary key) takes no NULL sku at all."""
    ugc = text("insert into marts.ugc_daily (kpi_date, brand, sku, platform, content_type, influencer_tier, "
               "ugc_count, review_count, rating_count, incentivized_count, with_media_count, "
               "declared_and_measured_count) values (:d, 'MV', null, 'google_business', null, 'unknown', "
               "1, 1, 1, 0, 0, 0)")
    reach = text("insert into marts.reach_daily (kpi_date, brand, sku, platform, influencer_tier, post_count, "
                 "author_count, potential_reach, engagements, posts_without_metrics, offline_reach, "
                 "survey_respondents, survey_answers) values (:d, null, null, 'offline', 'unknown', "
                 "0, 0, 0, 0, 0, 1, 1, 1)")
    conversion = text("insert into marts.conversion_daily (kpi_date, sku, cumulative_reviews, review_bucket) "
                      "values (:d, null, 0, '0')")
    params = {"d": date(2025, 5, 5)}
    for insert in (ugc, reach):
        with engine.connect() as conn:  # rolled back: the mart stays as dbt built it
            conn.execute(insert, params)
            with pytest.raises(IntegrityError, match="duplicate key"):
                conn.execute(insert, params)
    with engine.connect() as conn, pytest.raises(IntegrityError, match="null value"):
        conn.execute(conversion, params)


def test_raw_tables_have_a_primary_key_and_a_native_key_index(pg_url):
    engine = warehouse.create_warehouse_engine(pg_url)
    warehouse.ensure_warehouse(engine)
    indexes = {name: (table, unique, primary, list(cols))
               for table, found in indexes_by_table(engine, "raw").items()
               for name, unique, primary, _, cols in found}
    for table in raw_tables():
        assert indexes[f"{table.name}__pkey"] == (table.name, True, True, list(warehouse.RAW_KEY))
        assert table.key, f"{table.name} declares no native key"
        name = dialects.index_name(table.name, "_".join(table.key) + "_idx")
        assert indexes[name] == (table.name, False, False, list(table.key))


def test_marts_are_unique_on_their_grain_and_indexed_for_analysts(marts_db):
    engine = warehouse.create_warehouse_engine(marts_db.warehouse_url)
    shapes = index_shapes(engine)
    assert shapes == expected_index_shapes()
    assert all(spec.unique_grain for spec in catalog.mart_specs())
    # conversion_daily's grain (kpi_date, sku) is never null: primary key; ugc_daily's sku and
    # brand may be (store-level Google reviews): UNIQUE NULLS NOT DISTINCT
    assert (True, True, False, ("kpi_date", "sku")) in shapes["conversion_daily"]
    assert (True, False, True, catalog.table_specs()["marts.ugc_daily"].grain) in shapes["ugc_daily"]
    # what analysts filter by: a day (every key starts with kpi_date), a SKU, a campaign
    assert (False, False, False, ("sku", "kpi_date")) in shapes["ugc_daily"]
    assert (False, False, False, ("campaign_id", "kpi_date")) in shapes["conversion_daily"]
    names = [name for found in indexes_by_table(engine).values() for name, *_ in found]
    assert all(len(name.encode()) <= PG_MAX_IDENT for name in names)


def test_a_null_sku_is_part_of_the_grain(marts_db):
    _assert_grain_rejects_duplicates(warehouse.create_warehouse_engine(marts_db.warehouse_url))


def test_keys_and_indexes_survive_incremental_runs_and_a_full_refresh(marts_db):
    engine = warehouse.create_warehouse_engine(marts_db.warehouse_url)
    before = indexes_by_table(engine)
    _dbt(marts_db)
    assert indexes_by_table(engine) == before, "an incremental run found everything in place: no DDL"

    # --full-refresh: a new table renamed over the old one, whose indexes exist until the
    # backup is dropped; the new one gets every key and index, under names that do not collide
    _dbt(marts_db, "--full-refresh")
    assert index_shapes(engine) == expected_index_shapes()
    with engine.connect() as conn:
        left = conn.execute(text("select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                                 "where n.nspname = 'marts' and strpos(relname, '__dbt') > 0")).scalars().all()
    assert left == []
    refreshed = indexes_by_table(engine)
    _dbt(marts_db)
    assert indexes_by_table(engine) == refreshed
    _assert_grain_rejects_duplicates(engine)


def test_missing_keys_and_indexes_are_added_at_the_next_run(marts_db):
    """A mart that lost its key or an index (or was created before they were declared) gets
    them back at the next incremental run; what is there is left as it is."""
    engine = warehouse.create_warehouse_engine(marts_db.warehouse_url)
    before = indexes_by_table(engine)
    ugc_key = next(name for name, unique, *_ in before["ugc_daily"] if unique)
    uplift_key = next(name for name, _, primary, *_ in before["sales_uplift"] if primary)
    sku_index = next(name for name, *_, cols in before["conversion_daily"] if cols == ("sku", "kpi_date"))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'alter table marts.ugc_daily drop constraint "{ugc_key}"')
        conn.exec_driver_sql(f'alter table marts.sales_uplift drop constraint "{uplift_key}"')
        conn.exec_driver_sql(f'drop index marts."{sku_index}"')
    assert index_shapes(engine) != expected_index_shapes()

    _dbt(marts_db)
    assert index_shapes(engine) == expected_index_shapes()
    after = indexes_by_table(engine)
    kept = {(t, ix) for t, found in before.items() for ix in found} - {
        (t, ix) for t, found in before.items() for ix in found if ix[0] in (ugc_key, uplift_key, sku_index)}
    assert kept <= {(t, ix) for t, found in after.items() for ix in found}
    _assert_grain_rejects_duplicates(engine)


def test_duckdb_marts_get_no_keys_or_indexes(duckdb_plus_run):
    """The post-hook does nothing on DuckDB (see ugc_pipeline/dialects.py); the grains are
    checked there by the unique_grain tests that dbt build runs."""
    with duckdb_plus_run.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from duckdb_indexes() where schema_name = 'marts'").scalar_one() == 0
        assert conn.exec_driver_sql(
            "select count(*) from duckdb_constraints() where schema_name = 'marts' "
            "and constraint_type in ('PRIMARY KEY', 'UNIQUE')").scalar_one() == 0
        assert conn.exec_driver_sql("select count(*) from marts.ugc_daily").scalar_one() > 0


def test_the_server_version_is_checked(pg_url, monkeypatch):
    engine = warehouse.create_warehouse_engine(pg_url)
    with engine.connect() as conn:
        monkeypatch.setattr(conn.dialect, "server_version_info", (14, 11))
        with pytest.raises(RuntimeError, match="PostgreSQL 15 or later"):
            dialects.for_connection(conn).check_server(conn)


def test_long_index_names_stay_within_postgresql_limits():
    name = dialects.index_name("a_rather_long_table_name_for_testing", "first_column_second_column_third_column_idx")
    assert len(name) <= PG_MAX_IDENT
    assert name != dialects.index_name("a_rather_long_table_name_for_testing", "first_column_second_column_fourth_idx")


def test_views_built_on_the_projects_views_survive_a_refresh(marts_db, tmp_path):
    """publish_staging refreshes the views every day: an analyst's view on top of them stays
    (sql/macros/materialization_view_postgres.sql replaces views in place)."""
    engine = warehouse.create_warehouse_engine(marts_db.warehouse_url)
    with engine.begin() as conn:  # on the views dbt built with the marts
        conn.exec_driver_sql("create schema analyst")
        conn.exec_driver_sql("create view analyst.my_reviews as select item_id, kpi_date "
                             "from intermediate.int_ugc_items__enriched where is_review")
    try:
        task_build_views(str(tmp_path), marts_db.warehouse_url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select count(*) from pg_views where schemaname = 'analyst'").scalar_one() == 1
            assert conn.exec_driver_sql("select count(*) from analyst.my_reviews").scalar_one() == 0
    finally:
        with engine.begin() as conn:  # the module's warehouse as it was for the other tests
            conn.exec_driver_sql("drop schema analyst cascade")
