"""Pull YouTube videos and their channels: ``videos.list`` and ``channels.list`` of the Data API v3.

Connection ``ugc_youtube`` (type HTTP): password = the API key (a Google Cloud project's key with
the YouTube Data API v3 enabled; sent as the ``X-Goog-Api-Key`` header, never in the URL), host =
the API (default ``https://www.googleapis.com/youtube/v3``); extra: ``video_ids`` (the videos to
follow: a list of ids) and ``channel_ids`` (channels to follow besides those of the videos).

A pull lands two kinds of pages, which the loader tells apart by ``kind``:

- ``GET {base}/videos?part=snippet,statistics&id=<ids>&maxResults=50``, the video ids 50 at a time
  (the API's limit), following ``nextPageToken`` (as ``pageToken``) when there is one ->
  ``{"kind": "youtube#videoListResponse", "items": [...]}``; a video that was deleted or made
  private is simply missing from ``items``;
- then ``GET {base}/channels?part=statistics&id=<ids>`` for the configured channels plus the
  channels (``snippet.channelId``) of the videos just pulled ->
  ``{"kind": "youtube#channelListResponse", "items": [...]}`` (``items`` is left out when none of
  the ids exists).

Not incremental: the statistics grow, so every pull asks for every id again. Both kinds are one
paging sequence (one stream, ``videos``): its JSON state carries the id chunks still to ask and
the channel ids seen so far, so a pull resumed in another process, after a crash, asks the
channels of the videos it landed before the crash without asking those videos again. The pages
are named by kind: ``youtube_videos-videos-0001.json``, then ``youtube_videos-channels-0004.json``
(numbered in the order of the pull).

Errors (``{"error": {"code": 403, "message": ..., "errors": [{"reason": ...}]}}``): 403
``quotaExceeded`` stops the pull (the project's daily quota is exhausted until midnight Pacific
time, retrying sooner is useless); 403 ``rateLimitExceeded`` / ``userRateLimitExceeded`` (a short
burst limit) fail the task so that Airflow retries it later; 400 ``keyInvalid`` (a wrong key),
``invalidParameter`` or ``unknownPart`` (a part or parameter the API no longer supports) stop it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import requests

from ugc_pipeline.extract import (
    Extractor,
    Page,
    PullContext,
    PullError,
    TransientPullError,
    api_error_message,
    json_page,
)

IDS_PER_REQUEST = 50  # the API's limit on ``id``
STREAM = "videos"
KINDS = {"videos": "youtube#videoListResponse", "channels": "youtube#channelListResponse"}
PARTS = {"videos": "snippet,statistics", "channels": "statistics"}
SHORT_LIMIT_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")


class YouTubeVideos(Extractor):
    source = "youtube_videos"
    conn_id = "ugc_youtube"
    default_base_url = "https://www.googleapis.com/youtube/v3"

    def streams(self, ctx: PullContext) -> list[str]:
        if not ctx.creds.password:
            raise PullError(f"connection {self.conn_id!r} has no password: set it to the YouTube Data API key")
        return [STREAM] if self._ids(ctx, "video_ids") or self._ids(ctx, "channel_ids") else []

    def fetch(self, ctx: PullContext, stream: str, state: dict | None) -> Page:
        if state is None:
            state = self._start(ctx)
        if not state["pending"]:
            raise PullError(f"connection {self.conn_id!r} lists no video_ids and no channel_ids")
        kind, chunk = state["kind"], state["pending"][0]
        params: dict[str, Any] = {"part": PARTS[kind], "id": ",".join(chunk)}
        if kind == "videos":
            params["maxResults"] = IDS_PER_REQUEST
        if state.get("page_token"):
            params["pageToken"] = state["page_token"]
        what = (f"YouTube {kind}, ids {chunk[0]}..{chunk[-1]} ({len(chunk)})"
                + (f", page {state['page_token']}" if state.get("page_token") else ""))
        response = ctx.http.request("GET", f"{ctx.creds.base_url(self.default_base_url)}/{kind}", what,
                                    params=params, headers={"X-Goog-Api-Key": ctx.creds.password})
        body, items = json_page(response, what, ("items",), optional=True)
        if body.get("kind") != KINDS[kind]:
            raise PullError(f"{what}: unexpected page kind {body.get('kind')!r} (expected {KINDS[kind]!r})")
        channels = list(state["channels"])
        if kind == "videos":
            for item in items:
                channel = (item.get("snippet") or {}).get("channelId") if isinstance(item, Mapping) else None
                if channel and channel not in channels:
                    channels.append(channel)
        return Page(body=response.content, records=len(items), suffix=f"{kind}.json",
                    next=_following(state, body.get("nextPageToken"), channels))

    def page_name(self, stream: str, number: int, suffix: str) -> str:
        kind, _, extension = suffix.rpartition(".")  # fetch gives "videos.json" or "channels.json"
        return f"{self.source}-{kind or stream}-{number:04d}.{extension}"

    def describe_error(self, response: requests.Response) -> str:
        """``reason: message``, reworded where the status misleads (a 403 is not always the key)."""
        reasons, message = _reasons(response)
        if not message and not reasons:
            return api_error_message(response)
        detail = f"{', '.join(reasons) or 'error'}: {message or '(no message)'}"
        if "quotaExceeded" in reasons:
            return ("the daily YouTube Data API quota of the key's Google Cloud project is exhausted; it resets at "
                    f"midnight Pacific time: pull again after that, or ask Google for a higher quota ({detail})")
        if set(reasons) & set(SHORT_LIMIT_REASONS):
            return f"YouTube's short-term rate limit was hit, the task will try again later ({detail})"
        if set(reasons) & {"keyInvalid", "API_KEY_INVALID"}:
            return f"the API key (the password of connection {self.conn_id!r}) was refused: {detail}"
        return detail

    def classify(self, response: requests.Response) -> type[Exception] | None:
        reasons, _ = _reasons(response)
        if set(reasons) & set(SHORT_LIMIT_REASONS):
            return TransientPullError
        return PullError if set(reasons) & {"quotaExceeded", "keyInvalid", "API_KEY_INVALID"} else None

    def _ids(self, ctx: PullContext, name: str) -> list[str]:
        value = ctx.creds.option(name, [])
        if isinstance(value, str):  # tolerate "id1,id2" typed in the connection form
            value = value.split(",")
        if not isinstance(value, list):
            raise PullError(f"connection {self.conn_id!r}: extra {name!r} must be a list of ids")
        return list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))

    def _start(self, ctx: PullContext) -> dict:
        """The paging state before the first page: the video id chunks, the configured channels."""
        state = {"kind": "videos", "pending": _chunks(self._ids(ctx, "video_ids")), "page_token": None,
                 "channels": self._ids(ctx, "channel_ids")}
        if not state["pending"]:
            state.update(kind="channels", pending=_chunks(state["channels"]))
        return state


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i:i + IDS_PER_REQUEST] for i in range(0, len(ids), IDS_PER_REQUEST)]


def _following(state: dict, page_token: str | None, channels: list[str]) -> dict | None:
    """The state of the next request (JSON: it is kept in the pull's manifest); None at the end."""
    if page_token:
        return {**state, "page_token": page_token, "channels": channels}
    pending = state["pending"][1:]
    if pending:
        return {**state, "pending": pending, "page_token": None, "channels": channels}
    if state["kind"] == "videos" and channels:
        return {"kind": "channels", "pending": _chunks(channels), "page_token": None, "channels": channels}
    return None


def _reasons(response: requests.Response) -> tuple[list[str], str]:
    """The reasons and the message of a Google API error body (``{"error": {...}}``)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return [], ""
    if not isinstance(error, Mapping):
        return [], ""
    message = re.sub(r"<[^>]+>", "", str(error.get("message") or "")).strip()  # quota: an HTML link
    reasons = [e.get("reason") for e in error.get("errors") or [] if isinstance(e, Mapping) and e.get("reason")]
    reasons += [d.get("reason") for d in error.get("details") or [] if isinstance(d, Mapping) and d.get("reason")]
    return list(dict.fromkeys(reasons)) or ([error["status"]] if error.get("status") else []), message


EXTRACTOR = YouTubeVideos()
