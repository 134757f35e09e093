"""A big delivery in batches: parsed, validated and spooled to local Parquet files batch by batch,
so that an ingest task holds about one batch in memory whatever the delivery's size (issue #10);
``ugc_pipeline.pipeline`` then writes the spooled rows to the warehouse in one transaction.

- **Parse**: the files, in name order, in groups of at most ``PARSE_GROUP_BYTES`` (a file is never
  split), each group by its own ``DeliveryParser`` (the same SQL as a small delivery). A group's
  parsed rows go to Parquet, split into batches by a hash of the record's native key and version
  (``parse.batch_of``), and its documents and rows are dropped before the next group is read.
- **Batches**: their number comes from the first group: its rows per byte, times the delivery's
  bytes, over ``Settings.batch_records`` (``UGC_BATCH_RECORDS``). A delivery whose files form one
  group with at most that many rows per table is one batch and never touches the spool: it is
  parsed, validated and loaded in memory exactly as before batching existed.
- **Validate**: each batch is one ``validation.validate_table`` call, its rows in file order.
  Every occurrence of a record (same key and version) sits in the same batch, so the duplicate
  rule (the last occurrence passing every other expectation loads, the others are quarantined
  with the rule's reason naming the one kept) decides exactly as over the whole delivery. The
  records the parse set aside ride with the table's first batch. The good rows go to one Parquet
  file per table, the rejects to another, in the order one batch would give them (file, then
  what the parse set aside, then the records in file order).
- **Delivery-level rules**: the rejected share is computed over the whole delivery before
  anything is written (``validation.check_rejected_share``); page checks and error messages are
  the parser's, per file; a reference snapshot holding no row is refused by the caller from the
  counts.
"""

from __future__ import annotations

import gc
import glob
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ugc_pipeline import validation
from ugc_pipeline.dialects import ParquetFiles
from ugc_pipeline.landing import LandedFile, Landing
from ugc_pipeline.parse import (
    META_COLUMNS,
    REJECT_COLUMNS,
    DeliveryParser,
    ParsedTable,
    _no_rejects,
    file_groups,
    sql_ident,
    sql_literal,
)
from ugc_pipeline.pii import Pseudonymiser
from ugc_pipeline.sources.base import RawTable, Source

log = logging.getLogger(__name__)

# Bytes of delivered files parsed at once (their documents and parsed rows are in memory together).
PARSE_GROUP_BYTES = 16 * 1024 * 1024
# The spooled rejects: the quarantine's columns, then their order (see ``_order_rejects``).
_REJECTS_SCHEMA = pa.schema([*(pa.field(c, pa.string()) for c in REJECT_COLUMNS),
                             pa.field("parsed", pa.bool_()), pa.field("number", pa.int64())])


def _parsed_schema(table: RawTable) -> pa.Schema:
    return pa.schema([pa.field("source_file", pa.string()), pa.field("record_number", pa.int64()),
                      pa.field("record_position", pa.string()), pa.field("raw_record", pa.string()),
                      *(pa.field(c.name, pa.string()) for c in table.columns)])


@dataclass
class _Spooled:
    """One raw table of a delivery parsed to the spool."""

    table: RawTable
    rows: int = 0
    rejects: list[tuple[str, int, str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ParsedDelivery:
    """One delivery of one source, parsed: in memory (one batch) or spooled (several)."""

    def __init__(self, source: Source, folder: str):
        self.source, self.folder = source, folder
        self.parsed: dict[str, ParsedTable] | None = None  # one batch, in memory
        self.spooled: dict[str, _Spooled] = {t.name: _Spooled(t) for t in source.tables}
        self.batches = 1

    @property
    def in_memory(self) -> bool:
        return self.parsed is not None

    @property
    def records_read(self) -> int:
        if self.parsed is not None:
            return sum(t.records_read for t in self.parsed.values())
        return sum(t.rows + len(t.rejects) for t in self.spooled.values())

    @property
    def warnings(self) -> list[str]:
        if self.parsed is not None:
            return [w for t in self.parsed.values() for w in t.warnings]
        return [w for t in self.spooled.values() for w in t.warnings]

    def table_batches(self, table: RawTable) -> Iterator[ParsedTable]:
        """The table's batches, each as ``parse_delivery`` would give it for those records (in
        file order); at least one, empty when nothing was parsed into the table."""
        if self.parsed is not None:
            yield self.parsed[table.name]
            return
        spooled = self.spooled[table.name]
        ordered = sorted(spooled.rejects, key=lambda r: (r[0], r[1]))
        set_aside = pd.DataFrame([(f, pos, why, raw) for f, _, pos, why, raw in ordered],
                                 columns=list(REJECT_COLUMNS)) if ordered else _no_rejects()
        cols = ", ".join(sql_ident(c) for c in [*META_COLUMNS, "raw_record", *(c.name for c in table.columns)])
        first = True
        con = duckdb.connect()
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute("set allocator_flush_threshold = '8MiB'")
            con.execute("set allocator_bulk_deallocation_flush_threshold = '8MiB'")
            for batch in range(self.batches):
                paths = sorted(glob.glob(os.path.join(glob.escape(os.path.join(self.folder, table.name)),
                                                      "group-*", f"batch={batch}", "*.parquet")))
                if not paths:
                    continue
                files = ", ".join(sql_literal(p) for p in paths)
                # in file order: the groups' files in order, each sorted when spooled
                arrow = con.sql(f"select {cols} from read_parquet([{files}], hive_partitioning = false)") \
                    .to_arrow_table()
                yield ParsedTable(table=table, arrow=arrow, rejects=set_aside if first else _no_rejects(),
                                  warnings=spooled.warnings if first else [])
                first = False
        finally:
            con.close()
        if first:  # nothing parsed into the table: one empty batch (with what the parse set aside)
            yield ParsedTable(table=table, arrow=_parsed_schema(table).empty_table(), rejects=set_aside,
                              warnings=spooled.warnings)


def read_delivery(source: Source, landing: Landing, files: list[LandedFile], folder: str,
                  batch_records: int, group_bytes: int | None = None,
                  pseudonymiser: Pseudonymiser | None = None) -> ParsedDelivery:
    """Parse one delivery (see the module's doc); raises DeliveryError on the first unusable file."""
    DeliveryParser.check_files(source, files)  # every file's type before any is read, as one parse does
    groups = file_groups(files, group_bytes or PARSE_GROUP_BYTES)
    delivery = ParsedDelivery(source, folder)
    for number, group in enumerate(groups):
        parser = DeliveryParser(source, landing, pseudonymiser)
        try:
            parser.add_files(group)
            if number == 0:
                counts = parser.counts()
                largest = max(counts.values(), default=0)
                if len(groups) == 1 and largest <= batch_records:
                    delivery.parsed = parser.result()
                    return delivery
                if len(groups) == 1:
                    estimate = largest
                elif largest:
                    estimate = largest * sum(f.size for f in files) / max(sum(f.size for f in group), 1)
                else:  # nothing in the first group to estimate from
                    estimate = len(groups) * batch_records
                delivery.batches = max(1, math.ceil(estimate / batch_records))
            for name, rows in parser.spool(delivery.folder, number, delivery.batches).items():
                spooled = delivery.spooled[name]
                spooled.rows += rows
                spooled.rejects += parser.rejects[name]
                spooled.warnings += parser.warnings[name]
        finally:
            parser.close()
    for spooled in delivery.spooled.values():
        if spooled.rows or spooled.rejects:
            log.info("%s: %s records parsed into %s, %s set aside (%d files in %d groups, %d batches)",
                     source.name, spooled.rows, spooled.table.name, len(spooled.rejects), len(files),
                     len(groups), delivery.batches)
    return delivery


# -- validation ---------------------------------------------------------------------------------

@dataclass
class CheckedTable:
    """One raw table of a delivery, validated: what to load and to quarantine, in memory (one
    batch: ``validated``) or spooled (``rows`` and ``rejects`` are then Parquet files)."""

    table: RawTable
    records_read: int = 0
    loaded: int = 0
    rejected: int = 0
    batches: int = 0
    outcomes: dict[str, validation.Outcome] = field(default_factory=dict)
    validated: validation.ValidatedTable | None = None
    good_path: str | None = None
    rejects_path: str | None = None
    data_docs: str | None = None

    @property
    def rows(self) -> pa.Table | ParquetFiles:
        if self.validated is not None:
            return self.validated.good
        return ParquetFiles((self.good_path,) if self.loaded else (), self.loaded)

    @property
    def rejects(self) -> pd.DataFrame | ParquetFiles:
        if self.validated is not None:
            return self.validated.rejects
        return ParquetFiles((self.rejects_path,) if self.rejected else (), self.rejected)

    def first_rejects(self, n: int) -> pd.DataFrame:
        """The first ``n`` quarantined records (file, position, reasons)."""
        if self.validated is not None:
            return self.validated.rejects.head(n)
        if not self.rejected:
            return _no_rejects()
        batch = next(pq.ParquetFile(self.rejects_path).iter_batches(batch_size=n, columns=list(REJECT_COLUMNS)))
        return batch.to_pandas()

    def as_validated(self) -> validation.ValidatedTable:
        """A ValidatedTable for ``validation.check_rejected_share``: the rejects read back (file,
        position, reasons), no rows."""
        if self.validated is not None:
            return self.validated
        rejects = pq.read_table(self.rejects_path, columns=["file", "position", "reasons"]).to_pandas() \
            if self.rejected else _no_rejects()
        return validation.ValidatedTable(table=self.table, good=pa.table({}), rejects=rejects,
                                         records_read=self.records_read, outcomes=list(self.outcomes.values()))

    def summary(self) -> str:
        if self.validated is not None:
            return self.validated.summary()
        lines = [f"{self.table.name}: {self.records_read} read, {self.loaded} valid, {self.rejected} quarantined "
                 f"(validated in {self.batches} batches)"]
        for o in self.outcomes.values():
            lines.append(f"  {'ok  ' if o.success else 'FAIL'} {o.description}"
                         + (f": {o.unexpected} unexpected" if o.unexpected else ""))
        return "\n".join(lines)


def validate_delivery(delivery: ParsedDelivery, delivery_date: date, tz: str, references: validation.References,
                      gx_dir: str | None, run_name: str) -> dict[str, CheckedTable]:
    """Every table of the delivery through ``validation.validate_table``, batch by batch."""
    source = delivery.source
    out = {}
    for table in source.tables:
        checked = CheckedTable(table)
        if delivery.in_memory:
            [parsed] = delivery.table_batches(table)
            out[table.name] = _in_memory(table, validation.validate_table(
                source, parsed, delivery_date, tz, references, gx_dir, run_name))
            continue
        checked.good_path = os.path.join(delivery.folder, f"{table.name}.good.parquet")
        checked.rejects_path = os.path.join(delivery.folder, f"{table.name}.rejects.parquet")
        good_writer = rejects_writer = None
        unordered = checked.rejects_path + ".batches"
        try:
            for parsed in delivery.table_batches(table):
                checked.batches += 1
                v = validation.validate_table(source, parsed, delivery_date, tz, references, gx_dir,
                                              f"{run_name} batch {checked.batches}")
                checked.records_read += v.records_read
                checked.data_docs = checked.data_docs or v.data_docs
                for o in v.outcomes:
                    seen = checked.outcomes.get(o.description)
                    checked.outcomes[o.description] = o if seen is None else validation.Outcome(
                        o.description, seen.unexpected + o.unexpected, seen.success and o.success)
                if v.good.num_rows:
                    good_writer = good_writer or pq.ParquetWriter(checked.good_path, v.good.schema,
                                                                  compression="snappy")
                    good_writer.write_table(v.good)
                    checked.loaded += v.good.num_rows
                if len(v.rejects):
                    rejects_writer = rejects_writer or pq.ParquetWriter(unordered, _REJECTS_SCHEMA)
                    rejects_writer.write_table(_order_rejects(v.rejects, parsed.arrow))
                    checked.rejected += len(v.rejects)
                del v, parsed
                gc.collect()  # the batch's frames that GX's objects hold in reference cycles, now
                pa.default_memory_pool().release_unused()  # the batch's Arrow buffers, back to the system
        finally:
            for writer in (good_writer, rejects_writer):
                if writer is not None:
                    writer.close()
        if checked.rejected:  # in the order one batch gives: file, the parse's rejects, then by record
            con = duckdb.connect()
            try:
                con.execute(f"copy (select {', '.join(REJECT_COLUMNS)} from read_parquet({sql_literal(unordered)}) "
                            f"order by file, parsed, number) to {sql_literal(checked.rejects_path)} "
                            "(format parquet)")
            finally:
                con.close()
        out[table.name] = checked
    return out


def validate_deliveries(deliveries: Sequence[ParsedDelivery], days: Sequence[date], tz: str,
                        references: validation.References, gx_dir: str | None,
                        run_name: str) -> list[dict[str, CheckedTable]]:
    """Several small deliveries of one source (each one batch, in memory: a backfill's days)
    validated together, each table in one GX validation (``validation.validate_tables``); each
    delivery comes out as ``validate_delivery`` gives it alone."""
    if not all(d.in_memory for d in deliveries):
        raise ValueError("validate_deliveries takes deliveries held in memory (one batch each)")
    source = deliveries[0].source
    out: list[dict[str, CheckedTable]] = [{} for _ in deliveries]
    for table in source.tables:
        parsed = [next(d.table_batches(table)) for d in deliveries]
        validated = validation.validate_tables(source, parsed, days, tz, references, gx_dir, run_name)
        for one, v in zip(out, validated, strict=True):
            one[table.name] = _in_memory(table, v)
    return out


def _in_memory(table: RawTable, v: validation.ValidatedTable) -> CheckedTable:
    checked = CheckedTable(table, validated=v, batches=1, data_docs=v.data_docs)
    checked.records_read, checked.loaded, checked.rejected = v.records_read, v.good.num_rows, len(v.rejects)
    checked.outcomes = {o.description: o for o in v.outcomes}
    return checked


def _order_rejects(rejects: pd.DataFrame, batch: pa.Table) -> pa.Table:
    """A batch's rejects with their order in the delivery: ``parsed`` (false for a record the
    parse set aside: they come first in their file) and ``number`` (the record's number in its
    file; the line of a record the parse set aside)."""
    con = duckdb.connect()
    try:
        con.register("r", pa.Table.from_pandas(rejects[list(REJECT_COLUMNS)], preserve_index=False,
                                               schema=pa.schema([pa.field(c, pa.string()) for c in REJECT_COLUMNS])))
        con.register("b", batch.select(["source_file", "record_position", "record_number"]))
        return con.sql(
            "select r.file, r.position, r.reasons, r.raw, b.record_number is not null as parsed, "
            "coalesce(b.record_number, try_cast(regexp_extract(r.position, '([0-9]+)$', 1) as bigint)) as number "
            "from r left join b on b.source_file = r.file and b.record_position = r.position").to_arrow_table() \
            .cast(_REJECTS_SCHEMA)
    finally:
        con.close()


def check_rejected_share(source: Source, checked: dict[str, CheckedTable], threshold: float) -> None:
    """``validation.check_rejected_share`` over the whole delivery (the rejects are read back only
    when the share is over the threshold, to say which expectations failed most)."""
    read = sum(c.records_read for c in checked.values())
    rejected = sum(c.rejected for c in checked.values())
    if read and rejected / read > threshold:
        validation.check_rejected_share(source, {n: c.as_validated() for n, c in checked.items()}, threshold)
