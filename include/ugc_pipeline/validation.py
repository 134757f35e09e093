"""Great Expectations (GX Core 1.x) validation of a parsed delivery, before anything is loaded.

Each raw table has one ``ExpectationSuite`` built here from its adapter's declarations (so the
suites are code, versioned with the project): required fields, castable types, ranges, allowed
values, references to the business tables, one record per native id and version within the
delivery, creation times not after the delivery day, and a non-empty table for required sources.

GX runs on a pandas DataFrame prepared set-based by DuckDB from the parsed rows (no file is read
again): for every typed column its value (``<col>__value``) and its unparseable text
(``<col>__unparseable``), lower-cased copies for case-insensitive sets, the unresolved value of
each reference, and a duplicate marker, set last: of several occurrences of one key and version,
the last one passing every other expectation loads and the other valid ones are duplicates (an
invalid one is quarantined for its own failure only). Records that fail an expectation are
quarantined with the expectation's description and the offending value as delivered (the field's
raw text, never the typed value GX compared); the rest load. Above the source's rejected-share
threshold the delivery is considered broken: ``DeliveryError`` names the file, the expectation and the counts.

``great_expectations`` is imported lazily: it takes seconds and is needed only inside tasks.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa

from ugc_pipeline.parse import DeliveryError, ParsedTable, sql_ident
from ugc_pipeline.sources.base import RawTable, Rule, Source

log = logging.getLogger(__name__)
# GX logs at INFO as it imports (214 lines of "Skipping registering function ... because it is a
# closure") and as it validates: a task log would be mostly GX. Its warnings and errors still show.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

_INT = "case when regexp_full_match(trim({v}), '[+-]?[0-9]+') then try_cast(trim({v}) as bigint) end"
# A time outside 1900-2200 is not a real creation time (e.g. milliseconds sent as seconds).
_SANE = "case when year({t}) between 1900 and 2200 then {t} end"
_VALUE = {
    "int": _INT,  # '4.5' is not an int (try_cast would round it)
    "float": "try_cast(trim({v}) as double)",
    "bool": "try_cast(trim({v}) as boolean)",
    # Timestamps are compared in UTC, as naive values (what pandas and GX handle everywhere).
    "timestamp": _SANE.format(t="cast(timezone('UTC', try_cast(trim({v}) as timestamptz)) as timestamp)"),
    # Seconds from 2000-01-01 to 2200 only: 0 or less is a placeholder (1970-01-01), not a time, and
    # milliseconds sent as seconds would overflow.
    "unix_seconds": "case when (" + _INT + ") between 946684800 and 7258118400 "
                    "then cast(timezone('UTC', to_timestamp(" + _INT + ")) as timestamp) end",
    "date": _SANE.format(t="cast(try_cast(trim({v}) as date) as timestamp)"),
}


@dataclass(frozen=True)
class Check:
    """One expectation of a suite, with the frame column it reads and how a failure reads:
    ``<description> (<label> <text>)``, the text being the first present of the ``shown`` fields
    as delivered (the raw text, not the typed value GX compared), or a derived frame column."""

    expectation: object  # a great_expectations Expectation
    description: str  # what the quarantine's ``reasons`` and the logs say
    shown: tuple[str, ...] = ()  # the fields whose delivered text the reason shows; () for none
    label: str = "got"
    # the values of the expectation's ``{"$PARAMETER": name}`` fields for this delivery (the
    # suite itself is the same every day, so it is registered once per process)
    parameters: dict = field(default_factory=dict)
    # the rule as the GX suite and its Data Docs state it, when ``description`` names the day
    rule: str | None = None


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
                 references: References) -> tuple[list[Check], list[str]]:
    """The expectations of one raw table, and the notes on those that could not apply."""
    import great_expectations.expectations as gxe

    checks: list[Check] = []
    notes: list[str] = []
    if source.required:
        checks.append(Check(gxe.ExpectTableRowCountToBeBetween(min_value=1),
                            "the delivery holds at least one record"))
    for c in table.columns:
        if c.required:
            checks.append(Check(gxe.ExpectColumnValuesToNotBeNull(column=c.name), f"{c.name} is present"))
        if c.type in _VALUE:
            checks.append(Check(gxe.ExpectColumnValuesToBeNull(column=f"{c.name}__unparseable"),
                                f"{c.name} is a valid {c.type.replace('_', ' ')}", shown=(c.name,)))
    for rule in table.rules:
        col = rule.columns[0]
        if rule.kind == "between":
            typed = f"{col}__value" if table.column(col).type in _VALUE else f"{col}__number"
            checks.append(Check(gxe.ExpectColumnValuesToBeBetween(
                column=typed, min_value=rule.min, max_value=rule.max), rule.description, shown=(col,)))
        elif rule.kind == "in_set":
            values = [v.lower() for v in rule.values] if rule.ignore_case else list(rule.values)
            column = f"{col}__lower" if rule.ignore_case else col
            checks.append(Check(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=values), rule.description,
                                shown=(col,)))
        elif rule.kind == "resolves":
            if all(references.get(ref) for ref in rule.reference):
                checks.append(Check(gxe.ExpectColumnValuesToBeNull(column=_unresolved(rule)), rule.description,
                                    shown=rule.columns))
            else:
                notes.append(f"skipped '{rule.description}': {', '.join(rule.reference)} not loaded yet")
    if table.created_column:
        value_type = table.column(table.created_column).type
        parameter = f"{table.created_column}__cutoff"
        checks.append(Check(gxe.ExpectColumnValuesToBeBetween(
            column=f"{table.created_column}__value", strict_max=True, max_value={"$PARAMETER": parameter}),
            f"{table.created_column} is not in the future of the delivery {delivery_date} "
            f"({_latest(delivery_date, tz, value_type)})", shown=(table.created_column,),
            parameters={parameter: _kpi_cutoff(delivery_date, tz, value_type == "date")},
            rule=f"{table.created_column} is not in the future of the delivery day (before ${parameter}: the end "
                 "of the day after it in the KPI time zone, as an export of day D runs in the night of D+1)"))
    if table.key:  # decided last, among the occurrences that pass every other expectation (check_frame)
        checks.append(Check(gxe.ExpectColumnValuesToBeNull(column=DUPLICATE),
                            f"{'+'.join(table.key)} appears once per version in the delivery "
                            "(the last valid occurrence is kept)", shown=(DUPLICATE,), label="kept"))
    return checks, notes


def _unresolved(rule: Rule) -> str:
    return "__unresolved_" + "_".join(rule.columns)


# The duplicate marker: where the occurrence that was kept sits (NULL for a record that is no duplicate).
DUPLICATE = "__duplicate"


# -- the frame GX validates -------------------------------------------------------------------

def check_frame(table: RawTable, arrow: pa.Table, references: References, checks: list[Check]) -> pd.DataFrame:
    """The parsed rows plus the derived columns the expectations read, in the rows' order.

    The duplicate marker comes last, from the other checks' failures: of the occurrences of one
    key and version, the last one that fails no other expectation is kept, and each other valid
    occurrence is marked with where the kept one sits. An invalid occurrence is quarantined for
    its own failure only, and never makes a valid one a duplicate (nor is it ever the one kept).
    """
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.register("parsed", arrow.drop_columns(["raw_record"]).append_column(
            "__row", pa.array(range(arrow.num_rows), pa.int64())))
        # Only what an expectation reads: required fields, in-set values, keys (not free text).
        plain = {c.name for c in table.columns if c.required}
        plain |= {r.columns[0] for r in table.rules if r.kind == "in_set" and not r.ignore_case}
        exprs = [sql_ident(c.name) for c in table.columns if c.name in plain]
        for c in table.columns:
            v = sql_ident(c.name)
            if c.type in _VALUE:
                value = _VALUE[c.type].format(v=v)
                exprs.append(f"{value} as {sql_ident(c.name + '__value')}")
                exprs.append(f"case when {v} is not null and {value} is null then {v} end "
                             f"as {sql_ident(c.name + '__unparseable')}")
        for rule in table.rules:
            col = sql_ident(rule.columns[0])
            if rule.kind == "between" and table.column(rule.columns[0]).type not in _VALUE:
                exprs.append(f"try_cast(trim({col}) as double) as {sql_ident(rule.columns[0] + '__number')}")
            elif rule.kind == "in_set" and rule.ignore_case:
                exprs.append(f"lower(trim({col})) as {sql_ident(rule.columns[0] + '__lower')}")
            elif rule.kind == "resolves" and all(references.get(r) for r in rule.reference):
                matched = []
                for column, ref in zip(rule.columns, rule.reference, strict=True):
                    name = "ref_" + ref.replace(".", "_")
                    if name not in {t[0] for t in con.execute("show tables").fetchall()}:
                        con.register(name, pa.table({"value": pa.array(sorted(references[ref]), pa.string())}))
                    # coalesce: a blank identifier resolves nothing (NULL in ... is NULL, not false)
                    matched.append(f"coalesce({sql_ident(column)} in (select value from {name}), false)")
                present = " or ".join(f"{sql_ident(c)} is not null" for c in rule.columns)
                shown = "coalesce(" + ", ".join(sql_ident(c) for c in rule.columns) + ")" if len(rule.columns) > 1 \
                    else sql_ident(rule.columns[0])
                exprs.append(f"case when ({present}) and not ({' or '.join(matched)}) then {shown} end "
                             f"as {sql_ident(_unresolved(rule))}")
        frame = con.sql(f"select {', '.join(exprs)} from parsed order by __row").df()
        if table.key:
            frame[DUPLICATE] = _duplicates(con, table, _failing(checks, frame))
    finally:
        con.close()
    return frame


def _parameter(value, parameters: dict):
    """A ``{"$PARAMETER": name}`` field's value for this delivery (else the value itself)."""
    if isinstance(value, dict) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value


def _unexpected(expectation, frame: pd.DataFrame, parameters: dict | None = None) -> pd.Series | None:
    """The rows a column-map expectation of ``build_checks`` finds unexpected, computed as GX does
    on pandas (nulls are never unexpected except for "not null"); None for a table-level one.
    Lets the duplicate decision come after the other checks within one GX run; ``validate_table``
    checks that GX found exactly these rows."""
    import great_expectations.expectations as gxe

    if isinstance(expectation, gxe.ExpectTableRowCountToBeBetween):
        return None
    values = frame[expectation.column]
    if isinstance(expectation, gxe.ExpectColumnValuesToNotBeNull):
        unexpected = values.isna()
    elif isinstance(expectation, gxe.ExpectColumnValuesToBeNull):
        unexpected = values.notna()
    elif isinstance(expectation, gxe.ExpectColumnValuesToBeInSet):
        unexpected = values.notna() & ~values.isin(list(expectation.value_set))
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
    return _bools(unexpected)


def _bools(series: pd.Series) -> pd.Series:
    """Plain booleans, NA (a comparison with a null) as False."""
    return series.fillna(False).astype(bool)


def _failing(checks: list[Check], frame: pd.DataFrame) -> pa.Array:
    """Per row: does it fail a record-level expectation other than the duplicate one?"""
    failing = pd.Series(False, index=frame.index)
    for check in checks:
        if getattr(check.expectation, "column", None) != DUPLICATE:
            unexpected = _unexpected(check.expectation, frame, check.parameters)
            if unexpected is not None:
                failing |= unexpected
    return pa.array(failing.to_numpy(dtype=bool))


def _duplicates(con: duckdb.DuckDBPyConnection, table: RawTable, failing: pa.Array) -> list[str | None]:
    """The duplicate marker per row (``con`` holds ``parsed``): among the valid occurrences of one
    key and version, every one but the last (file name, then position) names the last one, by
    its position (and its file when it sits in another one)."""
    con.register("failing", pa.table({"__row": pa.array(range(len(failing)), pa.int64()), "__failing": failing}))
    partition = ", ".join(sql_ident(k) for k in [*table.key, *filter(None, [table.version_column])])
    kept_file, kept_position = "first_value(source_file) over w", "first_value(record_position) over w"
    rows = con.sql(
        f"select case when not __failing and row_number() over w > 1 then "
        f"  case when {kept_file} = source_file then {kept_position} else {kept_file} || ' ' || {kept_position} end "
        f"end from parsed join failing using (__row) "
        f"window w as (partition by {partition}, __failing order by source_file desc, record_number desc) "
        f"order by __row").fetchall()
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
        check.expectation.description = check.rule or check.description
        check.expectation.meta = {"check": i}
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
    suite = context.suites.add_or_update(gx.ExpectationSuite(
        name=f"ugc.{table.name}", expectations=[c.expectation for c in checks],
        meta={"source": "generated by ugc_pipeline.validation.build_checks from the adapter"}))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"ugc.{table.name}", data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=f"ugc.{table.name}", validation_definitions=[definition], actions=[],
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
    as delivered (the parsed raw text), or a derived frame column (the duplicate marker)."""

    def __init__(self, arrow: pa.Table, frame: pd.DataFrame):
        self.arrow, self.frame = arrow, frame
        self.columns: dict[str, list] = {}

    def __call__(self, check: Check, row: int) -> str | None:
        for name in check.shown:
            if name not in self.columns:
                self.columns[name] = self.arrow.column(name).to_pylist() if name in self.arrow.column_names \
                    else [None if pd.isna(v) else v for v in self.frame[name]]
            if self.columns[name][row] is not None:
                return str(self.columns[name][row])
        return None


def validate_table(source: Source, parsed: ParsedTable, delivery_date: date, tz: str,
                   references: References, gx_dir: str | None, run_name: str) -> ValidatedTable:
    table, arrow = parsed.table, parsed.arrow
    if arrow.num_rows == 0 and not source.required:  # nothing delivered for this table: nothing to check
        return ValidatedTable(table=table, good=arrow.drop_columns(["raw_record"]),
                              rejects=parsed.rejects.copy(), records_read=parsed.records_read)
    checks, notes = build_checks(table, source, delivery_date, tz, references)
    for note in notes:
        log.warning("%s: %s", table.name, note)
    frame = check_frame(table, arrow, references, checks)
    results = run_suite(table, checks, frame, gx_dir, run_name)
    docs = data_docs_url(gx_dir)
    shown = _Shown(arrow, frame)

    reasons: dict[int, list[str]] = {}
    outcomes = []
    table_failures = []
    for check, res in zip(checks, results, strict=True):
        description = check.description
        info = res.result or {}
        count = int(info.get("unexpected_count") or 0)
        outcomes.append(Outcome(description, count, bool(res.success)))
        expected = _unexpected(check.expectation, frame, check.parameters)
        if expected is None:
            if not res.success:
                table_failures.append(description)  # a table-level expectation
            continue
        # GX counts the failing records (result format BASIC: it does not list them, which costs
        # a third of its time); which ones they are is what GX's rule selects on the same frame
        indexes = [int(i) for i in expected[expected].index]
        if count != len(indexes):
            # the duplicate decision assumed other failures than GX found: a record could be lost
            raise RuntimeError(f"{table.name}: GX found {count} records failing '{description}', "
                               f"validation._unexpected {len(indexes)} (on which the quarantine rests)")
        for idx in indexes:
            text = shown(check, idx)
            reasons.setdefault(idx, []).append(f"{description} ({check.label} {text})" if text is not None
                                               else description)

    if table_failures:
        first = arrow.column("source_file")[0].as_py() if arrow.num_rows else f"{source.name}/{delivery_date}"
        raise DeliveryError(f"{first}: failed expectation(s): {'; '.join(table_failures)}")

    bad = sorted(reasons)
    mask = pa.array([True] * arrow.num_rows)
    if bad:
        keep = [True] * arrow.num_rows
        for idx in bad:
            keep[idx] = False
        mask = pa.array(keep)
    good = arrow.filter(mask).drop_columns(["raw_record"])
    taken = arrow.take(pa.array(bad, pa.int64())) if bad else arrow.slice(0, 0)
    rejects = pd.DataFrame({
        "file": taken.column("source_file").to_pylist(),
        "position": taken.column("record_position").to_pylist(),
        "reasons": ["; ".join(reasons[i]) for i in bad],
        "raw": taken.column("raw_record").to_pylist(),
    })
    if len(parsed.rejects):  # the records the parse set aside (malformed rows and lines) first, by file
        rejects = pd.concat([parsed.rejects, rejects] if len(rejects) else [parsed.rejects], ignore_index=True)
        rejects = rejects.sort_values("file", kind="stable", ignore_index=True)
    return ValidatedTable(table=table, good=good, rejects=rejects, records_read=parsed.records_read,
                          outcomes=outcomes, data_docs=docs)


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
