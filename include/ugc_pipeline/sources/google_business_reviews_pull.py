"""Pull Google reviews of the brand's stores: Google Business Profile API v4
``accounts.locations.reviews.list``, ``GET /v4/{location}/reviews``.

Connection ``ugc_google_business`` (type HTTP); the requests carry ``Authorization: Bearer`` an
OAuth 2 access token with the ``https://www.googleapis.com/auth/business.manage`` scope, obtained
one of two ways:

- **refresh token** (what a daily run needs: access tokens expire after an hour): extra
  ``refresh_token``, ``client_id`` and ``client_secret`` (the OAuth client the refresh token was
  issued to) and optionally ``token_uri`` (default ``https://oauth2.googleapis.com/token``). Each
  pull first posts ``grant_type=refresh_token`` to ``token_uri`` (form-encoded, with the same
  retries as the API requests) and uses the ``access_token`` of the answer for all its requests
  (asking again only if the token would expire within a minute). A refused refresh (400
  ``invalid_grant``: the refresh token expired or was revoked) stops the pull at once: re-authorise
  and store the new refresh token. The access token is redacted from every message and masked in
  Airflow's logs;
- **fixed access token**: without ``refresh_token``, the password is the access token itself (a
  quick test; it is refused an hour after it was issued).

host = the API (default ``https://mybusiness.googleapis.com``; a stand-in or proxy otherwise);
further extra: ``locations`` (required: the list of location names ``accounts/{a}/locations/{l}``
to pull, one stream each; a comma-separated string is accepted too), ``page_size`` (1 to 50, the
API's maximum and the default), ``lookback_days``, ``max_retries``, ``timeout``.

Each page is ``{"reviews":[...],"averageRating":4.3,"totalReviewCount":187,"nextPageToken":"..."}``
(``reviews`` is left out of an empty page; ``nextPageToken`` out of the last one). The API has no
"changed since" filter, so the pull is incremental by ordering: ``orderBy=updateTime desc`` gives
the most recently updated reviews first, and paging stops after the first page holding a review
updated before the saved ``updateTime`` cursor minus the lookback window (or at the last page).
The cursor is the latest ``updateTime`` seen, per location. API errors come as
``{"error":{"code":401,"message":"...","status":"UNAUTHENTICATED"}}``, token endpoint errors as
``{"error":"invalid_grant","error_description":"..."}``.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Mapping

import requests

from ugc_pipeline.extract import Extractor, Page, PullContext, PullError, json_page, latest, parse_time

LOCATION_NAME = re.compile(r"^accounts/[^/\s]+/locations/[^/\s]+$")
MAX_PAGE_SIZE = 50
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
# Where a pull keeps the access token it obtained: on its PullContext, so that the token lives as
# long as that pull and no longer (the extractor is a module-level singleton shared by all pulls).
_ACCESS_TOKEN = "_google_access_token"
EXPIRY_MARGIN = 60.0  # seconds: a token expiring sooner than this is refreshed before the request


class GoogleBusinessReviews(Extractor):
    source = "google_business_reviews"
    conn_id = "ugc_google_business"
    default_base_url = "https://mybusiness.googleapis.com"
    incremental = True

    def streams(self, ctx: PullContext) -> list[str]:
        self._check_auth(ctx)
        value = ctx.creds.option("locations", [])
        names = re.split(r"[\s,]+", value) if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            raise PullError(f"connection {self.conn_id!r}: the extra 'locations' must be a list of location names "
                            f"(accounts/{{account}}/locations/{{location}}), not {type(value).__name__}")
        names = [str(n).strip().strip("/") for n in names if str(n).strip()]
        bad = [n for n in names if not LOCATION_NAME.match(n)]
        if bad:
            raise PullError(f"connection {self.conn_id!r}: {bad[0]!r} in the extra 'locations' is not a v4 location "
                            "name; write accounts/{account}/locations/{location}")
        return list(dict.fromkeys(names))  # each location once, in the order given

    def fetch(self, ctx: PullContext, stream: str, state: str | None) -> Page:
        page_size = int(ctx.creds.option("page_size", MAX_PAGE_SIZE))
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise PullError(f"connection {self.conn_id!r}: the extra 'page_size' must be 1 to {MAX_PAGE_SIZE}, "
                            f"not {page_size}")
        params = {"pageSize": page_size, "orderBy": "updateTime desc"}
        if state:
            params["pageToken"] = state
        what = f"Google reviews of {stream}" + (" (next page)" if state else " (first page)")
        response = ctx.http.request("GET", f"{ctx.creds.base_url(self.default_base_url)}/v4/{stream}/reviews", what,
                                    params=params, headers={"Authorization": f"Bearer {self._bearer(ctx)}"})
        body, reviews = json_page(response, what, ("reviews",), optional=True)
        times = [r.get("updateTime") or r.get("createTime") for r in reviews if isinstance(r, dict)]
        since = ctx.since(stream)
        # Newest update first: once a page reaches back before the window, older pages hold nothing new.
        reached_back = since is not None and any(t and parse_time(t) < since for t in times)
        token = body.get("nextPageToken")
        return Page(body=response.content, records=len(reviews),
                    next=token if token and reviews and not reached_back else None, cursor=latest(times))

    # -- the access token ----------------------------------------------------------------------

    def _check_auth(self, ctx: PullContext) -> None:
        if ctx.creds.option("refresh_token"):
            missing = [k for k in ("client_id", "client_secret") if not ctx.creds.option(k)]
            if missing:
                raise PullError(f"connection {self.conn_id!r} has a 'refresh_token' but no "
                                f"{' nor '.join(repr(k) for k in missing)} in its extra: set the OAuth client "
                                "the refresh token was issued to")
        elif not ctx.creds.password:
            raise PullError(f"connection {self.conn_id!r} has neither a 'refresh_token' in its extra (with "
                            "'client_id' and 'client_secret') nor a password: set an OAuth refresh token "
                            "with the business.manage scope (or, for a quick test, an access token as password)")

    def _bearer(self, ctx: PullContext) -> str:
        """The access token of this pull: the password, or one obtained with the refresh token
        (once per pull, again only when it is about to expire)."""
        self._check_auth(ctx)
        if not ctx.creds.option("refresh_token"):
            return ctx.creds.password
        cached = vars(ctx).get(_ACCESS_TOKEN)
        if cached and time.monotonic() < cached[1]:
            return cached[0]
        token, expires_in = self._refresh(ctx)
        vars(ctx)[_ACCESS_TOKEN] = (token, time.monotonic() + max(expires_in - EXPIRY_MARGIN, 0.0))
        return token

    def _refresh(self, ctx: PullContext) -> tuple[str, float]:
        """POST the refresh token to the token endpoint; the new access token and its lifetime (s)."""
        what = f"Google OAuth token refresh for the connection {self.conn_id!r}"
        form = {"grant_type": "refresh_token", "refresh_token": str(ctx.creds.option("refresh_token")),
                "client_id": str(ctx.creds.option("client_id")), "client_secret": str(ctx.creds.option("client_secret"))}
        response = ctx.http.request("POST", str(ctx.creds.option("token_uri", DEFAULT_TOKEN_URI)), what, data=form,
                                    headers={"Accept": "application/json"})
        try:
            body = response.json()
        except ValueError:  # the body is not quoted: it might hold a token
            raise PullError(f"{what}: the answer is not JSON (HTTP {response.status_code}, "
                            f"{response.headers.get('content-type', 'no content type')}); check the extra "
                            "'token_uri'") from None
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            keys = ", ".join(sorted(map(str, body))) if isinstance(body, Mapping) else type(body).__name__
            raise PullError(f"{what}: the answer has no access_token (it has: {keys or 'nothing'}); check the "
                            "extra 'token_uri'")
        _protect(ctx, token)
        try:
            expires_in = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        return token, expires_in

    # -- errors ----------------------------------------------------------------------------------

    def describe_error(self, response: requests.Response) -> str:
        body = response.json()
        error = body.get("error") if isinstance(body, Mapping) else None
        if isinstance(error, str) and error:  # the OAuth token endpoint: {"error": "...", "error_description": "..."}
            return self._oauth_error(error, str(body.get("error_description") or "").strip())
        if not isinstance(error, dict) or not error.get("message"):
            return ""  # not a Google error body: the core's generic reading
        status = error.get("status") or ""
        text = f"{error['message']} ({status or 'error'}, code {error.get('code', response.status_code)})"
        if response.status_code == 401 or status == "UNAUTHENTICATED":
            text += (f"; renew the OAuth access token in the password of the connection {self.conn_id!r} "
                     "(access tokens expire after an hour), or better set its extra 'refresh_token', 'client_id' "
                     "and 'client_secret' so that each pull obtains a fresh one")
        elif response.status_code == 403 or status == "PERMISSION_DENIED":
            text += (f"; the Google account of the connection {self.conn_id!r} must manage this location, and the "
                     "Google My Business API must be enabled for its project")
        elif response.status_code == 404 or status == "NOT_FOUND":
            text += f"; check the extra 'locations' of the connection {self.conn_id!r}"
        return text

    def _oauth_error(self, error: str, description: str) -> str:
        said = f"{error}" + (f": {description}" if description else "")
        if error == "invalid_grant":
            return (f"the refresh token of the connection {self.conn_id!r} was refused (expired or revoked): {said}; "
                    "re-authorise the Google account (a new OAuth consent with the business.manage scope) and put "
                    "the new refresh token in the extra 'refresh_token' of the connection")
        if error in ("invalid_client", "unauthorized_client"):
            return (f"the OAuth client of the connection {self.conn_id!r} was refused: {said}; check its extra "
                    "'client_id' and 'client_secret' (the refresh token must have been issued to that client)")
        return f"the token endpoint refused to refresh the access token of the connection {self.conn_id!r}: {said}"


def _protect(ctx: PullContext, token: str) -> None:
    """Keep an obtained access token out of every message of the pull, and out of Airflow's logs."""
    redact = ctx.http.redact
    redact.secrets = sorted({*redact.secrets, token}, key=len, reverse=True)
    # Inside an Airflow task the connection was read through Credentials.from_airflow, which has
    # imported airflow.sdk.log; elsewhere (tests, a plain script) Airflow is not loaded for this.
    airflow_log = sys.modules.get("airflow.sdk.log")
    if airflow_log is not None:
        try:
            airflow_log.mask_secret(token)
        except Exception:  # masking is a safeguard: never fail the pull for it
            pass

EXTRACTOR = GoogleBusinessReviews()
