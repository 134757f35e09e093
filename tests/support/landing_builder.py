"""A small, hand-made landing zone for the end-to-end tests.

Four delivery days (2025-05-05 .. 2025-05-08) of one brand ("Maison Verte"), two SKUs, four stores,
four ambassadors and one campaign, every file in the platform's own payload shape (contract
sections 3 and 4). Few enough records that every mart value is computed by hand in
``test_marts_by_hand.py``; the comments here say what each record is there to exercise.

Calendar: UGC_TIMEZONE = Europe/Paris, which is UTC+2 in May, so 22:00Z is already the next
Paris day.

    delivery 2025-05-05  business snapshots, 28 days of web/store history (04-07..05-04),
                         Yotpo Y0 (created 04-20), Y1 v1, Y2 v1
    delivery 2025-05-06  web/store facts of 05-05, Google G1..G5, Instagram IG1 v1 + IG2,
                         ambassador post AP1 (CSV, same post as IG1)
    delivery 2025-05-07  web/store facts of 05-06 (store ST-LIL-01 wrongly 12 units), Yotpo Y1 v2
                         (edited), Y2 deleted, Y3 (22:30Z), Y4 twice, retailer R1..R4 (R3 REJECTED,
                         R4 unreadable rating), TikTok TT1..TT3, ambassador AP2 + AP3 (NDJSON),
                         Google G1 again (unchanged, reply added)
    delivery 2025-05-08  web/store facts of 05-07 + restatements (web 05-05, store 05-06),
                         Instagram IG1 v2 (grown metrics), YouTube video + channel, survey S1..S3
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BRAND = "Maison Verte"
SKU_A = "MV-OLV-500"  # the campaign's product
SKU_B = "MV-PES-180"  # no campaign
GTIN_A = "03760123450017"
GTIN_B = "03760123450024"
CAMPAIGN = "CMP-OLIVE"
CAMPAIGN_START = date(2025, 5, 5)
CAMPAIGN_END = date(2025, 5, 7)

DAYS = [date(2025, 5, 5), date(2025, 5, 6), date(2025, 5, 7), date(2025, 5, 8)]
D1, D2, D3, D4 = DAYS

PRE_DAYS = [CAMPAIGN_START - timedelta(days=n) for n in range(28, 0, -1)]  # 04-07 .. 05-04
DURING_DAYS = [date(2025, 5, 5), date(2025, 5, 6), date(2025, 5, 7)]

# stores: two in the exposed zone Z-NORD (test), two in Z-SUD (control)
STORES = [
    ("ST-LIL-01", "1001", "Z-NORD", "Lille"),
    ("ST-ROU-02", "1002", "Z-NORD", "Rouen"),
    ("ST-LYO-03", "2001", "Z-SUD", "Lyon"),
    ("ST-MAR-04", "2002", "Z-SUD", "Marseille"),
]
TEST_STORES = ("ST-LIL-01", "ST-ROU-02")

# daily facts, constant per phase so that ratios are hand-computable
WEB = {  # sku -> (pre sessions, pre orders, during sessions, during orders)
    SKU_A: (100, 2, 100, 4),
    SKU_B: (50, 1, 50, 1),
}
WEB_RESTATED_A_0505_ORDERS = 5  # delivery 05-08 restates SKU A's 05-05 orders: 4 -> 5
SALES_A = {"test": (10, 15), "control": (5, 6)}  # units per store per day: (pre, during)
SALES_B = 3  # units per store per day of SKU B, every day (must not leak into SKU A's uplift)
SALES_WRONG_LIL_0506 = 12  # first delivered value of ST-LIL-01 / SKU A / 05-06, restated to 15 on 05-08

PARIS_ACCOUNT = "108234567890123456789"
IG_CLAIRE = "17841400000000001"
IG_MARIE = "17841400000000002"
IG1_ID = "17900000000000001"
IG2_ID = "17900000000000002"
TT1_ID = "7412345678901234567"  # 19 digits, written as a JSON number
TT2_ID = "7412345678901234999"
TT3_ID = "7412345678900000001"
YT1_ID = "yt0Olive001"
YT_CHANNEL = "UCnina0000000000000000a"


def _unix(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC).timestamp())


def _csv(header: list[str], rows: list[list], delimiter: str = ",", bom: bool = False, crlf: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def _json(obj) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _ndjson(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


class LandingBuilder:
    def __init__(self, root: Path):
        self.root = Path(root)

    def put(self, source: str, day: date, name: str, data: bytes) -> Path:
        path = self.root / source / day.isoformat() / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    # -- business tables ------------------------------------------------------------------------
    def business(self) -> None:
        self.put("products", D1, "products.csv", _csv(
            ["sku", "gtin", "product_name", "brand", "category"],
            [[SKU_A, GTIN_A, "Huile d'olive vierge extra 50 cl", BRAND, "Huiles"],
             [SKU_B, GTIN_B, "Pesto alla genovese 180 g", BRAND, "Sauces"]]))
        self.put("stores", D1, "stores.csv", _csv(
            ["store_id", "google_location_id", "brand", "zone_id", "city"],
            [[s, loc, BRAND, zone, city] for s, loc, zone, city in STORES]))
        self.put("ambassadors", D1, "ambassadors.csv", _csv(
            ["ambassador_id", "platform", "handle", "followers", "zone_id"],
            [["AMB-01", "instagram", "@claire.cuisine", 742, "Z-NORD"],
             ["AMB-02", "tiktok", "@lucas_miam", 2310, "Z-NORD"],
             ["AMB-03", "youtube", "LaCuisineDeNina", 15400, "Z-SUD"],
             ["AMB-04", "facebook", "lea.cuisine", 350, "Z-NORD"]]))
        self.put("campaigns", D1, "campaigns.csv", _csv(
            ["campaign_id", "brand", "sku", "start_date", "end_date", "hashtags", "exposed_zone_ids"],
            [[CAMPAIGN, BRAND, SKU_A, CAMPAIGN_START.isoformat(), CAMPAIGN_END.isoformat(),
              "#OliveDuMatin #MaisonVerteAmbassadeurs", "Z-NORD"]]))

    @staticmethod
    def _web_row(day: date, sku: str, orders_override: int | None = None) -> list:
        pre_s, pre_o, dur_s, dur_o = WEB[sku]
        sessions, orders = (dur_s, dur_o) if day >= CAMPAIGN_START else (pre_s, pre_o)
        if orders_override is not None:
            orders = orders_override
        return [day.isoformat(), sku, sessions, orders, f"{orders * 9.9:.2f}"]

    @staticmethod
    def _sales_rows(day: date, override: dict | None = None) -> list[list]:
        rows = []
        for store_id, _loc, _zone, _city in STORES:
            arm = "test" if store_id in TEST_STORES else "control"
            units = SALES_A[arm][1 if day >= CAMPAIGN_START else 0]
            if override and store_id in override:
                units = override[store_id]
            rows.append([day.isoformat(), store_id, SKU_A, units, f"{units * 9.9:.2f}"])
            rows.append([day.isoformat(), store_id, SKU_B, SALES_B, f"{SALES_B * 4.5:.2f}"])
        return rows

    def facts(self) -> None:
        web_header = ["date", "sku", "sessions", "orders", "revenue"]
        sales_header = ["date", "store_id", "sku", "units", "revenue"]
        # history of the 28 pre-campaign days, in the first delivery
        self.put("web_conversion", D1, "ga4_items_history.csv",
                 _csv(web_header, [self._web_row(d, s) for d in PRE_DAYS for s in (SKU_A, SKU_B)]))
        self.put("store_sales", D1, "retail_panel_history.csv",
                 _csv(sales_header, [r for d in PRE_DAYS for r in self._sales_rows(d)]))
        # delivery D holds the facts of D-1
        self.put("web_conversion", D2, "ga4_items_20250505.csv",
                 _csv(web_header, [self._web_row(D1, SKU_A), self._web_row(D1, SKU_B)]))
        self.put("web_conversion", D3, "ga4_items_20250506.csv",
                 _csv(web_header, [self._web_row(D2, SKU_A), self._web_row(D2, SKU_B)]))
        self.put("web_conversion", D4, "ga4_items_20250507.csv",
                 _csv(web_header, [self._web_row(D3, SKU_A), self._web_row(D3, SKU_B)]))
        self.put("web_conversion", D4, "ga4_items_restatement_20250505.csv",
                 _csv(web_header, [self._web_row(D1, SKU_A, orders_override=WEB_RESTATED_A_0505_ORDERS)]))
        self.put("store_sales", D2, "retail_panel_20250505.csv", _csv(sales_header, self._sales_rows(D1)))
        self.put("store_sales", D3, "retail_panel_20250506.csv",
                 _csv(sales_header, self._sales_rows(D2, override={"ST-LIL-01": SALES_WRONG_LIL_0506})))
        self.put("store_sales", D4, "retail_panel_20250507.csv", _csv(sales_header, self._sales_rows(D3)))
        self.put("store_sales", D4, "retail_panel_restatement_20250506.csv", _csv(
            sales_header, [[D2.isoformat(), "ST-LIL-01", SKU_A, SALES_A["test"][1], "148.50"]]))

    # -- reviews ----------------------------------------------------------------------------------
    @staticmethod
    def _google(review_id: str, location: str, stars: str, create: str, comment: str | None = None,
                media: int = 0, reply: bool = False) -> dict:
        r = {
            "name": f"accounts/{PARIS_ACCOUNT}/locations/{location}/reviews/{review_id}",
            "reviewId": review_id,
            "reviewer": {"displayName": f"Client {review_id}", "profilePhotoUrl": "https://lh3.example/p.jpg",
                         "isAnonymous": False},
            "starRating": stars,
            "createTime": create,
            "updateTime": create,
        }
        if comment is not None:
            r["comment"] = comment
        if media:
            r["reviewMediaItems"] = [
                {"name": f"accounts/{PARIS_ACCOUNT}/locations/{location}/media/M{i}", "mediaFormat": "PHOTO",
                 "googleUrl": f"https://lh3.example/m{i}.jpg"} for i in range(media)]
        if reply:
            r["reviewReply"] = {"comment": "Merci !", "updateTime": "2025-05-06T09:00:00.5Z"}
            r["updateTime"] = "2025-05-06T09:00:00.5Z"
        return r

    def google(self) -> None:
        g1 = dict(review_id="G1", location="1001", stars="FIVE", create="2025-05-05T09:00:00Z",
                  comment="Super accueil, huile excellente", media=1)
        self.put("google_business_reviews", D2, "reviews_page_1.json", _json({
            "reviews": [
                self._google(**g1),
                # rating only (no comment), 9 fraction digits
                self._google("G2", "2001", "FOUR", "2025-05-05T14:00:00.123456789Z"),
                self._google("G3", "1002", "FOUR", "2025-05-05T20:00:00Z", "Bon magasin"),
                # text but no star rating; 21:59:59Z = 23:59:59 Paris, still 05-05
                self._google("G4", "2002", "STAR_RATING_UNSPECIFIED", "2025-05-05T21:59:59.5Z", "Je ne sais pas"),
                # 22:00Z = midnight Paris: KPI day 05-06
                self._google("G5", "1001", "THREE", "2025-05-05T22:00:00Z", "Correct"),
            ],
            "averageRating": 4.2,
            "totalReviewCount": 5,
            "nextPageToken": "CiQKIgoWQWJGdk9xblE3ZzhoOWkSCAoGCMq",
        }))
        # G1 delivered again the next day, with an owner reply: must count once
        self.put("google_business_reviews", D3, "reviews_page_1.json", _json({
            "reviews": [self._google(**g1, reply=True)], "averageRating": 4.2, "totalReviewCount": 5}))

    @staticmethod
    def _yotpo(rid: int, sku: str, score: int, created: str, content: str, updated: str | None = None,
               deleted: bool = False, incentivized: bool = False) -> dict:
        return {
            "id": rid, "sku": sku, "score": score, "title": content[:12], "content": content,
            "created_at": created, "updated_at": updated or created, "votes_up": 0, "votes_down": 0,
            "name": f"Reviewer {rid}", "email": f"r{rid}@example.com", "reviewer_type": "verified_buyer",
            "deleted": deleted, "archived": False, "is_incentivized": incentivized,
            "incentive_type": "free_product" if incentivized else None,
        }

    def yotpo(self) -> None:
        self.put("yotpo_reviews", D1, "reviews_p1.json", _json({"reviews": [
            # re-exported old review: counts on its creation day 04-20
            self._yotpo(900, SKU_A, 5, "2025-04-20T10:00:00.000Z", "Toujours parfaite"),
            # Y1 v1 (score 2), edited in delivery 05-07
            self._yotpo(1001, SKU_A, 2, "2025-05-05T08:00:00.000Z", "Un peu amère"),
            # Y2, deleted in delivery 05-07
            self._yotpo(1002, SKU_A, 3, "2025-05-05T10:00:00.000Z", "Moyen"),
        ]}))
        self.put("yotpo_reviews", D3, "reviews_p1.json", _json({"reviews": [
            self._yotpo(1001, SKU_A, 4, "2025-05-05T08:00:00.000Z", "Finalement très bonne",
                        updated="2025-05-06T18:00:00.000Z"),
            self._yotpo(1002, SKU_A, 3, "2025-05-05T10:00:00.000Z", "Moyen",
                        updated="2025-05-06T19:00:00.000Z", deleted=True),
            # 22:30Z on 05-06 = 00:30 on 05-07 in Paris
            self._yotpo(1003, SKU_A, 5, "2025-05-06T22:30:00.000Z", "Parfaite", incentivized=True),
            # Y4 twice in one delivery: the first occurrence has the later update and wins
            self._yotpo(1004, SKU_B, 4, "2025-05-06T12:00:00.000Z", "Bon pesto", updated="2025-05-06T15:00:00.000Z"),
            self._yotpo(1004, SKU_B, 1, "2025-05-06T12:00:00.000Z", "Brouillon", updated="2025-05-06T12:00:00.000Z"),
        ]}))

    RETAILER_HEADER = ["review_id", "product_id", "gtin", "rating", "title", "review_text", "submission_time",
                       "last_modification_time", "user_nickname", "is_recommended", "incentivized_review",
                       "is_syndicated", "syndication_source", "photo_count", "video_count", "helpful_votes",
                       "moderation_status", "content_locale", "campaign_id"]

    def retailer(self) -> None:
        def row(rid, product_id, gtin, rating, text, ts, status, photos=0, incentivized="false"):
            return [rid, product_id, gtin, rating, "Avis", text, ts, ts, f"nick{rid}", "true", incentivized,
                    "false", "", photos, 0, 0, status, "fr_FR", ""]

        # French export: BOM, ';' separators, CRLF, a quoted field holding ';' and a newline
        self.put("retailer_reviews", D3, "carrefour_fr_avis_20250507.csv", _csv(self.RETAILER_HEADER, [
            row("RV-1", SKU_A, GTIN_A, 4, "Bonne huile; fruitée\net douce", "2025-05-06T09:00:00.000+00:00",
                "APPROVED", photos=1),
            # no product_id: found by GTIN; no text: a rating; incentivized
            row("RV-2", "", GTIN_B, 3, "", "2025-05-06T11:00:00.000+00:00", "APPROVED", incentivized="true"),
            row("RV-3", SKU_A, GTIN_A, 1, "Pas reçu", "2025-05-06T15:00:00.000+00:00", "REJECTED"),
            # unreadable rating: quarantined as row 4
            row("RV-4", SKU_A, GTIN_A, "n/a", "Bizarre", "2025-05-06T16:00:00.000+00:00", "APPROVED"),
        ], delimiter=";", bom=True, crlf=True))

    # -- social posts -----------------------------------------------------------------------------
    @staticmethod
    def _ig_user(account_id: str, username: str, followers: int, media: list[dict]) -> dict:
        return {"id": account_id, "username": username, "followers_count": followers,
                "media": {"data": media, "paging": {"cursors": {"before": "QVFIUmx", "after": "QVFIUm9"}}}}

    @staticmethod
    def _ig1(likes, comments, reach, views, saved, shares) -> dict:
        return {
            "id": IG1_ID, "caption": "Mon petit-déj du dimanche #OliveDuMatin", "media_type": "IMAGE",
            "media_product_type": "FEED", "permalink": "https://www.instagram.com/p/DAbc111xyz/",
            "timestamp": "2025-05-05T07:30:00+0000", "like_count": likes, "comments_count": comments,
            "insights": {"data": [
                {"name": "reach", "period": "lifetime", "values": [{"value": reach}]},
                {"name": "views", "period": "lifetime", "values": [{"value": views}]},
                {"name": "saved", "period": "lifetime", "values": [{"value": saved}]},
                {"name": "shares", "period": "lifetime", "values": [{"value": shares}]},
            ]},
        }

    def instagram(self) -> None:
        self.put("instagram_media", D2, "claire_cuisine.json", _json(self._ig_user(
            IG_CLAIRE, "claire.cuisine", 760, [self._ig1(40, 5, 500, 900, 7, 3)])))
        self.put("instagram_media", D2, "marie_recettes.json", _json(self._ig_user(
            IG_MARIE, "marie.recettes", 1500, [{
                # no insights: views unknown; hashtag in another case
                "id": IG2_ID, "caption": "Salade d'été #maisonverteambassadeurs", "media_type": "CAROUSEL_ALBUM",
                "media_product_type": "FEED", "permalink": "https://www.instagram.com/p/DAbc222xyz/",
                "timestamp": "2025-05-06T18:00:00+0000", "like_count": 20, "comments_count": 2,
            }])))
        # IG1 again two days later: lifetime metrics have grown
        self.put("instagram_media", D4, "claire_cuisine.json", _json(self._ig_user(
            IG_CLAIRE, "claire.cuisine", 765, [self._ig1(60, 8, 700, 1500, 10, 4)])))

    def tiktok(self) -> None:
        def video(vid, ts, desc, tags, likes, comments, shares, views):
            return {"id": int(vid), "create_time": _unix(ts), "username": "lucas_miam", "video_description": desc,
                    "hashtag_names": tags, "like_count": likes, "comment_count": comments,
                    "share_count": shares, "view_count": views}

        self.put("tiktok_videos", D3, "videos_page_1.json", _json({
            "data": {"videos": [
                video(TT1_ID, "2025-05-06T17:00:00Z", "Test de l'huile", ["oliveDuMatin", "food"], 100, 10, 5, 2000),
                video(TT2_ID, "2025-05-06T19:00:00Z", "Encore #OliveDuMatin", [], 50, 5, 0, 1000),
                # no campaign hashtag: not counted
                video(TT3_ID, "2025-05-06T20:00:00Z", "Mon chat", ["chat"], 900, 90, 9, 9000),
            ], "cursor": 3, "has_more": False},
            "error": {"code": "ok", "message": "", "log_id": "20250507000000ABCDEF"},
        }))

    def youtube(self) -> None:
        self.put("youtube_videos", D4, "videos.json", _json({
            "kind": "youtube#videoListResponse", "etag": "abc",
            "items": [{
                "kind": "youtube#video", "etag": "v1", "id": YT1_ID,
                "snippet": {"publishedAt": "2025-05-07T08:00:00Z", "channelId": YT_CHANNEL,
                            "title": "Recette à l'huile d'olive", "description": "Avec #OliveDuMatin",
                            "tags": ["cuisine", "recette"]},
                "statistics": {"viewCount": "3000", "likeCount": "150", "favoriteCount": "0",
                               "commentCount": "20"},
            }],
            "pageInfo": {"totalResults": 1, "resultsPerPage": 50},
        }))
        self.put("youtube_videos", D4, "channels.json", _json({
            "kind": "youtube#channelListResponse", "etag": "def",
            "items": [{"kind": "youtube#channel", "etag": "c1", "id": YT_CHANNEL,
                       "statistics": {"viewCount": "990000", "subscriberCount": "15400",
                                      "hiddenSubscriberCount": False, "videoCount": "120"}}],
            "pageInfo": {"totalResults": 1, "resultsPerPage": 50},
        }))

    AMBASSADOR_HEADER = ["post_id", "ambassador_id", "campaign_id", "platform", "post_url", "content_type",
                         "posted_at", "followers_at_post", "likes", "comments", "shares", "views"]

    def ambassador_posts(self) -> None:
        # AP1 is IG1 (same URL, with a query string): counted once, as the Instagram record
        self.put("ambassador_posts", D2, "declared_posts.csv", _csv(self.AMBASSADOR_HEADER, [
            ["AP-1", "AMB-01", CAMPAIGN, "instagram", "https://www.instagram.com/p/DAbc111xyz/?igsh=abc",
             "recipe", "2025-05-05T09:30:00+02:00", 742, 35, 4, "", ""],
        ]))
        self.put("ambassador_posts", D3, "declared_posts.ndjson", _ndjson([
            {"post_id": "AP-2", "ambassador_id": "AMB-04", "campaign_id": CAMPAIGN, "platform": "facebook",
             "post_url": "https://www.facebook.com/lea.cuisine/posts/pfbid0abc", "content_type": "photo",
             "posted_at": "2025-05-06T10:00:00Z", "followers_at_post": 350, "likes": 12, "comments": 3,
             "shares": 2, "views": None},
            # no metric at all
            {"post_id": "AP-3", "ambassador_id": "AMB-01", "campaign_id": CAMPAIGN, "platform": "blog",
             "post_url": "https://claire-cuisine.fr/2025/05/huile", "content_type": "recipe",
             "posted_at": "2025-05-07T09:00:00Z", "followers_at_post": 742, "likes": None, "comments": None,
             "shares": None, "views": None},
        ]))

    def surveys(self) -> None:
        self.put("wom_surveys", D4, "survey_export.csv", _csv(
            ["response_id", "ambassador_id", "campaign_id", "answered_at", "people_told", "tried_product",
             "recommend_score"],
            [["WOM-1", "AMB-01", CAMPAIGN, "2025-05-07T12:00:00Z", 8, "yes", 9],
             ["WOM-2", "AMB-04", CAMPAIGN, "2025-05-07T13:00:00Z", "", "yes", 7],  # people_told not answered
             ["WOM-3", "AMB-02", CAMPAIGN, "2025-05-07T14:00:00Z", 20, "no", 6]]))

    def build(self) -> list[date]:
        self.business()
        self.facts()
        self.google()
        self.yotpo()
        self.retailer()
        self.instagram()
        self.tiktok()
        self.youtube()
        self.ambassador_posts()
        self.surveys()
        return list(DAYS)


def build_landing(root: Path) -> list[date]:
    """Write the landing zone under ``root``; returns the delivery days."""
    return LandingBuilder(root).build()


def shared_landing() -> Path:
    """The landing zone written once per test session for every pytest-xdist worker (read-only:
    tests that change deliveries copy it first)."""
    from support.session import built_once

    def build(folder: Path) -> None:
        assert build_landing(folder / "landing") == DAYS

    return built_once("hand-made-landing", build) / "landing"
