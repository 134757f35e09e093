"""The registry of sources: one adapter module per source folder of the landing zone.

Adding a platform: write its adapter module (what its payload looks like), its staging model
``sql/staging/stg_<platform>__<entity>.sql`` (the shared columns), and add one line here.
"""

from ugc_pipeline.sources import (
    ambassador_posts,
    business,
    google_business_reviews,
    instagram_media,
    retailer_reviews,
    tiktok_videos,
    wom_surveys,
    yotpo_reviews,
    youtube_videos,
)
from ugc_pipeline.sources.base import Column, RawTable, Source

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        google_business_reviews.SOURCE,
        yotpo_reviews.SOURCE,
        retailer_reviews.SOURCE,
        instagram_media.SOURCE,
        tiktok_videos.SOURCE,
        youtube_videos.SOURCE,
        ambassador_posts.SOURCE,
        wom_surveys.SOURCE,
        business.PRODUCTS,
        business.STORES,
        business.AMBASSADORS,
        business.CAMPAIGNS,
        business.WEB_CONVERSION,
        business.STORE_SALES,
    )
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None


def raw_tables() -> list[RawTable]:
    return [t for s in SOURCES.values() for t in s.tables]


__all__ = ["SOURCES", "Column", "RawTable", "Source", "get_source", "raw_tables"]
