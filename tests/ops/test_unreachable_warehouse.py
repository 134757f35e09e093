"""A PostgreSQL warehouse that refuses connections or never answers: ``ugc-pipeline run`` checks
it once before any day and stops at once with one line (which warehouse, redacted, and why),
exit code 75; a warehouse that goes away during a run fails the day's tasks without Airflow's
5-minute retry waits, and the run stops there instead of trying every later day."""

from __future__ import annotations

import time

import pytest
from ops_support import Forwarder, SilentServer, closed_port
from sqlalchemy.engine import make_url
from ugc_pipeline import warehouse

SECRET = "s3cret-Pw"


def _assert_one_clear_line(output: str, shown: str, why: str) -> None:
    assert f"error: the warehouse {shown} cannot be reached: {why}; nothing was run" in output, output
    assert SECRET not in output
    assert "Traceback" not in output and "No tasks to run" not in output
    assert "[1/" not in output  # no day started


def test_a_refused_connection_stops_the_run_before_the_first_day(cli):
    port = closed_port()
    url = f"postgresql+psycopg://ugc:{SECRET}@127.0.0.1:{port}/ugc?sslpassword={SECRET}"

    run = cli("run", "--start", "2025-05-05", "--end", "2025-05-08", UGC_WAREHOUSE_URL=url)

    assert run.wait(timeout=60) == 75
    assert time.monotonic() - run.started < 45
    _assert_one_clear_line(run.output, f"postgresql+psycopg://ugc:***@127.0.0.1:{port}/ugc?sslpassword=***",
                           "connection refused")


def test_a_server_that_never_answers_times_out_after_connect_timeout(cli):
    server = SilentServer()  # accepts, never replies: without a timeout libpq would wait for ever
    try:
        url = f"postgresql+psycopg://ugc@127.0.0.1:{server.port}/ugc?password={SECRET}&connect_timeout=2"
        run = cli("run", "--start", "2025-05-05", UGC_WAREHOUSE_URL=url)
        assert run.wait(timeout=60) == 75
    finally:
        server.close()
    _assert_one_clear_line(
        run.output, f"postgresql+psycopg://ugc@127.0.0.1:{server.port}/ugc?password=***&connect_timeout=2",
        "no answer within 2 s (connect_timeout)")


def test_connections_give_up_after_10_seconds_by_default():
    server = SilentServer()
    try:
        t0 = time.monotonic()
        with pytest.raises(warehouse.WarehouseUnavailable, match=r"no answer within 10 s \(connect_timeout\)"):
            warehouse.check_warehouse(f"postgresql://ugc@127.0.0.1:{server.port}/ugc")
        assert 9 < time.monotonic() - t0 < 20
    finally:
        server.close()


def test_a_warehouse_lost_during_the_run_fails_the_day_at_once_and_stops(cli, ops_landing, pg_database):
    """The check before the first day passes (the proxy lets one connection through), then every
    connection is refused: each task fails at once (no retry, no "No tasks to run" loop), the
    run stops after that day, says why, and no secret reaches the output or the task logs."""
    server = make_url(pg_database)
    proxy = Forwarder((server.host or "127.0.0.1", server.port or 5432), allow=1)
    url = server.set(host="127.0.0.1", port=proxy.port, query={"password": SECRET}).render_as_string(
        hide_password=False)

    run = cli("run", "--start", "2025-05-05", "--end", "2025-05-06", UGC_WAREHOUSE_URL=url,
              UGC_LANDING_URI=str(ops_landing), AIRFLOW__LOGGING__LOGGING_LEVEL="INFO")

    assert run.wait(timeout=240) == 1
    elapsed = time.monotonic() - run.started
    out = run.output
    assert proxy.forwarded == 1
    assert elapsed < 180, f"{elapsed:.0f} s: retries were waited for\n{out}"
    assert "[1/2] delivery 2025-05-05: ugc_ingest ..." in out
    assert "FAILED tasks: " in out and "ingest_products" in out
    assert "cannot be reached: connection refused" in out
    assert "not run: 1 day(s), 2025-05-06 to 2025-05-06" in out
    assert "0/2 day(s) succeeded" in out
    assert "[2/2]" not in out and "No tasks to run" not in out
    # each task says why in one line (Airflow logs the task's traceback above it), and the
    # run ends with its summary, not with a traceback
    assert "WarehouseUnavailable: products 2025-05-05: the warehouse postgresql+psycopg://" in out
    assert "Traceback" not in out[out.index("FAILED tasks: "):]
    # dag.test writes the task logs to the console (INFO here): the settings they log are redacted
    assert "ingesting products for delivery day 2025-05-05 (landing=" in out
    assert "up_for_retry" not in out.lower()
    assert SECRET not in out
