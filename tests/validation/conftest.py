"""Fixtures for the validation / quarantine / replay tests: a landing zone and a real DuckDB
warehouse under pytest's tmp_path, started from warehouse files built once per session:

- ``business_template``: the business snapshots of ``corpus.BUSINESS_DAY`` loaded (what
  references resolve against);
- ``good_day_template``: that, plus a good delivery of every source on ``corpus.DAY`` (the good
  records of the corpus) and the marts built from it.

GX validation is in memory (``Settings(gx_dir="")``, the default when constructing Settings).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from corpus import BUSINESS_DAY, BUSINESS_SNAPSHOTS, DAY, QUARANTINE_CASES
from ugc_pipeline import warehouse
from ugc_pipeline.pipeline import IngestResult, build_marts, ingest_source
from ugc_pipeline.settings import SETTING_NAMES, Settings
from ugc_pipeline.sources import SOURCES


class Env:
    """One test's landing zone + warehouse."""

    def __init__(self, tmp_path: Path, **settings):
        self.tmp = tmp_path
        self.root = tmp_path / "landing"
        self.root.mkdir(exist_ok=True)
        self.warehouse_file = tmp_path / "wh.duckdb"
        self.settings = Settings(landing_uri=str(self.root), warehouse_url=f"duckdb:///{self.warehouse_file}",
                                 **settings)
        self._engine = None

    def with_settings(self, **changes) -> Env:
        """The same landing zone and warehouse with other settings (threshold, time zone, GX dir)."""
        from dataclasses import replace

        self.settings = replace(self.settings, **changes)
        return self

    # -- landing ---------------------------------------------------------------------------
    def write(self, source: str, day: str, name: str, content: str | bytes | dict | list) -> Path:
        """Drop one file into ``{landing}/{source}/{day}/{name}``, exactly as given."""
        path = self.root / source / day / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, (dict, list)):
            content = json.dumps(content, ensure_ascii=False, indent=1)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return path

    def deliver(self, source: str, day: str, files: dict[str, bytes | str]) -> None:
        """(Re-)deliver a whole delivery folder: what was there before is replaced."""
        folder = self.root / source / day
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, content in files.items():
            self.write(source, day, name, content)

    # -- warehouse -------------------------------------------------------------------------
    @property
    def engine(self):
        if self._engine is None:
            self._engine = warehouse.create_warehouse_engine(self.settings.warehouse_url)
        return self._engine

    def ingest(self, source: str, day: str, run_id: str = "test-run") -> IngestResult:
        return ingest_source(source, date.fromisoformat(day), self.settings, run_id)

    def build(self) -> dict[str, int]:
        return build_marts(self.settings)

    def q(self, sql: str, **params) -> pd.DataFrame:
        return warehouse.query_frame(self.engine, sql, params)

    def records(self, sql: str, **params) -> list[dict]:
        return [{k: (None if _isna(v) else v) for k, v in r.items()} for r in self.q(sql, **params).to_dict("records")]

    def rejects(self, source: str | None = None, day: str | None = None) -> list[dict]:
        """audit.rejected_records as dicts, raw parsed with json.loads, in file/position order."""
        rows = self.records(
            "select source, cast(delivery_date as varchar) as delivery_date, file, position, reasons, raw, run_id "
            "from audit.rejected_records where (cast(:s as varchar) is null or source = :s) "
            "and (cast(:d as date) is null or delivery_date = cast(:d as date))", s=source, d=day)
        for r in rows:
            r["raw"] = json.loads(r["raw"])
        from corpus import position_key

        return sorted(rows, key=lambda r: (r["source"], r["delivery_date"], r["file"], position_key(r["position"])))

    def runs(self, **where) -> list[dict]:
        cond = " and ".join(f"{k} = :{k}" for k in where) or "true"
        return self.records(
            "select run_id, source, cast(delivery_date as varchar) as delivery_date, status, files_read, records_read, "
            f"records_loaded, records_rejected, message from audit.pipeline_runs where {cond} "
            "order by started_at", **where)

    def snapshot(self, schemas: tuple[str, ...] = ("raw", "marts")) -> dict[str, pd.DataFrame]:
        """Every table of the schemas, plus the quarantine, fully sorted: to compare states.
        (One connection: the warehouse engine does not pool, and opening DuckDB costs ~50 ms.)"""
        from sqlalchemy import text

        out = {}
        with self.engine.connect() as conn:
            tables = [r[0] for r in conn.execute(text(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_schema in (select unnest(cast(:s as varchar[]))) and table_type = 'BASE TABLE' "
                "order by 1"), {"s": list(schemas)})]
            for table in [*tables, "audit.rejected_records"]:
                result = conn.execute(text(f"select * from {table}"))
                frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
                out[table] = frame.sort_values(list(frame.columns), ignore_index=True, na_position="first") \
                    if len(frame) else frame
        return out

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _isna(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def start_env(tmp_path: Path, template: Path | None = None, **settings) -> Env:
    env = Env(tmp_path, **settings)
    if template is not None:
        shutil.copyfile(template, env.warehouse_file)
        landing = template.parent / "landing"
        if landing.exists():  # the template's deliveries too: replay and reruns re-read them
            shutil.copytree(landing, env.root, dirs_exist_ok=True)
    return env


# -- templates built once per session ---------------------------------------------------------

@pytest.fixture(scope="session")
def business_template(tmp_path_factory) -> Path:
    """A warehouse with the business snapshots of BUSINESS_DAY ingested (no marts)."""
    env = Env(tmp_path_factory.mktemp("business"))
    for name, text in BUSINESS_SNAPSHOTS.items():
        env.write(name, BUSINESS_DAY, f"{name}.csv", text)
        result = env.ingest(name, BUSINESS_DAY, run_id="business-template")
        assert result.status == "success" and result.records_rejected == 0, result.summary()
    env.close()
    return env.warehouse_file


@pytest.fixture(scope="session")
def good_day_template(tmp_path_factory, business_template) -> Path:
    """The business snapshots, a good delivery of every source on DAY, and the marts."""
    env = start_env(tmp_path_factory.mktemp("good_day"), business_template)
    assert {c.source for c in QUARANTINE_CASES} == set(SOURCES)
    for case in sorted(QUARANTINE_CASES, key=lambda c: not SOURCES[c.source].is_reference):
        env.deliver(case.source, DAY, case.good_contents())
        result = env.ingest(case.source, DAY, run_id="good-day")
        assert result.status == "success" and result.records_rejected == 0, result.summary()
    counts = env.build()
    assert all(counts.values()), counts
    env.close()
    return env.warehouse_file


@pytest.fixture(scope="session")
def good_day_state(tmp_path_factory, good_day_template) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """The snapshot (raw, marts, quarantine) and the run records of ``good_day_template``, taken
    once: every test starting from a copy of it starts from this state."""
    env = start_env(tmp_path_factory.mktemp("good_day_state"), good_day_template)
    state = (env.snapshot(), env.runs())
    env.close()
    return state


@pytest.fixture
def env(tmp_path) -> Env:
    e = Env(tmp_path)
    yield e
    e.close()


@pytest.fixture
def business_env(tmp_path, business_template) -> Env:
    """A warehouse holding the business snapshots only."""
    e = start_env(tmp_path, business_template)
    yield e
    e.close()


@pytest.fixture
def good_day_env(tmp_path, good_day_template) -> Env:
    """A warehouse holding a good DAY of every source and its marts (landing zone included)."""
    e = start_env(tmp_path, good_day_template)
    yield e
    e.close()


@pytest.fixture
def ugc_environ():
    """Restores the UGC_* environment variables that runner.export_settings / the CLI set."""
    saved = {name: os.environ.get(name) for name in SETTING_NAMES}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
