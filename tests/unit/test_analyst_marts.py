"""The analyst marts' intervals and verdicts on a constructed case, against values computed
independently: scipy's relative risk (Katz) interval for the conversion comparisons, numpy for
the delta-method interval of the store sales uplift; every verdict branch; the thresholds as
settings passed to dbt; the data freshness from run records.

The raw layer is written directly (``support.raw_layer``, what the ingest tasks do after
validation) into a DuckDB file; the marts are built by dbt as a marts run builds them.

The constructed brand has two SKUs, each with a 7-day campaign after a 28-day baseline, and
twelve stores in two zones (six a zone). Campaign C-UP (SKU-UP, exposed zone Z1) lifts web
conversion by 30% and its test stores' sales by about 20%; campaign C-FLAT (SKU-FLAT, exposed
zone Z2) changes nothing. SKU-UP's product page gathers reviews: 5 on day 10, 10 more on day 20
and 40 more on day 31, so it passes through the four review buckets.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import text
from support.raw_layer import load_delivery
from ugc_pipeline import warehouse
from ugc_pipeline.pipeline import build_marts
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import SOURCES

Z95 = stats.norm.ppf(0.975)
DAY0 = date(2025, 5, 1)  # first baseline day
START = DAY0 + timedelta(days=28)  # campaigns start 05-29
END = START + timedelta(days=6)  # and end 06-04 (7 days)
LAST = END  # the facts run until the campaigns' end
DAYS = [DAY0 + timedelta(days=n) for n in range((LAST - DAY0).days + 1)]
REVIEWS_UP = {DAY0 + timedelta(days=9): 5, DAY0 + timedelta(days=19): 10, DAY0 + timedelta(days=30): 40}

# web: (sessions, orders) per day, baseline / during
WEB = {"SKU-UP": ((1000, 20), (1000, 26)), "SKU-FLAT": ((400, 8), (400, 8))}
# stores: zone, size factor; units per day = base x factor (x lift in the exposed zone, during)
STORES = {f"S{i:02d}": ("Z1" if i <= 6 else "Z2", f) for i, f in enumerate(
    (1.0, 1.4, 0.7, 1.1, 0.9, 1.25, 1.05, 0.8, 1.3, 0.95, 1.15, 0.75), start=1)}
# per-store deviations during the campaign (what makes the stores' ratios differ)
NOISE = (0.05, -0.08, 0.12, -0.02, 0.07, -0.1, 0.03, -0.06, 0.09, -0.04, 0.0, 0.06)
CAMPAIGNS = {"C-UP": ("SKU-UP", "Z1", 1.2), "C-FLAT": ("SKU-FLAT", "Z2", 1.0)}
BASE_UNITS = 20


def units(store: str, sku: str, day: date) -> int:
    zone, factor = STORES[store]
    index = int(store[1:]) - 1
    campaign_zone, lift = next((z, lift) for s, z, lift in CAMPAIGNS.values() if s == sku)
    value = BASE_UNITS * factor
    if day >= START:
        value *= (lift if zone == campaign_zone else 1.0) * (1 + NOISE[index])
    return round(value)


def raw_content() -> dict[str, list[dict]]:
    web = [{"date": d.isoformat(), "sku": sku, "sessions": str(s), "orders": str(o), "revenue": "0"}
           for d in DAYS for sku, (pre, during) in WEB.items() for s, o in [pre if d < START else during]]
    sales = [{"date": d.isoformat(), "store_id": st, "sku": sku, "units": str(units(st, sku, d)), "revenue": "0"}
             for d in DAYS for st in STORES for sku in WEB]
    reviews, n = [], 0
    for day, count in REVIEWS_UP.items():
        for _ in range(count):
            n += 1
            reviews.append({"id": str(n), "sku": "SKU-UP", "score": "5", "content": "bien",
                            "created_at": f"{day.isoformat()}T10:00:00Z", "updated_at": f"{day.isoformat()}T10:00:00Z",
                            "deleted": "false", "archived": "false"})
    return {
        "products": [{"sku": sku, "gtin": f"0{i}", "product_name": f"Product {sku}", "brand": "B", "category": "food"}
                     for i, sku in enumerate(WEB)],
        "stores": [{"store_id": st, "google_location_id": f"g{st}", "brand": "B", "zone_id": z, "city": "x"}
                   for st, (z, _) in STORES.items()],
        "campaigns": [{"campaign_id": c, "brand": "B", "sku": sku, "start_date": START.isoformat(),
                       "end_date": END.isoformat(), "hashtags": f"#{c}", "exposed_zone_ids": zone}
                      for c, (sku, zone, _) in CAMPAIGNS.items()],
        "web_conversion": web,
        "store_sales": sales,
        "yotpo_reviews": reviews,
    }


# -- independent computations ----------------------------------------------------------------------

def katz(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float, float]:
    """(ratio - 1, low, high) from scipy's relative risk and its (Katz) 95% interval."""
    result = stats.contingency.relative_risk(x1, n1, x0, n0)
    ci = result.confidence_interval(confidence_level=0.95)
    return result.relative_risk - 1, ci.low - 1, ci.high - 1


def did_delta(campaign: str) -> tuple[float, float, float]:
    """(uplift, low, high): ratio of the arms' during/pre mean ratios, delta-method interval from
    the stores' sample variances and covariance, computed with numpy from the constructed sales."""
    sku, zone, _ = CAMPAIGNS[campaign]
    log_ratio, variance = 0.0, 0.0
    for arm_is_test, sign in ((True, 1), (False, -1)):
        stores = [st for st, (z, _) in STORES.items() if (z == zone) == arm_is_test]
        pre = np.array([np.mean([units(st, sku, d) for d in DAYS if d < START]) for st in stores])
        during = np.array([np.mean([units(st, sku, d) for d in DAYS if d >= START]) for st in stores])
        a, b, n = pre.mean(), during.mean(), len(stores)
        cov = np.cov(pre, during, ddof=1)
        log_ratio += sign * (np.log(b) - np.log(a))
        variance += cov[1, 1] / (n * b**2) + cov[0, 0] / (n * a**2) - 2 * cov[0, 1] / (n * a * b)
    se = np.sqrt(variance)
    return float(np.exp(log_ratio) - 1), float(np.exp(log_ratio - Z95 * se) - 1), float(np.exp(log_ratio + Z95 * se) - 1)


def verdict(low: float, high: float, enough: bool) -> str:
    if not enough:
        return "too little data"
    return "significant" if low > 0 or high < 0 else "not significant"


# -- the warehouse ---------------------------------------------------------------------------------

# run records of audit.pipeline_runs: (run, source, delivery day, status, minute it started)
RUN_DAYS = [DAY0 + timedelta(days=n) for n in range(5)]
RUN_RECORDS = [
    ("r1", "yotpo_reviews", RUN_DAYS[0], "success", 0), ("r2", "yotpo_reviews", RUN_DAYS[1], "success", 1),
    ("r3", "yotpo_reviews", RUN_DAYS[2], "failed", 2), ("r4", "yotpo_reviews", RUN_DAYS[3], "no_delivery", 3),
    # day 0 failed, then its rerun succeeded; day 2 is still under way
    ("r5", "web_conversion", RUN_DAYS[0], "failed", 0), ("r6", "web_conversion", RUN_DAYS[0], "success", 5),
    ("r7", "web_conversion", RUN_DAYS[1], "success", 6), ("r8", "web_conversion", RUN_DAYS[2], "running", 7),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analyst")
    settings = Settings(landing_uri=str(folder / "landing"), warehouse_url=f"duckdb:///{folder / 'wh.duckdb'}",
                        timezone="Europe/Paris")
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    warehouse.ensure_warehouse(engine)
    load_delivery(engine, LAST, raw_content())
    with engine.begin() as conn:
        for run_id, source, d, status, minute in RUN_RECORDS:
            conn.execute(text("insert into audit.pipeline_runs (run_id, source, delivery_date, started_at, "
                              "finished_at, status) values (:r, :s, :d, :t, :t, :st)"),
                         {"r": run_id, "s": source, "d": d, "st": status, "t": f"2025-06-10 00:{minute:02d}:00"})
    engine.dispose()
    build_marts(settings)
    return settings


def rows(settings: Settings, sql: str) -> list[dict]:
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql)).mappings()]
    finally:
        engine.dispose()


def test_conversion_variation_interval_is_katz_as_scipy_computes_it(built):
    summary = {r["campaign_id"]: r for r in rows(built, "select * from marts.campaign_summary")}
    assert sorted(summary) == ["C-FLAT", "C-UP"]
    for campaign, (sku, _, _) in CAMPAIGNS.items():
        (s0, o0), (s1, o1) = WEB[sku]
        row = summary[campaign]
        assert (row["sessions_pre"], row["orders_pre"], row["sessions_during"], row["orders_during"]) == (
            28 * s0, 28 * o0, 7 * s1, 7 * o1)
        variation, low, high = katz(7 * o1, 7 * s1, 28 * o0, 28 * s0)
        assert row["conversion_variation"] == pytest.approx(variation, rel=1e-9)
        assert row["conversion_variation_low"] == pytest.approx(low, rel=1e-9)
        assert row["conversion_variation_high"] == pytest.approx(high, rel=1e-9)
        assert row["conversion_verdict"] == verdict(low, high, enough=True)
    # the constructed case covers both branches with enough data
    assert summary["C-UP"]["conversion_verdict"] == "significant"
    assert summary["C-FLAT"]["conversion_verdict"] == "not significant"


def test_sales_uplift_interval_is_the_delta_method_on_store_level_data(built):
    summary = {r["campaign_id"]: r for r in rows(built, "select * from marts.campaign_summary")}
    uplift = {r["campaign_id"]: r["uplift"] for r in rows(built, "select * from marts.sales_uplift")}
    for campaign in CAMPAIGNS:
        row = summary[campaign]
        estimate, low, high = did_delta(campaign)
        assert (row["test_stores"], row["control_stores"]) == (6, 6)
        # the same point estimate as marts.sales_uplift (the contract's difference in differences)
        assert row["sales_uplift"] == pytest.approx(uplift[campaign], rel=1e-9)
        assert row["sales_uplift"] == pytest.approx(estimate, rel=1e-9)
        assert row["sales_uplift_low"] == pytest.approx(low, rel=1e-9)
        assert row["sales_uplift_high"] == pytest.approx(high, rel=1e-9)
        assert row["sales_verdict"] == verdict(low, high, enough=True)
    assert summary["C-UP"]["sales_verdict"] == "significant"
    assert summary["C-FLAT"]["sales_verdict"] == "not significant"


def _bucket(n: int) -> str:
    return "0" if n == 0 else "1-9" if n < 10 else "10-49" if n < 50 else "50+"


def expected_buckets() -> dict[tuple, tuple[int, int, int]]:
    """(sku or None, bucket) -> (days, sessions, orders), from the constructed facts."""
    out: dict[tuple, list[int]] = {}
    for d in DAYS:
        for sku, (pre, during) in WEB.items():
            reviews = sum(c for day, c in REVIEWS_UP.items() if day <= d) if sku == "SKU-UP" else 0
            s, o = pre if d < START else during
            for key in ((sku, _bucket(reviews)), (None, _bucket(reviews))):
                acc = out.setdefault(key, [0, 0, 0])
                acc[0], acc[1], acc[2] = acc[0] + 1, acc[1] + s, acc[2] + o
    return {k: tuple(v) for k, v in out.items()}


def test_review_bucket_lifts_against_bucket_0_per_sku_and_pooled(built):
    got = {(r["sku"], r["review_bucket"]): r for r in rows(built, "select * from marts.review_bucket_conversion")}
    expected = expected_buckets()
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    for key, (days, sessions, orders) in expected.items():
        row = got[key]
        assert (row["days"], row["sessions"], row["orders"], row["is_pooled"]) == (days, sessions, orders, key[0] is None)
        if key[1] == "0":
            assert (row["lift"], row["lift_low"], row["lift_high"], row["verdict"]) == (None, None, None, None)
            continue
        _, s0, o0 = expected[(key[0], "0")]
        lift, low, high = katz(orders, sessions, o0, s0)
        assert row["lift"] == pytest.approx(lift, rel=1e-9)
        assert row["lift_low"] == pytest.approx(low, rel=1e-9)
        assert row["lift_high"] == pytest.approx(high, rel=1e-9)
        enough = min(sessions, s0) >= 100 and min(orders, o0) >= 10
        assert row["verdict"] == verdict(low, high, enough), key
    # SKU-UP's 50+ bucket spans 5 campaign days (26 orders a day) against a baseline of 9 days
    assert got[("SKU-UP", "50+")]["verdict"] == "significant"
    assert got[("SKU-UP", "1-9")]["verdict"] == "not significant"


def test_data_freshness_from_the_run_records(built):
    """Per source: the latest day loaded, the latest day loaded or found empty, the days whose
    latest record failed (a rerun that succeeded supersedes the failure; a run under way is no
    answer yet); every declared source has a row, run or not."""
    got = {r["source"]: r for r in rows(built, "select * from marts.data_freshness")}
    columns = ("loaded_through", "checked_through", "delivery_days_loaded", "failed_days", "first_failed_day",
               "latest_kpi_date")
    assert set(got) == set(SOURCES)
    day = RUN_DAYS
    assert {k: got["yotpo_reviews"][k] for k in columns} == {
        "loaded_through": day[1], "checked_through": day[3], "delivery_days_loaded": 2, "failed_days": 1,
        "first_failed_day": day[2], "latest_kpi_date": max(REVIEWS_UP)}
    assert {k: got["web_conversion"][k] for k in columns} == {
        "loaded_through": day[1], "checked_through": day[1], "delivery_days_loaded": 2, "failed_days": 0,
        "first_failed_day": None, "latest_kpi_date": LAST}
    # a snapshot without run records: a row all the same, with nothing loaded and no KPI day
    assert {k: got["products"][k] for k in columns} == {
        "loaded_through": None, "checked_through": None, "delivery_days_loaded": 0, "failed_days": 0,
        "first_failed_day": None, "latest_kpi_date": None}


@pytest.mark.parametrize("name, value", [("UGC_MIN_SESSIONS", "0"), ("UGC_MIN_ORDERS", "-1"),
                                         ("UGC_MIN_STORES_PER_ARM", "1"), ("UGC_MIN_ORDERS", "ten")])
def test_threshold_settings_refuse_values_that_give_no_interval(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.load({name: value})


def test_too_little_data_follows_the_threshold_settings(built):
    """The thresholds are settings (UGC_MIN_*) that reach dbt as vars: raised above what the
    constructed case has, every verdict says 'too little data' while the estimates stay."""
    loaded = Settings.load({"UGC_MIN_SESSIONS": "100000", "UGC_MIN_ORDERS": "10", "UGC_MIN_STORES_PER_ARM": "7"})
    assert (loaded.min_sessions, loaded.min_orders, loaded.min_stores_per_arm) == (100000, 10, 7)
    strict = Settings(landing_uri=built.landing_uri, warehouse_url=built.warehouse_url, timezone=built.timezone,
                      min_sessions=loaded.min_sessions, min_stores_per_arm=loaded.min_stores_per_arm)
    before = {r["campaign_id"]: r for r in rows(built, "select * from marts.campaign_summary")}
    assert {r["conversion_verdict"] for r in before.values()} == {"significant", "not significant"}
    build_marts(strict)  # (the module's last test: the warehouse keeps these verdicts)
    after = {r["campaign_id"]: r for r in rows(built, "select * from marts.campaign_summary")}
    for campaign, row in after.items():
        assert (row["conversion_verdict"], row["sales_verdict"]) == ("too little data", "too little data")
        for column in ("conversion_variation", "conversion_variation_low", "sales_uplift", "sales_uplift_high"):
            assert row[column] == pytest.approx(before[campaign][column], rel=1e-12)
    verdicts = {r["verdict"] for r in rows(built, "select verdict from marts.review_bucket_conversion "
                                                   "where review_bucket <> '0'")}
    assert verdicts == {"too little data"}
