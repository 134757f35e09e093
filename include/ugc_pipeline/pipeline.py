"""The two units of work the DAGs run, callable without Airflow.

``ingest_source``: one delivery of one source -> raw layer (+ quarantine, + run record).
``build_marts``: the dbt project (staging and intermediate views, marts) on the warehouse.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
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
    source = get_source(source_name)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    result = IngestResult(source=source.name, delivery_date=delivery_date.isoformat(), status="running")
    stages = _Stages(result, on_stage)
    record = _RunRecord(engine, result, run_id, started)
    try:
        landing = Landing(settings.landing_uri)
        files = landing.files(source.name, delivery_date)
        if files is not None:
            _check_pull(landing, source.name, delivery_date, result)
        with engine.begin() as conn:
            warehouse.ensure_warehouse(conn)
            record.start(conn)
            if not files:
                if source.required:
                    raise DeliveryError(f"{source.name}/{delivery_date}: no delivery "
                                        f"({'no folder' if files is None else 'the folder holds no file'}), "
                                        "and the source is required")
                result.status = "no_delivery"
                if files is None:
                    log.info("%s: nothing delivered for %s", source.name, delivery_date)
                else:
                    result.warn(f"{source.name}/{delivery_date}/: the delivery folder exists but holds no file: "
                                "nothing delivered")
                _withdraw(conn, source, delivery_date, result)
                _finish(record, result, t0, conn)
            else:
                references = validation.load_references(conn, source)
        if files:
            # Parsed and validated batch by batch into a local spool (one batch in memory for a
            # small delivery), holding no warehouse connection; then written in one transaction.
            with tempfile.TemporaryDirectory(prefix="ugc-ingest-") as spool:
                stages.start("parse")
                parsed = batches.read_delivery(source, landing, files, spool, settings.batch_records,
                                               pseudonymiser=pii.pseudonymiser_for(settings))
                result.files_read = len(files)
                for warning in parsed.warnings:
                    result.warn(warning)
                if source.is_reference and not parsed.records_read:
                    # a snapshot is the whole truth: an empty one would erase every product or store
                    raise DeliveryError(f"{source.name}/{delivery_date}: the snapshot holds no row; refusing to "
                                        f"replace the current {source.name} with nothing (re-deliver the full export)")
                stages.start("validate")
                validated = batches.validate_delivery(
                    parsed, delivery_date, settings.timezone, references, settings.gx_dir or None,
                    run_name=f"{run_id} {source.name} {delivery_date}")
                for table in validated.values():
                    log.info("validation of %s %s\n%s", source.name, delivery_date, table.summary())
                    if table.data_docs:
                        log.info("GX Data Docs: %s", table.data_docs)
                # A failed run's record still says how much was read (nothing is loaded or quarantined).
                result.records_read = sum(t.records_read for t in validated.values())
                batches.check_rejected_share(
                    source, validated, settings.rejected_share_threshold(source.name, source.max_rejected_share))
                result.records_read = 0  # counted again as the tables load
                stages.start("load")
                with engine.begin() as conn:
                    for table in validated.values():
                        result.records_read += table.records_read
                        result.records_loaded += warehouse.replace_delivery(
                            conn, table.table, delivery_date, table.rows, run_id)
                        result.records_rejected += table.rejected
                    if parsed.in_memory:
                        rejects = [t.rejects for t in validated.values() if not t.rejects.empty]
                        rejects = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame()
                    else:
                        spooled = [t.rejects for t in validated.values()]
                        rejects = ParquetFiles(tuple(p for f in spooled for p in f.paths),
                                               sum(f.num_rows for f in spooled))
                    warehouse.replace_rejects(conn, source.name, delivery_date, rejects, run_id)
                    result.status = "success"
                    _finish(record, result, t0, conn)  # loaded and recorded together
                stages.start(None)
                for table in validated.values():
                    for row in table.first_rejects(5).itertuples():
                        log.warning("%s: quarantined %s %s: %s", source.name, row.file, row.position, row.reasons)
    except Exception as exc:
        stages.start(None)
        result.status = "failed"
        result.seconds = time.perf_counter() - t0
        record.finish(message=str(exc).splitlines()[0] if str(exc) else repr(exc))
        raise
    log.info(result.summary())
    return result


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
