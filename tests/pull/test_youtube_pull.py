"""The YouTube extractor against a local stand-in of the Data API v3: the video ids asked 50 at a
time with their pages followed, then the channels of the configured ids and of the videos pulled,
the key in a header only, throttling and 5xx retried, a wrong key, the exhausted daily quota and a
retired part stopping at once, a crash resumed by a fresh extractor without asking the
landed pages again, every id asked again the next day, and the loader reading both kinds of page."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from support.pull import DAY, connection, landed, parsed
from support.standin_youtube import YouTubeStandIn, youtube_error
from ugc_pipeline.extract import PullError, TransientPullError, pull_record, pull_source
from ugc_pipeline.landing import Landing
from ugc_pipeline.sources.youtube_videos_pull import YouTubeVideos

KEY = "AIzaSyD-test-key-0123456789abcdefghij"
T0 = datetime(2025, 4, 20, 17, 30, tzinfo=UTC)
CH = [f"UC{n:022d}" for n in range(4)]  # 24 characters, like the real ones
EXTRA = "UCextraChannel000000000x"


def yt_video(n: int, channel: str) -> dict:
    published = (T0 + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": f"vid{n:08d}", "snippet": {"publishedAt": published, "channelId": channel, "title": f"Recette {n}",
                                             "description": "Le gratin #maisonverte", "tags": ["maisonverte", "gratin"]},
            "statistics": {"viewCount": str(100 * n), "likeCount": str(n), "favoriteCount": "0",
                           "commentCount": str(n // 2)}}


def yt_channel(channel: str, subscribers: int | None) -> dict:
    stats = {"viewCount": "123456", "hiddenSubscriberCount": subscribers is None, "videoCount": "42"}
    if subscribers is not None:
        stats["subscriberCount"] = str(subscribers)
    return {"id": channel, "snippet": {"title": f"Chaîne {channel[-2:]}"}, "statistics": stats}


def catalogue(n: int) -> tuple[list[dict], list[dict]]:
    """n videos spread over 3 channels (in the order CH0, CH1, CH2), and 5 channels."""
    return ([yt_video(i, CH[i % 3]) for i in range(n)],
            [yt_channel(c, 800 + i) for i, c in enumerate(CH)] + [yt_channel(EXTRA, None)])


def creds(server, key=KEY, video_ids=(), channel_ids=(), **extra):
    return lambda conn_id: connection(conn_id, server.url, password=key,
                                      extra={"video_ids": list(video_ids), "channel_ids": list(channel_ids), **extra})


def in_pull_order(landing, manifest_files: list[str]) -> list[bytes]:
    files = landed(landing, "youtube_videos")
    assert sorted(files) == sorted(manifest_files)
    return [files[name] for name in manifest_files]


def test_ids_are_asked_50_at_a_time_pages_followed_then_the_channels(landing, settings):
    videos, channels = catalogue(53)
    ids = [v["id"] for v in videos]
    with YouTubeStandIn(KEY, videos, channels, page_size=20) as api:
        result = pull_source("youtube_videos", DAY, settings, creds(api, video_ids=ids, channel_ids=[EXTRA]))
    assert [(r.path, r.query["id"], r.query.get("pageToken")) for r in api.requests] == [
        ("/videos", ",".join(ids[:50]), None),
        ("/videos", ",".join(ids[:50]), "CA20QAA"),
        ("/videos", ",".join(ids[:50]), "CA40QAA"),
        ("/videos", ",".join(ids[50:]), None),
        ("/channels", ",".join([EXTRA, CH[0], CH[1], CH[2]]), None),  # configured, then those of the videos
    ]
    assert [(r.query["part"], r.query.get("maxResults")) for r in api.requests] == (
        [("snippet,statistics", "50")] * 4 + [("statistics", None)])
    assert all(r.headers["x-goog-api-key"] == KEY and "key" not in r.query and KEY not in r.path for r in api.requests)
    manifest = pull_record(Landing(str(landing)), "youtube_videos", DAY)
    assert manifest["files"] == [f"youtube_videos-videos-000{i}.json" for i in (1, 2, 3, 4)] + [
        "youtube_videos-channels-0005.json"]
    assert in_pull_order(landing, manifest["files"]) == api.served  # the bytes the API sent
    assert [json.loads(b)["kind"] for b in api.served] == ["youtube#videoListResponse"] * 4 + [
        "youtube#channelListResponse"]
    assert (result.requests, result.pages, result.records, result.retries) == (5, 5, 53 + 4, 0)
    assert manifest["status"] == "complete" and result.cursor == {}


def test_the_channels_are_those_of_the_videos_pulled(landing, settings):
    videos, channels = catalogue(4)  # channels CH0, CH1, CH2, CH0
    ids = ["vid00000001", "deleted0001", "vid00000002", "vid00000000", "vid00000001"]  # one gone, one twice
    with YouTubeStandIn(KEY, videos + [yt_video(9, CH[3])], channels, page_size=2) as api:
        result = pull_source("youtube_videos", DAY, settings,
                             creds(api, video_ids=ids, channel_ids=[CH[2], "UCdoesNotExist0000000000"]))
    assert api.requests[0].query["id"] == "vid00000001,deleted0001,vid00000002,vid00000000"
    # CH[3] has a video, but not one of the ids: not asked; the configured ones first, without repeats
    assert [r.query["id"] for r in api.requests if r.path == "/channels"] == [
        f"{CH[2]},UCdoesNotExist0000000000,{CH[1]},{CH[0]}"] * 2
    assert (result.pages, result.records) == (4, 3 + 3)


def test_only_unknown_channels_give_a_page_without_items(landing, settings):
    with YouTubeStandIn(KEY, [], []) as api:
        result = pull_source("youtube_videos", DAY, settings, creds(api, channel_ids=["UCdoesNotExist0000000000"]))
    assert [r.path for r in api.requests] == ["/channels"]
    assert "items" not in json.loads(api.served[0])
    assert (result.pages, result.records) == (1, 0)
    assert parsed(landing, "youtube_videos")["youtube_channels"].empty


def test_throttling_honours_retry_after_and_5xx_are_retried(landing, settings):
    videos, channels = catalogue(3)
    with YouTubeStandIn(KEY, videos, channels) as api:
        api.fail_next(429, youtube_error(429, "rateLimitExceeded", "Too many requests.", "global"), {"Retry-After": "1"})
        api.fail_next(500, youtube_error(500, "backendError", "Backend Error", "global"))
        t0 = time.monotonic()
        result = pull_source("youtube_videos", DAY, settings, creds(api, video_ids=[v["id"] for v in videos]))
        elapsed = time.monotonic() - t0
    assert [r.status for r in api.requests] == [429, 500, 200, 200]
    assert elapsed >= 1.0  # waited as Retry-After said
    assert (result.requests, result.retries, result.pages, result.records) == (4, 2, 2, 6)
    manifest = pull_record(Landing(str(landing)), "youtube_videos", DAY)
    assert in_pull_order(landing, manifest["files"]) == api.served


def test_a_wrong_key_stops_at_once_without_leaking_it(landing, settings):
    videos, channels = catalogue(3)
    with YouTubeStandIn("AIzaSy-the-right-key-000000000000000", videos, channels) as api:
        with pytest.raises(PullError) as err:
            pull_source("youtube_videos", DAY, settings, creds(api, video_ids=[v["id"] for v in videos]))
    assert len(api.requests) == 1  # no retry
    message = str(err.value)
    assert "keyInvalid: API key not valid. Please pass a valid API key." in message
    assert "the API key (the password of connection 'ugc_youtube') was refused" in message and KEY not in message
    manifest = pull_record(Landing(str(landing)), "youtube_videos", DAY)
    assert manifest["status"] == "failed" and manifest["requests"] == 1 and KEY not in json.dumps(manifest)
    assert landed(landing, "youtube_videos") == {}


def test_the_exhausted_daily_quota_stops_the_pull_with_a_clear_message(landing, settings):
    videos, channels = catalogue(4)
    with YouTubeStandIn(KEY, videos, channels, page_size=2) as api:
        api.quota = 1
        with pytest.raises(PullError) as err:
            pull_source("youtube_videos", DAY, settings, creds(api, video_ids=[v["id"] for v in videos]))
    assert [r.status for r in api.requests] == [200, 403]  # no retry: the quota is back tomorrow
    message = str(err.value)
    assert "daily YouTube Data API quota" in message and "exhausted" in message and "midnight Pacific" in message
    assert "quotaExceeded: The request cannot be completed because you have exceeded your quota." in message
    assert "credentials were refused" not in message and KEY not in message
    manifest = pull_record(Landing(str(landing)), "youtube_videos", DAY)
    assert manifest["status"] == "failed" and manifest["pages"] == 1 and manifest["message"] == message


def test_a_short_rate_limit_lets_the_task_retry_later(landing, settings):
    videos, channels = catalogue(2)
    with YouTubeStandIn(KEY, videos, channels) as api:
        api.fail_next(403, youtube_error(403, "rateLimitExceeded", "The request cannot be completed because you have "
                                         "exceeded your quota.", "youtube.quota"))
        with pytest.raises(TransientPullError, match="short-term rate limit.*rateLimitExceeded"):
            pull_source("youtube_videos", DAY, settings, creds(api, video_ids=[v["id"] for v in videos]))
    assert len(api.requests) == 1


def test_a_part_the_api_no_longer_supports_stops_the_pull(landing, settings):
    videos, channels = catalogue(2)
    with YouTubeStandIn(KEY, videos, channels) as api:
        api.retired_parts = {"statistics"}
        with pytest.raises(PullError, match=r"HTTP 400: unknownPart: 'statistics'"):
            pull_source("youtube_videos", DAY, settings, creds(api, video_ids=[v["id"] for v in videos]))
    assert len(api.requests) == 1 and landed(landing, "youtube_videos") == {}


def test_a_crash_before_the_channels_resumes_with_the_channels_of_the_landed_videos(landing, settings):
    videos, channels = catalogue(5)
    ids = [v["id"] for v in videos]
    with YouTubeStandIn(KEY, videos, channels, page_size=2) as api:
        serve, down = api.route, {"on": True}  # the channels fail more often than the 3 retries allowed
        api.route = lambda r: (503, {}, b"unavailable") if r.path == "/channels" and down["on"] else serve(r)
        with pytest.raises(TransientPullError, match="HTTP 503 after 3 retries"):
            pull_source("youtube_videos", DAY, settings, creds(api, video_ids=ids))
        first = list(api.served)
        manifest = pull_record(Landing(str(landing)), "youtube_videos", DAY)
        assert manifest["status"] == "failed" and manifest["pages"] == 3 and manifest["requests"] == 3 + 4
        down["on"] = False
        api.requests.clear()
        # as in a new process: a fresh extractor, nothing but the manifest's JSON paging state to go on
        result = pull_source("youtube_videos", DAY, settings, creds(api, video_ids=ids), extractor=YouTubeVideos())
    assert [(r.path, r.query["id"], r.query.get("pageToken")) for r in api.requests] == [  # no video asked again
        ("/channels", ",".join(CH[:3]), None), ("/channels", ",".join(CH[:3]), "CA2QAA")]
    manifest = pull_record(Landing(str(landing)), "youtube_videos", DAY)
    assert in_pull_order(landing, manifest["files"]) == api.served and api.served[:3] == first
    assert (result.pages, result.records, result.requests, result.retries) == (5, 5 + 3, 7 + 2, 3)


def test_every_id_is_asked_again_the_next_day(landing, settings):
    videos, channels = catalogue(3)
    ids = [v["id"] for v in videos]
    with YouTubeStandIn(KEY, videos, channels) as api:
        pull_source("youtube_videos", DAY, settings, creds(api, video_ids=ids))
        first = [r.query for r in api.requests]
        videos[0]["statistics"]["viewCount"] = "99999"  # overnight: the statistics grew
        api.requests.clear()
        nxt = DAY + timedelta(days=1)
        result = pull_source("youtube_videos", nxt, settings, creds(api, video_ids=ids))
    assert [r.query for r in api.requests] == first and result.status == "pulled"
    page = json.loads(landed(landing, "youtube_videos", nxt)["youtube_videos-videos-0001.json"])
    assert page["items"][0]["statistics"]["viewCount"] == "99999"


def test_the_loader_reads_the_pulled_pages(landing, settings):
    videos, channels = catalogue(7)
    with YouTubeStandIn(KEY, videos, channels, page_size=3) as api:
        pull_source("youtube_videos", DAY, settings,
                    creds(api, video_ids=[v["id"] for v in videos], channel_ids=[EXTRA]))
    tables = parsed(landing, "youtube_videos")
    rows, chans = tables["youtube_videos"], tables["youtube_channels"]
    assert sorted(rows["id"]) == sorted(v["id"] for v in videos)
    assert rows.set_index("id").loc["vid00000004", "snippet__channelId"] == CH[1]
    assert sorted(chans["id"]) == sorted([EXTRA, *CH[:3]])
    by_id = chans.set_index("id")
    assert by_id.loc[CH[0], "statistics__subscriberCount"] == "800"
    assert by_id.loc[EXTRA, "statistics__hiddenSubscriberCount"] == "true"
