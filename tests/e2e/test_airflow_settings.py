"""The settings a caller gives ``run_days`` are the settings the Airflow tasks work with: the
runner exports them as environment variables, and each task loads them back."""

from __future__ import annotations

from ugc_pipeline.settings import SETTING_NAMES, Settings


def test_settings_exported_for_the_tasks_load_back_unchanged(monkeypatch, tmp_path):
    from ugc_pipeline.runner import export_settings

    for name in SETTING_NAMES:  # whatever export_settings writes is undone after the test
        monkeypatch.setenv(name, "")
    # the pseudonymisation key is a secret: never exported, the tasks read it where it was set
    monkeypatch.delenv("UGC_PII_KEY", raising=False)
    settings = Settings(landing_uri=str(tmp_path / "landing"), warehouse_url=f"duckdb:///{tmp_path}/wh.duckdb",
                        timezone="Europe/Paris", warehouse_conn_id="kpi_pg", landing_conn_id="minio")

    export_settings(settings)

    assert Settings.load() == settings
