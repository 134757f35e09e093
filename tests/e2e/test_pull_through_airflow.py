"""Pulling through the DAG: ``ugc_ingest`` with pulled sources runs a ``pull_<source>`` task before
each of their loads, against local stand-ins of the platforms' APIs; the warehouse it builds over
consecutive days equals the one built from the same pages dropped into the landing zone by hand.

Every pullable source is pulled, each from its own stand-in (one per source, running for all the
days), fed with the demo sample's records:

- the record APIs (Google, Yotpo, Instagram, TikTok, YouTube) serve on day D every record the
  sample delivered up to D, in its latest version: the incremental pulls (Google, Yotpo) are an
  initial full pull then incremental ones, the others pull their re-pull window again each day;
- the export endpoints (ambassador platform, word-of-mouth survey) serve the file the sample
  delivered on D, byte for byte, and a header-only CSV on a day without one (an empty body is
  refused by the pull: an export with no record still has its header);
- the retailer's SFTP outbox receives the sample's CSV files of day D, named with the date.

The business snapshots and facts are dropped into the landing zone by hand, as in production.

The days are ingested through Airflow one ``ugc_ingest`` run each, then ``ugc_marts`` runs once
(``run_marts_once``, as a backfill with ``--marts-at-end`` does): what is under test is the pull
tasks of the ingest DAG; the marts after every day are tested through Airflow by
``test_marts_by_hand.py``, and built in any order to the same result by ``test_order_independence.py``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest
from support.runs import Run, diff_snapshots, fetch, make_settings, snapshot
from support.sftp_server import SFTPStandIn
from support.standin_exports import CSV, NDJSON, POST_COLUMNS, SURVEY_COLUMNS, ExportStandIn, csv_bytes
from support.standin_google import GoogleBusinessStandIn
from support.standin_instagram import VERSION, InstagramStandIn
from support.standin_tiktok import TikTokStandIn
from support.standin_youtube import YouTubeStandIn
from support.standins import Request, YotpoStandIn
from ugc_pipeline.pipeline import build_marts, ingest_source
from ugc_pipeline.sample import write_sample_landing
from ugc_pipeline.sources import PULLABLE, SOURCES

pytestmark = pytest.mark.airflow

DAYS = [date(2025, 5, 4), date(2025, 5, 5), date(2025, 5, 6)]
PULLED = tuple(PULLABLE)
APP, TOKEN = "maison-verte-app", "e2e-yotpo-token-7f3a"
GOOGLE_CLIENT, GOOGLE_SECRET, GOOGLE_REFRESH = "e2e-client.apps.example", "e2e-google-secret-51c0", "1//e2e-refresh-9d2b"
IG_TOKEN = "EAAe2eInstagramToken0c4d1f"
YOUTUBE_KEY = "AIzaE2eYouTubeKey-88aa02"
AMBASSADOR_TOKEN = "e2e-ambassador-token-3b9e"
WOM_LOGIN, WOM_PASSWORD = "kpi-pipeline", "e2e-wom-password-a71c"
RETAILER_LOGIN, RETAILER_PASSWORD = "retailer-kpi", "e2e-sftp-password-40fe"
INCREMENTAL = ("google_business_reviews", "yotpo_reviews")  # pulled since a cursor per stream
EXPORTS = ("ambassador_posts", "wom_surveys", "retailer_reviews")  # the day's file, nothing else
# the platform of each single-platform UGC source in marts.ugc_daily (ambassador posts have their own)
PLATFORMS = {"google_business_reviews": "google_business", "yotpo_reviews": "yotpo", "retailer_reviews": "retailer",
             "instagram_media": "instagram", "tiktok_videos": "tiktok", "youtube_videos": "youtube"}


# -- the sample, as the platforms would serve it -----------------------------------------------------

def delivered(sample: Path, source: str, day: date) -> Iterator[Path]:
    """The sample's files of ``source`` delivered up to ``day``, in delivery order."""
    base = sample / source
    for folder in sorted(base.iterdir()) if base.is_dir() else []:
        if date.fromisoformat(folder.name) <= day:
            yield from sorted(folder.iterdir())


def delivered_on(sample: Path, source: str, day: date) -> list[Path]:
    folder = sample / source / day.isoformat()
    return sorted(folder.iterdir()) if folder.is_dir() else []


def latest(sample: Path, source: str, day: date, records: Callable[[dict], list], key: str = "id") -> dict[str, dict]:
    """Every record the sample delivered up to ``day``, in its latest version, by native id."""
    found: dict[str, dict] = {}
    for file in delivered(sample, source, day):
        for record in records(json.loads(file.read_bytes())):
            found[str(record[key])] = record
    return found


class SampleYotpo(YotpoStandIn):
    source, conn_id, secrets = "yotpo_reviews", "ugc_yotpo", (TOKEN,)

    def __init__(self, sample: Path):
        super().__init__(APP, TOKEN, [])
        self.sample = sample

    def publish_until(self, day: date) -> None:
        self.reviews = list(latest(self.sample, self.source, day, lambda page: page["reviews"]).values())

    def connection(self) -> dict:
        return {"conn_type": "http", "host": self.url, "login": APP, "password": TOKEN, "extra": {"count": 10}}

    def streams_with_records(self, day: date) -> set[str]:
        return {APP}

    def asked(self) -> int:
        return len(self.requests)


def location_of(review: dict) -> str:
    return review["name"].rsplit("/reviews/", 1)[0]


class SampleGoogle(GoogleBusinessStandIn):
    """The stores' reviews, behind the OAuth refresh-token grant (a fresh access token per pull)."""

    source, conn_id, secrets = "google_business_reviews", "ugc_google_business", (GOOGLE_SECRET, GOOGLE_REFRESH)

    def __init__(self, sample: Path):
        super().__init__(None, {}, client_id=GOOGLE_CLIENT, client_secret=GOOGLE_SECRET, refresh_token=GOOGLE_REFRESH)
        self.sample = sample
        # the locations the connection lists: every store the sample has a review of, by the last day
        self.locations = sorted({location_of(r) for r in self._reviews(DAYS[-1])})

    def _reviews(self, day: date) -> list[dict]:
        return list(latest(self.sample, self.source, day, lambda page: page.get("reviews", []), "reviewId").values())

    def publish_until(self, day: date) -> None:
        reviews = self._reviews(day)
        self.reviews = {loc: [r for r in reviews if location_of(r) == loc] for loc in self.locations}

    def streams_with_records(self, day: date) -> set[str]:
        return {location_of(r) for r in self._reviews(day)}

    def connection(self) -> dict:
        return {"conn_type": "http", "host": self.url, "extra": {
            "refresh_token": GOOGLE_REFRESH, "client_id": GOOGLE_CLIENT, "client_secret": GOOGLE_SECRET,
            "token_uri": f"{self.url}/token", "locations": self.locations, "page_size": 2}}

    def asked(self) -> int:
        return len(self.requests)


class SampleInstagram(InstagramStandIn):
    """The ambassadors' accounts (user node, media with lifetime insights); the Graph API echoes
    the token in ``paging.next``, as the real one does."""

    source, conn_id, secrets = "instagram_media", "ugc_instagram", (IG_TOKEN,)

    def __init__(self, sample: Path):
        nodes = [json.loads(f.read_bytes()) for f in delivered(sample, self.source, DAYS[-1])]
        self.users: dict[str, dict] = {}  # the accounts the connection lists, as first delivered
        for node in nodes:
            self.users.setdefault(node["id"], {"username": node["username"], "followers_count": node["followers_count"]})
        super().__init__({}, dict.fromkeys(self.users, IG_TOKEN), token_in_next=True)
        self.sample = sample

    def publish_until(self, day: date) -> None:
        accounts = {a: {**user, "media": {}} for a, user in self.users.items()}
        for file in delivered(self.sample, self.source, day):
            node = json.loads(file.read_bytes())
            account = accounts[node["id"]]
            account.update(username=node["username"], followers_count=node["followers_count"])
            for media in node["media"]["data"]:
                insights = {i["name"]: i["values"][0]["value"] for i in (media.get("insights") or {}).get("data", [])}
                account["media"][media["id"]] = {**media, "insights": insights}
        self.accounts = {a: {**account, "media": list(account["media"].values())} for a, account in accounts.items()}

    def ids_until(self, day: date) -> set[str]:
        return set(latest(self.sample, self.source, day, lambda node: node["media"]["data"]))

    def connection(self) -> dict:
        return {"conn_type": "http", "host": f"{self.url}/{VERSION}", "password": IG_TOKEN,
                "extra": {"accounts": list(self.users), "page_size": 1}}

    def asked(self) -> int:
        return len(self.requests)


def tiktok_token(username: str) -> str:
    return f"act.e2e-{username}-user-token"


class SampleTikTok(TikTokStandIn):
    """Each account's videos, behind its own user token."""

    source, conn_id = "tiktok_videos", "ugc_tiktok"

    def __init__(self, sample: Path):
        self.sample = sample
        self.users = sorted({v["username"] for v in self._videos(DAYS[-1])})
        super().__init__({tiktok_token(u): u for u in self.users}, {})
        self.secrets = tuple(map(tiktok_token, self.users))

    def _videos(self, day: date) -> list[dict]:
        return list(latest(self.sample, self.source, day, lambda page: page["data"]["videos"]).values())

    def publish_until(self, day: date) -> None:
        videos = self._videos(day)
        self.videos = {u: [v for v in videos if v["username"] == u] for u in self.users}

    def ids_until(self, day: date) -> set[str]:
        return {str(v["id"]) for v in self._videos(day)}

    def connection(self) -> dict:
        return {"conn_type": "http", "host": self.url, "extra": {
            "accounts": [{"username": u, "access_token": tiktok_token(u)} for u in self.users], "max_count": 1}}

    def asked(self) -> int:
        return len(self.requests)


class SampleYouTube(YouTubeStandIn):
    """The videos (and their channels) the sample delivered; a video not published yet is missing
    from the answers, as a deleted or private one is."""

    source, conn_id, secrets = "youtube_videos", "ugc_youtube", (YOUTUBE_KEY,)

    def __init__(self, sample: Path):
        super().__init__(YOUTUBE_KEY, [], [], page_size=1)
        self.sample = sample
        self.video_ids = list(self._items(DAYS[-1], "youtube#videoListResponse"))

    def _items(self, day: date, kind: str) -> dict[str, dict]:
        return latest(self.sample, self.source, day, lambda page: page.get("items", []) if page["kind"] == kind else [])

    def publish_until(self, day: date) -> None:
        self.known = {"videos": self._items(day, "youtube#videoListResponse"),
                      "channels": self._items(day, "youtube#channelListResponse")}

    def ids_until(self, day: date) -> set[str]:
        return set(self._items(day, "youtube#videoListResponse"))

    def connection(self) -> dict:
        return {"conn_type": "http", "host": self.url, "password": YOUTUBE_KEY, "extra": {"video_ids": self.video_ids}}

    def asked(self) -> int:
        return len(self.requests)


class SampleExport(ExportStandIn):
    """An export endpoint serving the file the sample delivered each day (its Content-Type by its
    format), or the export's header alone on a day without one."""

    def __init__(self, sample: Path, source: str, conn_id: str, path: str, columns: list[str], **auth):
        super().__init__({}, **auth)
        self.sample, self.source, self.conn_id, self.path, self.columns = sample, source, conn_id, path, columns
        self.types: dict[str, str] = {}
        self.secrets = tuple(s for s in (self.token, self.basic and self.basic[1]) if s)

    def publish_until(self, day: date) -> None:
        path = self.path.replace("{date}", day.isoformat())
        files = delivered_on(self.sample, self.source, day)
        assert len(files) <= 1, files
        self.exports[path] = [files[0].read_bytes() if files else csv_bytes(self.columns, [])]
        self.types[path] = NDJSON if files and files[0].suffix == ".ndjson" else CSV

    def route(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        self.content_type = self.types.get(request.path, CSV)
        return super().route(request)

    def connection(self) -> dict:
        extra: dict = {"path": self.path}
        if self.basic:
            return {"conn_type": "http", "host": self.url, "login": self.basic[0], "password": self.basic[1],
                    "extra": {**extra, "auth": "basic"}}
        return {"conn_type": "http", "host": self.url, "password": self.token,
                "extra": {**extra, "params": {"updated_since": "{since}"}}}

    def asked(self) -> int:
        return len(self.requests)


class SampleRetailerFeed(SFTPStandIn):
    """The retailer's SFTP outbox: the sample's CSV files of each day, the date in their names."""

    source, conn_id, secrets = "retailer_reviews", "ugc_retailer_feed", (RETAILER_PASSWORD,)

    def __init__(self, sample: Path, root: Path):
        super().__init__(root, RETAILER_LOGIN, RETAILER_PASSWORD)
        self.sample = sample

    def publish_until(self, day: date) -> None:
        for file in delivered_on(self.sample, self.source, day):
            assert f"{day:%Y%m%d}" in file.name, file
            self.put(f"/outbox/{file.name.replace(f'{day:%Y%m%d}', day.isoformat())}", file.read_bytes())

    def connection(self) -> dict:
        return {"conn_type": "sftp", "host": "127.0.0.1", "port": self.port, "login": RETAILER_LOGIN,
                "password": RETAILER_PASSWORD, "extra": {
                    "no_host_key_check": True, "allow_host_key_change": True, "look_for_keys": False,
                    "remote_path": "/outbox", "pattern": "*_{date}.csv"}}

    def asked(self) -> int:
        return self.connections  # every listing and download is one SSH connection


def sample_feeds(sample: Path, sftp_root: Path) -> list:
    return [
        SampleGoogle(sample), SampleYotpo(sample), SampleInstagram(sample), SampleTikTok(sample), SampleYouTube(sample),
        SampleExport(sample, "ambassador_posts", "ugc_ambassador_platform", "/v1/exports/posts/{date}", POST_COLUMNS,
                     token=AMBASSADOR_TOKEN),
        SampleExport(sample, "wom_surveys", "ugc_wom_survey", "/api/v3/surveys/wom-2025/{date}/responses.csv",
                     SURVEY_COLUMNS, basic=(WOM_LOGIN, WOM_PASSWORD)),
        SampleRetailerFeed(sample, sftp_root),
    ]


def dropped_copy(pulled: Path, target: Path) -> Path:
    """The pulled landing zone as if the same pages had been dropped by hand: no manifests, no cursors."""
    shutil.copytree(pulled, target, ignore=shutil.ignore_patterns("_pull.json", "_state"))
    return target


def test_pulled_days_give_the_marts_of_the_same_pages_dropped_by_hand(airflow_runner, tmp_path, monkeypatch):
    sample = tmp_path / "sample"
    write_sample_landing(sample)
    landing = tmp_path / "landing"
    for source in SOURCES:  # the business snapshots and facts the sample delivered; every UGC source is pulled
        if source in PULLED:
            continue
        for day in DAYS:
            if (sample / source / day.isoformat()).is_dir():
                shutil.copytree(sample / source / day.isoformat(), landing / source / day.isoformat())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.ssh of the machine (config, known_hosts)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)  # no agent keys offered before the SFTP password

    with ExitStack() as running:
        feeds = {feed.source: running.enter_context(feed) for feed in sample_feeds(sample, tmp_path / "sftp")}
        assert set(feeds) == set(PULLED)
        for feed in feeds.values():
            monkeypatch.setenv(f"AIRFLOW_CONN_{feed.conn_id.upper()}", json.dumps(feed.connection()))
        monkeypatch.setenv("UGC_PULL_SOURCES", ",".join(PULLED))
        monkeypatch.setenv("UGC_PULL_LOOKBACK_DAYS", "1")
        settings = make_settings(landing, tmp_path / "pulled.duckdb", gx_dir=tmp_path / "gx")
        settings = type(settings)(**{**settings.__dict__, "pull_sources": ",".join(PULLED), "pull_lookback_days": 1})
        for day in DAYS:
            for feed in feeds.values():
                feed.publish_until(day)
            [result] = airflow_runner.run_days([day], settings, build_marts_each_day=False, progress=lambda _: None)
            assert result.ok, result
        assert airflow_runner.run_marts_once(progress=lambda _: None) == "success"
        asked = {source: feed.asked() for source, feed in feeds.items()}
        yotpo_requests = list(feeds["yotpo_reviews"].requests)
        before = snapshot(Run("pulled", settings, tmp_path / "pulled.duckdb"))
        # rerunning a pulled day requests nothing from any platform and changes nothing
        [rerun] = airflow_runner.run_days([DAYS[1]], settings, build_marts_each_day=False, progress=lambda _: None)
        assert rerun.ok and {source: feed.asked() for source, feed in feeds.items()} == asked
    assert all(asked.values()), asked

    # Yotpo: the first pull took everything; the next ones asked since the cursor minus one day
    sinces = [r.query.get("since_updated_at") for r in yotpo_requests if r.query.get("page") == "1"]
    assert sinces[0] is None and all(sinces[1:]) and len(sinces) == len(DAYS)
    assert all(r.query["utoken"] == TOKEN for r in yotpo_requests)
    assert len(feeds["google_business_reviews"].issued) == len(DAYS)  # one access token per pull
    for source in PULLED:
        folders = {p.parent.name for p in (landing / source).rglob("*") if p.is_file() and p.parent.name != "_state"}
        assert folders == {d.isoformat() for d in DAYS}, source
    secrets = [s for feed in feeds.values() for s in feed.secrets] + feeds["google_business_reviews"].issued
    landed = b"".join(p.read_bytes() for p in landing.rglob("*") if p.is_file())
    assert not [s for s in secrets if s.encode() in landed]
    assert b"access_token=***" in landed  # the token the Graph API echoed in paging.next, redacted

    pulled = Run("pulled", settings, tmp_path / "pulled.duckdb")
    assert diff_snapshots(before, snapshot(pulled)) == []
    runs = fetch(pulled, "select source, delivery_date, status, files_read, records_read, pull_requests, pull_pages, "
                         "pull_records, pull_retries, pull_cursor from audit.pipeline_runs "
                         f"where source in ({', '.join(map(repr, PULLED))}) order by source, delivery_date, started_at")
    for source in PULLED:
        mine = [{k: v for k, v in r.items() if k != "source"} for r in runs if r["source"] == source]
        # one row per day, and one more for the rerun (which reports the day's pull as it was made)
        assert [(r["delivery_date"], r["status"]) for r in mine] == [
            (d.isoformat(), "success") for d in (DAYS[0], DAYS[1], DAYS[1], DAYS[2])], (source, mine)
        assert mine[1] == mine[2], source
        for run in mine:
            day = date.fromisoformat(run["delivery_date"])
            assert run["pull_pages"] == run["files_read"] > 0 and run["pull_records"] == run["records_read"], (source, run)
            assert run["pull_requests"] >= run["pull_pages"] and run["pull_retries"] == 0, (source, run)
            if delivered_on(sample, source, day):  # the sample delivered that day: so did the pull
                assert run["records_read"] > 0, (source, run)
            elif source in EXPORTS:  # no export that day: the header alone
                assert run["records_read"] == 0, (source, run)
            if source in INCREMENTAL:  # a cursor for every stream that ever had a record
                cursor = json.loads(run["pull_cursor"])
                assert set(cursor) == feeds[source].streams_with_records(day), (source, run)
                assert all(v.startswith("2025-0") for v in cursor.values()), (source, run)
            else:
                assert run["pull_cursor"] is None, (source, run)
    assert not [s for s in secrets if s in json.dumps(fetch(pulled, "select * from audit.pipeline_runs"), default=str)]
    # the full re-pulls (no cursor) landed every post published by then, paging included
    for source in ("instagram_media", "tiktok_videos", "youtube_videos"):
        for day in DAYS:
            rows = fetch(pulled, f"select id from raw.{source} where delivery_date = :day", day=day)
            assert sorted(r["id"] for r in rows) == sorted(feeds[source].ids_until(day)), (source, day)
    rejected = fetch(pulled, "select source, delivery_date, file, position, reasons from audit.rejected_records")
    assert rejected == []

    # the same pages dropped by hand, loaded without any pull
    by_hand_landing = dropped_copy(landing, tmp_path / "by_hand")
    by_hand = Run("by_hand", make_settings(by_hand_landing, tmp_path / "by_hand.duckdb"), tmp_path / "by_hand.duckdb")
    for day in DAYS:
        for source in SOURCES:
            ingest_source(source, day, by_hand.settings, f"by-hand-{day}")
    build_marts(by_hand.settings)
    assert fetch(by_hand, "select count(*) as n from audit.pipeline_runs where pull_requests is not null") == [{"n": 0}]
    assert diff_snapshots(snapshot(by_hand), snapshot(pulled)) == []

    # the marts count the UGC of every pulled platform that had some in those days
    ugc = {r["platform"]: r["n"] for r in fetch(pulled, "select platform, sum(ugc_count) as n from marts.ugc_daily "
                                                        "group by platform")}
    had = [s for s in PLATFORMS if any(delivered_on(sample, s, d) for d in DAYS)]
    assert had == list(PLATFORMS) and all(ugc.get(PLATFORMS[s], 0) > 0 for s in had), ugc
    counted = {r["source"]: r["n"] for r in fetch(pulled, "select source, count(*) as n from "
                                                          "intermediate.int_ugc_items__enriched where is_counted "
                                                          "group by source")}
    assert counted.get("ambassador_posts", 0) > 0, counted  # the declared posts, under their own platform


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
