"""What an adapter declares: the raw tables a source lands, and how to read each field.

An adapter never touches the warehouse. It says, for one source folder of the landing zone,
which files it reads (JSON pages, NDJSON or CSV), where the records sit inside a file, and which
native field feeds which raw column. ``ugc_pipeline.parse`` turns that declaration into one
set-based DuckDB query per file; the raw columns keep the native values as text, exactly as
delivered, and the staging SQL models (``sql/staging``) cast and rename them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a raw column's text must be castable; checked before anything is loaded.
ValueType = Literal["text", "int", "float", "bool", "timestamp", "unix_seconds", "date"]
FileFormat = Literal["json", "ndjson", "csv"]


@dataclass(frozen=True)
class Column:
    """One raw column.

    ``path`` is a JSON path inside the record (``$.reviewer.displayName``) for JSON sources, or
    the header name for CSV sources. ``sql`` replaces it with a DuckDB expression over ``item``
    (the record, JSON) and ``doc`` (the whole file, JSON) when a plain path cannot express it
    (Instagram insights are a list of named metrics; TikTok hashtags are a list).
    """

    name: str
    path: str | None = None
    type: ValueType = "text"
    required: bool = False
    sql: str | None = None
    doc: str = ""


@dataclass(frozen=True)
class RawTable:
    """A table of the raw layer: one row per record as delivered, plus delivery metadata."""

    name: str
    columns: tuple[Column, ...]
    # JSON path of the record array inside a file (``$.reviews``); None for CSV and NDJSON.
    records_path: str | None = None
    # For sources whose files hold several payload kinds (YouTube): the file's ``kind`` value.
    kind: str | None = None
    # Native identity of a record, used for duplicate checks and for "latest version wins".
    key: tuple[str, ...] = ()
    description: str = ""
    # The staging model that maps this table to the shared UGC item columns (None: not UGC items).
    ugc_model: str | None = None

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


@dataclass(frozen=True)
class Source:
    """A source folder of the landing zone and the raw tables its files feed."""

    name: str
    formats: tuple[FileFormat, ...]
    tables: tuple[RawTable, ...]
    description: str
    # Business tables are CSV snapshots or daily facts; UGC sources carry consumer content.
    kind: Literal["ugc", "business"] = "ugc"
    # A required source must deliver every day; a missing folder is then an error.
    required: bool = False
    # A JSON file-level condition that must hold (DuckDB expression over ``doc``), with its message.
    file_check: tuple[str, str] | None = None
    # CSV only: the separators this export uses (sniffed per file among these).
    csv_separators: tuple[str, ...] = (",", ";")

    def table_for_kind(self, kind: str | None) -> RawTable | None:
        if len(self.tables) == 1 and self.tables[0].kind is None:
            return self.tables[0]
        for table in self.tables:
            if table.kind == kind:
                return table
        return None


def col(name: str, path: str | None = None, type: ValueType = "text", *, required: bool = False,
        sql: str | None = None, doc: str = "") -> Column:
    """Shorthand used by the adapters: ``col("review_id", "$.reviewId", required=True)``."""
    return Column(name=name, path=path, type=type, required=required, sql=sql, doc=doc)


def csv_columns(*names: str, types: dict[str, ValueType] | None = None,
                required: tuple[str, ...] = ()) -> tuple[Column, ...]:
    """CSV adapters name their raw columns after the export's header."""
    types = types or {}
    return tuple(Column(name=n, path=n, type=types.get(n, "text"), required=n in required)
                 for n in names)
