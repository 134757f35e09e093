"""A local stand-in of the YouTube Data API v3 (``videos.list`` and ``channels.list`` by id).

``GET /videos?part=...&id=a,b,c&maxResults=n[&pageToken=t]`` and ``GET /channels?part=...&id=...``
with the API key in the ``X-Goog-Api-Key`` header: the known ids among those asked, in the order
asked, ``page_size`` at a time (or ``maxResults`` if smaller) with a
``nextPageToken`` while some remain; only the requested parts are served; a channels answer with
no known id has no ``items`` at all, as the real API does. Its errors have the API's shape: no key
(403 ``forbidden``), a wrong key (400 ``keyInvalid``), more than 50 ids or a part it does not know
or no longer supports (400 ``invalidParameter`` / ``unknownPart``), and, on demand, the daily
quota exhausted (403 ``quotaExceeded``) after ``quota`` requests.
"""

from __future__ import annotations

from support.standins import Request, StandIn, api_json

PARTS = {"videos": {"id", "snippet", "statistics", "contentDetails", "status"},
         "channels": {"id", "snippet", "statistics", "contentDetails", "brandingSettings"}}
KINDS = {"videos": ("youtube#videoListResponse", "youtube#video"),
         "channels": ("youtube#channelListResponse", "youtube#channel")}
QUOTA_MESSAGE = ("The request cannot be completed because you have exceeded your "
                 "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.")


def youtube_error(code: int, reason: str, message: str, domain: str = "youtube.parameter", **more) -> bytes:
    return api_json({"error": {"code": code, "message": message,
                               "errors": [{"message": message, "domain": domain, "reason": reason, **more}]}})


def quota_body() -> bytes:
    return youtube_error(403, "quotaExceeded", QUOTA_MESSAGE, "youtube.quota")


class YouTubeStandIn(StandIn):
    """``videos`` and ``channels``: the resources it knows (``{"id", "snippet", "statistics"}``)."""

    def __init__(self, key: str, videos: list[dict], channels: list[dict], page_size: int = 50) -> None:
        super().__init__()
        self.key, self.page_size = key, page_size
        self.known = {"videos": {v["id"]: v for v in videos}, "channels": {c["id"]: c for c in channels}}
        self.quota: int | None = None  # successful requests left today (None: no limit)
        self.retired_parts: set[str] = set()  # parts the API "no longer supports"

    def route(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        what = request.path.strip("/")
        if request.method != "GET" or what not in self.known:
            return 404, {}, youtube_error(404, "notFound", "Not Found", "global")
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return 403, {}, youtube_error(403, "forbidden", "The request is missing a valid API key.", "global")
        if key != self.key:
            return 400, {}, youtube_error(400, "keyInvalid", "API key not valid. Please pass a valid API key.",
                                          "usageLimits")
        parts = [p.strip() for p in request.query.get("part", "").split(",") if p.strip()]
        wrong = [p for p in parts if p not in PARTS[what] or p in self.retired_parts]
        if not parts or wrong:
            return 400, {}, youtube_error(400, "unknownPart", f"'{','.join(wrong) or 'part'}'", "youtube.part",
                                          location="part", locationType="parameter")
        ids = [i for i in request.query.get("id", "").split(",") if i]
        if not ids or len(ids) > 50:
            return 400, {}, youtube_error(400, "invalidParameter", "The request specifies an invalid filter "
                                          "parameter: id must list between 1 and 50 ids.",
                                          location="id", locationType="parameter")
        if self.quota is not None:
            if self.quota <= 0:
                return 403, {}, quota_body()
            self.quota -= 1
        found = [self.known[what][i] for i in ids if i in self.known[what]]
        start = int(request.query.get("pageToken", "CA0QAA").removeprefix("CA").removesuffix("QAA") or 0)
        size = min(self.page_size, int(request.query.get("maxResults", self.page_size)))
        items = found[start:start + size]
        list_kind, item_kind = KINDS[what]
        body: dict = {"kind": list_kind, "etag": f"etag-{what}-{start}"}
        if start + size < len(found):
            body["nextPageToken"] = f"CA{start + size}QAA"
        body["pageInfo"] = {"totalResults": len(found), "resultsPerPage": len(items)}
        if items or what == "videos":
            body["items"] = [{"kind": item_kind, "etag": f"etag-{r['id']}", "id": r["id"],
                              **{p: r[p] for p in parts if p in r}} for r in items]
        return 200, {}, api_json(body)
