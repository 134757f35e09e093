"""YouTube Data API v3 list responses, told apart by ``kind``.

``youtube#videoListResponse`` pages feed ``youtube_videos``; ``youtube#channelListResponse``
pages feed ``youtube_channels`` (the subscriber count is the author's follower count).
Gotcha: every statistic is a string; a hidden subscriber count is unknown; a response without
matches has no ``items``; an API error page fails the file.
"""

from ugc_pipeline.sources.base import PageShape, RawTable, Source, col, non_negative

SOURCE = Source(
    name="youtube_videos",
    formats=("json",),
    description="YouTube videos mentioning the campaigns, and their channels.",
    # Every page names its ``kind`` (an unknown one fails the file); a list of ids none of which
    # exists has no ``items`` at all; an error is ``{"error": {"code": 403, "message": "..."}}``.
    page=PageShape("a YouTube Data API list response", error_path="$.error", records_optional=True),
    tables=(
        RawTable(
            name="youtube_videos",
            kind="youtube#videoListResponse",
            ugc_model="stg_youtube__videos",
            records_path="$.items",
            key=("video_id",),
            created_column="published_at",
            rules=non_negative("view_count", "like_count", "comment_count"),
            description="One YouTube video per delivered version.",
            columns=(
                col("video_id", "$.id", required=True),
                col("published_at", "$.snippet.publishedAt", "timestamp", required=True),
                col("channel_id", "$.snippet.channelId", required=True),
                col("title", "$.snippet.title"),
                col("description", "$.snippet.description"),
                col("tags", sql="array_to_string(json_extract_string(item, '$.snippet.tags[*]'), ' ')",
                    doc="snippet.tags joined by spaces"),
                col("view_count", "$.statistics.viewCount", "int"),
                col("like_count", "$.statistics.likeCount", "int"),
                col("comment_count", "$.statistics.commentCount", "int"),
            ),
        ),
        RawTable(
            name="youtube_channels",
            kind="youtube#channelListResponse",
            records_path="$.items",
            key=("channel_id",),
            rules=non_negative("subscriber_count"),
            description="One YouTube channel per delivered version.",
            columns=(
                col("channel_id", "$.id", required=True),
                col("subscriber_count", "$.statistics.subscriberCount", "int"),
                col("hidden_subscriber_count", "$.statistics.hiddenSubscriberCount", "bool"),
            ),
        ),
    ),
)
