"""What the DAG files need from the package, kept apart so that they stay thin.

Importing this module is cheap (no pandas, no DuckDB, no database): DAG files import it at
parse time; the task bodies import the heavy modules lazily, inside the running task.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ugc_pipeline.settings import DEFAULT_TIMEZONE, SETTING_NAMES, Settings

log = logging.getLogger(__name__)

# Assets: one per warehouse layer. The ingest (and replay) DAGs emit raw and staging; the marts
# DAG is scheduled on them and emits marts. URIs name the layer, not a deployment's warehouse.
RAW_ASSET_URI = "ugc://warehouse/raw"
STAGING_ASSET_URI = "ugc://warehouse/staging"
MARTS_ASSET_URI = "ugc://warehouse/marts"


def layer_assets():
    """(raw, staging, marts) as Airflow Assets, for the DAG files."""
    from airflow.sdk import Asset

    return tuple(Asset(name=f"ugc_{layer}", uri=uri, group="ugc_warehouse") for layer, uri in
                 (("raw", RAW_ASSET_URI), ("staging", STAGING_ASSET_URI), ("marts", MARTS_ASSET_URI)))


def schedule_timezone() -> str:
    """The zone the daily timetable runs in: UGC_TIMEZONE from the environment (no I/O)."""
    return os.environ.get("UGC_TIMEZONE") or DEFAULT_TIMEZONE


def settings_in_task() -> Settings:
    """Settings for a running task: environment, overridden by Airflow Variables of the same
    name when they exist (a deployment can set them in the UI without a restart)."""
    overrides: dict[str, str | None] = {}
    try:
        overrides = _variable_overrides()
    except Exception as exc:  # no API server reachable (e.g. plain unit tests): env only
        log.debug("Airflow Variables unavailable, using the environment only: %s", exc)
    settings = with_warehouse_connection(Settings.load(overrides=overrides))
    if not settings.pii_key:
        settings = dataclasses.replace(settings, pii_key=_pii_key_from_connection())
    _mask_url_secrets(settings)
    # the warehouse's connections read their DuckDB lock wait from the environment
    os.environ["UGC_LOCK_WAIT_SECONDS"] = str(settings.lock_wait_seconds)
    return settings


def _variable_overrides() -> dict[str, str | None]:
    """The Airflow Variable of each setting's name, or None, as ``Variable.get`` finds it (a secrets
    backend, ``AIRFLOW_VAR_<NAME>``, then the metadata DB through the execution API).

    Asked name by name, that is one request to the API server per setting (20) in every task,
    mostly answered "not found": about a third of the requests of a ``ugc_ingest`` + ``ugc_marts``
    day. So one request lists the names the metadata DB holds (``Variable.keys``), ``Variable.get``
    is called for those, and the other names are looked up in the local backends only (the
    environment, a configured secrets backend), which ``Variable.keys`` does not list."""
    from airflow.sdk import Variable

    try:
        from airflow.sdk.execution_time.secrets.execution_api import ExecutionAPISecretsBackend
        from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

        local = [b for b in ensure_secrets_backend_loaded() if not isinstance(b, ExecutionAPISecretsBackend)]
    except ImportError:  # another Task SDK layout: name by name
        return {name: Variable.get(name, default=None) for name in SETTING_NAMES}
    try:
        stored = set(Variable.keys(prefix="UGC_"))
    except Exception as exc:  # outside a task (no execution API): the local backends are all there is
        log.debug("Airflow Variable names unavailable: %s", exc)
        stored = set()
    overrides: dict[str, str | None] = {}
    for name in SETTING_NAMES:
        if name in stored:
            overrides[name] = Variable.get(name, default=None)
            continue
        overrides[name] = None
        for backend in local:
            try:
                value = backend.get_variable(key=name)
            except Exception as exc:  # as Variable.get: a backend that fails is passed over, unless it denies
                if type(exc).__name__ == "AirflowSecretsBackendAccessDenied":
                    raise
                log.warning("secrets backend %s: %s", type(backend).__name__, exc)
                continue
            if value is not None:
                overrides[name] = value
                break
    return overrides


def with_warehouse_connection(settings: Settings) -> Settings:
    """``settings`` with the warehouse of the Airflow connection ``UGC_WAREHOUSE_CONN_ID``
    (``ugc_warehouse``) when that connection exists, read with the Postgres provider's hook; else
    as they are (``UGC_WAREHOUSE_URL``, the embedded DuckDB by default: no connection needed)."""
    import dataclasses

    from ugc_pipeline.connections import warehouse_url_from_connection
    from ugc_pipeline.settings import redact_url

    url = warehouse_url_from_connection(settings.warehouse_conn_id)
    if url is None:
        return settings
    log.info("warehouse: the Airflow connection %s (%s)", settings.warehouse_conn_id, redact_url(url))
    return dataclasses.replace(settings, warehouse_url=url)


def _pii_key_from_connection() -> str:
    """The pseudonymisation key kept in Airflow: the password of the connection ``ugc_pii_key``
    (UI, CLI, a secrets backend, ``AIRFLOW_CONN_UGC_PII_KEY``); "" when there is none."""
    from ugc_pipeline.pii import PII_CONN_ID

    try:
        from airflow.sdk import Connection

        return Connection.get(PII_CONN_ID).password or ""
    except Exception as exc:  # no such connection (the usual case: UGC_PII_KEY or the DuckDB key file)
        log.debug("no Airflow connection %s: %s", PII_CONN_ID, type(exc).__name__)
        return ""


def _mask_url_secrets(settings: Settings) -> None:
    """A password in UGC_WAREHOUSE_URL (user info or ``?password=``) or in UGC_LANDING_URI, and the
    pseudonymisation key, are registered with Airflow's log masker: whatever prints it in a task log shows ``***``."""
    from ugc_pipeline.settings import url_secrets

    secrets = [*url_secrets(settings.warehouse_url), *url_secrets(settings.landing_uri),
               *filter(None, [settings.pii_key])]
    if not secrets:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow is installed wherever tasks run
        return
    for secret in secrets:
        mask_secret(secret)


def delivery_date_for(context: dict[str, Any], tz: str) -> date:
    """The delivery day a run processes, chosen deliberately:

    1. the ``delivery_date`` param, when a user triggers a run for a given day;
    2. else the run's logical date, as a calendar day in UGC_TIMEZONE (scheduled runs, backfills,
       manual runs with a logical date): the timetable's interval [D 00:00, D+1 00:00) is day D;
    3. else (a manual run without a logical date) the last complete day before the run was
       triggered, in UGC_TIMEZONE.
    """
    params = context.get("params") or {}
    chosen = params.get("delivery_date")
    if chosen:
        return date.fromisoformat(str(chosen))
    zone = ZoneInfo(tz)
    logical = context.get("logical_date")
    if logical is not None:
        return _as_aware(logical).astimezone(zone).date()
    dag_run = context.get("dag_run")
    run_after = getattr(dag_run, "run_after", None) or datetime.now(zone)
    day = _as_aware(run_after).astimezone(zone).date() - timedelta(days=1)
    log.info("manual run without a logical date: processing the last complete day, %s", day)
    return day


def delivery_days_for(context: dict[str, Any], tz: str) -> list[date]:
    """The delivery days a run processes: its day (``delivery_date_for``) or, when the
    ``through_date`` param is set, every day from the ``delivery_date`` param to it, in order (a
    backfill: each source task loads the days one after another, the marts build once)."""
    params = context.get("params") or {}
    through = params.get("through_date")
    if not through:
        return [delivery_date_for(context, tz)]
    if not params.get("delivery_date"):
        raise ValueError("through_date needs delivery_date: the first day of the range")
    first, last = date.fromisoformat(str(params["delivery_date"])), date.fromisoformat(str(through))
    if last < first:
        raise ValueError(f"through_date {last} is before delivery_date {first}")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _as_aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))


def run_id_of(context: dict[str, Any]) -> str:
    return str(context.get("run_id") or "manual")


@contextlib.contextmanager
def warehouse_errors(settings: Settings, what: str) -> Iterator[None]:
    """A warehouse that cannot be reached fails the task with one line (which warehouse,
    redacted, and why) instead of the driver's chained traceback. It stays an ordinary error:
    under a scheduler the task is retried (a restarted server comes back); ``ugc-pipeline run``
    runs the DAGs without retries."""
    try:
        yield
    except Exception as exc:
        from ugc_pipeline.settings import redact_url
        from ugc_pipeline.warehouse import WarehouseUnavailable, unreachable

        why = None if isinstance(exc, WarehouseUnavailable) else unreachable(exc, settings.warehouse_url)
        if why is None:
            raise
        raise WarehouseUnavailable(
            f"{what}: the warehouse {redact_url(settings.warehouse_url)} cannot be reached: {why}") from None


def run_ingest_task(source: str, context: dict[str, Any]) -> dict:
    """Body of an ``ingest_<source>`` task: a broken delivery fails without retries (re-reading
    the same file cannot fix it) and with a one-line message; other errors may be retried.

    Over a range of days (a backfill), each day is its own delivery, transaction and run record,
    loaded in order; a broken delivery does not stop the later days, and the task fails at the
    end naming every day that failed. A warehouse that cannot be reached stops it at once."""
    from airflow.sdk.exceptions import AirflowFailException

    from ugc_pipeline.pipeline import ingest_days

    settings = settings_in_task()
    days = delivery_days_for(context, settings.timezone)
    what = f"{days[0]}" if len(days) == 1 else f"{days[0]} to {days[-1]} ({len(days)} days)"
    log.info("ingesting %s for delivery day %s (%s)", source, what, settings.describe())
    with warehouse_errors(settings, f"{source} {what}"):
        ingested = ingest_days(source, days, settings, run_id_of(context))
    totals = {"records_read": 0, "records_loaded": 0, "records_rejected": 0, "records_withdrawn": 0}
    broken: list[str] = []
    status = "no_delivery"
    for day in ingested:
        if day.error is not None:
            if len(days) == 1:
                raise AirflowFailException(f"{source} {days[0]}: {day.error}") from None
            broken.append(f"{day.result.delivery_date}: {str(day.error).splitlines()[0]}")
            continue
        for key in totals:
            totals[key] += getattr(day.result, key)
        status = "success" if day.result.status == "success" or status == "success" else day.result.status
    if broken:
        raise AirflowFailException(f"{source}: {len(broken)} of {len(days)} deliveries failed (each other day "
                                   "loaded; rerun these after the fix): " + "; ".join(broken))
    out = {"source": source, "delivery_date": days[0].isoformat(), "status": status, **totals}
    if len(days) > 1:
        out["through_date"] = days[-1].isoformat()
    return out


def check_deliveries_task(context: dict[str, Any]) -> dict:
    """Body of ``check_deliveries``: fails (without retries: the same history gives the same
    verdict; rerun the day once the files are there) when no source delivered anything, when a
    required source is missing for more days than allowed, or when a delivery is far below its
    source's recent average (``ugc_pipeline.checks``); logs what it judged either way."""
    from airflow.sdk.exceptions import AirflowFailException

    from ugc_pipeline.checks import check_deliveries

    settings = settings_in_task()
    days = delivery_days_for(context, settings.timezone)
    with warehouse_errors(settings, "checking the deliveries"):
        report = check_deliveries(settings, days, run_id_of(context))
    for line in report.lines:
        log.info("%s", line)
    if report.problems:
        for problem in report.problems:
            log.error("%s", problem)
        raise AirflowFailException(f"deliveries of {report.day}: " + "; ".join(report.problems))
    log.info("deliveries of %s: as expected (required sources: %s)", report.day,
             ", ".join(settings.required_sources) or "none")
    return {"day": report.day.isoformat(), "checked": report.lines}


def publish_staging_task(results: list[dict]) -> dict:
    """Body of ``publish_staging``: the staging asset is emitted (and so ``ugc_marts`` rebuilds)
    only when the run changed the raw layer: a day on which no source delivered anything (and
    nothing was withdrawn) is skipped, not published (``check_deliveries`` fails it)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from ugc_pipeline.warehouse import create_warehouse_engine, ensure_warehouse

    if results and all(r.get("status") == "no_delivery" and not r.get("records_withdrawn") for r in results):
        raise AirflowSkipException("no source delivered anything: the staging asset is not published and the marts "
                                   "are not rebuilt (check_deliveries says more)")
    ensure_warehouse(create_warehouse_engine(settings_in_task().warehouse_url))
    return {r["source"]: r["records_loaded"] for r in results}


def run_pull_task(source: str, context: dict[str, Any]) -> dict:
    """Body of a ``pull_<source>`` task: the day's pages from the platform's API into the landing
    zone. Credentials come from the source's Airflow connection (their secrets are masked in the
    logs); an expired token or a deprecated field fails at once, throttling and 5xx that outlast
    the HTTP retries fail the try, and the next try resumes from the last landed page."""
    from airflow.sdk.exceptions import AirflowFailException

    from ugc_pipeline.extract import Credentials, PullError, pull_source

    settings = settings_in_task()
    force = bool((context.get("params") or {}).get("force_pull"))
    results = []
    for day in delivery_days_for(context, settings.timezone):  # a backfill pulls its days in order
        log.info("pulling %s for delivery day %s%s", source, day, " (forced: landed pages are replaced)" if force else "")
        try:
            results.append(pull_source(source, day, settings, Credentials.from_airflow, force=force).as_dict())
        except PullError as exc:
            raise AirflowFailException(f"{source} {day}: {exc}") from None
    return results[0] if len(results) == 1 else {"days": results}  # counts and cursors only: never a token


def quarantined_deliveries_task(context: dict[str, Any]) -> list[dict]:
    from ugc_pipeline.pipeline import quarantined_deliveries

    params = context.get("params") or {}
    start, end = params.get("from_date"), params.get("to_date")
    settings = settings_in_task()
    with warehouse_errors(settings, "listing the quarantine"):
        pairs = quarantined_deliveries(settings, params.get("source") or None,
                                       date.fromisoformat(start) if start else None,
                                       date.fromisoformat(end) if end else None)
    log.info("%d deliveries with quarantined records: %s", len(pairs), pairs)
    return [{"source": s, "delivery_date": d.isoformat()} for s, d in pairs]


def replay_delivery_task(delivery: dict, context: dict[str, Any]) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from ugc_pipeline.parse import DeliveryError
    from ugc_pipeline.pipeline import ingest_source

    day = date.fromisoformat(delivery["delivery_date"])
    settings = settings_in_task()
    try:
        with warehouse_errors(settings, f"{delivery['source']} {day}"):
            result = ingest_source(delivery["source"], day, settings, run_id_of(context))
    except DeliveryError as exc:
        raise AirflowFailException(f"{delivery['source']} {day}: {exc}") from None
    return {"source": result.source, "delivery_date": result.delivery_date,
            "records_loaded": result.records_loaded, "records_rejected": result.records_rejected}


def erase_task(context: dict[str, Any]) -> dict:
    """Body of ``ugc_erase``: the personal value given is masked in the task log before anything
    runs; what the task returns (XCom) and logs is the pseudonym and the counts."""
    from airflow.sdk.exceptions import AirflowFailException

    from ugc_pipeline.erasure import ErasureError, erase

    params = context.get("params") or {}
    who = {k: (str(params[k]) if params.get(k) else None) for k in ("email", "handle", "name", "id")}
    try:
        from airflow.sdk.log import mask_secret

        for key in ("email", "handle", "name"):
            if who[key]:
                mask_secret(who[key])
    except ImportError:  # pragma: no cover
        pass
    settings = settings_in_task()
    try:
        with warehouse_errors(settings, "erasure"):
            result = erase(settings, run_id=run_id_of(context), dry_run=bool(params.get("dry_run")), **who)
    except ErasureError as exc:
        raise AirflowFailException(str(exc).replace("--", "")) from None
    if result.marts == "failed":
        raise AirflowFailException(f"{result.summary()}: the marts rebuild failed; the next ugc_marts run "
                                   "rebuilds them (the erasure itself is committed)")
    return result.as_dict()  # the pseudonym and the counts: never the value given


def data_docs_task() -> str | None:
    """Rebuild the GX Data Docs under UGC_GX_DIR from the stored validation results."""
    from ugc_pipeline.validation import build_data_docs

    settings = settings_in_task()
    url = build_data_docs(settings.gx_dir or None)
    log.info("GX Data Docs: %s", url or "none (UGC_GX_DIR is empty: validation results are kept in memory)")
    return url
