"""The two units of work the DAGs run, callable without Airflow.

``ingest_source``: one delivery of one source -> raw layer (+ quarantine, + run record);
``ingest_days``: the deliveries of one source over a range of days (a backfill), a chunk at a time.
``build_marts``: the dbt project (staging and intermediate views, marts) on the warehouse.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

import pandas as pd

from ugc_pipeline import batches, pii, validation, warehouse
from ugc_pipeline.dialects import ParquetFiles
from ugc_pipeline.landing import Landing
from ugc_pipeline.parse import DeliveryError
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import get_source

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    source: str
    delivery_date: str
    status: str
    files_read: int = 0
    records_read: int = 0
    records_loaded: int = 0
    records_rejected: int = 0
    # raw records an earlier load of a now withdrawn delivery had put there, removed by this one
    records_withdrawn: int = 0
    seconds: float = 0.0
    # what the day's pull did (ugc_pipeline.extract), when the delivery was pulled
    pull_requests: int | None = None
    pull_pages: int | None = None
    pull_records: int | None = None
    pull_retries: int | None = None
    pull_cursor: str | None = None
    warnings: list[str] = field(default_factory=list)
    # seconds per stage of the ingest ("parse", "validate", "load"), for benchmarks
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        """Something the run record and the log must say, short of an error."""
        log.warning(message)
        self.warnings.append(message)

    def summary(self) -> str:
        return (f"{self.source} {self.delivery_date}: {self.status}, {self.files_read} file(s), "
                f"{self.records_read} read, {self.records_loaded} loaded, "
                f"{self.records_rejected} rejected ({self.seconds:.1f}s)")


@dataclass
class DayIngest:
    """One delivery day of a range: what its ingest did, and the error of a broken delivery (None
    when it loaded or had nothing to load)."""

    result: IngestResult
    error: DeliveryError | None = None


# A range of delivery days (a backfill) is ingested a chunk of days at a time: the warehouse is
# opened twice per chunk, not twice per day (on DuckDB each opening takes the file from the
# source tasks running beside this one, and its close checkpoints), while each day keeps its
# own transaction and run record. A chunk is also cut after ``batch_records`` validated records.
CHUNK_DAYS = 31


def ingest_source(source_name: str, delivery_date: date, settings: Settings, run_id: str,
                  on_stage: Callable[[str | None], None] | None = None) -> IngestResult:
    """Load one delivery of one source into the raw layer, replacing any earlier load of it.

    The raw rows and the quarantine of the delivery are replaced in one transaction: a failure
    leaves the warehouse as it was, and a rerun of the day gives the same raw layer. A delivery of
    more than ``settings.batch_records`` records is parsed and validated in batches spooled to a
    local temporary folder (``ugc_pipeline.batches``).

    The warehouse is opened twice: once at the start (tables in place, the ``running`` run
    record, the reference keys; for a day without delivery, everything), once for the write and
    the finished run record. Parsing and validation hold no connection: on DuckDB the source
    tasks running beside this one take the file meanwhile.

    ``on_stage`` (for benchmarks) is called as each stage starts: "parse", "validate", "load",
    then None; ``IngestResult.stage_seconds`` has their durations.
    """
    (day,) = ingest_days(source_name, [delivery_date], settings, run_id, on_stage)
    if day.error is not None:
        raise day.error
    return day.result


def ingest_days(source_name: str, days: Sequence[date], settings: Settings, run_id: str,
                on_stage: Callable[[str | None], None] | None = None) -> list[DayIngest]:
    """Load the deliveries of one source for several days, in the order given, each as
    ``ingest_source`` loads one (its own transaction and run record), with the warehouse opened
    twice per chunk of days (``CHUNK_DAYS``) instead of twice per day.

    A broken delivery (``DeliveryError``) does not stop the other days: it is recorded as failed
    and returned with its error. Any other error (the warehouse) stops at once: the day it hit and
    the days of its chunk not loaded yet are recorded as failed, and it is raised.
    """
    source = get_source(source_name)
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    landing = Landing.for_settings(settings)
    out: list[DayIngest] = []
    for start in range(0, len(days), CHUNK_DAYS):
        chunk = [_Day(source, day, run_id, on_stage if len(days) == 1 else None) for day in days[start:start + CHUNK_DAYS]]
        try:
            _ingest_chunk(engine, landing, source, chunk, settings, run_id)
        except Exception as exc:
            at = next((day.day for day in chunk if day.current), None)
            for day in chunk:
                if day.result.status == "running":
                    day.fail(_message(exc) if day.current or at is None else
                             f"not loaded: the task stopped on {at}: {_message(exc)}")
            raise
        out += [DayIngest(day.result, day.error) for day in chunk]
    return out


class _Day:
    """The ingest of one delivery day: its result, run record and stages, what landed."""

    def __init__(self, source, day: date, run_id: str, on_stage: Callable[[str | None], None] | None):
        self.source, self.day = source, day
        self.result = IngestResult(source=source.name, delivery_date=day.isoformat(), status="running")
        self.record = _RunRecord(None, self.result, run_id, datetime.now(UTC))
        self.stages = _Stages(self.result, on_stage)
        self.t0 = time.perf_counter()
        self.files = None
        self.error: DeliveryError | None = None
        self.current = False  # the day being worked on when an error stops the chunk
        self.validated: dict | None = None
        self.parsed = None

    def broken(self, exc: DeliveryError, conn) -> None:
        """A broken delivery: recorded failed (in ``conn``), nothing of it loaded."""
        self.error = exc
        self.stages.start(None)
        self.result.status = "failed"
        self.result.seconds = time.perf_counter() - self.t0
        log.error("%s %s: %s", self.source.name, self.day, str(exc).splitlines()[0] if str(exc) else repr(exc))
        self.record.finish(message=_message(exc), conn=conn)

    def fail(self, message: str) -> None:
        """An error stopped the chunk before this day loaded: recorded failed in a connection of
        its own (best effort; the error itself is raised)."""
        self.stages.start(None)
        self.result.status = "failed"
        self.result.seconds = time.perf_counter() - self.t0
        self.record.finish(message=message)


def _message(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else repr(exc)


def _ingest_chunk(engine, landing: Landing, source, chunk: list[_Day], settings: Settings, run_id: str) -> None:
    for day in chunk:
        day.record.engine = engine
        try:
            day.files = landing.files(source.name, day.day)
            if day.files is not None:
                _check_pull(landing, source.name, day.day, day.result)
        except DeliveryError as exc:
            day.error = exc
    # the first opening: tables, every day's running record, the days without delivery, the references
    references = None
    with engine.connect() as conn:
        with conn.begin():
            warehouse.ensure_warehouse(conn)
        for day in chunk:
            day.current = True
            with conn.begin():
                day.record.start(conn)
                if day.error is not None:
                    day.broken(day.error, conn)
                elif not day.files:
                    if source.required:
                        day.broken(DeliveryError(
                            f"{source.name}/{day.day}: no delivery "
                            f"({'no folder' if day.files is None else 'the folder holds no file'}), "
                            "and the source is required"), conn)
                    else:
                        _nothing_delivered(conn, day)
            day.current = False
        if any(day.result.status == "running" for day in chunk):
            with conn.begin():
                references = validation.load_references(conn, source)
    # parsed into a local spool and validated, holding no warehouse connection: the small deliveries
    # of a range (held in memory) together, up to ``batch_records`` records at a time, each table in
    # one GX validation; then written, each day in its own transaction, in one opening per group
    with tempfile.TemporaryDirectory(prefix="ugc-ingest-") as spool:
        group: list[_Day] = []
        for n, day in enumerate(chunk):
            if day.result.status != "running":
                continue
            day.current = True
            try:
                _parse(day, landing, settings, os.path.join(spool, str(n)))
            except DeliveryError as exc:
                day.error = exc
            day.current = False
            if day.error is None and day.parsed.in_memory and not source.required:
                group.append(day)
                if sum(d.parsed.records_read for d in group) < settings.batch_records:
                    continue
            elif day.error is None:  # a big delivery (batches spooled) or a required source: alone
                _validate_and_load(engine, group, settings, references, run_id)
                group = [day]
            else:
                _load(engine, [day], run_id)  # its failed record
                continue
            _validate_and_load(engine, group, settings, references, run_id)
            group = []
        _validate_and_load(engine, group, settings, references, run_id)


def _nothing_delivered(conn, day: _Day) -> None:
    source, result = day.source, day.result
    result.status = "no_delivery"
    if day.files is None:
        log.info("%s: nothing delivered for %s", source.name, day.day)
    else:
        result.warn(f"{source.name}/{day.day}/: the delivery folder exists but holds no file: nothing delivered")
    _withdraw(conn, source, day.day, result)
    _finish(day.record, result, day.t0, conn)
    log.info(result.summary())


def _parse(day: _Day, landing: Landing, settings: Settings, spool: str) -> None:
    source, result, delivery_date = day.source, day.result, day.day
    day.t0 = time.perf_counter()
    os.makedirs(spool)
    day.stages.start("parse")
    parsed = batches.read_delivery(source, landing, day.files, spool, settings.batch_records,
                                   pseudonymiser=pii.pseudonymiser_for(settings))
    result.files_read = len(day.files)
    for warning in parsed.warnings:
        result.warn(warning)
    if source.is_reference and not parsed.records_read:
        # a snapshot is the whole truth: an empty one would erase every product or store
        raise DeliveryError(f"{source.name}/{delivery_date}: the snapshot holds no row; refusing to "
                            f"replace the current {source.name} with nothing (re-deliver the full export)")
    day.parsed = parsed


def _validate_and_load(engine, group: list[_Day], settings: Settings, references, run_id: str) -> None:
    """Validate the parsed days of ``group`` (together when there are several), then load them."""
    if not group:
        return
    source = group[0].source
    for day in group:
        day.stages.start("validate")
        day.current = True
    if len(group) == 1:
        day = group[0]
        try:
            validated = [batches.validate_delivery(
                day.parsed, day.day, settings.timezone, references, settings.gx_dir or None,
                run_name=f"{run_id} {source.name} {day.day}")]
        except DeliveryError as exc:
            day.error, validated = exc, [None]
    else:
        try:
            validated = batches.validate_deliveries(
                [d.parsed for d in group], [d.day for d in group], settings.timezone, references,
                settings.gx_dir or None, run_name=f"{run_id} {source.name} {group[0].day} to {group[-1].day}")
        except DeliveryError:  # a table-level failure is not one day's: each day alone says whose
            for day in group:
                _validate_and_load(engine, [day], settings, references, run_id)
            return
    for day, tables in zip(group, validated, strict=True):
        day.current = False
        if tables is None:
            continue
        for table in tables.values():
            log.info("validation of %s %s\n%s", source.name, day.day, table.summary())
            if table.data_docs:
                log.info("GX Data Docs: %s", table.data_docs)
        # a failed run's record still says how much was read (nothing is loaded or quarantined)
        day.result.records_read = sum(t.records_read for t in tables.values())
        try:
            batches.check_rejected_share(
                source, tables, settings.rejected_share_threshold(source.name, source.max_rejected_share))
        except DeliveryError as exc:
            day.error = exc
            continue
        day.validated = tables
    _load(engine, group, run_id)


def _load(engine, ready: list[_Day], run_id: str) -> None:
    """The second opening: each validated day's rows, quarantine and finished run record in one
    transaction (recorded if and only if loaded); each broken day's failed record."""
    if not ready:
        return
    with engine.connect() as conn:
        for day in ready:
            day.current = True
            try:
                with conn.begin():
                    if day.error is not None:
                        day.broken(day.error, conn)
                    else:
                        _load_day(conn, day, run_id)
            except BaseException:
                if day.result.status == "success":  # not committed: not loaded
                    day.result.status = "running"
                raise
            day.current = False
    for day in ready:
        if day.validated is not None and day.error is None:
            for table in day.validated.values():
                for row in table.first_rejects(5).itertuples():
                    log.warning("%s: quarantined %s %s: %s", day.source.name, row.file, row.position, row.reasons)
            log.info(day.result.summary())
        day.parsed = day.validated = None


def _load_day(conn, day: _Day, run_id: str) -> None:
    source, result, validated = day.source, day.result, day.validated
    day.stages.start("load")
    result.records_read = 0  # counted again as the tables load
    for table in validated.values():
        result.records_read += table.records_read
        result.records_loaded += warehouse.replace_delivery(conn, table.table, day.day, table.rows, run_id)
        result.records_rejected += table.rejected
    if day.parsed.in_memory:
        rejects = [t.rejects for t in validated.values() if not t.rejects.empty]
        rejects = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame()
    else:
        spooled = [t.rejects for t in validated.values()]
        rejects = ParquetFiles(tuple(p for f in spooled for p in f.paths), sum(f.num_rows for f in spooled))
    warehouse.replace_rejects(conn, source.name, day.day, rejects, run_id)
    result.status = "success"
    _finish(day.record, result, day.t0, conn)  # loaded and recorded together
    day.stages.start(None)


def _finish(record: _RunRecord, result: IngestResult, t0: float, conn) -> None:
    """The run record of a delivery that succeeded, in the transaction of its load."""
    result.seconds = time.perf_counter() - t0
    record.finish(message="; ".join([result.summary(), *(f"warning: {w}" for w in result.warnings)]), conn=conn)


class _Stages:
    """Times the stages of one ingest into ``IngestResult.stage_seconds``."""

    def __init__(self, result: IngestResult, hook: Callable[[str | None], None] | None):
        self.result, self.hook = result, hook
        self.current: str | None = None
        self.since = time.perf_counter()

    def start(self, stage: str | None) -> None:
        now = time.perf_counter()
        if self.current is not None:
            seconds = self.result.stage_seconds
            seconds[self.current] = seconds.get(self.current, 0.0) + now - self.since
        self.current, self.since = stage, now
        if self.hook is not None:
            self.hook(stage)


def _withdraw(conn, source, delivery_date: date, result: IngestResult) -> None:
    """Nothing is delivered for the day (any more): remove what an earlier load of this delivery
    put in raw and in the quarantine, so that raw mirrors the landing zone (a withdrawn delivery
    disappears from the marts at their next build)."""
    removed = sum(warehouse.remove_delivery(conn, table, delivery_date) for table in source.tables)
    warehouse.replace_rejects(conn, source.name, delivery_date, pd.DataFrame(), "")
    result.records_withdrawn = removed
    if removed:
        result.warn(f"{source.name}/{delivery_date}: the delivery was withdrawn from the landing zone; the "
                    f"{removed} record(s) an earlier run loaded from it were removed from raw")


class _RunRecord:
    """The task attempt's row in audit.pipeline_runs: written ``running`` when the task starts
    (a task killed later still leaves it; the next attempt marks it ``abandoned``), finished at
    the end. Writing it must never hide the task's own error."""

    def __init__(self, engine, result: IngestResult, run_id: str, started: datetime):
        self.engine, self.result, self.run_id, self.started = engine, result, run_id, started
        self.attempt_id = uuid.uuid4().hex

    def row(self, message: str) -> dict:
        row = asdict(self.result)
        row.update(run_id=self.run_id, started_at=self.started, attempt_id=self.attempt_id,
                   delivery_date=date.fromisoformat(self.result.delivery_date), message=message[:2000],
                   finished_at=None if self.result.status == "running" else datetime.now(UTC))
        return row

    def start(self, conn) -> None:
        """In the connection that opens the day's work: a warehouse that cannot take this row
        cannot take the load either, so an error here is the task's error."""
        abandoned = warehouse.start_run(conn, self.row(message="running"))
        if abandoned:
            log.warning("%s %s: %d earlier attempt(s) had died without finishing their run record; marked "
                        "abandoned in audit.pipeline_runs", self.result.source, self.result.delivery_date, abandoned)

    def finish(self, message: str, conn=None) -> None:
        if conn is not None:  # in the load's transaction: recorded if and only if loaded
            warehouse.finish_run(conn, self.row(message))
            return
        try:
            with self.engine.begin() as conn:
                # the task may have failed before the warehouse was opened (a refused file), or
                # with the transaction that created its tables
                warehouse.ensure_warehouse(conn)
                warehouse.finish_run(conn, self.row(message))
        except Exception as exc:
            log.error("could not write the run record for %s: %s", self.result.source, str(exc).splitlines()[0])


def _check_pull(landing: Landing, source: str, delivery_date: date, result: IngestResult) -> None:
    """A pulled delivery (its folder holds the pull's manifest) loads only once its pull completed:
    a half-pulled day would load as a silently short delivery. The pull's figures go to the run record."""
    from ugc_pipeline.extract import pull_record

    pull = pull_record(landing, source, delivery_date)
    if pull is None:  # dropped into the landing zone by something else
        return
    result.pull_requests, result.pull_pages = pull.get("requests"), pull.get("pages")
    result.pull_records, result.pull_retries = pull.get("records"), pull.get("retries")
    result.pull_cursor = json.dumps(pull["cursor_saved"], sort_keys=True) if pull.get("cursor_saved") else None
    if pull.get("status") != "complete":
        why = f": {pull['message']}" if pull.get("message") else ""
        raise DeliveryError(f"{source}/{delivery_date}: the pull of this delivery did not complete "
                            f"({pull.get('status')}, {pull.get('pages', 0)} page(s) landed){why}; "
                            f"rerun pull_{source} (it resumes where it stopped), then this load")


def build_marts(settings: Settings) -> dict[str, int]:
    """Build the dbt project (views, marts, their tests) on the warehouse; the rows of each mart."""
    from ugc_pipeline import transform

    t0 = time.perf_counter()
    counts = transform.build_marts(settings)
    log.info("marts built in %.1fs: %s", time.perf_counter() - t0, ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def quarantined_deliveries(settings: Settings, source: str | None = None, start: date | None = None,
                           end: date | None = None) -> list[tuple[str, date]]:
    """The (source, delivery_date) pairs that still have records in quarantine."""
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    warehouse.ensure_warehouse(engine)
    frame = warehouse.query_frame(
        engine,
        "select distinct source, delivery_date from audit.rejected_records "
        "where (cast(:source as varchar) is null or source = :source) "
        "and (cast(:start as date) is null or delivery_date >= :start) "
        "and (cast(:end as date) is null or delivery_date <= :end) order by delivery_date, source",
        {"source": source, "start": start, "end": end})
    return [(r.source, r.delivery_date if isinstance(r.delivery_date, date) else date.fromisoformat(str(r.delivery_date)))
            for r in frame.itertuples()]


def replay_quarantine(settings: Settings, run_id: str, source: str | None = None, start: date | None = None,
                      end: date | None = None) -> list[IngestResult]:
    """Re-ingest every delivery that has quarantined records (after a mapping or an expectation
    was fixed): each delivery is re-read from the landing zone and replaces its earlier load and
    its quarantine, so replaying twice duplicates nothing."""
    return [ingest_source(name, day, settings, run_id) for name, day in
            quarantined_deliveries(settings, source, start, end)]
