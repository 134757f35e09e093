"""Fixtures for the validation / quarantine / replay tests: a landing zone and a real DuckDB
warehouse under pytest's tmp_path, started from warehouse files built once per session:

- ``business_template`` (``tests/conftest.py``): the business snapshots of ``BUSINESS_DAY``
  loaded (what references resolve against);
- ``good_day_template``: that, plus a good delivery of every source on ``corpus.DAY`` (the good
  records of the corpus) and the marts built from it.

Both are built once per session for every pytest-xdist worker (``support.session.built_once``).

GX validation is in memory (``Settings(gx_dir="")``, the default when constructing Settings).

The objects alive between tests (imported modules, GX's context, the session's fixtures) are
frozen out of the cyclic garbage collector (``gc.freeze``, ``_small_gc_heap``): a delivery in
batches runs ``gc.collect()`` after every batch, which otherwise walks the whole heap of the test
process each time (with a batch of a few records, most of the ingest's CPU). What the package
does is unchanged; only what each of its collections has to walk is smaller.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pandas as pd
import pytest
from corpus import DAY, QUARANTINE_CASES
from support.session import built_once
from support.warehouse_env import Env, start_env
from ugc_pipeline.settings import SETTING_NAMES
from ugc_pipeline.sources import SOURCES

# -- the garbage collector's heap -------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _frozen_between_modules():
    """Each module starts with the heap collected and frozen, and unfreezes it at its end (what
    became cyclic garbage meanwhile among the frozen objects is collected then)."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _small_gc_heap(_frozen_between_modules):
    """After each test, its garbage collected and what survives it (caches, GX's objects made on
    first use) frozen: the next test's collections walk only what that test makes."""
    yield
    gc.collect()
    gc.freeze()


# -- templates built once per session ---------------------------------------------------------

@pytest.fixture(scope="session")
def good_day_template(business_template) -> Path:
    """The business snapshots, a good delivery of every source on DAY, and the marts; built once
    per session for every worker (``support.session.built_once``), copied by the tests."""
    def build(folder: Path) -> None:
        env = start_env(folder, business_template)
        assert {c.source for c in QUARANTINE_CASES} == set(SOURCES)
        for case in sorted(QUARANTINE_CASES, key=lambda c: not SOURCES[c.source].is_reference):
            env.deliver(case.source, DAY, case.good_contents())
            result = env.ingest(case.source, DAY, run_id="good-day")
            assert result.status == "success" and result.records_rejected == 0, result.summary()
        counts = env.build()
        assert all(counts.values()), counts
        env.close()

    return built_once("validation-good-day", build) / "wh.duckdb"


@pytest.fixture(scope="session")
def good_day_state(tmp_path_factory, good_day_template) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """The snapshot (raw, marts, quarantine) and the run records of ``good_day_template``, taken
    once: every test starting from a copy of it starts from this state."""
    env = start_env(tmp_path_factory.mktemp("good_day_state"), good_day_template)
    state = (env.snapshot(), env.runs())
    env.close()
    return state


@pytest.fixture
def env(tmp_path) -> Env:
    e = Env(tmp_path)
    yield e
    e.close()


@pytest.fixture
def business_env(tmp_path, business_template) -> Env:
    """A warehouse holding the business snapshots only."""
    e = start_env(tmp_path, business_template)
    yield e
    e.close()


@pytest.fixture
def good_day_env(tmp_path, good_day_template) -> Env:
    """A warehouse holding a good DAY of every source and its marts (landing zone included)."""
    e = start_env(tmp_path, good_day_template)
    yield e
    e.close()


@pytest.fixture
def ugc_environ():
    """Restores the UGC_* environment variables that runner.export_settings / the CLI set."""
    saved = {name: os.environ.get(name) for name in SETTING_NAMES}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
