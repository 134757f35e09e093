"""The TikTok extractor against a local stand-in of the Display API's video list: the cursor
followed while ``has_more``, the re-pull window cutting the paging short, several accounts with
their own tokens, throttling and 5xx retried, an invalid token stopping at once, an error page
served with HTTP 200 stopping the pull, a crash resumed without pulling again what is landed, and
the loader reading the 19-digit ids exactly."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from support.pull import DAY, connection, landed, parsed
from support.standin_tiktok import TikTokStandIn, tiktok_body
from ugc_pipeline.extract import PullError, TransientPullError, pull_record, pull_source
from ugc_pipeline.landing import Landing

USER, TOKEN = "maison.verte", "act.tiktok-user-token-1"
FIELDS = "id,create_time,username,video_description,hashtag_names,like_count,comment_count,share_count,view_count"
NOW = datetime(2025, 5, 6, 12, 0, tzinfo=UTC)  # the pull of DAY re-pulls what was created after 2025-04-29T22:00Z


def video(n: int, created: datetime, username: str = USER, **over) -> dict:
    return {"id": 7490123456789012345 + n * 1_000_003, "create_time": int(created.timestamp()), "username": username,
            "video_description": f"Recette n°{n} #maisonverte", "hashtag_names": ["maisonverte", "recette"],
            "like_count": 10 * n, "comment_count": n, "share_count": n // 2, "view_count": 100 * n,
            "cover_image_url": f"https://p16.example/{n}.jpeg", **over}


def videos(n: int, username: str = USER, step: timedelta = timedelta(hours=1)) -> list[dict]:
    return [video(i, NOW - i * step, username) for i in range(n)]


def ms(v: dict) -> int:
    return v["create_time"] * 1000


def creds(server, token=TOKEN, accounts=None, password="", **extra):
    accounts = accounts if accounts is not None else [{"username": USER, "access_token": token}]
    return lambda conn_id: connection(conn_id, server.url, password=password,
                                      extra={"accounts": accounts, "max_count": 2, **extra})


def test_the_cursor_is_followed_to_the_end_and_pages_land_byte_for_byte(landing, settings):
    data = videos(5)
    with TikTokStandIn({TOKEN: USER}, {USER: data}) as api:
        result = pull_source("tiktok_videos", DAY, settings, creds(api))
    # 5 videos, 2 a page, newest first: each next page starts before the oldest of the previous one
    assert [json.loads(r.body) for r in api.requests] == [
        {"max_count": 2}, {"max_count": 2, "cursor": ms(data[1])}, {"max_count": 2, "cursor": ms(data[3])}]
    assert {(r.method, r.path, r.query["fields"], r.headers["authorization"]) for r in api.requests} == {
        ("POST", "/v2/video/list/", FIELDS, f"Bearer {TOKEN}")}
    assert json.loads(api.served[-1])["data"]["has_more"] is False
    files = landed(landing, "tiktok_videos")
    assert list(files.values()) == api.served  # the bytes the API sent, in order
    assert list(files) == [f"tiktok_videos-maison.verte-000{i}.json" for i in (1, 2, 3)]
    assert (result.requests, result.pages, result.records, result.retries) == (3, 3, 5, 0)
    assert result.cursor == {}  # not incremental: the re-pull window decides
    manifest = pull_record(Landing(str(landing)), "tiktok_videos", DAY)
    assert manifest["status"] == "complete" and manifest["files"] == list(files)


def test_throttling_honours_retry_after_and_5xx_are_retried(landing, settings):
    with TikTokStandIn({TOKEN: USER}, {USER: videos(3)}) as api:
        api.fail_next(429, tiktok_body({}, "rate_limit_exceeded", "API rate limit was exceeded."), {"Retry-After": "1"})
        api.fail_next(500, tiktok_body({}, "internal_error", "Something went wrong."))
        t0 = time.monotonic()
        result = pull_source("tiktok_videos", DAY, settings, creds(api))
        elapsed = time.monotonic() - t0
    assert [r.status for r in api.requests] == [429, 500, 200, 200]
    assert elapsed >= 1.0  # waited as Retry-After said
    assert (result.requests, result.retries, result.pages, result.records) == (4, 2, 2, 3)
    assert list(landed(landing, "tiktok_videos").values()) == api.served


def test_an_invalid_token_stops_at_once_without_leaking_it(landing, settings):
    with TikTokStandIn({"act.the-new-token": USER}, {USER: videos(3)}) as api:
        with pytest.raises(PullError) as err:
            pull_source("tiktok_videos", DAY, settings, creds(api))
    assert len(api.requests) == 1  # no retry on 401
    message = str(err.value)
    assert "HTTP 401" in message and "expired or revoked" in message
    assert "access_token_invalid: The access token is invalid or not found in the request." in message
    assert TOKEN not in message
    manifest = pull_record(Landing(str(landing)), "tiktok_videos", DAY)
    assert manifest["status"] == "failed" and manifest["requests"] == 1 and TOKEN not in json.dumps(manifest)
    assert landed(landing, "tiktok_videos") == {}


def test_paging_stops_after_the_first_page_reaching_back_before_the_repull_window(landing, settings):
    data = videos(20, step=timedelta(days=1))  # one a day: 05-06 back to 04-17
    with TikTokStandIn({TOKEN: USER}, {USER: data}) as api:
        result = pull_source("tiktok_videos", DAY, settings, creds(api, max_count=4))
    # repull_days=7: since 2025-04-29T22:00Z; page 2 holds 04-29 12:00Z (before it): the last page asked
    assert [json.loads(r.body).get("cursor") for r in api.requests] == [None, ms(data[3])]
    assert json.loads(api.served[-1])["data"]["has_more"] is True  # older videos exist, not asked
    got = [v["id"] for page in landed(landing, "tiktok_videos").values() for v in json.loads(page)["data"]["videos"]]
    assert got == [v["id"] for v in data[:8]]  # every video of the window (days 0-6), and one older
    assert (result.requests, result.pages, result.records) == (2, 2, 8)


def test_each_account_is_pulled_with_its_own_token(landing, settings):
    accounts = [{"username": "maison.verte", "access_token": "act.token-of-maison-verte"},
                {"username": "@chef_camille"}]  # no token of its own: the connection's password
    tokens = {"act.token-of-maison-verte": "maison.verte", "act.connection-password": "chef_camille"}
    with TikTokStandIn(tokens, {"maison.verte": videos(3), "chef_camille": videos(1, "chef_camille")}) as api:
        result = pull_source("tiktok_videos", DAY, settings,
                             creds(api, accounts=accounts, password="act.connection-password"))
    assert [r.headers["authorization"] for r in api.requests] == [
        "Bearer act.token-of-maison-verte", "Bearer act.token-of-maison-verte", "Bearer act.connection-password"]
    files = landed(landing, "tiktok_videos")
    assert list(files) == ["tiktok_videos-chef-camille-0001.json", "tiktok_videos-maison.verte-0001.json",
                           "tiktok_videos-maison.verte-0002.json"]
    owners = {name: {v["username"] for v in json.loads(body)["data"]["videos"]} for name, body in files.items()}
    assert owners == {"tiktok_videos-chef-camille-0001.json": {"chef_camille"},
                      "tiktok_videos-maison.verte-0001.json": {"maison.verte"},
                      "tiktok_videos-maison.verte-0002.json": {"maison.verte"}}
    assert (result.requests, result.pages, result.records) == (3, 3, 4)
    manifest = json.dumps(pull_record(Landing(str(landing)), "tiktok_videos", DAY))
    assert sorted(json.loads(manifest)["streams"]) == ["chef_camille", "maison.verte"]  # one stream per username
    assert "act.token-of-maison-verte" not in manifest and "act.connection-password" not in manifest


def test_an_error_page_served_with_200_stops_the_pull_and_is_not_landed(landing, settings):
    with TikTokStandIn({TOKEN: USER}, {USER: videos(5)}) as api:
        api.error_with_200("scope_not_authorized",
                           "The user did not authorize the scope required for completing this request.", after=1)
        with pytest.raises(PullError, match="HTTP 200 with an error: scope_not_authorized: The user did not authorize"):
            pull_source("tiktok_videos", DAY, settings, creds(api))
    assert len(api.requests) == 2  # an error page is not retried
    assert list(landed(landing, "tiktok_videos").values()) == api.served[:1]  # page 1 only
    manifest = pull_record(Landing(str(landing)), "tiktok_videos", DAY)
    assert manifest["status"] == "failed" and manifest["pages"] == 1 and "scope_not_authorized" in manifest["message"]


def test_a_crash_mid_pull_resumes_without_asking_the_landed_pages_again(landing, settings):
    data = videos(5)
    with TikTokStandIn({TOKEN: USER}, {USER: data}) as api:
        serve, down = api.route, {"on": True}  # page 2 fails more often than the 3 retries allowed
        api.route = lambda r: (503, {}, b"maintenance") if b"cursor" in r.body and down["on"] else serve(r)
        with pytest.raises(TransientPullError, match="HTTP 503 after 3 retries"):
            pull_source("tiktok_videos", DAY, settings, creds(api))
        manifest = pull_record(Landing(str(landing)), "tiktok_videos", DAY)
        assert manifest["status"] == "failed" and manifest["pages"] == 1 and manifest["requests"] == 5
        assert manifest["streams"][USER]["next"] == ms(data[1])
        down["on"] = False
        api.requests.clear()
        result = pull_source("tiktok_videos", DAY, settings, creds(api))
    assert [json.loads(r.body).get("cursor") for r in api.requests] == [ms(data[1]), ms(data[3])]  # not page 1
    assert list(landed(landing, "tiktok_videos").values()) == api.served
    assert (result.pages, result.records, result.requests, result.retries) == (3, 5, 5 + 2, 3)


def test_the_loader_reads_the_pulled_pages_and_keeps_the_19_digit_ids(landing, settings):
    data = videos(5)
    data[4]["id"] = "7490999999999999999"  # the API also writes ids as text
    with TikTokStandIn({TOKEN: USER}, {USER: data}) as api:
        pull_source("tiktok_videos", DAY, settings, creds(api))
    rows = parsed(landing, "tiktok_videos")["tiktok_videos"]
    assert sorted(rows["id"]) == sorted(str(v["id"]) for v in data)
    assert all(len(i) == 19 for i in rows["id"])
    assert rows.set_index("id").loc[str(data[2]["id"]), "hashtag_names"] == "maisonverte recette"
