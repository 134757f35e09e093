"""Alerts a team can point anywhere: what every DAG's tasks share (``dag_default_args``) and the
failure notifier behind it, plus the marts deadline's rule.

**Failure notifier.** Every task of every DAG has ``FailureNotifier`` as its
``on_failure_callback`` (a task that failed for good: after its last retry). It sends one alert
to each Airflow connection listed in ``UGC_ALERT_CONN_IDS`` (environment, or an Airflow Variable
of that name, read when the alert goes out, so changing it needs no restart):

- a connection of type ``smtp`` (or ``email``): an e-mail through the SMTP provider's
  ``SmtpNotifier`` (host, port, login/password of the connection; extras ``to`` (required,
  comma-separated), ``from_email``, ``disable_tls``/``disable_ssl``...);
- a connection of type ``http`` (or ``https``): a JSON POST to a webhook (Slack and Microsoft
  Teams incoming webhooks, Mattermost, a chat-ops relay...): the URL is the host (a full URL, as
  Slack gives it) or ``schema://host:port``, plus the extra ``endpoint``; the password, if any,
  goes as ``Authorization: Bearer``. The body has ``text`` (what Slack and Teams show) and the
  fields ``dag_id``, ``task_id``, ``run_id``, ``try_number``, ``logical_date``, ``error``, ``log_url``.

The alert says which DAG, task and run failed, the first line of the error and the link to the
task's log (``[api] base_url`` of the Airflow configuration). Secrets never travel: the error
goes through Airflow's secrets masker (connection passwords, masked variables, the warehouse
URL's password); connection credentials, URLs and hosts are never logged, only connection ids.
A notifier that cannot deliver logs why and never fails or hides the task's own failure.

**Marts deadline.** ``deadline_window``: the marts must have been refreshed between midnight
and ``UGC_MARTS_DEADLINE`` (local time in ``UGC_TIMEZONE``) of each day; the
``ugc_marts_deadline`` DAG checks it at that time (why not a ``DeadlineAlert``: docs/DECISIONS.md).

Importing this module is cheap (DAG files import it at parse time).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
from airflow.sdk import BaseNotifier

from ugc_pipeline.settings import ALERT_CONN_IDS, alert_conn_ids, task_timeout_minutes_from_env

log = logging.getLogger(__name__)

OWNER = "data-engineering"
SMTP_TYPES = ("smtp", "email")
WEBHOOK_TYPES = ("http", "https")
WEBHOOK_TIMEOUT_SECONDS = 10


def dag_default_args(retries: int) -> dict[str, Any]:
    """The ``default_args`` of every DAG: owner, retries 5 minutes apart, an execution timeout
    (``UGC_TASK_TIMEOUT_MINUTES``, read when the DAG file is parsed) and the failure notifier."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": pendulum.duration(minutes=5),
        "execution_timeout": timedelta(minutes=task_timeout_minutes_from_env()),
        "on_failure_callback": [FailureNotifier()],
    }


class FailureNotifier(BaseNotifier):
    """Sends a failed task's alert to every connection of ``UGC_ALERT_CONN_IDS``."""

    template_fields = ()

    def notify(self, context: dict[str, Any]) -> None:
        try:
            conn_ids = configured_conn_ids()
            if not conn_ids:
                log.info("task failed; no alert sent: %s is empty", ALERT_CONN_IDS)
                return
            alert = Alert.from_context(context)
        except Exception as exc:  # an alert must never hide the task's own failure
            log.error("could not prepare the failure alert: %s", type(exc).__name__)
            return
        for conn_id in conn_ids:
            try:
                send(conn_id, alert, context)
                log.info("failure alert sent to connection %s", conn_id)
            except Exception as exc:
                log.error("could not send the failure alert to connection %s: %s", conn_id,
                          _redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))


def configured_conn_ids() -> tuple[str, ...]:
    """``UGC_ALERT_CONN_IDS``: an Airflow Variable of that name, else the environment."""
    value = os.environ.get(ALERT_CONN_IDS)
    try:
        from airflow.sdk import Variable

        value = Variable.get(ALERT_CONN_IDS, default=None) or value
    except Exception as exc:  # no API server (plain unit tests): environment only
        log.debug("Airflow Variables unavailable: %s", exc)
    return alert_conn_ids(value)


class Alert:
    """What an alert says, built from a failed task's context, secrets masked."""

    def __init__(self, dag_id: str, task_id: str, run_id: str, try_number: int | None, logical_date: str | None,
                 error: str, log_url: str | None):
        self.dag_id, self.task_id, self.run_id = dag_id, task_id, run_id
        self.try_number, self.logical_date = try_number, logical_date
        self.error, self.log_url = _redact(error), log_url

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> Alert:
        ti = context.get("ti") or context.get("task_instance")
        exception = context.get("exception")
        error = (str(exception).splitlines()[0] if exception is not None and str(exception)
                 else type(exception).__name__ if exception is not None else "the task failed")
        logical = context.get("logical_date")
        return cls(dag_id=getattr(ti, "dag_id", None) or str(getattr(context.get("dag"), "dag_id", "?")),
                   task_id=getattr(ti, "task_id", "?"), run_id=getattr(ti, "run_id", None) or str(context.get("run_id")),
                   try_number=getattr(ti, "try_number", None),
                   logical_date=logical.isoformat() if logical is not None else None,
                   error=error[:1000], log_url=_log_url(ti))

    @property
    def subject(self) -> str:
        return f"[UGC pipeline] {self.dag_id}.{self.task_id} failed (run {self.run_id})"

    @property
    def text(self) -> str:
        lines = [self.subject, f"DAG: {self.dag_id}", f"Task: {self.task_id}", f"Run: {self.run_id}"]
        if self.try_number is not None:
            lines.append(f"Try: {self.try_number}")
        if self.logical_date:
            lines.append(f"Logical date: {self.logical_date}")
        lines.append(f"Error: {self.error}")
        if self.log_url:
            lines.append(f"Log: {self.log_url}")
        return "\n".join(lines)

    def html(self) -> str:
        from html import escape

        rows = [("DAG", self.dag_id), ("Task", self.task_id), ("Run", self.run_id), ("Try", self.try_number),
                ("Logical date", self.logical_date), ("Error", self.error)]
        cells = "".join(f"<tr><td>{k}</td><td>{escape(str(v))}</td></tr>" for k, v in rows if v is not None)
        link = (f'<p>Log: <a href="{escape(self.log_url, quote=True)}">{escape(self.log_url)}</a></p>'
                if self.log_url else "")
        return f"<p>{escape(self.subject)}</p><table>{cells}</table>{link}"

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "dag_id": self.dag_id, "task_id": self.task_id, "run_id": self.run_id,
                "try_number": self.try_number, "logical_date": self.logical_date, "error": self.error,
                "log_url": self.log_url}


def send(conn_id: str, alert: Alert, context: dict[str, Any]) -> None:
    """Deliver ``alert`` through the connection ``conn_id``, by its type."""
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    kind = (conn.conn_type or "").lower()
    if kind in SMTP_TYPES:
        _send_email(conn_id, conn, alert, context)
    elif kind in WEBHOOK_TYPES:
        _post_webhook(conn, alert)
    else:
        raise ValueError(f"connection {conn_id} is of type {kind or 'none'}; an alert connection is of type "
                         f"{'/'.join(SMTP_TYPES)} (e-mail) or {'/'.join(WEBHOOK_TYPES)} (webhook)")


def _send_email(conn_id: str, conn, alert: Alert, context: dict[str, Any]) -> None:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    extra = conn.extra_dejson
    to = [a.strip() for a in str(extra.get("to") or "").split(",") if a.strip()]
    if not to:
        raise ValueError(f"connection {conn_id} has no recipients: give them in its extra 'to' (comma-separated)")
    notifier = SmtpNotifier(to=to, from_email=extra.get("from_email") or None, smtp_conn_id=conn_id,
                            subject=alert.subject, html_content=alert.html())
    notifier.notify(context)


def _post_webhook(conn, alert: Alert) -> None:
    import requests

    extra = conn.extra_dejson
    host = conn.host or ""
    if "://" in host:
        base = host
    else:
        base = f"{conn.schema or 'https'}://{host}" + (f":{conn.port}" if conn.port else "")
    endpoint = str(extra.get("endpoint") or "").lstrip("/")
    url = f"{base.rstrip('/')}/{endpoint}" if endpoint else base
    headers = {"Content-Type": "application/json"}
    if conn.password:
        headers["Authorization"] = f"Bearer {conn.password}"
    response = requests.post(url, data=json.dumps(alert.payload()), headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)
    if response.status_code >= 300:
        raise RuntimeError(f"the webhook answered HTTP {response.status_code}")


def _log_url(ti) -> str | None:
    try:
        return ti.log_url if ti is not None else None
    except Exception:
        return None


def _redact(text: str) -> str:
    """``text`` through Airflow's secrets masker (every secret registered in this process)."""
    try:
        from airflow.sdk._shared.secrets_masker import redact

        return str(redact(text))
    except Exception:
        return text


# -- the marts deadline ------------------------------------------------------------------------------

def deadline_window(reference: datetime, tz: str, deadline: tuple[int, int]) -> tuple[datetime, datetime]:
    """The window in which the marts must have been refreshed, for a deadline check run at
    ``reference`` (its logical date, or when a manual run was triggered): from midnight to the
    deadline of the last local day whose deadline has passed by ``reference``."""
    zone = ZoneInfo(tz)
    local = reference.astimezone(zone) if reference.tzinfo else reference.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    due = time(*deadline)
    day = local.date() if local.time() >= due else local.date() - timedelta(days=1)
    return datetime.combine(day, time(0), zone), datetime.combine(day, due, zone)


def marts_deadline_task(context: dict[str, Any], marts_asset, tz: str, deadline: tuple[int, int]) -> dict:
    """Body of ``ugc_marts_deadline.check_marts_refreshed``: fails (notifier: the deadline alert)
    unless the marts asset was updated between midnight and the deadline of the day."""
    from airflow.sdk.exceptions import AirflowFailException

    dag_run = context.get("dag_run")
    reference = context.get("logical_date") or getattr(dag_run, "run_after", None) or datetime.now(ZoneInfo(tz))
    start, end = deadline_window(reference, tz, deadline)
    events = context["inlet_events"][marts_asset]
    refreshed = list(events.after(start.isoformat()).before(end.isoformat()).ascending(False).limit(1))
    if refreshed:
        at = refreshed[0].timestamp.astimezone(ZoneInfo(tz))
        log.info("marts refreshed at %s, before the deadline %s", at.isoformat(), end.isoformat())
        return {"refreshed_at": at.isoformat(), "deadline": end.isoformat()}
    last = list(context["inlet_events"][marts_asset].before(end.isoformat()).ascending(False).limit(1))
    since = (f"last refreshed {last[0].timestamp.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M %Z}" if last
             else "never refreshed")
    raise AirflowFailException(
        f"the marts were not refreshed by {end:%H:%M} ({tz}) on {end.date()} ({since}): the daily ugc_ingest run of "
        f"{end.date() - timedelta(days=1)} or its ugc_marts run did not complete in time; see their runs")
