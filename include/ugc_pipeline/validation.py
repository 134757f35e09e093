"""Great Expectations (GX Core 1.x) validation of a parsed delivery, before anything is loaded.

Each raw table has one ``ExpectationSuite`` built here from its adapter's declarations (so the
suites are code, versioned with the project): required fields, castable types, ranges, allowed
values, references to the business tables, one record per native id and version within the
delivery, creation times not after the delivery day, and a non-empty table for required sources.

Each expectation is the rule itself on the column as the platform delivers it (the raw field
name), so that the Data Docs read as the rules: ``score`` is present
(``expect_column_values_to_not_be_null``), ``created_at`` matches its format
(``expect_column_values_to_match_regex``, ``FORMATS``), ``moderation_status`` is one of its values
(``expect_column_values_to_be_in_set``; a regex with ``(?i:...)`` where the case does not matter),
``sku`` is in the product catalogue (in-set against every ``products.sku`` delivered so far, an
expectation parameter), ``(id, updated_at)`` is unique (``expect_compound_columns_to_be_unique``).
Where a value must be compared (a range, the day's cutoff) or read (is ``2025-02-30`` a time?),
the expectation is on its typed copy ``<column>::<type>``, read by DuckDB from the text in the
column's format only (so a bad text fails its format and nothing else).

GX runs on a pandas DataFrame of those columns (no file is read again). Records that fail an
expectation are quarantined with its description and the offending value as delivered (the
field's raw text, never the typed copy GX compared); the rest load. Of several occurrences of one
key and version, the last one passing every other expectation loads and the other valid ones are
duplicates (an invalid one is quarantined for its own failure only). Above the source's
rejected-share threshold the delivery is considered broken: ``DeliveryError`` names the file, the
expectation and the counts.

``great_expectations`` is imported lazily: it takes seconds and is needed only inside tasks.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ugc_pipeline.parse import DeliveryError, ParsedTable, sql_ident
from ugc_pipeline.sources.base import RawTable, Rule, Source

log = logging.getLogger(__name__)
# GX logs at INFO as it imports (214 lines of "Skipping registering function ... because it is a
# closure") and as it validates: a task log would be mostly GX. Its warnings and errors still show.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

# The format each value type is delivered in: GX checks the raw text against ``regex``
# (``ExpectColumnValuesToMatchRegex``); ``core`` is the same pattern for DuckDB (RE2, full match of
# the trimmed text), which reads a typed copy only from text in the format. Surrounding spaces are
# ignored (DuckDB's ``trim``); ``\Z``, not ``$``, so that a trailing newline is not in the format.
@dataclass(frozen=True)
class Format:
    core: str
    says: str  # the format in words, as the Data Docs and the decisions state it

    @property
    def regex(self) -> str:
        return f"^ *(?:{self.core}) *\\Z"


_DIGITS = "[+-]?[0-9]{1,18}"  # at most 18 digits: always within DuckDB's bigint
FORMATS: dict[str, Format] = {
    "int": Format(_DIGITS, "an integer: digits, an optional sign (at most 18 digits)"),
    "float": Format(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?",
                    "a decimal number with a dot, optionally an exponent (1e5)"),
    "bool": Format("(?i:true|false|t|f|yes|no|y|n|1|0)", "a boolean: true/false, t/f, yes/no, y/n or 1/0, any case"),
    "timestamp": Format(
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]*)?)?)?"
        " ?(?:Z|[+-][0-9]{2}(?::?[0-9]{2}){0,2}|[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*)?",
        "an ISO 8601 date and time: YYYY-MM-DD, then hh:mm[:ss[.fraction]] after T or a space, then Z, an "
        "offset (+hh, +hhmm, +hh:mm) or a zone name (UTC, Europe/Paris); no offset means UTC"),
    "unix_seconds": Format(_DIGITS, "whole seconds since 1970-01-01 UTC (unix time)"),
    "date": Format("[0-9]{4}-[0-9]{2}-[0-9]{2}", "an ISO 8601 calendar date, YYYY-MM-DD"),
}

# Typed copies of a raw column, where GX compares values (between, the day's cutoff): named
# ``<column>::<type>``, read by DuckDB from the text in the column's format only (NULL otherwise:
# a bad text fails its format and nothing else). ``{v}`` is the trimmed text. Times are compared in
# UTC, as naive values (what pandas and GX handle everywhere). A time outside 1900-2200 is not a
# real creation time, and a text in the format may be no time at all (2025-02-30): both read as
# ``NO_TIME``, which the range expectation refuses and the day's cutoff lets pass (one reason).
NO_TIME = datetime(1800, 1, 1)
TIME_RANGE = (datetime(1900, 1, 1), datetime(2200, 12, 31, 23, 59, 59, 999999))
_SANE = ("coalesce(case when year({t}) between 1900 and 2200 then {t} end, "
         f"timestamp '{NO_TIME:%Y-%m-%d}')")
# Unix seconds from 2000-01-01 to 2200 only: 0 or less is a placeholder (1970-01-01), not a time,
# and milliseconds sent as seconds are past 2200.
UNIX_RANGE = (946684800, 7258118400)
_TYPED: dict[tuple[str, str], str] = {  # (value type, copy type) -> DuckDB expression
    ("int", "int"): "cast({v} as bigint)",
    ("float", "double"): "cast({v} as double)",
    ("unix_seconds", "int"): "cast({v} as bigint)",
    ("unix_seconds", "timestamp"): f"case when cast({{v}} as bigint) between {UNIX_RANGE[0]} and {UNIX_RANGE[1]} "
                                   "then cast(timezone('UTC', to_timestamp(cast({v} as bigint))) as timestamp) end",
    ("timestamp", "timestamp"): _SANE.replace("{t}", "cast(timezone('UTC', try_cast({v} as timestamptz)) as timestamp)"),
    ("date", "date"): _SANE.replace("{t}", "cast(try_cast({v} as date) as timestamp)"),
}
# the copy compared by a ``between`` rule, and the one the day's cutoff compares
_NUMBER = {"int": "int", "float": "double", "unix_seconds": "int"}
_TIME = {"timestamp": "timestamp", "unix_seconds": "timestamp", "date": "date"}


def _typed(column: str, copy: str) -> str:
    return f"{column}::{copy}"


@dataclass(frozen=True)
class Check:
    """One expectation of a suite and how a record failing it reads in the quarantine:
    ``<description> (<label> <text>)``, the text being the first present of the ``shown`` fields
    as delivered (the raw text, never the typed copy GX compared), or where the kept occurrence of
    a duplicate sits."""

    expectation: object  # a great_expectations Expectation, on the raw columns (or their typed copies)
    description: str  # what the quarantine's ``reasons`` and the logs say
    rule: str  # the rule as the suite and its Data Docs state it (the same every day)
    shown: tuple[str, ...] = ()  # the fields whose delivered text the reason shows; () for none
    label: str = "got"
    # the values of the expectation's ``{"$PARAMETER": name}`` fields for this delivery (the
    # suite itself is the same every day, so it is registered once per process)
    parameters: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)  # what Data Docs show beside the rule (field, kind...)


@dataclass
class Outcome:
    description: str
    unexpected: int
    success: bool


@dataclass
class ValidatedTable:
    table: RawTable
    good: pa.Table  # the rows to load: META_COLUMNS + the table's columns
    rejects: pd.DataFrame  # file, position, reasons, raw
    records_read: int
    outcomes: list[Outcome] = field(default_factory=list)
    data_docs: str | None = None

    def summary(self) -> str:
        lines = [f"{self.table.name}: {self.records_read} read, {self.good.num_rows} valid, "
                 f"{len(self.rejects)} quarantined"]
        for o in self.outcomes:
            lines.append(f"  {'ok  ' if o.success else 'FAIL'} {o.description}"
                         + (f": {o.unexpected} unexpected" if o.unexpected else ""))
        return "\n".join(lines)


# -- references -------------------------------------------------------------------------------

References = dict[str, set[str]]  # "products.sku" -> known values


def reference_names(source: Source) -> set[str]:
    return {ref for t in source.tables for r in t.rules if r.kind == "resolves" for ref in r.reference}


def load_references(engine, source: Source) -> References:
    """Every value ever delivered in the referenced business tables (raw layer); ``engine`` may
    be a connection already open."""
    from sqlalchemy import text

    from ugc_pipeline.warehouse import transaction

    out: References = {}
    with transaction(engine) as conn:
        for ref in sorted(reference_names(source)):
            table, column = ref.split(".")
            rows = conn.execute(text(f"select distinct {sql_ident(column)} from raw.{table} "
                                     f"where {sql_ident(column)} is not null")).fetchall()
            out[ref] = {r[0] for r in rows}
    return out


# -- the suite ----------------------------------------------------------------------------------

# An export for day D runs in the early hours of D+1 and may hold items created before it ran:
# a creation time counts as "after the delivery day" only past the end of D+1 (in UGC_TIMEZONE).
EXPORT_GRACE = timedelta(days=1)


def _kpi_cutoff(delivery_date: date, tz: str, is_date: bool = False) -> datetime:
    """The first creation time a delivery may NOT hold: naive UTC for timestamps; for calendar
    dates (daily facts), the day itself, compared as a date."""
    if is_date:
        return datetime.combine(delivery_date + timedelta(days=1) + EXPORT_GRACE, time(0))
    return _local_cutoff(delivery_date, tz).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _local_cutoff(delivery_date: date, tz: str) -> datetime:
    return datetime.combine(delivery_date + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz)) + EXPORT_GRACE


def _latest(delivery_date: date, tz: str, value_type: str) -> str:
    """The latest creation time a delivery may hold, in the terms its values are delivered in: a
    calendar date; else the time in ``tz`` and its UTC reading (a delivered time without an offset
    is UTC), or unix seconds."""
    if value_type == "date":
        return f"at the latest {_kpi_cutoff(delivery_date, tz, is_date=True).date() - timedelta(days=1)}"
    second = timedelta(seconds=1)
    local = _local_cutoff(delivery_date, tz) - second
    utc = _kpi_cutoff(delivery_date, tz) - second
    if value_type == "unix_seconds":
        same_terms = f"unix time {int(utc.replace(tzinfo=ZoneInfo('UTC')).timestamp())}"
    else:
        same_terms = f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    return f"at the latest {local:%Y-%m-%d %H:%M:%S} {tz}, i.e. {same_terms}"


def build_checks(table: RawTable, source: Source, delivery_date: date, tz: str,
                 references: References, days: Sequence[date] = ()) -> tuple[list[Check], list[str]]:
    """The expectations of one raw table, each the rule itself on the column as delivered (its raw
    name), and the notes on those that could not apply.

    ``days``: the suite of several deliveries validated together (``validate_tables``), their
    records told apart by the column ``DAY`` (the day's index in ``days``): the cut-off is one
    expectation per day on that day's records, and a key is unique within its delivery."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    checks: list[Check] = []
    notes: list[str] = []
    if source.required:
        checks.append(Check(gxe.ExpectTableRowCountToBeBetween(min_value=1), "the delivery holds at least one record",
                            "the delivery holds at least one record (the source is required)",
                            meta={"kind": "required source"}))
    for c in table.columns:
        if c.required:
            checks.append(Check(gxe.ExpectColumnValuesToNotBeNull(column=c.name), f"{c.name} is present",
                                f"{c.name} is present in every record", meta={"field": c.name, "kind": "required"}))
        if c.type not in FORMATS:
            continue
        valid = f"{c.name} is a valid {c.type.replace('_', ' ')}"
        fmt = FORMATS[c.type]
        checks.append(Check(gxe.ExpectColumnValuesToMatchRegex(column=c.name, regex=fmt.regex), valid,
                            f"{c.name} is {fmt.says}", shown=(c.name,),
                            meta={"field": c.name, "kind": "format", "type": c.type}))
        if c.type == "unix_seconds":
            low, high = UNIX_RANGE
            checks.append(Check(gxe.ExpectColumnValuesToBeBetween(
                column=_typed(c.name, "int"), min_value=low, max_value=high), valid,
                f"{c.name} is a time from 2000-01-01 to 2200-01-01 in unix seconds ({low} to {high}): 0 or "
                "less is a placeholder, milliseconds sent as seconds are past 2200", shown=(c.name,),
                meta={"field": c.name, "kind": "format", "type": c.type}))
        elif c.type in ("timestamp", "date"):
            # a text in the format that is no real time (2025-02-30, year 1800): its typed reading is NO_TIME
            typed = _typed(c.name, _TIME[c.type])
            checks.append(Check(gxe.ExpectColumnValuesToBeBetween(
                column=typed, min_value=TIME_RANGE[0], max_value=TIME_RANGE[1]), valid,
                f"{c.name} is a real {'time' if c.type == 'timestamp' else 'day'} from 1900 to 2200 (its UTC reading "
                f"{typed}; a text in the format that is none, like 2025-02-30, reads as {NO_TIME:%Y-%m-%d})",
                shown=(c.name,), meta={"field": c.name, "kind": "format", "type": c.type}))
    for rule in table.rules:
        col = rule.columns[0]
        meta = {"field": " or ".join(rule.columns), "kind": rule.kind}
        if rule.kind == "between":
            value_type = table.column(col).type
            typed = _typed(col, _NUMBER.get(value_type, "double"))
            checks.append(Check(gxe.ExpectColumnValuesToBeBetween(column=typed, min_value=rule.min, max_value=rule.max),
                                rule.description, f"{rule.description} (compared as a number: {typed})",
                                shown=(col,), meta=meta))
        elif rule.kind == "in_set" and not rule.ignore_case:
            checks.append(Check(gxe.ExpectColumnValuesToBeInSet(column=col, value_set=list(rule.values)),
                                rule.description, rule.description, shown=(col,), meta=meta))
        elif rule.kind == "in_set":
            # one of the values in any case, surrounding spaces ignored: a regex, the values kept as declared
            regex = "^ *(?i:" + "|".join(re.escape(v) for v in rule.values) + r") *\Z"
            checks.append(Check(gxe.ExpectColumnValuesToMatchRegex(column=col, regex=regex), rule.description,
                                f"{rule.description}, in any case", shown=(col,),
                                meta={**meta, "values": list(rule.values), "ignore_case": True}))
        elif rule.kind == "resolves":
            if not all(references.get(ref) for ref in rule.reference):
                notes.append(f"skipped '{rule.description}': {', '.join(rule.reference)} not loaded yet")
                continue
            checks += _reference_checks(rule, references, meta, Column, gxe)
    if table.created_column:
        created = table.created_column
        value_type = table.column(created).type
        for n, day in enumerate(days or [delivery_date]):
            parameter = f"{created}__cutoff" + (f"__{n}" if days else "")
            of_day = {"row_condition": Column(DAY) == n} if days else {}
            checks.append(Check(gxe.ExpectColumnValuesToBeBetween(
                column=_typed(created, _TIME[value_type]), strict_max=True, max_value={"$PARAMETER": parameter},
                **of_day),
                f"{created} is not in the future of the delivery {day} ({_latest(day, tz, value_type)})",
                f"{created} is not after the end of the delivery day: before ${parameter}, the end of the day after "
                "the delivery day in the KPI time zone (an export of day D runs in the night of D+1)"
                + (f"; for the records of delivery {n + 1} of the range" if days else ""),
                shown=(created,), parameters={parameter: _kpi_cutoff(day, tz, value_type == "date")},
                meta={"field": created, "kind": "not after the delivery day", **({"day": n} if days else {})}))
    if table.key:  # which occurrence loads is decided last, among those passing every other expectation
        key = [*([DAY] if days else []), *table.key, *filter(None, [table.version_column])]
        expectation = gxe.ExpectColumnValuesToBeUnique(column=key[0]) if len(key) == 1 else \
            gxe.ExpectCompoundColumnsToBeUnique(column_list=key)
        checks.append(Check(
            expectation, f"{'+'.join(table.key)} {DUPLICATE}",
            f"({', '.join(k for k in key if k != DAY)}) is unique in the delivery: of several occurrences of one "
            f"{'key and version' if table.version_column else 'key'}, the last one passing every other expectation "
            "loads, the other valid ones are quarantined as duplicates", shown=(_KEPT,), label="kept",
            meta={"field": ", ".join(k for k in key if k != DAY), "kind": "unique"}))
    return checks, notes


# The column telling apart the deliveries of a range validated together (``validate_tables``).
DAY = "__delivery"



# How a duplicate's reason reads (after its key); the reason shows where the kept occurrence sits.
DUPLICATE = "appears once per version in the delivery (the last valid occurrence is kept)"
_KEPT = "\x00kept"  # Check.shown of the duplicate check: where the kept occurrence sits, not a field


def _reference_checks(rule: Rule, references: References, meta: dict, Column, gxe) -> list[Check]:  # noqa: N803
    """A reference as in-set expectations against the business table's keys (an expectation
    parameter: the suite stays the same when the catalogue grows). With several columns, the rule
    passes when any present one resolves: the first present one is checked, if none of the later
    ones resolves (``product_id in products.sku``, unless ``gtin`` is in ``products.gtin``; ``gtin``
    where ``product_id`` is blank)."""
    checks = []
    for i, (column, ref) in enumerate(zip(rule.columns, rule.reference, strict=True)):
        conditions = [Column(c).is_null() for c in rule.columns[:i]]
        conditions += [Column(c).is_not_in(sorted(references[r]))
                       for c, r in zip(rule.columns[i + 1:], rule.reference[i + 1:], strict=True)]
        condition = None
        for one in conditions:
            condition = one if condition is None else condition & one
        kwargs = {"row_condition": condition} if condition is not None else {}
        stated = f"{column} in {ref}"
        if len(rule.columns) > 1:
            later = [f"{c} is not in {r}" for c, r in zip(rule.columns[i + 1:], rule.reference[i + 1:], strict=True)]
            stated += " where " + " and ".join([*(f"{c} is blank" for c in rule.columns[:i]), *later])
        parameter = ref.replace(".", "__")  # a parameter name is an identifier
        checks.append(Check(gxe.ExpectColumnValuesToBeInSet(column=column, value_set={"$PARAMETER": parameter},
                                                            **kwargs),
                            rule.description, f"{stated} (every {ref} delivered so far)",
                            shown=(column,), parameters={parameter: sorted(references[ref])},
                            meta={**meta, "reference": ref}))
    return checks


# -- the frame GX validates -------------------------------------------------------------------

def check_frame(table: RawTable, arrow: pa.Table, checks: list[Check]) -> pd.DataFrame:
    """The columns the expectations read, in the rows' order: the raw text of each field, as
    delivered, and the typed copies (``<column>::<type>``) that ranges and the day's cutoff compare,
    read by DuckDB from text in the column's format only."""
    read: set[str] = set()
    for check in checks:
        e = check.expectation
        read |= set(getattr(e, "column_list", None) or [getattr(e, "column", None)])
        read |= _condition_columns(getattr(e, "row_condition", None))
    read.discard(None)
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.register("parsed", arrow.drop_columns(["raw_record"]))
        exprs = []
        for c in table.columns:
            v = sql_ident(c.name)
            if c.name in read:
                exprs.append(v)
            for (value_type, copy), sql in _TYPED.items():
                if _typed(c.name, copy) in read and value_type == c.type:
                    in_format = f"regexp_full_match(trim({v}), '{FORMATS[c.type].core}')"
                    exprs.append(f"case when {in_format} then {sql.format(v=f'trim({v})')} end "
                                 f"as {sql_ident(_typed(c.name, copy))}")
            if c.type not in FORMATS and _typed(c.name, "double") in read:  # a range on a text column
                exprs.append(f"try_cast(trim({v}) as double) as {sql_ident(_typed(c.name, 'double'))}")
        if DAY in read:
            exprs.append(sql_ident(DAY))
        frame = con.sql(f"select {', '.join(exprs)} from parsed").df()
    finally:
        con.close()
    # DuckDB gives times as datetime64[us]; GX's pandas engine compares only datetime64[ns] columns
    # vectorised (anything else value by value in Python: a third of a batch's validation). The
    # typed times are 1800 to 2200 (``_SANE``, ``UNIX_RANGE``), within nanoseconds' range.
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]":
            frame[name] = frame[name].astype("datetime64[ns]")
    return frame


def _condition_columns(condition) -> set[str]:
    if condition is None:
        return set()
    if hasattr(condition, "conditions"):
        return set().union(*(_condition_columns(c) for c in condition.conditions))
    return {condition.column.name}


def _parameter(value, parameters: dict):
    """A ``{"$PARAMETER": name}`` field's value for this delivery (else the value itself)."""
    if isinstance(value, dict) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value


def _condition(condition, frame: pd.DataFrame) -> pd.Series:
    """The rows a GX row condition (``Column(...).is_null()``, ``is_not_in``, ``&``) keeps."""
    from great_expectations.expectations.row_conditions import AndCondition, ComparisonCondition, NullityCondition

    if isinstance(condition, AndCondition):
        kept = pd.Series(True, index=frame.index)
        for one in condition.conditions:
            kept &= _condition(one, frame)
        return kept
    if isinstance(condition, NullityCondition):
        nulls = frame[condition.column.name].isna()
        return nulls if condition.is_null else ~nulls
    operator = str(condition.operator) if isinstance(condition, ComparisonCondition) else None
    if operator in ("IN", "NOT_IN"):
        inside = frame[condition.column.name].isin(list(condition.parameter))
        return inside if operator == "IN" else ~inside
    if operator == "==":
        return _bools(frame[condition.column.name] == condition.parameter)
    raise TypeError(f"validation._condition does not know {condition!r}: add it")


def _unexpected(expectation, frame: pd.DataFrame, parameters: dict | None = None) -> pd.Series | None:
    """The rows an expectation of ``build_checks`` finds unexpected, computed as GX does on pandas
    (nulls are never unexpected except for "not null"; a row condition leaves rows out); None for
    a table-level one. ``validate_table`` checks that GX counted exactly these rows."""
    import great_expectations.expectations as gxe

    if isinstance(expectation, gxe.ExpectTableRowCountToBeBetween):
        return None
    if isinstance(expectation, gxe.ExpectCompoundColumnsToBeUnique):  # ignore_row_if: all_values_are_missing
        columns = frame[list(expectation.column_list)]
        return _bools(columns.notna().any(axis=1) & columns.duplicated(keep=False))
    values = frame[expectation.column]
    if isinstance(expectation, gxe.ExpectColumnValuesToNotBeNull):
        unexpected = values.isna()
    elif isinstance(expectation, gxe.ExpectColumnValuesToBeUnique):
        unexpected = values.notna() & values.duplicated(keep=False)
    elif isinstance(expectation, gxe.ExpectColumnValuesToBeInSet):
        unexpected = values.notna() & ~values.isin(list(_parameter(expectation.value_set, parameters or {})))
    elif isinstance(expectation, gxe.ExpectColumnValuesToMatchRegex):
        unexpected = values.notna() & ~values.astype(str).str.contains(expectation.regex)
    elif isinstance(expectation, gxe.ExpectColumnValuesToBeBetween):
        unexpected = pd.Series(False, index=frame.index)
        low, high = (_parameter(expectation.min_value, parameters or {}),
                     _parameter(expectation.max_value, parameters or {}))
        if low is not None:
            unexpected |= _bools((values <= low) if expectation.strict_min else (values < low))
        if high is not None:
            unexpected |= _bools((values >= high) if expectation.strict_max else (values > high))
    else:
        raise TypeError(f"validation._unexpected does not know {type(expectation).__name__}: add it")
    if expectation.row_condition is not None:
        unexpected &= _condition(expectation.row_condition, frame)
    return _bools(unexpected)


def _bools(series: pd.Series) -> pd.Series:
    """Plain booleans, NA (a comparison with a null) as False."""
    return series.fillna(False).astype(bool)


def _is_unique_check(check: Check) -> bool:
    return check.shown == (_KEPT,)


def _duplicates(table: RawTable, arrow: pa.Table, failing: pd.Series) -> list[str | None]:
    """Where the kept occurrence sits, for each duplicate (None for every other row): among the
    occurrences of one key and version that pass every other expectation, every one but the last
    (file name, then position) is a duplicate of the last one, named by its position (and its file
    when it sits in another one). An invalid occurrence is never a duplicate, nor ever kept."""
    con = duckdb.connect()
    try:
        con.register("parsed", arrow.drop_columns(["raw_record"]).append_column(
            "__failing", pa.array(failing.to_numpy(dtype=bool))).append_column(
            "__row", pa.array(range(arrow.num_rows), pa.int64())))
        by_day = [DAY] if DAY in arrow.column_names else []  # several deliveries: unique within each
        partition = ", ".join(sql_ident(k) for k in [*by_day, *table.key, *filter(None, [table.version_column])])
        kept_file, kept_position = "first_value(source_file) over w", "first_value(record_position) over w"
        rows = con.sql(
            f"select case when not __failing and row_number() over w > 1 then "
            f"  case when {kept_file} = source_file then {kept_position} else {kept_file} || ' ' || {kept_position} end "
            f"end from parsed "
            f"window w as (partition by {partition}, __failing order by source_file desc, record_number desc) "
            f"order by __row").fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


# -- running GX -------------------------------------------------------------------------------

# GX contexts and registered checkpoints, once per process: the context (file-backed under
# UGC_GX_DIR, else in memory) by folder; a table's checkpoint by its suite's content, which is the
# same every day (the day's values are expectation parameters).
_CONTEXTS: dict[str, object] = {}
_CHECKPOINTS: dict[tuple, object] = {}


def _gx_context(gx_dir: str | None):
    """The process's GX context: file-backed under ``gx_dir`` (suites, results and Data Docs),
    else in memory."""
    key = gx_dir or ""
    if key in _CONTEXTS:
        return _CONTEXTS[key]
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=gx_dir) if gx_dir else gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    _CONTEXTS[key] = context
    return context


@contextmanager
def _project_lock(gx_dir: str | None):
    """GX's file project (great_expectations.yml, stores, Data Docs) is not safe for concurrent
    writers: tasks validating in parallel (Celery, LocalExecutor) take turns on it."""
    if not gx_dir:
        yield
        return
    Path(gx_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(gx_dir) / ".ugc-validation.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_suite(table: RawTable, checks: list[Check], frame: pd.DataFrame, gx_dir: str | None,
              run_name: str) -> list:
    """Run the table's suite on the frame; returns the per-expectation results, in the checks'
    order. The validation result is stored under ``gx_dir``; the Data Docs are built from the
    stored results by ``build_data_docs`` (once per DAG run, not once per table)."""
    import great_expectations as gx

    parameters = {k: v for c in checks for k, v in c.parameters.items()}
    with _project_lock(gx_dir):
        context = _gx_context(gx_dir)
        for attempt in (1, 2):
            checkpoint = _checkpoint(gx, context, table, checks, gx_dir, fresh=attempt == 2)
            try:
                result = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters,
                                        run_id=gx.core.run_identifier.RunIdentifier(run_name=run_name))
                break
            except (gx.exceptions.ResourceFreshnessAggregateError, gx.exceptions.ResourceFreshnessError):
                # another process (or another variant of this suite) registered it since: again
                if attempt == 2:
                    raise
    results = [r for run in result.run_results.values() for r in run.results]
    return sorted(results, key=lambda r: r.expectation_config.meta["check"])


def _checkpoint(gx, context, table: RawTable, checks: list[Check], gx_dir: str | None, fresh: bool):
    """The table's checkpoint (data source, suite, validation definition), registered once per
    process for a suite's content."""
    import json

    for i, check in enumerate(checks):
        check.expectation.description = check.rule
        check.expectation.meta = {"check": i, **check.meta}
    content = json.dumps([c.expectation.configuration.to_json_dict() for c in checks], sort_keys=True, default=str)
    key = (gx_dir or "", table.name, content)
    if not fresh and key in _CHECKPOINTS:
        return _CHECKPOINTS[key]
    try:  # get, not add_or_update: replacing the data source would make every table's checkpoint stale
        datasource = context.data_sources.get("ugc_landing")
    except (KeyError, LookupError, ValueError):
        datasource = context.data_sources.add_pandas("ugc_landing")
    try:
        asset = datasource.get_asset(table.name)
    except (LookupError, ValueError):
        asset = datasource.add_dataframe_asset(table.name)
    try:
        batch_definition = asset.get_batch_definition("delivery")
    except (KeyError, LookupError, ValueError):
        batch_definition = asset.add_batch_definition_whole_dataframe("delivery")
    # a range of N deliveries validated together has a suite of its own (one cut-off per day):
    # registering it under the daily suite's name would make the daily checkpoint stale
    days = sum(1 for c in checks if "day" in c.meta)
    name = f"ugc.{table.name}" + (f".range{days}" if days else "")
    suite = context.suites.add_or_update(gx.ExpectationSuite(
        name=name, expectations=[c.expectation for c in checks],
        meta={"source": "generated by ugc_pipeline.validation.build_checks from the adapter"}))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=[definition], actions=[],
        result_format={"result_format": "BASIC", "partial_unexpected_count": 0}))
    _CHECKPOINTS[key] = checkpoint
    return checkpoint


def data_docs_url(gx_dir: str | None) -> str | None:
    """Where the Data Docs of ``gx_dir`` are (their index page), built or not yet."""
    if not gx_dir:
        return None
    return (Path(gx_dir) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").resolve().as_uri()


def build_data_docs(gx_dir: str | None) -> str | None:
    """Build the GX Data Docs under ``gx_dir`` from every stored validation result (what the
    DAGs' ``data_docs`` task does once per run, whatever the sources' outcome)."""
    if not gx_dir:
        return None
    with _project_lock(gx_dir):
        _gx_context(gx_dir).build_data_docs()
    return data_docs_url(gx_dir)


class _Shown:
    """The text a reason shows for a check on one row: the first present of its ``shown`` fields
    as delivered (the parsed raw text), or where the kept occurrence of a duplicate sits."""

    def __init__(self, arrow: pa.Table, kept: list[str | None]):
        self.arrow = arrow
        self.columns: dict[str, list] = {_KEPT: kept}

    def __call__(self, check: Check, row: int) -> str | None:
        for name in check.shown:
            if name not in self.columns:
                self.columns[name] = self.arrow.column(name).to_pylist()
            if self.columns[name][row] is not None:
                return str(self.columns[name][row])
        return None


def validate_table(source: Source, parsed: ParsedTable, delivery_date: date, tz: str,
                   references: References, gx_dir: str | None, run_name: str) -> ValidatedTable:
    """One raw table of one delivery through its GX suite: what loads, what is quarantined and why."""
    return validate_tables(source, [parsed], [delivery_date], tz, references, gx_dir, run_name)[0]


def validate_tables(source: Source, parsed: Sequence[ParsedTable], days: Sequence[date], tz: str,
                    references: References, gx_dir: str | None, run_name: str) -> list[ValidatedTable]:
    """One raw table of several deliveries of a source (``days``, a backfill) in one GX validation:
    GX's cost is per expectation, not per record, so a range pays it once. Each delivery comes
    out as ``validate_table`` gives it alone: the same rows load, the same records are quarantined
    with the same reasons (the day's cut-off on the day's records, duplicates within the delivery).
    A required source is validated one delivery at a time (its row count is per delivery)."""
    table = parsed[0].table
    out: list[ValidatedTable | None] = [None] * len(parsed)
    todo = []
    for i, one in enumerate(parsed):
        if one.arrow.num_rows == 0 and not source.required:  # nothing delivered for this table: nothing to check
            out[i] = ValidatedTable(table=table, good=one.arrow.drop_columns(["raw_record"]),
                                    rejects=one.rejects.copy(), records_read=one.records_read)
        else:
            todo.append(i)
    if not todo:
        return out
    if len(todo) > 1 and source.required:
        return [out[i] or validate_tables(source, [parsed[i]], [days[i]], tz, references, gx_dir, run_name)[0]
                for i in range(len(parsed))]
    ranged = [days[i] for i in todo] if len(todo) > 1 else []
    checks, notes = build_checks(table, source, days[todo[0]], tz, references, days=ranged)
    for note in notes:
        log.warning("%s: %s", table.name, note)
    if ranged:
        arrow = pa.concat_tables([parsed[i].arrow.append_column(DAY, pa.array([n] * parsed[i].arrow.num_rows,
                                                                               pa.int32()))
                                  for n, i in enumerate(todo)], promote_options="default")
    else:
        arrow = parsed[todo[0]].arrow
    frame = check_frame(table, arrow, checks)
    results = run_suite(table, checks, frame, gx_dir, run_name)
    docs = data_docs_url(gx_dir)

    # GX counts the failing records (result format BASIC: it does not list them, which costs a
    # third of its time); which ones they are is what GX's rule selects on the same frame, and the
    # counts must agree (else a record could be lost)
    unexpected = []
    for check, res in zip(checks, results, strict=True):
        rows = _unexpected(check.expectation, frame, check.parameters)
        count = int((res.result or {}).get("unexpected_count") or 0)
        if rows is not None and count != int(rows.sum()):
            raise RuntimeError(f"{table.name}: GX found {count} records failing '{check.rule}', "
                               f"validation._unexpected {int(rows.sum())} (on which the quarantine rests)")
        unexpected.append(rows)
    failing = pd.Series(False, index=frame.index)
    for check, rows in zip(checks, unexpected, strict=True):
        if rows is not None and not _is_unique_check(check):
            failing |= rows
    # of the occurrences the uniqueness expectation finds, the duplicates: every valid one but the last
    kept = _duplicates(table, arrow, failing) if table.key else [None] * arrow.num_rows
    shown = _Shown(arrow, kept)

    reasons: dict[int, list[str]] = {}
    table_failures = []
    for check, res, rows in zip(checks, results, unexpected, strict=True):
        description = check.description
        if rows is None:
            if not res.success:
                table_failures.append(description)  # a table-level expectation
            continue
        if _is_unique_check(check):
            duplicates = pd.Series([k is not None for k in kept], index=frame.index)
            if (duplicates & ~rows).any():
                raise RuntimeError(f"{table.name}: a duplicate that GX did not find not unique")
            rows = duplicates
        for idx in (int(i) for i in rows[rows].index):
            text = shown(check, idx)
            reason = f"{description} ({check.label} {text})" if text is not None else description
            if reason not in reasons.setdefault(idx, []):  # a format and its reading fail together
                reasons[idx].append(reason)

    if table_failures:
        one = parsed[todo[0]]
        first = one.arrow.column("source_file")[0].as_py() if one.arrow.num_rows else f"{source.name}/{days[todo[0]]}"
        raise DeliveryError(f"{first}: failed expectation(s): {'; '.join(table_failures)}")

    bad = np.zeros(arrow.num_rows, dtype=bool)
    bad[sorted(reasons)] = True
    day_of = arrow.column(DAY).to_numpy() if ranged else np.zeros(arrow.num_rows, dtype=np.int32)
    for n, i in enumerate(todo):
        of_day = day_of == n
        taken = np.flatnonzero(of_day & bad)
        good = arrow.filter(pa.array(of_day & ~bad)).drop_columns([c for c in ("raw_record", DAY) if c in
                                                                   arrow.column_names])
        rows_taken = arrow.take(pa.array(taken, pa.int64()))
        rejects = pd.DataFrame({
            "file": rows_taken.column("source_file").to_pylist(),
            "position": rows_taken.column("record_position").to_pylist(),
            "reasons": ["; ".join(reasons[int(r)]) for r in taken],
            "raw": rows_taken.column("raw_record").to_pylist(),
        })
        one = parsed[i]
        if len(one.rejects):  # the records the parse set aside (malformed rows and lines) first, by file
            rejects = pd.concat([one.rejects, rejects] if len(rejects) else [one.rejects], ignore_index=True)
            rejects = rejects.sort_values("file", kind="stable", ignore_index=True)
        # the log's summary states the rules as the Data Docs do (the cutoff with the day's limit)
        outcomes = []
        for check, res, rows in zip(checks, results, unexpected, strict=True):
            if check.meta.get("day", n) != n:  # another day's cut-off
                continue
            count = int((res.result or {}).get("unexpected_count") or 0) if rows is None or not ranged \
                else int(rows[of_day].sum())
            outcomes.append(Outcome(check.description if check.parameters and "reference" not in check.meta
                                    else check.rule, count, bool(res.success) if not ranged else count == 0))
        out[i] = ValidatedTable(table=table, good=good, rejects=rejects, records_read=one.records_read,
                                outcomes=outcomes, data_docs=docs)
    return out


# Where a reason's expectation ends and the text it shows begins (Check.label).
_SHOWN_TEXT = re.compile(r" \((?:got|kept) ")


def check_rejected_share(source: Source, validated: dict[str, ValidatedTable], threshold: float) -> None:
    """A delivery with too many bad records is broken: stop before anything loads."""
    read = sum(v.records_read for v in validated.values())
    rejected = sum(len(v.rejects) for v in validated.values())
    if not read or rejected / read <= threshold:
        return
    counts: Counter[str] = Counter()
    first = None
    for v in validated.values():
        for row in v.rejects.itertuples():
            first = first or f"{row.file} {row.position}"
            for reason in row.reasons.split("; "):
                counts[_SHOWN_TEXT.split(reason, maxsplit=1)[0]] += 1
    top = ", ".join(f"'{r}' ({n})" for r, n in counts.most_common(3))
    raise DeliveryError(
        f"{first}: {rejected} of {read} records ({rejected / read:.0%}) failed their expectations, over the "
        f"{threshold:.0%} threshold for {source.name}; most failed: {top}")
