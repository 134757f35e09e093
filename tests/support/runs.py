"""Helpers of the end-to-end tests: running the pipeline without Airflow (through the very
functions the DAG tasks call), reading a warehouse, and comparing two warehouses."""

from __future__ import annotations

import dataclasses
import math
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import text
from ugc_pipeline import warehouse
from ugc_pipeline.pipeline import build_marts, ingest_source
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import SOURCES

from support.landing_builder import DAYS

TIMEZONE = "Europe/Paris"
# Columns that legitimately differ between two runs of the same data.
RUN_COLUMNS = {"run_id", "loaded_at", "rejected_at"}

SHUFFLED = [DAYS[2], DAYS[0], DAYS[3], DAYS[1]]  # 05-07, 05-05, 05-08, 05-06
# Direct runs: label -> days in processing order, marts built after each day. "forward" is the
# reference. The fourth order of the contract, every day ingested first and the marts built once,
# runs through Airflow (test_order_independence), in the shuffled order.
ORDERS = {
    "forward": list(DAYS),
    "reversed": list(reversed(DAYS)),
    "shuffled": SHUFFLED,
}


def make_settings(landing: Path, warehouse_file: Path, timezone: str = TIMEZONE, gx_dir: Path | None = None) -> Settings:
    """Settings of one test warehouse. ``gx_dir``: where validation keeps its files (by default in
    memory for direct calls); runs through Airflow must give one, see ``airflow_settings``."""
    extra = {}
    if gx_dir is not None and "gx_dir" in {f.name for f in dataclasses.fields(Settings)}:
        extra["gx_dir"] = str(gx_dir)
    return Settings(landing_uri=str(landing), warehouse_url=f"duckdb:///{warehouse_file}", timezone=timezone,
                    **extra)


def airflow_settings(landing: Path, workdir: Path) -> Settings:
    """Settings for ``run_days``. The tasks load their settings from the variables ``run_days``
    exports, where an empty UGC_GX_DIR ("in memory") reads as unset, i.e. ./data/gx under the
    working directory (the project): give the tasks a directory of the test instead."""
    return make_settings(landing, workdir / "warehouse.duckdb", gx_dir=workdir / "gx")


@dataclass
class Run:
    label: str
    settings: Settings
    warehouse_file: Path

    @property
    def engine(self):
        return warehouse.create_warehouse_engine(self.settings.warehouse_url)


def ingest_day(settings: Settings, day: date, run_id: str, delivered_only: bool = False) -> None:
    """What one ``ugc_ingest`` run does for day D: every source's task (``publish_staging`` only
    refreshes the views, which ``build_marts`` does as well).

    ``delivered_only`` skips the sources without a folder that day: their task only records a
    'no_delivery' run in ``audit.pipeline_runs`` (checked on the reference run and through
    Airflow), so runs compared on raw and mart tables skip them to stay fast."""
    for source in SOURCES:
        if delivered_only and not (Path(settings.landing_uri) / source / day.isoformat()).is_dir():
            continue
        ingest_source(source, day, settings, run_id)


def run_direct(landing: Path, workdir: Path, label: str, days: list[date], delivered_only: bool = False) -> Run:
    """Ingest ``days`` in the given order, building the marts after each day."""
    wh = workdir / f"{label}.duckdb"
    settings = make_settings(landing, wh)
    for day in days:
        ingest_day(settings, day, f"e2e-{label}-{day}", delivered_only)
        build_marts(settings)
    return Run(label, settings, wh)


def copy_run(run: Run, workdir: Path, label: str, timezone: str | None = None) -> Run:
    """A copy of a finished run's warehouse, to change without touching the original."""
    target = workdir / f"{label}.duckdb"
    shutil.copyfile(run.warehouse_file, target)
    wal = Path(f"{run.warehouse_file}.wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{target}.wal"))
    settings = make_settings(Path(run.settings.landing_uri), target, timezone or run.settings.timezone)
    return Run(label, settings, target)


# -- reading -------------------------------------------------------------------------------------

def _plain(value):
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return value


def fetch(run: Run, sql: str, **params) -> list[dict]:
    """Rows as plain Python values (None for SQL NULL, dates as 'YYYY-MM-DD')."""
    with run.engine.connect() as conn:
        result = conn.execute(text(sql), params)
        return [{k: _plain(v) for k, v in row.items()} for row in result.mappings().all()]


def by_key(rows: list[dict], *key: str) -> dict[tuple, dict]:
    out = {}
    for row in rows:
        k = tuple(row[c] for c in key)
        assert k not in out, f"two rows for grain {k}"
        out[k] = {c: v for c, v in row.items() if c not in key}
    return out


# -- comparing two warehouses ---------------------------------------------------------------------

# Marts about the run history rather than the data: marts.data_freshness counts the days each
# source was run and found empty (audit.pipeline_runs), which two runs of the same deliveries
# differ in when one skips the undelivered sources (delivered_only) or reruns a day.
RUN_HISTORY_MARTS = ("marts.data_freshness",)


def warehouse_tables(run: Run) -> list[str]:
    """Every raw and mart table (but the run-history marts), and the quarantine."""
    rows = fetch(run, "select table_schema || '.' || table_name as t from information_schema.tables "
                      "where table_schema in ('raw', 'marts') and table_type = 'BASE TABLE' order by 1")
    return [r["t"] for r in rows if r["t"] not in RUN_HISTORY_MARTS] + ["audit.rejected_records"]


def mart_tables(run: Run) -> list[str]:
    return [t for t in warehouse_tables(run) if t.startswith("marts.")]


def _normalise(value):
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return float(f"{value:.12g}")  # a sum of doubles may differ in its last bits only
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _contents(conn, table: str) -> list[tuple]:
    result = conn.execute(text(f"select * from {table}"))
    cols = [c for c in result.keys() if c not in RUN_COLUMNS]
    rows = [tuple(_normalise(row[c]) for c in cols) for row in result.mappings().all()]
    return [tuple(cols), *sorted(rows, key=repr)]


def snapshot(run: Run, tables: list[str] | None = None) -> dict[str, list[tuple]]:
    """Every table (default: ``warehouse_tables``) as its header, then all its rows sorted,
    without the columns that name the run."""
    tables = tables or warehouse_tables(run)
    with run.engine.connect() as conn:
        return {t: _contents(conn, t) for t in tables}


def diff_snapshots(expected: dict, actual: dict) -> list[str]:
    """Readable differences between two snapshots; empty when identical."""
    out = []
    for table in sorted(set(expected) | set(actual)):
        a, b = expected.get(table), actual.get(table)
        if a == b:
            continue
        if a is None or b is None:
            out.append(f"{table}: only in {'the other run' if a is None else 'the reference'}")
        elif a[0] != b[0]:
            out.append(f"{table}: columns differ {a[0]} != {b[0]}")
        else:
            missing = [r for r in a[1:] if r not in b[1:]]
            extra = [r for r in b[1:] if r not in a[1:]]
            out.append(f"{table}: {len(a) - 1} vs {len(b) - 1} rows; missing {missing[:3]}; extra {extra[:3]}")
    return out
