"""What a pseudonym must be, computed here independently of ``ugc_pipeline.pii``: the HMAC-SHA256
(hex) of ``<kind>:<normalised value>`` under the session's key (``UGC_PII_KEY``, set by
``tests/conftest.py``), the kind being ``email``, ``handle``, ``name`` or ``url`` (a post URL keeps
its text, only the handle it names becomes the handle's pseudonym)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from ugc_pipeline.sources.base import RawTable


def pseudonym(kind: str, value: str, key: str | None = None) -> str:
    key = key if key is not None else os.environ["UGC_PII_KEY"]
    if kind == "email":
        norm = value.strip().lower()
    elif kind == "handle":
        norm = value.strip().lstrip("@").lower()
    elif kind == "name":
        norm = " ".join(value.split()).lower()
    else:
        norm = value.strip()
    return hmac.new(key.encode(), f"{kind}:{norm}".encode(), hashlib.sha256).hexdigest()


def pseudonymised(kind: str, value):
    if not isinstance(value, str) or not value.strip():
        return value
    if kind == "post_url":
        return re.sub(r"(tiktok\.com/@|instagram\.com/stories/|youtube\.com/@)([^/?#\s]+)",
                      lambda m: m[1] + pseudonym("handle", m[2]), value, flags=re.IGNORECASE)
    return pseudonym(kind, value)


def pseudonymised_record(table: RawTable, record: dict) -> dict:
    """A delivered record (JSON object, or CSV row keyed by its header) as the quarantine keeps it."""
    import copy

    out = copy.deepcopy(record)
    for path, kind in table.personal_paths().items():
        node = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = pseudonymised(kind, node[path[-1]])
    return out
