"""A local stand-in of the Instagram Graph API user node, for the extractor tests.

``GET /v21.0/{ig-user-id}?fields=id,username,followers_count,media.limit(N){...,insights.metric(...)}``
answers the user node with one page of its media, newest first; ``media.after(<cursor>)`` in the
``fields`` parameter asks for the following page. Paging is the Graph API's:
``media.paging.cursors.before/after`` (opaque) and ``media.paging.next`` (a URL of the ``/media``
edge, absent on the last page; with ``token_in_next`` it carries ``access_token=...`` as the real
API writes it). Each media's insights come as ``{"data":[{"name","period":"lifetime","values":
[{"value"}],...}]}``; a metric the test left out of a media is absent (unknown), never 0.

Errors are the Graph API's ``{"error":{"message","type":"OAuthException","code",...}}``: a wrong
bearer token gets code 190 (on ``expired_status``: 400 by default, 401 as Graph sometimes
answers), a missing one code 104, ``impressions`` or any metric outside ``allowed_metrics`` code
100 on a 400, an unknown field code 100, an unknown account code 100 subcode 33.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urlencode

from support.standins import Request, StandIn, api_json

VERSION = "v21.0"
ALLOWED_METRICS = ("reach", "views", "saved", "shares", "likes", "comments", "total_interactions", "follows",
                   "profile_visits", "profile_activity", "ig_reels_avg_watch_time", "ig_reels_video_view_total_time")
USER_FIELDS = ("id", "username", "followers_count", "follows_count", "media_count", "name", "biography")
MEDIA_FIELDS = ("id", "caption", "media_type", "media_product_type", "permalink", "timestamp", "like_count",
                "comments_count", "media_url", "thumbnail_url", "shortcode", "username", "is_comment_enabled")


def graph_error(message: str, code: int, subcode: int | None = None, type_: str = "OAuthException") -> bytes:
    error = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AxYz1234AbCdEfGhIjKlMnO"
    return api_json({"error": error})


EXPIRED = graph_error("Error validating access token: Session has expired on Monday, 05-May-25 10:00:00 PDT. "
                      "The current time is Tuesday, 06-May-25 23:00:00 PDT.", 190, 463)
NO_TOKEN = graph_error("An access token is required to request this resource.", 104)


def split_top(text: str) -> list[str]:
    """Split a ``fields`` value at the commas outside braces and parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def cursor(account: str, offset: int) -> str:
    return "QVFI" + base64.urlsafe_b64encode(f"{account}:{offset}".encode()).decode().rstrip("=")


def offset_of(account: str, value: str) -> int | None:
    try:
        raw = value.removeprefix("QVFI")
        where, _, at = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().partition(":")
        return int(at) if where == account else None
    except ValueError:
        return None


class InstagramStandIn(StandIn):
    """Some accounts: id -> ``{"username", "followers_count", "media": [...]}``, each media a
    Graph media with its lifetime metrics in an ``insights`` dict (name -> value); ``tokens``:
    the access token each account accepts."""

    def __init__(self, accounts: dict[str, dict], tokens: dict[str, str], *, token_in_next: bool = False,
                 expired_status: int = 400, allowed_metrics: tuple[str, ...] = ALLOWED_METRICS) -> None:
        super().__init__()
        self.accounts, self.tokens = accounts, tokens
        self.token_in_next, self.expired_status, self.allowed_metrics = token_in_next, expired_status, allowed_metrics

    def route(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        account = request.path.removeprefix(f"/{VERSION}/")
        if account not in self.accounts:
            return 400, {}, graph_error(
                f"Unsupported get request. Object with ID '{account}' does not exist, cannot be loaded due to missing "
                "permissions, or does not support this operation.", 100, 33, "GraphMethodException")
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else request.query.get("access_token")
        if not token:
            return 400, {}, NO_TOKEN
        if token != self.tokens.get(account):
            return self.expired_status, {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token" '
                                                             '"Error validating access token"'}, EXPIRED
        node: dict = {}
        for field in split_top(request.query.get("fields", "id")):
            name = re.match(r"[a-z_]+", field).group(0)
            if name == "media":
                answer = self._media(account, field, token)
                if isinstance(answer, bytes):
                    return 400, {}, answer
                node["media"] = answer
            elif name in USER_FIELDS:
                node[name] = account if name == "id" else self.accounts[account].get(name)
            else:
                return 400, {}, graph_error(f"(#100) Tried accessing nonexisting field ({name}) on node type (User)", 100)
        return 200, {}, api_json(node)

    def _media(self, account: str, field: str, token: str) -> dict | bytes:
        from ugc_pipeline.extract import parse_time

        spec = re.fullmatch(r"media((?:\.[a-z_]+\([^)]*\))*)(?:\{(.*)\})?", field)
        if spec is None:
            return graph_error(f"(#100) Syntax error \"Expected end of string instead of {field!r}.\"", 100)
        modifiers = dict(re.findall(r"\.([a-z_]+)\(([^)]*)\)", spec.group(1)))
        subfields = split_top(spec.group(2) or "id")
        limit = int(modifiers.get("limit", 25))
        offset = 0
        if "after" in modifiers:
            offset = offset_of(account, modifiers["after"])
            if offset is None:
                return graph_error("(#100) The after cursor is invalid", 100)
        metrics: list[str] = []
        for sub in subfields:
            asked = re.fullmatch(r"insights\.metric\(([^)]*)\)", sub)
            if asked:
                metrics = [m.strip() for m in asked.group(1).split(",") if m.strip()]
            elif sub not in MEDIA_FIELDS:
                return graph_error(f"(#100) Tried accessing nonexisting field ({sub}) on node type (ShadowIGMedia)", 100)
        for i, metric in enumerate(metrics):
            if metric == "impressions":
                return graph_error("(#100) Starting from v22.0 and for all versions on April 21, 2025, the impressions "
                                   "metric is no longer supported for media; use views instead.", 100)
            if metric not in self.allowed_metrics:
                return graph_error(f"(#100) metric[{i}] must be one of the following values: "
                                   f"{', '.join(self.allowed_metrics)}", 100)
        ordered = sorted(self.accounts[account].get("media", []), key=lambda m: parse_time(m["timestamp"]), reverse=True)
        page = ordered[offset: offset + limit]
        data = []
        for media in page:
            item = {k: media[k] for k in subfields if k in media}
            if metrics:
                item["insights"] = {"data": [
                    {"name": m, "period": "lifetime", "values": [{"value": media["insights"][m]}],
                     "title": m.replace("_", " ").capitalize(), "description": f"Lifetime {m}",
                     "id": f"{media['id']}/insights/{m}/lifetime"}
                    for m in metrics if m in media.get("insights", {})]}
            data.append(item)
        result: dict = {"data": data}
        if page:
            result["paging"] = {"cursors": {"before": cursor(account, offset), "after": cursor(account, offset + len(page))}}
            if offset + limit < len(ordered):
                query = ({"access_token": token} if self.token_in_next else {}) | {
                    "pretty": "0", "fields": ",".join(subfields), "limit": limit,
                    "after": cursor(account, offset + len(page))}
                result["paging"]["next"] = f"{self.url}/{VERSION}/{account}/media?{urlencode(query)}"
        return result
