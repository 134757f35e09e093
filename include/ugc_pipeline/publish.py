"""The read-only copy of a DuckDB warehouse that readers open while the pipeline runs.

DuckDB allows one writing process per file, and any process that has the file open, even
read-only, keeps a writer out: an analyst's notebook or DBeaver session left open on the
warehouse would make the next ingest wait, then fail. So readers do not open the warehouse: at the
end of every marts run (the ``publish_readonly_copy`` task of ``ugc_marts``, hence every
``ugc-pipeline run`` and ``make demo``), the pipeline publishes a copy of it, and readers open the
copy (``UGC_PUBLISHED_WAREHOUSE``, by default ``<warehouse>_readonly.duckdb`` beside the file).

How a copy is published (docs/DECISIONS.md, "A read-only copy for readers"):

1. A connection to the warehouse (waiting for DuckDB's file lock like every task) runs
   ``CHECKPOINT``: everything committed is in the main file, the write-ahead log is empty. While
   that connection is open no other process can write the file.
2. The file is copied to a hidden temporary name in the copy's folder, flushed to disk, opened
   read-only once as a check (every mart readable), and made read-only (mode 0444).
3. ``os.replace`` renames it over the previous copy: one atomic step of the file system. A reader
   who has the previous copy open keeps reading it (its open file is the old one, whole and
   unchanged, until it closes it); a reader who opens the copy afterwards gets the new one. The
   run never opens the published file itself, so no reader, read-only or not, can block it.

A failed marts run publishes nothing: readers keep the copy of the last good run. PostgreSQL
needs no copy (readers see committed data only, MVCC): ``publish_readonly_copy`` does nothing
there.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ugc_pipeline.settings import Settings, SettingsError

log = logging.getLogger(__name__)

READONLY_SUFFIX = "_readonly"


@dataclass(frozen=True)
class Published:
    path: Path
    bytes: int
    seconds: float


def duckdb_file(warehouse_url: str) -> Path | None:
    """The DuckDB file of a warehouse URL; None for PostgreSQL or an in-memory DuckDB."""
    parsed = make_url(warehouse_url)
    if parsed.get_backend_name() != "duckdb" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().resolve()


def published_path(settings: Settings) -> Path | None:
    """Where readers find the published copy of a DuckDB warehouse (``UGC_PUBLISHED_WAREHOUSE``,
    else ``<warehouse name>_readonly.duckdb`` beside the warehouse); None on PostgreSQL."""
    source = duckdb_file(settings.warehouse_url)
    if source is None:
        return None
    if settings.published_warehouse:
        target = Path(settings.published_warehouse).expanduser().resolve()
    else:
        target = source.with_name(f"{source.stem}{READONLY_SUFFIX}{source.suffix or '.duckdb'}")
    if target == source:
        raise SettingsError(f"UGC_PUBLISHED_WAREHOUSE is the warehouse file itself ({source}): name another file")
    from ugc_pipeline.warehouse import SCHEMAS

    if target.stem.lower() in SCHEMAS:  # DuckDB names the catalog after the file (see warehouse.py)
        raise SettingsError(f"UGC_PUBLISHED_WAREHOUSE: the file name {target.name!r} is one of the warehouse's "
                            f"schemas ({', '.join(SCHEMAS)}): choose another name")
    return target


def reader_url(settings: Settings) -> str:
    """The URL a reader (the report, an analyst) should open: the published copy of a DuckDB
    warehouse (read-only), the warehouse itself on PostgreSQL."""
    target = published_path(settings)
    if target is None:
        return settings.warehouse_url
    return f"duckdb:///{target}?access_mode=read_only"


def publish_readonly_copy(settings: Settings) -> Published | None:
    """Publish the warehouse's read-only copy for readers (DuckDB); None on PostgreSQL."""
    from ugc_pipeline import warehouse

    source = duckdb_file(settings.warehouse_url)
    target = published_path(settings)
    if source is None or target is None:
        log.info("PostgreSQL warehouse: readers query it directly (they see committed data only); no copy to publish")
        return None
    started = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.publishing")
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    try:
        with engine.connect() as conn:
            # everything committed into the main file; this open connection keeps writers out
            # until the copy is made
            conn.exec_driver_sql("checkpoint")
            with open(source, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst, length=16 * 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
        _check_copy(partial)
        os.chmod(partial, 0o444)
        # a write-ahead log left beside the copy (someone opened it for writing) belongs to the
        # old file: DuckDB would replay it into the new one
        Path(f"{target}.wal").unlink(missing_ok=True)
        os.replace(partial, target)
        _fsync_dir(target.parent)
    finally:
        engine.dispose()
        partial.unlink(missing_ok=True)
    published = Published(target, target.stat().st_size, time.monotonic() - started)
    log.info("published the read-only copy of the warehouse for readers: %s (%.1f MB in %.1f s)",
             target, published.bytes / 1e6, published.seconds)
    return published


def _check_copy(path: Path) -> None:
    """The copy opens read-only and every mart in it can be read (before anyone sees it)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema = 'marts'").fetchall()
        for schema, table in tables:
            con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
    finally:
        con.close()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
