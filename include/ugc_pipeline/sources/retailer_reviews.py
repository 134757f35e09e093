"""Retailer (Bazaarvoice-style) review exports: CSV, optional BOM, ``,`` or ``;`` separated.

Gotchas: quoted fields hold separators and newlines; ``product_id`` may be blank and the product
is then found by ``gtin``; only ``moderation_status = APPROVED`` rows count.
"""

from ugc_pipeline.sources.base import RawTable, Source, between, csv_columns, in_set, non_negative, personal, resolves_any

SOURCE = Source(
    name="retailer_reviews",
    formats=("csv",),
    description="Reviews syndicated from retailers' sites (Bazaarvoice-style export).",
    tables=(
        RawTable(
            name="retailer_reviews",
            ugc_model="stg_retailer__reviews",
            key=("review_id",),
            created_column="submission_time",
            version_column="last_modification_time",
            rules=(
                between("rating", 1, 5),
                *non_negative("photo_count", "video_count", "helpful_votes"),
                in_set("moderation_status", "APPROVED", "PENDING", "REJECTED", "NOT_APPROVED", "SUBMITTED",
                       ignore_case=True),
                resolves_any(product_id="products.sku", gtin="products.gtin"),
            ),
            description="One retailer review per delivered version.",
            personal=(personal("user_nickname", "handle"),),  # the reviewer's name on the retailer's site
            columns=csv_columns(
                "review_id", "product_id", "gtin", "rating", "title", "review_text",
                "submission_time", "last_modification_time", "user_nickname", "is_recommended",
                "incentivized_review", "is_syndicated", "syndication_source", "photo_count",
                "video_count", "helpful_votes", "moderation_status", "content_locale", "campaign_id",
                types={"rating": "int", "submission_time": "timestamp",
                       "last_modification_time": "timestamp", "is_recommended": "bool",
                       "incentivized_review": "bool", "is_syndicated": "bool",
                       "photo_count": "int", "video_count": "int", "helpful_votes": "int"},
                required=("review_id", "rating", "submission_time", "moderation_status"),
            ),
        ),
    ),
)
