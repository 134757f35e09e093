"""A local stand-in of the Google Business Profile API v4 reviews list, for the extractor tests.

``GET /v4/accounts/{a}/locations/{l}/reviews?pageSize&pageToken&orderBy`` answers one page
``{"reviews":[...],"averageRating":..,"totalReviewCount":..,"nextPageToken":"..."}`` of the
location's reviews, most recently updated first (``orderBy=updateTime desc``, the default; the
API has no "updated since" filter). ``reviews`` is left out of an empty page and
``nextPageToken`` out of the last one, as Google does; page tokens are opaque. A missing or wrong
bearer token gets Google's 401 ``UNAUTHENTICATED`` body, an unknown location a 404, a page size
over 50 or a bad page token a 400 ``INVALID_ARGUMENT``.

``POST /token`` is Google's OAuth 2 token endpoint for the refresh-token grant: a form-encoded
``grant_type=refresh_token&refresh_token&client_id&client_secret`` gets
``{"access_token":"ya29...","expires_in":3599,"scope":...,"token_type":"Bearer"}``, a fresh token
each time (``issued`` lists them); a wrong client gets 401 ``invalid_client``, a wrong (expired,
revoked) refresh token 400 ``invalid_grant``, as Google answers. The reviews list accepts the
issued tokens and the fixed ``token`` (the password of the old set-up), if any.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

from support.standins import Request, StandIn, api_json

STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
ORDERS = ("updateTime desc", "rating", "rating desc")


def google_error(code: int, status: str, message: str, **extra) -> bytes:
    return api_json({"error": {"code": code, "message": message, "status": status, **extra}})


def oauth_error(error: str, description: str) -> bytes:
    """The token endpoint's error body: ``error`` is a string there."""
    return api_json({"error": error, "error_description": description})


INVALID_GRANT = oauth_error("invalid_grant", "Token has been expired or revoked.")


UNAUTHENTICATED = google_error(
    401, "UNAUTHENTICATED",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_EXPIRED",
              "domain": "googleapis.com", "metadata": {"service": "mybusiness.googleapis.com",
                                                        "method": "google.mybusiness.v4.ListReviews"}}])


class GoogleBusinessStandIn(StandIn):
    """The reviews of some locations (location name -> reviews), behind a fixed access token
    (``token``) and/or the access tokens its ``/token`` endpoint issues for an OAuth client
    (``client_id``, ``client_secret``) and its ``refresh_token``. ``echo_credentials``: the error
    messages quote the request's Authorization header (as some proxies do), to test redaction."""

    def __init__(self, token: str | None, reviews: dict[str, list[dict]], *, client_id: str | None = None,
                 client_secret: str | None = None, refresh_token: str | None = None, expires_in: int = 3599,
                 echo_credentials: bool = False) -> None:
        super().__init__()
        self.token, self.reviews = token, reviews
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.expires_in, self.echo_credentials = expires_in, echo_credentials
        self.issued: list[str] = []  # the access tokens issued by /token, in order

    def route(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        from ugc_pipeline.extract import parse_time

        if request.path == "/token":
            return self.token_endpoint(request)
        echo = f" (credentials: {request.headers.get('authorization')})" if self.echo_credentials else ""
        location = request.path.removeprefix("/v4/").removesuffix("/reviews")
        if not request.path.startswith("/v4/") or not request.path.endswith("/reviews") or location not in self.reviews:
            return 404, {}, google_error(404, "NOT_FOUND", "Requested entity was not found." + echo)
        if request.method != "GET":
            return 405, {}, google_error(405, "METHOD_NOT_ALLOWED", "Method not allowed.")
        accepted = {f"Bearer {t}" for t in [self.token, *self.issued] if t}
        if request.headers.get("authorization") not in accepted:
            return 401, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}, \
                (google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials." + echo)
                 if echo else UNAUTHENTICATED)
        size = int(request.query.get("pageSize") or 50)
        order = request.query.get("orderBy", "updateTime desc")
        if not 1 <= size <= 50 or order not in ORDERS:
            return 400, {}, google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        offset = 0
        if request.query.get("pageToken"):
            try:
                where, _, at = base64.urlsafe_b64decode(request.query["pageToken"]).decode().rpartition("@")
                offset = int(at)
            except ValueError:
                where = ""
            if where != location:
                return 400, {}, google_error(400, "INVALID_ARGUMENT", "Invalid page token.")
        if order == "updateTime desc":
            chosen = sorted(self.reviews[location], key=lambda r: (parse_time(r["updateTime"]), r["reviewId"]),
                            reverse=True)
        else:
            chosen = sorted(self.reviews[location], key=lambda r: STARS.get(r["starRating"], 0),
                            reverse=order.endswith("desc"))
        page: dict = {}
        if chosen[offset: offset + size]:
            page["reviews"] = chosen[offset: offset + size]
        rated = [STARS[r["starRating"]] for r in chosen if r["starRating"] in STARS]
        if rated:
            page["averageRating"] = round(sum(rated) / len(rated), 1)
        if chosen:
            page["totalReviewCount"] = len(chosen)
        if offset + size < len(chosen):
            page["nextPageToken"] = base64.urlsafe_b64encode(f"{location}@{offset + size}".encode()).decode()
        return 200, {}, api_json(page)

    def token_endpoint(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        """``POST /token``, the refresh-token grant (form-encoded), as oauth2.googleapis.com answers it."""
        if request.method != "POST":
            return 405, {}, oauth_error("invalid_request", "Method not allowed.")
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return 400, {}, oauth_error("invalid_request", "Invalid content type.")
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "refresh_token":
            return 400, {}, oauth_error("unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", ""))
        if self.client_id is None or form.get("client_id") != self.client_id:
            return 401, {}, oauth_error("invalid_client", "The OAuth client was not found.")
        if form.get("client_secret") != self.client_secret:
            return 401, {}, oauth_error("invalid_client", "Unauthorized")
        if self.refresh_token is None or form.get("refresh_token") != self.refresh_token:
            return 400, {}, INVALID_GRANT
        with self._lock:
            token = f"ya29.a0-issued-access-token-{len(self.issued) + 1:03d}"
            self.issued.append(token)
        return 200, {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"}, api_json(
            {"access_token": token, "expires_in": self.expires_in,
             "scope": "https://www.googleapis.com/auth/business.manage", "token_type": "Bearer"})
