"""TikTok Research/Display API video pages: ``{"data": {"videos": [...]}, "error": {...}}``.

Gotchas: ``id`` has 19 digits and is kept as exact text; ``create_time`` is unix seconds (before
2000 it is a placeholder, not a time: quarantined); every page carries ``error``, and an
``error.code`` other than ``ok`` makes the file unusable; follower counts come from ``ambassadors``.
Raw columns are the API's field names; ``hashtag_names``, a list, is kept as its names joined by
spaces.
"""

from ugc_pipeline.sources.base import PageShape, RawTable, Source, col, non_negative, personal

SOURCE = Source(
    name="tiktok_videos",
    formats=("json",),
    description="TikTok videos found by the brand's hashtags.",
    page=PageShape("a TikTok page of videos", error_path="$.error", ok_codes=("ok",)),
    tables=(
        RawTable(
            name="tiktok_videos",
            records_path="$.data.videos",
            ugc_model="stg_tiktok__videos",
            key=("id",),
            created_column="create_time",
            rules=non_negative("like_count", "comment_count", "share_count", "view_count"),
            description="One TikTok video per delivered version.",
            personal=(personal("username", "handle"),),
            columns=(
                col("id", "$.id", required=True),
                col("create_time", "$.create_time", "unix_seconds", required=True),
                col("username", "$.username", doc="the author's handle"),
                col("video_description", "$.video_description"),
                col("hashtag_names", type="text",
                    sql="array_to_string(json_extract_string(item, '$.hashtag_names[*]'), ' ')",
                    doc="hashtag_names joined by spaces"),
                col("like_count", "$.like_count", "int"),
                col("comment_count", "$.comment_count", "int"),
                col("share_count", "$.share_count", "int"),
                col("view_count", "$.view_count", "int"),
            ),
        ),
    ),
)
