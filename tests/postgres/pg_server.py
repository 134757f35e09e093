"""Which PostgreSQL server the tests use, and what happens when there is none."""

from __future__ import annotations

import os

import pytest

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("UGC_TEST_POSTGRES_URL") or DEFAULT_SERVER_URL


def unavailable(reason: str, environ=os.environ) -> None:
    """Skip the test because PostgreSQL is not there, or fail it when ``CI=true``."""
    if environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true and {reason}: the PostgreSQL tests must run in CI", pytrace=False)
    pytest.skip(f"{reason} (start PostgreSQL 15+ there or set UGC_TEST_POSTGRES_URL; with CI=true this fails)")
