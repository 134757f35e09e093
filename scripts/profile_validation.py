"""Great Expectations cost per table: the demo landing zone's first delivery days ingested in one
process (in-memory GX context, a DuckDB warehouse in a temporary folder), timing GX's own run
(``validation.run_suite``: the registered checkpoint, run on the table's frame) and the whole
validation of each table (``validation.validate_table``). See docs/BENCHMARKS.md.

    .venv/bin/python scripts/profile_validation.py --days 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from ugc_pipeline import pipeline, validation
from ugc_pipeline.sample import write_sample_landing
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import SOURCES


def _timed(function, into: list[tuple[float, float]]):
    """Wall and CPU seconds of each call (CPU time: this process's own, which other work on a busy
    machine changes less than the wall clock)."""
    def wrapper(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            into.append((time.perf_counter() - t0, time.process_time() - c0))
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=3, help="delivery days from the first one")
    args = parser.parse_args()

    gx_runs: list[tuple[float, float]] = []
    validations: list[tuple[float, float]] = []
    validation.run_suite = _timed(validation.run_suite, gx_runs)
    pipeline.validation.validate_table = _timed(validation.validate_table, validations)
    # the reference sources first, as the ingest DAG orders them
    order = sorted(SOURCES, key=lambda name: not SOURCES[name].is_reference)
    with tempfile.TemporaryDirectory() as tmp:
        sample = write_sample_landing(Path(tmp) / "landing")
        first = sample.delivery_dates[0]
        settings = Settings(landing_uri=str(Path(tmp) / "landing"),
                            warehouse_url=f"duckdb:///{Path(tmp) / 'warehouse.duckdb'}")
        t0 = time.perf_counter()
        for offset in range(args.days):
            day = first + timedelta(days=offset)
            for name in order:
                pipeline.ingest_source(name, day, settings, run_id=f"profile-{day}")
        total = time.perf_counter() - t0
    # the first run of each table registers its checkpoint (once per process): counted in
    print(json.dumps({
        "days": args.days, "tables_validated": len(gx_runs),
        "gx_seconds_per_table": round(sum(w for w, _ in gx_runs) / len(gx_runs), 3),
        "gx_cpu_seconds_per_table": round(sum(c for _, c in gx_runs) / len(gx_runs), 3),
        "validation_seconds_per_table": round(sum(w for w, _ in validations) / len(validations), 3),
        "validation_cpu_seconds_per_table": round(sum(c for _, c in validations) / len(validations), 3),
        "ingest_seconds": round(total, 1),
    }))


if __name__ == "__main__":
    main()
