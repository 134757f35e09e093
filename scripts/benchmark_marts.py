"""Benchmark of the marts step (the dbt project) on top of a short and a long history.

    .venv/bin/python scripts/benchmark_marts.py [--history 7 365] [--airflow] [--json out.json]

For each history length H: a fresh DuckDB warehouse gets H delivery days of demo-scale raw data
(about 200 records a day: reviews, some late or edited, campaign posts with growing metrics,
survey answers, web conversion and store sales of the day plus restatements of earlier days,
product and roster snapshots), the marts are built once, then one more delivery day is loaded
and the daily marts step is timed. The step runs as it does under Airflow: in a new process
(``transform.build_marts``: ``dbt build`` of views, incremental marts and tests, then
``dbt docs generate``), with the dbt target folder of the earlier runs (partial parsing). dbt's
own start-up is timed the same way with a command that selects nothing. With ``--airflow``, one
more day is loaded and the whole ``ugc_marts`` DAG (``dbt_build``, the Cosmos task group of one
task per model, ``summarise``) is run through Airflow's ``dag.test`` in a new process, on a
throwaway Airflow home: the DAG run's seconds and the process's. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "include"))

from ugc_pipeline import warehouse  # noqa: E402
from ugc_pipeline.sources import raw_tables  # noqa: E402

TABLES = {t.name: t for t in raw_tables()}
BASE = date(2025, 1, 1)
SKUS = [f"SKU-{i}" for i in range(10)]
STORES = [(f"ST-{i}", f"Z{i % 4}") for i in range(40)]
AMBASSADORS = [f"A{i}" for i in range(30)]
TIMEZONE = "Europe/Paris"


def ts(day: date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:15:00Z"


def day_content(i: int, rng: random.Random) -> dict[str, list[dict]]:
    day = BASE + timedelta(days=i)
    out: dict[str, list[dict]] = {}
    if i % 7 == 0:  # weekly snapshots
        out["products"] = [{"sku": s, "gtin": f"{n:013d}", "product_name": f"Product {n}", "brand": "Brand",
                            "category": "food"} for n, s in enumerate(SKUS)]
        out["stores"] = [{"store_id": s, "google_location_id": f"loc-{s}", "brand": "Brand", "zone_id": z,
                          "city": "Lille"} for s, z in STORES]
        out["campaigns"] = [{"campaign_id": f"CMP-{m}", "brand": "Brand", "sku": SKUS[m % len(SKUS)],
                             "start_date": (BASE + timedelta(days=30 * m + 10)).isoformat(),
                             "end_date": (BASE + timedelta(days=30 * m + 30)).isoformat(),
                             "hashtags": f"#campaign{m}", "exposed_zone_ids": f"Z{m % 4}"} for m in range(13)]
        out["ambassadors"] = [{"ambassador_id": a, "platform": "instagram", "handle": f"@{a.lower()}",
                               "followers": str(rng.choice([300, 800, 5000, 150000])), "zone_id": "Z1"}
                              for a in AMBASSADORS]
    campaign = f"CMP-{max(0, (i - 10) // 30)}"
    out["yotpo_reviews"] = [
        {"id": f"R{i}-{n}" if rng.random() > 0.1 else f"R{max(0, i - rng.randint(1, 5))}-{n}",
         "sku": rng.choice(SKUS), "score": str(rng.randint(1, 5)), "title": "t", "content": rng.choice(["", "good"]),
         "created_at": ts(BASE + timedelta(days=max(0, i - rng.choice([0, 0, 0, 1, 3]))), rng.randint(0, 23)),
         "updated_at": ts(day, 1), "deleted": "true" if rng.random() < 0.02 else "false",
         "archived": "false", "is_incentivized": rng.choice(["false", "true"])} for n in range(100)]
    out["ambassador_posts"] = [
        {"post_id": f"P{i - back}-{n}", "ambassador_id": rng.choice(AMBASSADORS), "campaign_id": campaign,
         "platform": "instagram", "post_url": f"https://www.instagram.com/p/P{i - back}x{n}/",
         "content_type": rng.choice(["photo", "recipe", "video"]), "posted_at": ts(BASE + timedelta(days=i - back), 10),
         "followers_at_post": "", "likes": str(10 * (back + 1)), "comments": str(back), "shares": "",
         "views": str(100 * (back + 1))}
        for back in range(min(i, 3) + 1) for n in range(5)]
    out["wom_surveys"] = [
        {"response_id": f"W{i}-{n}", "ambassador_id": rng.choice(AMBASSADORS), "campaign_id": campaign,
         "answered_at": ts(day, 12), "people_told": str(rng.randint(0, 20)), "tried_product": "yes",
         "recommend_score": "9"} for n in range(10)]
    facts = [i] + ([i - 2] if i >= 2 else [])  # today and a restatement of the day before yesterday
    out["web_conversion"] = [{"date": (BASE + timedelta(days=d)).isoformat(), "sku": s,
                              "sessions": str(rng.randint(50, 500)), "orders": str(rng.randint(0, 40)), "revenue": "1"}
                             for d in facts for s in SKUS]
    out["store_sales"] = [{"date": (BASE + timedelta(days=d)).isoformat(), "store_id": s, "sku": SKUS[0],
                           "units": str(rng.randint(0, 20)), "revenue": "1"} for d in facts for s, _ in STORES[:20]]
    return out


def load_day(engine, i: int, content: dict[str, list[dict]]) -> int:
    day = BASE + timedelta(days=i)
    n = 0
    with engine.begin() as conn:
        for name, rows in content.items():
            table = TABLES[name]
            unknown = {k for r in rows for k in r} - {c.name for c in table.columns}
            assert not unknown, f"raw.{name} has no column {', '.join(sorted(unknown))} (raw columns: native names)"
            cols = {c.name: pa.array([r.get(c.name) or None for r in rows], pa.string()) for c in table.columns}
            cols["source_file"] = pa.array([f"{name}.json"] * len(rows), pa.string())
            cols["record_number"] = pa.array(range(1, len(rows) + 1), pa.int64())
            cols["record_position"] = pa.array([f"$[{k}]" for k in range(len(rows))], pa.string())
            n += warehouse.replace_delivery(conn, table, day, pa.table(cols), run_id=f"bench-{i}")
    return n


STEP = """
import json, sys, time
t0 = time.perf_counter()
from ugc_pipeline.settings import Settings
from ugc_pipeline import transform
settings = Settings(landing_uri=".", warehouse_url=sys.argv[1], timezone=sys.argv[2], dbt_dir=sys.argv[3])
if sys.argv[4] == "startup":
    transform.run_dbt(settings.warehouse_url, ["run", "--select", "tag:no_model_has_this_tag"],
                      timezone=settings.timezone, dbt_dir=settings.dbt_dir)
else:
    transform.build_marts(settings)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


DAG_RUN = """
import json, os, sys, time
t0 = time.perf_counter()
from ugc_pipeline import runner
from ugc_pipeline.settings import Settings
runner.configure_airflow()
settings = Settings(landing_uri=".", warehouse_url=sys.argv[1], timezone=sys.argv[2], dbt_dir=sys.argv[3])
runner.export_settings(settings)
runner.migrate_metadata_db()
runner.ensure_pool(settings)
t1 = time.perf_counter()
state = runner.run_marts_once(progress=lambda _m: None)
t2 = time.perf_counter()
print(json.dumps({"state": state, "dag_run_s": round(t2 - t1, 2), "process_s": round(t2 - t0, 2)}))
"""


def dag_run(url: str, dbt_dir: Path, airflow_home: Path) -> dict:
    env = {**os.environ, "AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags")}
    done = subprocess.run([sys.executable, "-c", DAG_RUN, url, TIMEZONE, str(dbt_dir)], check=True,
                          capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def step(url: str, dbt_dir: Path, what: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", STEP, url, TIMEZONE, str(dbt_dir), what], check=True,
                   capture_output=True, text=True)
    return round(time.perf_counter() - t0, 2)


def bench(history: int, work: Path, airflow: bool = False) -> dict:
    rng = random.Random(history)
    url = f"duckdb:///{work / f'history_{history}.duckdb'}"
    dbt_dir = work / f"dbt_{history}"
    engine = warehouse.create_warehouse_engine(url)
    warehouse.ensure_warehouse(engine)
    records = sum(load_day(engine, i, day_content(i, rng)) for i in range(history))
    engine.dispose()
    first = step(url, dbt_dir, "build")  # the initial build over the whole history
    engine = warehouse.create_warehouse_engine(url)
    new_records = load_day(engine, history, day_content(history, rng))
    engine.dispose()
    daily = step(url, dbt_dir, "build")
    startup = step(url, dbt_dir, "startup")
    out = {"history_days": history, "raw_records": records, "initial_build_s": first,
           "new_day_records": new_records, "daily_marts_step_s": daily, "dbt_startup_s": startup,
           "daily_minus_startup_s": round(daily - startup, 2)}
    if airflow:
        engine = warehouse.create_warehouse_engine(url)
        load_day(engine, history + 1, day_content(history + 1, rng))
        engine.dispose()
        run = dag_run(url, dbt_dir, work / f"airflow_{history}")
        assert run["state"] == "success", run
        out.update({"marts_dag_run_s": run["dag_run_s"], "marts_dag_process_s": run["process_s"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, nargs="+", default=[7, 365])
    parser.add_argument("--airflow", action="store_true", help="also time the ugc_marts DAG through dag.test")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ugc-bench-marts-") as tmp:
        results = [bench(h, Path(tmp), args.airflow) for h in args.history]
    out = {"benchmark": "marts", "results": results}
    if len(results) >= 2:
        out["long_over_short"] = round(results[-1]["daily_marts_step_s"] / results[0]["daily_marts_step_s"], 2)
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
