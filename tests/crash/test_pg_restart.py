"""The local PostgreSQL server restarted while a task process is loading (issue #8).

The only test of the folder, and of the suite, that restarts the server (marker
``restarts_postgresql``): it waits until no test of another pytest-xdist worker uses the server
and keeps it to itself meanwhile (``tests/conftest.py``); it restarts it once, keeps the rest
short, and waits until the server answers again before going on. It needs the server to be a local Debian cluster
(``pg_ctlcluster``); elsewhere (e.g. a CI service container) it is skipped.
"""

from __future__ import annotations

import signal

import pytest
from crash_support import (
    LOAD_BEGUN,
    assert_state,
    copy_in_progress,
    local_cluster,
    redelivery_step,
    restart_cluster,
    successful_runs,
    transaction_end,
    wait_server_answers,
)


@pytest.mark.restarts_postgresql
def test_postgresql_restart_during_load(crash_env, pg_refs):
    warehouses = pg_refs.warehouses
    cluster = local_cluster(warehouses.server_url.render_as_string(hide_password=False))
    if cluster is None:
        pytest.skip("the test server is not a local cluster that pg_ctlcluster can restart")
    wh = warehouses.copy(pg_refs.base, "restart")
    task = crash_env.server.start([redelivery_step(crash_env.landings, wh.url, "cut-by-restart")],
                                  "postgresql-restart-load")
    assert task.wait_for_log(LOAD_BEGUN, "the load's transaction"), task.log_tail()
    with warehouses.admin.connect() as admin:
        assert task.wait_until(lambda: copy_in_progress(admin, wh.database), "a COPY into raw.yotpo_reviews",
                               interval=0.002), task.log_tail()
    # Paused mid-COPY (a stalled client: its transaction stays open on the server) so that the
    # restart, which takes seconds, surely lands inside the load; resumed once the server is back.
    task.signal(signal.SIGSTOP)
    try:
        took = restart_cluster(cluster)
        back = wait_server_answers(warehouses.admin)
    finally:
        task.signal(signal.SIGCONT)
    code = task.wait(60)
    # the task fails (its session was cut in the middle of the COPY): a failure Airflow retries
    assert code == 1, f"the task process ended with {code}:\n{task.log_tail()}"
    log = task.log()
    assert transaction_end(log, LOAD_BEGUN) == "ROLLBACK", task.log_tail()  # the COPY failed: no COMMIT
    assert "OperationalError" in log, task.log_tail()
    assert_state(wh, pg_refs.before_ingest, pg_refs.after_ingest, ("before",), "server restarted during the load")
    assert successful_runs(wh, "cut-by-restart") == 0
    crash_env.server.run([redelivery_step(crash_env.landings, wh.url, "retry-after-restart")],
                         "postgresql-retry-restart")
    assert_state(wh, pg_refs.before_ingest, pg_refs.after_ingest, ("after",), "the retry after the restart")
    print(f"postgresql restarted during the load: before state; restart {took:.1f}s, answering {back:.1f}s later")
