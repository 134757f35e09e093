"""Crash safety (issue #8): a task process killed with SIGKILL during the parse, during the load
and during the marts build, on DuckDB and on PostgreSQL (and, on DuckDB, inside the load's
commit), leaves the warehouse exactly as it was before the step or exactly as the same step
leaves it when it completes (never anything in between), and a retry of the step in a new
process completes it without duplicating anything.

An ingest step is one transaction: the whole warehouse is before or after. The marts step is
``dbt build``, where each mart is a model written in its own transaction (``replace_changed``:
the changed partitions deleted and inserted again, then the commit): it is atomic per mart, not
as a whole. Killed inside one mart's transaction, that mart keeps its before state, the marts
dbt had committed before hold their after state, and no mart is ever half written (each is
exactly its before or its after rows); the retry builds them all.

Each killed step runs in a real task process (forked by ``task_server.py``); the test sees its
phase from outside: the delivery's files open in ``/proc/<pid>/fd`` (parse), its SQL log lines
(DuckDB load), a COPY of its session in ``pg_stat_activity`` (PostgreSQL load), the DuckDB file
and its WAL (the commit), dbt's debug log (``<dbt_dir>/logs/dbt.log``: a mart's statement,
logged as it starts) and, on PostgreSQL, the lock of the mart's DELETE in ``pg_locks`` (marts).
After the kill, the logs prove where it died (e.g. no ``records parsed``, no COMMIT issued). A
kill that came too late (a busy machine may leave the poller unscheduled longer than a phase
lasts) must still leave a state the step allows, and the step is killed again on a fresh copy,
at most three times.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable

import pytest
from crash_support import (
    DUCKDB_LOAD,
    INGESTING,
    LOAD_BEGUN,
    MARTS_BUILT,
    PARSED,
    VALIDATED,
    References,
    Task,
    Warehouse,
    assert_mart_states,
    assert_state,
    copy_in_progress,
    dbt_log,
    delivery_file_open,
    duplicate_raw_keys,
    marts_step,
    model_commit,
    model_created,
    model_started,
    position,
    redelivery_step,
    relation_oids,
    replace_changed,
    statement_ran,
    successful_runs,
    transaction_end,
    wait_sessions_gone,
    writing,
)
from ugc_pipeline import catalog

TRIES = 3


def kill_during(crash_env, refs: References, start_from: Warehouse, name: str,
                steps: Callable[[Warehouse, str], list], trigger: Callable[[Task, Warehouse], bool],
                missed: Callable[[str, Warehouse], str | None], before: dict, after: dict,
                settle: Callable[[Warehouse, str], str] | None = None):
    """Copy ``start_from``, run ``steps`` in a task process, SIGKILL it once ``trigger`` says the
    phase is reached; ``missed(log, wh)`` says why the kill did not land in the phase (None: it
    did); ``settle(wh, context)`` checks what a try that missed left (default: the whole
    warehouse before or after) and names it. Returns (warehouse, task, run_id, facts, misses) of
    the try that landed."""
    settle = settle or (lambda wh, context: assert_state(wh, before, after, ("before", "after"), context))
    misses = []
    for attempt in range(1, TRIES + 1):
        wh = refs.warehouses.copy(start_from, f"{name}{attempt}")
        run_id = f"killed-in-{name}-{attempt}"
        task = crash_env.server.start(steps(wh, run_id), f"{refs.kind}-kill-{name}-{attempt}")
        trigger(task, wh)
        task.kill()
        code = task.wait(60)
        facts = {"wal left": wh.wal.exists()} if refs.kind == "duckdb" else {}
        if refs.kind == "postgresql":  # the server ends the dead client's session, and its locks
            facts["session gone after (s)"] = round(wait_sessions_gone(refs.warehouses.admin, wh.database), 3)
        why = f"it ended on its own ({code})" if code != -signal.SIGKILL else missed(task.log(), wh)
        if why is None:
            return wh, task, run_id, facts, misses
        # too late for the phase: still a crash (or a completed step) that must leave a clean state
        state = settle(wh, f"{name}, try {attempt} ({why})")
        misses.append(f"try {attempt}: {why}; {state} state")
    raise AssertionError(f"{refs.kind}: the {name} was never hit in {TRIES} tries: {misses}")


def retry(crash_env, steps: list, name: str, warehouse: Warehouse, before: dict, after: dict) -> None:
    """The step again in a new task process, as an Airflow retry: it completes the step."""
    crash_env.server.run(steps, name)
    assert_state(warehouse, before, after, ("after",), f"{name}: the retry")


def _ingest(crash_env):
    return lambda wh, run_id: [redelivery_step(crash_env.landings, wh.url, run_id)]


def test_kill_during_parse(crash_env, refs):
    folder = crash_env.landings.redelivery_folder

    def trigger(task, wh):
        return task.wait_until(lambda: delivery_file_open(task.pid, folder), "reading the delivery's files")

    def missed(log, wh):
        assert position(log, INGESTING) is not None, log[-3000:]
        return "the parse had ended" if position(log, PARSED) is not None else None

    wh, task, run_id, facts, misses = kill_during(crash_env, refs, refs.base, "parse", _ingest(crash_env), trigger,
                                                  missed, refs.before_ingest, refs.after_ingest)
    assert_state(wh, refs.before_ingest, refs.after_ingest, ("before",), "killed during the parse")
    assert successful_runs(wh, run_id) == 0
    retry(crash_env, [redelivery_step(crash_env.landings, wh.url, "retry")], f"{refs.kind}-retry-parse",
          wh, refs.before_ingest, refs.after_ingest)
    print(f"{refs.kind} killed in the parse: before state; {facts}; {misses}")


def test_kill_during_load(crash_env, refs):
    def trigger(task, wh):
        if refs.kind == "duckdb":
            # logged as the INSERT from the registered Arrow table starts, inside the transaction
            # that deleted the earlier load of the day
            return task.wait_for_log(DUCKDB_LOAD, "the insert into raw.yotpo_reviews")
        if not task.wait_for_log(LOAD_BEGUN, "the load's transaction"):
            return False
        with refs.warehouses.admin.connect() as admin:
            return task.wait_until(lambda: copy_in_progress(admin, wh.database), "a COPY into raw.yotpo_reviews",
                                   interval=0.002)

    def missed(log, wh):
        assert position(log, VALIDATED) is not None and position(log, LOAD_BEGUN) is not None, log[-3000:]
        end = transaction_end(log, LOAD_BEGUN)
        return f"the load's {end} was issued" if end else None

    wh, task, run_id, facts, misses = kill_during(crash_env, refs, refs.base, "load", _ingest(crash_env), trigger,
                                                  missed, refs.before_ingest, refs.after_ingest)
    # no COMMIT was even issued: only the state before the step is possible
    assert_state(wh, refs.before_ingest, refs.after_ingest, ("before",), "killed during the load")
    assert successful_runs(wh, run_id) == 0
    retry(crash_env, [redelivery_step(crash_env.landings, wh.url, "retry")], f"{refs.kind}-retry-load",
          wh, refs.before_ingest, refs.after_ingest)
    assert duplicate_raw_keys(wh) == 0
    print(f"{refs.kind} killed in the load: before state; {facts}; {misses}")


def test_kill_during_marts_build(crash_env, refs):
    """Killed inside the transaction of ``marts.ugc_daily`` (the mart the redelivery changes
    most), while its ``replace_changed`` statement runs: on PostgreSQL once the server shows the
    statement's DELETE holding its lock. The mart keeps its before rows; the marts dbt committed
    before it hold their after rows (on DuckDB, one model at a time, every mart dbt ran before it,
    e.g. ``conversion_daily``, which the redelivery changes too); the others either; none is half
    written."""
    marts = [spec.qualified for spec in catalog.mart_specs()]
    target = "marts.ugc_daily"
    assert target in marts, marts

    def dbt_dir(wh):
        return crash_env.root / "dbt" / f"{refs.kind}-{wh.label}"

    def steps(wh, run_id):
        return [marts_step(crash_env.landings.base, wh.url, dbt_dir(wh))]

    def trigger(task, wh):
        path = dbt_log(dbt_dir(wh))
        oids = relation_oids(wh, target) if refs.kind == "postgresql" else None
        if not task.wait_for_log(replace_changed(target), f"the replace_changed statement of {target}", path=path):
            return False
        if refs.kind == "duckdb":  # the statement runs (~50 ms), then the table comments, then the COMMIT
            return True
        committed = task.appeared(model_commit(target), path)
        with refs.warehouses.admin.connect() as admin:  # the DELETE's lock, held until the transaction ends
            return task.wait_until(lambda: writing(admin, oids) or committed(), f"the DELETE of {target}",
                                   interval=0.002)

    def task_dbt_log(wh):
        return dbt_log(dbt_dir(wh)).read_text("utf-8", "replace")

    def missed(log, wh):
        assert position(log, MARTS_BUILT) is None, log[-3000:]
        built = task_dbt_log(wh)
        assert re.search(replace_changed(target), built, re.MULTILINE), built[-3000:]
        return f"the COMMIT of {target} was issued" if re.search(model_commit(target), built, re.MULTILINE) else None

    def committed_marts(wh):
        """The marts whose transaction dbt saw committed ("OK created"): their after state."""
        built = task_dbt_log(wh)
        return {m: "after" for m in marts if re.search(model_created(m), built, re.MULTILINE)}

    def settle(wh, context):
        states = assert_mart_states(wh, refs.before_marts, refs.after_marts, context, must=committed_marts(wh))
        return ", ".join(f"{m} {s}" for m, s in states.items())

    wh, task, run_id, facts, misses = kill_during(
        crash_env, refs, refs.ingested, "marts", steps, trigger, missed, refs.before_marts, refs.after_marts, settle)
    committed = committed_marts(wh)
    assert target not in committed
    facts["statement had run"] = statement_ran(task_dbt_log(wh), replace_changed(target))
    states = assert_mart_states(wh, refs.before_marts, refs.after_marts, f"killed in the transaction of {target}",
                                must={**committed, target: "before"})
    if refs.kind == "duckdb":  # one model at a time: the marts dbt started before it were committed
        built = task_dbt_log(wh)
        start = position(built, model_started(target))
        ran_before = {m for m in marts if (at := position(built, model_started(m))) is not None and at < start}
        assert ran_before <= set(committed), (ran_before, committed)
    retry(crash_env, [marts_step(crash_env.landings.base, wh.url)], f"{refs.kind}-retry-marts",
          wh, refs.before_marts, refs.after_marts)
    print(f"{refs.kind} killed in the transaction of {target}: {states}; committed before: {sorted(committed)}; "
          f"{facts}; {misses}")


@pytest.mark.parametrize("point", ["wal", "checkpoint"])
def test_duckdb_kill_while_the_load_commits(crash_env, duckdb_refs, point):
    """Killed inside the load's commit, a window of some 50 ms: while its WAL is being written
    ("wal": the WAL is torn) or while the checkpoint that follows (when the connection closes)
    writes the database file ("checkpoint": the commit is complete). The file keeps a .wal that
    reopening must discard or replay: before or after for a torn WAL, after for the checkpoint."""
    refs = duckdb_refs

    def trigger(task, wh):
        if not task.wait_for_log(DUCKDB_LOAD, "the insert into raw.yotpo_reviews"):
            return False
        signature = None
        while task.returncode() is None:  # polled every 0.1 ms
            try:
                wal_size = wh.wal.stat().st_size
            except FileNotFoundError:
                wal_size = None
            if point == "wal" and wal_size:
                return True
            if point == "checkpoint" and wal_size is not None:
                stat = wh.file.stat()
                if signature is None:
                    signature = (stat.st_size, stat.st_mtime_ns)
                elif (stat.st_size, stat.st_mtime_ns) != signature:
                    return True
            time.sleep(0.0001)
        return False

    def missed(log, wh):
        if not wh.wal.exists():
            return "no WAL left (the checkpoint had ended)"
        assert transaction_end(log, LOAD_BEGUN) == "COMMIT", log[-3000:]
        return None

    wh, task, run_id, facts, misses = kill_during(crash_env, refs, refs.base, point, _ingest(crash_env), trigger,
                                                  missed, refs.before_ingest, refs.after_ingest)
    wal_bytes = wh.wal.stat().st_size
    state = assert_state(wh, refs.before_ingest, refs.after_ingest, ("before", "after") if point == "wal" else ("after",),
                         f"killed in the load's commit ({point}), {wal_bytes} bytes of WAL left")
    # the finished run record is written in the load's transaction: recorded if and only if loaded
    assert successful_runs(wh, run_id) == (1 if state == "after" else 0)
    retry(crash_env, [redelivery_step(crash_env.landings, wh.url, "retry")], f"duckdb-retry-{point}",
          wh, refs.before_ingest, refs.after_ingest)
    assert duplicate_raw_keys(wh) == 0
    print(f"duckdb killed in the load's commit ({point}): {state} state on reopening with {wal_bytes} bytes of WAL "
          f"(left after reopening: {wh.wal.exists()}); {misses}")
