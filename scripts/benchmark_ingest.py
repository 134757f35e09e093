"""Benchmark: ingest N Yotpo review rows (JSON pages) and rebuild the marts, on this machine.

    .venv/bin/python scripts/benchmark_ingest.py --rows 1000000
    .venv/bin/python scripts/benchmark_ingest.py --rows 1000000 \
        --warehouse-url postgresql+psycopg://postgres@127.0.0.1:5432/ugc_bench

Writes the landing files in a temporary folder and loads them into a DuckDB warehouse there, or
into the warehouse ``--warehouse-url`` names (use an empty, throwaway database: the benchmark
replaces its 2025-05-01 Yotpo delivery and rebuilds its marts), then prints the wall time and the
peak memory of each step. Figures are recorded in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ugc_pipeline.pipeline import build_marts, ingest_source
from ugc_pipeline.settings import Settings


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_reviews(root: Path, day: date, rows: int, page_size: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    folder = root / "yotpo_reviews" / day.isoformat()
    folder.mkdir(parents=True)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for page, first in enumerate(range(0, rows, page_size), 1):
        reviews = []
        for i in range(first, min(rows, first + page_size)):
            created = start + timedelta(seconds=rng.randrange(0, 120 * 86400))
            reviews.append({
                "id": 100_000_000 + i, "sku": f"SKU-{i % 50:03d}", "score": rng.randint(1, 5),
                "title": "Très bon produit", "content": "Texte de l'avis " * rng.randint(0, 6),
                "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "updated_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "votes_up": rng.randint(0, 9), "votes_down": 0, "name": "Client", "email": "c@example.com",
                "reviewer_type": "verified_buyer", "deleted": False, "archived": False,
                "is_incentivized": rng.random() < 0.1, "incentive_type": None,
            })
        (folder / f"reviews_page_{page:04d}.json").write_text(
            json.dumps({"status": {"code": 200, "message": "OK"}, "reviews": reviews}), encoding="utf-8")


def phases(settings: Settings, day: date) -> None:
    """The ingest's three phases timed apart: parse, validate (GX), load."""
    from ugc_pipeline import validation, warehouse
    from ugc_pipeline.landing import Landing
    from ugc_pipeline.parse import parse_delivery
    from ugc_pipeline.sources import get_source

    source = get_source("yotpo_reviews")
    landing = Landing(settings.landing_uri)
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    t0 = time.perf_counter()
    parsed = parse_delivery(source, landing, landing.files(source.name, day))["yotpo_reviews"]
    t_parse = time.perf_counter() - t0
    import great_expectations  # noqa: F401  (imported once per worker process; not counted)

    t0 = time.perf_counter()
    checked = validation.validate_table(source, parsed, day, settings.timezone,
                                        validation.load_references(engine, source), None, "benchmark")
    t_validate = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.begin() as conn:
        warehouse.replace_delivery(conn, checked.table, day, checked.good, "benchmark")
    t_load = time.perf_counter() - t0
    total = t_parse + t_validate + t_load
    print(f"phases: parse {t_parse:.1f}s, validate (GX) {t_validate:.1f}s ({t_validate / total:.0%}), "
          f"load {t_load:.1f}s; {len(checked.rejects)} rejected")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--warehouse-url", default=None,
                        help="SQLAlchemy URL of the warehouse (default: a DuckDB file in the temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        day = date(2025, 5, 1)
        t0 = time.perf_counter()
        write_reviews(root / "landing", day, args.rows, args.page_size)
        size = sum(p.stat().st_size for p in (root / "landing").rglob("*.json")) / 1e6
        print(f"wrote {args.rows:,} reviews ({size:.0f} MB) in {time.perf_counter() - t0:.1f}s")
        url = args.warehouse_url or f"duckdb:///{root / 'wh.duckdb'}"
        settings = Settings(landing_uri=str(root / "landing"), warehouse_url=url)
        print(f"warehouse: {settings.describe()}")
        t0 = time.perf_counter()
        result = ingest_source("yotpo_reviews", day, settings, run_id="benchmark")
        print(f"ingest: {time.perf_counter() - t0:.1f}s, {result.records_loaded:,} loaded, "
              f"{result.records_rejected} rejected, peak RSS {peak_mb():.0f} MB")
        t0 = time.perf_counter()
        result = ingest_source("yotpo_reviews", day, settings, run_id="benchmark-rerun")
        print(f"ingest again (replaces the delivery): {time.perf_counter() - t0:.1f}s")
        phases(settings, day)
        t0 = time.perf_counter()
        counts = build_marts(settings)
        print(f"marts: {time.perf_counter() - t0:.1f}s ({counts}), peak RSS {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
