"""YouTube Data API v3 list responses, told apart by ``kind``.

``youtube#videoListResponse`` pages feed ``youtube_videos``; ``youtube#channelListResponse``
pages feed ``youtube_channels`` (the subscriber count is the author's follower count).
Gotcha: every statistic is a string; a hidden subscriber count is unknown; a response without
matches has no ``items``; an API error page fails the file.
Raw columns are the API's field names, nested ones joined by ``__`` (``snippet__publishedAt``,
``statistics__viewCount``); ``snippet__tags``, a list, is kept as its tags joined by spaces.
"""

from ugc_pipeline.sources.base import PageShape, RawTable, Source, col, non_negative, personal

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
            key=("id",),
            created_column="snippet__publishedAt",
            rules=non_negative("statistics__viewCount", "statistics__likeCount", "statistics__commentCount"),
            description="One YouTube video per delivered version.",
            # the channel's name is in no raw column, but in the record the quarantine keeps
            personal=(personal("snippet.channelTitle", "name", path="$.snippet.channelTitle"),),
            columns=(
                col("id", "$.id", required=True),
                col("snippet__publishedAt", "$.snippet.publishedAt", "timestamp", required=True),
                col("snippet__channelId", "$.snippet.channelId", required=True),
                col("snippet__title", "$.snippet.title"),
                col("snippet__description", "$.snippet.description"),
                col("snippet__tags", sql="array_to_string(json_extract_string(item, '$.snippet.tags[*]'), ' ')",
                    doc="snippet.tags joined by spaces"),
                col("statistics__viewCount", "$.statistics.viewCount", "int"),
                col("statistics__likeCount", "$.statistics.likeCount", "int"),
                col("statistics__commentCount", "$.statistics.commentCount", "int"),
            ),
        ),
        RawTable(
            name="youtube_channels",
            kind="youtube#channelListResponse",
            records_path="$.items",
            key=("id",),
            rules=non_negative("statistics__subscriberCount"),
            description="One YouTube channel per delivered version.",
            personal=(personal("snippet.title", "name", path="$.snippet.title"),
                      personal("snippet.customUrl", "handle", path="$.snippet.customUrl")),
            columns=(
                col("id", "$.id", required=True),
                col("statistics__subscriberCount", "$.statistics.subscriberCount", "int"),
                col("statistics__hiddenSubscriberCount", "$.statistics.hiddenSubscriberCount", "bool"),
            ),
        ),
    ),
)
