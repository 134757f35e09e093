"""The warehouse: schemas, explicit DDL, bulk loads and the transactional mart rebuild.

Everything goes through SQLAlchemy 2 so that DuckDB (embedded default) and PostgreSQL share the
code; what differs between them (bulk load, type names, helper functions) is in
``ugc_pipeline.dialects`` and ``sql/dialect/``. Tables are created from explicit DDL generated
from the adapters and the YAML metadata, never by reflection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ugc_pipeline import catalog, dialects
from ugc_pipeline.parse import META_COLUMNS, sql_ident
from ugc_pipeline.sources import raw_tables
from ugc_pipeline.sources.base import RawTable

log = logging.getLogger(__name__)

SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit", "meta")


def create_warehouse_engine(url: str) -> Engine:
    """An engine whose sessions count time in UTC. DuckDB connections are not pooled, so the
    file is released as soon as a task is done with it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "duckdb":
        database = parsed.database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=NullPool)

        @event.listens_for(engine, "connect")
        def _utc(dbapi_connection, _record):  # ICU loads lazily: set the zone once connected
            dbapi_connection.execute("set TimeZone = 'UTC'")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})
    return create_engine(url)


def raw_columns(table: RawTable) -> list[str]:
    return ["delivery_date", *META_COLUMNS, "run_id", "loaded_at", *(c.name for c in table.columns)]


def _raw_ddl(table: RawTable, d: dialects.Dialect) -> str:
    cols = [
        "delivery_date date not null",
        f"source_file {d.type('text')} not null",
        f"record_number {d.type('bigint')} not null",
        f"record_position {d.type('text')} not null",
        f"run_id {d.type('text')} not null",
        f"loaded_at {d.type('timestamp')} not null",
        *(f"{sql_ident(c.name)} {d.type('text')}" for c in table.columns),
    ]
    return f"create table if not exists raw.{table.name} (\n  " + ",\n  ".join(cols) + "\n)"


def _table_ddl(spec: catalog.TableSpec, d: dialects.Dialect) -> str:
    cols = [f"{sql_ident(c.name)} {d.type(c.type)}{'' if c.nullable else ' not null'}"
            for c in spec.columns]
    return f"create table if not exists {spec.qualified} (\n  " + ",\n  ".join(cols) + "\n)"


def ensure_warehouse(engine: Engine, views: bool = True) -> None:
    """Create what is missing (schemas, raw, audit and mart tables) and, unless ``views`` is
    False (ingest tasks only need the tables), refresh the helper functions and the views."""
    d = dialects.for_engine(engine)
    with engine.begin() as conn:
        for schema in SCHEMAS:
            conn.exec_driver_sql(f"create schema if not exists {schema}")
        conn.exec_driver_sql(
            f"create table if not exists meta.pipeline_settings (timezone {d.type('text')} not null)")
        for table in raw_tables():
            conn.exec_driver_sql(_raw_ddl(table, d))
        for spec in catalog.table_specs().values():
            conn.exec_driver_sql(_table_ddl(spec, d))
        if not views:
            return
        for statement in catalog.dialect_sql(d.name):
            conn.exec_driver_sql(statement)
        for model in catalog.view_models():
            conn.exec_driver_sql(d.create_view(model.qualified, model.sql))


def set_timezone(conn: Connection, tz: str) -> None:
    """The KPI calendar the views use (``ugc_local_date``), stored as data, bound as a value."""
    conn.execute(text("delete from meta.pipeline_settings"))
    conn.execute(text("insert into meta.pipeline_settings (timezone) values (:tz)"), {"tz": tz})


def replace_delivery(conn: Connection, table: RawTable, delivery_date: date, rows: pa.Table,
                     run_id: str) -> int:
    """Replace one delivery of one raw table (re-running a day changes nothing)."""
    conn.execute(text(f"delete from raw.{table.name} where delivery_date = :d"), {"d": delivery_date})
    if rows.num_rows == 0:
        return 0
    n = rows.num_rows
    rows = (rows.append_column("delivery_date", pa.repeat(pa.scalar(delivery_date, pa.date32()), n))
                .append_column("run_id", pa.repeat(pa.scalar(run_id, pa.string()), n))
                .append_column("loaded_at", pa.repeat(pa.scalar(datetime.now(UTC)), n)))
    dialects.for_connection(conn).load_frame(conn, f"raw.{table.name}", rows.select(raw_columns(table)))
    return n


def replace_rejects(conn: Connection, source: str, delivery_date: date, rejects: pd.DataFrame,
                    run_id: str) -> None:
    """The quarantine of one delivery of one source: the latest run's verdict replaces earlier ones."""
    conn.execute(text("delete from audit.rejected_records where source = :s and delivery_date = :d"),
                 {"s": source, "d": delivery_date})
    if rejects.empty:
        return
    frame = rejects.copy()
    frame.insert(0, "source", source)
    frame.insert(1, "delivery_date", delivery_date)
    frame["run_id"] = run_id
    frame["rejected_at"] = datetime.now(UTC)
    spec = catalog.table_specs()["audit.rejected_records"]
    dialects.for_connection(conn).load_frame(conn, spec.qualified, frame[spec.column_names])


def record_run(engine: Engine, row: dict) -> None:
    spec = catalog.table_specs()["audit.pipeline_runs"]
    cols = spec.column_names
    with engine.begin() as conn:
        conn.execute(
            text(f"insert into {spec.qualified} ({', '.join(cols)}) values ({', '.join(':' + c for c in cols)})"),
            {c: row.get(c) for c in cols})


def rebuild_marts(engine: Engine, tz: str, marts: Iterable[catalog.TableSpec] | None = None) -> dict[str, int]:
    """Rebuild the marts from the views in one transaction: readers see the old marts or the new
    ones, never a half-built state, and a failure leaves them as they were."""
    counts = {}
    with engine.begin() as conn:
        set_timezone(conn, tz)
        for spec in marts or catalog.mart_specs():
            cols = ", ".join(sql_ident(c) for c in spec.column_names)
            conn.exec_driver_sql(f"delete from {spec.qualified}")
            conn.exec_driver_sql(
                f"insert into {spec.qualified} ({cols}) select {cols} from ({spec.sql.rstrip().rstrip(';')}) as model")
            counts[spec.qualified] = conn.execute(text(f"select count(*) from {spec.qualified}")).scalar_one()
    return counts


def query_frame(engine: Engine, sql: str, params: dict | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(text(sql), params or {})
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
