"""The registry of sources: one adapter module per source folder of the landing zone.

Adding a platform: write its adapter module (what its payload looks like), its staging model
``sql/staging/stg_<platform>__<entity>.sql`` (the shared columns), and add one line here. A
platform whose API the pipeline can pull from also has an extractor module beside its adapter,
``<source>_pull.py`` (what its API looks like), and a line in ``PULLABLE``.
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


# Sources with an extractor: source name -> module of ``ugc_pipeline.sources`` defining
# ``EXTRACTOR`` (imported only when a pull runs: the DAG file needs the names alone).
PULLABLE: dict[str, str] = {
    "google_business_reviews": "google_business_reviews_pull",
    "yotpo_reviews": "yotpo_reviews_pull",
    "instagram_media": "instagram_media_pull",
    "tiktok_videos": "tiktok_videos_pull",
    "youtube_videos": "youtube_videos_pull",
    "ambassador_posts": "ambassador_posts_pull",
    "wom_surveys": "wom_surveys_pull",
    "retailer_reviews": "retailer_reviews_pull",
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None


def raw_tables() -> list[RawTable]:
    return [t for s in SOURCES.values() for t in s.tables]


def get_extractor(name: str):
    """The extractor of a pullable source (``ugc_pipeline.extract.Extractor``)."""
    import importlib

    if name not in PULLABLE:
        raise KeyError(f"source {name!r} has no extractor; pullable: {', '.join(PULLABLE)}")
    return importlib.import_module(f"ugc_pipeline.sources.{PULLABLE[name]}").EXTRACTOR


__all__ = ["PULLABLE", "SOURCES", "get_extractor", "Column", "RawTable", "Source", "get_source", "raw_tables"]
