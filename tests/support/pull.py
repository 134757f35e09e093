"""Helpers of the extractor tests (``tests/pull``, and the pull through Airflow of ``tests/e2e``):
credentials as an Airflow connection gives them, and what landed in a pulled day folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ugc_pipeline.extract import Credentials

DAY = date(2025, 5, 6)


def connection(conn_id: str, host: str, **fields) -> Credentials:
    """A connection like ``Credentials.from_airflow`` returns; backoff 0 keeps the tests fast
    (Retry-After is still honoured)."""
    extra = {"backoff_factor": 0, **fields.pop("extra", {})}
    return Credentials(conn_id=conn_id, host=host, extra=extra, **fields)


def landed(landing: Path, source: str, day: date = DAY) -> dict[str, bytes]:
    """The files a loader would read in a day folder (hidden and ``_`` files excluded)."""
    folder = landing / source / day.isoformat()
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith((".", "_"))} if folder.is_dir() else {}


def parsed(landing: Path, source: str, day: date = DAY) -> dict:
    """What the loader makes of a pulled day folder: raw table name -> rows (a DataFrame), through
    the source's adapter, exactly as the ingest task parses a delivery."""
    from ugc_pipeline.landing import Landing
    from ugc_pipeline.parse import parse_delivery
    from ugc_pipeline.sources import get_source

    zone = Landing(str(landing))
    return {name: table.rows for name, table in
            parse_delivery(get_source(source), zone, zone.files(source, day)).items()}
