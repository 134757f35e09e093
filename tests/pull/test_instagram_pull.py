"""The Instagram extractor against a local stand-in of the Graph API user node: ``media.after``
cursors followed inside ``fields`` so that every landed page is the user node the adapter reads,
paging stopped at the re-pull window, throttling and 5xx retried, an expired token (code 190) and
a deprecated metric (code 100) stopping at once with a message saying what to change, one stream
per account with its own token, the access token the Graph API writes into ``paging.next`` kept
out of the landing zone, and the loader reading what was landed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from support.pull import DAY, connection, landed, parsed
from support.standin_instagram import InstagramStandIn, graph_error
from ugc_pipeline.extract import PullError, pull_record, pull_source, read_cursors
from ugc_pipeline.landing import Landing

SOURCE = "instagram_media"
ACC, ACC2 = "17841400000000001", "17841400000000002"
TOKEN, TOKEN2 = "EAAGinstagramSecretToken1", "EAAGownTokenOfAccount2"
# DAY = 6 May, Paris: the pull's now is 6 May 22:00 UTC, and re-pull_days = 7 -> posts after 29 April 22:00 UTC
RECENT = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)
OLD = datetime(2025, 4, 25, 8, 0, tzinfo=UTC)
MEDIA_FIELDS = "id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count"


def post(n: int, at: datetime, **over) -> dict:
    return {"id": f"179000000000{n:05d}", "caption": f"Ma recette #MaBrand n°{n}", "media_type": "IMAGE",
            "media_product_type": "FEED", "permalink": f"https://www.instagram.com/p/Px{n}/",
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S+0000"), "like_count": 10 + n, "comments_count": n,
            "insights": {"reach": 100 + n, "views": 200 + n, "saved": n, "shares": n // 2}, **over}


def posts(n: int, newest: datetime = RECENT, first: int = 0) -> list[dict]:
    return [post(first + i, newest - timedelta(hours=12 * i)) for i in range(n)]


def account(media: list[dict], username: str = "nano.cook", followers: int = 812) -> dict:
    return {"username": username, "followers_count": followers, "media": media}


def creds(server, accounts=(ACC,), token=TOKEN, **extra):
    return lambda conn_id: connection(conn_id, f"{server.url}/v21.0", password=token,
                                      extra={"accounts": list(accounts), "page_size": 2, **extra})


def media_ids(pages) -> list[str]:
    return [m["id"] for page in pages for m in json.loads(page).get("media", {}).get("data", [])]


def test_media_cursors_are_followed_and_every_page_is_the_user_node(landing, settings):
    with InstagramStandIn({ACC: account(posts(5))}, {ACC: TOKEN}) as api:
        result = pull_source(SOURCE, DAY, settings, creds(api))
    afters = [json.loads(body)["media"]["paging"]["cursors"]["after"] for body in api.served]
    metrics = "insights.metric(reach,views,saved,shares)"
    assert [r.query["fields"] for r in api.requests] == [
        f"id,username,followers_count,media.limit(2){{{MEDIA_FIELDS},{metrics}}}",
        f"id,username,followers_count,media.after({afters[0]}).limit(2){{{MEDIA_FIELDS},{metrics}}}",
        f"id,username,followers_count,media.after({afters[1]}).limit(2){{{MEDIA_FIELDS},{metrics}}}"]
    assert all(r.path == f"/v21.0/{ACC}" and r.headers["authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    assert all(TOKEN not in json.dumps(r.query) for r in api.requests)  # the token never goes in the URL
    files = landed(landing, SOURCE)
    assert list(files.values()) == api.served  # the bytes the API sent, in order
    assert list(files) == [f"{SOURCE}-{ACC}-000{i}.json" for i in (1, 2, 3)]
    for body in files.values():
        page = json.loads(body)
        assert (page["id"], page["username"], page["followers_count"]) == (ACC, "nano.cook", 812)
    assert "next" not in json.loads(api.served[-1])["media"]["paging"]  # the end of the edge
    assert media_ids(files.values()) == [p["id"] for p in posts(5)]  # newest first
    assert (result.requests, result.pages, result.records, result.retries) == (3, 3, 5, 0)
    assert result.cursor == {} and read_cursors(Landing(str(landing)), SOURCE) == {}  # no cursor: a re-pull window
    assert pull_record(Landing(str(landing)), SOURCE, DAY)["status"] == "complete"


def test_paging_stops_at_the_re_pull_window(landing, settings):
    # 3 posts inside the 7-day window (5, 4 and 4 May), then 5 older ones (25 April and before)
    media = posts(3) + posts(5, newest=OLD, first=10)
    with InstagramStandIn({ACC: account(media)}, {ACC: TOKEN}) as api:
        result = pull_source(SOURCE, DAY, settings, creds(api))
    # page 2 holds the oldest recent post and the first old one: the last page asked for
    assert len(api.requests) == 2 and json.loads(api.served[-1])["media"]["paging"]["next"]
    assert media_ids(landed(landing, SOURCE).values()) == [p["id"] for p in media[:4]]
    assert (result.requests, result.pages, result.records) == (2, 2, 4)


def test_throttling_honours_retry_after_and_5xx_are_retried(landing, settings):
    with InstagramStandIn({ACC: account(posts(3))}, {ACC: TOKEN}) as api:
        api.fail_next(429, graph_error("(#4) Application request limit reached", 4), {"Retry-After": "1"})
        api.fail_next(500, graph_error("An unexpected error has occurred. Please retry your request later.", 2))
        t0 = time.monotonic()
        result = pull_source(SOURCE, DAY, settings, creds(api))
        elapsed = time.monotonic() - t0
    assert [r.status for r in api.requests] == [429, 500, 200, 200]
    assert elapsed >= 1.0  # waited as Retry-After said
    assert (result.requests, result.retries, result.pages, result.records) == (4, 2, 2, 3)
    assert list(landed(landing, SOURCE).values()) == api.served


@pytest.mark.parametrize("status", [400, 401])
def test_an_expired_token_stops_at_once_without_leaking_it(landing, settings, status):
    with InstagramStandIn({ACC: account(posts(3))}, {ACC: "EAAGtheRenewedToken"}, expired_status=status) as api:
        with pytest.raises(PullError) as err:
            pull_source(SOURCE, DAY, settings, creds(api))
    assert len(api.requests) == 1  # no retry
    message = str(err.value)
    assert f"account {ACC}" in message and f"HTTP {status}" in message
    assert "the access token expired or was revoked: renew it in the Airflow connection 'ugc_instagram'" in message
    assert "Error validating access token: Session has expired" in message and "code 190, subcode 463" in message
    assert TOKEN not in message
    manifest = pull_record(Landing(str(landing)), SOURCE, DAY)
    assert manifest["status"] == "failed" and TOKEN not in json.dumps(manifest)
    assert landed(landing, SOURCE) == {}


@pytest.mark.parametrize("metrics, api_says", [
    ("reach,impressions", "impressions metric is no longer supported"),
    ("reach,plays", "metric[1] must be one of the following values"),
])
def test_a_deprecated_metric_stops_at_once_with_what_to_change(landing, settings, metrics, api_says):
    with InstagramStandIn({ACC: account(posts(3))}, {ACC: TOKEN}) as api:
        with pytest.raises(PullError) as err:
            pull_source(SOURCE, DAY, settings, creds(api, metrics=metrics))
    assert len(api.requests) == 1 and api.requests[0].status == 400  # a 400 is not retried
    assert f"insights.metric({metrics})" in api.requests[0].query["fields"]
    message = str(err.value)
    assert "HTTP 400" in message and "a field or metric the pull requests is not supported" in message
    assert f"change 'metrics' in the extra of the connection 'ugc_instagram' (now {metrics}" in message
    assert "Graph API: (#100) " in message and api_says in message and "(OAuthException, code 100)" in message
    assert pull_record(Landing(str(landing)), SOURCE, DAY)["status"] == "failed" and landed(landing, SOURCE) == {}


def test_each_account_is_a_stream_with_its_own_token(landing, settings):
    accounts = {ACC: account(posts(3)), ACC2: account(posts(1, first=50), username="brand.fan", followers=95)}
    with InstagramStandIn(accounts, {ACC: TOKEN, ACC2: TOKEN2}) as api:
        result = pull_source(SOURCE, DAY, settings, creds(api, accounts=[ACC, {"id": ACC2, "access_token": TOKEN2}]))
    assert [(r.path, r.headers["authorization"]) for r in api.requests] == [
        (f"/v21.0/{ACC}", f"Bearer {TOKEN}"), (f"/v21.0/{ACC}", f"Bearer {TOKEN}"), (f"/v21.0/{ACC2}", f"Bearer {TOKEN2}")]
    files = landed(landing, SOURCE)
    assert list(files) == [f"{SOURCE}-{ACC}-0001.json", f"{SOURCE}-{ACC}-0002.json", f"{SOURCE}-{ACC2}-0001.json"]
    assert list(files.values()) == api.served
    assert (result.requests, result.pages, result.records) == (3, 3, 4)
    manifest = pull_record(Landing(str(landing)), SOURCE, DAY)
    assert list(manifest["streams"]) == [ACC, ACC2] and TOKEN2 not in json.dumps(manifest)


def test_an_expired_account_token_names_the_account_without_leaking_its_token(landing, settings):
    with InstagramStandIn({ACC2: account(posts(1))}, {ACC2: "EAAGtheRenewedToken"}) as api:
        with pytest.raises(PullError) as err:
            pull_source(SOURCE, DAY, settings, creds(api, accounts=[{"id": ACC2, "access_token": TOKEN2}]))
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN2}"
    message = str(err.value)
    assert f"account {ACC2}" in message and "this account's 'access_token'" in message and TOKEN2 not in message
    assert TOKEN2 not in json.dumps(pull_record(Landing(str(landing)), SOURCE, DAY))


def test_the_token_the_graph_api_writes_into_paging_next_is_not_landed(landing, settings):
    with InstagramStandIn({ACC: account(posts(3))}, {ACC: TOKEN}, token_in_next=True) as api:
        pull_source(SOURCE, DAY, settings, creds(api))
    assert f"access_token={TOKEN}".encode() in api.served[0]  # as graph.facebook.com does
    files = landed(landing, SOURCE)
    assert all(TOKEN.encode() not in body for body in files.values())
    # the API's bytes, but for the secret
    assert list(files.values()) == [body.replace(TOKEN.encode(), b"***") for body in api.served]


def test_missing_accounts_stop_before_any_request(landing, settings):
    with InstagramStandIn({ACC: account(posts(1))}, {ACC: TOKEN}) as api:
        with pytest.raises(PullError, match="lists no instagram_media stream"):
            pull_source(SOURCE, DAY, settings, creds(api, accounts=[]))
        with pytest.raises(PullError, match="'@nano.cook' in the extra 'accounts' is not an Instagram account id"):
            pull_source(SOURCE, DAY + timedelta(days=1), settings, creds(api, accounts=["@nano.cook"]))
    assert api.requests == []


def test_the_loader_reads_the_pulled_pages(landing, settings):
    media = posts(3)
    del media[1]["insights"]["views"]  # not reported: unknown, not 0
    media[2].update(media_type="VIDEO", media_product_type="REELS")
    accounts = {ACC: account(media), ACC2: account(posts(1, first=50), username="brand.fan", followers=95)}
    with InstagramStandIn(accounts, {ACC: TOKEN, ACC2: TOKEN}) as api:
        pull_source(SOURCE, DAY, settings, creds(api, accounts=[ACC, ACC2]))
    rows = parsed(landing, SOURCE)[SOURCE].set_index("id")
    assert sorted(rows.index) == sorted(p["id"] for p in media + accounts[ACC2]["media"])
    first, second, reel = (p["id"] for p in media)
    assert rows.loc[first, "insights__views"] == "200" and rows.loc[first, "insights__reach"] == "100"
    assert pd.isna(rows.loc[second, "insights__views"])
    assert pd.isna(rows.loc[first, "insights__impressions"]) and rows.loc[reel, "media_product_type"] == "REELS"
    assert rows.loc[first, "user__followers_count"] == "812" and rows.loc[first, "user__id"] == ACC
    one = accounts[ACC2]["media"][0]["id"]
    assert (rows.loc[one, "user__username"], rows.loc[one, "user__followers_count"]) == ("brand.fan", "95")
    assert rows.loc[first, "timestamp"] == "2025-05-05T08:00:00+0000"
