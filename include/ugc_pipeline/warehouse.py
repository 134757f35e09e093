"""The warehouse tables Python writes (raw, audit), bulk loads and run records.

Everything goes through SQLAlchemy 2 so that DuckDB (embedded default) and PostgreSQL share the
code; what differs between them (bulk load, type names, keys) is in ``ugc_pipeline.dialects``.
The raw and audit tables are created from explicit DDL generated from the adapters and the dbt
project's source YAML, never by reflection. Staging, intermediate and marts are the dbt
project's models (``sql/``, run by ``ugc_pipeline.transform``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ugc_pipeline import catalog, dialects
from ugc_pipeline.parse import META_COLUMNS, sql_ident
from ugc_pipeline.settings import SettingsError
from ugc_pipeline.sources import raw_tables
from ugc_pipeline.sources.base import RawTable

log = logging.getLogger(__name__)

SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit", "meta")
# The schemas whose tables Python creates; dbt creates staging, intermediate and marts.
PYTHON_SCHEMAS = ("raw", "audit", "meta")


# Seconds a PostgreSQL connection may take to be established (libpq's ``connect_timeout``) unless
# the URL says otherwise (``?connect_timeout=N``): an address that does not answer fails the run
# or the task after that long instead of hanging on TCP's own timeouts.
DEFAULT_CONNECT_TIMEOUT = 10
# Query parameters that are secrets: passed to the driver as arguments, never kept in the URL an
# engine shows (``repr(engine)``, ``engine.url``).
_SECRET_QUERY = ("password", "sslpassword")


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be reached or opened; the message is one line, without a secret."""


def create_warehouse_engine(url: str, lock_wait: float | None = None) -> Engine:
    """An engine whose sessions count time in UTC. Connections are not pooled: a task opens a
    few, and a DuckDB file is released as soon as the task is done with it.

    ``url`` is a SQLAlchemy URL (``duckdb:///...``, ``postgresql+psycopg://...``; a bare
    ``postgresql://`` or ``postgres://`` uses psycopg 3). Inside Airflow, the URL of the
    warehouse connection (``ugc_pipeline.connections``) arrives here the same way.

    DuckDB allows one process at a time on a file: a connection that finds the file locked by
    another process waits for it, up to ``lock_wait`` seconds (default ``UGC_LOCK_WAIT_SECONDS``
    from the environment), saying so in the log, then raises ``WarehouseUnavailable``.
    PostgreSQL connections give up after ``connect_timeout`` seconds (default 10).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "duckdb":
        database = parsed.database
        if database and database != ":memory:":
            from pathlib import Path

            if Path(database).stem.lower() in SCHEMAS:
                # DuckDB names the catalog after the file: "marts.duckdb" makes "marts" both a
                # catalog and a schema, and every "marts.<table>" ambiguous
                raise SettingsError(f"UGC_WAREHOUSE_URL: the DuckDB warehouse file {Path(database).name!r} is named "
                                    f"like one of the warehouse's schemas ({', '.join(SCHEMAS)}): choose another "
                                    "name, e.g. warehouse.duckdb")
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=NullPool)
        wait = lock_wait_seconds() if lock_wait is None else lock_wait

        @event.listens_for(engine, "do_connect")
        def _wait_for_the_file(dialect, _record, cargs, cparams):
            return _connect_duckdb(dialect, cargs, cparams, database or ":memory:", wait)

        @event.listens_for(engine, "connect")
        def _utc(dbapi_connection, _record):  # ICU loads lazily: set the zone once connected
            dbapi_connection.execute("set TimeZone = 'UTC'")

        return engine
    if parsed.get_backend_name() in ("postgresql", "postgres"):
        driver = parsed.get_driver_name() if "+" in parsed.drivername else "psycopg"
        parsed = parsed.set(drivername=f"postgresql+{driver}")  # SQLAlchemy 2 dropped "postgres://"
        options = " ".join(filter(None, ["-c timezone=UTC", parsed.query.get("options")]))
        connect_args = {"options": options, "client_encoding": "utf8", "application_name": "ugc_pipeline",
                        "connect_timeout": int(parsed.query.get("connect_timeout") or DEFAULT_CONNECT_TIMEOUT)}
        connect_args.update({k: parsed.query[k] for k in _SECRET_QUERY if k in parsed.query})
        parsed = parsed.difference_update_query(["options", "connect_timeout", *_SECRET_QUERY])
        return create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    return create_engine(url)


def lock_wait_seconds() -> float:
    """``UGC_LOCK_WAIT_SECONDS`` from the environment (the runner exports it for the tasks)."""
    from ugc_pipeline.settings import DEFAULT_LOCK_WAIT_SECONDS

    raw = (os.environ.get("UGC_LOCK_WAIT_SECONDS") or "").strip()
    try:
        return max(float(raw), 0.0) if raw else float(DEFAULT_LOCK_WAIT_SECONDS)
    except ValueError:
        return float(DEFAULT_LOCK_WAIT_SECONDS)


def _duckdb_locked(exc: BaseException) -> bool:
    return "Could not set lock on file" in str(exc)


def _lock_holder(exc: BaseException) -> str:
    found = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", str(exc))
    return f"PID {found.group(2)} ({found.group(1)})" if found else "another process"


# Source tasks side by side each hold the DuckDB file for moments: a wait shorter than this is
# ordinary and not logged; a longer one is, with who holds the file.
_QUIET_WAIT = 1.0


def _connect_duckdb(dialect, cargs, cparams, database: str, wait: float):
    """Open a DuckDB connection, waiting up to ``wait`` seconds while another process holds the
    file (DuckDB takes an OS lock on it for every connection, readers included). It asks every
    few milliseconds (other tasks hold it for moments and take it again soon: a waiter that slept
    longer would rarely find it free); a wait of more than a second is logged."""
    deadline = time.monotonic() + wait
    waited_since, warned, pause = None, False, 0.005
    while True:
        try:
            # duckdb_engine's connect consumes its arguments: each attempt gets its own copy
            conn = dialect.connect(*cargs, **{**cparams, "config": dict(cparams.get("config") or {})})
        except Exception as exc:
            if not _duckdb_locked(exc):
                raise
            now = time.monotonic()
            if now >= deadline:
                raise WarehouseUnavailable(
                    f"the DuckDB warehouse {database} is locked by {_lock_holder(exc)}; gave up after "
                    f"{wait:.0f} s (UGC_LOCK_WAIT_SECONDS)") from None
            waited_since = now if waited_since is None else waited_since
            if not warned and (now - waited_since >= _QUIET_WAIT or wait < _QUIET_WAIT):
                warned = True
                log.warning("the DuckDB warehouse %s is locked by %s; waiting up to %.0f s for it "
                            "(UGC_LOCK_WAIT_SECONDS)", database, _lock_holder(exc), wait)
            time.sleep(min(pause, max(deadline - now, 0.0)))
            pause = min(pause * 2, 0.05)
            continue
        if warned:
            log.warning("the DuckDB warehouse %s is free again after %.1f s", database, time.monotonic() - waited_since)
        return conn


def connect_timeout_of(url: str) -> int | None:
    """The seconds a PostgreSQL connection to ``url`` may take to be established (None: not PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        return None
    return int(parsed.query.get("connect_timeout") or DEFAULT_CONNECT_TIMEOUT)


def unreachable(exc: BaseException, url: str) -> str | None:
    """Why a connection to the warehouse ``url`` could not be opened, in a few words
    (``connection refused``, ``no answer within 10 s (connect_timeout)``, the driver's first
    line), or None when ``exc`` is not a failure to connect. Never a secret of ``url``."""
    if isinstance(exc, WarehouseUnavailable):
        return str(exc)
    orig = getattr(exc, "orig", None) or exc
    message = str(orig).strip()
    if type(orig).__name__ == "ConnectionTimeout" or "connection timeout expired" in message:
        seconds = connect_timeout_of(url)
        why = f"no answer within {seconds or DEFAULT_CONNECT_TIMEOUT} s (connect_timeout)"
    elif "Connection refused" in message:
        why = "connection refused"
    elif message.startswith("connection failed: ") or _duckdb_locked(orig):
        why = message.splitlines()[0].removeprefix("connection failed: ")
    else:
        return None
    return _redact_text(why, url)


def check_warehouse(url: str) -> None:
    """Open one connection to the warehouse and run ``select 1``, or raise
    ``WarehouseUnavailable`` with one line saying which warehouse (redacted) and why:
    ``connection refused``, ``no answer within 10 s (connect_timeout)``, the driver's first line
    (authentication, unknown database), a DuckDB file locked longer than the lock wait."""
    from ugc_pipeline.settings import redact_url

    shown = redact_url(url)
    try:
        engine = create_warehouse_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        finally:
            engine.dispose()
    except WarehouseUnavailable:
        raise
    except Exception as exc:
        why = unreachable(exc, url)
        if why is None:
            message = str(getattr(exc, "orig", None) or exc).strip()
            why = _redact_text(f"{type(exc).__name__}: {message.splitlines()[0] if message else ''}", url)
        raise WarehouseUnavailable(f"the warehouse {shown} cannot be reached: {why}") from None


def _redact_text(message: str, url: str) -> str:
    """A message without any secret of ``url`` in it (defence in depth: drivers do not echo them)."""
    from ugc_pipeline.settings import REDACTED, url_secrets

    for secret in url_secrets(url):
        message = message.replace(secret, REDACTED)
    return message


def raw_columns(table: RawTable) -> list[str]:
    return ["delivery_date", *META_COLUMNS, "run_id", "loaded_at", *(c.name for c in table.columns)]


# The primary key of every raw table: one row per delivered record (a record's number is unique
# in its file); RawTable.key, the record's native identity, gets an index beside it.
RAW_KEY = ("delivery_date", "source_file", "record_number")
# The advisory lock that serialises DDL (tables, keys, functions, views) and mart rebuilds.
DDL_LOCK = "ddl"

# Raw columns that had names of their own before the raw layer took the platforms' field names
# (docs/DECISIONS.md, "Reading the exports"): table -> {earlier name: native name}. A raw table
# created before gets them renamed in place, rows kept (``ensure_warehouse``), and on PostgreSQL
# its native-key index the name the key's new columns give it.
RENAMED_RAW_COLUMNS: dict[str, dict[str, str]] = {
    "google_business_reviews": {
        "review_name": "name", "review_id": "reviewId", "location_id": "name__locationId",
        "reviewer_display_name": "reviewer__displayName", "reviewer_is_anonymous": "reviewer__isAnonymous",
        "star_rating": "starRating", "create_time": "createTime", "update_time": "updateTime",
        "reply_comment": "reviewReply__comment", "reply_update_time": "reviewReply__updateTime",
        "media_item_count": "reviewMediaItems__count"},
    "yotpo_reviews": {
        "review_id": "id", "reviewer_name": "name", "reviewer_email": "email", "is_deleted": "deleted",
        "is_archived": "archived"},
    "instagram_media": {
        "account_id": "user__id", "username": "user__username", "followers_count": "user__followers_count",
        "media_id": "id", "posted_at": "timestamp", "reach": "insights__reach", "views": "insights__views",
        "impressions": "insights__impressions", "saved": "insights__saved", "shares": "insights__shares"},
    "tiktok_videos": {"video_id": "id"},
    "youtube_videos": {
        "video_id": "id", "published_at": "snippet__publishedAt", "channel_id": "snippet__channelId",
        "title": "snippet__title", "description": "snippet__description", "tags": "snippet__tags",
        "view_count": "statistics__viewCount", "like_count": "statistics__likeCount",
        "comment_count": "statistics__commentCount"},
    "youtube_channels": {
        "channel_id": "id", "subscriber_count": "statistics__subscriberCount",
        "hidden_subscriber_count": "statistics__hiddenSubscriberCount"},
}


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


def _raw_renames(table: RawTable, d: dialects.Dialect) -> list[tuple[str, str]]:
    """The plan entries renaming a raw table's earlier column names (``RENAMED_RAW_COLUMNS``):
    one per column, named ``raw.<table>.<native name>`` (so they run only where that column is
    missing from an existing table), then, on PostgreSQL, the native-key index's rename (before
    the plan's ``create index if not exists`` of the new name, which then finds it)."""
    renames = RENAMED_RAW_COLUMNS.get(table.name, {})
    plan = [(f"raw.{table.name}.{new}",
             f"alter table raw.{table.name} rename column {sql_ident(old)} to {sql_ident(new)}")
            for old, new in renames.items()]
    earlier = {new: old for old, new in renames.items()}
    old_key = tuple(earlier.get(c, c) for c in table.key)
    if d.has_keys and table.key and old_key != table.key:
        old_index = dialects.index_name(table.name, "_".join(old_key) + "_idx")
        new_index = dialects.index_name(table.name, "_".join(table.key) + "_idx")
        plan.append((f"raw.{new_index}",
                     f"alter index if exists raw.{sql_ident(old_index)} rename to {sql_ident(new_index)}"))
    return plan


def _table_ddl(spec: catalog.TableSpec, d: dialects.Dialect) -> str:
    cols = [f"{sql_ident(c.name)} {d.type(c.type)}{'' if c.nullable else ' not null'}"
            for c in spec.columns]
    return f"create table if not exists {spec.qualified} (\n  " + ",\n  ".join(cols) + "\n)"


def ddl_plan(d: dialects.Dialect) -> list[tuple[str, str]]:
    """Every raw and audit table, key and index, in creation order, as (qualified name of the
    relation that exists once the statement has run, statement). Keys and indexes are separate
    statements, so that a table created before they were declared gets them too."""
    plan: list[tuple[str, str]] = []

    def keys(schema: str, table: str, unique: tuple[str, ...], nullable: bool, indexes) -> None:
        for ddl in (d.key_ddl(schema, table, unique, nullable) if unique else None,
                    *(d.index_ddl(schema, table, cols) for cols in indexes)):
            if ddl:
                plan.append((f"{schema}.{ddl[0]}", ddl[1]))

    for table in raw_tables():
        plan.append((f"raw.{table.name}", _raw_ddl(table, d)))
        plan.extend(_raw_renames(table, d))
        keys("raw", table.name, RAW_KEY, False, [table.key] if table.key else [])
    for spec in catalog.table_specs().values():
        if spec.schema not in PYTHON_SCHEMAS:
            continue
        plan.append((spec.qualified, _table_ddl(spec, d)))
        # a column documented after the table was created is added (nullable, so old rows fit)
        plan.extend((f"{spec.qualified}.{c.name}", f"alter table {spec.qualified} add column if not exists "
                     f"{sql_ident(c.name)} {d.type(c.type)}") for c in spec.columns if c.nullable)
        nullable = {c.name for c in spec.columns if c.nullable}
        keys(spec.schema, spec.name, spec.grain if spec.unique_grain else (),
             any(c in nullable for c in spec.grain), spec.indexes)
    return plan


@contextlib.contextmanager
def transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection in a transaction: a new one committed at the end for an engine, or the given
    connection as it is (its owner commits). The ingest of a delivery does its warehouse work in
    two connections this way, not one per step: on DuckDB every connection takes the file from
    the source tasks running beside it."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.begin() as conn:
        yield conn


def ensure_warehouse(engine: Engine | Connection) -> None:
    """Create what is missing of the tables Python writes (raw and audit tables, their keys and
    indexes). The views and marts are dbt's (``ugc_pipeline.transform``).

    Several tasks may run this at once on PostgreSQL (the pool has several slots there), and
    concurrent ``create ... if not exists`` of the same object can fail on the catalogs' unique
    indexes; so the DDL runs under an advisory lock, and a task that finds every table already
    there returns without taking it.
    """
    d = dialects.Dialect(engine.dialect.name)
    plan = ddl_plan(d)
    with transaction(engine) as conn:
        d.check_server(conn)
        existing = d.existing_relations(conn, PYTHON_SCHEMAS)
    if all(name in existing for name, _ in plan):
        return
    with transaction(engine) as conn:
        d.lock(conn, DDL_LOCK)
        for schema in PYTHON_SCHEMAS:
            conn.exec_driver_sql(f"create schema if not exists {schema}")
        existing = d.existing_relations(conn, PYTHON_SCHEMAS)
        created: set[str] = set()
        for name, statement in plan:
            # a table created here already has its columns
            if name not in existing and name.rpartition(".")[0] not in created:
                conn.exec_driver_sql(statement)
                created.add(name)


def replace_delivery(conn: Connection, table: RawTable, delivery_date: date,
                     rows: pa.Table | dialects.ParquetFiles, run_id: str) -> int:
    """Replace one delivery of one raw table (re-running a day changes nothing).

    ``rows``: the delivery's rows in memory, or spooled to Parquet files (a delivery validated
    in batches, ``ugc_pipeline.batches``), loaded streaming.

    Two loads of the same delivery at once (a manual rerun beside the scheduled run) queue on a
    lock of (table, day), taken before the delete: the second deletes what the first loaded.
    """
    d = dialects.for_connection(conn)
    d.lock(conn, f"raw.{table.name}", delivery_date)
    conn.execute(text(f"delete from raw.{table.name} where delivery_date = :d"), {"d": delivery_date})
    if rows.num_rows == 0:
        return 0
    n = rows.num_rows
    if isinstance(rows, dialects.ParquetFiles):
        d.load_parquet(conn, f"raw.{table.name}", rows, raw_columns(table),
                       {"delivery_date": delivery_date, "run_id": run_id, "loaded_at": datetime.now(UTC)})
        return n
    rows = (rows.append_column("delivery_date", pa.repeat(pa.scalar(delivery_date, pa.date32()), n))
                .append_column("run_id", pa.repeat(pa.scalar(run_id, pa.string()), n))
                .append_column("loaded_at", pa.repeat(pa.scalar(datetime.now(UTC)), n)))
    d.load_frame(conn, f"raw.{table.name}", rows.select(raw_columns(table)))
    return n


def replace_rejects(conn: Connection, source: str, delivery_date: date,
                    rejects: pd.DataFrame | dialects.ParquetFiles, run_id: str) -> None:
    """The quarantine of one delivery of one source: the latest run's verdict replaces earlier ones.
    ``rejects``: file, position, reasons, raw, in memory or spooled to Parquet files.

    The table is shared by every source: concurrent sources delete and insert disjoint rows (no
    unique key to contend on); two runs of the same source and day queue on a lock."""
    d = dialects.for_connection(conn)
    d.lock(conn, f"audit.rejected_records:{source}", delivery_date)
    conn.execute(text("delete from audit.rejected_records where source = :s and delivery_date = :d"),
                 {"s": source, "d": delivery_date})
    if isinstance(rejects, dialects.ParquetFiles):
        spec = catalog.table_specs()["audit.rejected_records"]
        d.load_parquet(conn, spec.qualified, rejects, spec.column_names,
                       {"source": source, "delivery_date": delivery_date, "run_id": run_id,
                        "rejected_at": datetime.now(UTC)})
        return
    if rejects.empty:
        return
    frame = rejects.copy()
    frame.insert(0, "source", source)
    frame.insert(1, "delivery_date", delivery_date)
    frame["run_id"] = run_id
    frame["rejected_at"] = datetime.now(UTC)
    spec = catalog.table_specs()["audit.rejected_records"]
    d.load_frame(conn, spec.qualified, frame[spec.column_names])


def remove_delivery(conn: Connection, table: RawTable, delivery_date: date) -> int:
    """Remove what an earlier load of one delivery put in a raw table (the delivery was withdrawn
    from the landing zone: raw mirrors the landing zone). Returns the rows removed."""
    d = dialects.for_connection(conn)
    d.lock(conn, f"raw.{table.name}", delivery_date)
    params = {"d": delivery_date}
    n = conn.execute(text(f"select count(*) from raw.{table.name} where delivery_date = :d"), params).scalar_one()
    if n:
        conn.execute(text(f"delete from raw.{table.name} where delivery_date = :d"), params)
    return int(n)


def start_run(engine: Engine | Connection, row: dict) -> int:
    """Write the ``running`` row of a task attempt as soon as it starts (its own transaction, so
    that a task killed later still leaves a trace), and mark ``abandoned`` the rows of earlier
    attempts at the same source and day that were never finished (their process died). Returns
    how many rows were marked abandoned."""
    with transaction(engine) as conn:
        abandoned = conn.execute(
            text("update audit.pipeline_runs set status = 'abandoned', finished_at = :now, message = :message "
                 "where source = :source and delivery_date = :delivery_date and status = 'running' "
                 "and attempt_id <> :attempt_id"),
            {"now": row["started_at"], "source": row["source"], "delivery_date": row["delivery_date"],
             "attempt_id": row["attempt_id"],
             "message": f"abandoned: the task stopped without finishing its run record (killed?); a later "
                        f"attempt at the same source and day started at {row['started_at']:%Y-%m-%d %H:%M:%S} UTC"}
        ).rowcount
        record_run(conn, row)
    return max(int(abandoned or 0), 0)


def finish_run(engine: Engine | Connection, row: dict) -> None:
    """Finish a task attempt's run record (status, counts, message), written by ``start_run``."""
    spec = catalog.table_specs()["audit.pipeline_runs"]
    cols = [c for c in spec.column_names if c not in ("run_id", "source", "delivery_date", "started_at", "attempt_id")]
    with transaction(engine) as conn:
        updated = conn.execute(
            text(f"update {spec.qualified} set {', '.join(f'{c} = :{c}' for c in cols)} where attempt_id = :attempt_id"),
            {c: row.get(c) for c in [*cols, "attempt_id"]}).rowcount
        if not updated:  # the running row could not be written at the start (e.g. no warehouse then)
            record_run(conn, row)


def record_run(engine: Engine | Connection, row: dict) -> None:
    """Append one row to the run history (its own short transaction: an insert only, so
    concurrent tasks never wait on each other)."""
    spec = catalog.table_specs()["audit.pipeline_runs"]
    cols = spec.column_names
    with transaction(engine) as conn:
        conn.execute(
            text(f"insert into {spec.qualified} ({', '.join(cols)}) values ({', '.join(':' + c for c in cols)})"),
            {c: row.get(c) for c in cols})


def query_frame(engine: Engine, sql: str, params: dict | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(text(sql), params or {})
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
