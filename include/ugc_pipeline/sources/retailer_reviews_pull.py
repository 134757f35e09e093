"""Pull the retailer's review feed (Bazaarvoice-style CSV): from its SFTP outbox, or over HTTPS.

Connection ``ugc_retailer_feed``, one of two kinds:

- **type SFTP** (or SSH): host, port (default 22), login, and the password or a key (extra
  ``private_key`` / ``key_file``, ``private_key_passphrase``), read by Airflow's SFTP provider
  (``SFTPHook`` built from the connection id, so every extra of the provider applies: give the
  server's ``host_key`` in production; ``no_host_key_check`` only for tests, ``conn_timeout``).
  Extra ``remote_path`` (required): the day's file, a template (``{date}`` = the delivery date
  ``YYYY-MM-DD``, ``{since}`` = the start of the re-pull window), e.g.
  ``/outbox/reviews_{date}.csv``; or a directory, with extra ``pattern``, a glob (same templating)
  such as ``reviews_*{date}*.csv``: every matching file (hidden ``.name`` uploads in progress
  excepted) is pulled. Each remote file is one stream, downloaded as bytes and landed unchanged
  under its own name. A missing file (or no match) stops the pull with ``PullError`` naming the
  path, as does a refused login (no retry); a dropped connection or a timeout is retried
  (``max_retries``, ``backoff_factor``), then ``TransientPullError``. Every SFTP operation (the
  listing, each download) counts as one request of the pull.
- **type HTTP** (or HTTPS): the feed's export URL, as every export extractor:
  host = base URL, password = token (``Authorization: Bearer``; extra ``auth: basic`` + login for
  HTTP basic), extra ``path`` (template), ``params``, ``format`` (only ``csv``); see
  ``ugc_pipeline.sources.export_pull``.
"""

from __future__ import annotations

import io
import logging
import posixpath
import stat
import time
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from ugc_pipeline.extract import Page, PullContext, PullError, TransientPullError
from ugc_pipeline.sources.export_pull import STREAM, ExportExtractor, count_records, refuse_unusable, render

log = logging.getLogger(__name__)
T = TypeVar("T")
SFTP_TYPES = ("sftp", "ssh")
HTTP_TYPES = ("http", "https", "")


class RetailerReviews(ExportExtractor):
    source = "retailer_reviews"
    conn_id = "ugc_retailer_feed"
    formats = ("csv",)
    label = "retailer review feed"

    def streams(self, ctx: PullContext) -> list[str]:
        if not self._over_sftp(ctx):
            return super().streams(ctx)
        return _Sftp(ctx, self.conn_id).list_day(self.source)

    def fetch(self, ctx: PullContext, stream: str, state: Any) -> Page:
        if not self._over_sftp(ctx):
            return super().fetch(ctx, stream, state)
        body = _Sftp(ctx, self.conn_id).download(stream)
        what = f"{self.label} file {stream}"
        refuse_unusable(body, "csv", what, redact=ctx.http.redact)
        return Page(body=body, records=count_records(body, "csv", self.separators()), suffix="csv")

    def page_name(self, stream: str, number: int, suffix: str) -> str:
        if stream == STREAM:
            return super().page_name(stream, number, suffix)
        name = posixpath.basename(stream)  # a remote file lands under its own name
        return f"{self.source}-{name}" if name.startswith(("_", ".")) else name  # the loader skips _ and . names

    def _over_sftp(self, ctx: PullContext) -> bool:
        kind = (ctx.creds.conn_type or "").lower()
        if kind in SFTP_TYPES:
            return True
        if kind in HTTP_TYPES:
            return False
        raise PullError(f"connection {self.conn_id!r} is of type {kind!r}: the retailer feed is pulled over "
                        "SFTP (type sftp or ssh) or HTTPS (type http)")


class _Sftp:
    """SFTP operations through Airflow's SFTPHook, one connection per operation (a listing, a
    download), transient failures retried, refusals turned into ``PullError``."""

    def __init__(self, ctx: PullContext, conn_id: str) -> None:
        self.ctx, self.conn_id = ctx, conn_id
        self.where = f"the SFTP server of connection {conn_id!r} ({ctx.creds.host}:{ctx.creds.port or 22})"

    def list_day(self, source: str) -> list[str]:
        """The remote files of the delivery day (each one stream), checked to exist."""
        template = self.ctx.creds.option("remote_path")
        if not isinstance(template, str):
            raise PullError(f"connection {self.conn_id!r} has no extra 'remote_path': set it to the day's file "
                            "(e.g. /outbox/reviews_{date}.csv) or to a directory with an extra 'pattern'")
        what = f"{source} over SFTP"
        path = render(template, self.ctx, what)
        pattern = self.ctx.creds.option("pattern")
        if pattern is None:
            def check(sftp) -> list[str]:
                try:
                    attrs = sftp.stat(path)
                except FileNotFoundError:
                    raise PullError(f"{what}: no file {path} on {self.where}") from None
                if stat.S_ISDIR(attrs.st_mode or 0):
                    raise PullError(f"{what}: {path} is a directory on {self.where}; set the extra 'pattern' "
                                    "to choose its files (e.g. reviews_*{date}*.csv)")
                return [path]

            files = self.run(f"{what}: checking {path}", check)
        else:
            glob = render(str(pattern), self.ctx, what)

            def listing(sftp) -> list[str]:
                try:
                    entries = sftp.listdir_attr(path)
                except FileNotFoundError:
                    raise PullError(f"{what}: no directory {path} on {self.where}") from None
                return sorted(posixpath.join(path, e.filename) for e in entries
                              if (e.st_mode is None or stat.S_ISREG(e.st_mode)) and not e.filename.startswith(".")
                              and fnmatchcase(e.filename, glob))

            files = self.run(f"{what}: listing {path}", listing)
            if not files:
                raise PullError(f"{what}: no file matching {posixpath.join(path, glob)} on {self.where}")
        wrong = [f for f in files if not f.lower().endswith(".csv")]
        if wrong:
            raise PullError(f"{what}: {', '.join(wrong)} is not a .csv file, the loader would refuse it "
                            "(narrow the extra 'pattern' or 'remote_path')")
        return files

    def download(self, path: str) -> bytes:
        def get(sftp) -> bytes:
            buffer = io.BytesIO()
            try:
                sftp.getfo(path, buffer)
            except FileNotFoundError:
                raise PullError(f"retailer review feed: the file {path} is no longer on {self.where}") from None
            return buffer.getvalue()

        return self.run(f"retailer review feed: downloading {path}", get)

    def run(self, what: str, operation: Callable[[Any], T]) -> T:
        """``operation(sftp_client)`` on a fresh connection; dropped connections and timeouts are
        retried like the HTTP requests (``max_retries``, exponential ``backoff_factor``)."""
        import paramiko

        http = self.ctx.http
        for attempt in range(http.max_retries + 1):
            http.count(requests=1, retries=int(attempt > 0))
            hook = self._hook(what)
            try:
                with hook.get_managed_conn() as sftp:
                    sftp.get_channel().settimeout(http.timeout)
                    return operation(sftp)
            except PullError:
                raise
            except PermissionError as exc:
                raise PullError(http.redact(f"{what}: permission denied on {self.where}: {exc}")) from None
            except paramiko.AuthenticationException as exc:
                raise PullError(http.redact(f"{what}: {self.where} refused the login {self.ctx.creds.login!r} "
                                            f"(wrong password or key, or the account is locked): {exc}")) from None
            except paramiko.BadHostKeyException as exc:
                raise PullError(http.redact(f"{what}: the host key of {self.where} is not the one expected "
                                            f"(extra 'host_key' or known_hosts): {exc}")) from None
            except (paramiko.SSHException, OSError, EOFError) as exc:
                if "known_hosts" in str(exc):  # paramiko's RejectPolicy: an unknown host key
                    raise PullError(http.redact(f"{what}: {exc}; give the server's key in the connection extra "
                                                "'host_key'")) from None
                failure = f"{type(exc).__name__}: {exc}"
                if attempt < http.max_retries:
                    pause = min(http.backoff_factor * 2 ** attempt, 60.0)
                    log.warning("%s: %s; retrying in %.0fs", what, http.redact(failure), pause)
                    time.sleep(pause)
            finally:
                hook.close_conn()
        raise TransientPullError(http.redact(f"{what}: no answer from {self.where} after {http.max_retries} "
                                             f"retries: {failure}"))

    def _hook(self, what: str):
        """Airflow's SFTPHook for the connection id (it reads the connection again: host, port,
        login, password or key, host key extras); the connect is tried once, we retry."""
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        extra = self.ctx.creds.extra
        try:
            return SFTPHook(ssh_conn_id=self.conn_id, conn_retry_attempts=1,
                            conn_timeout=None if "conn_timeout" in extra else int(self.ctx.http.timeout))
        except Exception as exc:  # an undefined connection, no host, a malformed key or host key
            raise PullError(self.ctx.http.redact(f"{what}: cannot use connection {self.conn_id!r} for SFTP: "
                                                 f"{type(exc).__name__}: {exc}")) from None


EXTRACTOR = RetailerReviews()
