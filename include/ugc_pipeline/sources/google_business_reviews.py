"""Google Business Profile API v4, ``accounts.locations.reviews.list`` pages.

Gotchas: ``starRating`` is a word (``FOUR``) or ``STAR_RATING_UNSPECIFIED``; ``comment`` is absent
on rating-only reviews; timestamps are RFC 3339 with 0 to 9 fraction digits; the location id
lives inside ``name`` (``accounts/{a}/locations/{l}/reviews/{r}``). Store-level UGC: no SKU.
A page without reviews omits ``reviews``; an API error page (``{"error": {...}}``) fails the file.
"""

from ugc_pipeline.sources.base import PageShape, RawTable, Source, col, in_set, non_negative, resolves

SOURCE = Source(
    name="google_business_reviews",
    formats=("json",),
    description="Reviews of the brand's stores on Google (store level, no SKU).",
    # A location without reviews gets a page without ``reviews`` (often ``{}``); an error response
    # is ``{"error": {"code": 401, "message": "...", "status": "UNAUTHENTICATED"}}``.
    page=PageShape("a Google Business Profile reviews.list page", error_path="$.error", records_optional=True,
                   page_keys=("averageRating", "totalReviewCount", "nextPageToken")),
    tables=(
        RawTable(
            name="google_business_reviews",
            records_path="$.reviews",
            ugc_model="stg_google_business__reviews",
            key=("review_id",),
            created_column="create_time",
            version_column="update_time",
            rules=(
                in_set("star_rating", "ONE", "TWO", "THREE", "FOUR", "FIVE", "STAR_RATING_UNSPECIFIED"),
                resolves("location_id", "stores.google_location_id"),
                *non_negative("media_item_count"),
            ),
            description="One Google review per delivered version.",
            columns=(
                col("review_name", "$.name", required=True,
                    doc="accounts/{account}/locations/{location}/reviews/{review}"),
                col("review_id", "$.reviewId", required=True),
                col("location_id", required=True,
                    sql="regexp_extract(json_extract_string(item, '$.name'), '/locations/([^/]+)/', 1)",
                    doc="the {location} part of name"),
                col("reviewer_display_name", "$.reviewer.displayName", doc="personal data"),
                col("reviewer_is_anonymous", "$.reviewer.isAnonymous", "bool"),
                col("star_rating", "$.starRating", required=True, doc="ONE..FIVE or STAR_RATING_UNSPECIFIED"),
                col("comment", "$.comment"),
                col("create_time", "$.createTime", "timestamp", required=True),
                col("update_time", "$.updateTime", "timestamp"),
                col("reply_comment", "$.reviewReply.comment"),
                col("reply_update_time", "$.reviewReply.updateTime", "timestamp"),
                col("media_item_count", type="int",
                    sql="cast(coalesce(json_array_length(item, '$.reviewMediaItems'), 0) as varchar)",
                    doc="number of entries in reviewMediaItems"),
            ),
        ),
    ),
)
