"""Primary keys, unique keys and indexes of the PostgreSQL warehouse."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from ugc_pipeline import catalog, dialects, warehouse
from ugc_pipeline.sources import raw_tables


def _indexes(engine) -> dict[str, tuple[str, bool, bool, list[str]]]:
    """schema.index -> (table, unique, primary, columns)."""
    sql = """
        select n.nspname || '.' || i.relname, t.relname, x.indisunique, x.indisprimary,
               array(select a.attname from unnest(x.indkey) with ordinality k(attnum, ord)
                     join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.ord)
        from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
        join pg_namespace n on n.oid = t.relnamespace
        where n.nspname in ('raw', 'marts', 'audit')"""
    with engine.connect() as conn:
        return {r[0]: (r[1], r[2], r[3], list(r[4])) for r in conn.execute(text(sql))}


def _nulls_not_distinct(engine, index: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("select indnullsnotdistinct from pg_index where indexrelid = to_regclass(:i)"),
                            {"i": index}).scalar_one()


def test_raw_tables_have_a_primary_key_and_a_native_key_index(pg_url):
    engine = warehouse.create_warehouse_engine(pg_url)
    warehouse.ensure_warehouse(engine)
    indexes = _indexes(engine)
    for table in raw_tables():
        assert indexes[f"raw.{table.name}__pkey"] == (table.name, True, True, list(warehouse.RAW_KEY))
        assert table.key, f"{table.name} declares no native key"
        name = dialects.index_name(table.name, "_".join(table.key) + "_idx")
        assert indexes[f"raw.{name}"] == (table.name, False, False, list(table.key))


def test_marts_are_unique_on_their_grain_and_indexed_for_analysts(pg_url):
    engine = warehouse.create_warehouse_engine(pg_url)
    warehouse.ensure_warehouse(engine)
    indexes = _indexes(engine)
    by_table = {}
    for name, (table, unique, primary, cols) in indexes.items():
        by_table.setdefault(table, []).append((unique, primary, cols, name))
    for spec in catalog.mart_specs():
        assert spec.unique_grain
        keys = [(p, cols, name) for unique, p, cols, name in by_table[spec.name] if unique]
        assert [cols for _, cols, _ in keys] == [list(spec.grain)], spec.qualified
        primary, _, name = keys[0]
        nullable = any(c.nullable for c in spec.columns if c.name in spec.grain)
        assert primary == (not nullable)
        if nullable:
            assert _nulls_not_distinct(engine, name), f"{name}: NULL grain values must collide"
        plain = sorted(cols for unique, _, cols, _ in by_table[spec.name] if not unique)
        assert plain == sorted(list(ix) for ix in spec.indexes)
    # what analysts filter by: a day (every key starts with kpi_date), a SKU, a campaign
    assert ["sku", "kpi_date"] in [cols for _, _, cols, _ in by_table["ugc_daily"]]
    assert ["campaign_id", "kpi_date"] in [cols for _, _, cols, _ in by_table["conversion_daily"]]


def test_a_null_sku_is_part_of_the_grain(pg_url):
    """Two ugc_daily rows that differ from each other only by NULLs are the same grain."""
    engine = warehouse.create_warehouse_engine(pg_url)
    warehouse.ensure_warehouse(engine)
    insert = text("insert into marts.ugc_daily (kpi_date, brand, sku, platform, content_type, influencer_tier, "
                  "ugc_count, review_count, rating_count, incentivized_count, with_media_count, "
                  "declared_and_measured_count) values (:d, 'MV', null, 'google_business', null, 'unknown', "
                  "1, 1, 1, 0, 0, 0)")
    with engine.begin() as conn:
        conn.execute(insert, {"d": date(2025, 5, 5)})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"d": date(2025, 5, 5)})


def test_keys_and_indexes_are_added_to_tables_created_before_them(pg_url):
    """A warehouse whose tables predate the keys gets them at the next ensure_warehouse, and
    nothing is created twice when it runs again."""
    engine = warehouse.create_warehouse_engine(pg_url)
    d = dialects.for_engine(engine)
    with engine.begin() as conn:
        for schema in warehouse.SCHEMAS:
            conn.exec_driver_sql(f"create schema {schema}")
        conn.exec_driver_sql(warehouse._table_ddl(catalog.table_specs()["marts.conversion_daily"], d))
        table = raw_tables()[0]
        conn.exec_driver_sql(warehouse._raw_ddl(table, d))
        conn.exec_driver_sql(f"insert into raw.{table.name} (delivery_date, source_file, record_number, "
                             "record_position, run_id, loaded_at) values ('2025-05-05', 'f.json', 1, '$[0]', 'r', now())")
    assert not [n for n in _indexes(engine) if n.startswith("marts.conversion_daily")]

    warehouse.ensure_warehouse(engine)
    indexes = _indexes(engine)
    assert indexes["marts.conversion_daily__pkey"][2]
    assert f"raw.{table.name}__pkey" in indexes
    warehouse.ensure_warehouse(engine)
    assert _indexes(engine) == indexes


def test_the_server_version_is_checked(pg_url, monkeypatch):
    engine = warehouse.create_warehouse_engine(pg_url)
    with engine.connect() as conn:
        monkeypatch.setattr(conn.dialect, "server_version_info", (14, 11))
        with pytest.raises(RuntimeError, match="PostgreSQL 15 or later"):
            dialects.for_connection(conn).check_server(conn)


def test_long_index_names_stay_within_postgresql_limits():
    name = dialects.index_name("a_rather_long_table_name_for_testing", "first_column_second_column_third_column_idx")
    assert len(name) <= 63
    assert name != dialects.index_name("a_rather_long_table_name_for_testing", "first_column_second_column_fourth_idx")


def test_views_built_on_the_projects_views_survive_a_refresh(pg_url):
    """publish_staging refreshes the views every day: an analyst's view on top of them stays."""
    engine = warehouse.create_warehouse_engine(pg_url)
    warehouse.ensure_warehouse(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("create schema analyst")
        conn.exec_driver_sql("create view analyst.my_reviews as select item_id, kpi_date "
                             "from intermediate.int_ugc_items__enriched where is_review")
    warehouse.ensure_warehouse(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from analyst.my_reviews").scalar_one() == 0
