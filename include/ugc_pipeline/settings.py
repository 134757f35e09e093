"""The one place that decides where the landing zone, the warehouse and the KPI calendar are.

Environment variables are the floor (contract section 1). Airflow Variables of the same name
override them when the code runs inside an Airflow task (``ugc_pipeline.airflow_support``);
nothing here imports Airflow, so the package is usable and testable without it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_LANDING_URI = "./data/landing"
DEFAULT_WAREHOUSE_URL = "duckdb:///data/warehouse.duckdb"
DEFAULT_TIMEZONE = "Europe/Paris"
DEFAULT_GX_DIR = "./data/gx"
# Where each marts run leaves dbt's artifacts and documentation site (target/, logs/).
DEFAULT_DBT_DIR = "./data/dbt"
# Airflow connections (ugc_pipeline.connections): the warehouse's, used when it exists (else
# UGC_WAREHOUSE_URL), and the one a remote landing zone is read through (Airflow object storage).
DEFAULT_WAREHOUSE_CONN_ID = "ugc_warehouse"
DEFAULT_LANDING_CONN_ID = "aws_default"

# Where every marts run writes the HTML KPI report (ugc_pipeline.report).
DEFAULT_REPORT_DIR = "./data/report"

SETTING_NAMES = ("UGC_LANDING_URI", "UGC_WAREHOUSE_URL", "UGC_TIMEZONE", "UGC_GX_DIR", "UGC_DBT_DIR", "UGC_MAX_REJECTED_SHARE",
                 "UGC_PULL_SOURCES", "UGC_PULL_LOOKBACK_DAYS", "UGC_PULL_REPULL_DAYS", "UGC_PULL_MAX_RETRIES",
                 "UGC_LOCK_WAIT_SECONDS", "UGC_BATCH_RECORDS", "UGC_SOURCE_CHECKS", "UGC_WAREHOUSE_CONN_ID",
                 "UGC_LANDING_CONN_ID", "UGC_MIN_SESSIONS", "UGC_MIN_ORDERS", "UGC_MIN_STORES_PER_ARM",
                 "UGC_PUBLISHED_WAREHOUSE", "UGC_REPORT_DIR")

# How long a run waits for a warehouse another process is using before it gives up: another
# ``ugc-pipeline`` run on the same DuckDB file or Airflow home, or DuckDB's own file lock when a
# connection opens (ugc_pipeline.runner, ugc_pipeline.warehouse). 0 = refuse at once.
DEFAULT_LOCK_WAIT_SECONDS = 600

# A delivery with more records than this is parsed, validated and spooled to local Parquet files
# batch by batch, then written in one transaction (ugc_pipeline.batches): it bounds the memory of
# an ingest task to about one batch. Smaller deliveries are one batch, held in memory.
DEFAULT_BATCH_RECORDS = 100_000

# Pulling the exports from the platforms' APIs (ugc_pipeline.extract): how far back an incremental
# pull looks before its cursor (late edits), how many days of posts are pulled again (growing
# metrics), how often a throttled or failing request is retried before the task gives up.
DEFAULT_PULL_LOOKBACK_DAYS = 3
DEFAULT_PULL_REPULL_DAYS = 28
DEFAULT_PULL_MAX_RETRIES = 5

# What the ingest DAG's ``check_deliveries`` task expects of each source (UGC_SOURCE_CHECKS, a
# JSON object per source, ``"*"`` for every source; ``SourceCheck``): a required source may go
# this many days without a delivery (0: it delivers every day); a delivery below this share of
# the source's average over the previous window days (with at least VOLUME_MIN_HISTORY
# deliveries in it) is "far below its recent average".
DEFAULT_MAX_DAYS_WITHOUT_DELIVERY = 1
DEFAULT_REQUIRED_MIN_VOLUME_SHARE = 0.2
DEFAULT_VOLUME_WINDOW_DAYS = 28
VOLUME_MIN_HISTORY = 3

# Operating settings read by the DAG files at parse time or by the failure notifier, outside
# ``Settings`` (an alert must go out even when the other settings are broken): the Airflow
# connections that receive the alerts (comma-separated ids), the local time (HH:MM in
# UGC_TIMEZONE) by which the marts must have been refreshed, the execution timeout of a task.
ALERT_CONN_IDS = "UGC_ALERT_CONN_IDS"
MARTS_DEADLINE = "UGC_MARTS_DEADLINE"
DEFAULT_MARTS_DEADLINE = "07:00"
TASK_TIMEOUT_MINUTES = "UGC_TASK_TIMEOUT_MINUTES"
DEFAULT_TASK_TIMEOUT_MINUTES = 180

# "Too little data" thresholds of the analyst marts' verdicts (marts.campaign_summary,
# marts.review_bucket_conversion; docs/DECISIONS.md, "Uncertainty of the analyst marts"): a
# conversion comparison needs this many sessions and orders in each of its two windows, a sales
# uplift this many stores in each arm. Passed to dbt as vars (ugc_pipeline.transform.dbt_vars).
DEFAULT_MIN_SESSIONS = 100
DEFAULT_MIN_ORDERS = 10
DEFAULT_MIN_STORES_PER_ARM = 5

# Airflow pool that serialises every task writing the warehouse (DuckDB allows one writer).
WAREHOUSE_POOL = "ugc_warehouse"


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use."""


@dataclass(frozen=True)
class Settings:
    landing_uri: str = DEFAULT_LANDING_URI
    warehouse_url: str = DEFAULT_WAREHOUSE_URL
    timezone: str = DEFAULT_TIMEZONE
    # Where GX keeps its suites, validation results and Data Docs (HTML); "" = in memory only.
    # Settings.load() (what the DAGs and the CLI use) defaults it to ./data/gx.
    gx_dir: str = ""
    # Where dbt writes its artifacts (manifest, run results) and the documentation site of each
    # marts run; "" = a temporary folder per run. Settings.load() defaults it to ./data/dbt.
    dbt_dir: str = ""
    # Per-source rejected-share thresholds: "0.1" for every source, or "yotpo_reviews=0.05,retailer_reviews=0.2".
    max_rejected_share: str = ""
    # Sources pulled from their API by the ingest DAG (comma-separated source names); the others
    # are dropped into the landing zone by something else. Decides the DAG's shape, so the DAG
    # file reads it from the environment (``pull_sources_from_env``), never from a Variable.
    pull_sources: str = ""
    pull_lookback_days: int = DEFAULT_PULL_LOOKBACK_DAYS
    pull_repull_days: int = DEFAULT_PULL_REPULL_DAYS
    pull_max_retries: int = DEFAULT_PULL_MAX_RETRIES
    lock_wait_seconds: int = DEFAULT_LOCK_WAIT_SECONDS
    # Records per validation batch of a big delivery (ugc_pipeline.batches).
    batch_records: int = DEFAULT_BATCH_RECORDS
    # Required/optional sources, freshness and minimum volume (JSON; ``parse_source_checks``).
    source_checks: str = ""
    # The Airflow connection that is the warehouse when it exists (a postgres connection read with
    # the Postgres provider's hook), and the one a remote landing zone (s3://...) is read through.
    warehouse_conn_id: str = DEFAULT_WAREHOUSE_CONN_ID
    landing_conn_id: str = DEFAULT_LANDING_CONN_ID
    # The key personal data is pseudonymised with (ugc_pipeline.pii): UGC_PII_KEY, or in Airflow
    # tasks the password of the connection ``ugc_pii_key``; never a Variable (not masked), never
    # shown (not in repr, describe or any message). "" = the generated key of an embedded DuckDB.
    pii_key: str = field(default="", repr=False)
    min_sessions: int = DEFAULT_MIN_SESSIONS
    min_orders: int = DEFAULT_MIN_ORDERS
    min_stores_per_arm: int = DEFAULT_MIN_STORES_PER_ARM
    # The read-only copy of a DuckDB warehouse that every marts run publishes for readers
    # (ugc_pipeline.publish); "" = beside the warehouse file, <name>_readonly.duckdb. Unused on
    # PostgreSQL, where readers query the warehouse itself (MVCC).
    published_warehouse: str = ""
    # Where every marts run writes the HTML KPI report; "" = no report. Settings.load() defaults
    # it to ./data/report.
    report_dir: str = ""

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"UGC_TIMEZONE={self.timezone!r} is not an IANA time zone") from None
        _check_url(self.warehouse_url)
        if not self.landing_uri:
            raise SettingsError("UGC_LANDING_URI is empty")
        self._thresholds()  # fail early on a malformed UGC_MAX_REJECTED_SHARE
        parse_pull_sources(self.pull_sources)
        for name, value in (("UGC_PULL_LOOKBACK_DAYS", self.pull_lookback_days),
                            ("UGC_PULL_REPULL_DAYS", self.pull_repull_days),
                            ("UGC_PULL_MAX_RETRIES", self.pull_max_retries),
                            ("UGC_LOCK_WAIT_SECONDS", self.lock_wait_seconds)):
            if not isinstance(value, int) or value < 0:
                raise SettingsError(f"{name}={value!r} is not a whole number >= 0")
        if not isinstance(self.batch_records, int) or self.batch_records < 1:
            raise SettingsError(f"UGC_BATCH_RECORDS={self.batch_records!r} is not a whole number >= 1")
        parse_source_checks(self.source_checks)
        # an interval needs at least one order in each window, a variance two stores in each arm
        for name, value, least in (("UGC_MIN_SESSIONS", self.min_sessions, 1), ("UGC_MIN_ORDERS", self.min_orders, 1),
                                   ("UGC_MIN_STORES_PER_ARM", self.min_stores_per_arm, 2)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise SettingsError(f"{name}={value!r} is not a whole number >= {least}")

    def source_check(self, source: str) -> SourceCheck:
        """What ``check_deliveries`` expects of ``source`` (UGC_SOURCE_CHECKS)."""
        return parse_source_checks(self.source_checks)[source]

    @property
    def required_sources(self) -> tuple[str, ...]:
        return tuple(n for n, c in parse_source_checks(self.source_checks).items() if c.required)

    @property
    def pulled(self) -> tuple[str, ...]:
        """The sources the ingest DAG pulls from their API before loading them."""
        return parse_pull_sources(self.pull_sources)

    def _thresholds(self) -> dict[str | None, float]:
        out: dict[str | None, float] = {}
        for part in filter(None, (p.strip() for p in self.max_rejected_share.split(","))):
            name, _, value = part.rpartition("=")
            try:
                share = float(value)
            except ValueError:
                share = -1.0
            if not 0 <= share <= 1:
                raise SettingsError(f"UGC_MAX_REJECTED_SHARE: {part!r} is not a share between 0 and 1")
            out[name.strip() or None] = share
        return out

    def rejected_share_threshold(self, source: str, default: float) -> float:
        """The share of rejected records above which a delivery of ``source`` is broken."""
        thresholds = self._thresholds()
        return thresholds.get(source, thresholds.get(None, default))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None,
             overrides: Mapping[str, str | None] | None = None) -> Settings:
        """Settings from the environment, then from ``overrides`` (e.g. Airflow Variables)."""
        environ = os.environ if environ is None else environ
        values = {name: environ.get(name) or None for name in SETTING_NAMES}
        for name, value in (overrides or {}).items():
            if value:
                values[name] = value
        return cls(
            landing_uri=values["UGC_LANDING_URI"] or DEFAULT_LANDING_URI,
            warehouse_url=values["UGC_WAREHOUSE_URL"] or DEFAULT_WAREHOUSE_URL,
            timezone=values["UGC_TIMEZONE"] or DEFAULT_TIMEZONE,
            # UGC_GX_DIR set but empty means "validate in memory" (what Settings(gx_dir="") says).
            gx_dir=values["UGC_GX_DIR"] if values["UGC_GX_DIR"] is not None
            else (environ["UGC_GX_DIR"] if "UGC_GX_DIR" in environ else DEFAULT_GX_DIR),
            dbt_dir=values["UGC_DBT_DIR"] if values["UGC_DBT_DIR"] is not None
            else (environ["UGC_DBT_DIR"] if "UGC_DBT_DIR" in environ else DEFAULT_DBT_DIR),
            max_rejected_share=values["UGC_MAX_REJECTED_SHARE"] or "",
            pull_sources=values["UGC_PULL_SOURCES"] or "",
            pull_lookback_days=_whole(values, "UGC_PULL_LOOKBACK_DAYS", DEFAULT_PULL_LOOKBACK_DAYS),
            pull_repull_days=_whole(values, "UGC_PULL_REPULL_DAYS", DEFAULT_PULL_REPULL_DAYS),
            pull_max_retries=_whole(values, "UGC_PULL_MAX_RETRIES", DEFAULT_PULL_MAX_RETRIES),
            lock_wait_seconds=_whole(values, "UGC_LOCK_WAIT_SECONDS", DEFAULT_LOCK_WAIT_SECONDS),
            batch_records=_whole(values, "UGC_BATCH_RECORDS", DEFAULT_BATCH_RECORDS),
            source_checks=values["UGC_SOURCE_CHECKS"] or "",
            warehouse_conn_id=values["UGC_WAREHOUSE_CONN_ID"] or DEFAULT_WAREHOUSE_CONN_ID,
            landing_conn_id=values["UGC_LANDING_CONN_ID"] or DEFAULT_LANDING_CONN_ID,
            pii_key=environ.get("UGC_PII_KEY") or "",
            min_sessions=_whole(values, "UGC_MIN_SESSIONS", DEFAULT_MIN_SESSIONS),
            min_orders=_whole(values, "UGC_MIN_ORDERS", DEFAULT_MIN_ORDERS),
            min_stores_per_arm=_whole(values, "UGC_MIN_STORES_PER_ARM", DEFAULT_MIN_STORES_PER_ARM),
            published_warehouse=values["UGC_PUBLISHED_WAREHOUSE"] or "",
            # UGC_REPORT_DIR set but empty means "no report" (as Settings(report_dir="") says).
            report_dir=values["UGC_REPORT_DIR"] if values["UGC_REPORT_DIR"] is not None
            else (environ["UGC_REPORT_DIR"] if "UGC_REPORT_DIR" in environ else DEFAULT_REPORT_DIR),
        )

    def describe(self) -> str:
        """For logs: the settings without a secret (``redact_url``)."""
        pulled = f" pulled={','.join(self.pulled)}" if self.pulled else ""
        return (f"landing={redact_url(self.landing_uri)} warehouse={redact_url(self.warehouse_url)} "
                f"timezone={self.timezone}{pulled}")


# Query parameters whose values are secrets, whatever the scheme: ``password``, ``sslpassword``,
# ``token``, ``access_token``, ``api_key``, ``secret``, ``client_secret``, ``passphrase``... A
# false positive only hides a value from a message.
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|key|auth|credential|signature|sig$", re.IGNORECASE)
REDACTED = "***"


def redact_url(url: str) -> str:
    """``url`` without its secrets, for messages and logs, whatever its form, even malformed: the
    password of the user info (``user:***@host``) and the value of every secret-looking query
    parameter (``?password=***``, ``sslpassword``, ``token``...). Everything after the scheme up
    to the last ``@`` counts as user info, so a password with an unescaped ``@``, ``/`` or ``?``
    is hidden too."""
    scheme, has_scheme, rest = url.partition("://")
    if not has_scheme:
        scheme, rest = "", url
    userinfo, at, rest = rest.rpartition("@")
    if ":" in userinfo:
        user = userinfo.split(":", 1)[0] if has_scheme else ""
        userinfo = f"{user}:{REDACTED}" if user else REDACTED
    head, sep, query = rest.partition("?")
    query, hash_, fragment = query.partition("#")
    parts = []
    for part in re.split(r"([&;])", query):
        key, eq, _value = part.partition("=")
        parts.append(f"{key}={REDACTED}" if eq and _SECRET_KEY.search(unquote(key)) else part)
    return (f"{scheme}{has_scheme}{userinfo}{at}{head}{sep}{''.join(parts)}"
            f"{hash_}{REDACTED if fragment else ''}")


def url_secrets(url: str) -> list[str]:
    """The secrets ``redact_url`` hides, as written and percent-decoded (for log maskers)."""
    found = []
    scheme, has_scheme, rest = url.partition("://")
    userinfo = (rest if has_scheme else url).rpartition("@")[0]
    if ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    query = (rest if has_scheme else url).rpartition("@")[2].partition("?")[2].partition("#")[0]
    for part in re.split(r"[&;]", query):
        key, eq, value = part.partition("=")
        if eq and value and _SECRET_KEY.search(unquote(key)):
            found.append(value)
    return [s for s in dict.fromkeys([*found, *(unquote(f) for f in found)]) if s]


def _check_url(url: str) -> None:
    """A warehouse URL SQLAlchemy can read; the error shows it redacted."""
    if url.startswith("airflow://"):
        raise SettingsError(f"UGC_WAREHOUSE_URL={redact_url(url)!r}: the airflow://<conn_id> form is no longer "
                            "read; the warehouse is the Airflow connection `ugc_warehouse` when it exists "
                            "(UGC_WAREHOUSE_CONN_ID names another): unset UGC_WAREHOUSE_URL, or give a SQLAlchemy URL")
    if not url or "://" not in url:
        raise SettingsError(f"UGC_WAREHOUSE_URL={redact_url(url or '')!r} is not a SQLAlchemy URL "
                            "(dialect://user:password@host:port/database or duckdb:///path)")
    from sqlalchemy.engine import make_url

    try:
        make_url(url).port  # noqa: B018 - a port that is not a number only fails when read
    except Exception as exc:
        why = "its port is not a number" if isinstance(exc, ValueError) else "it cannot be parsed"
        raise SettingsError(f"UGC_WAREHOUSE_URL={redact_url(url)!r} is not a SQLAlchemy URL: {why}") from None


def _whole(values: Mapping[str, str | None], name: str, default: int) -> int:
    raw = values.get(name)
    if raw is None or not str(raw).strip():
        return default
    try:
        return int(str(raw).strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None


def parse_pull_sources(value: str) -> tuple[str, ...]:
    """``UGC_PULL_SOURCES``: comma-separated names of sources that have an extractor."""
    from ugc_pipeline.sources import PULLABLE

    names = tuple(dict.fromkeys(n.strip() for n in (value or "").split(",") if n.strip()))
    unknown = [n for n in names if n not in PULLABLE]
    if unknown:
        raise SettingsError(f"UGC_PULL_SOURCES: {', '.join(unknown)} cannot be pulled; "
                            f"sources with an extractor: {', '.join(PULLABLE)}")
    return names


def pull_sources_from_env() -> tuple[str, ...]:
    """For the DAG file at parse time: the pulled sources, from the environment only (no I/O)."""
    return parse_pull_sources(os.environ.get("UGC_PULL_SOURCES", ""))


@dataclass(frozen=True)
class SourceCheck:
    """What the ingest DAG's ``check_deliveries`` task expects of one source.

    ``required``: the source must deliver; more than ``max_days_without_delivery`` days since its
    last delivery (0 = it must deliver every day) fails the check. ``min_volume_share``: a
    delivery with fewer records than this share of the source's average delivery over the
    previous ``volume_window_days`` days fails the check (0 = not checked; required sources
    default to ``DEFAULT_REQUIRED_MIN_VOLUME_SHARE``)."""

    required: bool = False
    max_days_without_delivery: int = DEFAULT_MAX_DAYS_WITHOUT_DELIVERY
    min_volume_share: float = 0.0
    volume_window_days: int = DEFAULT_VOLUME_WINDOW_DAYS


_CHECK_KEYS = {"required", "max_days_without_delivery", "min_volume_share", "volume_window_days"}


def parse_source_checks(value: str) -> dict[str, SourceCheck]:
    """``UGC_SOURCE_CHECKS``: a JSON object mapping source names (or ``"*"``, every source) to
    ``{"required": true, "max_days_without_delivery": 2, "min_volume_share": 0.25,
    "volume_window_days": 28}`` (every key optional); a source's own entry completes ``"*"``.
    Empty: every source optional, no volume check. Returns the check of every known source."""
    import json

    from ugc_pipeline.sources import SOURCES

    try:
        given = json.loads(value) if value and value.strip() else {}
    except json.JSONDecodeError as exc:
        raise SettingsError(f"UGC_SOURCE_CHECKS is not valid JSON ({exc.msg} at character {exc.pos}); expected e.g. "
                            '{"yotpo_reviews": {"required": true, "max_days_without_delivery": 2}}') from None
    if not isinstance(given, dict):
        raise SettingsError("UGC_SOURCE_CHECKS must be a JSON object: source name (or \"*\") -> its checks")
    unknown = [n for n in given if n != "*" and n not in SOURCES]
    if unknown:
        raise SettingsError(f"UGC_SOURCE_CHECKS: unknown source(s) {', '.join(unknown)}; sources: {', '.join(SOURCES)}")
    for name, entry in given.items():
        if not isinstance(entry, dict) or set(entry) - _CHECK_KEYS:
            raise SettingsError(f"UGC_SOURCE_CHECKS[{name!r}] must be an object with keys among "
                                f"{', '.join(sorted(_CHECK_KEYS))}; got {entry!r}")
        _check_entry(name, entry)
    out = {}
    for name in SOURCES:
        entry = {**given.get("*", {}), **given.get(name, {})}
        required = bool(entry.get("required", False))
        out[name] = SourceCheck(
            required=required,
            max_days_without_delivery=int(entry.get("max_days_without_delivery", DEFAULT_MAX_DAYS_WITHOUT_DELIVERY)),
            min_volume_share=float(entry.get("min_volume_share",
                                             DEFAULT_REQUIRED_MIN_VOLUME_SHARE if required else 0.0)),
            volume_window_days=int(entry.get("volume_window_days", DEFAULT_VOLUME_WINDOW_DAYS)))
    return out


def _check_entry(name: str, entry: dict) -> None:
    where = f"UGC_SOURCE_CHECKS[{name!r}]"
    if "required" in entry and not isinstance(entry["required"], bool):
        raise SettingsError(f"{where}.required must be true or false, got {entry['required']!r}")
    for key, least in (("max_days_without_delivery", 0), ("volume_window_days", 1)):
        if key in entry and (isinstance(entry[key], bool) or not isinstance(entry[key], int) or entry[key] < least):
            raise SettingsError(f"{where}.{key} must be a whole number >= {least}, got {entry[key]!r}")
    share = entry.get("min_volume_share", 0)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise SettingsError(f"{where}.min_volume_share must be a share between 0 and 1, got {share!r}")


def alert_conn_ids(value: str | None) -> tuple[str, ...]:
    """``UGC_ALERT_CONN_IDS``: comma-separated Airflow connection ids that receive the alerts."""
    return tuple(dict.fromkeys(n.strip() for n in (value or "").split(",") if n.strip()))


def marts_deadline_from_env() -> tuple[int, int]:
    """For the DAG file at parse time: ``UGC_MARTS_DEADLINE`` (HH:MM, local time in UGC_TIMEZONE)."""
    raw = os.environ.get(MARTS_DEADLINE) or DEFAULT_MARTS_DEADLINE
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", raw)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise SettingsError(f"{MARTS_DEADLINE}={raw!r} is not a local time HH:MM (e.g. 07:00)")
    return int(match[1]), int(match[2])


def task_timeout_minutes_from_env() -> int:
    """For the DAG files at parse time: ``UGC_TASK_TIMEOUT_MINUTES``, every task's execution timeout."""
    raw = os.environ.get(TASK_TIMEOUT_MINUTES) or str(DEFAULT_TASK_TIMEOUT_MINUTES)
    try:
        minutes = int(raw.strip())
    except ValueError:
        minutes = 0
    if minutes < 1:
        raise SettingsError(f"{TASK_TIMEOUT_MINUTES}={raw!r} is not a whole number of minutes >= 1")
    return minutes
