"""Benchmark: one Yotpo delivery of N reviews through the pipeline, beside a naive path and the
all-DuckDB floor, each in its own process, on this machine (issue #10, goal 3).

    .venv/bin/python scripts/benchmark_ingest.py --rows 1000000 --json bench-1m.json
    .venv/bin/python scripts/benchmark_ingest.py --rows 5000000 --paths pipeline,floor
    .venv/bin/python scripts/benchmark_ingest.py --rows 1000000 \\
        --warehouse-url postgresql+psycopg://postgres@127.0.0.1:5432/ugc_bench

Writes the landing zone (N reviews in JSON pages of ``--page-size``, the project's page format)
in a temporary folder, then runs, one after the other, each in a new Python process:

- ``pipeline``: ``ingest_source`` (stages parse, validate, load; no pull: the files are dropped),
  then ``build_marts`` (dbt) in a second process, as the DAGs' tasks run them, into a DuckDB
  warehouse in the temporary folder, or into the warehouse ``--warehouse-url`` names (an empty,
  throwaway database: the benchmark replaces its 2025-05-01 Yotpo delivery and rebuilds its marts);
- ``naive``: ``json.load`` per page, one pandas DataFrame, a GX suite of 8 expectations (result
  format COMPLETE, the failing rows dropped), ``DataFrame.to_sql`` into DuckDB, a daily aggregate;
- ``floor``: DuckDB alone: ``read_json`` + ``unnest``, one SQL validation query writing a rejects
  table, a typed table of the valid rows, the daily aggregate.

Each path's figures: seconds per stage and in total (the process, from its start: imports
included), records per second, peak RSS per stage (sampled every 10 ms) and of the process
(``wait4``'s ``ru_maxrss``, exact), and the load average before and after it. Then the ratios.
``--json`` writes all of it. Figures are recorded in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

DAY = date(2025, 5, 1)
SOURCE = "yotpo_reviews"
PATHS = ("pipeline", "naive", "floor")


# -- the landing zone ---------------------------------------------------------------------------

def write_reviews(root: Path, day: date, rows: int, page_size: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    folder = root / SOURCE / day.isoformat()
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
        (folder / f"reviews_page_{page:05d}.json").write_text(
            json.dumps({"status": {"code": 200, "message": "OK"}, "reviews": reviews}), encoding="utf-8")


# -- inside a path's process: stages and their memory -------------------------------------------

def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return int(re.search(r"VmRSS:\s+(\d+)", fh.read()).group(1)) / 1024


class Stages:
    """Wall and CPU seconds per stage (the process's, DuckDB's threads included), and the peak RSS
    seen in each (a thread samples it every 10 ms)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.cpu_since = time.process_time()
        self.peak: dict[str, float] = {}
        self.current: str | None = None
        self.since = time.perf_counter()
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._note()

    def _note(self) -> None:
        stage = self.current
        if stage is not None:
            self.peak[stage] = max(self.peak.get(stage, 0.0), _rss_mb())

    def __call__(self, stage: str | None) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self._note()
        if self.current is not None:
            self.seconds[self.current] = self.seconds.get(self.current, 0.0) + now - self.since
            self.cpu[self.current] = self.cpu.get(self.current, 0.0) + cpu - self.cpu_since
        self.current, self.since, self.cpu_since = stage, now, cpu
        self._note()

    def report(self) -> dict:
        self._stop.set()
        return {name: {"seconds": round(s, 2), "cpu_seconds": round(self.cpu.get(name, 0.0), 2),
                       "peak_rss_mb": round(self.peak.get(name, 0.0))}
                for name, s in self.seconds.items()}


def run_ingest(landing: Path, warehouse_url: str, batch_records: int | None) -> dict:
    from ugc_pipeline.pipeline import ingest_source
    from ugc_pipeline.settings import Settings

    stages = Stages()
    extra = {"batch_records": batch_records} if batch_records else {}
    settings = Settings(landing_uri=str(landing), warehouse_url=warehouse_url, **extra)
    result = ingest_source(SOURCE, DAY, settings, run_id="benchmark", on_stage=stages)
    return {"stages": stages.report(), "records_read": result.records_read, "loaded": result.records_loaded,
            "rejected": result.records_rejected, "batch_records": settings.batch_records}


def run_marts(landing: Path, warehouse_url: str) -> dict:
    from ugc_pipeline.pipeline import build_marts
    from ugc_pipeline.settings import Settings

    stages = Stages()
    stages("marts")
    counts = build_marts(Settings(landing_uri=str(landing), warehouse_url=warehouse_url))
    stages(None)
    return {"stages": stages.report(), "marts_rows": counts}


NAIVE_SUITE = 8  # expectations


def run_naive(landing: Path, work: Path) -> dict:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from sqlalchemy import create_engine, text

    stages = Stages()
    stages("read")
    records = []
    for path in sorted((landing / SOURCE / DAY.isoformat()).glob("*.json")):
        with open(path, encoding="utf-8") as fh:
            records.extend(json.load(fh)["reviews"])
    frame = pd.DataFrame.from_records(records)
    del records
    stages("validate")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, errors="coerce")
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True, errors="coerce")
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = context.data_sources.add_pandas("naive").add_dataframe_asset("reviews") \
        .add_batch_definition_whole_dataframe("all")
    expectations = [
        gxe.ExpectColumnValuesToNotBeNull(column="id"), gxe.ExpectColumnValuesToNotBeNull(column="sku"),
        gxe.ExpectColumnValuesToNotBeNull(column="score"), gxe.ExpectColumnValuesToNotBeNull(column="created_at"),
        gxe.ExpectColumnValuesToBeBetween(column="score", min_value=1, max_value=5),
        gxe.ExpectColumnValuesToBeBetween(column="votes_up", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="votes_down", min_value=0),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["id", "updated_at"]),
    ]
    assert len(expectations) == NAIVE_SUITE
    suite = context.suites.add(gx.ExpectationSuite(name="naive", expectations=expectations))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="naive", data=batch, suite=suite))
    result = definition.run(batch_parameters={"dataframe": frame}, result_format="COMPLETE")
    bad = sorted({i for r in result.results for i in (r.result or {}).get("unexpected_index_list") or []})
    rejects, good = frame.loc[bad], frame.drop(index=bad)
    stages("load")
    engine = create_engine(f"duckdb:///{work / 'naive.duckdb'}")
    good.to_sql("reviews", engine, index=False, chunksize=100_000)
    rejects.astype(str).to_sql("rejects", engine, index=False)
    stages("aggregate")
    with engine.begin() as conn:
        conn.execute(text("create table daily as select cast(created_at as date) as day, sku, count(*) as reviews, "
                          "avg(score) as score from reviews group by all"))
        days = conn.execute(text("select count(*) from daily")).scalar_one()
    stages(None)
    return {"stages": stages.report(), "records_read": len(frame), "loaded": len(good), "rejected": len(rejects),
            "daily_rows": days}


def run_floor(landing: Path, work: Path) -> dict:
    import duckdb

    stages = Stages()
    con = duckdb.connect(str(work / "floor.duckdb"))
    files = str(landing / SOURCE / DAY.isoformat() / "*.json")
    stages("read")
    con.execute("create temp table items as select filename, unnest(reviews) as r, generate_subscripts(reviews, 1) as n "
                "from read_json(?, filename = true, maximum_object_size = 1073741824)", [files])
    stages("validate")  # one query: every rule, the duplicate last (among the rows passing the others)
    con.execute("""
        create temp table checked as
        with typed as (
            select filename, n, r, try_cast(r.created_at as timestamptz) as created_at,
                   concat_ws('; ',
                       case when r.id is null then 'id is present' end,
                       case when r.sku is null then 'sku is present' end,
                       case when r.score is null then 'score is present' end,
                       case when try_cast(r.score as bigint) is null and r.score is not null then 'score is an int' end,
                       case when try_cast(r.score as bigint) not between 1 and 5 then 'score between 1 and 5' end,
                       case when try_cast(r.votes_up as bigint) < 0 then 'votes_up >= 0' end,
                       case when try_cast(r.votes_down as bigint) < 0 then 'votes_down >= 0' end,
                       case when try_cast(r.created_at as timestamptz) is null then 'created_at is a timestamp' end,
                       case when try_cast(r.created_at as timestamptz) >= timestamptz '2025-05-03 00:00:00+02'
                            then 'created_at is not in the future' end) as reasons
            from items)
        select *, case when reasons = '' and row_number() over (partition by r.id, r.updated_at, reasons = ''
                                                                  order by filename desc, n desc) > 1
                       then 'id appears once per version' else reasons end as why
        from typed""")
    con.execute("create table rejects as select filename, n, why as reasons, to_json(r) as raw from checked "
                "where why <> ''")
    stages("load")
    con.execute("create table reviews as select filename, n, cast(r.id as bigint) as id, r.sku, "
                "cast(r.score as integer) as score, r.title, r.content, created_at, "
                "try_cast(r.updated_at as timestamptz) as updated_at, cast(r.votes_up as integer) as votes_up, "
                "cast(r.votes_down as integer) as votes_down, r.reviewer_type, r.deleted, r.archived, "
                "r.is_incentivized from checked where why = ''")
    stages("aggregate")
    con.execute("create table daily as select cast(created_at as date) as day, sku, count(*) as reviews, "
                "avg(score) as score from reviews group by all")
    stages(None)
    read, loaded, rejected, days = con.execute(
        "select (select count(*) from items), (select count(*) from reviews), (select count(*) from rejects), "
        "(select count(*) from daily)").fetchall()[0]
    con.close()
    return {"stages": stages.report(), "records_read": read, "loaded": loaded, "rejected": rejected,
            "daily_rows": days}


# -- the parent: one process per path ------------------------------------------------------------

def run_path(path: str, args, landing: Path, work: Path, warehouse_url: str) -> dict:
    """One path's figures. The pipeline is two processes, as the DAGs run it: the ingest task
    (parse, validate, load), then the marts task (dbt); its seconds add up, its peak is the
    larger of the two."""
    if path != "pipeline":
        return run_child(path, args, landing, work, warehouse_url)
    ingest = run_child("ingest", args, landing, work, warehouse_url)
    marts = run_child("marts", args, landing, work, warehouse_url)
    return {**ingest, "marts_rows": marts["marts_rows"], "stages": {**ingest["stages"], **marts["stages"]},
            "seconds": round(ingest["seconds"] + marts["seconds"], 2),
            "peak_rss_mb": max(ingest["peak_rss_mb"], marts["peak_rss_mb"]),
            "cpu_seconds": round(ingest["cpu_seconds"] + marts["cpu_seconds"], 1),
            "load_average_before": ingest["load_average_before"], "load_average_after": marts["load_average_after"],
            "processes": {"ingest": {k: ingest[k] for k in ("seconds", "peak_rss_mb", "cpu_seconds")},
                          "marts": {k: marts[k] for k in ("seconds", "peak_rss_mb", "cpu_seconds")}}}


def run_child(path: str, args, landing: Path, work: Path, warehouse_url: str) -> dict:
    out = work / f"{path}.json"
    command = [sys.executable, __file__, "--child", path, "--landing", str(landing), "--work", str(work),
               "--out", str(out), "--warehouse-url", warehouse_url]
    if args.batch_records:
        command += ["--batch-records", str(args.batch_records)]
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"the {path} path failed (exit {child.returncode})")
    figures = json.loads(out.read_text())
    figures.update(seconds=round(seconds, 2), peak_rss_mb=round(usage.ru_maxrss / 1024),
                   cpu_seconds=round(usage.ru_utime + usage.ru_stime, 1),
                   load_average_before=[round(x, 2) for x in load_before],
                   load_average_after=[round(x, 2) for x in os.getloadavg()])
    return figures


def print_report(report: dict) -> None:
    rows = report["records"]
    print(f"\n{rows:,} Yotpo reviews ({report['landing_mb']:.0f} MB in {report['files']} files), "
          f"{report['machine']}, {report['date']}")
    print(f"{'path':<9} {'stage':<10} {'seconds':>8} {'records/s':>10} {'peak RSS MB':>12}  load average (1/5/15 min)")
    for name, figures in report["paths"].items():
        for stage, s in figures["stages"].items():
            rate = rows / s["seconds"] if s["seconds"] else 0
            print(f"{name:<9} {stage:<10} {s['seconds']:>8.1f} {rate:>10,.0f} {s['peak_rss_mb']:>12,}  "
                  f"CPU {s.get('cpu_seconds', 0):.1f} s")
        for process, p in figures.get("processes", {}).items():
            print(f"{name:<9} {process + ' proc':<10} {p['seconds']:>8.1f} {rows / p['seconds']:>10,.0f} "
                  f"{p['peak_rss_mb']:>12,}  CPU {p['cpu_seconds']} s")
        load = "before " + "/".join(f"{x:.1f}" for x in figures["load_average_before"]) + ", after " + \
            "/".join(f"{x:.1f}" for x in figures["load_average_after"])
        print(f"{name:<9} {'total':<10} {figures['seconds']:>8.1f} {rows / figures['seconds']:>10,.0f} "
              f"{figures['peak_rss_mb']:>12,}  {load}; CPU {figures['cpu_seconds']} s")
    for key, value in report["ratios"].items():
        print(f"{key}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--paths", default=",".join(PATHS), help="which paths to run (default: all three)")
    parser.add_argument("--batch-records", type=int, default=None,
                        help="UGC_BATCH_RECORDS for the pipeline (default: the pipeline's default)")
    parser.add_argument("--warehouse-url", default=None,
                        help="SQLAlchemy URL of the pipeline's warehouse (default: a DuckDB file in the temporary "
                             "folder); the naive path and the floor always use DuckDB files")
    parser.add_argument("--json", type=Path, default=None, help="write the figures to this file")
    parser.add_argument("--reuse-landing", type=Path, default=None,
                        help="a landing zone an earlier run wrote with the same --rows and --page-size "
                             "(kept with --keep-landing), instead of writing it again")
    parser.add_argument("--keep-landing", type=Path, default=None, help="write the landing zone here and keep it")
    parser.add_argument("--child", choices=("ingest", "marts", "naive", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "ingest":
            figures = run_ingest(args.landing, args.warehouse_url, args.batch_records)
        elif args.child == "marts":
            figures = run_marts(args.landing, args.warehouse_url)
        elif args.child == "naive":
            figures = run_naive(args.landing, args.work)
        else:
            figures = run_floor(args.landing, args.work)
        args.out.write_text(json.dumps(figures))
        return

    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = set(paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown path(s) {', '.join(sorted(unknown))}; choose among {', '.join(PATHS)}")
    with tempfile.TemporaryDirectory(prefix="ugc-bench-") as tmp:
        root = Path(tmp)
        landing = args.reuse_landing or args.keep_landing or root / "landing"
        t0 = time.perf_counter()
        if not args.reuse_landing:
            write_reviews(landing, DAY, args.rows, args.page_size)
        files = sorted((landing / SOURCE / DAY.isoformat()).glob("*.json"))
        size = sum(p.stat().st_size for p in files) / 1e6
        print(f"{'reused' if args.reuse_landing else 'wrote'} {args.rows:,} reviews ({size:.0f} MB, {len(files)} "
              f"files) in {time.perf_counter() - t0:.1f}s")
        url = args.warehouse_url or f"duckdb:///{root / 'warehouse.duckdb'}"
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        report = {"records": args.rows, "landing_mb": round(size, 1), "files": len(files),
                  "machine": f"{os.cpu_count()} cores, {memory:.0f} GB RAM",
                  "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  "warehouse": "postgresql" if url.startswith("postgres") else "duckdb", "paths": {}}
        for path in paths:
            print(f"-- {path}", flush=True)
            report["paths"][path] = run_path(path, args, landing, root, url)
        ratios = {}
        p, n, f = (report["paths"].get(k) for k in PATHS)
        if p and f:
            ingest = sum(s["seconds"] for k, s in p["stages"].items() if k != "marts")
            ratios["pipeline / floor, total seconds (goal <= 2.5)"] = round(p["seconds"] / f["seconds"], 2)
            ratios["pipeline ingest stages (parse+validate+load) / floor stages"] = round(
                ingest / sum(s["seconds"] for s in f["stages"].values()), 2)
            ratios["pipeline / floor, CPU seconds (steadier than wall time on a shared machine)"] = round(
                p["cpu_seconds"] / f["cpu_seconds"], 2)
            ratios["pipeline / floor, peak RSS"] = round(p["peak_rss_mb"] / f["peak_rss_mb"], 2)
        if p and n:
            ratios["naive / pipeline, total seconds (goal >= 12)"] = round(n["seconds"] / p["seconds"], 2)
            ratios["naive / pipeline, CPU seconds"] = round(n["cpu_seconds"] / p["cpu_seconds"], 2)
            ratios["naive / pipeline, peak RSS"] = round(n["peak_rss_mb"] / p["peak_rss_mb"], 2)
        if p:
            ratios["pipeline peak RSS under 1 GB (goal)"] = p["peak_rss_mb"] < 1024
        report["ratios"] = ratios
        print_report(report)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
            print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
