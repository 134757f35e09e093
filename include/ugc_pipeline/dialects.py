"""Where DuckDB and PostgreSQL differ for the tables Python writes: type names, keys and
indexes, locks, bulk load.

The SQL models stay portable by calling the dbt project's dispatched macros
(``sql/macros/dialect.sql``: ``ugc_local_date``, ``ugc_words``...). Everything else that differs
between the two warehouses is a method of ``Dialect``:

- **keys and indexes** (``key_ddl``, ``index_ddl``): PostgreSQL gets primary keys, unique keys
  (``NULLS NOT DISTINCT`` where a key column may be null) and the indexes analysts filter by.
  These methods give the raw and audit tables theirs; the marts, which dbt creates, get the same
  from the marts' post-hook (``sql/macros/postgres_keys.sql``: the grain of ``config.meta`` as
  primary key, or ``UNIQUE NULLS NOT DISTINCT`` when a grain column such as ``sku`` may be null,
  and ``config.meta.indexes``). DuckDB gets none: it has no ``NULLS NOT DISTINCT``, its ART
  indexes slow bulk inserts down and must fit in memory, and its min-max zone maps already skip
  the row groups a date filter excludes. The grains are checked by dbt's tests on both.
- **locks** (``lock``): PostgreSQL transaction-level advisory locks serialise the DDL and two
  loads of the same delivery; DuckDB has one writer at a time anyway (the ``ugc_warehouse``
  pool has one slot) and needs none.
- **bulk load** (``load_frame``): DuckDB inserts from a registered Arrow table, PostgreSQL uses
  ``COPY ... FROM STDIN`` in CSV form, streamed batch by batch. A big delivery spooled to local
  Parquet files (``load_parquet``, ``ugc_pipeline.batches``): DuckDB inserts from
  ``read_parquet`` (streamed), PostgreSQL gets the files' row groups as one COPY, batch by batch.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

_TYPES = {
    "text": "varchar",
    "bigint": "bigint",
    "integer": "bigint",
    "double": "double precision",
    "date": "date",
    "timestamp": "timestamp with time zone",
    "boolean": "boolean",
}

# PostgreSQL identifiers are cut at 63 bytes; longer generated index names get a hash suffix.
_PG_MAX_IDENT = 63
# Rows per COPY chunk: bounds the memory of the CSV text to a few tens of MB at a time.
COPY_BATCH_ROWS = 50_000
# DuckDB's memory limit while it inserts spooled Parquet rows (``load_parquet``): beyond it,
# DuckDB spills to its temporary folder; without it, a 1M-row insert holds some 450 MB.
DUCKDB_LOAD_MEMORY_LIMIT = "256MiB"
# The oldest PostgreSQL the warehouse DDL runs on (UNIQUE NULLS NOT DISTINCT is new in 15).
MIN_POSTGRESQL = (15,)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def index_name(table: str, suffix: str) -> str:
    """A deterministic index name, unique in its schema because it starts with the table's name."""
    name = f"{table}__{suffix}"
    if len(name) <= _PG_MAX_IDENT:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:_PG_MAX_IDENT - 9]}_{digest}"


@dataclass(frozen=True)
class ParquetFiles:
    """Rows spooled to local Parquet files (``ugc_pipeline.batches``), in order, to be loaded."""

    paths: tuple[str, ...]
    num_rows: int


@dataclass(frozen=True)
class Dialect:
    name: str

    # -- types ----------------------------------------------------------------------
    def type(self, logical: str) -> str:
        try:
            return _TYPES[logical]
        except KeyError:
            raise ValueError(f"unknown column type {logical!r} (known: {', '.join(_TYPES)})") from None

    # -- keys and indexes ---------------------------------------------------------------------
    @property
    def has_keys(self) -> bool:
        """Whether this warehouse gets primary keys, unique keys and indexes (see module doc)."""
        return self.name == "postgresql"

    def key_ddl(self, schema: str, table: str, columns: Sequence[str], nullable: bool) -> tuple[str, str] | None:
        """(index name, statement) of the unique key of a table on ``columns``; None on DuckDB.

        Without nullable columns it is the primary key. With some, a unique constraint whose
        NULLs are not distinct, so that two rows ``(day, brand, sku=NULL, ...)`` are a duplicate.
        """
        if not self.has_keys:
            return None
        cols = ", ".join(_ident(c) for c in columns)
        if nullable:
            name = index_name(table, "grain_key")
            clause = f"unique nulls not distinct ({cols})"
        else:
            name = index_name(table, "pkey")
            clause = f"primary key ({cols})"
        return name, f"alter table {schema}.{table} add constraint {_ident(name)} {clause}"

    def index_ddl(self, schema: str, table: str, columns: Sequence[str]) -> tuple[str, str] | None:
        """(index name, statement) of a plain b-tree index; None on DuckDB."""
        if not self.has_keys:
            return None
        name = index_name(table, "_".join(columns) + "_idx")
        cols = ", ".join(_ident(c) for c in columns)
        return name, f"create index if not exists {_ident(name)} on {schema}.{table} ({cols})"

    def existing_relations(self, conn: Connection, schemas: Iterable[str]) -> set[str]:
        """Qualified names (``schema.name``) of the tables, views and indexes in ``schemas``."""
        schemas = list(schemas)
        if self.name == "postgresql":
            rows = conn.execute(text(
                "select n.nspname || '.' || c.relname from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace where n.nspname = any(:s)"), {"s": schemas})
        else:
            rows = conn.execute(text(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_schema in (" + ", ".join(f":s{i}" for i in range(len(schemas))) + ")"),
                {f"s{i}": s for i, s in enumerate(schemas)})
        found = {r[0] for r in rows}
        # Columns too (``schema.table.column``), so that a column added to a table's YAML is added
        # to a warehouse created before it (see warehouse.ddl_plan).
        columns = conn.execute(text(
            "select table_schema || '.' || table_name || '.' || column_name from information_schema.columns "
            "where table_schema in (" + ", ".join(f":s{i}" for i in range(len(schemas))) + ")"),
            {f"s{i}": s for i, s in enumerate(schemas)})
        return found | {r[0] for r in columns}

    def check_server(self, conn: Connection) -> None:
        if self.name == "postgresql":
            version = conn.dialect.server_version_info or ()
            if tuple(version[:1]) < MIN_POSTGRESQL:
                raise RuntimeError(
                    f"the warehouse needs PostgreSQL {MIN_POSTGRESQL[0]} or later (server is "
                    f"{'.'.join(map(str, version))}): the marts' unique keys use NULLS NOT DISTINCT")
            unicode = conn.execute(text("select lower('É') = 'é' and 'é' ~ '^[[:alnum:]]$'")).scalar_one()
            if not unicode:
                log.warning("the warehouse database's LC_CTYPE does not know non-ASCII letters (the 'C' "
                            "locale?): hashtags with accents will not match as on DuckDB; create it with "
                            "a UTF-8 locale, e.g. LC_CTYPE 'C.UTF-8' or 'en_US.UTF-8'")

    # -- locks --------------------------------------------------------------------------------
    @staticmethod
    def _lock_params(name: str, day: date | None) -> dict:
        return {"name": f"ugc_pipeline:{name}", "day": day.toordinal() if day else 0}

    def lock(self, conn: Connection, name: str, day: date | None = None) -> None:
        """Wait for, then hold until the end of the transaction, the lock called ``name``
        (and ``day``). PostgreSQL: a transaction-level advisory lock; DuckDB: nothing to do,
        the ``ugc_warehouse`` pool lets one writer in at a time."""
        if self.name == "postgresql":
            conn.execute(text("select pg_advisory_xact_lock(hashtext(:name), :day)"), self._lock_params(name, day))

    @contextmanager
    def session_lock(self, conn: Connection, name: str, day: date | None = None) -> Iterator[None]:
        """The same lock as ``lock``, taken in its own transaction and held until the block
        ends: for a transaction that must not take its snapshot before it has the lock
        (REPEATABLE READ takes it at the first statement, which would be the lock's)."""
        if self.name != "postgresql":
            yield
            return
        params = self._lock_params(name, day)
        conn.execute(text("select pg_advisory_lock(hashtext(:name), :day)"), params)
        conn.commit()
        try:
            yield
        finally:
            try:
                if conn.in_transaction():
                    conn.rollback()
                conn.execute(text("select pg_advisory_unlock(hashtext(:name), :day)"), params)
                conn.commit()
            except Exception as exc:  # closing the connection releases it anyway
                log.warning("could not release the %s lock: %s", name, exc)

    # -- bulk load ----------------------------------------------------------------------------
    def load_frame(self, conn: Connection, qualified: str, frame: pd.DataFrame | pa.Table) -> None:
        """Bulk-insert a DataFrame or Arrow table into an existing table, by column name."""
        names = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
        cols = ", ".join(_ident(c) for c in names)
        if self.name == "duckdb":
            # Registering the frame and inserting from it is set-based (no to_sql, no row loop).
            duck = conn.connection.driver_connection
            view = f"incoming_{uuid.uuid4().hex}"
            duck.register(view, frame)
            try:
                conn.exec_driver_sql(f"insert into {qualified} ({cols}) select {cols} from {view}")
            finally:
                duck.unregister(view)
        elif self.name == "postgresql":
            table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
            if table.num_rows == 0:
                return
            sql = f"copy {qualified} ({cols}) from stdin with (format csv, null '', encoding 'UTF8')"
            _copy_csv(conn, sql, _csv_chunks(_copyable(table)))
        else:
            raise NotImplementedError(f"bulk load into {self.name}")

    def load_parquet(self, conn: Connection, qualified: str, files: ParquetFiles, columns: Sequence[str],
                     constants: dict) -> None:
        """Bulk-insert spooled Parquet rows into an existing table, by column name: ``columns``
        are the table's, each read from the files or, when in ``constants``, that one value
        (the delivery date, the run id...). Streamed: the files are never in memory whole."""
        if files.num_rows == 0:
            return
        cols = ", ".join(_ident(c) for c in columns)
        if self.name == "duckdb":
            values = ", ".join(f":{c}" if c in constants else _ident(c) for c in columns)
            paths = ", ".join("'" + p.replace("'", "''") + "'" for p in files.paths)
            conn.exec_driver_sql(f"set memory_limit = '{DUCKDB_LOAD_MEMORY_LIMIT}'")
            try:
                conn.execute(text(f"insert into {qualified} ({cols}) select {values} from read_parquet([{paths}])"),
                             constants)
            finally:
                conn.exec_driver_sql("reset memory_limit")
        elif self.name == "postgresql":
            import pyarrow.parquet as pq

            read = [c for c in columns if c not in constants]

            def tables() -> Iterator[pa.Table]:
                for path in files.paths:
                    for batch in pq.ParquetFile(path).iter_batches(batch_size=COPY_BATCH_ROWS, columns=read):
                        table = pa.Table.from_batches([batch])
                        for name, value in constants.items():
                            table = table.append_column(name, pa.repeat(pa.scalar(value), table.num_rows))
                        yield table.select(list(columns))

            sql = f"copy {qualified} ({cols}) from stdin with (format csv, null '', encoding 'UTF8')"
            _copy_csv(conn, sql, (chunk for table in tables() for chunk in _csv_chunks(_copyable(table))))
        else:
            raise NotImplementedError(f"bulk load into {self.name}")


def _copyable(table: pa.Table) -> pa.Table:
    """The table in types Arrow's CSV writer renders the way COPY reads them.

    - every string is written quoted (Arrow's ``needed`` quoting quotes all strings), so ``""``
      is an empty string and a bare empty field is NULL; quotes are doubled, newlines, commas,
      backslashes and a lone ``\\.`` stay inside quotes: no escaping beyond CSV's own is needed;
    - dates are ``YYYY-MM-DD``, timestamps ISO with a ``Z`` when zoned (UTC sessions read the
      zone-less ones as UTC), booleans ``true``/``false``;
    - PostgreSQL text cannot hold the NUL character: it is removed (DuckDB keeps it);
    - string views and dictionaries, which the CSV writer does not take, become plain strings.
    """
    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = pc.cast(column, kind.value_type)
            kind = column.type
        if kind == pa.string_view():
            column = pc.cast(column, pa.large_string())
            kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            column = pc.replace_substring(column, "\x00", "")
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _csv_chunks(table: pa.Table) -> Iterable[bytes]:
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    for batch in table.to_batches(max_chunksize=COPY_BATCH_ROWS):
        buf = io.BytesIO()
        pacsv.write_csv(batch, buf, options)
        yield buf.getvalue()


def _copy_csv(conn: Connection, sql: str, chunks: Iterable[bytes]) -> None:
    """COPY FROM STDIN on the connection's own transaction, psycopg 3 or psycopg2."""
    raw = conn.connection.driver_connection
    if conn.dialect.driver == "psycopg2":
        class _Chunks(io.RawIOBase):  # copy_expert reads a file: serve the chunks as one
            def __init__(self):
                self._it, self._rest = iter(chunks), memoryview(b"")

            def readable(self):
                return True

            def readinto(self, b):
                while not self._rest:
                    chunk = next(self._it, None)
                    if chunk is None:
                        return 0
                    self._rest = memoryview(chunk)
                n = min(len(b), len(self._rest))
                b[:n], self._rest = self._rest[:n], self._rest[n:]
                return n

        with raw.cursor() as cur:
            cur.copy_expert(sql, io.BufferedReader(_Chunks(), buffer_size=1 << 20))
        return
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for chunk in chunks:
            copy.write(chunk)


def for_engine(engine: Engine) -> Dialect:
    return Dialect(engine.dialect.name)


def for_connection(conn: Connection) -> Dialect:
    return Dialect(conn.dialect.name)
