"""Pulling through the DAG: ``ugc_ingest`` with pulled sources runs a ``pull_<source>`` task before
each of their loads, against local stand-ins of the platforms' APIs; the warehouse it builds over
consecutive days equals the one built from the same pages dropped into the landing zone by hand.

The stand-ins serve the demo sample's records: on day D, every record the sample delivered up to
D (latest version), so that the pulls are an initial full pull then incremental ones.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from e2e_support import Run, diff_snapshots, fetch, make_settings, snapshot
from support.standins import YotpoStandIn
from ugc_pipeline.pipeline import build_marts, ingest_source
from ugc_pipeline.sample import write_sample_landing
from ugc_pipeline.sources import SOURCES

pytestmark = pytest.mark.airflow

DAYS = [date(2025, 5, 4), date(2025, 5, 5), date(2025, 5, 6)]
PULLED = ("yotpo_reviews",)
APP, TOKEN = "maison-verte-app", "e2e-yotpo-token-7f3a"


class SampleYotpo(YotpoStandIn):
    """The Yotpo stand-in fed with the sample's deliveries, day by day."""

    def __init__(self, sample: Path):
        super().__init__(APP, TOKEN, [])
        self.sample = sample

    def publish_until(self, day: date) -> None:
        latest: dict[int, dict] = {}
        for folder in sorted((self.sample / "yotpo_reviews").iterdir()):
            if date.fromisoformat(folder.name) <= day:
                for page in sorted(folder.iterdir()):
                    for review in json.loads(page.read_bytes())["reviews"]:
                        latest[review["id"]] = review
        self.reviews = list(latest.values())


def dropped_copy(pulled: Path, target: Path) -> Path:
    """The pulled landing zone as if the same pages had been dropped by hand: no manifests, no cursors."""
    shutil.copytree(pulled, target, ignore=shutil.ignore_patterns("_pull.json", "_state"))
    return target


def test_pulled_days_give_the_marts_of_the_same_pages_dropped_by_hand(airflow_runner, tmp_path, monkeypatch):
    sample = tmp_path / "sample"
    write_sample_landing(sample)
    landing = tmp_path / "landing"
    for source in SOURCES:  # everything the sample delivered up to the last day, but the pulled sources
        if source in PULLED:
            continue
        for day in DAYS:
            if (sample / source / day.isoformat()).is_dir():
                shutil.copytree(sample / source / day.isoformat(), landing / source / day.isoformat())

    with SampleYotpo(sample) as api:
        monkeypatch.setenv("AIRFLOW_CONN_UGC_YOTPO", json.dumps(
            {"conn_type": "http", "host": api.url, "login": APP, "password": TOKEN, "extra": {"count": 10}}))
        monkeypatch.setenv("UGC_PULL_SOURCES", ",".join(PULLED))
        monkeypatch.setenv("UGC_PULL_LOOKBACK_DAYS", "1")
        settings = make_settings(landing, tmp_path / "pulled.duckdb", gx_dir=tmp_path / "gx")
        settings = type(settings)(**{**settings.__dict__, "pull_sources": ",".join(PULLED), "pull_lookback_days": 1})
        for day in DAYS:
            api.publish_until(day)
            [result] = airflow_runner.run_days([day], settings, progress=lambda _: None)
            assert result.ok, result
        requests = list(api.requests)
        before = snapshot(Run("pulled", settings, tmp_path / "pulled.duckdb"))
        # rerunning a pulled day requests nothing and changes nothing
        [rerun] = airflow_runner.run_days([DAYS[1]], settings, progress=lambda _: None)
        assert rerun.ok and api.requests == requests

    # the first pull took everything; the next ones asked since the cursor minus one day
    sinces = [r.query.get("since_updated_at") for r in requests if r.query.get("page") == "1"]
    assert sinces[0] is None and all(sinces[1:]) and len(sinces) == len(DAYS)
    assert all(r.query["utoken"] == TOKEN for r in requests)
    folders = {p.parent.name for p in (landing / "yotpo_reviews").rglob("*.json") if p.parent.name != "_state"}
    assert folders == {d.isoformat() for d in DAYS}

    pulled = Run("pulled", settings, tmp_path / "pulled.duckdb")
    assert diff_snapshots(before, snapshot(pulled)) == []
    runs = fetch(pulled, "select delivery_date, status, files_read, records_read, pull_requests, pull_pages, "
                         "pull_records, pull_retries, pull_cursor from audit.pipeline_runs "
                         "where source = 'yotpo_reviews' order by delivery_date, started_at")
    # one row per day, and one more for the rerun (which reports the day's pull as it was made)
    assert [(r["delivery_date"], r["status"]) for r in runs] == [
        (d.isoformat(), "success") for d in (DAYS[0], DAYS[1], DAYS[1], DAYS[2])]
    assert runs[1] == runs[2]
    for run in runs:
        assert run["pull_pages"] == run["files_read"] and run["pull_records"] == run["records_read"] > 0
        assert run["pull_requests"] >= run["pull_pages"] and run["pull_retries"] == 0
        assert json.loads(run["pull_cursor"])[APP].startswith("2025-05-0")
    assert TOKEN not in json.dumps(fetch(pulled, "select * from audit.pipeline_runs"), default=str)

    # the same pages dropped by hand, loaded without any pull
    by_hand_landing = dropped_copy(landing, tmp_path / "by_hand")
    by_hand = Run("by_hand", make_settings(by_hand_landing, tmp_path / "by_hand.duckdb"), tmp_path / "by_hand.duckdb")
    for day in DAYS:
        for source in SOURCES:
            ingest_source(source, day, by_hand.settings, f"by-hand-{day}")
        build_marts(by_hand.settings)
    assert fetch(by_hand, "select count(*) as n from audit.pipeline_runs where pull_requests is not null") == [{"n": 0}]
    assert diff_snapshots(snapshot(by_hand), snapshot(pulled)) == []
    ugc = fetch(pulled, "select sum(ugc_count) as n from marts.ugc_daily where platform = 'yotpo'")
    assert ugc[0]["n"] > 0


def test_a_failed_pull_is_recorded_and_its_day_not_loaded(airflow_runner, tmp_path, monkeypatch):
    """A revoked token: the pull fails at once (no retry), the load records the pull's failure in
    audit.pipeline_runs and loads nothing of the source; the token appears nowhere."""
    landing = tmp_path / "landing"
    landing.mkdir()
    day = DAYS[0]
    with YotpoStandIn(APP, "a-newer-token", []) as api:
        monkeypatch.setenv("AIRFLOW_CONN_UGC_YOTPO", json.dumps(
            {"conn_type": "http", "host": api.url, "login": APP, "password": TOKEN}))
        monkeypatch.setenv("UGC_PULL_SOURCES", "yotpo_reviews")
        settings = make_settings(landing, tmp_path / "wh.duckdb", gx_dir=tmp_path / "gx")
        settings = type(settings)(**{**settings.__dict__, "pull_sources": "yotpo_reviews"})
        [result] = airflow_runner.run_days([day], settings, progress=lambda _: None)
    assert len(api.requests) == 1  # the 401 was not retried, by urllib3 nor by Airflow
    assert not result.ok and {"pull_yotpo_reviews", "ingest_yotpo_reviews"} <= set(result.failed_tasks)
    run = Run("failed", settings, tmp_path / "wh.duckdb")
    [row] = fetch(run, "select status, message, pull_requests, pull_pages from audit.pipeline_runs "
                       "where source = 'yotpo_reviews'")
    assert row["status"] == "failed" and (row["pull_requests"], row["pull_pages"]) == (1, 0)
    assert "did not complete" in row["message"] and "HTTP 401" in row["message"] and TOKEN not in row["message"]
    assert fetch(run, "select count(*) as n from raw.yotpo_reviews") == [{"n": 0}]
    logs = "".join(p.read_text(errors="replace") for p in Path(airflow_runner.configure_airflow()["AIRFLOW_HOME"])
                   .rglob("*.log") if "pull_yotpo_reviews" in str(p))
    assert TOKEN not in logs
