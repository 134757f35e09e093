"""Fixtures of the extractor tests: a landing zone in a temporary folder and settings pointing at
it (helpers: ``support.pull``; the API stand-ins: ``support.standin_*``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ugc_pipeline.settings import Settings


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def settings(landing, tmp_path) -> Settings:
    return Settings(landing_uri=str(landing), warehouse_url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
                    timezone="Europe/Paris", pull_lookback_days=2, pull_repull_days=7, pull_max_retries=3)
