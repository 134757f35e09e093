"""Pull Yotpo reviews: ``GET /v1/apps/{app_key}/reviews`` (the "retrieve all reviews" API).

Connection ``ugc_yotpo`` (type HTTP): login = the app key, password = the API token (``utoken``),
host = the API (default ``https://api.yotpo.com``); extra: ``count`` (page size, default 100),
``lookback_days``. Incremental: each pull asks for the reviews updated since the saved
``updated_at`` cursor minus the lookback window (``since_updated_at``), page after page (``page``)
until a page holds fewer than ``count`` reviews. Deleted reviews come back with ``deleted: true``.
"""

from __future__ import annotations

from ugc_pipeline.extract import Extractor, Page, PullContext, PullError, iso, json_page, latest


class YotpoReviews(Extractor):
    source = "yotpo_reviews"
    conn_id = "ugc_yotpo"
    default_base_url = "https://api.yotpo.com"
    incremental = True

    def streams(self, ctx: PullContext) -> list[str]:
        if not ctx.creds.login:
            raise PullError(f"connection {self.conn_id!r} has no login: set it to the Yotpo app key")
        return [ctx.creds.login]

    def fetch(self, ctx: PullContext, stream: str, state: int | None) -> Page:
        page_number = state or 1
        count = int(ctx.creds.option("count", 100))
        params = {"utoken": ctx.creds.password, "count": count, "page": page_number}
        since = ctx.since(stream)
        if since is not None:
            params["since_updated_at"] = iso(since)
        what = f"Yotpo reviews of app {stream}, page {page_number}"
        response = ctx.http.request("GET", f"{ctx.creds.base_url(self.default_base_url)}/v1/apps/{stream}/reviews",
                                    what, params=params)
        _, reviews = json_page(response, what, ("reviews",))
        return Page(body=response.content, records=len(reviews),
                    next=page_number + 1 if len(reviews) >= count else None,
                    cursor=latest(r.get("updated_at") for r in reviews if isinstance(r, dict)))


EXTRACTOR = YotpoReviews()
