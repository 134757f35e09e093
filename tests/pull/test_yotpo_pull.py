"""The Yotpo extractor against a local stand-in of the reviews API: paging to the end, the
``updated_at`` cursor and its lookback, throttling and 5xx retried, a revoked token stopping at
once, a crash resumed without pulling again what is landed, a rerun that requests nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from support.pull import DAY, connection, landed, parsed
from support.standins import YotpoStandIn, api_json
from ugc_pipeline.extract import PullError, TransientPullError, pull_record, pull_source, read_cursors
from ugc_pipeline.landing import Landing

APP, TOKEN = "app-key-1", "yotpo-secret-token-1"
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def review(n: int, updated: datetime, **over) -> dict:
    created = min(updated, T0)
    return {"id": 1000 + n, "sku": "SKU-1", "score": 1 + n % 5, "title": f"Titre {n}", "content": f"Très bien {n}",
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "votes_up": 0, "votes_down": 0,
            "name": f"Client {n}", "email": f"c{n}@example.org", "reviewer_type": "verified_buyer",
            "deleted": False, "archived": False, "is_incentivized": False, "incentive_type": None, **over}


def reviews(n: int) -> list[dict]:
    return [review(i, T0 + timedelta(hours=i)) for i in range(n)]


def creds(server, token=TOKEN, **extra):
    return lambda conn_id: connection(conn_id, server.url, login=APP, password=token, extra={"count": 2, **extra})


def test_pages_land_byte_for_byte_and_the_cursor_is_saved(landing, settings):
    with YotpoStandIn(APP, TOKEN, reviews(5)) as api:
        result = pull_source("yotpo_reviews", DAY, settings, creds(api))
    # 5 reviews at 2 a page: pages 1, 2 full, page 3 short -> the end
    assert [r.query["page"] for r in api.requests] == ["1", "2", "3"]
    assert all("since_updated_at" not in r.query for r in api.requests)  # no cursor yet: everything
    files = landed(landing, "yotpo_reviews")
    assert list(files.values()) == api.served  # the bytes the API sent, in order
    assert list(files) == [f"yotpo_reviews-{APP}-000{i}.json" for i in (1, 2, 3)]
    assert (result.requests, result.pages, result.records, result.retries) == (3, 3, 5, 0)
    assert result.cursor == {APP: "2025-05-01T13:00:00.000Z"}
    assert read_cursors(Landing(str(landing)), "yotpo_reviews") == result.cursor
    manifest = pull_record(Landing(str(landing)), "yotpo_reviews", DAY)
    assert manifest["status"] == "complete" and manifest["files"] == list(files)


def test_next_day_asks_since_the_cursor_minus_the_lookback(landing, settings):
    data = reviews(3)
    with YotpoStandIn(APP, TOKEN, data) as api:
        pull_source("yotpo_reviews", DAY, settings, creds(api))
        # overnight: one review edited, one new
        data[0] = review(0, T0 + timedelta(days=1), content="edited")
        data.append(review(9, T0 + timedelta(days=1, hours=1)))
        api.requests.clear()
        api.served.clear()
        nxt = DAY + timedelta(days=1)
        result = pull_source("yotpo_reviews", nxt, settings, creds(api))
    # cursor 2025-05-01T11:00Z minus the 2-day lookback
    assert api.requests[0].query["since_updated_at"] == "2025-04-29T11:00:00Z"
    got = [r["id"] for page in landed(landing, "yotpo_reviews", nxt).values() for r in json.loads(page)["reviews"]]
    assert sorted(got) == [1000, 1001, 1002, 1009]  # inside the lookback: re-pulled, harmless (latest wins)
    assert result.cursor == {APP: "2025-05-02T10:00:00.000Z"}


def test_throttling_honours_retry_after_and_5xx_are_retried(landing, settings):
    with YotpoStandIn(APP, TOKEN, reviews(3)) as api:
        api.fail_next(429, api_json({"status": {"code": 429, "message": "Too many requests"}}), {"Retry-After": "1"})
        api.fail_next(500, b"upstream hiccup")
        t0 = time.monotonic()
        result = pull_source("yotpo_reviews", DAY, settings, creds(api))
        elapsed = time.monotonic() - t0
    assert [r.status for r in api.requests] == [429, 500, 200, 200]
    assert elapsed >= 1.0  # waited as Retry-After said
    assert (result.requests, result.retries, result.pages) == (4, 2, 2)
    assert list(landed(landing, "yotpo_reviews").values()) == api.served


def test_retries_are_capped_then_the_pull_resumes_where_it_stopped(landing, settings):
    with YotpoStandIn(APP, TOKEN, reviews(6)) as api:
        # page 1 is served, then page 2 fails more often than the 3 retries allowed (a crash mid-pull)
        serve = api.route
        down = {"page 2": True}
        api.route = lambda r: (503, {}, b"maintenance") if r.query.get("page") == "2" and down["page 2"] else serve(r)
        with pytest.raises(TransientPullError, match="HTTP 503 after 3 retries"):
            pull_source("yotpo_reviews", DAY, settings, creds(api))
        first = list(api.served)
        manifest = pull_record(Landing(str(landing)), "yotpo_reviews", DAY)
        assert manifest["status"] == "failed" and manifest["pages"] == 1 and manifest["requests"] == 5
        assert read_cursors(Landing(str(landing)), "yotpo_reviews") == {}  # not advanced by a failed pull
        down["page 2"] = False
        api.requests.clear()
        result = pull_source("yotpo_reviews", DAY, settings, creds(api))
    assert [r.query["page"] for r in api.requests] == ["2", "3", "4"]  # page 1 is not asked again
    assert list(landed(landing, "yotpo_reviews").values()) == api.served and api.served[0] == first[0]
    assert (result.pages, result.records, result.requests, result.retries) == (4, 6, 5 + 3, 3)


def test_a_revoked_token_stops_at_once_without_leaking_it(landing, settings):
    with YotpoStandIn(APP, "the-new-token", reviews(3)) as api:
        with pytest.raises(PullError) as err:
            pull_source("yotpo_reviews", DAY, settings, creds(api))
    assert len(api.requests) == 1  # no retry on 401
    message = str(err.value)
    assert "HTTP 401" in message and "Invalid token" in message and "expired or revoked" in message
    assert TOKEN not in message
    manifest = pull_record(Landing(str(landing)), "yotpo_reviews", DAY)
    assert manifest["status"] == "failed" and TOKEN not in json.dumps(manifest)
    assert landed(landing, "yotpo_reviews") == {}


def test_a_rerun_of_a_complete_day_requests_nothing_and_changes_nothing(landing, settings):
    with YotpoStandIn(APP, TOKEN, reviews(3)) as api:
        pull_source("yotpo_reviews", DAY, settings, creds(api))
        before = landed(landing, "yotpo_reviews")
        api.requests.clear()
        again = pull_source("yotpo_reviews", DAY, settings, creds(api))
        assert api.requests == [] and again.status == "already_landed"
        assert landed(landing, "yotpo_reviews") == before
        forced = pull_source("yotpo_reviews", DAY, settings, creds(api), force=True)
    assert forced.status == "pulled" and list(landed(landing, "yotpo_reviews")) == list(before)


def test_an_error_page_served_with_200_stops_the_pull(landing, settings):
    with YotpoStandIn(APP, TOKEN, reviews(3)) as api:
        api.route = lambda request: (200, {}, api_json({"status": {"code": 500, "message": "Internal error"}}))
        with pytest.raises(PullError, match="unexpected page shape.*Internal error"):
            pull_source("yotpo_reviews", DAY, settings, creds(api))
    assert landed(landing, "yotpo_reviews") == {}


def test_the_loader_reads_the_pulled_pages(landing, settings):
    data = reviews(5)
    data[2]["deleted"] = True
    with YotpoStandIn(APP, TOKEN, data) as api:
        pull_source("yotpo_reviews", DAY, settings, creds(api))
    rows = parsed(landing, "yotpo_reviews")["yotpo_reviews"]
    assert sorted(rows["id"]) == [str(r["id"]) for r in data]
    assert rows.set_index("id").loc["1002", "deleted"] == "true"
