"""Alerts a team can point anywhere: a task that fails for good sends, through the connections of
``UGC_ALERT_CONN_IDS``, an e-mail (SMTP provider's notifier) and a webhook POST naming the DAG, the
task, the run and the log link, without any secret; the marts deadline check is such a task.

The alerts go to a real SMTP server and a real HTTP receiver on loopback, started by the test
(``support.alert_receivers``); the Airflow-level test runs the ``ugc_marts_deadline`` DAG through
Airflow (``dag.test``) on a day whose marts were never refreshed."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

import pytest
from support.alert_receivers import (
    RECIPIENTS,
    SMTP_LOGIN,
    SMTP_PASSWORD,
    WEBHOOK_TOKEN,
    alert_connections,
    smtp_server,
    webhook_server,
)
from ugc_pipeline.alerts import Alert, deadline_window

PARIS = ZoneInfo("Europe/Paris")
WAREHOUSE_PASSWORD = "wh-S3cret-5521"


@pytest.fixture
def receivers(monkeypatch):
    with smtp_server() as smtp, webhook_server() as hook:
        for name, value in alert_connections(smtp, hook).items():
            monkeypatch.setenv(name, value)
        yield smtp, hook


@pytest.mark.airflow
def test_a_missed_marts_deadline_fails_its_task_and_alerts_by_mail_and_webhook(airflow_runner, receivers, tmp_path,
                                                                               monkeypatch):
    smtp, hook = receivers
    # a warehouse password in the settings: whatever the tasks log or send, it must not travel
    monkeypatch.setenv("UGC_WAREHOUSE_URL", f"postgresql+psycopg://ugc:{WAREHOUSE_PASSWORD}@127.0.0.1:1/ugc")
    monkeypatch.setenv("UGC_TIMEZONE", "Europe/Paris")
    dag = airflow_runner.load_dags()["ugc_marts_deadline"]
    for task in dag.tasks:
        task.retries = 0  # dag.test would wait out the retry delay

    # the check of 2025-05-06 07:00 in Paris: nothing refreshed the marts since midnight
    dag_run = dag.test(logical_date=datetime(2025, 5, 6, 7, 0, tzinfo=PARIS))

    ti = dag_run.get_task_instance("check_marts_refreshed")
    assert str(ti.state) == "failed" and str(dag_run.state) == "failed"
    run_id = dag_run.run_id
    [mail] = smtp.mails
    assert smtp.logins == [SMTP_LOGIN]
    assert sorted(mail.recipients) == sorted(RECIPIENTS.split(","))
    assert mail.subject == f"[UGC pipeline] ugc_marts_deadline.check_marts_refreshed failed (run {run_id})"
    [post] = hook.posts
    assert post.path == "/services/T000/B000/alerts"
    assert post.headers["Authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    body = post.json()
    assert (body["dag_id"], body["task_id"], body["run_id"]) == ("ugc_marts_deadline", "check_marts_refreshed", run_id)
    assert body["error"].startswith("the marts were not refreshed by 07:00 (Europe/Paris) on 2025-05-06 "
                                    "(never refreshed)")
    assert "/dags/ugc_marts_deadline/runs/" in body["log_url"] and "/tasks/check_marts_refreshed" in body["log_url"]
    for label, value in (("DAG", "ugc_marts_deadline"), ("Task", "check_marts_refreshed"), ("Run", run_id)):
        assert f"<td>{label}</td><td>{escape(value)}</td>" in mail.body  # the e-mail (HTML)
        assert f"{label}: {value}" in body["text"]  # what Slack or Teams shows
    assert f'<a href="{escape(body["log_url"], quote=True)}">' in mail.body and f"Log: {body['log_url']}" in body["text"]
    assert "the marts were not refreshed by 07:00" in mail.body
    for secret in (SMTP_PASSWORD, WEBHOOK_TOKEN, WAREHOUSE_PASSWORD):
        assert secret not in mail.raw and secret not in post.body.decode()


def test_the_alert_masks_every_secret_registered_with_airflow():
    """An error message that carries a secret (a driver echoing its DSN, a token in a URL) goes out
    masked, as Airflow masks it in the task log."""
    from airflow.sdk.log import mask_secret

    mask_secret("tok-4471-secret")
    alert = Alert(dag_id="ugc_ingest", task_id="pull_yotpo_reviews", run_id="scheduled__2025-05-06", try_number=3,
                  logical_date=None, error="GET https://api.yotpo.com/v1?utoken=tok-4471-secret: 500",
                  log_url="http://airflow.example.com/dags/ugc_ingest/runs/scheduled__2025-05-06/tasks/pull_yotpo_reviews")
    assert "tok-4471-secret" not in alert.text and "tok-4471-secret" not in str(alert.payload())
    assert "utoken=***" in alert.error
    assert "Log: http://airflow.example.com/dags/ugc_ingest/runs/" in alert.text and "Try: 3" in alert.text


@pytest.mark.parametrize(("reference", "expected"), [
    # the scheduled check at the deadline: midnight to 07:00 of that day
    (datetime(2025, 5, 6, 7, 0, tzinfo=PARIS), ("2025-05-06T00:00:00+02:00", "2025-05-06T07:00:00+02:00")),
    # a manual check in the afternoon: today's deadline
    (datetime(2025, 5, 6, 15, 30, tzinfo=PARIS), ("2025-05-06T00:00:00+02:00", "2025-05-06T07:00:00+02:00")),
    # a manual check before today's deadline: yesterday's, whose deadline has passed
    (datetime(2025, 5, 6, 3, 0, tzinfo=PARIS), ("2025-05-05T00:00:00+02:00", "2025-05-05T07:00:00+02:00")),
    # the logical date in UTC (what Airflow stores) of the check of the day clocks go forward
    (datetime(2025, 3, 30, 5, 0, tzinfo=ZoneInfo("UTC")), ("2025-03-30T00:00:00+01:00", "2025-03-30T07:00:00+02:00")),
])
def test_the_deadline_window_is_midnight_to_the_deadline_in_the_kpi_timezone(reference, expected):
    start, end = deadline_window(reference, "Europe/Paris", (7, 0))
    assert (start.isoformat(), end.isoformat()) == expected
