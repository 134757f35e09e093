"""Instagram Graph API user node with ``media`` field expansion.

Gotchas: timestamps use a ``+0000`` offset; metrics are lifetime totals that grow between
deliveries; insights are a list of named metrics nested in each media, and a metric that is not
there is unknown (NULL), never 0; ``views`` replaces the deprecated ``impressions``, which older
media still report: staging takes ``views``, else ``impressions`` (contract: "views/impressions").
A node without media omits ``media``; a file without the node's ``id`` (an error) fails.

Raw columns are the media's field names (``id``, ``timestamp``, ``like_count``...). Derived ones
are named after where they come from: ``insights__<metric>`` is the lifetime value of the insight
named ``<metric>`` in the media's ``insights.data`` list; ``user__<field>`` is a field of the IG
User node the page is (``user__id`` is the page's ``id``: the media's own ``id`` takes ``id``).
"""

from ugc_pipeline.sources.base import PageShape, RawTable, Source, col, in_set, non_negative, personal


def _insight(metric: str) -> str:
    # The value of one named lifetime insight, NULL when the media does not report it.
    return (
        "list_filter(coalesce(json_extract(item, '$.insights.data[*]'), []), "
        f"lambda m: json_extract_string(m, '$.name') = '{metric}')[1] ->> '$.values[0].value'"
    )


SOURCE = Source(
    name="instagram_media",
    formats=("json",),
    description="Media of ambassadors' and brand-tagged Instagram accounts, with lifetime insights.",
    # A user node without media omits ``media``; an error is
    # ``{"error": {"code": 190, "type": "OAuthException", "message": "..."}}``.
    page=PageShape("an Instagram Graph API user node", error_path="$.error", required=("$.id",),
                   records_optional=True),
    tables=(
        RawTable(
            name="instagram_media",
            records_path="$.media.data",
            ugc_model="stg_instagram__media",
            key=("id",),
            created_column="timestamp",
            rules=(
                in_set("media_type", "IMAGE", "VIDEO", "CAROUSEL_ALBUM"),
                in_set("media_product_type", "FEED", "REELS", "STORY", "AD"),
                *non_negative("user__followers_count", "like_count", "comments_count", "insights__reach",
                              "insights__views", "insights__impressions", "insights__saved", "insights__shares"),
            ),
            description="One Instagram media per delivered version (metrics grow between versions).",
            # the media's own ``username`` (its owner) when the export asks for it
            personal=(personal("user__username", "handle"), personal("username", "handle", path="$.username")),
            columns=(
                col("user__id", sql="json_extract_string(doc, '$.id')", required=True,
                    doc="the page's id: the IG User the media belong to"),
                col("user__username", sql="json_extract_string(doc, '$.username')",
                    doc="the page's username"),
                col("user__followers_count", type="int", sql="json_extract_string(doc, '$.followers_count')",
                    doc="the page's followers_count"),
                col("id", "$.id", required=True),
                col("caption", "$.caption"),
                col("media_type", "$.media_type", required=True),
                col("media_product_type", "$.media_product_type"),
                col("permalink", "$.permalink"),
                col("timestamp", "$.timestamp", "timestamp", required=True),
                col("like_count", "$.like_count", "int"),
                col("comments_count", "$.comments_count", "int"),
                col("insights__reach", type="int", sql=_insight("reach"), doc="the reach insight"),
                col("insights__views", type="int", sql=_insight("views"), doc="the views insight"),
                col("insights__impressions", type="int", sql=_insight("impressions"),
                    doc="the impressions insight; deprecated, read where views is absent"),
                col("insights__saved", type="int", sql=_insight("saved"), doc="the saved insight"),
                col("insights__shares", type="int", sql=_insight("shares"), doc="the shares insight"),
            ),
        ),
    ),
)
