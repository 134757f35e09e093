"""Parse one delivery of one source into raw rows, set-based, with an in-memory DuckDB.

JSON pages are read by one DuckDB query (``read_json_objects``) that flattens the platform's
payload into the adapter's raw columns, kept as the delivered text, after checking that every
page has the shape its adapter declares (``Source.page``): an API error page, a top-level array
or an object without the records array fails the delivery instead of loading 0 records.
CSV and NDJSON files are split into records in Python (``csv`` module, physical lines), so that
one malformed record (a CSV row with a field too many or too few, an NDJSON line that is not a
JSON object) is set aside with its true line number and its text as delivered while its
neighbours load unshifted. A second step (``ugc_pipeline.validation``) checks every row against
the column declarations; the records the parse set aside join its rejects
(``ParsedTable.rejects``). A file that cannot be read at all raises ``DeliveryError`` naming the
file; no error message quotes the file's content (line and byte numbers say where).

DuckDB is the parser whatever the warehouse is: it reads local files directly and remote ones
(``s3://...``) through the landing zone's fsspec filesystem.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import os
import posixpath
import re
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa
from duckdb.sqltypes import VARCHAR

from ugc_pipeline.landing import DeliveryError, LandedFile, Landing
from ugc_pipeline.pii import KINDS, Pseudonymiser
from ugc_pipeline.sources.base import Column, PageShape, RawTable, Source

log = logging.getLogger(__name__)

META_COLUMNS = ("source_file", "record_number", "record_position")
FORMAT_BY_EXTENSION = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}
REJECT_COLUMNS = ("file", "position", "reasons", "raw")  # as validation's rejects frame
# DuckDB's default "maximum_object_size" (16 MiB); pages larger than that get the file's size.
DUCKDB_MAX_OBJECT = 16 * 1024 * 1024

__all__ = ["DeliveryError", "DeliveryParser", "ParsedTable", "parse_delivery"]


def _no_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS})


@dataclass
class ParsedTable:
    table: RawTable
    arrow: pa.Table  # META_COLUMNS, raw_record, then the table's columns as delivered text (blank = null)
    # Records the parse could not split into fields (a CSV row with a field too many or too few,
    # an NDJSON line that is not a JSON object): file, position ('line N'), reasons, raw (the
    # delivered text as a JSON string), in file order. ``validation.validate_table`` merges them
    # into its quarantine and its records_read.
    rejects: pd.DataFrame = field(default_factory=_no_rejects)
    # What the run record should say although the delivery loads (a header-only CSV file).
    warnings: list[str] = field(default_factory=list)

    @property
    def records_read(self) -> int:
        """Every record delivered: the parsed rows and the ones the parse set aside."""
        return self.arrow.num_rows + len(self.rejects)

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
    if fmt == "json" and any(ch in posixpath.basename(file.name) for ch in "*?[]{}"):
        # DuckDB's reader expands these as a pattern: 'p[1].json' would read 'p1.json'.
        raise DeliveryError(f"{file.name}: the file name holds a pattern character (* ? [ ] {{ }}) that the "
                            "JSON reader would expand; rename the file")
    return fmt


def _line_of(data: bytes | str, offset: int) -> int:
    """The 1-based physical line holding ``offset`` (line breaks: \\r\\n, \\n or \\r)."""
    head = data[:offset]
    if isinstance(head, bytes):
        return len(re.findall(rb"\r\n|\r|\n", head)) + 1
    return len(re.findall(r"\r\n|\r|\n", head)) + 1


def _one_line(text: object, limit: int = 200) -> str:
    """A platform's own error text, as one bounded line."""
    out = " ".join(str(text).split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _json_kind(duck_type: str | None) -> str:
    return {"OBJECT": "object", "ARRAY": "array", "VARCHAR": "string", "BOOLEAN": "boolean", "NULL": "null",
            None: "nothing"}.get(duck_type, "number")


_DUCK_JSON_ERROR = re.compile(r"Malformed JSON in file .*?, at byte \d+ in (?:record/value|line) \d+: (?P<why>[^.]*)")


def _safe_error(exc: Exception, file: LandedFile) -> str:
    """DuckDB's error, first line, without the machine path and without anything it quotes
    (DuckDB quotes the offending line of a file: no file content goes into a message)."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = text.replace(file.path, file.name)
    for marker in (" Input:", "Original Line", "\n"):
        text = text.split(marker)[0]
    text = re.sub(r'"[^"]*"', '"…"', text)  # DuckDB quotes file names and values in double quotes
    return text.strip()[:300]


def _json_error_detail(exc: Exception, file: LandedFile, data: bytes) -> str:
    """Why a JSON file is unreadable and on which line, without quoting it."""
    match = _DUCK_JSON_ERROR.search(str(exc))
    if not match:
        return _safe_error(exc, file)
    why = match.group("why").strip()
    line = None
    start = 3 if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as err:
        line = _line_of(data, err.start + start)
    else:
        decoder, pos = json.JSONDecoder(), 0
        try:  # the documents one after the other, as DuckDB reads them
            while True:
                while pos < len(text) and text[pos] in " \t\r\n":
                    pos += 1
                if pos >= len(text):
                    break
                _, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            line = err.lineno
    where = f" on line {line}" if line else ""
    return f"Invalid Input Error: Malformed JSON{where}: {why}"


class DeliveryParser:
    """Parses the files of one delivery of one source into per-table frames."""

    def __init__(self, source: Source, landing: Landing, pseudonymiser: Pseudonymiser | None = None):
        self.source = source
        self.landing = landing
        # Personal fields are replaced by their pseudonyms as they are parsed (ugc_pipeline.pii):
        # in the raw columns and in the record as delivered. The ingest always passes one; None
        # (unit tests of the parsing alone) keeps the values as delivered.
        self.pii = pseudonymiser
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'")
        # Give freed memory back at once (DuckDB's allocator keeps up to 128-512 MiB otherwise):
        # the JSON functions allocate several times a page's size while they parse it.
        self.con.execute("set allocator_flush_threshold = '8MiB'")
        self.con.execute("set allocator_bulk_deallocation_flush_threshold = '8MiB'")
        if not landing.is_local:
            self.con.register_filesystem(landing.filesystem())
        self.rejects: dict[str, list[tuple[str, int, str, str, str]]] = {t.name: [] for t in source.tables}
        self.warnings: dict[str, list[str]] = {t.name: [] for t in source.tables}
        for table in source.tables:
            cols = ", ".join(f"{sql_ident(c.name)} varchar" for c in table.columns)
            self.con.execute(
                f"create temp table {sql_ident('parsed_' + table.name)} (source_file varchar, "
                f"record_number bigint, record_position varchar, raw_record varchar, {cols})")
        if self.pii is not None:
            self._register_pii_functions()

    def _register_pii_functions(self) -> None:
        """``ugc_pii_<kind>(value)`` and ``ugc_pii_record_<table>(json text)``: vectorised UDFs."""
        pii = self.pii

        def per_value(fn):
            def call(values: pa.Array) -> pa.Array:
                return pa.array([fn(v) for v in values.to_pylist()], pa.string())
            return call

        def per_record(paths):
            def call(values: pa.Array) -> pa.Array:
                return pa.array(pii.records(paths, values.to_pylist()), pa.string())
            return call

        for kind in KINDS:
            self.con.create_function(f"ugc_pii_{kind}", per_value(lambda v, k=kind: pii.apply(k, v)),
                                     [VARCHAR], VARCHAR, type="arrow")
        for i, table in enumerate(self.source.tables):
            paths = table.personal_paths()
            if paths:
                self.con.create_function(f"ugc_pii_record_{i}", per_record(paths), [VARCHAR], VARCHAR, type="arrow")

    def _pii_column(self, table: RawTable, column: Column, expr: str) -> str:
        kind = table.personal_columns().get(column.name) if self.pii is not None else None
        return f"ugc_pii_{kind}({expr})" if kind else expr

    def _pii_record(self, table: RawTable, expr: str) -> str:
        if self.pii is None or not table.personal_paths():
            return expr
        return f"ugc_pii_record_{self.source.tables.index(table)}({expr})"

    def close(self) -> None:
        self.con.close()

    # -- reading -----------------------------------------------------------------------------
    @staticmethod
    def check_files(source: Source, files: list[LandedFile]) -> dict[str, list[LandedFile]]:
        """The files by format; a file of an unexpected type, or empty, fails the delivery."""
        by_format: dict[str, list[LandedFile]] = {}
        for file in files:
            fmt = _file_format(source, file)
            if file.size == 0:
                raise DeliveryError(f"{file.name}: the file is empty")
            by_format.setdefault(fmt, []).append(file)
        return by_format

    def add_files(self, files: list[LandedFile]) -> None:
        """Parse every file of the delivery: JSON pages in one read, NDJSON and CSV file by file."""
        by_format = self.check_files(self.source, files)
        for fmt, group in sorted(by_format.items()):
            if fmt == "csv":
                for file in group:
                    self._add_csv(file)
            elif fmt == "ndjson":
                self._read_ndjson(group)
                self._flatten_docs(fmt)
            else:
                self._read_docs(group)
                self._check_pages()
                self._flatten_docs(fmt)

    def _read_bytes(self, file: LandedFile) -> bytes:
        with self.landing.filesystem().open(file.path, "rb") as fh:
            return fh.read()

    def _read_text(self, file: LandedFile, header_first: bool) -> str:
        """The file as text: UTF-8, with or without a BOM; anything else names the byte and line."""
        data = self._read_bytes(file)
        start = 3 if data.startswith(codecs.BOM_UTF8) else 0
        try:
            return data[start:].decode("utf-8")
        except UnicodeDecodeError as exc:
            pos = exc.start + start
            line = _line_of(data, pos)
            where = "of the header" if header_first and line == 1 else f"on line {line}"
            raise DeliveryError(f"{file.name}: is not UTF-8 (byte {pos} {where})") from None

    def _reject(self, table: RawTable, file: LandedFile, number: int, line: int, reason: str, text: str) -> None:
        """Set a record aside: its raw is the delivered text of its lines, as a JSON string."""
        self.rejects[table.name].append((file.name, number, f"line {line}", reason, json.dumps(text, ensure_ascii=False)))

    # -- JSON pages --------------------------------------------------------------------------
    def _read_docs(self, files: list[LandedFile]) -> None:
        """All documents of the JSON files (several concatenated documents allowed) in one read."""
        # Pages of any size: DuckDB refuses a document over "maximum_object_size" (16 MiB by default).
        max_size = max([DUCKDB_MAX_OBJECT, *(f.size + 1 for f in files)])
        query = (
            "create or replace temp table docs as "
            "select f.name, row_number() over (partition by t.filename order by t.ordinality) as doc_number, "
            "       count(*) over (partition by t.filename) as docs_in_file, t.json as doc "
            "from read_json_objects($paths, format='unstructured', filename=true, maximum_object_size=$max) "
            "     with ordinality as t "
            "join delivery_files as f on f.path = t.filename")
        self.con.execute("create or replace temp table delivery_files (path varchar, name varchar)")
        self.con.executemany("insert into delivery_files values (?, ?)", [(f.path, f.name) for f in files])
        try:
            self.con.execute(query, {"paths": [f.path for f in files], "max": max_size})
        except duckdb.Error:
            # Find the file DuckDB could not read, to name it.
            for file in files:
                try:
                    self.con.execute("select count(*) from read_json_objects($p, format='unstructured', "
                                     "maximum_object_size=$max)", {"p": file.path, "max": max_size})
                except duckdb.Error as exc:
                    detail = _json_error_detail(exc, file, self._read_bytes(file))
                    raise DeliveryError(f"{file.name}: cannot be read as json: {detail}") from None
            raise
        empty = self.con.execute(
            "select name from delivery_files where name not in (select name from docs) order by name").fetchall()
        if empty:
            raise DeliveryError(f"{empty[0][0]}: holds no JSON document")

    def _check_pages(self) -> None:
        """Every page has the shape its source declares; else the file is not a page of it."""
        shape = self.source.page or PageShape(f"a {self.source.name} page")
        paths = sorted({t.records_path for t in self.source.tables if t.records_path} | set(shape.required))
        # each JSON function parses the (multi-MB) page again: the types of the page and of every
        # path in one call; the page's keys only for the page that needs them
        page_types = "json_type(doc, [" + ", ".join(sql_literal(p) for p in ["$", *paths]) + "])"
        error = f"json_extract(doc, {sql_literal(shape.error_path)})" if shape.error_path else "null"
        kind = "json_extract_string(doc, '$.kind')" if any(t.kind for t in self.source.tables) else "null"
        rows = self.con.execute(
            f"select name, doc_number, docs_in_file, {page_types}, cast({error} as varchar), {kind} "
            "from docs order by name, doc_number").fetchall()
        for name, number, in_file, (top, *types), err, kind_value in rows:
            where = f"{name}: document {number}" if in_file > 1 else name
            if top != "OBJECT":
                raise DeliveryError(f"{where}: not {shape.what}: the file holds a JSON {_json_kind(top)}, "
                                    "not an object")
            if err is not None:
                self._check_api_error(where, shape, json.loads(err))
            if any(t.kind for t in self.source.tables):
                table = self.source.table_for_kind(kind_value)
                if table is None:
                    raise DeliveryError(f"{name}: unknown payload kind {kind_value!r} for source {self.source.name}")
            else:
                table = self.source.tables[0]
            found = dict(zip(paths, types, strict=True))
            for path in shape.required:
                if found[path] is None:
                    raise DeliveryError(f"{where}: not {shape.what}: it has no {path}")
            records = table.records_path
            if records is None:
                continue
            if found[records] is None:
                if not shape.records_optional:
                    raise DeliveryError(f"{where}: not {shape.what}: it has no {records} array")
                keys = self.con.execute("select json_keys(doc) from docs where name = $name and doc_number = $n",
                                        {"name": name, "n": number}).fetchall()[0][0] if shape.page_keys else []
                if shape.page_keys and set(keys) - set(shape.page_keys) - {records.split(".")[1]}:
                    raise DeliveryError(f"{where}: not {shape.what}: it has no {records} array, and fields "
                                        f"other than {', '.join(shape.page_keys)}")
            elif found[records] != "ARRAY":
                raise DeliveryError(f"{where}: not {shape.what}: {records} is a JSON {_json_kind(found[records])}, "
                                    "not an array")

    @staticmethod
    def _check_api_error(where: str, shape: PageShape, err: object) -> None:
        """The platform's error object: fine when its code means success, else the file fails
        with the platform's code and message."""
        if isinstance(err, dict):
            code, message = err.get("code"), err.get("message")
            kind = err.get("type") or err.get("status") or err.get("error_type")
        else:  # a bare value ({"error": "invalid_grant"})
            code, message, kind = None, err, None
            if str(err) in shape.ok_codes:
                return
        if code is not None and str(code) in shape.ok_codes:
            return
        if code is None and not message and not kind:
            return  # an empty error object ({} or null) reports nothing
        said = []
        if code is not None:
            said.append(f"code {_one_line(code, 60)}" + (f" ({_one_line(kind, 60)})" if kind else ""))
        elif kind:
            said.append(_one_line(kind, 60))
        if message:
            said.append(f'"{_one_line(message)}"')
        raise DeliveryError(f"{where}: the API returned an error instead of {shape.what}: {': '.join(said)}")

    # -- NDJSON ------------------------------------------------------------------------------
    def _read_ndjson(self, files: list[LandedFile]) -> None:
        """One document per line of the NDJSON files. A line that is not a JSON object is set
        aside with its line number; a last line cut in the middle (no line break after it)
        means the transfer stopped: the file fails."""
        table = self.source.tables[0]
        names, numbers, lines, texts = [], [], [], []
        cut: dict[str, int] = {}  # file -> its last line, when the file does not end with a line break
        for file in files:
            text = self._read_text(file, header_first=False)
            physical = text.split("\n")
            if physical[-1] == "":
                physical.pop()  # the file ends with a line break
            elif physical:
                cut[file.name] = len(physical)
            n = 0
            for i, line in enumerate(physical, 1):
                line = line.removesuffix("\r")
                if not line.strip():
                    continue  # blank lines separate nothing
                n += 1
                names.append(file.name)
                numbers.append(n)
                lines.append(i)
                texts.append(line)
            if n == 0:
                raise DeliveryError(f"{file.name}: holds no JSON record")
        self.con.register("ndjson_lines", pa.table({
            "name": pa.array(names, pa.string()), "record_number": pa.array(numbers, pa.int64()),
            "line_number": pa.array(lines, pa.int64()), "line": pa.array(texts, pa.string())}))
        self.con.execute(
            "create or replace temp table ndjson_docs as "
            "select *, case when json_valid(line) then json_type(cast(line as json)) end as type from ndjson_lines")
        self.con.unregister("ndjson_lines")
        bad = self.con.execute(
            "select name, record_number, line_number, line, type from ndjson_docs "
            "where type is distinct from 'OBJECT' order by name, record_number").fetchall()
        for name, number, line_number, line, type_ in bad:
            if type_ is None and cut.get(name) == line_number:
                raise DeliveryError(f"{name}: cannot be read as ndjson: line {line_number}, the last line, is cut "
                                    "(malformed JSON and no line break at the end of the file)")
            if type_ is None:
                try:
                    json.loads(line)
                    why = "malformed JSON"
                except ValueError as exc:
                    why = f"malformed JSON: {exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) \
                        else "malformed JSON"
            else:
                why = f"a JSON {_json_kind(type_)}"
            file = next(f for f in files if f.name == name)
            if self.pii is not None and table.personal_paths():
                line = self.pii.record(table.personal_paths(), line)
            self._reject(table, file, number, line_number, f"the line is a JSON object (got {why})", line)
        self.con.execute(
            "create or replace temp table docs as select name, record_number as doc_number, 1 as docs_in_file, "
            "cast(line as json) as doc from ndjson_docs where type = 'OBJECT'")
        self.con.execute("drop table ndjson_docs")

    # -- flattening the documents ------------------------------------------------------------
    def _flatten_docs(self, fmt: str) -> None:
        con = self.con
        kinds: list[str | None] = [None]
        if fmt == "json" and any(t.kind for t in self.source.tables):
            kinds = sorted({r[0] for r in con.execute("select distinct json_extract_string(doc, '$.kind') from docs")
                            .fetchall()})
        for kind in kinds:
            table = self.source.table_for_kind(kind) if kind is not None else self.source.tables[0]
            where = "where json_extract_string(doc, '$.kind') = $kind" if kind is not None else ""
            params = {"kind": kind} if kind is not None else {}
            if fmt == "ndjson":
                items = f"select name, doc as item, doc, doc_number as n, 'record ' || doc_number as pos from docs {where}"
            else:
                arr = sql_literal(table.records_path + "[*]")
                # the page itself only when a column reads it (``doc`` in its SQL)
                doc = "doc, " if any(c.sql and "doc" in c.sql for c in table.columns) else ""
                items = (
                    f"select name, item, {doc}doc_number * 1000000000 + n as n, "
                    f"case when docs_in_file > 1 then 'document ' || doc_number || ' ' else '' end "
                    f"|| {sql_literal(table.records_path)} || '[' || (n - 1) || ']' as pos from ("
                    f"  select name, {doc}doc_number, docs_in_file, unnest(items) as item,"
                    f"         generate_subscripts(items, 1) as n"
                    f"  from (select *, coalesce(json_extract(doc, {arr}), []) as items from docs {where}))")
            # One JSON parse per record for every plain path; DuckDB expressions for the rest.
            plain = [c for c in table.columns if not c.sql]
            paths = "[" + ", ".join(sql_literal(_json_path(c)) for c in plain) + "]"
            index = {c.name: i + 1 for i, c in enumerate(plain)}
            exprs = ", ".join(self._pii_column(
                table, c,
                _blank_as_null(f"cast(({c.sql}) as varchar)") if c.sql else _blank_as_null(f"v[{index[c.name]}]"))
                for c in table.columns)
            cols = ", ".join(sql_ident(c.name) for c in table.columns)
            con.execute(
                f"insert into {sql_ident('parsed_' + table.name)} "
                f"(source_file, record_number, record_position, raw_record, {cols}) "
                f"select name, n, pos, {self._pii_record(table, 'cast(item as varchar)')}, {exprs} "
                f"from (select *, json_extract_string(item, {paths}) as v from ({items}))",
                params)
        con.execute("drop table docs")  # the parsed rows are all that is needed from here on

    # -- CSV ---------------------------------------------------------------------------------
    def _add_csv(self, file: LandedFile) -> None:
        """One CSV file, split into records by Python's csv module over its physical lines.

        A record is numbered by the line it starts on (the header is line 1; a line break inside
        a quoted field starts a new physical line). A record with more or fewer fields than the
        header, or with broken quoting, is set aside whole, never loaded shifted."""
        table = self.source.tables[0]
        text = self._read_text(file, header_first=True)
        first_line = next(iter(io.StringIO(text, newline="")), "")
        if not first_line.strip():
            raise DeliveryError(f"{file.name}: the CSV has no header row")
        sep = max(self.source.csv_separators, key=first_line.count)
        records = _csv_records(text, sep)
        _, _, first, error = next(records)
        if error:
            raise DeliveryError(f"{file.name}: the CSV header cannot be read: {error}")
        header = [h.strip() for h in first]
        if len(set(header)) != len(header) or any(not h for h in header):
            raise DeliveryError(f"{file.name}: the CSV header has blank or repeated column names")
        missing = [c.name for c in table.columns if c.required and (c.path or c.name) not in header]
        if missing:
            raise DeliveryError(
                f"{file.name}: the CSV header lacks required column(s) {', '.join(missing)} "
                f"({_header_shown(header)})")
        personal = {(c.path or c.name): kind for c in table.columns
                    if (kind := table.personal_columns().get(c.name))}
        personal.update({path[0]: kind for path, kind in table.personal_paths().items() if len(path) == 1})
        values: list[list[str | None]] = [[] for _ in header]
        numbers: list[int] = []
        n = 0
        for line, raw, fields, error in records:
            if error is None and len(fields) <= 1 and not "".join(fields).strip():
                continue  # a blank line
            n += 1
            if error == "unexpected end of data":
                raise DeliveryError(f"{file.name}: cannot be read as csv: a quoted field opened on line {line} "
                                    "is never closed (is the file cut?)")
            if (error is not None or len(fields) != len(header)) and self.pii is not None:
                raw = self.pii.csv_row(header, personal, raw, sep)
            if error is not None:
                self._reject(table, file, n, line, f"the row is valid CSV (got {error})", raw)
            elif len(fields) != len(header):
                self._reject(table, file, n, line,
                             f"the row has the {len(header)} fields of the header (got {len(fields)})", raw)
            else:
                numbers.append(n)
                for column, value in zip(values, fields, strict=True):
                    column.append(value if value != "" else None)
        if n == 0:
            message = f"{file.name}: holds a header but no row"
            log.warning("%s: %s", self.source.name, message)
            self.warnings[table.name].append(message)
        names = [f"c{i}" for i in range(len(header))]
        rows = pa.table({"record_number": pa.array(numbers, pa.int64()),
                         **{c: pa.array(v, pa.string()) for c, v in zip(names, values, strict=True)}})
        by_header = dict(zip(header, names, strict=True))
        cols = ", ".join(sql_ident(c.name) for c in table.columns)
        exprs = ", ".join(
            self._pii_column(table, c, _blank_as_null(sql_ident(by_header[c.path or c.name])))
            if (c.path or c.name) in by_header else "null"
            for c in table.columns)
        raw = "json_object(" + ", ".join(f"{sql_literal(h)}, {sql_ident(by_header[h])}" for h in header) + ")"
        self.con.register("csv_rows", rows)
        try:
            self.con.execute(
                f"insert into {sql_ident('parsed_' + table.name)} "
                f"(source_file, record_number, record_position, raw_record, {cols}) "
                f"select $name, record_number, 'row ' || record_number, "
                f"{self._pii_record(table, f'cast({raw} as varchar)')}, {exprs} "
                f"from csv_rows", {"name": file.name})
        finally:
            self.con.unregister("csv_rows")

    # -- result ------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """The rows parsed so far, per table."""
        return {t.name: self.con.execute(f"select count(*) from {sql_ident('parsed_' + t.name)}").fetchall()[0][0]
                for t in self.source.tables}

    def spool(self, folder: str, group: int, batches: int) -> dict[str, int]:
        """Write the rows parsed so far to Parquet and drop them (``ugc_pipeline.batches``):
        ``{folder}/{table}/group-{group}/batch={b}/*.parquet``, ``b`` the record's batch: a hash of
        its native key and version (``batch_of``), so that every occurrence of a record is
        validated in the same batch. Returns the rows written per table."""
        written = {}
        for table, count in self.counts().items():
            name = sql_ident("parsed_" + table)
            written[table] = count
            if count:
                raw = self.source_table(table)
                os.makedirs(os.path.join(folder, table), exist_ok=True)
                target = os.path.join(folder, table, f"group-{group:05d}")
                self.con.execute(
                    f"copy (select *, {batch_of(raw, batches)} as batch from {name} order by source_file, "
                    f"record_number) to {sql_literal(target)} (format parquet, partition_by (batch), "
                    "compression lz4)")
                self.con.execute(f"delete from {name}")
        return written

    def source_table(self, name: str) -> RawTable:
        return next(t for t in self.source.tables if t.name == name)

    def result(self) -> dict[str, ParsedTable]:
        """Every parsed record, in file order; checking them is ugc_pipeline.validation's job."""
        out = {}
        for table in self.source.tables:
            cols = ", ".join(sql_ident(c.name) for c in table.columns)
            arrow = self.con.sql(
                f"select source_file, record_number, record_position, raw_record, {cols} "
                f"from {sql_ident('parsed_' + table.name)} order by source_file, record_number").to_arrow_table()
            rejected = sorted(self.rejects[table.name], key=lambda r: (r[0], r[1]))
            rejects = pd.DataFrame([(f, pos, why, raw) for f, _, pos, why, raw in rejected],
                                   columns=list(REJECT_COLUMNS)) if rejected else _no_rejects()
            out[table.name] = ParsedTable(table=table, arrow=arrow, rejects=rejects,
                                          warnings=list(self.warnings[table.name]))
            if arrow.num_rows or rejected:
                log.info("%s: %s records parsed into %s, %s set aside", self.source.name, arrow.num_rows,
                         table.name, len(rejected))
        return out


_COLUMN_NAME = re.compile(r"[\w .#()/%'+-]{1,64}")


def _header_shown(header: list[str]) -> str:
    """The header's names for an error message, unless they do not look like column names (a
    file without its header row: its first row is data, and data stays out of messages)."""
    if all(_COLUMN_NAME.fullmatch(h) for h in header):
        return f"found: {', '.join(header)}"
    return f"found {len(header)} columns whose names do not look like column names: is the header row missing?"


def _csv_records(text: str, sep: str):
    """Every CSV record of ``text``: (first line, delivered text without its final line break,
    fields or None, csv error or None). Physical lines end with \\r\\n, \\n or \\r."""
    consumed: list[str] = []

    def lines():
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(lines(), delimiter=sep, quotechar='"', doublequote=True, strict=True)
    line_number = 0
    while True:
        consumed.clear()
        try:
            fields, error = next(reader), None
        except StopIteration:
            return
        except csv.Error as exc:
            fields, error = None, str(exc)
        start = line_number + 1
        line_number += len(consumed)
        raw = "".join(consumed)
        raw = raw[:-2] if raw.endswith("\r\n") else raw[:-1] if raw.endswith(("\n", "\r")) else raw
        yield start, raw, fields, error


def batch_of(table: RawTable, batches: int) -> str:
    """The SQL expression of a parsed row's batch, among ``batches``: a hash of its native key and
    version (the duplicate rule's partition, ``validation``), so that the occurrences of one
    record meet in one batch; a hash of its file and number for a table without a key."""
    columns = [*table.key, *filter(None, [table.version_column])] or ["source_file", "record_number"]
    return f"hash({', '.join(sql_ident(c) for c in columns)}) % {int(batches)}"


def file_groups(files: list[LandedFile], max_bytes: int) -> list[list[LandedFile]]:
    """The files in order, in groups of at most ``max_bytes`` (a larger file is a group alone)."""
    groups: list[list[LandedFile]] = []
    size = 0
    for file in files:
        if not groups or (size + file.size > max_bytes and groups[-1]):
            groups.append([])
            size = 0
        groups[-1].append(file)
        size += file.size
    return groups


def parse_delivery(source: Source, landing: Landing, files: list[LandedFile],
                   pseudonymiser: Pseudonymiser | None = None) -> dict[str, ParsedTable]:
    """Parse every file of one delivery; raises DeliveryError on the first unusable file."""
    parser = DeliveryParser(source, landing, pseudonymiser)
    try:
        parser.add_files(files)
        return parser.result()
    finally:
        parser.close()
