"""No secret of the warehouse URL in the settings line, in errors or in logs, whatever the form:
a password in the user info, a ``password=`` query parameter, other secret-looking query keys
(``sslpassword``, ``token``...), malformed URLs included."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from ugc_pipeline import cli, warehouse
from ugc_pipeline.settings import SETTING_NAMES, Settings, SettingsError, redact_url, url_secrets

SECRET = "s3cret-Pw"

# (URL, what must still be shown): every form a password can take in a URL
URLS = [
    (f"postgresql+psycopg://ugc:{SECRET}@db.example:5432/ugc", "postgresql+psycopg://ugc:***@db.example:5432/ugc"),
    (f"postgresql+psycopg://ugc@db.example/ugc?password={SECRET}", "postgresql+psycopg://ugc@db.example/ugc?password=***"),
    (f"postgresql://ugc@h/ugc?sslmode=verify-full&sslpassword={SECRET}&connect_timeout=5",
     "postgresql://ugc@h/ugc?sslmode=verify-full&sslpassword=***&connect_timeout=5"),
    (f"postgresql://h/ugc?token={SECRET}", "postgresql://h/ugc?token=***"),
    (f"postgresql://h/ugc?api_key={SECRET};application_name=x", "postgresql://h/ugc?api_key=***;application_name=x"),
    (f"postgresql://h/ugc?PassWord={SECRET}", "postgresql://h/ugc?PassWord=***"),
    (f"postgresql://h/ugc?pass%77ord={SECRET}", "postgresql://h/ugc?pass%77ord=***"),
    # an unescaped @, / or ? inside the password
    (f"postgresql://ugc:{SECRET}@x/y?z@h/ugc", "postgresql://ugc:***@h/ugc"),
    (f"postgresql://ugc:{SECRET}?@h/ugc", "postgresql://ugc:***@h/ugc"),
    # malformed: no "://"
    (f"postgres:ugc:{SECRET}@h/ugc", "***@h/ugc"),
    ("duckdb:///data/warehouse.duckdb", "duckdb:///data/warehouse.duckdb"),
    ("airflow://ugc_warehouse", "airflow://ugc_warehouse"),
]


@pytest.mark.parametrize(("url", "shown"), URLS)
def test_redacted_urls_keep_everything_but_the_secret(url, shown):
    assert redact_url(url) == shown
    assert SECRET not in redact_url(url)


@pytest.mark.parametrize(("url", "_shown"), [u for u in URLS if SECRET in u[0] and "://" in u[0]])
def test_the_settings_line_has_no_secret(url, _shown):
    try:
        settings = Settings(warehouse_url=url)
    except SettingsError as exc:  # a URL SQLAlchemy cannot read: the error is redacted too
        assert SECRET not in str(exc)
        return
    line = settings.describe()
    assert SECRET not in line
    assert "warehouse=" + redact_url(url) in line
    assert any(SECRET in secret for secret in url_secrets(url))  # what the task log masker is given


@pytest.mark.parametrize("url", [
    f"postgresql+psycopg://ugc:{SECRET}@h:notaport/ugc",       # SQLAlchemy fails on the port
    f"postgres ql://ugc:{SECRET}@h/ugc?password={SECRET}",     # not a URL SQLAlchemy can parse
    f"postgres:ugc:{SECRET}@h/ugc",                            # no "://"
    f"ugc:{SECRET}@h",
])
def test_a_malformed_url_is_refused_with_a_redacted_form(url):
    with pytest.raises(SettingsError) as caught:
        Settings(warehouse_url=url)
    assert SECRET not in str(caught.value)
    assert "UGC_WAREHOUSE_URL=" in str(caught.value) and "***" in str(caught.value)


def test_the_command_line_prints_no_secret_for_a_malformed_url(monkeypatch, capsys):
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UGC_WAREHOUSE_URL", f"postgresql+psycopg://ugc:{SECRET}@h:5432x/ugc?password={SECRET}")

    assert cli.main(["run", "--start", "2025-05-05"]) == 2

    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    assert "error: UGC_WAREHOUSE_URL='postgresql+psycopg://ugc:***@h:5432x/ugc?password=***'" in out.out


def test_the_engine_keeps_query_secrets_out_of_its_url():
    engine = warehouse.create_warehouse_engine(
        f"postgresql+psycopg://ugc@db.example/ugc?password={SECRET}&sslpassword={SECRET}&sslmode=require")
    assert SECRET not in repr(engine)
    assert SECRET not in engine.url.render_as_string(hide_password=False)
    assert engine.url.query == {"sslmode": "require"}


def test_the_task_log_masker_hides_the_url_secrets(monkeypatch):
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact
    from ugc_pipeline.airflow_support import settings_in_task

    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UGC_WAREHOUSE_URL", f"postgresql+psycopg://ugc:pw-{SECRET}@h/ugc?password=q-{SECRET}")

    settings_in_task()

    message = redact(f"could not connect to {settings_in_task().warehouse_url}")
    assert SECRET not in message


def test_the_warehouse_connections_password_stays_out_of_the_settings_line_and_the_task_log(monkeypatch):
    """The warehouse as the Airflow connection ``ugc_warehouse``: its password reaches neither the
    CLI's settings line nor a task log line that prints the resolved URL."""
    import json

    from airflow.sdk._shared.secrets_masker.secrets_masker import redact
    from ugc_pipeline.airflow_support import settings_in_task

    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_UGC_WAREHOUSE", json.dumps({
        "conn_type": "postgres", "host": "db.example", "port": 5432, "login": "ugc", "password": f"c-{SECRET}",
        "schema": "ugc"}))

    line = cli._settings().describe()  # outside Airflow: the connection the environment gives
    assert "warehouse=postgresql+psycopg://ugc:***@db.example:5432/ugc" in line and SECRET not in line
    settings = settings_in_task()
    assert settings.warehouse_url.startswith("postgresql+psycopg://ugc:") and "@db.example:5432/ugc" in settings.warehouse_url
    assert SECRET not in redact(f"could not connect to {settings.warehouse_url}")


def test_the_dbt_profile_mapping_uses_the_warehouse_connection_without_its_password(monkeypatch):
    """Cosmos' profile of the marts DAG is the ``ugc_warehouse`` connection's database; the
    password is handed to dbt in the environment only, never written into the profile."""
    import json

    from ugc_pipeline.marts_dag import _profile_mapping_class
    from ugc_pipeline.transform import PASSWORD_ENV

    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_UGC_WAREHOUSE", json.dumps({
        "conn_type": "postgres", "host": "db.example", "port": 6432, "login": "ugc", "password": f"d-{SECRET}",
        "schema": "kpi", "extra": {"sslmode": "require"}}))
    mapping = _profile_mapping_class()()
    assert mapping.conn_id == "ugc_warehouse"
    profile = mapping.profile
    assert (profile["type"], profile["host"], profile["port"], profile["dbname"], profile["user"], profile["sslmode"]) == (
        "postgres", "db.example", 6432, "kpi", "ugc", "require")
    assert SECRET not in json.dumps(profile)
    assert mapping.env_vars[PASSWORD_ENV] == f"d-{SECRET}"


def test_no_secret_nor_personal_value_in_task_logs_xcom_or_run_records(airflow_runner, tmp_path, monkeypatch, capfd):
    """Through Airflow: an ingest day and an erasure (``ugc_erase``, given the e-mail itself). The
    pseudonymisation key comes from the Airflow connection ``ugc_pii_key``; neither it, nor the
    e-mail, nor an API token of a connection appears in the task logs, the XComs, the run records
    or the erasure's audit row."""
    import json as _json

    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from support.pii import pseudonym
    from support.warehouse_env import Env
    from ugc_pipeline.runner import run_erase

    key, token, email = "pii-key-from-conn-4b1e", "yotpo-utoken-9c2f", "sophie.lambert@example.fr"
    monkeypatch.delenv("UGC_PII_KEY", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_UGC_PII_KEY", _json.dumps({"conn_type": "generic", "password": key}))
    monkeypatch.setenv("AIRFLOW_CONN_UGC_YOTPO", _json.dumps({"conn_type": "http", "login": "app", "password": token}))
    env = Env(tmp_path, gx_dir="", dbt_dir=str(tmp_path / "dbt"))
    day = "2025-05-06"
    env.write("yotpo_reviews", day, "page-1.json", {"reviews": [
        {"id": 1, "sku": "MV-OLV-500", "score": 5, "title": "Top", "content": "Très bonne huile",
         "created_at": "2025-05-06T08:00:00Z", "updated_at": "2025-05-06T08:00:00Z", "name": "Sophie L.",
         "email": email, "deleted": False},
        {"id": 2, "sku": "MV-OLV-500", "score": 9, "created_at": "2025-05-06T09:00:00Z", "email": email}]})

    [day_run] = airflow_runner.run_days([date.fromisoformat(day)], env.settings, build_marts_each_day=False,
                                        progress=lambda _m: None)
    assert day_run.ok, day_run
    # the key of the connection pseudonymised the e-mail, in raw and in the quarantine
    me = pseudonym("email", email, key)
    assert env.records("select email from raw.yotpo_reviews") == [{"email": me}]
    assert env.rejects("yotpo_reviews")[0]["raw"]["email"] == me
    env.close()

    state, run_id = run_erase(env.settings, {"email": email}, progress=lambda _m: None)

    assert state == "success"
    with create_session() as session:
        xcoms = [str(v) for v in session.scalars(select(XComModel.value).where(
            XComModel.dag_id.in_(["ugc_ingest", "ugc_erase"])))]
        erased = session.scalars(select(XComModel.value).where(XComModel.run_id == run_id)).all()
    assert any(me in str(v) for v in erased)  # the task reports the pseudonym...
    assert env.records("select count(*) as n from raw.yotpo_reviews") == [{"n": 0}] and env.rejects() == []
    logs = capfd.readouterr()
    records = _json.dumps(env.records("select * from audit.pipeline_runs") + env.records("select * from audit.erasures"),
                          default=str)
    files = "".join(p.read_text(errors="replace") for p in (Path(os.environ["AIRFLOW_HOME"]) / "logs").rglob("*")
                    if p.is_file()) if (Path(os.environ["AIRFLOW_HOME"]) / "logs").is_dir() else ""
    assert me in records
    for secret in (key, token, email):  # ...never the key, a token or the value it was given
        for where, text in (("task output", logs.out + logs.err), ("log files", files), ("XCom", "".join(xcoms)),
                            ("run records", records)):
            assert secret not in text, f"{secret} in the {where}"
    env.close()
