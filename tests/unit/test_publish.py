"""The published read-only copy of a DuckDB warehouse (``ugc_pipeline.publish``), without Airflow:
where it goes, what it holds, how it replaces the previous one. The reader held open across a whole
run through Airflow is ``tests/e2e/test_reader_copy.py``."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
from ugc_pipeline.publish import publish_readonly_copy, published_path, reader_url
from ugc_pipeline.settings import Settings, SettingsError


def _warehouse(path, rows: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute("create or replace table marts.ugc_daily as select range as ugc_count from range(?)", [rows])
    con.execute("create schema if not exists staging")
    con.execute("create or replace view staging.v as select count(*) as n from marts.ugc_daily")
    con.close()


def test_the_copy_goes_beside_the_warehouse_unless_the_setting_names_it(tmp_path):
    settings = Settings(warehouse_url=f"duckdb:///{tmp_path / 'wh.duckdb'}")
    assert published_path(settings) == tmp_path / "wh_readonly.duckdb"
    assert reader_url(settings) == f"duckdb:///{tmp_path / 'wh_readonly.duckdb'}?access_mode=read_only"
    named = Settings.load({"UGC_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'wh.duckdb'}",
                           "UGC_PUBLISHED_WAREHOUSE": str(tmp_path / "shared" / "ugc.duckdb")})
    assert published_path(named) == tmp_path / "shared" / "ugc.duckdb"
    postgres = Settings(warehouse_url="postgresql+psycopg://u:secret@db:5432/ugc")
    assert published_path(postgres) is None and publish_readonly_copy(postgres) is None
    assert reader_url(postgres) == postgres.warehouse_url  # MVCC: readers query the warehouse
    with pytest.raises(SettingsError, match="the warehouse file itself"):
        published_path(Settings(warehouse_url=f"duckdb:///{tmp_path / 'wh.duckdb'}",
                                published_warehouse=str(tmp_path / "wh.duckdb")))
    with pytest.raises(SettingsError, match="one of the warehouse's schemas"):
        published_path(Settings(warehouse_url=f"duckdb:///{tmp_path / 'wh.duckdb'}",
                                published_warehouse=str(tmp_path / "marts.duckdb")))


def test_publishing_replaces_the_copy_atomically_and_keeps_open_readers_on_the_old_one(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    settings = Settings(warehouse_url=f"duckdb:///{warehouse}")
    _warehouse(warehouse, 3)
    copy = publish_readonly_copy(settings).path
    assert copy.stat().st_mode & 0o777 == 0o444
    # a reader in another process, as an analyst's session, holding the copy open
    reader = subprocess.Popen(
        [sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=True)\n"
         "for _ in sys.stdin: print(c.execute('select count(*), (select n from staging.v) from marts.ugc_daily')"
         ".fetchone(), flush=True)", str(copy)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        reader.stdin.write("?\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "(3, 3)"
        _warehouse(warehouse, 5)  # the next run's marts
        wal = copy.with_name(copy.name + ".wal")
        wal.write_bytes(b"left by someone who opened the copy for writing")
        publish_readonly_copy(settings)
        reader.stdin.write("?\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "(3, 3)"  # the old copy, still whole
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert not wal.exists()
    con = duckdb.connect(str(copy), read_only=True)
    assert con.execute("select count(*), (select n from staging.v) from marts.ugc_daily").fetchone() == (5, 5)
    con.close()
    assert sorted(os.listdir(tmp_path)) == ["wh.duckdb", "wh_readonly.duckdb"]  # no temporary file left
