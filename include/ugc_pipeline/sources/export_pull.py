"""Download one export file over HTTP(S): the shared base of the "file export" extractors.

Some platforms have no record API but an export endpoint that answers a day's file (CSV or
NDJSON). An extractor built on ``ExportExtractor`` sets ``source``, ``conn_id`` and the formats
its loader reads; the connection says the rest:

- host = the base URL of the export service (``https://exports.example.com``; a bare host gets
  the connection's schema, default ``https``; the port is added when set);
- password = the API token, sent as ``Authorization: Bearer <password>``; with extra
  ``auth: basic`` and a login, HTTP basic authentication (login, password) instead; no password:
  no authentication;
- extra ``path`` (required): the URL path of the export, a template: ``{date}`` = the delivery
  date ``YYYY-MM-DD``, ``{since}`` = the start of the re-pull window (ISO 8601, UTC); e.g.
  ``/v2/exports/posts.csv?day={date}`` or ``/exports/{date}/posts``;
- extra ``params`` (optional): query parameters, same templating (``{"updated_since": "{since}"}``);
- extra ``format`` (optional): ``csv`` or ``ndjson``; by default the response's Content-Type tells
  (``text/csv``, ``application/x-ndjson``);
- the usual tuning extras of every pull: ``max_retries``, ``backoff_factor``, ``timeout``, ``repull_days``.

One stream, ``export``. An endpoint that paginates with a ``Link: <...>; rel="next"`` header
(RFC 8288) is followed page after page (the next URL is the paging state in the manifest, so an
interrupted pull resumes there; it must stay on the export service's host, the token is never sent
elsewhere). Every page is landed byte for byte as ``{source}-export-NNNN.csv|ndjson``; its records
are counted (CSV: rows after the header, read with the ``csv`` module and the loader's separator
rule, so that quoted commas and newlines count right; NDJSON: non-blank lines), never rewritten.
A body that cannot be the export (an HTML page or a JSON error served with 200, an empty body)
stops the pull with ``PullError`` and lands nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urljoin, urlsplit

import requests

from ugc_pipeline.extract import Extractor, Page, PullContext, PullError, api_error_message, iso

log = logging.getLogger(__name__)

STREAM = "export"
CONTENT_TYPES = {
    "text/csv": "csv", "application/csv": "csv", "text/comma-separated-values": "csv",
    "application/x-ndjson": "ndjson", "application/ndjson": "ndjson", "application/jsonl": "ndjson",
    "application/x-jsonlines": "ndjson", "application/jsonlines": "ndjson",
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]*)\}")
_SECRET_MARK = "{password}"


def render(template: str, ctx: PullContext, what: str) -> str:
    """``{date}`` and ``{since}`` filled in; any other ``{name}`` is a mistake in the connection."""
    values = {"date": ctx.delivery_date.isoformat(), "since": iso(ctx.repull_since)}

    def fill(match: re.Match) -> str:
        if match.group(1) not in values:
            raise PullError(f"{what}: unknown placeholder {match.group(0)} in {template!r} (known: {{date}}, {{since}})")
        return values[match.group(1)]

    return _PLACEHOLDER.sub(fill, template)


# -- what a body is ------------------------------------------------------------------------------

def _head(body: bytes) -> bytes:
    return body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")


def refuse_unusable(body: bytes, fmt: str, what: str, content_type: str = "", response: requests.Response | None = None,
                    redact=lambda text: text) -> None:
    """Stop the pull (``PullError``) on a body that cannot be a ``fmt`` export: empty, an HTML page
    (a login or error page, a proxy's), a JSON error document."""
    head = _head(body)
    kind = f"({content_type + ', ' if content_type else ''}{len(body)} bytes)"
    if not head.strip():
        raise PullError(f"{what}: the answer is empty {kind}, no {fmt} export to land")
    if "html" in content_type.lower() or head[:1] == b"<":
        title = re.search(rb"<title[^>]*>(.*?)</title>", body[:65536], re.I | re.S)
        shown = f": {redact(title.group(1).decode('utf-8', 'replace').strip()[:200])}" if title else ""
        raise PullError(f"{what}: the answer is an HTML page, not a {fmt} export {kind}{shown}")
    error = _json_error(body, fmt)
    if error is not None:
        detail = api_error_message(response) if response is not None else error
        raise PullError(f"{what}: the answer is a JSON document, not a {fmt} export {kind}: {redact(detail)}")


def _json_error(body: bytes, fmt: str) -> str | None:
    """The text of a JSON (error) document where an export was expected, else None."""
    head = _head(body)
    if head[:1] not in (b"{", b"["):
        return None
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except ValueError:  # several documents (NDJSON), broken JSON, or a CSV whose first column is [bracketed]
        return "unreadable JSON" if fmt == "csv" and head[:1] == b"{" else None
    if fmt == "csv" or not isinstance(doc, Mapping) or b"\n" in body.strip():
        return json.dumps(doc)[:300]  # CSV never starts with { or [; NDJSON records fit on one line
    if "error" in doc or "errors" in doc or ("message" in doc and ("code" in doc or "status" in doc) and len(doc) <= 4):
        return json.dumps(doc)[:300]  # one line, but an error object
    return None  # a one-record NDJSON export


def count_records(body: bytes, fmt: str, separators: tuple[str, ...] = (",", ";")) -> int:
    """Data records of an export: CSV rows after the header (quoted separators and newlines
    included), NDJSON non-blank lines. Reads the bytes, never changes them."""
    text = body.decode("utf-8-sig", errors="replace")
    if fmt == "ndjson":
        return sum(1 for line in text.splitlines() if line.strip())
    first = text.splitlines()[0] if text.strip() else ""
    separator = max(separators, key=first.count)  # the loader's rule (ugc_pipeline.parse)
    try:
        rows = sum(1 for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator) if row)
    except csv.Error as exc:  # e.g. an unbalanced quote: the count is only informative, the loader will say more
        log.warning("the CSV export cannot be read to count its records (%s): counting lines", exc)
        rows = sum(1 for line in text.splitlines() if line.strip())
    return max(rows - 1, 0)


def format_of(response: requests.Response, configured: str | None, formats: tuple[str, ...], what: str) -> str:
    content_type = response.headers.get("content-type", "")
    fmt = (configured or "").lower() or CONTENT_TYPES.get(content_type.split(";")[0].strip().lower(), "")
    if fmt and fmt not in formats:
        raise PullError(f"{what}: a {fmt} export, but this source is read as {' or '.join(formats)}"
                        + ("" if configured else f" (Content-Type {content_type})"))
    if not fmt:
        if "html" in content_type.lower() or "json" in content_type.lower() or not response.content:
            return formats[0]  # refuse_unusable says what is wrong with the body
        raise PullError(f"{what}: cannot tell the export's format from its Content-Type "
                        f"({content_type or 'none'}); set the connection extra 'format' to {' or '.join(formats)}")
    return fmt


# -- the extractor -------------------------------------------------------------------------------

class ExportExtractor(Extractor):
    """One export file (and its ``Link`` pages) per day, over HTTP(S)."""

    formats: ClassVar[tuple[str, ...]] = ("csv", "ndjson")
    label: ClassVar[str] = "export"  # names the export in messages

    def streams(self, ctx: PullContext) -> list[str]:
        self._settings(ctx)
        return [STREAM]

    def _settings(self, ctx: PullContext) -> tuple[str, str | None]:
        path = ctx.creds.option("path")
        if not isinstance(path, str):
            raise PullError(f"connection {self.conn_id!r} has no extra 'path': set it to the export's URL path "
                            "(a template: {date} = the delivery date, {since} = the start of the re-pull window)")
        fmt = ctx.creds.option("format")
        if fmt is not None and str(fmt).lower() not in self.formats:
            raise PullError(f"connection {self.conn_id!r}: extra 'format' is {fmt!r}, expected {' or '.join(self.formats)}")
        if not isinstance(ctx.creds.option("params", {}), Mapping):
            raise PullError(f"connection {self.conn_id!r}: extra 'params' must be an object (query parameter -> value)")
        if not ctx.creds.host.strip() and not self.default_base_url:
            raise PullError(f"connection {self.conn_id!r} has no host: set it to the export service's base URL")
        return path, fmt

    def request_kwargs(self, ctx: PullContext) -> dict[str, Any]:
        creds = ctx.creds
        if not creds.password:
            return {}
        if str(creds.option("auth", "bearer")).lower() == "basic":
            if not creds.login:
                raise PullError(f"connection {self.conn_id!r}: extra auth 'basic' needs a login")
            return {"auth": (creds.login, creds.password)}
        return {"headers": {"Authorization": f"Bearer {creds.password}"}}

    def fetch(self, ctx: PullContext, stream: str, state: dict | None) -> Page:
        path, fmt = self._settings(ctx)
        base = ctx.creds.base_url(self.default_base_url)
        number = (state or {}).get("page", 1)
        what = f"{self.label} of {ctx.delivery_date}, page {number}"
        kwargs = self.request_kwargs(ctx)
        first = render(path, ctx, what)
        first = first if "://" in first else f"{base}/{first.lstrip('/')}"
        if state is None:
            params = {str(k): render(str(v), ctx, what) for k, v in (ctx.creds.option("params") or {}).items()}
            response = ctx.http.request("GET", first, what, params=params, **kwargs)
        else:
            url = _unmark(state["url"], ctx.creds.password)
            response = ctx.http.request("GET", url, what, **kwargs)
        fmt = format_of(response, fmt, self.formats, what)
        body = response.content
        refuse_unusable(body, fmt, what, response.headers.get("content-type", ""), response, ctx.http.redact)
        return Page(body=body, records=count_records(body, fmt, self.separators()), suffix=fmt,
                    next=self._next(ctx, response, {_origin(base), _origin(first)}, number, what))

    def separators(self) -> tuple[str, ...]:
        from ugc_pipeline.sources import get_source

        return get_source(self.source).csv_separators

    def _next(self, ctx: PullContext, response: requests.Response, origins: set[str], number: int,
              what: str) -> dict | None:
        """The paging state of the page after this one: the ``rel="next"`` link (None: the last page)."""
        link = (response.links.get("next") or {}).get("url")
        if not link:
            return None
        url = urljoin(response.url, link)
        if _origin(url) not in origins:  # not even after a redirect: the token is sent with every page
            raise PullError(ctx.http.redact(f"{what}: the next page is on another host ({_origin(url)}); "
                                             "the token is only sent to the export service"))
        if url == response.url:
            raise PullError(ctx.http.redact(f"{what}: the Link header points at the same page ({url})"))
        return {"url": _mark(url, ctx.creds.password), "page": number + 1}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _mark(url: str, secret: str) -> str:
    """The next URL as saved in the manifest: a token the API echoed in it is not written down."""
    if not secret or len(secret) < 4:
        return url
    return url.replace(secret, _SECRET_MARK).replace(quote(secret, safe=""), _SECRET_MARK)


def _unmark(url: str, secret: str) -> str:
    return url.replace(_SECRET_MARK, quote(secret, safe="")) if secret else url
