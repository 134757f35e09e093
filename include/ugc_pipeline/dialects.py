"""The one small place where DuckDB and PostgreSQL differ: type names, bulk load, views.

SQL models stay portable by calling the helper functions defined per dialect in
``sql/dialect/<dialect>.sql`` (``ugc_local_date``, ``ugc_words``...).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine

_TYPES = {
    "text": "varchar",
    "bigint": "bigint",
    "integer": "bigint",
    "double": "double precision",
    "date": "date",
    "timestamp": "timestamp with time zone",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Dialect:
    name: str

    def type(self, logical: str) -> str:
        try:
            return _TYPES[logical]
        except KeyError:
            raise ValueError(f"unknown column type {logical!r} (known: {', '.join(_TYPES)})") from None

    def create_view(self, qualified: str, select_sql: str) -> str:
        body = select_sql.rstrip().rstrip(";")
        if self.name == "postgresql":
            # CREATE OR REPLACE VIEW cannot drop columns in PostgreSQL; models may change shape.
            return f"drop view if exists {qualified} cascade;\ncreate view {qualified} as\n{body}"
        return f"create or replace view {qualified} as\n{body}"

    def load_frame(self, conn: Connection, qualified: str, frame: pd.DataFrame | pa.Table) -> None:
        """Bulk-insert a DataFrame or Arrow table into an existing table, by column name."""
        names = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
        cols = ", ".join(f'"{c}"' for c in names)
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
            # COPY ... FROM STDIN in CSV form: PostgreSQL's bulk path.
            import pyarrow.csv as pacsv

            table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
            buf = io.BytesIO()
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"copy {qualified} ({cols}) from stdin with (format csv)") as copy:
                copy.write(buf.getvalue())
        else:
            raise NotImplementedError(f"bulk load into {self.name}")


def for_engine(engine: Engine) -> Dialect:
    return Dialect(engine.dialect.name)


def for_connection(conn: Connection) -> Dialect:
    return Dialect(conn.dialect.name)
