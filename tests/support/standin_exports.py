"""A local stand-in of a platform's file-export endpoint (CSV or NDJSON), and export files to serve.

``ExportStandIn`` answers ``GET {path}`` with the pages the test gave for that path, byte for
byte: page 1 without a ``page`` parameter, page N with ``?page=N`` as its ``Link`` header said
(RFC 8288: ``<url>; rel="next"`` among ``first``/``prev``/``last`` links, absolute or relative
URLs, the request's other query parameters kept). It checks ``Authorization: Bearer <token>`` (or
HTTP basic) and answers a wrong token with a 401 JSON error that echoes the token it received (as
some APIs do: the pull must redact it). Fault injection and request recording are the
``support.standins.StandIn`` ones.

The builders write exports the way the platforms do: CSV through the ``csv`` module (fields
holding separators, quotes and newlines quoted), CRLF line ends, optional UTF-8 BOM and ``;``
separator (French exports); NDJSON one compact JSON object per line.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from urllib.parse import urlencode

from support.standins import Request, StandIn, api_json

CSV = "text/csv; charset=utf-8"
NDJSON = "application/x-ndjson"


class ExportStandIn(StandIn):
    def __init__(self, exports: dict[str, list[bytes]], token: str | None = None,
                 basic: tuple[str, str] | None = None, content_type: str = CSV, relative_links: bool = False) -> None:
        super().__init__()
        self.exports, self.token, self.basic = exports, token, basic
        self.content_type, self.relative_links = content_type, relative_links

    def route(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        refused = self._refused(request)
        if refused is not None:
            return refused
        pages = self.exports.get(request.path)
        if pages is None:
            return 404, {}, api_json({"error": {"code": 404, "message": f"no export at {request.path}"}})
        number = int(request.query.get("page", 1))
        if not 1 <= number <= len(pages):
            return 400, {}, api_json({"error": {"code": 400, "message": f"page {number} out of range"}})
        headers = {"Content-Type": self.content_type}
        if len(pages) > 1:
            links = [(1, "first"), (number - 1, "prev"), (number + 1, "next"), (len(pages), "last")]
            headers["Link"] = ", ".join(f'<{self._page_url(request, n)}>; rel="{rel}"'
                                        for n, rel in links if 1 <= n <= len(pages))
        return 200, headers, pages[number - 1]

    def _page_url(self, request: Request, number: int) -> str:
        query = urlencode({**{k: v for k, v in request.query.items() if k != "page"}, "page": number})
        return f"{'' if self.relative_links else self.url}{request.path}?{query}"

    def _refused(self, request: Request) -> tuple[int, dict[str, str], bytes] | None:
        given = request.headers.get("authorization", "")
        if self.basic is not None:
            expected = "Basic " + base64.b64encode(":".join(self.basic).encode()).decode()
            if given != expected:
                return 401, {"WWW-Authenticate": 'Basic realm="exports"'}, api_json(
                    {"error": {"code": 401, "message": "bad user name or password"}})
        elif self.token is not None and given != f"Bearer {self.token}":
            received = given.removeprefix("Bearer ")
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, api_json(
                {"error": {"code": 401, "message": f"invalid_token: the token {received} was revoked"}})
        return None


# -- export files -----------------------------------------------------------------------------------

def csv_bytes(header: list[str], rows: list[list], delimiter: str = ",", bom: bool = False) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def ndjson_bytes(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)


POST_COLUMNS = ["post_id", "ambassador_id", "campaign_id", "platform", "post_url", "content_type", "posted_at",
                "followers_at_post", "likes", "comments", "shares", "views"]


def posts(first: int, n: int) -> list[dict]:
    return [{"post_id": f"P{i:04d}", "ambassador_id": f"A{i % 7:03d}", "campaign_id": "CAMP-2025-05",
             "platform": ("instagram", "tiktok", "blog")[i % 3],
             "post_url": f"https://example.org/p/{i}?utm=a,b",  # a comma: quoted in CSV
             "content_type": ("photo", "video", "recipe")[i % 3], "posted_at": f"2025-05-0{1 + i % 5}T10:00:00Z",
             "followers_at_post": 300 + i, "likes": 10 * i, "comments": i, "shares": "" if i % 2 else i,
             "views": "" if i % 3 else 100 * i} for i in range(first, first + n)]


def posts_csv(first: int, n: int) -> bytes:
    return csv_bytes(POST_COLUMNS, [[p[c] for c in POST_COLUMNS] for p in posts(first, n)])


SURVEY_COLUMNS = ["response_id", "ambassador_id", "campaign_id", "answered_at", "people_told", "tried_product",
                  "recommend_score"]


def surveys_csv(first: int, n: int) -> bytes:
    return csv_bytes(SURVEY_COLUMNS, [[f"R{i:05d}", f"A{i % 7:03d}", "CAMP-2025-05", "2025-05-06T08:30:00+02:00",
                                       "" if i % 4 == 0 else i % 12, "yes" if i % 2 else "no", i % 11]
                                      for i in range(first, first + n)])


REVIEW_COLUMNS = ["review_id", "product_id", "gtin", "rating", "title", "review_text", "submission_time",
                  "last_modification_time", "user_nickname", "is_recommended", "incentivized_review", "is_syndicated",
                  "syndication_source", "photo_count", "video_count", "helpful_votes", "moderation_status",
                  "content_locale", "campaign_id"]
TRICKY_TEXT = 'Bon produit, mais "trop" cher ;\nje rachèterai quand même'  # separators, quotes, a newline


def reviews(first: int, n: int) -> list[list]:
    return [[f"RV{i:05d}", "" if i % 3 == 0 else f"SKU-{i % 4}", "3760000000017" if i % 3 == 0 else "",
             1 + i % 5, f"Avis {i}", TRICKY_TEXT if i == first else f"Très bien {i}", "2025-05-05T18:04:00Z",
             "2025-05-06T07:00:00Z", f"client{i}", "true", "false", "true" if i % 2 else "false",
             "Carrefour" if i % 2 else "", i % 2, 0, i % 6, "APPROVED" if i % 5 else "PENDING", "fr_FR", ""]
            for i in range(first, first + n)]


def reviews_csv(first: int, n: int, french: bool = False) -> bytes:
    """The retailer's feed; ``french``: ``;``-separated with a BOM (the French exports)."""
    return csv_bytes(REVIEW_COLUMNS, reviews(first, n), delimiter=";" if french else ",", bom=french)
