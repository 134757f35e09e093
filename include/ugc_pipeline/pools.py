"""The ``ugc_warehouse`` pool: created by the deployment, checked at the start of every DAG run.

Airflow does not fail a task whose pool does not exist: the scheduler logs "Tasks using
non-existent pool ... will not be scheduled" and the task waits in ``scheduled`` for ever, so a
deployment that forgot the pool would see runs that never end and no alert. Every DAG whose tasks
take the pool therefore starts with a ``check_pool`` task (no pool, no retry) upstream of them,
which fails at once with how to create it. The pool is created by the compose init job,
``scripts/airflow-standalone`` and the runner of ``ugc-pipeline run``.

A task cannot ask Airflow 3's execution API about pools, so the check reads the one row of the
``slot_pool`` table of the metadata DB, on a connection of its own (read-only, one query). A worker
that has no metadata DB configured or reachable (workers isolated from it) cannot check: the task
then says so in its log and passes, and Airflow's own DAG warning ("non-existent pool") remains.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

POOL_CHECK_TASK_ID = "check_pool"


class MissingPool(RuntimeError):
    """The pool the DAG's tasks take does not exist; the message says how to create it."""


def how_to_create(name: str) -> str:
    return (f"create it with `airflow pools set {name} <slots> \"Tasks that hold the UGC warehouse\"` (1 slot for a "
            "DuckDB warehouse, 4 for PostgreSQL) or in the UI (Admin > Pools), then clear this task; the "
            "compose init job (airflow-init), scripts/airflow-standalone and `ugc-pipeline run` create it")


def pool_slots(name: str, sql_alchemy_conn: str | None = None) -> int | None:
    """The slots of pool ``name`` in the metadata DB, -1 when it does not exist, None when the
    metadata DB cannot be read from here (no URL configured, unreachable)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    if sql_alchemy_conn is None:
        from airflow.configuration import conf

        sql_alchemy_conn = conf.get("database", "sql_alchemy_conn", fallback=None)
    if not sql_alchemy_conn:
        return None
    try:
        engine = create_engine(sql_alchemy_conn, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                row = conn.execute(text("select slots from slot_pool where pool = :name"), {"name": name}).first()
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to read means "cannot check from here"
        log.warning("cannot read the pools of the metadata DB from this worker (%s): the pool %s is not checked",
                    type(exc).__name__, name)
        return None
    return -1 if row is None else int(row[0])


def check_pool(name: str, sql_alchemy_conn: str | None = None) -> int | None:
    """Raise ``MissingPool`` when pool ``name`` does not exist (or has no slot); its slots, or None
    when it cannot be checked from here."""
    slots = pool_slots(name, sql_alchemy_conn)
    if slots == -1:
        raise MissingPool(f"the Airflow pool {name!r} does not exist: the tasks that take it would wait in "
                          f"'scheduled' for ever; {how_to_create(name)}")
    if slots == 0:
        raise MissingPool(f"the Airflow pool {name!r} has 0 slots: the tasks that take it would never run; "
                          f"{how_to_create(name)}")
    if slots is not None:
        log.info("pool %s: %d slots", name, slots)
    return slots


def check_pool_task(name: str) -> int | None:
    """Body of the ``check_pool`` task: a missing pool fails the run at its start, without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return check_pool(name)
    except MissingPool as exc:
        raise AirflowFailException(str(exc)) from None
