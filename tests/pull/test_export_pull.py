"""The file-export extractors (ambassador posts CSV/NDJSON, word-of-mouth surveys CSV, the
retailer feed over HTTPS) against a local export endpoint: ``{date}``/``{since}`` templating,
``Link`` paging, files landed byte for byte, throttling and 5xx retried, a revoked token stopping
at once, HTML/empty/JSON-error bodies refused, a rerun that requests nothing, an interrupted
paging resumed, and the loader reading what was landed."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
from support.pull import DAY, connection, landed, parsed
from support.standin_exports import (
    CSV,
    NDJSON,
    TRICKY_TEXT,
    ExportStandIn,
    ndjson_bytes,
    posts,
    posts_csv,
    reviews_csv,
    surveys_csv,
)
from support.standins import api_json
from ugc_pipeline.extract import PullError, TransientPullError, pull_record, pull_source
from ugc_pipeline.landing import Landing

TOKEN = "export-secret-token-1"
POSTS_PATH = f"/v1/exports/{DAY}/posts"  # what the {date} template must give


def creds(server, conn_type: str = "http", password: str = TOKEN, login: str = "", **extra):
    extra = {"path": "/v1/exports/{date}/posts", **extra}
    return lambda conn_id: connection(conn_id, server.url, conn_type=conn_type, login=login, password=password,
                                      extra=extra)


def test_ambassador_csv_pages_follow_the_link_header_and_land_byte_for_byte(landing, settings):
    pages = [posts_csv(0, 3), posts_csv(3, 3), posts_csv(6, 2)]
    with ExportStandIn({POSTS_PATH: pages}, token=TOKEN) as api:
        result = pull_source("ambassador_posts", DAY, settings,
                             creds(api, params={"updated_since": "{since}", "day": "{date}"}))
    assert [r.path for r in api.requests] == [POSTS_PATH] * 3  # {date} filled in
    # the Link header's URLs: the query of the first request kept, then page 2, 3; no page 4
    assert [r.query for r in api.requests] == [
        {"updated_since": "2025-04-29T22:00:00Z", "day": "2025-05-06", **({"page": str(n)} if n > 1 else {})}
        for n in (1, 2, 3)]  # {since}: the end of D in Paris (22:00Z) minus the 7 re-pull days
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    files = landed(landing, "ambassador_posts")
    assert list(files) == [f"ambassador_posts-export-000{i}.csv" for i in (1, 2, 3)]
    assert list(files.values()) == api.served == pages  # the bytes the endpoint sent, in order
    assert (result.requests, result.pages, result.records, result.retries) == (3, 3, 8, 0)
    manifest = pull_record(Landing(str(landing)), "ambassador_posts", DAY)
    assert manifest["status"] == "complete" and manifest["files"] == list(files)
    rows = parsed(landing, "ambassador_posts")["ambassador_posts"]
    assert sorted(rows["post_id"]) == [f"P{i:04d}" for i in range(8)]
    assert rows.set_index("post_id").loc["P0001", "post_url"] == "https://example.org/p/1?utm=a,b"  # quoted comma


def test_ambassador_ndjson_is_told_by_its_content_type_and_relative_links_are_followed(landing, settings):
    pages = [ndjson_bytes(posts(0, 2)), ndjson_bytes(posts(2, 3)) + b"\n"]  # a trailing blank line: not a record
    with ExportStandIn({POSTS_PATH: pages}, token=TOKEN, content_type=NDJSON, relative_links=True) as api:
        result = pull_source("ambassador_posts", DAY, settings, creds(api))
    assert [r.query.get("page") for r in api.requests] == [None, "2"]
    files = landed(landing, "ambassador_posts")
    assert list(files) == ["ambassador_posts-export-0001.ndjson", "ambassador_posts-export-0002.ndjson"]
    assert list(files.values()) == pages
    assert (result.requests, result.records) == (2, 5)
    rows = parsed(landing, "ambassador_posts")["ambassador_posts"]
    assert sorted(rows["post_id"]) == [f"P{i:04d}" for i in range(5)]


def test_survey_csv_with_basic_auth_and_a_configured_format(landing, settings):
    body = surveys_csv(0, 6)
    path = "/api/v3/surveys/responses.csv"
    with ExportStandIn({path: [body]}, basic=("kpi-bot", TOKEN), content_type="application/octet-stream") as api:
        result = pull_source("wom_surveys", DAY, settings,
                             creds(api, login="kpi-bot", path=path, auth="basic", format="csv",
                                   params={"completed_on": "{date}"}))
    assert len(api.requests) == 1 and api.requests[0].query == {"completed_on": "2025-05-06"}
    assert landed(landing, "wom_surveys") == {"wom_surveys-export-0001.csv": body}
    assert (result.requests, result.pages, result.records) == (1, 1, 6)
    rows = parsed(landing, "wom_surveys")["wom_surveys"].set_index("response_id")
    assert len(rows) == 6 and pd.isna(rows.loc["R00000", "people_told"]) and rows.loc["R00001", "people_told"] == "1"


def test_retailer_feed_over_https_french_export_with_bom(landing, settings):
    body = reviews_csv(0, 5, french=True)
    with ExportStandIn({"/feeds/reviews.csv": [body]}, token=TOKEN) as api:
        result = pull_source("retailer_reviews", DAY, settings,
                             creds(api, conn_type="https", path="/feeds/reviews.csv", params={"since": "{since}"}))
    assert api.requests[0].query == {"since": "2025-04-29T22:00:00Z"}
    assert landed(landing, "retailer_reviews") == {"retailer_reviews-export-0001.csv": body}  # BOM and ; kept
    assert result.records == 5  # a quoted newline is not a record
    rows = parsed(landing, "retailer_reviews")["retailer_reviews"].set_index("review_id")
    assert len(rows) == 5
    assert rows.loc["RV00000", "review_text"] == TRICKY_TEXT  # ; , quotes and newline intact


def test_throttling_honours_retry_after_and_5xx_are_retried(landing, settings):
    pages = [posts_csv(0, 2), posts_csv(2, 2)]
    with ExportStandIn({POSTS_PATH: pages}, token=TOKEN) as api:
        api.fail_next(429, api_json({"error": {"code": 429, "message": "slow down"}}), {"Retry-After": "1"})
        api.fail_next(500, b"upstream hiccup")
        t0 = time.monotonic()
        result = pull_source("ambassador_posts", DAY, settings, creds(api))
        elapsed = time.monotonic() - t0
    assert [r.status for r in api.requests] == [429, 500, 200, 200]
    assert elapsed >= 1.0  # waited as Retry-After said
    assert (result.requests, result.retries, result.pages, result.records) == (4, 2, 2, 4)
    assert list(landed(landing, "ambassador_posts").values()) == api.served == pages


def test_an_interrupted_paging_resumes_at_the_saved_next_link(landing, settings):
    pages = [posts_csv(0, 2), posts_csv(2, 2), posts_csv(4, 1)]
    with ExportStandIn({POSTS_PATH: pages}, token=TOKEN) as api:
        serve = api.route
        down = {"page 2": True}
        api.route = lambda r: (503, {}, b"maintenance") if r.query.get("page") == "2" and down["page 2"] else serve(r)
        with pytest.raises(TransientPullError, match="HTTP 503 after 3 retries"):
            pull_source("ambassador_posts", DAY, settings, creds(api))
        manifest = pull_record(Landing(str(landing)), "ambassador_posts", DAY)
        assert manifest["status"] == "failed" and manifest["pages"] == 1
        assert manifest["streams"]["export"]["next"]["url"] == f"{api.url}{POSTS_PATH}?page=2"
        down["page 2"] = False
        api.requests.clear()
        result = pull_source("ambassador_posts", DAY, settings, creds(api))
    assert [r.query.get("page") for r in api.requests] == ["2", "3"]  # page 1 is not asked again
    assert list(landed(landing, "ambassador_posts").values()) == pages
    assert (result.pages, result.records, result.requests) == (3, 5, 1 + 4 + 2)


def test_a_revoked_token_stops_at_once_without_leaking_it(landing, settings):
    with ExportStandIn({POSTS_PATH: [posts_csv(0, 2)]}, token="the-new-token") as api:
        with pytest.raises(PullError) as err:
            pull_source("ambassador_posts", DAY, settings, creds(api))
    assert len(api.requests) == 1  # no retry on 401
    message = str(err.value)
    assert "HTTP 401" in message and "was revoked" in message and "expired or revoked" in message
    assert TOKEN not in message and "the token *** was revoked" in message  # the API echoed it: redacted
    manifest = pull_record(Landing(str(landing)), "ambassador_posts", DAY)
    assert manifest["status"] == "failed" and TOKEN not in json.dumps(manifest)
    assert landed(landing, "ambassador_posts") == {}


def test_a_rerun_of_a_complete_day_requests_nothing_and_changes_nothing(landing, settings):
    with ExportStandIn({POSTS_PATH: [posts_csv(0, 2), posts_csv(2, 1)]}, token=TOKEN) as api:
        pull_source("ambassador_posts", DAY, settings, creds(api))
        before = landed(landing, "ambassador_posts")
        api.requests.clear()
        again = pull_source("ambassador_posts", DAY, settings, creds(api))
        assert api.requests == [] and again.status == "already_landed"
        assert landed(landing, "ambassador_posts") == before
        forced = pull_source("ambassador_posts", DAY, settings, creds(api), force=True)
    assert forced.status == "pulled" and landed(landing, "ambassador_posts") == before


@pytest.mark.parametrize(("content_type", "body", "refusal"), [
    ("text/html; charset=utf-8", b"<!DOCTYPE html><html><head><title>Sign in - Ambassador Hub</title></head></html>",
     r"an HTML page, not a csv export \(text/html; charset=utf-8, \d+ bytes\): Sign in - Ambassador Hub"),
    (CSV, b"", r"the answer is empty \(text/csv; charset=utf-8, 0 bytes\)"),
    ("application/json", api_json({"error": {"code": 503, "message": "export not ready yet"}}),
     r"a JSON document, not a csv export .*export not ready yet \(code 503\)"),
    (NDJSON, b'{"error": {"message": "quota exceeded", "code": 9}}\n', r"a JSON document, not a ndjson export"),
])
def test_a_body_that_is_no_export_stops_the_pull_and_lands_nothing(landing, settings, content_type, body, refusal):
    with ExportStandIn({POSTS_PATH: [body]}, token=TOKEN, content_type=content_type) as api:
        with pytest.raises(PullError, match=refusal):
            pull_source("ambassador_posts", DAY, settings, creds(api))
    assert len(api.requests) == 1
    assert landed(landing, "ambassador_posts") == {}
    assert pull_record(Landing(str(landing)), "ambassador_posts", DAY)["status"] == "failed"


def test_a_next_link_to_another_host_is_not_followed(landing, settings):
    with ExportStandIn({POSTS_PATH: [posts_csv(0, 1), posts_csv(1, 1)]}, token=TOKEN) as api:
        serve = api.route

        def elsewhere(request):
            status, headers, body = serve(request)
            headers["Link"] = '<http://127.0.0.2:9/steal?page=2>; rel="next"'
            return status, headers, body

        api.route = elsewhere
        with pytest.raises(PullError, match=r"the next page is on another host"):
            pull_source("ambassador_posts", DAY, settings, creds(api))
    assert len(api.requests) == 1 and landed(landing, "ambassador_posts") == {}


def test_the_connection_must_say_where_the_export_is(landing, settings):
    with ExportStandIn({}, token=TOKEN) as api:
        with pytest.raises(PullError, match="no extra 'path'"):
            pull_source("wom_surveys", DAY, settings,
                        lambda conn_id: connection(conn_id, api.url, password=TOKEN, extra={}))
        with pytest.raises(PullError, match=r"unknown placeholder \{day\}"):
            pull_source("wom_surveys", DAY, settings, creds(api, path="/x/{day}.csv"), force=True)
    assert api.requests == []
