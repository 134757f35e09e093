"""Pull TikTok videos: ``POST /v2/video/list/`` of the Display API, once per account.

Connection ``ugc_tiktok`` (type HTTP): host = the API (default ``https://open.tiktokapis.com``),
password = the user access token used for an account that has none of its own; extra:
``accounts``, a list of ``{"username": "...", "access_token": "..."}`` (each account's own user
token, from its OAuth consent with the ``video.list`` scope; one stream, one series of files per
username), ``max_count`` (page size, at most and by default 20), ``repull_days``.

The request: ``POST {base}/v2/video/list/?fields=id,create_time,...`` with
``Authorization: Bearer <token>`` and the JSON body ``{"max_count": 20, "cursor": <cursor>}`` (no
cursor on the first page). The answer, ``{"data": {"videos": [...], "cursor": 1714000000000,
"has_more": true}, "error": {"code": "ok", "message": "", "log_id": "..."}}``, lists the videos
newest first; the next page is asked with ``data.cursor`` while ``has_more``. Not incremental:
the counts of recent videos grow, so each pull asks again for the videos created in the last
``repull_days`` days, and stops after the first page reaching back before that. An ``error.code``
other than ``ok`` stops the pull, with an HTTP error (401 ``access_token_invalid``: the token
expired or was revoked, the account must consent again) or on an HTTP 200 (the page is not
landed: the loader would refuse it anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from ugc_pipeline.extract import Extractor, Page, PullContext, PullError, api_error_message, json_page, parse_time

FIELDS = ("id", "create_time", "username", "video_description", "hashtag_names", "like_count", "comment_count",
          "share_count", "view_count")
MAX_COUNT = 20  # the API's largest page


class TikTokVideos(Extractor):
    source = "tiktok_videos"
    conn_id = "ugc_tiktok"
    default_base_url = "https://open.tiktokapis.com"

    def streams(self, ctx: PullContext) -> list[str]:
        usernames: list[str] = []
        for account in self._accounts(ctx):
            if account["username"] not in usernames:
                usernames.append(account["username"])
        return usernames

    def fetch(self, ctx: PullContext, stream: str, state: int | None) -> Page:
        token = self._token(ctx, stream)
        max_count = max(1, min(int(ctx.creds.option("max_count", MAX_COUNT)), MAX_COUNT))
        body: dict[str, Any] = {"max_count": max_count}
        if state is not None:
            body["cursor"] = state
        what = f"TikTok videos of @{stream}" + (f", cursor {state}" if state is not None else ", first page")
        response = ctx.http.request("POST", f"{ctx.creds.base_url(self.default_base_url)}/v2/video/list/", what,
                                    params={"fields": ",".join(FIELDS)}, json=body,
                                    headers={"Authorization": f"Bearer {token}"})
        page, videos = json_page(response, what, ("data", "videos"), optional=True)
        error = page.get("error")
        if isinstance(error, Mapping) and error.get("code", "ok") != "ok":  # an error served with HTTP 200
            raise PullError(f"{what}: TikTok answered HTTP {response.status_code} with an error: "
                            f"{ctx.http.redact(_error_text(error))}")
        data = page.get("data") or {}
        times = [v["create_time"] for v in videos if isinstance(v, Mapping) and isinstance(v.get("create_time"), int)]
        reached_back = bool(times) and parse_time(min(times)) < ctx.repull_since
        cursor = data.get("cursor")
        more = bool(data.get("has_more")) and bool(videos) and cursor is not None and not reached_back
        if more and cursor == state:
            raise PullError(f"{what}: the API answered has_more with the cursor it was asked ({cursor}): "
                            "paging would never end")
        return Page(body=response.content, records=len(videos), next=cursor if more else None)

    def describe_error(self, response: requests.Response) -> str:
        body = response.json()
        error = body.get("error") if isinstance(body, Mapping) else None
        if isinstance(error, Mapping) and error.get("code"):
            return _error_text(error)
        return api_error_message(response)

    def _accounts(self, ctx: PullContext) -> list[dict]:
        accounts = ctx.creds.option("accounts", [])
        if not isinstance(accounts, list):
            raise PullError(f"connection {self.conn_id!r}: extra 'accounts' must be a list of "
                            '{"username": ..., "access_token": ...}')
        found = []
        for n, account in enumerate(accounts, 1):
            if not isinstance(account, Mapping) or not str(account.get("username") or "").strip():
                raise PullError(f"connection {self.conn_id!r}: account {n} of extra 'accounts' has no username")
            found.append({**account, "username": str(account["username"]).strip().lstrip("@")})
        return found

    def _token(self, ctx: PullContext, username: str) -> str:
        for account in self._accounts(ctx):
            if account["username"] == username:
                token = account.get("access_token") or ctx.creds.password
                if not token:
                    raise PullError(f"connection {self.conn_id!r}: no access token for @{username} (set its "
                                    "'access_token' in extra 'accounts', or the connection's password)")
                return str(token)
        raise PullError(f"connection {self.conn_id!r}: @{username} is no longer in extra 'accounts'")


def _error_text(error: Mapping) -> str:
    text = f"{error.get('code')}: {error.get('message') or '(no message)'}"
    return text + (f" (log_id {error['log_id']})" if error.get("log_id") else "")


EXTRACTOR = TikTokVideos()
