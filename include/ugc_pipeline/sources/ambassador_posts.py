"""Ambassador platform export: posts that ambassadors declared for a campaign (CSV or NDJSON).

The core of nano-influence. Blank metrics are unknown. The same post may also arrive from the
platform's own API; the intermediate layer counts it once and keeps the measured metrics.
"""

from ugc_pipeline.sources.base import RawTable, Source, csv_columns, in_set, non_negative, personal, resolves

SOURCE = Source(
    name="ambassador_posts",
    formats=("csv", "ndjson"),
    description="Posts declared by the programme's ambassadors.",
    tables=(
        RawTable(
            name="ambassador_posts",
            ugc_model="stg_ambassador_platform__posts",
            key=("post_id",),
            created_column="posted_at",
            rules=(
                in_set("platform", "instagram", "facebook", "tiktok", "youtube", "blog", "other", ignore_case=True),
                in_set("content_type", "photo", "video", "story", "reel", "recipe", "tutorial", "review", "text",
                       ignore_case=True),
                *non_negative("followers_at_post", "likes", "comments", "shares", "views"),
                resolves("campaign_id", "campaigns.campaign_id"),
                resolves("ambassador_id", "ambassadors.ambassador_id"),
            ),
            description="One declared post per delivered version.",
            # the account handle a post URL names (TikTok /@handle/, Instagram /stories/handle/)
            personal=(personal("post_url", "post_url"),),
            columns=csv_columns(
                "post_id", "ambassador_id", "campaign_id", "platform", "post_url", "content_type",
                "posted_at", "followers_at_post", "likes", "comments", "shares", "views",
                types={"posted_at": "timestamp", "followers_at_post": "int", "likes": "int",
                       "comments": "int", "shares": "int", "views": "int"},
                required=("post_id", "ambassador_id", "campaign_id", "platform", "posted_at"),
            ),
        ),
    ),
)
