"""The whole pipeline on the generated sample landing zone, without Airflow: every mart respects
its grain and its not-null columns, nothing is rejected from clean exports, and the campaign's
built-in effects show up in the KPIs.

The sample is generated short (a 3-day campaign and one delivery after it: 5 delivery days, the
first with the snapshots and 28 days of fact history; the last three with survey answers): the
same generator, sources and effects as the demo's 22 days, in a quarter of the ingests."""

import duckdb
import pytest
from support.readme_queries import analyst_queries
from ugc_pipeline import catalog
from ugc_pipeline.pipeline import build_marts, ingest_source
from ugc_pipeline.sample import write_sample_landing
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import SOURCES


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample")
    sample = write_sample_landing(root / "landing", campaign_days=3, extra_delivery_days=1)
    assert len(sample.delivery_dates) == 5
    settings = Settings(landing_uri=str(root / "landing"), warehouse_url=f"duckdb:///{root / 'wh.duckdb'}")
    for day in sample.delivery_dates:
        for source in SOURCES:
            ingest_source(source, day, settings, run_id=f"test-{day}")
    build_marts(settings)
    con = duckdb.connect(str(root / "wh.duckdb"), read_only=True)
    yield sample, con
    con.close()


@pytest.mark.parametrize("spec", catalog.mart_specs(), ids=lambda s: s.qualified)
def test_mart_is_unique_on_its_grain_and_fills_required_columns(sample_warehouse, spec):
    _, con = sample_warehouse
    grain = ", ".join(spec.grain)
    rows = con.execute(f"select count(*) from {spec.qualified}").fetchone()[0]
    distinct = con.execute(f"select count(*) from (select distinct {grain} from {spec.qualified})").fetchone()[0]
    assert rows > 0
    assert rows == distinct, f"{spec.qualified} has duplicate {grain}"
    for column in spec.columns:
        if not column.nullable:
            nulls = con.execute(f"select count(*) from {spec.qualified} where {column.name} is null").fetchone()[0]
            assert nulls == 0, f"{spec.qualified}.{column.name} has {nulls} nulls"


def test_clean_sample_loads_without_rejects(sample_warehouse):
    _, con = sample_warehouse
    assert con.execute("select count(*) from audit.rejected_records").fetchone()[0] == 0
    statuses = dict(con.execute("select status, count(*) from audit.pipeline_runs group by status").fetchall())
    assert "failed" not in statuses and statuses["success"] > 0


def test_campaign_effects_show_in_the_marts(sample_warehouse):
    sample, con = sample_warehouse
    uplift = con.execute("select uplift, test_stores, control_stores from marts.sales_uplift where campaign_id = ?",
                         [sample.campaign_id]).fetchone()
    assert uplift[1] > 0 and uplift[2] > 0
    assert 0.05 < uplift[0] < 0.30  # the generator lifts exposed-zone sales by about 15%
    variation = con.execute(
        "select conversion_variation from marts.conversion_daily where sku = ? and kpi_date = ?",
        [sample.campaign_sku, sample.campaign_end]).fetchone()[0]
    assert variation > 0.10  # and conversion by about 25-35%


def test_every_platform_and_nano_tier_appear(sample_warehouse):
    _, con = sample_warehouse
    platforms = {r[0] for r in con.execute("select distinct platform from marts.ugc_daily").fetchall()}
    assert {"google_business", "yotpo", "retailer", "instagram", "tiktok", "youtube"} <= platforms
    tiers = dict(con.execute("select influencer_tier, sum(ugc_count) from marts.ugc_daily group by 1").fetchall())
    assert tiers["nano"] > tiers.get("macro", 0)
    offline = con.execute("select sum(offline_reach), sum(survey_respondents) from marts.reach_daily "
                          "where platform = 'offline'").fetchone()
    assert offline[0] > 0 and offline[1] > 0


def test_the_analyst_marts_answer_on_the_sample(sample_warehouse):
    """The campaign's built-in effects (+30% web conversion, +15% store sales in the exposed
    zones) show in campaign_summary with an interval around them; the README's example queries
    run and answer."""
    sample, con = sample_warehouse
    row = con.execute("select conversion_variation, conversion_variation_low, conversion_variation_high, "
                      "sales_uplift, sales_uplift_low, sales_uplift_high, ugc_count, test_stores "
                      "from marts.campaign_summary where campaign_id = ?", [sample.campaign_id]).fetchone()
    variation, v_low, v_high, uplift, u_low, u_high, ugc, test_stores = row
    assert v_low < variation < v_high and u_low < uplift < u_high
    assert variation > 0.10 and ugc > 0 and test_stores > 0
    uplift_mart = con.execute("select uplift from marts.sales_uplift where campaign_id = ?",
                              [sample.campaign_id]).fetchone()[0]
    assert uplift == pytest.approx(uplift_mart, rel=1e-12)
    queries = analyst_queries()
    assert len(queries) >= 4
    for query in queries:
        assert con.execute(query).fetchall(), f"no row from the README's query:\n{query}"

