"""Instagram Graph API user node with ``media`` field expansion.

Gotchas: timestamps use a ``+0000`` offset; metrics are lifetime totals that grow between
deliveries; insights are a list of named metrics nested in each media, and a metric that is not
there is unknown (NULL), never 0; ``views`` replaces the deprecated ``impressions``, which older
media still report: staging takes ``views``, else ``impressions`` (contract: "views/impressions").
A node without media omits ``media``; a file without the node's ``id`` (an error) fails.
"""

from ugc_pipeline.sources.base import PageShape, RawTable, Source, col, in_set, non_negative


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
            key=("media_id",),
            created_column="posted_at",
            rules=(
                in_set("media_type", "IMAGE", "VIDEO", "CAROUSEL_ALBUM"),
                in_set("media_product_type", "FEED", "REELS", "STORY", "AD"),
                *non_negative("followers_count", "like_count", "comments_count", "reach", "views", "impressions", "saved",
                              "shares"),
            ),
            description="One Instagram media per delivered version (metrics grow between versions).",
            columns=(
                col("account_id", sql="json_extract_string(doc, '$.id')", required=True),
                col("username", sql="json_extract_string(doc, '$.username')"),
                col("followers_count", type="int", sql="json_extract_string(doc, '$.followers_count')"),
                col("media_id", "$.id", required=True),
                col("caption", "$.caption"),
                col("media_type", "$.media_type", required=True),
                col("media_product_type", "$.media_product_type"),
                col("permalink", "$.permalink"),
                col("posted_at", "$.timestamp", "timestamp", required=True),
                col("like_count", "$.like_count", "int"),
                col("comments_count", "$.comments_count", "int"),
                col("reach", type="int", sql=_insight("reach")),
                col("views", type="int", sql=_insight("views")),
                col("impressions", type="int", sql=_insight("impressions"), doc="deprecated; read where views is absent"),
                col("saved", type="int", sql=_insight("saved")),
                col("shares", type="int", sql=_insight("shares")),
            ),
        ),
    ),
)
