"""From landed files to the raw layer, staging and intermediate views, quarantine and run records,
on a real DuckDB warehouse under tmp_path (``ingest_source`` + ``build_marts``).

The staging and intermediate views do not depend on the data: each test's warehouse starts as a
copy of one whose views dbt built once per session (``transform.build_views``, as ``Env.views``
does) over the empty raw layer, or over the business snapshots for ``env.deliver_business()``.
DuckDB binds a view when it is queried, so the views read what the test ingests afterwards; the
tests that need the marts still run the whole marts step (``env.build()``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from support.pii import pseudonym
from support.session import built_once
from support.warehouse_env import Env
from ugc_pipeline.parse import DeliveryError

DAY = "2025-05-06"


def _with_views(folder: Path, start: Path | None) -> None:
    """``folder/wh.duckdb``: a copy of ``start`` (else a new warehouse) with the staging and
    intermediate views built by dbt (``Env.views``). Same file name as the tests' (``wh``): the
    views name their tables with DuckDB's catalog, the file's stem."""
    env = Env(folder)
    if start is not None:
        shutil.copyfile(start, env.warehouse_file)
    env.views()
    env.close()
    assert not Path(f"{env.warehouse_file}.wal").exists()  # the file is the whole of it


class ViewsEnv(Env):
    """``Env`` whose warehouse, at its first ingest, is a copy of the views template (or, by
    ``deliver_business()``, of the business template with the views)."""

    def __init__(self, tmp_path: Path, views_template, business_views_template):
        super().__init__(tmp_path, business_template=business_views_template)
        self._views_template = views_template

    def ingest(self, source: str, day: str, run_id: str = "test-run"):
        if not self.warehouse_file.exists():
            shutil.copyfile(self._views_template(), self.warehouse_file)
        return super().ingest(source, day, run_id)


@pytest.fixture
def env(tmp_path, request) -> Env:
    """One test's landing zone + warehouse, the views already in it (see the module's docstring)."""
    def views() -> Path:
        return built_once("staging-views-template", lambda folder: _with_views(folder, None)) / "wh.duckdb"

    def business_views() -> Path:
        business = request.getfixturevalue("business_template")
        return built_once("staging-business-views-template",
                          lambda folder: _with_views(folder, business)) / "wh.duckdb"

    e = ViewsEnv(tmp_path, views, business_views)
    yield e
    e.close()


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if not isinstance(v, (list, dict)) and pd.isna(v) else v) for k, v in r.items()}
            for r in frame.to_dict("records")]


def one(frame: pd.DataFrame) -> dict:
    assert len(frame) == 1, frame
    return records(frame)[0]


# -- Google Business Profile ------------------------------------------------------------------

def google_review(review_id, location, stars, create_time, comment=None, media=0, name="Camille Durand"):
    review = {
        "name": f"accounts/108234567890123456789/locations/{location}/reviews/{review_id}",
        "reviewId": review_id,
        "reviewer": {"profilePhotoUrl": "https://lh3.googleusercontent.com/a-/ALV-UjX=s120",
                     "displayName": name, "isAnonymous": False},
        "starRating": stars,
        "createTime": create_time,
        "updateTime": create_time,
    }
    if comment is not None:
        review["comment"] = comment
    if media:
        review["reviewMediaItems"] = [
            {"name": f"accounts/108234567890123456789/locations/{location}/media/AF1Qip{i}",
             "mediaFormat": "PHOTO", "googleUrl": f"https://lh3.googleusercontent.com/p/AF1Qip{i}"}
            for i in range(media)]
    return review


def test_google_staging_ratings_times_location_and_media(env):
    env.deliver_business()
    env.write("google_business_reviews", DAY, "page-1.json", {
        "reviews": [
            google_review("G0", "4816235201934567890", "FOUR", "2025-05-06T08:00:00Z", "Super accueil", media=2),
            google_review("G3", "4816235201934567890", "FIVE", "2025-05-06T08:00:00.123Z"),
            google_review("G6", "1122334455667788990", "STAR_RATING_UNSPECIFIED",
                          "2025-05-06T08:00:00.123456Z", "Pas d'avis"),
            google_review("G9", "9999999999999999999", "ONE", "2025-05-06T08:00:00.987654321Z", "Bof"),
        ],
        "averageRating": 3.3, "totalReviewCount": 4, "nextPageToken": "CiQKIgoWQ",
    })
    result = env.ingest("google_business_reviews", DAY)

    # G9's location is not in the store list: quarantined by the suite, not loaded.
    assert (result.records_read, result.records_loaded, result.records_rejected) == (4, 3, 1)
    [reject] = env.q("select position, reasons from audit.rejected_records").to_dict("records")
    assert reject == {"position": "$.reviews[3]",
                      "reasons": "name__locationId in stores.google_location_id (got 9999999999999999999)"}
    stg = env.q("select item_id, star_rating, created_at, google_location_id, has_media, has_text "
                "from staging.stg_google_business__reviews order by item_id").set_index("item_id")
    assert stg.loc["G0", "star_rating"] == 4
    assert stg.loc["G3", "star_rating"] == 5
    assert pd.isna(stg.loc["G6", "star_rating"])  # STAR_RATING_UNSPECIFIED: no rating
    assert stg.loc["G0", "created_at"] == ts("2025-05-06T08:00:00Z")
    assert stg.loc["G3", "created_at"] == ts("2025-05-06T08:00:00.123Z")
    assert stg.loc["G6", "created_at"] == ts("2025-05-06T08:00:00.123456Z")
    assert stg.loc["G0", "google_location_id"] == "4816235201934567890"
    assert stg.loc["G6", "google_location_id"] == "1122334455667788990"
    assert bool(stg.loc["G0", "has_media"]) is True
    assert bool(stg.loc["G3", "has_media"]) is False

    enriched = env.q("select item_id, content_type, store_id, brand, sku, star_rating, has_media "
                     "from intermediate.int_ugc_items__enriched order by item_id").set_index("item_id")
    assert enriched.loc["G0", "content_type"] == "review"
    assert enriched.loc["G3", "content_type"] == "rating"  # no comment: rating only
    assert enriched.loc["G0", "store_id"] == "ST-LIL-01"
    assert enriched.loc["G6", "store_id"] == "ST-LYO-02"
    assert "G9" not in enriched.index
    assert enriched.loc["G0", "brand"] == "Maison Verte"
    assert enriched["sku"].isna().all()  # store-level UGC


# -- Yotpo -----------------------------------------------------------------------------------

def yotpo_review(rid, created, updated=None, score=5, deleted=False, sku="MV-OLV-500", **extra):
    review = {"id": rid, "sku": sku, "score": score, "title": "Très bonne huile",
              "content": "Fruitée et douce.", "created_at": created, "updated_at": updated or created,
              "votes_up": 0, "votes_down": 0, "name": "Sophie Lambert",
              "email": "sophie.lambert@example.fr", "reviewer_type": "verified_buyer",
              "deleted": deleted, "archived": False, "is_incentivized": False, "incentive_type": None}
    review.update(extra)
    return review


@pytest.mark.parametrize("order", [("2025-05-06", "2025-05-07"), ("2025-05-07", "2025-05-06")])
def test_yotpo_deleted_in_a_later_delivery_removes_the_review(env, order):
    env.write("yotpo_reviews", "2025-05-06", "page-1.json", {"reviews": [
        yotpo_review(487000001, "2025-05-05T10:00:00.000Z"),
        yotpo_review(487000002, "2025-05-06T09:00:00.000Z", score=4),
    ]})
    env.write("yotpo_reviews", "2025-05-07", "page-1.json", {"reviews": [
        yotpo_review(487000001, "2025-05-05T10:00:00.000Z", "2025-05-07T06:12:00.000Z", deleted=True),
    ]})
    for day in order:  # whatever order the days are processed in
        env.ingest("yotpo_reviews", day)

    stg = env.q("select item_id, delivery_date, is_deleted from staging.stg_yotpo__reviews "
                "order by item_id, delivery_date")
    assert [(r["item_id"], str(r["delivery_date"]), bool(r["is_deleted"])) for r in records(stg)] == [
        ("487000001", "2025-05-06", False), ("487000001", "2025-05-07", True), ("487000002", "2025-05-06", False)]
    latest = env.q("select item_id from intermediate.int_ugc_items__latest where source = 'yotpo_reviews'")
    assert sorted(latest["item_id"]) == ["487000002"]
    enriched = env.q("select item_id from intermediate.int_ugc_items__enriched")
    assert sorted(enriched["item_id"]) == ["487000002"]


def test_yotpo_same_id_twice_in_one_file_later_update_wins(env):
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [
        # the later update comes first in the file: the update time decides, not the order
        yotpo_review(487000010, "2025-05-05T10:00:00.000Z", "2025-05-06T12:30:00.000Z", score=2,
                     content="Finalement déçue."),
        yotpo_review(487000011, "2025-05-05T11:00:00.000Z", score=5),
        yotpo_review(487000010, "2025-05-05T10:00:00.000Z", "2025-05-05T10:00:00.000Z", score=5),
    ]})
    env.ingest("yotpo_reviews", DAY)

    assert len(env.q("select * from raw.yotpo_reviews where id = '487000010'")) == 2
    latest = env.q("select item_id, star_rating, updated_at from intermediate.int_ugc_items__latest "
                   "where item_id = '487000010'")
    row = one(latest)
    assert row["star_rating"] == 2
    assert row["updated_at"] == ts("2025-05-06T12:30:00Z")
    assert len(env.q("select * from intermediate.int_ugc_items__enriched")) == 2


# -- Retailer --------------------------------------------------------------------------------

RETAILER_HEADER = ("review_id,product_id,gtin,rating,title,review_text,submission_time,"
                   "last_modification_time,user_nickname,is_recommended,incentivized_review,"
                   "is_syndicated,syndication_source,photo_count,video_count,helpful_votes,"
                   "moderation_status,content_locale,campaign_id")


def test_retailer_blank_product_id_resolved_by_gtin_and_only_approved_count(env):
    env.deliver_business()
    env.write("retailer_reviews", DAY, "export.csv", RETAILER_HEADER + "\n" + "\n".join([
        "RV-1,MV-OLV-500,03760123450017,5,Top,Très bonne,2025-05-06 09:00:00,2025-05-06 10:00:00,"
        "marie59,true,false,false,,0,0,0,APPROVED,fr_FR,",
        "RV-2,,03760123450024,4,Bon,\"Bon pesto, un peu salé\",2025-05-06 09:10:00,2025-05-06 10:00:00,"
        "jb,true,true,false,,2,0,1,APPROVED,fr_FR,",
        "RV-3,MV-OLV-500,,1,Nul,Spam,2025-05-06 09:20:00,2025-05-06 10:00:00,"
        "bot,false,false,false,,0,0,0,REJECTED,fr_FR,",
        "RV-4,,03760123450017,3,Moyen,En attente,2025-05-06 09:30:00,2025-05-06 10:00:00,"
        "lea,false,false,false,,0,0,0,PENDING,fr_FR,",
    ]) + "\n")
    env.ingest("retailer_reviews", DAY)

    stg = env.q("select item_id, sku, gtin, is_approved from staging.stg_retailer__reviews order by item_id")
    assert [(r["item_id"], r["sku"], bool(r["is_approved"])) for r in records(stg)] == [
        ("RV-1", "MV-OLV-500", True), ("RV-2", None, True), ("RV-3", "MV-OLV-500", False), ("RV-4", None, False)]
    enriched = env.q("select item_id, sku, brand, is_incentivized, has_media "
                     "from intermediate.int_ugc_items__enriched order by item_id")
    assert [(r["item_id"], r["sku"], r["brand"]) for r in records(enriched)] == [
        ("RV-1", "MV-OLV-500", "Maison Verte"), ("RV-2", "MV-PES-180", "Maison Verte")]
    rv2 = records(enriched)[1]
    assert bool(rv2["is_incentivized"]) is True
    assert bool(rv2["has_media"]) is True


def test_retailer_semicolon_bom_file_loads_through_to_staging(env):
    text = (RETAILER_HEADER.replace(",", ";") + "\r\n"
            'RV-7;MV-OLV-500;;5;Parfaite;"Fruitée, douce\r\net pas chère";2025-05-06 22:30:00;'
            "2025-05-07 08:00:00;paul;true;false;true;Carrefour;0;0;2;APPROVED;fr_FR;\r\n")
    env.write("retailer_reviews", DAY, "export_fr.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    env.ingest("retailer_reviews", DAY)

    row = one(env.q("select item_id, star_rating, created_at, has_text from staging.stg_retailer__reviews"))
    assert row["item_id"] == "RV-7"
    assert row["star_rating"] == 5
    assert row["created_at"] == ts("2025-05-06T22:30:00Z")  # naive export times are UTC
    raw = one(env.q("select review_text, record_position from raw.retailer_reviews"))
    assert raw == {"review_text": "Fruitée, douce\r\net pas chère", "record_position": "row 1"}


# -- Instagram -------------------------------------------------------------------------------

def ig_node(media, followers=742):
    return {"id": "17841400008460056", "username": "claire.cuisine", "followers_count": followers,
            "media": {"data": media, "paging": {"cursors": {"before": "QVFIUmFi", "after": "QVFIUnpy"}}}}


def ig_media(mid, permalink, timestamp, likes, comments, caption="Tartines du matin #oliveDuMatin!",
             insights=None, media_type="IMAGE", product="FEED"):
    media = {"id": mid, "caption": caption, "media_type": media_type, "media_product_type": product,
             "permalink": permalink, "timestamp": timestamp, "like_count": likes, "comments_count": comments}
    if caption is None:
        del media["caption"]
    if insights is not None:
        media["insights"] = {"data": [
            {"name": name, "period": "lifetime", "values": [{"value": value}],
             "title": name.title(), "id": f"{mid}/insights/{name}/lifetime"}
            for name, value in insights.items()]}
    return media


def test_instagram_timestamps_and_unknown_metrics_in_staging(env):
    env.write("instagram_media", DAY, "claire.cuisine.json", ig_node([
        ig_media("18000000000000001", "https://www.instagram.com/p/C6xYz12AbCd/", "2025-05-02T07:56:32+0000",
                 57, 4, insights={"reach": 812, "views": 1304, "saved": 6, "shares": 0}),
        ig_media("18000000000000002", "https://www.instagram.com/reel/C6zQw98XyZa/", "2025-05-06T23:10:00+0000",
                 120, 9, media_type="VIDEO", product="REELS"),
        ig_media("18000000000000003", "https://www.instagram.com/p/C7aBc34DeFg/", "2025-05-04T06:05:59+0000",
                 33, 1, media_type="CAROUSEL_ALBUM", insights={"reach": 401, "saved": 2}),
    ]))
    env.ingest("instagram_media", DAY)

    stg = env.q("select item_id, created_at, views, likes, comments, shares, saves, content_type, "
                "author_followers, post_key from staging.stg_instagram__media").set_index("item_id")
    full, none, partial = (stg.loc[f"1800000000000000{i}"] for i in (1, 2, 3))
    assert full["created_at"] == ts("2025-05-02T07:56:32Z")
    assert none["created_at"] == ts("2025-05-06T23:10:00Z")
    assert (full["views"], full["saves"], full["shares"]) == (1304, 6, 0)  # a reported 0 stays 0
    assert none[["views", "saves", "shares"]].isna().all()
    assert (none["likes"], none["comments"]) == (120, 9)
    assert pd.isna(partial["views"]) and pd.isna(partial["shares"])
    assert partial["saves"] == 2
    assert (full["content_type"], none["content_type"], partial["content_type"]) == ("photo", "reel", "carousel")
    assert full["author_followers"] == 742
    assert full["post_key"] == "instagram:C6xYz12AbCd"


@pytest.mark.parametrize("order", [("2025-05-06", "2025-05-08"), ("2025-05-08", "2025-05-06")])
def test_instagram_grown_metrics_in_a_later_delivery_replace_the_earlier_version(env, order):
    link = "https://www.instagram.com/p/C6xYz12AbCd/"
    env.write("instagram_media", "2025-05-06", "claire.cuisine.json", ig_node([
        ig_media("18000000000000001", link, "2025-05-05T07:56:32+0000", 57, 4,
                 insights={"reach": 812, "views": 1304, "saved": 6, "shares": 1})]))
    env.write("instagram_media", "2025-05-08", "claire.cuisine.json", ig_node([
        ig_media("18000000000000001", link, "2025-05-05T07:56:32+0000", 91, 7,
                 insights={"reach": 1310, "views": 2250, "saved": 11, "shares": 3})], followers=760))
    for day in order:
        env.ingest("instagram_media", day)

    row = one(env.q("select views, likes, comments, shares, saves, followers "
                    "from intermediate.int_ugc_items__enriched"))
    assert row == {"views": 2250, "likes": 91, "comments": 7, "shares": 3, "saves": 11, "followers": 760}


# -- TikTok ----------------------------------------------------------------------------------

TIKTOK_PAGE = """{
  "data": {
    "videos": [
      {"id": 7234567890123456789, "create_time": 1746570600, "username": "Lucas_Miam",
       "video_description": "Mon petit-déj préféré", "hashtag_names": ["OLIVEDUMATIN", "fyp"],
       "like_count": 1520, "comment_count": 48, "share_count": 12, "view_count": 20450},
      {"id": 9234567890123456789, "create_time": 1746489600, "username": "lucas_miam",
       "video_description": "Rien à voir", "hashtag_names": ["fyp"],
       "like_count": 3, "comment_count": 0, "share_count": 0, "view_count": 210}
    ],
    "cursor": 100,
    "has_more": false
  },
  "error": {"code": "ok", "message": "", "log_id": "20250506103045ABCDEF0123456789"}
}"""


def test_tiktok_ids_exact_and_create_time_to_utc(env):
    env.write("tiktok_videos", DAY, "videos-1.json", TIKTOK_PAGE)
    env.ingest("tiktok_videos", DAY)

    assert sorted(env.q("select id from raw.tiktok_videos")["id"]) == [
        "7234567890123456789", "9234567890123456789"]
    stg = env.q("select item_id, created_at, item_url, author_handle, views, likes "
                "from staging.stg_tiktok__videos").set_index("item_id")
    assert stg.loc["7234567890123456789", "created_at"] == ts("2025-05-06T22:30:00Z")
    assert stg.loc["9234567890123456789", "created_at"] == ts("2025-05-06T00:00:00Z")
    # the handle is a pseudonym (ugc_pipeline.pii), the same for both spellings of one account
    assert stg.loc["7234567890123456789", "item_url"] == (
        f"https://www.tiktok.com/@{pseudonym('handle', 'lucas_miam')}/video/7234567890123456789")
    assert stg.loc["7234567890123456789", "author_handle"] == pseudonym("handle", "Lucas_Miam")
    assert stg.loc["9234567890123456789", "author_handle"] == pseudonym("handle", "lucas_miam")
    assert stg.loc["7234567890123456789", "views"] == 20450
    enriched = env.q("select item_id, kpi_date from intermediate.int_ugc_items__enriched order by item_id")
    assert [(r["item_id"], str(r["kpi_date"])) for r in records(enriched)] == [
        ("7234567890123456789", "2025-05-07"), ("9234567890123456789", "2025-05-06")]


def test_tiktok_error_page_fails_the_ingest_and_records_the_file(env):
    env.write("tiktok_videos", DAY, "videos-1.json", """{
      "data": {},
      "error": {"code": "access_token_invalid", "message": "The access token is invalid or not found.",
                "log_id": "202505061030460A1B2C3D4E5F"}
    }""")

    with pytest.raises(DeliveryError, match="tiktok_videos/2025-05-06/videos-1.json"):
        env.ingest("tiktok_videos", DAY, run_id="run-err")

    run = one(env.q("select status, message from audit.pipeline_runs where run_id = 'run-err'"))
    assert run["status"] == "failed"
    assert "tiktok_videos/2025-05-06/videos-1.json" in run["message"]
    assert env.q("select count(*) as n from raw.tiktok_videos")["n"][0] == 0


# -- YouTube ---------------------------------------------------------------------------------

def test_youtube_statistics_cast_and_hidden_subscribers_unknown(env):
    env.write("youtube_videos", DAY, "videos.json", {
        "kind": "youtube#videoListResponse", "etag": "Xk3Qm6r5", "pageInfo": {"totalResults": 2, "resultsPerPage": 50},
        "items": [
            {"kind": "youtube#video", "etag": "b1", "id": "dQw4w9WgXcQ",
             "snippet": {"publishedAt": "2025-05-06T16:00:07Z", "channelId": "UCx1y2z3A4b5C6d7E8f9G0hI",
                         "title": "3 recettes express", "description": "Merci @maisonverte",
                         "channelTitle": "La Cuisine de Nina", "tags": ["recette", "OliveDuMatin"]},
             "statistics": {"viewCount": "15234", "likeCount": "812", "favoriteCount": "0", "commentCount": "57"}},
            {"kind": "youtube#video", "etag": "b2", "id": "a1B2c3D4e5F",
             "snippet": {"publishedAt": "2025-05-06T18:00:00Z", "channelId": "UChidden0000000000000000",
                         "title": "Vlog #OliveDuMatin", "description": "", "channelTitle": "Secret"},
             "statistics": {"viewCount": "98", "likeCount": "4", "favoriteCount": "0", "commentCount": "0"}},
        ]})
    env.write("youtube_videos", DAY, "channels.json", {
        "kind": "youtube#channelListResponse", "etag": "Pq0n", "pageInfo": {"totalResults": 2, "resultsPerPage": 5},
        "items": [
            {"kind": "youtube#channel", "etag": "Aa1", "id": "UCx1y2z3A4b5C6d7E8f9G0hI",
             "statistics": {"viewCount": "1843120", "subscriberCount": "15400",
                            "hiddenSubscriberCount": False, "videoCount": "212"}},
            {"kind": "youtube#channel", "etag": "Bb2", "id": "UChidden0000000000000000",
             "statistics": {"viewCount": "99231", "subscriberCount": "0",
                            "hiddenSubscriberCount": True, "videoCount": "31"}},
        ]})
    result = env.ingest("youtube_videos", DAY)

    assert (result.files_read, result.records_loaded) == (2, 4)
    video = one(env.q("select views, likes, comments, created_at, post_key from staging.stg_youtube__videos "
                      "where item_id = 'dQw4w9WgXcQ'"))
    assert video == {"views": 15234, "likes": 812, "comments": 57,
                     "created_at": ts("2025-05-06T16:00:07Z"), "post_key": "youtube:dQw4w9WgXcQ"}
    channels = env.q("select channel_id, subscriber_count from staging.stg_youtube__channels").set_index("channel_id")
    assert channels.loc["UCx1y2z3A4b5C6d7E8f9G0hI", "subscriber_count"] == 15400
    assert pd.isna(channels.loc["UChidden0000000000000000", "subscriber_count"])
    enriched = env.q("select item_id, followers, influencer_tier from intermediate.int_ugc_items__enriched"
                     ).set_index("item_id")
    assert enriched.loc["dQw4w9WgXcQ", "followers"] == 15400
    assert enriched.loc["dQw4w9WgXcQ", "influencer_tier"] == "micro"
    assert pd.isna(enriched.loc["a1B2c3D4e5F", "followers"])
    assert enriched.loc["a1B2c3D4e5F", "influencer_tier"] == "unknown"


# -- Ambassador posts ------------------------------------------------------------------------

def test_ambassador_csv_and_ndjson_blank_metrics_stay_null_in_staging(env):
    env.write("ambassador_posts", DAY, "posts.csv", (
        "post_id,ambassador_id,campaign_id,platform,post_url,content_type,posted_at,followers_at_post,"
        "likes,comments,shares,views\n"
        "AP-1,AMB-0004,CMP-2025-OLIVE,blog,https://cuisine-de-lea.fr/2025/05/focaccia-42/,recipe,"
        "2025-05-06T12:00:00+02:00,380,,0,,640\n"))
    env.write("ambassador_posts", DAY, "posts.ndjson", (
        '{"post_id": "AP-2", "ambassador_id": "AMB-0005", "campaign_id": "CMP-2025-OLIVE", '
        '"platform": "Facebook", "post_url": "https://www.facebook.com/lea.cuisine/posts/pfbid0abc", '
        '"content_type": "text", "posted_at": "2025-05-06T08:00:00+02:00", "followers_at_post": 150, '
        '"likes": 12, "comments": null, "shares": "", "views": 0}\n'))
    result = env.ingest("ambassador_posts", DAY)

    assert (result.records_read, result.records_loaded) == (2, 2)
    stg = env.q("select item_id, platform, created_at, author_followers, likes, comments, shares, views, "
                "content_type from staging.stg_ambassador_platform__posts order by item_id")
    assert records(stg) == [
        {"item_id": "AP-1", "platform": "blog", "created_at": ts("2025-05-06T10:00:00Z"), "author_followers": 380,
         "likes": None, "comments": 0, "shares": None, "views": 640, "content_type": "recipe"},
        {"item_id": "AP-2", "platform": "facebook", "created_at": ts("2025-05-06T06:00:00Z"),
         "author_followers": 150, "likes": 12, "comments": None, "shares": None, "views": 0, "content_type": "text"},
    ]
    enriched = env.q("select item_id, influencer_tier, campaign_id, is_counted "
                     "from intermediate.int_ugc_items__enriched order by item_id")
    assert [(r["item_id"], r["influencer_tier"], r["campaign_id"]) for r in records(enriched)] == [
        ("AP-1", "nano", "CMP-2025-OLIVE"), ("AP-2", "nano", "CMP-2025-OLIVE")]


# -- Campaign hashtags -----------------------------------------------------------------------

def test_campaign_hashtags_match_case_insensitively_with_or_without_hash(env):
    env.deliver_business()
    env.write("instagram_media", DAY, "claire.cuisine.json", ig_node([
        ig_media("18000000000000001", "https://www.instagram.com/p/C6xYz12AbCd/", "2025-05-06T07:00:00+0000",
                 57, 4, caption="Mes tartines du matin, huile au top #oliveDuMatin!"),
        ig_media("18000000000000002", "https://www.instagram.com/p/C6xYz12AbCe/", "2025-05-06T08:00:00+0000",
                 10, 1, caption="Rien à voir #olivedumatinchallenge #pasta"),
        ig_media("18000000000000003", "https://www.instagram.com/p/C6xYz12AbCf/", "2025-05-06T09:00:00+0000",
                 10, 1, caption=None),
    ]))
    env.write("tiktok_videos", DAY, "videos-1.json", TIKTOK_PAGE)
    env.write("youtube_videos", DAY, "videos.json", {
        "kind": "youtube#videoListResponse", "etag": "E1", "pageInfo": {"totalResults": 1, "resultsPerPage": 50},
        "items": [{"kind": "youtube#video", "etag": "b1", "id": "dQw4w9WgXcQ",
                   "snippet": {"publishedAt": "2025-05-06T16:00:07Z", "channelId": "UCx1",
                               "title": "3 recettes", "description": "Merci !",
                               "tags": ["recette", "MaisonVerteAmbassadeurs"]},
                   "statistics": {"viewCount": "15234", "likeCount": "812", "commentCount": "57"}}]})
    for source in ("instagram_media", "tiktok_videos", "youtube_videos"):
        env.ingest(source, DAY)

    enriched = env.q("select item_id, campaign_id, sku, is_counted from intermediate.int_ugc_items__enriched"
                     ).set_index("item_id")
    assert enriched.loc["18000000000000001", "campaign_id"] == "CMP-2025-OLIVE"  # caption "#oliveDuMatin!"
    assert enriched.loc["7234567890123456789", "campaign_id"] == "CMP-2025-OLIVE"  # hashtag_names OLIVEDUMATIN
    assert enriched.loc["dQw4w9WgXcQ", "campaign_id"] == "CMP-2025-OLIVE"  # tag without '#'
    assert enriched.loc["18000000000000001", "sku"] == "MV-OLV-500"
    assert bool(enriched.loc["18000000000000001", "is_counted"]) is True
    for unrelated in ("18000000000000002", "18000000000000003", "9234567890123456789"):
        assert pd.isna(enriched.loc[unrelated, "campaign_id"]), unrelated
        assert bool(enriched.loc[unrelated, "is_counted"]) is False


def test_campaign_hashtag_followed_by_non_ascii_punctuation_matches(env):
    env.deliver_business()
    captions = ("Petit-déj au soleil #oliveDuMatin🫒", "Bientôt la suite #OliveDuMatin…",
                "Ma recette préférée «#OliveDuMatin»")
    env.write("instagram_media", DAY, "claire.cuisine.json", ig_node([
        ig_media(f"1800000000000000{i}", f"https://www.instagram.com/p/C6xYz12AbC{i}/", "2025-05-06T07:00:00+0000",
                 57, 4, caption=caption)
        for i, caption in enumerate(captions)]))
    env.ingest("instagram_media", DAY)

    campaigns = env.q("select item_id, campaign_id from intermediate.int_ugc_items__enriched order by item_id")
    assert records(campaigns) == [{"item_id": f"1800000000000000{i}", "campaign_id": "CMP-2025-OLIVE"}
                                  for i in range(3)]


# -- Ambassador declaration + platform record of the same post -------------------------------

def test_declared_and_measured_post_counts_once_with_measured_metrics(env):
    env.deliver_business()
    env.write("instagram_media", DAY, "claire.cuisine.json", ig_node([
        ig_media("18000000000000001", "https://www.instagram.com/p/C6xYz12AbCd/", "2025-05-06T07:56:32+0000",
                 57, 4, caption="Tartines du matin", insights={"reach": 812, "views": 1304, "saved": 6, "shares": 2}),
    ]))
    env.write("tiktok_videos", DAY, "videos-1.json", TIKTOK_PAGE)
    env.write("ambassador_posts", DAY, "posts.csv", (
        "post_id,ambassador_id,campaign_id,platform,post_url,content_type,posted_at,followers_at_post,"
        "likes,comments,shares,views\n"
        "AP-1,AMB-0001,CMP-2025-OLIVE,instagram,https://www.instagram.com/p/C6xYz12AbCd/,photo,"
        "2025-05-06T09:56:00+02:00,745,50,3,9,999\n"
        "AP-2,AMB-0002,CMP-2025-OLIVE,tiktok,https://www.tiktok.com/@lucas_miam/video/7234567890123456789,video,"
        "2025-05-07T00:30:00+02:00,2305,1400,40,,\n"
        "AP-3,AMB-0004,CMP-2025-OLIVE,blog,https://cuisine-de-lea.fr/2025/05/focaccia-42/,recipe,"
        "2025-05-06T12:00:00+02:00,380,,0,,640\n"))
    for source in ("instagram_media", "tiktok_videos", "ambassador_posts"):
        env.ingest(source, DAY)
    env.build()

    enriched = env.q("select source, item_id, ambassador_id, campaign_id, likes, comments, shares, saves, views, "
                     "followers, content_type, is_declared_and_measured "
                     "from intermediate.int_ugc_items__enriched where is_counted order by source, item_id")
    assert [(r["source"], r["item_id"]) for r in records(enriched)] == [
        ("ambassador_posts", "AP-3"), ("instagram_media", "18000000000000001"),
        ("tiktok_videos", "7234567890123456789")]
    by_id = {r["item_id"]: r for r in records(enriched)}
    ig = by_id["18000000000000001"]
    assert (ig["likes"], ig["comments"], ig["shares"], ig["saves"], ig["views"]) == (57, 4, 2, 6, 1304)
    assert (ig["ambassador_id"], ig["campaign_id"], ig["followers"]) == ("AMB-0001", "CMP-2025-OLIVE", 745)
    assert bool(ig["is_declared_and_measured"]) is True
    tk = by_id["7234567890123456789"]
    assert (tk["likes"], tk["comments"], tk["shares"], tk["views"]) == (1520, 48, 12, 20450)
    assert (tk["ambassador_id"], tk["campaign_id"]) == ("AMB-0002", "CMP-2025-OLIVE")
    assert bool(by_id["AP-3"]["is_declared_and_measured"]) is False

    env_daily = env.q("select platform, sum(ugc_count) as n, sum(declared_and_measured_count) as dm "
                      "from marts.ugc_daily group by platform order by platform")
    assert [(r["platform"], r["n"], r["dm"]) for r in records(env_daily)] == [
        ("blog", 1, 0), ("instagram", 1, 1), ("tiktok", 1, 1)]


def test_declared_instagram_story_with_the_same_url_counts_once(env):
    env.deliver_business()
    story_url = "https://www.instagram.com/stories/claire.cuisine/18000000000000009/"
    env.write("instagram_media", DAY, "claire.cuisine.json", ig_node([
        ig_media("18000000000000009", story_url, "2025-05-06T07:00:00+0000", 0, 0, caption=None,
                 product="STORY", insights={"reach": 300, "views": 420}),
    ]))
    env.write("ambassador_posts", DAY, "posts.csv", (
        "post_id,ambassador_id,campaign_id,platform,post_url,content_type,posted_at,followers_at_post,"
        "likes,comments,shares,views\n"
        f"AP-9,AMB-0001,CMP-2025-OLIVE,instagram,{story_url},story,2025-05-06T09:00:00+02:00,745,,,,350\n"))
    env.ingest("instagram_media", DAY)
    env.ingest("ambassador_posts", DAY)

    items = env.q("select source, item_id, ambassador_id, campaign_id, views, is_counted "
                  "from intermediate.int_ugc_items__enriched order by source")
    assert records(items) == [{"source": "instagram_media", "item_id": "18000000000000009",
                               "ambassador_id": "AMB-0001", "campaign_id": "CMP-2025-OLIVE", "views": 420,
                               "is_counted": True}]


# -- KPI day ---------------------------------------------------------------------------------

def test_kpi_day_is_the_creation_day_in_the_ugc_timezone(env):
    env.deliver_business()
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [
        yotpo_review(487000101, "2025-05-06T22:30:00Z"),
        yotpo_review(487000102, "2025-05-06T21:59:59Z", score=3),
    ]})
    env.ingest("yotpo_reviews", DAY)
    env.build()
    assert env.settings.timezone == "Europe/Paris"

    daily = env.q("select kpi_date, brand, sku, platform, content_type, influencer_tier, ugc_count, avg_rating "
                  "from marts.ugc_daily order by kpi_date")
    assert [(str(r["kpi_date"]), r["sku"], r["platform"], r["ugc_count"], r["avg_rating"])
            for r in records(daily)] == [
        ("2025-05-06", "MV-OLV-500", "yotpo", 1, 3.0), ("2025-05-07", "MV-OLV-500", "yotpo", 1, 5.0)]
    assert set(daily["brand"]) == {"Maison Verte"}
    assert set(daily["influencer_tier"]) == {"unknown"}
    assert set(daily["content_type"]) == {"review"}


# -- Quarantine and run records --------------------------------------------------------------

def test_bad_records_are_quarantined_with_file_position_reasons_and_raw(env):
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [
        yotpo_review(487000201, "2025-05-06T08:00:00Z"),
        yotpo_review(487000202, "2025-05-06T09:00:00Z", score="nine"),
        yotpo_review(487000203, "2025-05-06T10:00:00Z", score=4),
    ]})
    env.write("retailer_reviews", DAY, "export.csv", RETAILER_HEADER + "\n" + "\n".join([
        "RV-1,MV-OLV-500,,5,Top,Très bonne,2025-05-06 09:00:00,,a,true,false,false,,0,0,0,APPROVED,fr_FR,",
        "RV-2,MV-OLV-500,,4,Bien,Bonne,le 6 mai vers 9h,,b,true,false,false,,0,0,0,APPROVED,fr_FR,",
        "RV-3,MV-OLV-500,,3,Moyen,Correcte,2025-05-06 11:00:00,,c,true,false,false,,0,0,0,APPROVED,fr_FR,",
    ]) + "\n")
    yotpo = env.ingest("yotpo_reviews", DAY, run_id="run-q")
    retailer = env.ingest("retailer_reviews", DAY, run_id="run-q")

    assert (yotpo.records_read, yotpo.records_loaded, yotpo.records_rejected) == (3, 2, 1)
    assert (retailer.records_read, retailer.records_loaded, retailer.records_rejected) == (3, 2, 1)
    rejected = records(env.q("select source, delivery_date, file, position, reasons, raw, run_id "
                             "from audit.rejected_records order by source"))
    assert len(rejected) == 2
    ret, yot = rejected
    assert (ret["source"], str(ret["delivery_date"]), ret["file"], ret["position"], ret["run_id"]) == (
        "retailer_reviews", DAY, "retailer_reviews/2025-05-06/export.csv", "row 2", "run-q")
    assert "submission_time" in ret["reasons"] and "le 6 mai vers 9h" in ret["reasons"]
    ret_raw = json.loads(ret["raw"])
    assert (ret_raw["review_id"], ret_raw["submission_time"], ret_raw["title"]) == ("RV-2", "le 6 mai vers 9h", "Bien")
    assert (yot["source"], yot["file"], yot["position"]) == (
        "yotpo_reviews", "yotpo_reviews/2025-05-06/page-1.json", "$.reviews[1]")
    assert "score" in yot["reasons"] and "nine" in yot["reasons"]
    yot_raw = json.loads(yot["raw"])
    assert (yot_raw["id"], yot_raw["score"], yot_raw["email"]) == (
        487000202, "nine", pseudonym("email", "sophie.lambert@example.fr"))  # as delivered but for personal data

    runs = records(env.q("select source, status, files_read, records_read, records_loaded, records_rejected "
                         "from audit.pipeline_runs where run_id = 'run-q' order by source"))
    assert runs == [
        {"source": "retailer_reviews", "status": "success", "files_read": 1, "records_read": 3,
         "records_loaded": 2, "records_rejected": 1},
        {"source": "yotpo_reviews", "status": "success", "files_read": 1, "records_read": 3,
         "records_loaded": 2, "records_rejected": 1},
    ]
    assert sorted(env.q("select id from raw.yotpo_reviews")["id"]) == ["487000201", "487000203"]
    assert sorted(env.q("select review_id from raw.retailer_reviews")["review_id"]) == ["RV-1", "RV-3"]


def test_missing_folder_is_no_delivery(env):
    result = env.ingest("yotpo_reviews", DAY, run_id="run-none")

    assert result.status == "no_delivery"
    run = one(env.q("select status, records_read from audit.pipeline_runs where run_id = 'run-none'"))
    assert run == {"status": "no_delivery", "records_read": 0}


# -- Idempotence -----------------------------------------------------------------------------

def test_ingesting_the_same_day_twice_leaves_raw_and_quarantine_identical(env):
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [
        yotpo_review(487000301, "2025-05-06T08:00:00Z"),
        yotpo_review(487000302, "2025-05-06T09:00:00Z", score="nine"),
        yotpo_review(487000303, "2025-05-06T10:00:00Z", score=4),
    ]})
    env.write("yotpo_reviews", DAY, "page-2.json", {"reviews": [yotpo_review(487000304, "2025-05-05T10:00:00Z")]})
    cols = ("delivery_date, source_file, record_number, record_position, id, sku, score, created_at, "
            "email")
    order = "order by source_file, record_number"

    env.ingest("yotpo_reviews", DAY, run_id="run-1")
    first = env.q(f"select {cols} from raw.yotpo_reviews {order}")
    first_rejects = env.q("select source, delivery_date, file, position, reasons, raw from audit.rejected_records")
    env.ingest("yotpo_reviews", DAY, run_id="run-2")
    second = env.q(f"select {cols} from raw.yotpo_reviews {order}")
    second_rejects = env.q("select source, delivery_date, file, position, reasons, raw from audit.rejected_records")

    assert len(first) == 3
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first_rejects, second_rejects)
    assert len(second_rejects) == 1
    assert set(env.q("select run_id from raw.yotpo_reviews")["run_id"]) == {"run-2"}
    runs = env.q("select run_id, records_loaded from audit.pipeline_runs order by run_id")
    assert records(runs) == [{"run_id": "run-1", "records_loaded": 3}, {"run_id": "run-2", "records_loaded": 3}]


# -- Personal data ---------------------------------------------------------------------------

def test_personal_data_is_pseudonymised_in_raw_and_quarantine_and_reaches_no_table(env):
    env.deliver_business()
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [
        yotpo_review(487000401, "2025-05-06T08:00:00Z", name="Sophie Lambert", email="sophie.lambert@example.fr"),
        # the same person, spelled otherwise, in a record that is quarantined (score 9)
        yotpo_review(487000402, "2025-05-06T09:00:00Z", score=9, name=" sophie  LAMBERT",
                     email="Sophie.Lambert@Example.fr "),
    ]})
    env.write("google_business_reviews", DAY, "page-1.json", {"reviews": [
        google_review("G1", "4816235201934567890", "FIVE", "2025-05-06T09:00:00Z", "Top", name="Camille Durand"),
        google_review("G2", "4816235201934567890", "SIX", "2025-05-06T10:00:00Z", "Top", name="Camille Durand"),
    ], "averageRating": 5, "totalReviewCount": 2})
    env.ingest("yotpo_reviews", DAY)
    env.ingest("google_business_reviews", DAY)
    env.build()

    personal = ("Sophie Lambert", "sophie.lambert@example.fr", "Camille Durand", "googleusercontent.com/a-/ALV-UjX")
    email, name = pseudonym("email", "sophie.lambert@example.fr"), pseudonym("name", "Sophie Lambert")
    # raw and the quarantine hold the keyed pseudonyms: one person, one id, whatever the spelling
    assert env.records("select name, email from raw.yotpo_reviews") == [{"name": name, "email": email}]
    assert env.q('select "reviewer__displayName" as v from raw.google_business_reviews')["v"][0] == pseudonym(
        "name", "Camille Durand")
    quarantined = {r["source"]: r["raw"] for r in env.rejects()}
    assert (quarantined["yotpo_reviews"]["name"], quarantined["yotpo_reviews"]["email"]) == (name, email)
    assert quarantined["google_business_reviews"]["reviewer"] == {
        "profilePhotoUrl": pseudonym("url", "https://lh3.googleusercontent.com/a-/ALV-UjX=s120"),
        "displayName": pseudonym("name", "Camille Durand"), "isAnonymous": False}
    assert env.q("select sum(ugc_count) as n from marts.ugc_daily")["n"][0] == 2
    # no table or view of any layer holds a personal value
    text_columns = env.q("select table_schema, table_name, column_name from information_schema.columns "
                         "where data_type = 'VARCHAR'")
    assert set(text_columns["table_schema"]) >= {"raw", "staging", "intermediate", "marts", "audit"}
    leaks = []
    # one query a table or view (a view is computed once, not once for each of its columns)
    for (schema, table), columns in text_columns.groupby(["table_schema", "table_name"], sort=False):
        names = list(columns["column_name"])
        rows = env.q("select distinct " + ", ".join(f'"{c}"' for c in names) + f' from {schema}."{table}"')
        for column in names:
            values = rows[column].dropna().unique()
            leaks += [(schema, table, column) for v in values for p in personal if p.lower() in v.lower()]
    assert leaks == []
