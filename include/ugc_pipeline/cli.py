"""``ugc-pipeline``: the project's command line.

  ugc-pipeline demo                      sample landing zone -> Airflow DAG runs -> marts + summary
  ugc-pipeline run --start D --end D     run the DAGs through Airflow for a range of delivery days
  ugc-pipeline run --all                 ... for every delivery day present in the landing zone
  ugc-pipeline backfill --start D --end D   one ugc_ingest run over the range (days loaded in order), marts once
  ugc-pipeline replay [--source S]       re-ingest deliveries with quarantined records, then the marts
  ugc-pipeline erase --email X | --handle X | --name X | --id P
                                         erase one person's items (raw, quarantine, marts); audit.erasures
  ugc-pipeline summary                   print the KPI summary of the configured warehouse
  ugc-pipeline docs                      regenerate docs/data_dictionary.md, the dbt raw sources and sql/dbt_ls.json
  ugc-pipeline dbt ARGS...               run dbt (build, test, docs generate...) on the configured warehouse
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import date
from pathlib import Path

from ugc_pipeline.catalog import PROJECT_DIR
from ugc_pipeline.settings import Settings, SettingsError, redact_url


def _settings() -> Settings:
    """The settings of a command: the environment, and as warehouse the Airflow connection
    ``UGC_WAREHOUSE_CONN_ID`` (``ugc_warehouse``) when the environment gives it
    (``AIRFLOW_CONN_UGC_WAREHOUSE``), as the tasks the command starts will find it; else
    ``UGC_WAREHOUSE_URL`` (outside Airflow, the floor)."""
    import dataclasses

    from ugc_pipeline.connections import warehouse_url_outside_tasks

    settings = Settings.load()
    url = warehouse_url_outside_tasks(settings.warehouse_conn_id, settings.warehouse_url)
    return settings if url == settings.warehouse_url else dataclasses.replace(settings, warehouse_url=url)


def _say(text: str) -> None:
    print(text, flush=True)


# Exit codes of ``run``, ``demo`` and ``replay`` (README, "Everyday use").
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_NOT_STARTED = 75  # EX_TEMPFAIL: the warehouse cannot be reached, or another run holds it
# interrupted by a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM), as a shell says


def _run(days: list[date], settings: Settings, marts_each_day: bool, stop) -> int:
    from ugc_pipeline.runner import exclusive_run, run_days, run_marts_once

    t0 = time.perf_counter()
    _say(f"Settings: {settings.describe()}")
    _say(f"Running ugc_ingest + ugc_marts through Airflow for {len(days)} delivery day(s), "
         f"{days[0]} to {days[-1]}")
    marts_state = None
    with exclusive_run(settings, progress=_say, stop=stop):
        results = run_days(days, settings, build_marts_each_day=marts_each_day, progress=_say, stop=stop)
        if not marts_each_day and results and all(r.ok for r in results) and not stop.requested:
            marts_state = run_marts_once(progress=_say, stop=stop)
    failed = [r for r in results if not r.ok]
    _say(f"\n{len(results) - len(failed)}/{len(days)} day(s) succeeded in {time.perf_counter() - t0:.0f}s")
    for r in failed:
        line = f"  {r.delivery_date}: ingest {r.ingest_state}, marts {r.marts_state or 'not run'}"
        if r.failed_tasks:
            line += f"; failed: {', '.join(r.failed_tasks)}"
        if r.not_run:
            line += f"; not started: {len(r.not_run)} task(s)"
        _say(line)
    if marts_state not in (None, "success"):
        _say(f"  ugc_marts (once, at the end): {marts_state}")
    if len(results) < len(days):
        rest = days[len(results):]
        _say(f"  not run: {len(rest)} day(s), {rest[0]} to {rest[-1]}")
    if stop.requested:
        _say(f"Stopped early: {stop.reason}. Rerun the days not done (a day runs again from scratch).")
    if stop.exit_code is not None:
        return stop.exit_code
    return EXIT_FAILED if failed or len(results) < len(days) or marts_state not in (None, "success") else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from ugc_pipeline.publish import published_path
    from ugc_pipeline.runner import configure_airflow, exclusive_run
    from ugc_pipeline.sample import write_sample_landing
    from ugc_pipeline.summary import kpi_summary

    data = Path(args.data_dir).resolve()
    landing, warehouse_file = data / "landing", data / "warehouse.duckdb"
    gx_dir, report_dir = data / "gx", data / "report"
    settings = Settings(landing_uri=str(landing), warehouse_url=f"duckdb:///{warehouse_file}",
                        timezone=args.timezone, gx_dir=str(gx_dir), dbt_dir=str(data / "dbt"),
                        report_dir=str(report_dir))
    published = published_path(settings)
    configure_airflow()
    with exclusive_run(settings, progress=_say, stop=args.stop):  # never delete a warehouse in use
        # (the published copy is replaced, never deleted: a reader may have it open)
        for stale in (landing, gx_dir, report_dir, warehouse_file,
                      warehouse_file.with_name(warehouse_file.name + ".wal")):
            if stale.is_dir():
                shutil.rmtree(stale)
            elif stale.exists():
                stale.unlink()
        sample = write_sample_landing(landing)
        _say(f"Sample landing zone written to {landing}: campaign {sample.campaign_id} "
             f"({sample.campaign_start} to {sample.campaign_end}), {len(sample.delivery_dates)} delivery days")
        status = _run(sample.delivery_dates, settings, marts_each_day=True, stop=args.stop)
    if args.stop.requested:
        return status
    _say("\n" + kpi_summary(settings))
    _say(f"\nValidation reports (GX Data Docs): {gx_dir / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}")
    site = Path(settings.dbt_dir) / "target"
    if (site / "static_index.html").exists():  # dbt docs generate --static: opens from file://, offline
        _say(f"Data documentation (dbt docs: lineage, models, columns, tests): {site / 'static_index.html'}")
    else:  # index.html fetches manifest.json and catalog.json: serve it over HTTP
        _say(f"Data documentation (dbt docs: lineage, models, columns, tests): {site / 'index.html'} "
             '(serve it: make dbt ARGS="docs serve --port 8081")')
    _say(f"\nQuery it (the read-only copy each run publishes; keep it open while runs go on): .venv/bin/python -c "
         f"\"import duckdb; print(duckdb.connect('{published}', read_only=True).sql('from marts.ugc_daily limit 10'))\"")
    index = report_dir / "index.html"
    _say(f"\nKPI report (one page per KPI day, open it in a browser, works offline): {index}"
         if index.exists() else "\nKPI report: not written (see the write_report task's log)")
    return status


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    days = _days_asked(args, settings)
    if days is None:
        return 1 if args.all else EXIT_USAGE
    return _run(days, settings, marts_each_day=not args.marts_at_end, stop=args.stop)


def _days_asked(args: argparse.Namespace, settings: Settings) -> list[date] | None:
    """The delivery days of ``--start``/``--end`` or ``--all``; None (after saying why) when none."""
    from ugc_pipeline.landing import Landing
    from ugc_pipeline.runner import day_range
    from ugc_pipeline.sources import SOURCES

    if args.all:
        landing = Landing.for_settings(settings)
        found = sorted({d for s in SOURCES for d in landing.delivery_dates(s)})
        if not found:
            _say(f"No delivery folder under {settings.landing_uri}")
            return None
        return day_range(found[0], found[-1])
    if not args.start:
        _say("give --start (and optionally --end), or --all")
        return None
    return day_range(date.fromisoformat(args.start), date.fromisoformat(args.end or args.start))


def cmd_backfill(args: argparse.Namespace) -> int:
    from ugc_pipeline.runner import exclusive_run, run_backfill

    settings = _settings()
    days = _days_asked(args, settings)
    if days is None:
        return EXIT_USAGE
    t0 = time.perf_counter()
    _say(f"Settings: {settings.describe()}")
    _say(f"Backfilling {len(days)} delivery day(s), {days[0]} to {days[-1]}, in one ugc_ingest run, then ugc_marts")
    with exclusive_run(settings, progress=_say, stop=args.stop):
        result = run_backfill(days[0], days[-1], settings, progress=_say, stop=args.stop)
    _say(f"\nugc_ingest {result.ingest_state}, ugc_marts {result.marts_state or 'not run'} "
         f"in {time.perf_counter() - t0:.0f}s" + (f"; failed: {', '.join(result.failed_tasks)}"
                                                 if result.failed_tasks else ""))
    if args.stop.requested:
        _say(f"Stopped early: {args.stop.reason}. Run the backfill again (each day is replaced, not duplicated).")
    if args.stop.exit_code is not None:
        return args.stop.exit_code
    return EXIT_OK if result.ok and result.marts_state == "success" else EXIT_FAILED


def cmd_replay(args: argparse.Namespace) -> int:
    from ugc_pipeline.runner import run_replay

    conf = {"source": args.source, "from_date": args.from_date, "to_date": args.to_date}
    ok = run_replay(_settings(), conf, progress=_say)  # stopped by args.stop's signals
    if args.stop.requested:
        _say(f"replay stopped: {args.stop.reason}")
        return args.stop.exit_code or EXIT_FAILED
    _say("replay done" if ok else "replay FAILED")
    return 0 if ok else 1


def cmd_erase(args: argparse.Namespace) -> int:
    """One person's items out of raw, the quarantine and the marts. The value given (an e-mail, a
    handle, a name) is never printed nor stored: only its pseudonym and the counts."""
    from ugc_pipeline.erasure import ErasureError, erase

    settings = _settings()
    _say(f"Settings: {settings.describe()}")
    try:
        result = erase(settings, run_id=f"cli-erase-{time.strftime('%Y%m%dT%H%M%S')}", dry_run=args.dry_run,
                       email=args.email, handle=args.handle, name=args.name, id=args.id)
    except ErasureError as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE
    _say(result.summary())
    if args.dry_run:
        _say(f"dry run: nothing was erased. To erase from Airflow: trigger ugc_erase with "
             f"{{\"id\": \"{result.pseudonym}\"}}")
    elif not result.total_raw and not result.rejected_rows:
        _say("nothing of this person is in the warehouse (recorded in audit.erasures)")
    return EXIT_FAILED if result.marts == "failed" else EXIT_OK


def cmd_summary(_args: argparse.Namespace) -> int:
    from ugc_pipeline.summary import kpi_summary

    _say(kpi_summary(_settings()))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from ugc_pipeline.docs import RAW_SOURCES_FILE, data_dictionary, raw_sources_yaml
    from ugc_pipeline.transform import DBT_PROJECT_DIR

    out = Path(args.output)
    out.write_text(data_dictionary(), encoding="utf-8")
    _say(f"wrote {out}")
    sources = DBT_PROJECT_DIR / RAW_SOURCES_FILE
    sources.write_text(raw_sources_yaml(), encoding="utf-8")
    _say(f"wrote {sources}")
    from ugc_pipeline.marts_dag import write_dbt_ls_file

    _say(f"wrote {write_dbt_ls_file()} (the project's nodes, as the ugc_marts DAG renders them)")
    return 0


# dbt commands that read or write the warehouse's relations: the tables Python owns (raw, audit:
# the dbt sources) are created first if missing, as before a marts run.
_DBT_WAREHOUSE_COMMANDS = {"build", "run", "test", "compile", "show", "seed", "snapshot", "retry", "docs"}


def dbt_command(dbt_args: list[str], settings: Settings) -> tuple[list[str], dict[str, str]]:
    """(command line, environment) running the dbt CLI with ``dbt_args`` on the settings'
    warehouse: the profile written from UGC_WAREHOUSE_URL under UGC_DBT_DIR (the password in the
    environment only), the project in sql/, artifacts and the docs site in UGC_DBT_DIR/target,
    the KPI time zone as the var kpi_timezone and the verdicts' thresholds (merged under the
    user's own --vars)."""
    import json
    import os

    import yaml

    from ugc_pipeline.settings import DEFAULT_DBT_DIR
    from ugc_pipeline.transform import DBT_PROJECT_DIR, dbt_vars, verdict_vars, write_profiles

    base = Path(settings.dbt_dir or DEFAULT_DBT_DIR).expanduser().resolve()
    secrets = write_profiles(base / "profile", settings.warehouse_url)
    # As environment variables, so that every dbt command takes them and a flag given by the
    # user (--target-path...) still wins.
    env = {**os.environ, **secrets, "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR), "DBT_PROFILES_DIR": str(base / "profile"),
           "DBT_TARGET_PATH": str(base / "target"), "DBT_LOG_PATH": str(base / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    args = list(dbt_args)
    if any(not a.startswith("-") for a in args):  # a dbt command, not just `dbt --version`
        variables = {**dbt_vars(settings.timezone), **verdict_vars(settings)}
        for i, arg in enumerate(args):
            if arg == "--vars" and i + 1 < len(args) or arg.startswith("--vars="):
                value = args[i + 1] if arg == "--vars" else arg.split("=", 1)[1]
                variables.update(yaml.safe_load(value) or {})
                del args[i:i + (2 if arg == "--vars" else 1)]
                break
        args += ["--vars", json.dumps(variables, sort_keys=True, default=str)]
    executable = Path(sys.executable).with_name("dbt")
    launcher = [str(executable)] if executable.exists() else [
        sys.executable, "-c", "import sys; from dbt.cli.main import cli; sys.exit(cli())"]
    return [*launcher, *args], env


def cmd_dbt(args: argparse.Namespace) -> int:
    import subprocess

    dbt_args = args.dbt_args[1:] if args.dbt_args[:1] == ["--"] else args.dbt_args
    if not dbt_args:
        _say('usage: ugc-pipeline dbt ARGS...   e.g. ugc-pipeline dbt build, make dbt ARGS="test --select marts"')
        return EXIT_USAGE
    settings = _settings()
    if _DBT_WAREHOUSE_COMMANDS & set(dbt_args) and not {"serve", "--help", "-h"} & set(dbt_args):
        from ugc_pipeline import warehouse

        engine = warehouse.create_warehouse_engine(settings.warehouse_url)
        try:
            warehouse.ensure_warehouse(engine)
        finally:
            engine.dispose()
    command, env = dbt_command(dbt_args, settings)
    _say(f"dbt on {redact_url(settings.warehouse_url)}; artifacts and docs site in "
         f"{env['DBT_TARGET_PATH']}")
    return subprocess.run(command, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ugc-pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole pipeline on a generated sample landing zone")
    demo.add_argument("--data-dir", default=str(PROJECT_DIR / "data"),
                      help="where the sample landing zone and the DuckDB warehouse go (default: ./data)")
    demo.add_argument("--timezone", default="Europe/Paris")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="run the DAGs through Airflow for delivery days (UGC_* settings)")
    run.add_argument("--start", help="first delivery day, YYYY-MM-DD")
    run.add_argument("--end", help="last delivery day, YYYY-MM-DD (default: --start)")
    run.add_argument("--all", action="store_true", help="every day from the first to the last delivery found")
    run.add_argument("--marts-at-end", action="store_true",
                     help="ingest every day first, then build the marts once (faster backfills)")
    run.set_defaults(func=cmd_run)

    backfill = sub.add_parser("backfill", help="ingest a range of delivery days in one ugc_ingest run (each "
                                               "source task loads the days in order), then build the marts once")
    backfill.add_argument("--start", help="first delivery day, YYYY-MM-DD")
    backfill.add_argument("--end", help="last delivery day, YYYY-MM-DD (default: --start)")
    backfill.add_argument("--all", action="store_true", help="every day from the first to the last delivery found")
    backfill.set_defaults(func=cmd_backfill)

    replay = sub.add_parser("replay", help="re-ingest the deliveries that have quarantined records (after a fix)")
    replay.add_argument("--source", help="only this source")
    replay.add_argument("--from", dest="from_date", help="first delivery day, YYYY-MM-DD")
    replay.add_argument("--to", dest="to_date", help="last delivery day, YYYY-MM-DD")
    replay.set_defaults(func=cmd_replay)

    erase_ = sub.add_parser(
        "erase", help="erase one person's items everywhere (raw, quarantine, marts rebuilt); writes audit.erasures",
        description="Erases every item of one person from the raw layer and the quarantine, in one transaction, "
                    "then rebuilds the marts; audit.erasures records the pseudonym and the counts, never the "
                    "value given. Not reached: the landing zone's files and backups (README, 'Erasing a person').")
    who = erase_.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="a reviewer's e-mail (Yotpo)")
    who.add_argument("--handle", help="a platform handle or nickname (@ optional): TikTok, Instagram, the "
                                      "ambassador roster (then every item of that ambassador), retailer nickname")
    who.add_argument("--name", help="a reviewer's or display name (Yotpo, Google): every person of that name")
    who.add_argument("--id", help="a pseudonym as the warehouse holds it (64 hex digits)")
    erase_.add_argument("--dry-run", action="store_true", help="count what would be erased, change nothing")
    erase_.set_defaults(func=cmd_erase)

    sub.add_parser("summary", help="print the KPI summary of the warehouse").set_defaults(func=cmd_summary)

    docs = sub.add_parser("docs", help="regenerate the marts' data dictionary")
    docs.add_argument("--output", default=str(PROJECT_DIR / "docs" / "data_dictionary.md"))
    docs.set_defaults(func=cmd_docs)

    dbt = sub.add_parser(
        "dbt", add_help=False, help="run dbt on the configured warehouse (UGC_* settings), e.g. dbt build",
        description="Every argument goes to dbt; the profile comes from UGC_WAREHOUSE_URL, the artifacts and the "
                    "docs site go to UGC_DBT_DIR/target.")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="dbt's command and options")
    dbt.set_defaults(func=cmd_dbt)

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["dbt"]:  # everything after `dbt` is dbt's, options first included (dbt --version)
        args = parser.parse_args(["dbt"])
        args.dbt_args = argv[1:]
    else:
        args = parser.parse_args(argv)
    from ugc_pipeline.runner import RunBusy, RunInterrupted, RunStop
    from ugc_pipeline.warehouse import WarehouseUnavailable

    args.stop = RunStop()
    try:
        with args.stop.signals():
            return args.func(args)
    except SettingsError as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE
    except (WarehouseUnavailable, RunBusy) as exc:  # nothing ran
        _say(f"error: {exc}; nothing was run")
        return EXIT_NOT_STARTED
    except RunInterrupted as exc:  # before the first day, or a second signal
        _say(f"Stopped: {exc}")
        return 128 + exc.signum


if __name__ == "__main__":
    sys.exit(main())
