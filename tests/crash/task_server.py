"""A warm worker for the crash tests: it imports once what a task imports (the pipeline, Great
Expectations, dbt and its adapters), then runs every unit of work it is sent in a process of its
own, forked from it, much as Airflow starts a task (its supervisor forks the process that runs
the task, from a worker that has imported Airflow already). Those forked processes are the real
task processes the tests kill with SIGKILL. A fresh interpreter per task would import Great
Expectations (some 8 s of CPU) and dbt (some 4 s) each time, far beyond the folder's budget.

A task process writes its log to the file it is given, at INFO, SQLAlchemy's statements
included (its ``BEGIN``/``COMMIT``/``ROLLBACK`` lines and each statement before it runs): that
is how the tests see which phase an ingest task is in. The marts step runs dbt in the task
process (``ugc_pipeline.transform``), which does not log through SQLAlchemy: given a
``dbt_dir``, it keeps dbt's debug log there (``logs/dbt.log``: each statement of each model
before it runs, each model's COMMIT), which the tests watch instead.

Protocol, one JSON object per line. The worker says ``{"ready": pid, "cpu": seconds}`` once
imported. It reads ``{"steps": [[kind, args], ...], "log": path}`` (kinds: ``ingest``,
``marts``, the latter with an optional ``dbt_dir``; run in order in one process), answers
``{"started": pid}``, and ``{"exited": pid, "returncode": n, "cpu": seconds}`` when that process
ends (``-9``: killed by SIGKILL; 1: the step failed). End of input: it kills what still runs and
exits.

    python tests/crash/task_server.py
"""

from __future__ import annotations

import json
import logging
import os
import resource
import select
import signal
import sys
import traceback

LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def _say(message: dict) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())


def _step(kind: str, args: dict) -> None:
    from datetime import date

    from ugc_pipeline.pipeline import build_marts, ingest_source
    from ugc_pipeline.settings import Settings

    log = logging.getLogger("crash.task")
    settings = Settings(landing_uri=args["landing"], warehouse_url=args["url"], timezone=args["timezone"],
                        dbt_dir=args.get("dbt_dir", ""))
    if kind == "ingest":
        day = date.fromisoformat(args["day"])
        # the line the Airflow task logs before it calls ingest_source (airflow_support.run_ingest_task)
        log.info("ingesting %s for delivery day %s (%s)", args["source"], day, settings.describe())
        result = ingest_source(args["source"], day, settings, args["run_id"])
        if result.status != "success":
            raise RuntimeError(f"{args['source']} {day}: {result.status}")
    elif kind == "marts":
        log.info("building the marts (%s)", settings.describe())
        build_marts(settings)
    else:
        raise ValueError(f"unknown step {kind!r}")


def _child(command: dict) -> None:
    """In the forked process: log to the given file, run the steps, exit (never returns)."""
    code = 1
    try:
        fd = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr, force=True)
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQLAlchemy sets its own to WARN
        for kind, args in command["steps"]:
            _step(kind, args)
        logging.getLogger("crash.task").info("task process done")
        code = 0
    except BaseException:  # noqa: BLE001 - whatever happens, the log says it and the process ends
        traceback.print_exc()
    finally:
        logging.shutdown()
        os._exit(code)


def main() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # What a worker imports once, before its first task: what an ingest task imports, and what a
    # marts task imports (dbt and its adapters, some 4 s of CPU; nothing runs or connects at import).
    import dbt.adapters.duckdb  # noqa: F401
    import dbt.adapters.postgres  # noqa: F401
    import dbt.cli.main  # noqa: F401
    import great_expectations  # noqa: F401
    import ugc_pipeline.pipeline  # noqa: F401
    import ugc_pipeline.transform  # noqa: F401

    usage = resource.getrusage(resource.RUSAGE_SELF)
    _say({"ready": os.getpid(), "cpu": round(usage.ru_utime + usage.ru_stime, 2)})
    children: set[int] = set()
    pending = b""
    while True:
        for pid in list(children):
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                _say({"exited": pid, "returncode": os.waitstatus_to_exitcode(status),
                      "cpu": round(usage.ru_utime + usage.ru_stime, 2)})
        readable, _, _ = select.select([0], [], [], 0.005)
        if not readable:
            continue
        data = os.read(0, 1 << 16)
        if not data:
            break
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            command = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(command)
            children.add(pid)
            _say({"started": pid})
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except ProcessLookupError:
            pass


if __name__ == "__main__":
    main()
