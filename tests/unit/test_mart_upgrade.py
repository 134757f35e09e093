"""Upgrading the project over an existing warehouse: when a new version of a mart gains a column,
the next ordinary (incremental) run adds it to the existing table and fills it for every row,
without a manual step or a full refresh."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pandas as pd
from support.raw_layer import load_delivery
from ugc_pipeline import transform, warehouse

DAY1, DAY2 = date(2025, 5, 1), date(2025, 5, 2)
TZ = "Europe/Paris"


def review(rid: str, sku: str, score: int, created: str) -> dict:
    return {"id": rid, "sku": sku, "score": str(score), "content": "ok", "created_at": created,
            "updated_at": created, "deleted": "false", "archived": "false", "is_incentivized": "false"}


def test_a_mart_that_gains_a_column_is_migrated_by_the_next_run(tmp_path):
    # version 1 of the project builds the marts on a warehouse with two delivery days
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = warehouse.create_warehouse_engine(url)
    warehouse.ensure_warehouse(engine)
    products = [{"sku": "SKU-1", "gtin": "1", "product_name": "Oil", "brand": "Brand", "category": "food"}]
    load_delivery(engine, DAY1, {"products": products, "yotpo_reviews": [
        review("R1", "SKU-1", 5, "2025-05-01T08:00:00Z"), review("R2", "SKU-1", 2, "2025-05-01T09:00:00Z")]})
    load_delivery(engine, DAY2, {"yotpo_reviews": [review("R3", "SKU-1", 4, "2025-05-02T08:00:00Z")]})
    engine.dispose()
    transform.run_dbt(url, ["run"], timezone=TZ)

    # version 2: ugc_daily gains positive_count (documented in its YAML)
    v2 = tmp_path / "project_v2"
    shutil.copytree(transform.DBT_PROJECT_DIR, v2, ignore=shutil.ignore_patterns("target", "logs"))
    model = v2 / "models" / "marts" / "ugc_daily.sql"
    sql = model.read_text(encoding="utf-8")
    assert "    count(star_rating) as rating_count,\n" in sql
    model.write_text(sql.replace("    count(star_rating) as rating_count,\n",
                                 "    count(star_rating) as rating_count,\n"
                                 "    count(case when star_rating >= 4 then 1 end) as positive_count,\n"), encoding="utf-8")
    doc = v2 / "models" / "marts" / "ugc_daily.yml"
    doc.write_text(doc.read_text(encoding="utf-8").replace(
        "  columns:\n", "  columns:\n  - name: positive_count\n    data_type: bigint\n"
        "    description: Items rated 4 or 5 stars.\n", 1), encoding="utf-8")

    run = transform.run_dbt(url, ["run", "--select", "marts"], timezone=TZ, project_dir=v2)  # not --full-refresh
    assert run.success
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        upgraded = con.execute("select kpi_date, sku, ugc_count, positive_count from marts.ugc_daily "
                           "order by kpi_date").df()
        comment = con.execute("select comment from duckdb_columns() where schema_name = 'marts' "
                          "and table_name = 'ugc_daily' and column_name = 'positive_count'").fetchone()
    # the old rows got the new column's values: 2025-05-01 has R1 (5 stars) and R2 (2 stars)
    assert upgraded[["ugc_count", "positive_count"]].values.tolist() == [[2, 1], [1, 1]]
    assert comment == ("Items rated 4 or 5 stars.",)

    # and the table equals what version 2 builds from scratch
    shutil.copyfile(tmp_path / "wh.duckdb", tmp_path / "fresh.duckdb")
    fresh_url = f"duckdb:///{tmp_path / 'fresh.duckdb'}"
    transform.run_dbt(fresh_url, ["run", "--select", "marts", "--full-refresh"], timezone=TZ, project_dir=v2)
    with duckdb.connect(str(tmp_path / "fresh.duckdb"), read_only=True) as con:
        rebuilt = con.execute("select kpi_date, sku, ugc_count, positive_count from marts.ugc_daily order by kpi_date").df()
    pd.testing.assert_frame_equal(upgraded, rebuilt)
