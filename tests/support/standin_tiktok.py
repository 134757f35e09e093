"""A local stand-in of TikTok's Display API video list, for the extractor tests.

``POST /v2/video/list/?fields=...`` with ``Authorization: Bearer <user token>`` and the JSON body
``{"max_count": n, "cursor": c}``: the videos of the token's account, newest first, those created
before the cursor (unix milliseconds) when one is given; the answer's ``cursor`` is the oldest
``create_time`` of the page in milliseconds, ``has_more`` tells whether older videos remain. Only
the requested ``fields`` are served. A token it does not know gets TikTok's 401
``access_token_invalid``, an unknown field or a ``max_count`` above 20 a 400 ``invalid_params``;
``error_with_200`` makes a later answer an error page served with HTTP 200.
"""

from __future__ import annotations

import json

from support.standins import Request, StandIn, api_json

KNOWN_FIELDS = {"id", "create_time", "cover_image_url", "share_url", "video_description", "duration", "height",
                "width", "title", "embed_html", "embed_link", "like_count", "comment_count", "share_count",
                "view_count", "username", "hashtag_names"}


def tiktok_body(data: dict, code: str = "ok", message: str = "", log_id: str = "202505060915304A1B2C3D4E5F") -> bytes:
    return api_json({"data": data, "error": {"code": code, "message": message, "log_id": log_id}})


def invalid_token_body() -> bytes:
    return tiktok_body({}, "access_token_invalid", "The access token is invalid or not found in the request.")


class TikTokStandIn(StandIn):
    """``tokens``: access token -> username; ``videos``: username -> video records (``create_time``
    in unix seconds, distinct within an account)."""

    def __init__(self, tokens: dict[str, str], videos: dict[str, list[dict]]) -> None:
        super().__init__()
        self.tokens, self.videos = tokens, videos
        self.error_at: tuple[int, str, str] | None = None

    def error_with_200(self, code: str, message: str, after: int = 0) -> None:
        """Answer with an error page and HTTP 200 once ``after`` more pages were served."""
        self.error_at = (len(self.served) + after, code, message)

    def route(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.method != "POST" or request.path != "/v2/video/list/":
            return 404, {}, tiktok_body({}, "not_found", "The requested path is not found.")
        auth = request.headers.get("authorization", "")
        username = self.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if username is None:
            return 401, {}, invalid_token_body()
        fields = [f for f in request.query.get("fields", "").split(",") if f]
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return 400, {}, tiktok_body({}, "invalid_params", "The request body is not valid JSON.")
        max_count = body.get("max_count", 10)
        if not fields or set(fields) - KNOWN_FIELDS:
            return 400, {}, tiktok_body({}, "invalid_params", f"Invalid fields: {sorted(set(fields) - KNOWN_FIELDS)}")
        if not isinstance(max_count, int) or not 0 < max_count <= 20:
            return 400, {}, tiktok_body({}, "invalid_params", "max_count must be between 1 and 20.")
        if self.error_at is not None and len(self.served) >= self.error_at[0]:
            _, code, message = self.error_at
            self.error_at = None
            return 200, {}, tiktok_body({}, code, message)
        cursor = body.get("cursor")
        chosen = sorted((v for v in self.videos.get(username, [])
                         if cursor is None or v["create_time"] * 1000 < cursor),
                        key=lambda v: v["create_time"], reverse=True)
        page = chosen[:max_count]
        data = {"videos": [{k: v[k] for k in fields if k in v} for v in page],
                "cursor": page[-1]["create_time"] * 1000 if page else (cursor or 0),
                "has_more": len(chosen) > len(page)}
        return 200, {}, tiktok_body(data)
