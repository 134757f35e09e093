"""Great Expectations (GX Core 1.x) validation of a parsed delivery, before anything is loaded.

Each raw table has one ``ExpectationSuite`` built here from its adapter's declarations (so the
suites are code, versioned with the project): required fields, castable types, ranges, allowed
values, references to the business tables, one record per native id and version within the
delivery, creation times not after the delivery day, and a non-empty table for required sources.

GX runs on a pandas DataFrame prepared set-based by DuckDB from the parsed rows (no file is read
again): for every typed column its value (``<col>__value``) and its unparseable text
(``<col>__unparseable``), lower-cased copies for case-insensitive sets, the unresolved value of
each reference, and a duplicate marker. Records that fail an expectation are quarantined with the
expectation's description; the rest load. Above the source's rejected-share threshold the
delivery is considered broken: ``DeliveryError`` names the file, the expectation and the counts.

``great_expectations`` is imported lazily: it takes seconds and is needed only inside tasks.
"""

from __future__ import annotations

import fcntl
import logging
import os
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

_INT = "case when regexp_full_match(trim({v}), '[+-]?[0-9]+') then try_cast(trim({v}) as bigint) end"
# A time outside 1900-2200 is not a real creation time (e.g. milliseconds sent as seconds).
_SANE = "case when year({t}) between 1900 and 2200 then {t} end"
_VALUE = {
    "int": _INT,  # '4.5' is not an int (try_cast would round it)
    "float": "try_cast(trim({v}) as double)",
    "bool": "try_cast(trim({v}) as boolean)",
    # Timestamps are compared in UTC, as naive values (what pandas and GX handle everywhere).
    "timestamp": _SANE.format(t="cast(timezone('UTC', try_cast(trim({v}) as timestamptz)) as timestamp)"),
    # Seconds between 1900 and 2200 only (milliseconds sent as seconds would overflow).
    "unix_seconds": "case when (" + _INT + ") between -2208988800 and 7258118400 "
                    "then cast(timezone('UTC', to_timestamp(" + _INT + ")) as timestamp) end",
    "date": _SANE.format(t="cast(try_cast(trim({v}) as date) as timestamp)"),
}


@dataclass(frozen=True)
class Check:
    """One expectation of a suite, with the frame column it reads and how a failure reads."""

    expectation: object  # a great_expectations Expectation
    description: str  # what the quarantine's ``reasons`` and the logs say
    show_value: bool = True  # append the offending value to the reason


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
    """Every value ever delivered in the referenced business tables (raw layer)."""
    from sqlalchemy import text

    out: References = {}
    with engine.connect() as conn:
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
    local = datetime.combine(delivery_date + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz)) + EXPORT_GRACE
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def build_checks(table: RawTable, source: Source, delivery_date: date, tz: str,
                 references: References) -> tuple[list[Check], list[str]]:
    """The expectations of one raw table, and the notes on those that could not apply."""
    import great_expectations.expectations as gxe

    checks: list[Check] = []
    notes: list[str] = []
    if source.required:
        checks.append(Check(gxe.ExpectTableRowCountToBeBetween(min_value=1),
                            "the delivery holds at least one record", show_value=False))
    for c in table.columns:
        if c.required:
            checks.append(Check(gxe.ExpectColumnValuesToNotBeNull(column=c.name),
                                f"{c.name} is present", show_value=False))
        if c.type in _VALUE:
            checks.append(Check(gxe.ExpectColumnValuesToBeNull(column=f"{c.name}__unparseable"),
                                f"{c.name} is a valid {c.type.replace('_', ' ')}"))
    for rule in table.rules:
        col = rule.columns[0]
        if rule.kind == "between":
            typed = f"{col}__value" if table.column(col).type in _VALUE else f"{col}__number"
            checks.append(Check(gxe.ExpectColumnValuesToBeBetween(
                column=typed, min_value=rule.min, max_value=rule.max), rule.description))
        elif rule.kind == "in_set":
            values = [v.lower() for v in rule.values] if rule.ignore_case else list(rule.values)
            column = f"{col}__lower" if rule.ignore_case else col
            checks.append(Check(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=values), rule.description))
        elif rule.kind == "resolves":
            if all(references.get(ref) for ref in rule.reference):
                checks.append(Check(gxe.ExpectColumnValuesToBeNull(column=_unresolved(rule)), rule.description))
            else:
                notes.append(f"skipped '{rule.description}': {', '.join(rule.reference)} not loaded yet")
    if table.key:
        checks.append(Check(gxe.ExpectColumnValuesToBeNull(column="__duplicate"),
                            f"{'+'.join(table.key)} appears once per version in the delivery "
                            "(the last occurrence is kept)", show_value=False))
    if table.created_column:
        is_date = table.column(table.created_column).type == "date"
        checks.append(Check(gxe.ExpectColumnValuesToBeBetween(
            column=f"{table.created_column}__value", strict_max=True,
            max_value=_kpi_cutoff(delivery_date, tz, is_date)),
            f"{table.created_column} is not in the future of the delivery {delivery_date} "
            f"(at the latest {delivery_date + timedelta(days=1)} 23:59:59 {tz})"))
    return checks, notes


def _unresolved(rule: Rule) -> str:
    return "__unresolved_" + "_".join(rule.columns)


# -- the frame GX validates -------------------------------------------------------------------

def check_frame(table: RawTable, arrow: pa.Table, references: References) -> pd.DataFrame:
    """The parsed rows plus the derived columns the expectations read, in the rows' order."""
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
        if table.key:
            partition = ", ".join(sql_ident(k) for k in table.key)
            if table.version_column:
                partition += ", " + sql_ident(table.version_column)
            exprs.append(
                f"case when row_number() over (partition by {partition} "
                f"order by source_file desc, record_number desc) > 1 "
                f"then 'a later occurrence in the delivery was kept' end as __duplicate")
        frame = con.sql(f"select {', '.join(exprs)} from parsed order by __row").df()
    finally:
        con.close()
    return frame


# -- running GX -------------------------------------------------------------------------------

_EPHEMERAL: list[object] = []


def _gx_context(gx_dir: str | None):
    """A file-backed GX context under ``gx_dir`` (suites, results and Data Docs), read afresh
    (other processes write the same project), else one in-memory context per process."""
    if not gx_dir and _EPHEMERAL:
        return _EPHEMERAL[0]
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if gx_dir:
        context = gx.get_context(mode="file", project_root_dir=gx_dir)
    else:
        context = gx.get_context(mode="ephemeral")
        _EPHEMERAL.append(context)
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
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
              run_name: str) -> tuple[list, str | None]:
    """Run the table's suite on the frame; returns the per-expectation results and the Data Docs URL."""
    import great_expectations as gx

    with _project_lock(gx_dir):
        return _run_suite(gx, _gx_context(gx_dir), table, checks, frame, gx_dir, run_name)


def _run_suite(gx, context, table: RawTable, checks: list[Check], frame: pd.DataFrame, gx_dir: str | None,
               run_name: str) -> tuple[list, str | None]:
    datasource = context.data_sources.add_or_update_pandas("ugc_landing")
    try:
        asset = datasource.get_asset(table.name)
    except (LookupError, ValueError):
        asset = datasource.add_dataframe_asset(table.name)
    try:
        batch_definition = asset.get_batch_definition("delivery")
    except (KeyError, LookupError, ValueError):
        batch_definition = asset.add_batch_definition_whole_dataframe("delivery")
    for check in checks:
        check.expectation.description = check.description
    suite = context.suites.add_or_update(gx.ExpectationSuite(
        name=f"ugc.{table.name}", expectations=[c.expectation for c in checks],
        meta={"source": "generated by ugc_pipeline.validation.build_checks from the adapter"}))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"ugc.{table.name}", data=batch_definition, suite=suite))
    actions = [gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")] if gx_dir else []
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=f"ugc.{table.name}", validation_definitions=[definition], actions=actions,
        result_format={"result_format": "COMPLETE", "partial_unexpected_count": 0}))
    result = checkpoint.run(batch_parameters={"dataframe": frame},
                            run_id=gx.core.run_identifier.RunIdentifier(run_name=run_name))
    results = [r for run in result.run_results.values() for r in run.results]
    docs = None
    if gx_dir:
        sites = context.get_docs_sites_urls()
        docs = sites[0]["site_url"] if sites else None
    return results, docs


def validate_table(source: Source, parsed: ParsedTable, delivery_date: date, tz: str,
                   references: References, gx_dir: str | None, run_name: str) -> ValidatedTable:
    table, arrow = parsed.table, parsed.arrow
    if arrow.num_rows == 0 and not source.required:  # nothing delivered for this table: nothing to check
        return ValidatedTable(table=table, good=arrow.drop_columns(["raw_record"]),
                              rejects=pd.DataFrame(columns=["file", "position", "reasons", "raw"]), records_read=0)
    checks, notes = build_checks(table, source, delivery_date, tz, references)
    for note in notes:
        log.warning("%s: %s", table.name, note)
    frame = check_frame(table, arrow, references)
    results, docs = run_suite(table, checks, frame, gx_dir, run_name)
    by_description = {c.description: c for c in checks}

    reasons: dict[int, list[str]] = {}
    outcomes = []
    table_failures = []
    for res in results:
        description = res.expectation_config.description
        check = by_description[description]
        info = res.result or {}
        indexes = info.get("unexpected_index_list") or []
        values = info.get("unexpected_list") or []
        outcomes.append(Outcome(description, int(info.get("unexpected_count") or 0), bool(res.success)))
        if not res.success and not indexes and "unexpected_count" not in info:
            table_failures.append(description)  # a table-level expectation
        for i, idx in enumerate(indexes):
            text = description
            if check.show_value and i < len(values):
                text += f" (got {values[i]!r})"
            reasons.setdefault(int(idx), []).append(text)

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
    return ValidatedTable(table=table, good=good, rejects=rejects, records_read=arrow.num_rows,
                          outcomes=outcomes, data_docs=docs)


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
                counts[reason.split(" (got ")[0]] += 1
    top = ", ".join(f"'{r}' ({n})" for r, n in counts.most_common(3))
    raise DeliveryError(
        f"{first}: {rejected} of {read} records ({rejected / read:.0%}) failed their expectations, over the "
        f"{threshold:.0%} threshold for {source.name}; most failed: {top}")
