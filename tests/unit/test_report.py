"""The HTML report's pieces without a browser or Airflow: the 95% interval it draws, its setting,
and a warehouse with no KPI day yet. The pages in a real Chromium, against the marts, are
``tests/e2e/test_report_browser.py``."""

from __future__ import annotations

import math

import pytest
from ugc_pipeline.report import Z95, wilson_interval, write_report
from ugc_pipeline.settings import DEFAULT_REPORT_DIR, Settings


@pytest.mark.parametrize("trials", [10, 250, 4000])
def test_the_interval_is_wilson_s_closed_form(trials):
    # at 0 and n successes Wilson's bounds reduce to n / (n + z^2): computed here, not by the code
    z2 = Z95 * Z95
    edge = z2 / (trials + z2)
    assert wilson_interval(0, trials) == pytest.approx((0.0, edge), abs=1e-12)
    assert wilson_interval(trials, trials) == pytest.approx((1 - edge, 1.0), abs=1e-12)
    # symmetric around 1/2, and the textbook value of 0 out of 10: [0, 0.2775]
    low, high = wilson_interval(trials / 2 - 1, trials)
    assert 1 - high == pytest.approx(wilson_interval(trials / 2 + 1, trials)[0], abs=1e-12)
    assert low < (trials / 2 - 1) / trials < high
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_the_textbook_case():
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=5e-5)


def test_the_report_folder_setting(tmp_path):
    assert Settings.load({}).report_dir == DEFAULT_REPORT_DIR
    assert Settings.load({"UGC_REPORT_DIR": str(tmp_path)}).report_dir == str(tmp_path)
    assert Settings.load({"UGC_REPORT_DIR": ""}).report_dir == ""  # set but empty: no report
    assert write_report(Settings(warehouse_url=f"duckdb:///{tmp_path / 'wh.duckdb'}", report_dir="")) is None
