"""Google Business Profile API v4, ``accounts.locations.reviews.list`` pages.

Gotchas: ``starRating`` is a word (``FOUR``) or ``STAR_RATING_UNSPECIFIED``; ``comment`` is absent
on rating-only reviews; timestamps are RFC 3339 with 0 to 9 fraction digits; the location id
lives inside ``name`` (``accounts/{accountId}/locations/{locationId}/reviews/{reviewId}``).
Store-level UGC: no SKU. A page without reviews omits ``reviews``; an API error page
(``{"error": {...}}``) fails the file.

Raw columns are the API's field names (nested ones joined by ``__``: ``reviewer__displayName``);
two are derived and named after where they come from: ``name__locationId`` (the
``{locationId}`` segment of ``name``, checked against the store list) and
``reviewMediaItems__count`` (the number of entries in ``reviewMediaItems``).
"""

from ugc_pipeline.sources.base import PageShape, RawTable, Source, col, in_set, non_negative, personal, resolves

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
            key=("reviewId",),
            created_column="createTime",
            version_column="updateTime",
            rules=(
                in_set("starRating", "ONE", "TWO", "THREE", "FOUR", "FIVE", "STAR_RATING_UNSPECIFIED"),
                resolves("name__locationId", "stores.google_location_id"),
                *non_negative("reviewMediaItems__count"),
            ),
            description="One Google review per delivered version.",
            # the reviewer's photo is in no raw column, but in the record the quarantine keeps
            personal=(personal("reviewer__displayName", "name"),
                      personal("reviewer.profilePhotoUrl", "url", path="$.reviewer.profilePhotoUrl")),
            columns=(
                col("name", "$.name", required=True,
                    doc="accounts/{accountId}/locations/{locationId}/reviews/{reviewId}"),
                col("reviewId", "$.reviewId", required=True),
                col("name__locationId", required=True,
                    sql="regexp_extract(json_extract_string(item, '$.name'), '/locations/([^/]+)/', 1)",
                    doc="the {locationId} segment of name"),
                col("reviewer__displayName", "$.reviewer.displayName", doc="the reviewer's name"),
                col("reviewer__isAnonymous", "$.reviewer.isAnonymous", "bool"),
                col("starRating", "$.starRating", required=True, doc="ONE..FIVE or STAR_RATING_UNSPECIFIED"),
                col("comment", "$.comment"),
                col("createTime", "$.createTime", "timestamp", required=True),
                col("updateTime", "$.updateTime", "timestamp"),
                col("reviewReply__comment", "$.reviewReply.comment"),
                col("reviewReply__updateTime", "$.reviewReply.updateTime", "timestamp"),
                col("reviewMediaItems__count", type="int",
                    sql="cast(coalesce(json_array_length(item, '$.reviewMediaItems'), 0) as varchar)",
                    doc="number of entries in reviewMediaItems"),
            ),
        ),
    ),
)
