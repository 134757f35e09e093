"""An analyst keeps a DuckDB session open on the published read-only copy while a daily run
(``ugc_ingest`` + ``ugc_marts``, through Airflow) goes on: the run succeeds, the open session
still sees the previous state, whole, and a session opened afterwards sees the new one. The same
run writes the HTML report (the ``write_report`` task of ``ugc_marts``).

The readers are separate processes, as an analyst's notebook is: within one process DuckDB hands
a new connection to a file already open in that process the same database (the old one)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from support.runs import copy_run
from ugc_pipeline.publish import publish_readonly_copy, published_path

NEW_DAY = date(2025, 5, 9)  # the day after the hand-made landing zone's last delivery
NEW_REVIEW = {"id": 2001, "sku": "MV-OLV-500", "score": 5, "title": "Excellente", "content": "Excellente huile",
              "created_at": "2025-05-09T07:00:00.000Z", "updated_at": "2025-05-09T07:00:00.000Z", "votes_up": 0,
              "votes_down": 0, "name": "Reviewer 2001", "email": "r2001@example.com",
              "reviewer_type": "verified_buyer", "deleted": False, "archived": False, "is_incentivized": False,
              "incentive_type": None}

# What a reader sees: every mart's row count and a few totals, read in one transaction. It prints
# a line, then again each time it is told to, on the same connection, until its input closes.
READER = r"""
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
def state():
    con.execute("begin transaction")
    marts = [t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
    seen = {t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in marts}
    seen["ugc_items"] = con.execute("select sum(ugc_count) from marts.ugc_daily").fetchone()[0]
    seen["last_kpi_day"] = str(con.execute("select max(kpi_date) from marts.ugc_daily").fetchone()[0])
    seen["runs"] = con.execute("select count(*) from audit.pipeline_runs").fetchone()[0]
    con.execute("commit")
    return seen
print(json.dumps(state()), flush=True)
for _ in sys.stdin:
    print(json.dumps(state()), flush=True)
"""


def _read_once(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", READER, str(path)], input="", capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[0])


def test_an_open_reader_never_blocks_a_run_and_sees_the_old_state_until_it_reconnects(
        airflow_runner, direct_runs, landing, tmp_path):
    land = tmp_path / "landing"
    shutil.copytree(landing, land)
    review_file = land / "yotpo_reviews" / NEW_DAY.isoformat() / "reviews_p1.json"
    review_file.parent.mkdir(parents=True)
    review_file.write_text(json.dumps({"reviews": [NEW_REVIEW]}), encoding="utf-8")
    run = copy_run(direct_runs["forward"], tmp_path, "reader")
    settings = replace(run.settings, landing_uri=str(land), gx_dir=str(tmp_path / "gx"),
                       report_dir=str(tmp_path / "report"))
    copy = published_path(settings)
    assert copy == tmp_path / "reader_readonly.duckdb"  # beside the warehouse by default
    publish_readonly_copy(settings)  # what the previous day's run published

    reader = subprocess.Popen([sys.executable, "-c", READER, str(copy)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        before = json.loads(reader.stdout.readline())
        assert before["ugc_items"] > 0 and before["last_kpi_day"] < NEW_DAY.isoformat()

        results = airflow_runner.run_days([NEW_DAY], settings)

        assert [(r.ingest_state, r.marts_state, r.failed_tasks) for r in results] == [("success", "success", [])]
        reader.stdin.write("again\n")
        reader.stdin.flush()
        still = json.loads(reader.stdout.readline())
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)
    assert reader.returncode == 0, reader.stderr.read()
    assert still == before  # the open session: the old copy, whole

    after = _read_once(copy)  # a new session: the new copy
    assert after["ugc_items"] == before["ugc_items"] + 1
    assert after["last_kpi_day"] == NEW_DAY.isoformat()
    assert after["runs"] > before["runs"]
    import duckdb

    con = duckdb.connect(str(run.warehouse_file), read_only=True)
    try:  # the new copy is the warehouse as the run left it
        assert con.execute("select sum(ugc_count) from marts.ugc_daily").fetchone()[0] == after["ugc_items"]
        assert con.execute("select count(*) from audit.pipeline_runs").fetchone()[0] == after["runs"]
    finally:
        con.close()
    assert copy.stat().st_mode & 0o777 == 0o444
    assert not list(tmp_path.glob(".*publishing"))  # no temporary file left behind

    # the same ugc_marts run wrote the report, with a page for the new KPI day
    report = tmp_path / "report"
    assert (report / "index.html").is_file()
    page = (report / f"day-{NEW_DAY.isoformat()}.html").read_text(encoding="utf-8")
    assert 'data-kpi="ugc_items_day" data-value="1.0"' in page
