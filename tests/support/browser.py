"""A headless Chromium for the tests that look at the HTML report: Debian's ``chromium`` package
(``.ci/run`` installs it where it is missing), driven by Playwright for Python. Playwright's own
browser downloads are never used (``playwright install`` cannot reach its CDN on these machines).

A test that needs it is skipped, with the reason, where there is no Chromium; with ``CI=true`` it
fails instead (CI must run it)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def chromium_path(environ=os.environ) -> Path | None:
    for candidate in (environ.get("UGC_TEST_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def unavailable(reason: str, environ=os.environ) -> None:
    if environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true and {reason}: the report's browser test must run in CI", pytrace=False)
    pytest.skip(f"{reason} (apt-get install -y chromium, as .ci/run does; with CI=true this fails)")


@contextlib.contextmanager
def chromium() -> Iterator:
    """A Playwright ``Browser`` on the system's Chromium (skips or fails as above without one)."""
    path = chromium_path()
    if path is None:
        unavailable("no Chromium at /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a dev dependency of the project
        unavailable("Playwright for Python is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
