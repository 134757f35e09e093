"""No secret of the warehouse URL in the settings line, in errors or in logs, whatever the form:
a password in the user info, a ``password=`` query parameter, other secret-looking query keys
(``sslpassword``, ``token``...), malformed URLs included."""

from __future__ import annotations

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
