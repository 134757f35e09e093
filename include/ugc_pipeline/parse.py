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
import pyarrow as pa

from ugc_pipeline.landing import LandedFile, Landing
from ugc_pipeline.sources.base import Column, RawTable, Source

log = logging.getLogger(__name__)

META_COLUMNS = ("source_file", "record_number", "record_position")
FORMAT_BY_EXTENSION = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}

class DeliveryError(Exception):
    """A delivered file (or a whole delivery) cannot be used; the message names the file."""


@dataclass
class ParsedTable:
    table: RawTable
    arrow: pa.Table  # META_COLUMNS, raw_record, then the table's columns as delivered text (blank = null)

    @property
    def records_read(self) -> int:
        return self.arrow.num_rows

    @property
    def rows(self) -> pd.DataFrame:
        """The parsed records as a DataFrame without their raw text (Arrow-backed strings)."""
        return self.arrow.drop_columns(["raw_record"]).to_pandas(types_mapper=pd.ArrowDtype)


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


def _first_error_line(exc: Exception, file: LandedFile | None = None) -> str:
    text = str(exc).strip().splitlines()[0][:300]
    return text.replace(file.path, file.name) if file else text  # no machine path in messages


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
    def add_files(self, files: list[LandedFile]) -> None:
        """Parse every file of the delivery: JSON and NDJSON files in one read, CSV file by file."""
        by_format: dict[str, list[LandedFile]] = {}
        for file in files:
            fmt = _file_format(self.source, file)
            if file.size == 0:
                raise DeliveryError(f"{file.name}: the file is empty")
            by_format.setdefault(fmt, []).append(file)
        for fmt, group in sorted(by_format.items()):
            if fmt == "csv":
                for file in group:
                    try:
                        self._add_csv(file)
                    except duckdb.Error as exc:
                        raise DeliveryError(f"{file.name}: cannot be read as csv: {_first_error_line(exc, file)}") from None
            else:
                self._add_json(group, fmt)

    def _read_docs(self, files: list[LandedFile], fmt: str) -> None:
        """All documents of the files (one per JSON file, one per NDJSON line) in one read."""
        layout = "newline_delimited" if fmt == "ndjson" else "auto"
        query = (
            "create or replace temp table docs as "
            "select f.name, row_number() over (partition by t.filename order by t.ordinality) as doc_number, "
            "       count(*) over (partition by t.filename) as docs_in_file, t.json as doc "
            f"from read_json_objects($paths, format='{layout}', filename=true) with ordinality as t "
            "join delivery_files as f on f.path = t.filename")
        self.con.execute("create or replace temp table delivery_files (path varchar, name varchar)")
        self.con.executemany("insert into delivery_files values (?, ?)", [(f.path, f.name) for f in files])
        try:
            self.con.execute(query, {"paths": [f.path for f in files]})
        except duckdb.Error:
            # Find the file DuckDB could not read, to name it.
            for file in files:
                try:
                    self.con.execute(f"select count(*) from read_json_objects($p, format='{layout}')", {"p": file.path})
                except duckdb.Error as exc:
                    raise DeliveryError(f"{file.name}: cannot be read as {fmt}: {_first_error_line(exc, file)}") from None
            raise
        empty = self.con.execute(
            "select name from delivery_files where name not in (select name from docs) order by name").fetchall()
        if empty:
            raise DeliveryError(f"{empty[0][0]}: holds no JSON {'record' if fmt == 'ndjson' else 'document'}")

    def _add_json(self, files: list[LandedFile], fmt: str) -> None:
        con = self.con
        self._read_docs(files, fmt)
        if self.source.file_check:
            expr, message = self.source.file_check
            bad = con.execute(f"select name from docs group by name having not bool_and({expr}) order by name").fetchall()
            if bad:
                raise DeliveryError(f"{bad[0][0]}: {message}")
        kinds: list[str | None] = [None]
        if fmt == "json" and any(t.kind for t in self.source.tables):
            rows = con.execute("select distinct name, json_extract_string(doc, '$.kind') from docs order by 1").fetchall()
            for name, kind in rows:
                if self.source.table_for_kind(kind) is None:
                    raise DeliveryError(f"{name}: unknown payload kind {kind!r} for source {self.source.name}")
            kinds = sorted({kind for _, kind in rows})
        for kind in kinds:
            table = self.source.table_for_kind(kind) if kind is not None else self.source.tables[0]
            where = "where json_extract_string(doc, '$.kind') = $kind" if kind is not None else ""
            params = {"kind": kind} if kind is not None else {}
            if fmt == "ndjson":
                items = f"select name, doc as item, doc, doc_number as n, 'record ' || doc_number as pos from docs {where}"
            else:
                arr = sql_literal(table.records_path + "[*]")
                items = (
                    f"select name, item, doc, doc_number * 1000000000 + n as n, "
                    f"case when docs_in_file > 1 then 'document ' || doc_number || ' ' else '' end "
                    f"|| {sql_literal(table.records_path)} || '[' || (n - 1) || ']' as pos from ("
                    f"  select name, doc, doc_number, docs_in_file,"
                    f"         unnest(coalesce(json_extract(doc, {arr}), [])) as item,"
                    f"         generate_subscripts(coalesce(json_extract(doc, {arr}), []), 1) as n"
                    f"  from docs {where})")
            # One JSON parse per record for every plain path; DuckDB expressions for the rest.
            plain = [c for c in table.columns if not c.sql]
            paths = "[" + ", ".join(sql_literal(_json_path(c)) for c in plain) + "]"
            index = {c.name: i + 1 for i, c in enumerate(plain)}
            exprs = ", ".join(
                _blank_as_null(f"cast(({c.sql}) as varchar)") if c.sql else _blank_as_null(f"v[{index[c.name]}]")
                for c in table.columns)
            cols = ", ".join(sql_ident(c.name) for c in table.columns)
            con.execute(
                f"insert into {sql_ident('parsed_' + table.name)} "
                f"(source_file, record_number, record_position, raw_record, {cols}) "
                f"select name, n, pos, cast(item as varchar), {exprs} "
                f"from (select *, json_extract_string(item, {paths}) as v from ({items}))",
                params)
        con.execute("drop table docs")  # the parsed rows are all that is needed from here on

    def _sniff_separator(self, file: LandedFile) -> str:
        with self.landing.filesystem().open(file.path, "rb") as fh:
            head = fh.read(65536)
        first_line = head.decode("utf-8-sig", errors="replace").splitlines()[0] if head.strip() else ""
        if not first_line.strip():
            raise DeliveryError(f"{file.name}: the CSV has no header row")
        return max(self.source.csv_separators, key=first_line.count)

    def _add_csv(self, file: LandedFile) -> None:
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
        con.execute(
            f"insert into {target} (source_file, record_number, record_position, raw_record, {cols}) "
            f"select $name, ordinality, 'row ' || ordinality, cast({raw} as varchar), {exprs} "
            f"from {reader} with ordinality",
            params)

    def _csv_header(self, file: LandedFile, sep: str) -> list[str]:
        with self.landing.filesystem().open(file.path, "rb") as fh:
            head = fh.read(65536)
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the 64 KiB boundary
                raise DeliveryError(f"{file.name}: is not UTF-8 (byte {exc.start} of the header)") from None
            text = head[: exc.start].decode("utf-8-sig")
        try:
            first = next(csv.reader(io.StringIO(text, newline=""), delimiter=sep), [])
        except csv.Error as exc:
            raise DeliveryError(f"{file.name}: the CSV header cannot be read: {exc}") from None
        header = [h.strip() for h in first]
        if len(set(header)) != len(header) or any(not h for h in header):
            raise DeliveryError(f"{file.name}: the CSV header has blank or repeated column names")
        return header

    # -- result ------------------------------------------------------------------------------
    def result(self) -> dict[str, ParsedTable]:
        """Every parsed record, in file order; checking them is ugc_pipeline.validation's job."""
        out = {}
        for table in self.source.tables:
            cols = ", ".join(sql_ident(c.name) for c in table.columns)
            arrow = self.con.sql(
                f"select source_file, record_number, record_position, raw_record, {cols} "
                f"from {sql_ident('parsed_' + table.name)} order by source_file, record_number").to_arrow_table()
            out[table.name] = ParsedTable(table=table, arrow=arrow)
            if arrow.num_rows:
                log.info("%s: %s records parsed into %s", self.source.name, arrow.num_rows, table.name)
        return out


def parse_delivery(source: Source, landing: Landing, files: list[LandedFile]) -> dict[str, ParsedTable]:
    """Parse every file of one delivery; raises DeliveryError on the first unusable file."""
    parser = DeliveryParser(source, landing)
    try:
        parser.add_files(files)
        return parser.result()
    finally:
        parser.close()
