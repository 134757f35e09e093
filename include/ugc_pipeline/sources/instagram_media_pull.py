"""Pull Instagram media with their lifetime insights: the Graph API user node, ``GET /{ig-user-id}``
with the ``media`` edge expanded in ``fields``.

Connection ``ugc_instagram`` (type HTTP): password = the access token (a long-lived user or page
token with ``instagram_basic`` and ``instagram_manage_insights``), sent as
``Authorization: Bearer``, never in the URL; host = the API with its version (default
``https://graph.facebook.com/v21.0``); extra: ``accounts`` (required: the Instagram professional
account ids to pull, one stream each; an entry may be an object ``{"id": "...", "access_token":
"..."}`` when that account has its own token), ``metrics`` (the media insights requested,
default ``reach,views,saved,shares``; ``impressions`` is deprecated and refused by the API),
``page_size`` (media per page, default 50), ``repull_days``, ``max_retries``, ``timeout``.

A request asks for ``id,username,followers_count,media.limit(N){id,caption,media_type,
media_product_type,permalink,timestamp,like_count,comments_count,insights.metric(...)}``, the
following ones for ``media.after(<cursor>).limit(N){...}``: every page is the user node the
adapter reads, ``{"id","username","followers_count","media":{"data":[...],"paging":{"cursors":
{"after":...},"next":...}}}``. Insights are lifetime totals that keep growing, so there is no
cursor: each day re-pulls the posts of the last ``repull_days`` days. Media come newest first;
paging stops after the first page whose oldest post is older than that window, or when
``media.paging.next`` is absent.

Graph errors are ``{"error":{"message":"(#100) ...","type":"OAuthException","code":100,...}}``:
code 190 is an expired or revoked token (on a 400 or a 401), code 100 a field or metric the API
no longer supports; both stop the pull at once with a message saying what to change. The Graph
API writes the access token into ``paging.next``: the core lands the page byte for byte except
that every secret of the connection is replaced by ``***``. The Graph API throttles with codes
4, 17, 32 and 613 on a 400 or 403: those fail the try so that Airflow pulls again later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote

import requests

from ugc_pipeline.extract import Extractor, Page, PullContext, PullError, TransientPullError, json_page, parse_time

DEFAULT_METRICS = "reach,views,saved,shares"
MEDIA_FIELDS = "id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count"
USER_FIELDS = "id,username,followers_count"
METRIC_NAME = re.compile(r"^[a-z_]+$")


class InstagramMedia(Extractor):
    source = "instagram_media"
    conn_id = "ugc_instagram"
    default_base_url = "https://graph.facebook.com/v21.0"
    incremental = False

    # -- settings ------------------------------------------------------------------------------
    def _accounts(self, ctx: PullContext) -> dict[str, str]:
        """Account id -> its access token (its own, else the connection's password)."""
        value = ctx.creds.option("accounts", [])
        entries = re.split(r"[\s,]+", value) if isinstance(value, str) else value
        if not isinstance(entries, list | tuple):
            raise PullError(f"connection {self.conn_id!r}: the extra 'accounts' must be a list of Instagram account "
                            f"ids, not {type(value).__name__}")
        accounts: dict[str, str] = {}
        for entry in entries:
            if isinstance(entry, Mapping):
                account, token = str(entry.get("id") or "").strip(), str(entry.get("access_token") or "")
            else:
                account, token = str(entry).strip(), ""
            if not account:
                continue
            if not account.isdigit():
                shown = repr(account) if len(account) <= 32 else f"an entry of {len(account)} characters"  # a pasted token?
                raise PullError(f"connection {self.conn_id!r}: {shown} in the extra 'accounts' is not an Instagram "
                                "account id (the numeric id of the professional account, e.g. 17841400000000000)")
            token = token or ctx.creds.password
            if not token:
                raise PullError(f"connection {self.conn_id!r} has no access token for account {account}: set the "
                                "connection's password, or an 'access_token' in that account's entry of 'accounts'")
            accounts[account] = token
        return accounts

    def _metrics(self, ctx: PullContext) -> str:
        value = ctx.creds.option("metrics", DEFAULT_METRICS)
        names = re.split(r"[\s,]+", value) if isinstance(value, str) else [str(v) for v in value]
        names = [n.strip() for n in names if n.strip()]
        bad = [n for n in names if not METRIC_NAME.match(n)]
        if not names or bad:
            raise PullError(f"connection {self.conn_id!r}: the extra 'metrics' must list insight names such as "
                            f"{DEFAULT_METRICS}" + (f"; {bad[0]!r} is not one" if bad else ""))
        return ",".join(dict.fromkeys(names))

    def fields(self, metrics: str, page_size: int, after: str | None = None) -> str:
        """The ``fields`` parameter: the user node, and one page of its media with their insights."""
        media = "media" + (f".after({after})" if after else "") + f".limit({page_size})"
        return f"{USER_FIELDS},{media}{{{MEDIA_FIELDS},insights.metric({metrics})}}"

    # -- the pull ------------------------------------------------------------------------------
    def streams(self, ctx: PullContext) -> list[str]:
        return list(self._accounts(ctx))

    def fetch(self, ctx: PullContext, stream: str, state: str | None) -> Page:
        accounts = self._accounts(ctx)
        if stream not in accounts:
            raise PullError(f"account {stream} is no longer in the extra 'accounts' of the connection {self.conn_id!r}, "
                            "but this day's pull started with it: put it back, or force a new pull of the day")
        page_size = int(ctx.creds.option("page_size", 50))
        if page_size < 1:
            raise PullError(f"connection {self.conn_id!r}: the extra 'page_size' must be at least 1, not {page_size}")
        what = f"Instagram media of account {stream}" + (" (next page)" if state else " (first page)")
        response = ctx.http.request(
            "GET", f"{ctx.creds.base_url(self.default_base_url)}/{stream}", what,
            params={"fields": self.fields(self._metrics(ctx), page_size, state)},
            headers={"Authorization": f"Bearer {accounts[stream]}"})
        body, media = json_page(response, what, ("media", "data"), optional=True)
        paging = (body.get("media") or {}).get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        times = [parse_time(m["timestamp"]) for m in media if isinstance(m, Mapping) and m.get("timestamp")]
        # Newest first: once a page reaches back before the re-pull window, the older posts are not wanted.
        reached_back = bool(times) and min(times) < ctx.repull_since
        done = reached_back or not media or not paging.get("next") or not after
        return Page(body=response.content, records=len(media), next=None if done else after)

    # -- errors --------------------------------------------------------------------------------
    def describe_error(self, response: requests.Response) -> str:
        error = response.json().get("error")
        if not isinstance(error, Mapping) or not error.get("message"):
            return ""  # not a Graph error body: the core's generic reading
        code, subcode = error.get("code"), error.get("error_subcode")
        api = (f"Graph API: {error['message']} ({error.get('type') or 'error'}, code {code}"
               + (f", subcode {subcode}" if subcode else "") + ")")
        if code == 190:
            return (f"the access token expired or was revoked: renew it in the Airflow connection {self.conn_id!r} "
                    "(its password, or this account's 'access_token' in the extra 'accounts'). " + api)
        if code == 100 and subcode == 33:
            return (f"the account does not exist or this token cannot read it: check the extra 'accounts' of the "
                    f"connection {self.conn_id!r}. " + api)
        if code == 100:
            asked = re.search(r"insights\.metric\(([^)]*)\)", unquote(response.request.url or "")) if response.request else None
            return ("a field or metric the pull requests is not supported (any more) by this Graph API version: change "
                    f"'metrics' in the extra of the connection {self.conn_id!r}"
                    + (f" (now {asked.group(1)}; e.g. views replaces impressions)" if asked else "") + ". " + api)
        if code in (4, 17, 32, 613):
            return f"the Graph API's rate limit is reached: pull again later. {api}"
        if code == 10 or (isinstance(code, int) and 200 <= code < 300):
            return (f"the token of the connection {self.conn_id!r} lacks a permission (instagram_basic, "
                    "instagram_manage_insights, pages_read_engagement). " + api)
        return api

    def classify(self, response: requests.Response) -> type[Exception] | None:
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            return None
        code = error.get("code") if isinstance(error, Mapping) else None
        return TransientPullError if code in (4, 17, 32, 613) else PullError if code == 190 else None


EXTRACTOR = InstagramMedia()
