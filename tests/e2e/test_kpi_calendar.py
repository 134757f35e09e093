"""KPI days follow UGC_TIMEZONE: the same warehouse, marts rebuilt with the KPI calendar in UTC,
moves the items created between 22:00Z and midnight UTC back to their UTC day."""

from __future__ import annotations

from support.expected import MV, A, assert_same_values
from support.runs import by_key, copy_run, fetch
from ugc_pipeline.pipeline import build_marts


def test_kpi_days_follow_ugc_timezone(direct_runs, tmp_path):
    run = copy_run(direct_runs["forward"], tmp_path, "utc", timezone="UTC")
    build_marts(run.settings)

    ugc = by_key(fetch(run, "select * from marts.ugc_daily"),
                 "kpi_date", "brand", "sku", "platform", "content_type", "influencer_tier")
    # G5 (2025-05-05T22:00Z) is a 05-05 review in UTC: G1 (5), G3 (4), G4 (no rating), G5 (3)
    assert_same_values(ugc[("2025-05-05", MV, None, "google_business", "review", "unknown")],
                       {"ugc_count": 4, "review_count": 4, "rating_count": 3, "avg_rating": 4.0}, "utc")
    assert ("2025-05-06", MV, None, "google_business", "review", "unknown") not in ugc
    # Y3 (2025-05-06T22:30Z) is a 05-06 review in UTC
    assert_same_values(ugc[("2025-05-06", MV, A, "yotpo", "review", "unknown")],
                       {"ugc_count": 1, "avg_rating": 5.0, "incentivized_count": 1}, "utc")
    assert ("2025-05-07", MV, A, "yotpo", "review", "unknown") not in ugc

    conversion = by_key(fetch(run, "select * from marts.conversion_daily"), "kpi_date", "sku")
    # A's reviews to 05-06 in UTC: Y0 (5), Y1 (4), RV-1 (4), Y3 (5) = 4, avg 4.5
    assert_same_values(conversion[("2025-05-06", A)], {"cumulative_reviews": 4, "avg_rating_to_date": 4.5}, "utc")
    # the daily facts keep their date whatever the zone
    assert_same_values(conversion[("2025-05-05", A)], {"orders": 5, "conversion_variation": 3 / 14}, "utc")
