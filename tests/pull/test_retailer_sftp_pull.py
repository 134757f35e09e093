"""The retailer feed over SFTP, against a local SFTP server: the connection given to Airflow as
``AIRFLOW_CONN_UGC_RETAILER_FEED`` (read by ``Credentials.from_airflow`` and by Airflow's
SFTPHook, as in a task), the day's file by ``{date}`` template or every file matching a pattern,
landed byte for byte under its own name, a wrong password or an unknown host key stopping at once,
a missing file named, a dropped connection retried, a rerun that connects to nothing, and the
loader reading the files."""

from __future__ import annotations

import json
import time

import airflow.providers.sftp.hooks.sftp  # noqa: F401  (imported here: the timings below measure the pull)
import pytest
from support.pull import DAY, landed, parsed
from support.sftp_server import Login, SFTPStandIn
from support.standin_exports import TRICKY_TEXT, reviews_csv
from ugc_pipeline.extract import Credentials, PullError, pull_record, pull_source
from ugc_pipeline.landing import Landing

USER, PASSWORD = "retailer-kpi", "sftp-secret-password-1"


@pytest.fixture
def feed(tmp_path, monkeypatch):
    """The SFTP server, and a function that defines the Airflow connection pointing at it."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.ssh of the machine (config, known_hosts)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)  # no agent keys offered before the password
    with SFTPStandIn(tmp_path / "sftp", USER, PASSWORD) as server:

        def define(password: str = PASSWORD, **extra) -> None:
            monkeypatch.setenv("AIRFLOW_CONN_UGC_RETAILER_FEED", json.dumps({
                "conn_type": "sftp", "host": "127.0.0.1", "port": server.port, "login": USER, "password": password,
                "extra": {"no_host_key_check": True, "allow_host_key_change": True, "look_for_keys": False,
                          "backoff_factor": 0, **extra}}))

        server.define = define
        yield server


def pull(settings, **kw):
    return pull_source("retailer_reviews", DAY, settings, Credentials.from_airflow, **kw)


def test_the_day_file_lands_byte_for_byte_under_its_own_name(landing, settings, feed):
    body = feed.put(f"/outbox/reviews_{DAY}.csv", reviews_csv(0, 4))
    feed.put("/outbox/reviews_2025-05-05.csv", reviews_csv(10, 2))  # another day: not pulled
    feed.define(remote_path="/outbox/reviews_{date}.csv")
    result = pull(settings)
    assert landed(landing, "retailer_reviews") == {f"reviews_{DAY}.csv": body}
    assert feed.opened == [f"/outbox/reviews_{DAY}.csv"]
    assert feed.logins == [Login(USER, True)] * 2  # one connection to check the file, one to download it
    assert (result.requests, result.pages, result.records, result.retries) == (2, 1, 4, 0)
    manifest = pull_record(Landing(str(landing)), "retailer_reviews", DAY)
    assert manifest["status"] == "complete" and manifest["files"] == [f"reviews_{DAY}.csv"]
    assert PASSWORD not in json.dumps(manifest)


def test_every_file_matching_the_pattern_is_pulled_and_read_by_the_loader(landing, settings, feed):
    french = feed.put(f"/outbox/reviews_fr_{DAY}.csv", reviews_csv(0, 3, french=True))  # ; and a BOM
    belgian = feed.put(f"/outbox/reviews_be_{DAY}.csv", reviews_csv(100, 2))
    feed.put("/outbox/reviews_fr_2025-05-05.csv", reviews_csv(200, 2))  # another day
    feed.put(f"/outbox/.reviews_nl_{DAY}.csv", b"review_id,rat")  # an upload in progress
    feed.put(f"/outbox/reviews_nl_{DAY}.csv.part", b"review_id,rat")
    feed.define(remote_path="/outbox", pattern="reviews_*{date}*.csv")
    result = pull(settings)
    assert landed(landing, "retailer_reviews") == {f"reviews_be_{DAY}.csv": belgian, f"reviews_fr_{DAY}.csv": french}
    assert feed.listed == ["/outbox"]
    assert feed.opened == [f"/outbox/reviews_be_{DAY}.csv", f"/outbox/reviews_fr_{DAY}.csv"]
    assert (result.requests, result.pages, result.records) == (3, 2, 5)  # the listing, two downloads
    rows = parsed(landing, "retailer_reviews")["retailer_reviews"].set_index("review_id")
    assert sorted(rows.index) == ["RV00000", "RV00001", "RV00002", "RV00100", "RV00101"]
    assert rows.loc["RV00000", "review_text"] == TRICKY_TEXT  # quoted ; , quotes and newline intact
    assert rows.loc["RV00100", "review_text"] == TRICKY_TEXT


def test_a_wrong_password_stops_at_once_without_leaking_it(landing, settings, feed):
    feed.put(f"/outbox/reviews_{DAY}.csv", reviews_csv(0, 2))
    feed.define(password="an-old-sftp-password", remote_path="/outbox/reviews_{date}.csv")
    t0 = time.monotonic()
    with pytest.raises(PullError) as err:
        pull(settings)
    assert time.monotonic() - t0 < 3  # no retry (Airflow's hook alone would retry 3 times, 3-5 s apart)
    assert feed.logins == [Login(USER, False)] and feed.opened == []
    message = str(err.value)
    assert "refused the login 'retailer-kpi'" in message and "an-old-sftp-password" not in message
    manifest = pull_record(Landing(str(landing)), "retailer_reviews", DAY)
    assert manifest["status"] == "failed" and "an-old-sftp-password" not in json.dumps(manifest)
    assert manifest["requests"] == 1
    assert landed(landing, "retailer_reviews") == {}


def test_a_missing_file_is_named_in_the_error(landing, settings, feed):
    feed.put("/outbox/reviews_2025-05-05.csv", reviews_csv(0, 2))  # yesterday's only
    feed.define(remote_path="/outbox/reviews_{date}.csv")
    with pytest.raises(PullError, match=rf"no file /outbox/reviews_{DAY}\.csv on the SFTP server of connection "
                                        rf"'ugc_retailer_feed' \(127\.0\.0\.1:{feed.port}\)"):
        pull(settings)
    feed.define(remote_path="/outbox", pattern="reviews_*{date}*.csv")
    with pytest.raises(PullError, match=rf"no file matching /outbox/reviews_\*{DAY}\*\.csv"):
        pull(settings, force=True)
    assert feed.opened == [] and landed(landing, "retailer_reviews") == {}
    assert pull_record(Landing(str(landing)), "retailer_reviews", DAY)["status"] == "failed"


def test_a_dropped_connection_is_retried(landing, settings, feed):
    body = feed.put(f"/outbox/reviews_{DAY}.csv", reviews_csv(0, 3))
    feed.define(remote_path="/outbox/reviews_{date}.csv")
    feed.drop_next(1)
    result = pull(settings)
    assert feed.connections == 3 and len(feed.logins) == 2
    assert (result.requests, result.retries, result.records) == (3, 1, 3)
    assert landed(landing, "retailer_reviews") == {f"reviews_{DAY}.csv": body}


def test_a_rerun_of_a_complete_day_connects_to_nothing(landing, settings, feed):
    feed.put(f"/outbox/reviews_{DAY}.csv", reviews_csv(0, 3))
    feed.define(remote_path="/outbox/reviews_{date}.csv")
    pull(settings)
    before, connections = landed(landing, "retailer_reviews"), feed.connections
    again = pull(settings)
    assert again.status == "already_landed" and feed.connections == connections
    assert landed(landing, "retailer_reviews") == before


def test_an_empty_or_html_file_is_refused(landing, settings, feed):
    feed.put(f"/outbox/reviews_{DAY}.csv", b"")
    feed.define(remote_path="/outbox/reviews_{date}.csv")
    with pytest.raises(PullError, match=rf"file /outbox/reviews_{DAY}\.csv: the answer is empty \(0 bytes\)"):
        pull(settings)
    feed.put(f"/outbox/reviews_{DAY}.csv", b"<html><title>Maintenance</title></html>")
    with pytest.raises(PullError, match="an HTML page, not a csv export .*: Maintenance"):
        pull(settings, force=True)
    assert landed(landing, "retailer_reviews") == {}


def test_an_unknown_host_key_stops_at_once(landing, settings, feed):
    feed.put(f"/outbox/reviews_{DAY}.csv", reviews_csv(0, 2))
    feed.define(remote_path="/outbox/reviews_{date}.csv", no_host_key_check=False, allow_host_key_change=False)
    with pytest.raises(PullError, match=r"not found in known_hosts; give the server's key in the connection extra"):
        pull(settings)
    assert feed.connections == 1 and feed.logins == []  # no retry, no password sent to an unknown host
