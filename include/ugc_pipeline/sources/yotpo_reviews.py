"""Yotpo reviews API pages: ``{"reviews": [...]}``.

Gotchas: ``deleted: true`` removes a review that an earlier delivery brought; ``name`` and
``email`` are personal data: pseudonymised at ingestion (``personal``). An error response
(``{"status": {"code": 401, ...}}``) or a page without ``reviews`` fails the file.
Raw columns are the API's field names (``id``, ``deleted``...); staging renames them.
"""

from ugc_pipeline.sources.base import PageShape, RawTable, Source, between, col, non_negative, personal, resolves

SOURCE = Source(
    name="yotpo_reviews",
    formats=("json",),
    description="Product reviews collected by Yotpo on the brand's web shop.",
    # Yotpo reports errors as ``{"status": {"code": 401, "message": "..."}}`` (200 is success).
    page=PageShape("a Yotpo reviews page", error_path="$.status", ok_codes=("200",)),
    tables=(
        RawTable(
            name="yotpo_reviews",
            records_path="$.reviews",
            ugc_model="stg_yotpo__reviews",
            key=("id",),
            created_column="created_at",
            version_column="updated_at",
            rules=(between("score", 1, 5), *non_negative("votes_up", "votes_down"), resolves("sku", "products.sku")),
            description="One Yotpo review per delivered version.",
            personal=(personal("name", "name"), personal("email", "email")),
            columns=(
                col("id", "$.id", required=True),
                col("sku", "$.sku", required=True),
                col("score", "$.score", "int", required=True),
                col("title", "$.title"),
                col("content", "$.content"),
                col("created_at", "$.created_at", "timestamp", required=True),
                col("updated_at", "$.updated_at", "timestamp"),
                col("votes_up", "$.votes_up", "int"),
                col("votes_down", "$.votes_down", "int"),
                col("name", "$.name", doc="the reviewer's name"),
                col("email", "$.email", doc="the reviewer's e-mail"),
                col("reviewer_type", "$.reviewer_type"),
                col("deleted", "$.deleted", "bool"),
                col("archived", "$.archived", "bool"),
                col("is_incentivized", "$.is_incentivized", "bool"),
                col("incentive_type", "$.incentive_type"),
            ),
        ),
    ),
)
