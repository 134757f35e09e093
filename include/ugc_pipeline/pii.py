"""Personal data: pseudonymised at ingestion by a keyed hash, never stored in clear.

Every field that says who a person is (a reviewer's name or e-mail, a display name, a platform
handle, a profile URL, the handle inside a post URL) is declared by its source adapter
(``RawTable.personal``, ``ugc_pipeline.sources``) and replaced, as the delivery is parsed and
before anything is validated, loaded or quarantined, by its **pseudonym**: the HMAC-SHA256 of the
normalised value under the deployment's key, as 64 hex digits. The same value gives the same
pseudonym in every source, delivery and table (one person, one id; a TikTok username still joins
the ambassador roster's handle), while the warehouse never holds the value itself. Without the key
nobody can tell whose pseudonym it is, not even by hashing guesses.

Normalisation, per kind (so that spellings of one value meet):

- ``email``: trimmed, lower-cased;
- ``handle``: trimmed, leading ``@`` removed, lower-cased (as ``stg_brand__ambassadors`` always
  compared handles);
- ``name``: inner runs of white space collapsed, trimmed, lower-cased;
- ``url``: trimmed;
- ``post_url``: the URL is kept; only the account handle it names (``tiktok.com/@{handle}/...``,
  ``instagram.com/stories/{handle}/...``, ``youtube.com/@{handle}``) is replaced by the handle's
  pseudonym, so that the post is still recognised (its platform id stays) and an erasure by handle
  finds it.

The key: ``Settings.pii_key`` (``UGC_PII_KEY``; in Airflow tasks the password of the connection
``ugc_pii_key`` when it exists), else, for an embedded DuckDB warehouse only, a random key
generated once into a file beside it: the warehouse file's name with the suffix ``.pii-key``
(the demo's ``data/warehouse.pii-key``). Any other warehouse without a key refuses to ingest. A new key gives new pseudonyms: see
docs/DECISIONS.md, "Personal data", for what rotating it means.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import io
import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PiiKind = Literal["email", "handle", "name", "url", "post_url"]
KINDS: tuple[str, ...] = ("email", "handle", "name", "url", "post_url")
# Airflow connection whose password is the key (tasks only; UGC_PII_KEY is the floor).
PII_CONN_ID = "ugc_pii_key"
KEY_ENV = "UGC_PII_KEY"
PSEUDONYM = re.compile(r"[0-9a-f]{64}")

# The account handle inside a post or profile URL: (prefix, handle) groups.
_HANDLE_IN_URL = re.compile(
    r"(?P<prefix>(?:tiktok\.com/@|instagram\.com/stories/|youtube\.com/@))(?P<handle>[^/?#\s]+)", re.IGNORECASE)


@functools.lru_cache(maxsize=2**16)
def _pseudonym(key: bytes, group: str, value: str) -> str:
    """HMAC-SHA256 (hex) of the normalised value, remembered for the last 65,536 values: the parse
    asks each personal value's pseudonym twice (its column and the record as delivered), and a
    person's value recurs."""
    message = f"{group}:{normalise(group, value)}".encode()
    return hmac.digest(key, message, hashlib.sha256).hex()  # hmac.new(key, message, sha256).hexdigest()


# What ``json.dumps(doc, ensure_ascii=False)`` builds on each call, built once.
_RECORD_ENCODER = json.JSONEncoder(ensure_ascii=False)


class PiiKeyError(ValueError):
    """No key to pseudonymise with."""


def normalise(kind: str, value: str) -> str:
    if kind == "email":
        return value.strip().lower()
    if kind == "handle":
        return value.strip().lstrip("@").lower()
    if kind == "name":
        return " ".join(value.split()).lower()
    return value.strip()


@dataclass(frozen=True)
class Pseudonymiser:
    """Pseudonyms under one key. ``repr`` never shows the key."""

    key: bytes

    def __repr__(self) -> str:
        return "Pseudonymiser(key=***)"

    def pseudonym(self, kind: str, value: str) -> str:
        """The pseudonym of one value of a kind (``post_url``: of the handle it names)."""
        group = "handle" if kind == "post_url" else kind
        if group not in KINDS:
            raise ValueError(f"unknown kind of personal data {kind!r}")
        return _pseudonym(self.key, group, value)

    def apply(self, kind: str, value: str | None) -> str | None:
        """What the warehouse stores for a delivered value: None and blank stay as they are."""
        if value is None or not str(value).strip():
            return value
        value = str(value)
        if kind == "post_url":
            return _HANDLE_IN_URL.sub(lambda m: m["prefix"] + self.pseudonym("handle", m["handle"]), value)
        return self.pseudonym(kind, value)

    def apply_many(self, kind: str, values: Iterable[str | None]) -> list[str | None]:
        return [self.apply(kind, v) for v in values]

    # -- a record as delivered ---------------------------------------------------------------
    def record(self, fields: dict[tuple[str, ...], str], text: str | None) -> str | None:
        """A record's delivered JSON (``audit.rejected_records.raw``, a JSON object) with its
        personal fields (key path -> kind) pseudonymised; unchanged when it holds none."""
        if text is None or not fields:
            return text
        try:
            doc = json.loads(text)
        except ValueError:
            return self.text(fields, text)
        if not isinstance(doc, dict):
            return text
        changed = False
        for path, kind in fields.items():
            node = doc
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict) and isinstance(node.get(path[-1]), str) and node[path[-1]].strip():
                node[path[-1]] = self.apply(kind, node[path[-1]])
                changed = True
        return json.dumps(doc, ensure_ascii=False) if changed else text

    def records(self, fields: dict[tuple[str, ...], str], texts: Iterable[str | None]) -> list[str | None]:
        """``record`` of each text, in a tight loop (the parse calls it on every delivered record):
        the same output, text for text."""
        texts = list(texts)
        if not fields or any(len(path) != 1 for path in fields):
            return [self.record(fields, t) for t in texts]
        keys = [(path[0], kind) for path, kind in fields.items()]
        loads, encode, apply = json.loads, _RECORD_ENCODER.encode, self.apply
        out: list[str | None] = []
        for text in texts:
            if text is None:
                out.append(None)
                continue
            try:
                doc = loads(text)
            except ValueError:
                out.append(self.text(fields, text))
                continue
            if not isinstance(doc, dict):
                out.append(text)
                continue
            changed = False
            for key, kind in keys:
                value = doc.get(key)
                if isinstance(value, str) and value.strip():
                    doc[key] = apply(kind, value)
                    changed = True
            out.append(encode(doc) if changed else text)
        return out

    def text(self, fields: dict[tuple[str, ...], str], text: str) -> str:
        """A delivered line that is not a JSON object (malformed NDJSON): the string value of each
        personal key found in it is pseudonymised where it stands."""
        by_key = {path[-1]: kind for path, kind in fields.items()}

        def swap(m: re.Match) -> str:
            kind = by_key.get(m["key"])
            if kind is None:
                return m[0]
            try:
                value = json.loads(f'"{m["value"]}"')
            except ValueError:
                value = m["value"]
            return f'{m["head"]}{json.dumps(self.apply(kind, value), ensure_ascii=False)}'

        return re.sub(r'(?P<head>"(?P<key>[^"\\]+)"\s*:\s*)"(?P<value>(?:[^"\\]|\\.)*)"', swap, text)

    def csv_row(self, header: list[str], personal: dict[str, str], text: str, sep: str) -> str:
        """A malformed CSV row (a field too many or too few, broken quoting), as delivered but for
        its personal fields. Which field is which is unknown once the count is off, so every field
        that could be a personal column (at its header position, shifted by the surplus or
        deficit of fields) is pseudonymised; the row is written back with the same separator."""
        if not personal:
            return text
        fields = [f for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=False) for f in row]
        shift = len(fields) - len(header)
        for i, name in enumerate(header):
            kind = personal.get(name)
            if kind is None:
                continue
            for j in range(i + min(0, shift), i + max(0, shift) + 1):
                if 0 <= j < len(fields):
                    fields[j] = self.apply(kind, fields[j]) or fields[j]
        out = io.StringIO()
        csv.writer(out, delimiter=sep, lineterminator="\n").writerow(fields)
        return out.getvalue().removesuffix("\n")


def key_file_for(warehouse_url: str) -> Path | None:
    """Where the generated key of an embedded DuckDB warehouse lives (None: not DuckDB on disk)."""
    if not warehouse_url.startswith("duckdb:///"):
        return None
    path = warehouse_url.removeprefix("duckdb:///").split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).with_suffix(".pii-key")


def _generated_key(path: Path) -> bytes:
    """The key in ``path``, created (random, owner-only) by the first task that needs it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    for _ in range(50):  # another process may be writing it right now
        key = path.read_text().strip()
        if key:
            return key.encode()
        import time

        time.sleep(0.05)
    raise PiiKeyError(f"the pseudonymisation key file {path.name} is empty; delete it or set {KEY_ENV}")


def _key_of_env_connection() -> str:
    """Outside a task (the ``ugc-pipeline`` commands): the connection ``ugc_pii_key`` as the
    environment gives it to Airflow, ``AIRFLOW_CONN_UGC_PII_KEY`` (JSON or URI): its password."""
    value = os.environ.get(f"AIRFLOW_CONN_{PII_CONN_ID.upper()}", "").strip()
    if not value:
        return ""
    if value.startswith("{"):
        try:
            return str(json.loads(value).get("password") or "")
        except (ValueError, AttributeError):
            return ""
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(value).password or "")


def pseudonymiser_for(settings) -> Pseudonymiser:
    """The deployment's pseudonymiser (see the module's doc for where the key comes from)."""
    key = getattr(settings, "pii_key", "") or os.environ.get(KEY_ENV, "") or _key_of_env_connection()
    if key:
        return Pseudonymiser(key.encode())
    path = key_file_for(settings.warehouse_url)  # a deployment's warehouse (any other URL) has a key
    if path is None:
        raise PiiKeyError(
            f"no key to pseudonymise personal data with: set {KEY_ENV} (or the Airflow connection "
            f"{PII_CONN_ID}, its password the key) for a warehouse other than an embedded DuckDB file")
    return Pseudonymiser(_generated_key(path))
