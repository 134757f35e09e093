"""Helpers of the PostgreSQL tests: running a landing zone into a warehouse through the functions
the DAG tasks call, comparing two warehouses table by table, reading the marts' keys and indexes,
and compiling the dbt project's macros for a warehouse."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from support.runs import RUN_COLUMNS, Run, ingest_day
from ugc_pipeline import catalog, transform, warehouse
from ugc_pipeline.pipeline import build_marts
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import raw_tables

TIMEZONE = "Europe/Paris"
# Doubles are equal when within 1e-9 of each other, relatively (a sum of doubles may differ in
# its last bits between two engines); abs_tol only absorbs a last-bit residue next to zero.
REL_TOL = 1e-9
ABS_TOL = 1e-12


def settings_for(landing: Path, url: str, timezone: str = TIMEZONE) -> Settings:
    return Settings(landing_uri=str(landing), warehouse_url=url, timezone=timezone)


def run_days(label: str, landing: Path, url: str, days: list[date], marts_each_day: bool = True,
             delivered_only: bool = False) -> Run:
    """Ingest ``days`` in the given order (every source, as the DAG does), building the marts
    after each day, or once at the end."""
    settings = settings_for(landing, url)
    for day in days:
        ingest_day(settings, day, f"pg-{label}-{day}", delivered_only)
        if marts_each_day:
            build_marts(settings)
    if not marts_each_day:
        build_marts(settings)
    return Run(label, settings, None)


def duckdb_url(path: Path) -> str:
    return f"duckdb:///{path}"


# -- comparing ------------------------------------------------------------------------------------

def table_keys() -> dict[str, tuple[str, ...]]:
    """Every table the comparison covers, with the columns that identify a row."""
    keys = {f"raw.{t.name}": warehouse.RAW_KEY for t in raw_tables()}
    keys["audit.rejected_records"] = ("source", "delivery_date", "file", "position")
    for spec in catalog.mart_specs():
        keys[spec.qualified] = spec.grain
    return keys


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows_by_key(run: Run, table: str, key: tuple[str, ...], where: str = "true",
                **params) -> tuple[list[str], dict[tuple, dict]]:
    """(columns, {key: row}) of a table (the rows ``where`` selects), without the columns that
    name the run."""
    with run.engine.connect() as conn:
        result = conn.execute(text(f"select * from {table} where {where}"), params)
        columns = [c for c in result.keys() if c not in RUN_COLUMNS]
        out: dict[tuple, dict] = {}
        for row in result.mappings():
            k = tuple(_plain(row[c]) for c in key)
            assert k not in out, f"{run.label}: two rows of {table} for {k}"
            out[k] = {c: _plain(row[c]) for c in columns}
    return columns, out


def same_value(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if type(a) is not type(b) and not (isinstance(a, int) and isinstance(b, int)):
        return False  # 1 and '1', or True and 1, are not the same value
    return a == b


def compare_table(expected: Run, actual: Run, table: str, key: tuple[str, ...], where: str = "true",
                  **params) -> list[str]:
    """Readable differences of one table between two warehouses; empty when the same."""
    cols_a, a = rows_by_key(expected, table, key, where, **params)
    cols_b, b = rows_by_key(actual, table, key, where, **params)
    out = []
    if cols_a != cols_b:
        return [f"{table}: columns differ: {cols_a} != {cols_b}"]
    if len(a) != len(b):
        out.append(f"{table}: {len(a)} rows in {expected.label}, {len(b)} in {actual.label}")
    missing, extra = sorted(set(a) - set(b), key=repr), sorted(set(b) - set(a), key=repr)
    if missing:
        out.append(f"{table}: {len(missing)} keys only in {expected.label}, e.g. {missing[:3]}")
    if extra:
        out.append(f"{table}: {len(extra)} keys only in {actual.label}, e.g. {extra[:3]}")
    for k in sorted(set(a) & set(b), key=repr):
        for c in cols_a:
            if not same_value(a[k][c], b[k][c]):
                out.append(f"{table} {k} {c}: {a[k][c]!r} in {expected.label}, {b[k][c]!r} in {actual.label}")
    return out


def compare_warehouses(expected: Run, actual: Run, tables: list[str] | None = None, where: str = "true",
                       **params) -> list[str]:
    """Differences of every raw and mart table and of the quarantine (or of ``tables``)."""
    keys = table_keys()
    out = []
    for table in tables or list(keys):
        out += compare_table(expected, actual, table, keys[table], where, **params)
    return out


def count(run: Run, sql: str, **params) -> int:
    with run.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


# -- work for other processes (the concurrency tests: Airflow runs each task in its own process) --

def warm_up(seconds: float) -> int:
    """Import what a task imports, then hold the worker a moment so each warm-up gets its own."""
    import os
    import time

    import great_expectations  # noqa: F401  (what a worker imports once, before its first task)
    import ugc_pipeline.pipeline  # noqa: F401

    time.sleep(seconds)
    return os.getpid()


def task_ingest(source: str, day: date, landing: str, url: str, run_id: str) -> str:
    from ugc_pipeline.pipeline import ingest_source

    return ingest_source(source, day, settings_for(Path(landing), url), run_id).status


def task_ensure_warehouse(url: str) -> None:
    warehouse.ensure_warehouse(warehouse.create_warehouse_engine(url))


def task_build_marts(landing: str, url: str, timezone: str = TIMEZONE) -> dict[str, int]:
    return build_marts(settings_for(Path(landing), url, timezone))


def task_build_views(landing: str, url: str) -> int:
    """publish_staging's step: the staging and intermediate views (dbt run); the views built."""
    return len(transform.build_views(settings_for(Path(landing), url)).nodes)


# -- the dbt project ------------------------------------------------------------------------------

def dbt_models(*layers: str) -> list[str]:
    """The names of the dbt models of ``layers`` (folders of sql/models), from the model files."""
    return sorted(p.stem for layer in layers for p in (catalog.models_dir() / layer).glob("*.sql"))


def compile_inline(url: str, sql: str, timezone: str, where: Path) -> str:
    """``sql`` (Jinja calling the project's macros) compiled by dbt for the warehouse ``url``,
    with the KPI time zone ``timezone``; ``where`` receives dbt's target folder."""
    transform.run_dbt(url, ["compile", "--inline", sql], timezone=timezone, dbt_dir=where)
    results = json.loads((where / "target" / "run_results.json").read_text(encoding="utf-8"))["results"]
    assert len(results) == 1 and results[0]["compiled_code"], results
    return results[0]["compiled_code"]


# -- keys and indexes (PostgreSQL) ------------------------------------------------------------------

INDEXES_SQL = """
    select t.relname, i.relname, x.indisunique, x.indisprimary, x.indnullsnotdistinct,
           array(select a.attname from unnest(x.indkey::int2[]) with ordinality k(attnum, ord)
                 join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.ord)
    from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = :schema
    order by t.relname, i.relname"""


def indexes_by_table(engine, schema: str = "marts") -> dict[str, list[tuple[str, bool, bool, bool, tuple]]]:
    """table -> [(index name, unique, primary, nulls not distinct, columns)] of ``schema``."""
    out: dict[str, list] = {}
    with engine.connect() as conn:
        for table, name, unique, primary, nnd, cols in conn.execute(text(INDEXES_SQL), {"schema": schema}):
            out.setdefault(table, []).append((name, unique, primary, nnd, tuple(cols)))
    return out


def index_shapes(engine, schema: str = "marts") -> dict[str, list[tuple[bool, bool, bool, tuple]]]:
    """The same without the names (PostgreSQL chooses them): what the indexes are."""
    return {table: sorted(ix[1:] for ix in found) for table, found in indexes_by_table(engine, schema).items()}


def expected_index_shapes() -> dict[str, list[tuple[bool, bool, bool, tuple]]]:
    """What the marts' YAML asks for: the grain as primary key, or as UNIQUE NULLS NOT DISTINCT
    when a grain column may be null (no not_null test), and the plain indexes."""
    out = {}
    for spec in catalog.mart_specs():
        shapes = [(False, False, False, tuple(ix)) for ix in spec.indexes]
        if spec.unique_grain:
            nullable = any(c.nullable for c in spec.columns if c.name in spec.grain)
            shapes.append((True, not nullable, nullable, spec.grain))
        out[spec.name] = sorted(shapes)
    return out


# -- what readers see --------------------------------------------------------------------------------

def signature(conn, table: str) -> tuple[int, int]:
    """(rows, an order-independent checksum of every value) of a table."""
    row = conn.execute(text(f"select count(*), coalesce(sum(hashtext(t::text)::bigint), 0) from {table} as t")).one()
    return int(row[0]), int(row[1])


def signatures(engine, tables) -> dict[str, tuple[int, int]]:
    with engine.connect() as conn:
        return {t: signature(conn, t) for t in tables}
