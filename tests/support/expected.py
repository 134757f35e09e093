"""Every mart value of the hand-made landing zone (``landing_builder``), computed by hand.

KPI days are Paris days (UTC+2 in May): 22:00Z is already the next day. "MV" = Maison Verte,
"A" = MV-OLV-500 (the campaign's SKU), "B" = MV-PES-180. Which record is which: see the module
docstring of ``landing_builder``.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from ugc_pipeline.sources import SOURCES

from support.landing_builder import DAYS, GTIN_A, GTIN_B
from support.runs import Run, by_key, fetch

MV = "Maison Verte"
A = "MV-OLV-500"
B = "MV-PES-180"
CMP = "CMP-OLIVE"

# -- marts.ugc_daily -------------------------------------------------------------------------------
# (kpi_date, brand, sku, platform, content_type, influencer_tier) ->
UGC_COLUMNS = ("ugc_count", "review_count", "rating_count", "avg_rating", "incentivized_count",
               "with_media_count", "declared_and_measured_count")
UGC_DAILY = {
    # Y0: Yotpo review created 04-20, re-exported in the 05-05 delivery: counts on its creation day
    ("2025-04-20", MV, A, "yotpo", "review", "unknown"): (1, 1, 1, 5.0, 0, 0, 0),
    # G1 (FIVE, text, 1 photo), G3 (FOUR, text), G4 (text, STAR_RATING_UNSPECIFIED: no rating,
    # 21:59:59Z = 23:59:59 Paris); G1 delivered again on 05-07 counts once; avg (5+4)/2
    ("2025-05-05", MV, None, "google_business", "review", "unknown"): (3, 3, 2, 4.5, 0, 1, 0),
    # G2: FOUR without comment (rating only), createTime with 9 fraction digits
    ("2025-05-05", MV, None, "google_business", "rating", "unknown"): (1, 0, 1, 4.0, 0, 0, 0),
    # Y1 edited in the 05-07 delivery (score 2 -> 4, latest version wins); Y2 of the same day was
    # deleted in the 05-07 delivery, so not counted
    ("2025-05-05", MV, A, "yotpo", "review", "unknown"): (1, 1, 1, 4.0, 0, 0, 0),
    # IG1 (hashtag #OliveDuMatin) = ambassador post AP1 (same URL): counted once, as the Instagram
    # record, with the declared content type 'recipe', followers at post 742 (nano), incentivized
    # (declared), with media, declared_and_measured
    ("2025-05-05", MV, A, "instagram", "recipe", "nano"): (1, 0, 0, None, 1, 1, 1),
    # G5: 2025-05-05T22:00:00Z = 00:00 Paris on 05-06
    ("2025-05-06", MV, None, "google_business", "review", "unknown"): (1, 1, 1, 3.0, 0, 0, 0),
    # RV-1 (4 stars, text, 1 photo); RV-3 of the same SKU is REJECTED by moderation: not counted
    ("2025-05-06", MV, A, "retailer", "review", "unknown"): (1, 1, 1, 4.0, 0, 1, 0),
    # RV-2: blank product_id, found by GTIN; no text (a rating); incentivized
    ("2025-05-06", MV, B, "retailer", "rating", "unknown"): (1, 0, 1, 3.0, 1, 0, 0),
    # Y4 delivered twice in one file: the occurrence with the latest updated_at (score 4) wins
    ("2025-05-06", MV, B, "yotpo", "review", "unknown"): (1, 1, 1, 4.0, 0, 0, 0),
    # IG2: carousel of marie.recettes (followers_count 1500: micro), hashtag in lower case
    ("2025-05-06", MV, A, "instagram", "carousel", "micro"): (1, 0, 0, None, 0, 1, 0),
    # AP2: declared facebook photo, 350 followers at post
    ("2025-05-06", MV, A, "facebook", "photo", "nano"): (1, 0, 0, None, 1, 1, 0),
    # TT1 + TT2 by lucas_miam (2310 followers in the roster: micro); TT3 has no campaign hashtag
    ("2025-05-06", MV, A, "tiktok", "video", "micro"): (2, 0, 0, None, 0, 2, 0),
    # Y3: created 2025-05-06T22:30Z = 00:30 Paris on 05-07; incentivized
    ("2025-05-07", MV, A, "yotpo", "review", "unknown"): (1, 1, 1, 5.0, 1, 0, 0),
    # AP3: declared blog recipe, 742 followers at post, no metric at all
    ("2025-05-07", MV, A, "blog", "recipe", "nano"): (1, 0, 0, None, 1, 1, 0),
    # YT1: channel with 15400 subscribers (micro)
    ("2025-05-07", MV, A, "youtube", "video", "micro"): (1, 0, 0, None, 0, 1, 0),
}

# -- marts.reach_daily -----------------------------------------------------------------------------
# (kpi_date, brand, sku, platform, influencer_tier) ->
REACH_COLUMNS = ("post_count", "author_count", "potential_reach", "views", "engagements", "engagement_rate",
                 "posts_without_metrics", "offline_reach", "survey_respondents", "survey_answers")
REACH_DAILY = {
    # IG1 as re-delivered on 05-08 (grown metrics win over the 05-06 version and over AP1's
    # declared 35 likes / 4 comments): views 1500, likes 60 + comments 8 + shares 4 + saved 10 = 82;
    # author AMB-01 with 742 followers at post
    ("2025-05-05", MV, A, "instagram", "nano"): (1, 1, 742, 1500, 82, 82 / 742, 0, 0, 0, 0),
    # IG2: no insights -> views unknown (null); likes 20 + comments 2
    ("2025-05-06", MV, A, "instagram", "micro"): (1, 1, 1500, None, 22, 22 / 1500, 0, 0, 0, 0),
    # AP2: 12 likes + 3 comments + 2 shares, views blank
    ("2025-05-06", MV, A, "facebook", "nano"): (1, 1, 350, None, 17, 17 / 350, 0, 0, 0, 0),
    # TT1 (views 2000; 100 + 10 + 5) + TT2 (views 1000; 50 + 5 + 0), one author with 2310 followers
    ("2025-05-06", MV, A, "tiktok", "micro"): (2, 1, 2310, 3000, 170, 170 / 2310, 0, 0, 0, 0),
    # AP3: no metric at all
    ("2025-05-07", MV, A, "blog", "nano"): (1, 1, 742, None, 0, 0.0, 1, 0, 0, 0),
    # YT1: viewCount "3000", likeCount "150" + commentCount "20"
    ("2025-05-07", MV, A, "youtube", "micro"): (1, 1, 15400, 3000, 170, 170 / 15400, 0, 0, 0, 0),
    # survey WOM-1 (AMB-01, 742 followers, told 8) + WOM-2 (AMB-04, 350 followers, people_told
    # blank: a respondent without answer)
    ("2025-05-07", MV, A, "offline", "nano"): (0, 0, 0, None, 0, None, 0, 8, 2, 1),
    # survey WOM-3 (AMB-02, 2310 followers, told 20)
    ("2025-05-07", MV, A, "offline", "micro"): (0, 0, 0, None, 0, None, 0, 20, 1, 1),
}

# -- marts.conversion_daily ------------------------------------------------------------------------
CONVERSION_COLUMNS = ("sessions", "orders", "conversion_rate", "cumulative_reviews", "review_bucket",
                      "avg_rating_to_date", "campaign_id", "conversion_variation")


def _day(d: date) -> str:
    return d.isoformat()


def conversion_daily() -> dict[tuple, tuple]:
    """(kpi_date, sku) -> values. 28 pre-campaign days (04-07..05-04) and 3 campaign days
    (05-05..05-07) for both SKUs: 62 rows."""
    out = {}
    start = date(2025, 4, 7)
    for n in range(28):  # pre-period: constant 100 sessions / 2 orders (A), 50 / 1 (B); no campaign yet
        d = start + timedelta(days=n)
        # A's only review before the campaign: Y0 (5 stars), created 04-20
        a_reviews = (1, "1-9", 5.0) if d >= date(2025, 4, 20) else (0, "0", None)
        out[(_day(d), A)] = (100, 2, 0.02, *a_reviews, None, None)
        out[(_day(d), B)] = (50, 1, 0.02, 0, "0", None, None, None)
    # Campaign days. Pre-campaign window 04-07..05-04 of A: 2800 sessions, 56 orders (rate 0.02).
    # 05-05: orders restated 4 -> 5 by the 05-08 delivery. 7-day window 04-29..05-05:
    #   6 x (100, 2) + (100, 5) = 700 sessions, 17 orders -> (17/700) / 0.02 - 1 = 3/14.
    #   Reviews to date: Y0 (5) + Y1 (4, edited; Y2 deleted) = 2, avg 4.5.
    out[("2025-05-05", A)] = (100, 5, 0.05, 2, "1-9", 4.5, CMP, 3 / 14)
    # 05-06: window 04-30..05-06 = 5 x (100, 2) + (100, 5) + (100, 4) = 700 / 19 -> 19/14 - 1 = 5/14.
    #   Reviews: + RV-1 (4) = 3, avg 13/3 (RV-3 rejected by moderation; Y3 is a 05-07 review).
    out[("2025-05-06", A)] = (100, 4, 0.04, 3, "1-9", 13 / 3, CMP, 5 / 14)
    # 05-07: window 05-01..05-07 = 4 x (100, 2) + 5 + 4 + 4 = 700 / 21 -> 21/14 - 1 = 1/2.
    #   Reviews: + Y3 (5, created 05-06T22:30Z = 05-07 Paris) = 4, avg 18/4.
    out[("2025-05-07", A)] = (100, 4, 0.04, 4, "1-9", 4.5, CMP, 0.5)
    # B has no campaign: no campaign_id, no variation. Reviews: Y4 (4) + RV-2 (3) on 05-06.
    out[("2025-05-05", B)] = (50, 1, 0.02, 0, "0", None, None, None)
    out[("2025-05-06", B)] = (50, 1, 0.02, 2, "1-9", 3.5, None, None)
    out[("2025-05-07", B)] = (50, 1, 0.02, 2, "1-9", 3.5, None, None)
    return out


# -- marts.sales_uplift ----------------------------------------------------------------------------
# Units of A per store per day: test stores (Z-NORD: Lille, Rouen) 10 before, 15 during; control
# stores (Z-SUD: Lyon, Marseille) 5 before, 6 during. ST-LIL-01 on 05-06 was first delivered as 12
# and restated to 15 by the 05-08 delivery. SKU B's 3 units/day do not count.
# forecast = 10 x 6 / 5 = 12; uplift = 15 / 12 - 1 = 0.25.
SALES_UPLIFT = {
    "CMP-OLIVE": {"sku": A, "test_stores": 2, "control_stores": 2, "test_pre": 10.0, "test_during": 15.0,
                  "control_pre": 5.0, "control_during": 6.0, "forecast": 12.0, "uplift": 0.25,
                  "start_date": "2025-05-05", "end_date": "2025-05-07", "during_days": 3},
}

# -- the analyst marts (issue #11) -----------------------------------------------------------------
# The 95% intervals in closed form (docs/DECISIONS.md): Katz's log interval of a ratio of two
# conversion rates, x1 orders of n1 sessions against x0 of n0.
Z95 = 1.959963984540054


def katz(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float, float]:
    """(ratio - 1, low, high)."""
    ratio = (x1 / n1) / (x0 / n0)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
    return ratio - 1, math.exp(math.log(ratio) - Z95 * se) - 1, math.exp(math.log(ratio) + Z95 * se) - 1


def campaign_summary() -> dict[str, dict]:
    # Conversion: baseline 04-07..05-04 = 2800 sessions / 56 orders; during 05-05..05-07 = 300
    # sessions / 5 + 4 + 4 = 13 orders (05-05 restated 4 -> 5): (13/300) / 0.02 - 1 = 7/6, with
    # enough data (300 >= 100 sessions, 13 >= 10 orders) and an interval above 0.
    variation, low, high = katz(13, 300, 56, 2800)
    assert low > 0
    return {CMP: {
        "brand": MV, "sku": A, "start_date": "2025-05-05", "end_date": "2025-05-07",
        # the 7 posts of reach_daily: IG1 (recipe, nano), IG2 (carousel, micro), AP2 (photo, nano),
        # TT1 + TT2 (video, micro), AP3 (recipe, nano), YT1 (video, micro); no review names it
        "ugc_count": 7, "ugc_photo": 1, "ugc_video": 3, "ugc_carousel": 1, "ugc_reel": 0, "ugc_story": 0,
        "ugc_recipe": 2, "ugc_tutorial": 0, "ugc_review": 0, "ugc_rating": 0, "ugc_text": 0, "ugc_other_type": 0,
        "ugc_nano": 3, "ugc_micro": 4, "ugc_macro": 0, "ugc_unknown_tier": 0,
        # AMB-01 (IG1, AP3), AMB-04 (AP2), AMB-02 (TT1, TT2 by handle); the YouTube channel and
        # marie.recettes are not in the roster: 3 ambassadors, 5 authors
        "ambassador_count": 3, "author_count": 5,
        "potential_reach": 742 + 1500 + 350 + 2310 + 15400,  # AMB-01 counted once
        "views": 1500 + 3000 + 3000, "engagements": 82 + 22 + 17 + 170 + 0 + 170,
        "engagement_rate": 461 / 20302, "posts_without_metrics": 1,
        # WOM-1 (8) + WOM-3 (20); WOM-2 did not answer: 2 of the 3 ambassadors answered
        "offline_reach": 28, "survey_respondents": 3, "survey_answers": 2, "survey_answer_share": 2 / 3,
        "conversion_through_date": "2025-05-07",
        "sessions_pre": 2800, "orders_pre": 56, "conversion_rate_pre": 0.02,
        "sessions_during": 300, "orders_during": 13, "conversion_rate_during": 13 / 300,
        "conversion_variation": variation, "conversion_variation_low": low, "conversion_variation_high": high,
        "conversion_verdict": "significant",
        # sales_uplift's 0.25; every store of an arm sells the same: no spread, a zero-width
        # interval, and 2 stores an arm is under UGC_MIN_STORES_PER_ARM (5)
        "test_stores": 2, "control_stores": 2, "sales_uplift": 0.25, "sales_uplift_low": 0.25,
        "sales_uplift_high": 0.25, "sales_verdict": "too little data",
    }}


def review_bucket_conversion() -> dict[tuple, tuple]:
    """(sku, review_bucket) -> (days, sessions, orders, lift, lift_low, lift_high, verdict).
    A: bucket 0 on 04-07..04-19 (13 x 100 / 2), 1-9 from Y0 (04-20) to 05-07: 15 x (100, 2) +
    (100, 5) + (100, 4) + (100, 4). B: bucket 0 until 05-05 (29 x 50 / 1), 1-9 on 05-06 and 05-07.
    Pooled (sku None): the sums."""
    a = katz(43, 1800, 26, 1300)
    b = katz(2, 100, 29, 1450)
    pooled = katz(45, 1900, 55, 2750)
    assert a[1] < 0 < a[2] and pooled[1] < 0 < pooled[2]
    return {
        (A, "0"): (13, 1300, 26, None, None, None, None),
        (A, "1-9"): (18, 1800, 43, *a, "not significant"),
        (B, "0"): (29, 1450, 29, None, None, None, None),
        (B, "1-9"): (2, 100, 2, *b, "too little data"),  # 100 sessions but 2 orders (< 10)
        (None, "0"): (42, 2750, 55, None, None, None, None),
        (None, "1-9"): (20, 1900, 45, *pooled, "not significant"),
    }


BUCKET_COLUMNS = ("days", "sessions", "orders", "lift", "lift_low", "lift_high", "verdict")

DIM_PRODUCTS = {
    # reviews: A = Y0 (5), Y1 (4), RV-1 (4), Y3 (5); B = Y4 (4), RV-2 (3)
    A: {"gtin": GTIN_A, "product_name": "Huile d'olive vierge extra 50 cl", "brand": MV, "category": "Huiles",
        "campaign_count": 1, "first_campaign_start": "2025-05-05", "review_count": 4, "avg_rating": 4.5},
    B: {"gtin": GTIN_B, "product_name": "Pesto alla genovese 180 g", "brand": MV, "category": "Sauces",
        "campaign_count": 0, "first_campaign_start": None, "review_count": 2, "avg_rating": 3.5},
}

DIM_CAMPAIGNS = {
    CMP: {"brand": MV, "sku": A, "product_name": "Huile d'olive vierge extra 50 cl", "start_date": "2025-05-05",
          "end_date": "2025-05-07", "campaign_days": 3, "baseline_start_date": "2025-04-07",
          "baseline_end_date": "2025-05-04", "hashtags": "#OliveDuMatin #MaisonVerteAmbassadeurs",
          "exposed_zone_ids": "Z-NORD", "exposed_zone_count": 1},
}

# source -> latest KPI day of its counted data (None: snapshots): Y3 is 05-07 in Paris, RV-1/RV-2
# 05-06, G5 05-06 (22:00Z), IG2 05-06, TT1/TT2 05-06 (TT3 has no campaign), YT1 05-07, AP3 05-07
# (AP1 counts as IG1), survey answers 05-07, daily facts up to 05-07
LATEST_KPI_DAY = {
    "yotpo_reviews": "2025-05-07", "retailer_reviews": "2025-05-06", "google_business_reviews": "2025-05-06",
    "instagram_media": "2025-05-06", "tiktok_videos": "2025-05-06", "youtube_videos": "2025-05-07",
    "ambassador_posts": "2025-05-07", "wom_surveys": "2025-05-07", "web_conversion": "2025-05-07",
    "store_sales": "2025-05-07",
}


def data_freshness() -> dict[str, dict]:
    """From the run records of the four days (``DELIVERED`` below; every other day of a source is
    'no_delivery'): each source checked through 05-08, loaded through its last delivery."""
    out = {}
    for source in SOURCES:
        loaded = sorted(day for (day, s) in DELIVERED if s == source)
        out[source] = {"loaded_through": loaded[-1], "checked_through": "2025-05-08",
                       "delivery_days_loaded": len(loaded), "failed_days": 0, "first_failed_day": None,
                       "latest_kpi_date": LATEST_KPI_DAY.get(source)}
    return out


# -- audit.pipeline_runs ---------------------------------------------------------------------------
# (delivery_date, source) -> (files_read, records_read, records_loaded, records_rejected) for the
# deliveries that exist; every other (day, source) of a run is 'no_delivery'.
DELIVERED = {
    ("2025-05-05", "products"): (1, 2, 2, 0),
    ("2025-05-05", "stores"): (1, 4, 4, 0),
    ("2025-05-05", "ambassadors"): (1, 4, 4, 0),
    ("2025-05-05", "campaigns"): (1, 1, 1, 0),
    ("2025-05-05", "web_conversion"): (1, 56, 56, 0),  # 28 days x 2 SKUs
    ("2025-05-05", "store_sales"): (1, 224, 224, 0),  # 28 days x 4 stores x 2 SKUs
    ("2025-05-05", "yotpo_reviews"): (1, 3, 3, 0),  # Y0, Y1, Y2
    ("2025-05-06", "web_conversion"): (1, 2, 2, 0),
    ("2025-05-06", "store_sales"): (1, 8, 8, 0),
    ("2025-05-06", "google_business_reviews"): (1, 5, 5, 0),  # G1..G5
    ("2025-05-06", "instagram_media"): (2, 2, 2, 0),  # two accounts, one media each
    ("2025-05-06", "ambassador_posts"): (1, 1, 1, 0),  # AP1 (CSV)
    ("2025-05-07", "web_conversion"): (1, 2, 2, 0),
    ("2025-05-07", "store_sales"): (1, 8, 8, 0),
    ("2025-05-07", "yotpo_reviews"): (1, 5, 5, 0),  # Y1 edited, Y2 deleted, Y3, Y4 twice
    ("2025-05-07", "retailer_reviews"): (1, 4, 3, 1),  # RV-4's rating 'n/a' quarantined
    ("2025-05-07", "tiktok_videos"): (1, 3, 3, 0),
    ("2025-05-07", "ambassador_posts"): (1, 2, 2, 0),  # AP2, AP3 (NDJSON)
    ("2025-05-07", "google_business_reviews"): (1, 1, 1, 0),  # G1 again
    ("2025-05-08", "web_conversion"): (2, 3, 3, 0),  # facts of 05-07 + restatement of 05-05
    ("2025-05-08", "store_sales"): (2, 9, 9, 0),  # facts of 05-07 + restatement of 05-06
    ("2025-05-08", "instagram_media"): (1, 1, 1, 0),  # IG1 with grown metrics
    ("2025-05-08", "youtube_videos"): (2, 2, 2, 0),  # one video page, one channel page
    ("2025-05-08", "wom_surveys"): (1, 3, 3, 0),
}

# -- audit.rejected_records ------------------------------------------------------------------------
REJECTED = [{
    "source": "retailer_reviews",
    "delivery_date": "2025-05-07",
    "file": "retailer_reviews/2025-05-07/carrefour_fr_avis_20250507.csv",
    "position": "row 4",  # 4th data row, although row 1 spans two lines (quoted newline)
}]
# the failed expectation: its wording is the pipeline's, it names the column and the value
REJECTED_REASON_MENTIONS = ("rating", "n/a")


# -- comparison ------------------------------------------------------------------------------------

def assert_same_values(actual: dict, expected: dict, where: str) -> None:
    """Exact for integers and text, approx(rel=1e-9) for floats, None for NULL."""
    for column, want in expected.items():
        got = actual[column]
        if want is None:
            assert got is None, f"{where} {column}: {got!r} instead of NULL"
        elif isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-9), f"{where} {column}"
        else:
            assert got == want, f"{where} {column}: {got!r} != {want!r}"


def assert_mart(rows: dict[tuple, dict], expected: dict[tuple, tuple], columns: tuple[str, ...], name: str) -> None:
    assert sorted(rows, key=repr) == sorted(expected, key=repr), f"{name}: grains differ"
    for key, values in expected.items():
        assert_same_values(rows[key], dict(zip(columns, values, strict=True)), f"{name} {key}")


# -- a whole warehouse of the hand-made landing zone against these values ---------------------------

def assert_marts_match_hand_values(run: Run) -> None:
    ugc = by_key(fetch(run, "select * from marts.ugc_daily"),
                 "kpi_date", "brand", "sku", "platform", "content_type", "influencer_tier")
    assert_mart(ugc, UGC_DAILY, UGC_COLUMNS, "ugc_daily")

    reach = by_key(fetch(run, "select * from marts.reach_daily"),
                   "kpi_date", "brand", "sku", "platform", "influencer_tier")
    assert_mart(reach, REACH_DAILY, REACH_COLUMNS, "reach_daily")

    conversion = by_key(fetch(run, "select * from marts.conversion_daily"), "kpi_date", "sku")
    assert len(conversion) == 62  # 31 days (04-07..05-07) x 2 SKUs
    assert_mart(conversion, conversion_daily(), CONVERSION_COLUMNS, "conversion_daily")

    uplift = by_key(fetch(run, "select * from marts.sales_uplift"), "campaign_id")
    assert list(uplift) == [("CMP-OLIVE",)]
    assert_same_values(uplift[("CMP-OLIVE",)], SALES_UPLIFT["CMP-OLIVE"], "sales_uplift")

    assert_analyst_marts_match_hand_values(run)


def assert_analyst_marts_match_hand_values(run: Run) -> None:
    for table, key, expected in (("campaign_summary", "campaign_id", campaign_summary()),
                                 ("dim_products", "sku", DIM_PRODUCTS), ("dim_campaigns", "campaign_id", DIM_CAMPAIGNS),
                                 ("data_freshness", "source", data_freshness())):
        rows = {k[0]: v for k, v in by_key(fetch(run, f"select * from marts.{table}"), key).items()}
        assert sorted(rows) == sorted(expected), f"{table}: grains differ"
        for k, values in expected.items():
            assert_same_values(rows[k], values, f"{table} {k}")
    buckets = by_key(fetch(run, "select * from marts.review_bucket_conversion"), "sku", "review_bucket")
    assert_mart(buckets, review_bucket_conversion(), BUCKET_COLUMNS, "review_bucket_conversion")


def assert_audit_matches(run: Run, run_ids_expected: int) -> None:
    rejected = fetch(run, "select * from audit.rejected_records")
    assert len(rejected) == 1
    assert_same_values(rejected[0], REJECTED[0], "rejected_records")
    assert all(word in rejected[0]["reasons"] for word in REJECTED_REASON_MENTIONS), rejected[0]["reasons"]
    assert '"review_id":"RV-4"' in rejected[0]["raw"].replace(" ", "")
    assert '"rating":"n/a"' in rejected[0]["raw"].replace(" ", "")
    assert rejected[0]["run_id"]

    runs = fetch(run, "select * from audit.pipeline_runs")
    # one row per source per ingest run: 14 sources x 4 days
    assert len(runs) == len(SOURCES) * run_ids_expected == 14 * 4
    assert len({r["run_id"] for r in runs}) == run_ids_expected
    by_day_source = by_key(runs, "delivery_date", "source")
    for day in DAYS:
        for source in SOURCES:
            row = by_day_source[(day.isoformat(), source)]
            assert row["started_at"] <= row["finished_at"]
            delivered = DELIVERED.get((day.isoformat(), source))
            if delivered is None:
                expected = {"status": "no_delivery", "files_read": 0, "records_read": 0,
                            "records_loaded": 0, "records_rejected": 0}
            else:
                expected = {"status": "success", **dict(zip(
                    ("files_read", "records_read", "records_loaded", "records_rejected"), delivered, strict=True))}
            assert_same_values(row, expected, f"pipeline_runs {day} {source}")
    # one run id per delivery day
    for day in DAYS:
        assert len({r["run_id"] for r in runs if r["delivery_date"] == day.isoformat()}) == 1
