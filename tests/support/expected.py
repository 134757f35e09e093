"""Every mart value of the hand-made landing zone (``landing_builder``), computed by hand.

KPI days are Paris days (UTC+2 in May): 22:00Z is already the next day. "MV" = Maison Verte,
"A" = MV-OLV-500 (the campaign's SKU), "B" = MV-PES-180. Which record is which: see the module
docstring of ``landing_builder``.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from ugc_pipeline.sources import SOURCES

from support.landing_builder import DAYS
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
