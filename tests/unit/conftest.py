"""Fixtures for the parsing / staging / intermediate unit tests: a landing zone and a real DuckDB
warehouse under pytest's tmp_path (``support.warehouse_env.Env``). No Airflow, no mocks."""

from __future__ import annotations

import pytest
from support.warehouse_env import Env


@pytest.fixture
def env(tmp_path, request) -> Env:
    """One test's landing zone + warehouse; ``env.deliver_business()`` starts the warehouse from
    the session's ``business_template``, built on first use."""
    e = Env(tmp_path, business_template=lambda: request.getfixturevalue("business_template"))
    yield e
    e.close()
