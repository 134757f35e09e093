"""Contract points (the data contract, shared/CONTRACT.md) shown on a tiny landing zone each: the hand-made
business tables of ``landing_builder`` plus the few records that show the point. Those the
pipeline does not meet are marked xfail(strict=True): they start passing (and then fail as
XPASS) when fixed."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from support.landing_builder import (
    CAMPAIGN,
    D1,
    GTIN_A,
    IG_CLAIRE,
    LandingBuilder,
    _csv,
    _json,
)
from support.runs import Run, by_key, fetch, make_settings
from support.session import built_once
from ugc_pipeline.pipeline import build_marts, ingest_source

DAY = date(2025, 5, 6)


BUSINESS = ("products", "stores", "ambassadors", "campaigns")


def _business_warehouse(folder: Path) -> None:
    """The business snapshots of 05-05 ingested (once per session, for every test's copy)."""
    builder = LandingBuilder(folder / "landing")
    builder.business()
    settings = make_settings(builder.root, folder / "wh.duckdb")
    for source in BUSINESS:
        assert ingest_source(source, D1, settings, "e2e-business").status == "success", source


def load(tmp_path, builder: LandingBuilder, sources: list[str]) -> Run:
    """Business snapshots of 05-05 (a copy of a warehouse holding them), then the given sources'
    delivery of 05-06, then the marts."""
    wh = tmp_path / "wh.duckdb"
    shutil.copyfile(built_once("e2e-business-warehouse", _business_warehouse) / "wh.duckdb", wh)
    settings = make_settings(builder.root, wh)
    for source in sources:
        ingest_source(source, DAY, settings, "e2e-probe")
    build_marts(settings)
    return Run("probe", settings, wh)


def _ig_media(media_id: str, shortcode: str, timestamp: str, caption: str, likes: int, insights=None) -> dict:
    media = {"id": media_id, "caption": caption, "media_type": "IMAGE", "media_product_type": "FEED",
             "permalink": f"https://www.instagram.com/p/{shortcode}/", "timestamp": timestamp,
             "like_count": likes, "comments_count": 1}
    if insights is not None:
        media["insights"] = {"data": [{"name": k, "period": "lifetime", "values": [{"value": v}]}
                                      for k, v in insights.items()]}
    return media


def test_same_ambassador_with_a_declared_and_an_undeclared_post_is_one_author(tmp_path):
    b = LandingBuilder(tmp_path / "landing")
    b.business()
    # claire.cuisine (AMB-01 in the roster, 742 followers; her account reports 760) posts twice on
    # 05-05 with the campaign hashtag; she declares only the first post
    b.put("instagram_media", DAY, "claire_cuisine.json", _json(LandingBuilder._ig_user(IG_CLAIRE, "claire.cuisine", 760, [
        _ig_media("M1", "AAA111", "2025-05-05T08:00:00+0000", "Petit-déj #OliveDuMatin", 10),
        _ig_media("M2", "BBB222", "2025-05-05T12:00:00+0000", "Salade #OliveDuMatin", 20),
    ])))
    b.put("ambassador_posts", DAY, "declared.csv", _csv(LandingBuilder.AMBASSADOR_HEADER, [
        ["AP-9", "AMB-01", CAMPAIGN, "instagram", "https://www.instagram.com/p/AAA111/", "photo",
         "2025-05-05T08:00:00Z", 742, "", "", "", ""]]))
    run = load(tmp_path, b, ["instagram_media", "ambassador_posts"])

    reach = by_key(fetch(run, "select * from marts.reach_daily"), "kpi_date", "platform", "influencer_tier")
    row = reach[("2025-05-05", "instagram", "nano")]
    assert row["post_count"] == 2
    # one author: her follower count is 742 (declared at posting time) or 760 (the account's count),
    # not both added up (the pipeline gives author_count 2 and potential_reach 1502)
    assert (row["author_count"], row["potential_reach"]) in [(1, 742), (1, 760)]


def test_instagram_impressions_count_as_views_when_views_is_absent(tmp_path):
    b = LandingBuilder(tmp_path / "landing")
    b.business()
    # an older media whose insights still carry impressions (1200) and no views
    b.put("instagram_media", DAY, "claire_cuisine.json", _json(LandingBuilder._ig_user(IG_CLAIRE, "claire.cuisine", 760, [
        _ig_media("M1", "AAA111", "2025-05-05T08:00:00+0000", "Petit-déj #OliveDuMatin", 10,
                  insights={"reach": 900, "impressions": 1200, "saved": 2}),
    ])))
    run = load(tmp_path, b, ["instagram_media"])

    reach = by_key(fetch(run, "select * from marts.reach_daily"), "kpi_date", "platform", "influencer_tier")
    row = reach[("2025-05-05", "instagram", "nano")]
    assert row["engagements"] == 13  # 10 likes + 1 comment + 2 saved: the media is read
    assert row["views"] == 1200


def test_retailer_review_with_unknown_product_id_is_found_by_gtin(tmp_path):
    """Contract: retailer ``product_id`` = SKU, else ``gtin`` -> ``products.gtin``: a retailer's own
    product id that is not a SKU falls back to the GTIN (fixed in 5efe2b4; the fallback used to
    apply only when product_id was blank)."""
    b = LandingBuilder(tmp_path / "landing")
    b.business()
    b.put("retailer_reviews", DAY, "bv_export.csv", _csv(LandingBuilder.RETAILER_HEADER, [
        ["RV-9", "RET-998877", GTIN_A, 5, "Top", "Très bonne huile", "2025-05-06T09:00:00Z",
         "2025-05-06T09:00:00Z", "nick", "true", "false", "false", "", 0, 0, 0, "APPROVED", "fr_FR", ""]]))
    run = load(tmp_path, b, ["retailer_reviews"])

    rows = fetch(run, "select kpi_date, brand, sku, platform, ugc_count from marts.ugc_daily")
    assert rows == [{"kpi_date": "2025-05-06", "brand": "Maison Verte", "sku": "MV-OLV-500",
                     "platform": "retailer", "ugc_count": 1}]
