"""Parse one delivery of one source into raw rows, set-based, with an in-memory DuckDB.

Each file is read by one DuckDB query (``read_json_objects`` / ``read_csv``) that flattens the
platform's payload into the adapter's raw columns, kept as the delivered text. A second query
checks every row against the column declarations (required, castable); rows that fail are set
aside with their file, position, reasons and raw content, never dropped. A file that cannot be
read at all raises ``DeliveryError`` naming the file.

DuckDB is the parser whatever the warehouse is: it reads local files directly and remote ones
(``s3://...``) through the landing zone's fsspec filesystem.
"""

from __future__ import annotations

import csv
import io
import logging
import posixpath
from dataclasses import dataclass

import duckdb
import pandas as pd

from ugc_pipeline.landing import LandedFile, Landing
from ugc_pipeline.sources.base import Column, RawTable, Source

log = logging.getLogger(__name__)

META_COLUMNS = ("source_file", "record_number", "record_position")
FORMAT_BY_EXTENSION = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}

_TRY_CAST = {
    "int": "try_cast(trim({v}) as bigint)",
    "unix_seconds": "try_cast(trim({v}) as bigint)",
    "float": "try_cast(trim({v}) as double)",
    "bool": "try_cast(trim({v}) as boolean)",
    "timestamp": "try_cast(trim({v}) as timestamptz)",
    "date": "try_cast(trim({v}) as date)",
}


class DeliveryError(Exception):
    """A delivered file (or a whole delivery) cannot be used; the message names the file."""


@dataclass
class ParsedTable:
    table: RawTable
    rows: pd.DataFrame  # META_COLUMNS + the table's columns, as delivered text
    rejects: pd.DataFrame  # file, position, reasons, raw
    records_read: int


def sql_literal(text: str) -> str:
    """A SQL string literal for adapter constants (JSON paths), never for data values."""
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_path(column: Column) -> str:
    path = column.path or column.name
    return path if path.startswith("$") else "$." + sql_ident(path)


def _json_expr(column: Column) -> str:
    if column.sql:
        return column.sql
    return f"json_extract_string(item, {sql_literal(_json_path(column))})"


def _blank_as_null(expr: str) -> str:
    # A blank field is an unknown value (contract: "blank = unknown"), the same as a missing one.
    return f"nullif(trim({expr}), '')"


def _file_format(source: Source, file: LandedFile) -> str:
    ext = posixpath.splitext(file.name)[1].lower()
    fmt = FORMAT_BY_EXTENSION.get(ext)
    if fmt is None or fmt not in source.formats:
        raise DeliveryError(
            f"{file.name}: unexpected file type {ext or '(none)'!r} for source {source.name} "
            f"(expects {', '.join(source.formats)})")
    return fmt


def _first_error_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


class DeliveryParser:
    """Parses the files of one delivery of one source into per-table frames."""

    def __init__(self, source: Source, landing: Landing):
        self.source = source
        self.landing = landing
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'")
        if not landing.is_local:
            self.con.register_filesystem(landing.filesystem())
        for table in source.tables:
            cols = ", ".join(f"{sql_ident(c.name)} varchar" for c in table.columns)
            self.con.execute(
                f"create temp table {sql_ident('parsed_' + table.name)} (source_file varchar, "
                f"record_number bigint, record_position varchar, raw_record varchar, {cols})")

    def close(self) -> None:
        self.con.close()

    # -- reading -----------------------------------------------------------------------------
    def add_file(self, file: LandedFile) -> int:
        """Parse one file into the parsed tables; returns the number of records read."""
        fmt = _file_format(self.source, file)
        if file.size == 0:
            raise DeliveryError(f"{file.name}: the file is empty")
        try:
            if fmt == "csv":
                return self._add_csv(file)
            return self._add_json(file, fmt)
        except duckdb.Error as exc:
            raise DeliveryError(f"{file.name}: cannot be read as {fmt}: {_first_error_line(exc)}") from None

    def _docs_sql(self, fmt: str) -> str:
        layout = "newline_delimited" if fmt == "ndjson" else "auto"
        return f"select doc, ordinality as doc_number from read_json_objects($file, format='{layout}') with ordinality t(doc)"

    def _add_json(self, file: LandedFile, fmt: str) -> int:
        con = self.con
        params = {"file": file.path}
        docs = self._docs_sql(fmt)
        if fmt == "json":
            n_docs = con.execute(f"select count(*) from ({docs})", params).fetchone()[0]
            if n_docs == 0:
                raise DeliveryError(f"{file.name}: holds no JSON document")
            if self.source.file_check:
                expr, message = self.source.file_check
                ok = con.execute(f"select bool_and({expr}) from ({docs})", params).fetchone()[0]
                if not ok:
                    raise DeliveryError(f"{file.name}: {message}")
            kinds = [r[0] for r in con.execute(
                f"select distinct json_extract_string(doc, '$.kind') from ({docs})", params).fetchall()]
            tables = []
            for kind in kinds:
                table = self.source.table_for_kind(kind)
                if table is None:
                    raise DeliveryError(f"{file.name}: unknown payload kind {kind!r} for source {self.source.name}")
                tables.append((kind, table))
        else:
            tables = [(None, self.source.tables[0])]

        read = 0
        for kind, table in tables:
            target = sql_ident("parsed_" + table.name)
            cols = ", ".join(sql_ident(c.name) for c in table.columns)
            exprs = ", ".join(_blank_as_null(f"cast({_json_expr(c)} as varchar)") for c in table.columns)
            kind_filter = "where json_extract_string(doc, '$.kind') = $kind" if kind is not None else ""
            if kind is not None:
                params = {**params, "kind": kind}
            if fmt == "ndjson":
                items = f"select doc as item, doc, doc_number as n, 'record ' || doc_number as pos from ({docs})"
            else:
                arr = sql_literal(table.records_path + "[*]")
                base = sql_literal(table.records_path)
                items = (
                    f"select item, doc, doc_number * 1000000000 + n as n, "
                    f"case when ndocs > 1 then 'document ' || doc_number || ' ' else '' end || "
                    f"{base} || '[' || (n - 1) || ']' as pos from ("
                    f"  select doc, doc_number, count(*) over () as ndocs,"
                    f"         unnest(coalesce(json_extract(doc, {arr}), [])) as item,"
                    f"         generate_subscripts(coalesce(json_extract(doc, {arr}), []), 1) as n"
                    f"  from ({docs}) {kind_filter})")
            before = con.execute(f"select count(*) from {target}").fetchone()[0]
            con.execute(
                f"insert into {target} (source_file, record_number, record_position, raw_record, {cols}) "
                f"select $name, n, pos, cast(item as varchar), {exprs} from ({items})",
                {**params, "name": file.name})
            read += con.execute(f"select count(*) from {target}").fetchone()[0] - before
        return read

    def _sniff_separator(self, file: LandedFile) -> str:
        with self.landing.filesystem().open(file.path, "rb") as fh:
            head = fh.read(65536)
        first_line = head.decode("utf-8-sig", errors="replace").splitlines()[0] if head.strip() else ""
        if not first_line.strip():
            raise DeliveryError(f"{file.name}: the CSV has no header row")
        return max(self.source.csv_separators, key=first_line.count)

    def _add_csv(self, file: LandedFile) -> int:
        con = self.con
        table = self.source.tables[0]
        sep = self._sniff_separator(file)
        reader = "read_csv($file, header=true, all_varchar=true, delim=$sep, quote='\"', escape='\"')"
        header = self._csv_header(file, sep)
        missing = [c.name for c in table.columns if c.required and (c.path or c.name) not in header]
        if missing:
            raise DeliveryError(
                f"{file.name}: the CSV header lacks required column(s) {', '.join(missing)} "
                f"(found: {', '.join(header)})")
        params = {"file": file.path, "sep": sep, "name": file.name}
        target = sql_ident("parsed_" + table.name)
        cols = ", ".join(sql_ident(c.name) for c in table.columns)
        exprs = ", ".join(
            _blank_as_null(sql_ident(c.path or c.name)) if (c.path or c.name) in header else "null"
            for c in table.columns)
        raw = "json_object(" + ", ".join(f"{sql_literal(h)}, {sql_ident(h)}" for h in header) + ")"
        before = con.execute(f"select count(*) from {target}").fetchone()[0]
        con.execute(
            f"insert into {target} (source_file, record_number, record_position, raw_record, {cols}) "
            f"select $name, ordinality, 'row ' || ordinality, cast({raw} as varchar), {exprs} "
            f"from {reader} with ordinality",
            params)
        return con.execute(f"select count(*) from {target}").fetchone()[0] - before

    def _csv_header(self, file: LandedFile, sep: str) -> list[str]:
        with self.landing.filesystem().open(file.path, "rb") as fh:
            head = fh.read(65536)
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the 64 KiB boundary
                raise DeliveryError(f"{file.name}: is not UTF-8 (byte {exc.start} of the header)") from None
            text = head[: exc.start].decode("utf-8-sig")
        first = next(csv.reader(io.StringIO(text), delimiter=sep), [])
        header = [h.strip() for h in first]
        if len(set(header)) != len(header) or any(not h for h in header):
            raise DeliveryError(f"{file.name}: the CSV header has blank or repeated column names")
        return header

    # -- checking ----------------------------------------------------------------------------
    def result(self) -> dict[str, ParsedTable]:
        out = {}
        for table in self.source.tables:
            target = sql_ident("parsed_" + table.name)
            reasons = []
            for c in table.columns:
                v = sql_ident(c.name)
                if c.required:
                    reasons.append(f"case when nullif(trim({v}), '') is null then '{c.name} is missing' end")
                if c.type in _TRY_CAST:
                    cast = _TRY_CAST[c.type].format(v=v)
                    reasons.append(
                        f"case when nullif(trim({v}), '') is not null and {cast} is null "
                        f"then '{c.name} is not a valid {c.type}: ' || {v} end")
            reason_expr = "concat_ws('; ', " + ", ".join(reasons) + ")" if reasons else "''"
            self.con.execute(
                f"create or replace temp table checked as select *, {reason_expr} as reasons from {target}")
            cols = ", ".join(sql_ident(c.name) for c in table.columns)
            rows = self.con.execute(
                f"select source_file, record_number, record_position, {cols} from checked "
                f"where reasons = '' order by source_file, record_number").df()
            rejects = self.con.execute(
                "select source_file as file, record_position as position, reasons, raw_record as raw "
                "from checked where reasons <> '' order by source_file, record_number").df()
            read = self.con.execute(f"select count(*) from {target}").fetchone()[0]
            out[table.name] = ParsedTable(table=table, rows=rows, rejects=rejects, records_read=read)
        return out


def parse_delivery(source: Source, landing: Landing, files: list[LandedFile]) -> dict[str, ParsedTable]:
    """Parse every file of one delivery; raises DeliveryError on the first unusable file."""
    parser = DeliveryParser(source, landing)
    try:
        for file in files:
            n = parser.add_file(file)
            log.info("%s: %s records read from %s", source.name, n, file.name)
        return parser.result()
    finally:
        parser.close()
