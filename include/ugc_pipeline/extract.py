"""Pulling the platforms' exports into the landing zone: the core every extractor shares.

An extractor (``ugc_pipeline.sources.<source>_pull``) knows one platform's API: which streams a
day's pull has (a location, an account, an app), how one page is requested, how pages chain,
where the incremental cursor sits and how the API reports errors. This module does the rest, the
same way for every platform:

- **HTTP** through one ``requests`` session whose urllib3 ``Retry`` retries throttling (429,
  honouring ``Retry-After`` up to a cap) and transient 5xx with exponential backoff, a bounded
  number of times; 401/403 and other API errors stop at once (``PullError``) with the API's own
  message, every secret of the connection redacted;
- **pages as delivered**: each response body is written byte for byte (never re-serialised: the
  landing zone is the audit trail; the only change is that a secret of the connection echoed in a
  body, such as a token in a paging URL, is replaced by ``***``) to a hidden temporary name, then renamed into
  ``{landing}/{source}/{D}/`` (an object store's put is atomic by itself); page names are
  deterministic (stream and page number), so a rerun overwrites and never duplicates;
- **a manifest** ``_pull.json`` in the day folder (hidden from the loader, which skips names that
  start with ``_``) records after every page what is landed and where each stream's paging stands:
  a pull that crashed or gave up resumes from there on the next try, a complete one is not pulled
  again (unless forced), and the load task refuses a day whose pull did not complete;
- **cursors** (the latest update time seen, per stream) live in
  ``{landing}/{source}/_state/cursor.json`` and advance only when a day's pull completes; the next
  pull asks for what changed since the cursor minus the lookback window.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ugc_pipeline.landing import Landing
from ugc_pipeline.settings import Settings

log = logging.getLogger(__name__)

MANIFEST = "_pull.json"
STATE_DIR = "_state"
CURSOR_FILE = "cursor.json"
# Extra-field keys whose values are secrets (redacted from every message; Airflow masks them too).
SENSITIVE_KEYS = ("token", "secret", "password", "passwd", "api_key", "apikey", "key_file", "private_key",
                  "passphrase", "authorization", "utoken")


class PullError(Exception):
    """The pull cannot succeed by trying again: an expired or revoked token, a field the API no
    longer supports, a missing setting. The task fails at once, without retries."""


class TransientPullError(Exception):
    """The API kept failing (throttling, 5xx, network) after every retry: the task may be retried,
    and resumes from the last landed page."""


# -- credentials ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Credentials:
    """An Airflow connection's fields, as the extractors use them (no Airflow needed in tests)."""

    conn_id: str
    conn_type: str = ""
    host: str = ""
    login: str = ""
    password: str = field(default="", repr=False)
    port: int | None = None
    schema: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def secrets(self) -> list[str]:
        """Every secret value of the connection: the password and sensitive extra fields."""
        found = [self.password] if self.password else []

        def walk(value: Any, sensitive: bool) -> None:
            if isinstance(value, Mapping):
                for k, v in value.items():
                    walk(v, sensitive or _sensitive(str(k)))
            elif isinstance(value, list | tuple):
                for v in value:
                    walk(v, sensitive)
            elif sensitive and value not in (None, "") and not isinstance(value, bool):
                found.append(str(value))

        walk(self.extra, False)
        return [s for s in found if len(s) >= 4]

    def option(self, name: str, default: Any = None) -> Any:
        """A setting of the pull from the connection's extra (what to pull, per-source tuning)."""
        value = self.extra.get(name)
        return default if value in (None, "", []) else value

    def base_url(self, default: str) -> str:
        """The API's base URL: the connection's host (a stand-in, a proxy), else the platform's."""
        host = (self.host or "").strip()
        if not host:
            return default.rstrip("/")
        if "://" not in host:
            host = f"{self.schema or 'https'}://{host}"
        if self.port and not re.search(r":\d+$", host.split("://", 1)[1].split("/", 1)[0]):
            scheme, rest = host.split("://", 1)
            netloc, _, path = rest.partition("/")
            host = f"{scheme}://{netloc}:{self.port}" + (f"/{path}" if path else "")
        return host.rstrip("/")

    @classmethod
    def from_airflow(cls, conn_id: str) -> Credentials:
        """Read an Airflow connection (secrets backend, environment ``AIRFLOW_CONN_*`` or the
        metadata DB) and register its secrets with Airflow's log masker."""
        from airflow.sdk import BaseHook
        from airflow.sdk.log import mask_secret

        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:
            raise PullError(f"Airflow connection {conn_id!r} is not defined ({type(exc).__name__}); "
                            "see the README, 'Pulling from the platforms'") from None
        creds = cls(conn_id=conn_id, conn_type=conn.conn_type or "", host=conn.host or "", login=conn.login or "",
                    password=conn.password or "", port=conn.port, schema=conn.schema or "",
                    extra=conn.extra_dejson or {})
        for secret in creds.secrets():
            mask_secret(secret)
        return creds


def _sensitive(key: str) -> bool:
    """Whether an extra field holds a secret: ``access_token``, ``client_secret``... but not
    the address of an endpoint (``token_uri``)."""
    key = key.lower()
    return any(s in key for s in SENSITIVE_KEYS) and not key.endswith(("_uri", "_url"))


class Redactor:
    def __init__(self, secrets: Iterable[str]):
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def body(self, body: bytes) -> bytes:
        """A response body without the connection's secrets (APIs echo tokens, e.g. the Graph
        API's ``paging.next`` URLs): the one change ever made to a landed page. Only secrets of
        12 characters or more, as written or URL-encoded, so that no data can match by chance."""
        from urllib.parse import quote

        for secret in self.secrets:
            if len(secret) >= 12:
                for form in {secret, quote(secret, safe="")}:
                    body = body.replace(form.encode(), b"***")
        return body


# -- HTTP -----------------------------------------------------------------------------------------

class _CappedRetry(Retry):
    """urllib3's Retry, with a ceiling on how long a ``Retry-After`` may make us wait."""

    max_retry_after: float = 300.0

    def get_retry_after(self, response):
        after = super().get_retry_after(response)
        return None if after is None else min(after, self.max_retry_after)

    def new(self, **kw):
        new = super().new(**kw)
        new.max_retry_after = self.max_retry_after
        return new


@dataclass
class Http:
    """One pull's HTTP session: retries, counting, error classification, redaction.

    ``describe_error`` turns an error response into the API's own message (each API words its
    errors differently); ``classify`` may say which exception an error response raises where the
    HTTP status alone misleads (the Graph API throttles with a 400, YouTube's exhausted quota is a
    403 that no new token fixes): ``PullError`` stops the pull, ``TransientPullError`` lets Airflow
    retry it later; None keeps the status's own rule.
    """

    redact: Redactor
    max_retries: int = 5
    backoff_factor: float = 1.0
    timeout: float = 60.0
    max_retry_after: float = 300.0
    describe_error: Callable[[requests.Response], str] | None = None
    classify: Callable[[requests.Response], type[Exception] | None] | None = None
    requests: int = 0
    retries: int = 0

    def __post_init__(self) -> None:
        retry = _CappedRetry(total=self.max_retries, connect=self.max_retries, read=self.max_retries,
                             status=self.max_retries, backoff_factor=self.backoff_factor, backoff_max=60,
                             status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None,
                             respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False)
        retry.max_retry_after = self.max_retry_after
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(self, method: str, url: str, what: str, **kwargs) -> requests.Response:
        """One logical request (its retries included). ``what`` names it in messages."""
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            self.requests += self.max_retries + 1
            self.retries += self.max_retries
            raise TransientPullError(self.redact(f"{what}: no answer after {self.max_retries} retries: "
                                                 f"{type(exc).__name__}: {exc}")) from None
        history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        self.requests += 1 + len(history)
        self.retries += len(history)
        if response.status_code < 400:
            return response
        detail = self.redact(self._detail(response))
        status = response.status_code
        chosen = self.classify(response) if self.classify is not None else None
        if chosen is not None:
            raise chosen(f"{what}: HTTP {status}: {detail}")
        if status in (401, 403):
            raise PullError(f"{what}: HTTP {status}, the credentials were refused (expired or revoked token, "
                            f"or missing permission): {detail}")
        if status == 429 or status >= 500:
            raise TransientPullError(f"{what}: HTTP {status} after {len(history)} retries: {detail}")
        raise PullError(f"{what}: HTTP {status}: {detail}")

    def count(self, requests: int = 1, retries: int = 0) -> None:
        """Operations an extractor makes outside the session (an SFTP listing or download), so
        that the pull's figures count them as requests and retries too."""
        self.requests += requests
        self.retries += retries

    def _detail(self, response: requests.Response) -> str:
        if self.describe_error is not None:
            try:
                described = self.describe_error(response)
            except Exception:  # an unexpected error body: fall back to the generic reading
                described = ""
            if described:
                return described
        return api_error_message(response)


def api_error_message(response: requests.Response) -> str:
    """The message an API put in its error body (JSON ``error.message``, ``status.message``,
    ``message``), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:300]
    if isinstance(body, Mapping):
        for holder in (body.get("error"), body.get("status"), body):
            if isinstance(holder, Mapping) and holder.get("message"):
                code = holder.get("code")
                return f"{holder['message']}" + (f" (code {code})" if code not in (None, "") else "")
            if isinstance(holder, str) and holder:
                return holder
    return json.dumps(body)[:300]


# -- what an extractor returns ---------------------------------------------------------------------

@dataclass
class Page:
    """One response, as the API returned it."""

    body: bytes
    records: int
    next: Any = None  # paging state of the following request (JSON-serialisable); None: stream done
    cursor: str | None = None  # latest update time in the page (incremental extractors)
    suffix: str = "json"


@dataclass
class PullContext:
    """What one day's pull of one source knows: the window, the saved cursors, the connection."""

    source: str
    delivery_date: date
    window_end: datetime  # end of the delivery day (UTC): the pull's "now"
    creds: Credentials
    http: Http
    lookback: timedelta
    repull_days: int
    since_by_stream: dict[str, str | None] = field(default_factory=dict)

    def since(self, stream: str) -> datetime | None:
        """Ask for what changed after this (cursor minus lookback); None: pull everything."""
        value = self.since_by_stream.get(stream)
        return parse_time(value) if value else None

    @property
    def repull_since(self) -> datetime:
        """Posts created after this are pulled again, so that their growing metrics are captured."""
        return self.window_end - timedelta(days=self.repull_days)


class Extractor:
    """One platform's API. Subclasses set the class attributes and implement ``streams`` and
    ``fetch``; ``incremental`` extractors return a ``cursor`` with every page."""

    source: ClassVar[str]
    conn_id: ClassVar[str]
    default_base_url: ClassVar[str] = ""
    incremental: ClassVar[bool] = False
    backoff_factor: ClassVar[float] = 1.0

    def streams(self, ctx: PullContext) -> list[str]:
        raise NotImplementedError

    def fetch(self, ctx: PullContext, stream: str, state: Any) -> Page:
        """The page of ``stream`` at paging ``state`` (None for its first page)."""
        raise NotImplementedError

    def describe_error(self, response: requests.Response) -> str:
        return api_error_message(response)

    def classify(self, response: requests.Response) -> type[Exception] | None:
        """``PullError`` or ``TransientPullError`` for an error response the status misjudges."""
        return None

    def page_name(self, stream: str, number: int, suffix: str) -> str:
        slug = re.sub(r"[^A-Za-z0-9.-]+", "-", stream).strip("-.") or "page"
        return f"{self.source}-{slug}-{number:04d}.{suffix}"


# -- the landing side ------------------------------------------------------------------------------

class DayFolder:
    """``{landing}/{source}/{D}/`` of a pulled source: its pages and its manifest."""

    def __init__(self, landing: Landing, source: str, delivery_date: date, path: str | None = None):
        self.landing = landing
        self.fs = landing.fs
        self.path = path or landing.folder(source, delivery_date)

    def write(self, name: str, body: bytes) -> None:
        """Write a file whole or not at all: readers never see a half-written page."""
        final = posixpath.join(self.path, name)
        if not self.landing.is_local:  # an object store's put is atomic: the object appears whole
            self.fs.pipe_file(final, body)
            return
        self.fs.makedirs(self.path, exist_ok=True)
        tmp = posixpath.join(self.path, f".{name}.partial")
        with self.fs.open(tmp, "wb") as fh:
            fh.write(body)
        self.fs.mv(tmp, final)

    def read_manifest(self) -> dict | None:
        path = posixpath.join(self.path, MANIFEST)
        if not self.fs.exists(path):
            return None
        return json.loads(self.fs.cat_file(path))

    def write_manifest(self, manifest: dict) -> None:
        # key order kept: the streams are pulled in the order the extractor gave, resumes included
        self.write(MANIFEST, json.dumps(manifest, indent=2).encode())

    def clear(self) -> None:
        """Remove the day's pages and manifest (a forced re-pull)."""
        if self.fs.exists(self.path):
            self.fs.rm(self.path, recursive=True)


def cursor_path(landing: Landing, source: str) -> str:
    return posixpath.join(landing.root, source, STATE_DIR, CURSOR_FILE)


def read_cursors(landing: Landing, source: str) -> dict[str, str]:
    path = cursor_path(landing, source)
    if not landing.fs.exists(path):
        return {}
    return dict(json.loads(landing.fs.cat_file(path)).get("streams", {}))


def save_cursors(landing: Landing, source: str, cursors: dict[str, str], delivery_date: date) -> None:
    path = cursor_path(landing, source)
    body = json.dumps({"streams": dict(sorted(cursors.items())), "saved_by_delivery": delivery_date.isoformat(),
                       "saved_at": _now()}, indent=2).encode()
    DayFolder(landing, source, delivery_date, path=posixpath.dirname(path)).write(CURSOR_FILE, body)


# -- the pull --------------------------------------------------------------------------------------

@dataclass
class PullResult:
    source: str
    delivery_date: str
    status: str  # pulled | already_landed
    requests: int = 0
    pages: int = 0
    records: int = 0
    retries: int = 0
    cursor: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        cursor = ", ".join(f"{k}={v}" for k, v in self.cursor.items()) or "none"
        return (f"{self.source} {self.delivery_date}: {self.status}, {self.requests} request(s), {self.pages} page(s), "
                f"{self.records} record(s), {self.retries} retr{'y' if self.retries == 1 else 'ies'}; "
                f"cursor saved: {cursor} ({self.seconds:.1f}s)")

    def as_dict(self) -> dict:
        return asdict(self)


def end_of_day(delivery_date: date, timezone: str) -> datetime:
    """The end of delivery day D in the KPI zone, in UTC: what a pull for D treats as now."""
    from zoneinfo import ZoneInfo

    local = datetime.combine(delivery_date + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def pull_source(source_name: str, delivery_date: date, settings: Settings,
                get_credentials: Callable[[str], Credentials], *, force: bool = False,
                extractor: Extractor | None = None) -> PullResult:
    """Pull one source's pages for delivery day D into its landing folder (resuming an
    interrupted pull, skipping a complete one unless ``force``), then advance its cursors."""
    from ugc_pipeline.sources import get_extractor

    extractor = extractor or get_extractor(source_name)
    t0 = time.perf_counter()
    landing = Landing.for_settings(settings)
    folder = DayFolder(landing, extractor.source, delivery_date)
    manifest = folder.read_manifest()
    if manifest and force:
        log.info("%s %s: forced re-pull, removing the %d landed page(s)", extractor.source, delivery_date,
                 len(manifest.get("files", [])))
        folder.clear()
        manifest = None
    if manifest and manifest.get("status") == "complete":
        result = _result(manifest, "already_landed", t0)
        log.info("%s %s: already landed by an earlier pull, nothing requested", extractor.source, delivery_date)
        return result
    if manifest is None:
        manifest = {"source": extractor.source, "delivery_date": delivery_date.isoformat(), "status": "running",
                    "started_at": _now(), "attempts": 0, "requests": 0, "retries": 0, "pages": 0, "records": 0,
                    "files": [], "streams": {}, "since": {}, "cursor_saved": {}, "message": ""}
    else:
        log.info("%s %s: resuming an interrupted pull (%d page(s) already landed)", extractor.source,
                 delivery_date, manifest["pages"])
    manifest.update(status="running", attempts=manifest.get("attempts", 0) + 1, message="")
    folder.write_manifest(manifest)

    http: Http | None = None
    before = (manifest["requests"], manifest["retries"])

    def count() -> None:  # the HTTP counters accumulate over the pull's attempts
        if http is not None:
            manifest["requests"], manifest["retries"] = before[0] + http.requests, before[1] + http.retries

    try:
        creds = get_credentials(extractor.conn_id)
        http = Http(redact=Redactor(creds.secrets()),
                    max_retries=_number(creds, "max_retries", settings.pull_max_retries, int),
                    backoff_factor=_number(creds, "backoff_factor", extractor.backoff_factor, float),
                    timeout=_number(creds, "timeout", 60, float), describe_error=extractor.describe_error,
                    classify=extractor.classify)
        ctx = PullContext(
            source=extractor.source, delivery_date=delivery_date,
            window_end=end_of_day(delivery_date, settings.timezone), creds=creds, http=http,
            lookback=timedelta(days=_number(creds, "lookback_days", settings.pull_lookback_days, int)),
            repull_days=_number(creds, "repull_days", settings.pull_repull_days, int))
        if not manifest["streams"]:  # first attempt: fix the streams and the window of this day
            saved = read_cursors(landing, extractor.source) if extractor.incremental else {}
            try:
                streams = extractor.streams(ctx)
            except (TypeError, ValueError, AttributeError) as exc:  # a malformed extra: fix it, don't retry
                raise PullError(http.redact(f"connection {extractor.conn_id!r}: the extra fields cannot be used "
                                            f"({type(exc).__name__}: {exc})")) from None
            if not streams:
                raise PullError(f"nothing to pull: the connection {extractor.conn_id!r} lists no "
                                f"{extractor.source} stream (see the README, 'Pulling from the platforms')")
            manifest["streams"] = {s: {"pages": 0, "next": None, "done": False, "cursor": None} for s in streams}
            manifest["since"] = {s: _minus(saved.get(s), ctx.lookback) for s in streams}
            manifest["cursor_before"] = saved
        ctx.since_by_stream = manifest["since"]
        for stream, st in manifest["streams"].items():
            while not st["done"]:
                page = extractor.fetch(ctx, stream, st["next"])
                name = extractor.page_name(stream, st["pages"] + 1, page.suffix)
                folder.write(name, http.redact.body(page.body))
                st["pages"] += 1
                st["next"], st["done"] = page.next, page.next is None
                if page.cursor and (st["cursor"] is None or parse_time(page.cursor) > parse_time(st["cursor"])):
                    st["cursor"] = page.cursor
                if name not in manifest["files"]:
                    manifest["files"].append(name)
                manifest["pages"] = sum(s["pages"] for s in manifest["streams"].values())
                manifest["records"] += page.records
                count()
                folder.write_manifest(manifest)
        cursors = dict(manifest.get("cursor_before") or {})
        for stream, st in manifest["streams"].items():
            if st["cursor"] and (stream not in cursors or parse_time(st["cursor"]) > parse_time(cursors[stream])):
                cursors[stream] = st["cursor"]
        if extractor.incremental:
            save_cursors(landing, extractor.source, cursors, delivery_date)
        manifest.update(status="complete", finished_at=_now(), cursor_saved=cursors if extractor.incremental else {})
        count()
        folder.write_manifest(manifest)
    except (PullError, TransientPullError) as exc:
        count()
        _fail(folder, manifest, str(exc))
        raise
    except Exception as exc:  # storage or an unforeseen answer: recorded, then retried by Airflow
        message = f"{type(exc).__name__}: {exc}"
        if http is not None:
            message = http.redact(message)
        count()
        _fail(folder, manifest, message)
        raise TransientPullError(message) from None
    result = _result(manifest, "pulled", t0)
    log.info(result.summary())
    return result


def _number(creds: Credentials, name: str, default: float, kind: type) -> Any:
    """A numeric tuning field of the connection's extra; a wrong one is a setting to fix, not a retry."""
    value = creds.option(name, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise PullError(f"connection {creds.conn_id!r}: extra field {name}={value!r} is not a number >= 0")
    return number


def _fail(folder: DayFolder, manifest: dict, message: str) -> None:
    manifest.update(status="failed", finished_at=_now(), message=message[:2000])
    try:
        folder.write_manifest(manifest)
    except Exception as exc:  # the manifest must never hide the real error
        log.error("could not write the pull manifest of %s: %s", folder.path, exc)


def _result(manifest: dict, status: str, t0: float) -> PullResult:
    return PullResult(source=manifest["source"], delivery_date=manifest["delivery_date"], status=status,
                      requests=manifest["requests"], pages=manifest["pages"], records=manifest["records"],
                      retries=manifest["retries"], cursor=dict(manifest.get("cursor_saved") or {}),
                      seconds=time.perf_counter() - t0)


def pull_record(landing: Landing, source: str, delivery_date: date) -> dict | None:
    """The manifest of a day's pull, for the load task (None when the folder was dropped by hand)."""
    return DayFolder(landing, source, delivery_date).read_manifest()


# -- time helpers the extractors share ------------------------------------------------------------

def json_page(response: requests.Response, what: str, records_at: tuple[str, ...],
              optional: bool = False) -> tuple[dict, list]:
    """A JSON page and its record list (at the key path ``records_at``; ``optional``: an API that
    leaves the list out when it is empty); a body of another shape (an error page served with 200,
    HTML from a proxy) stops the pull with a clear message."""
    try:
        body = response.json()
    except ValueError:
        raise PullError(f"{what}: the answer is not JSON (HTTP {response.status_code}, "
                        f"{response.headers.get('content-type', 'no content type')})") from None
    node: Any = body
    for key in records_at:
        node = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(body, Mapping) or not (isinstance(node, list) or (optional and node is None)):
        raise PullError(f"{what}: unexpected page shape (no list at {'.'.join(records_at)}): "
                        f"{api_error_message(response)}")
    return body, node or []


def parse_time(value: str | int | float) -> datetime:
    """An API timestamp as an aware UTC datetime: RFC 3339 with any number of fraction digits,
    ``Z`` or ``+0000`` offsets, or unix seconds."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # nanoseconds: keep microseconds
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minus(cursor: str | None, lookback: timedelta) -> str | None:
    return iso(parse_time(cursor) - lookback) if cursor else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def latest(values: Iterable[Any]) -> str | None:
    """The latest of some API timestamps, as the API wrote it (None when there is none)."""
    best = None
    for value in values:
        if value and (best is None or parse_time(value) > parse_time(best)):
            best = value
    return best
