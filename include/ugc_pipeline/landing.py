"""The landing zone: ``{UGC_LANDING_URI}/{source}/{YYYY-MM-DD}/{file}`` on any fsspec filesystem.

A remote landing zone (``s3://bucket/prefix``) is opened through Airflow's object storage with the
connection ``UGC_LANDING_CONN_ID`` (default ``aws_default``): ``Landing.for_settings`` (what the
pipeline, the pulls and the CLI use; ``ugc_pipeline.connections.landing_filesystem``). A scheme no
installed Airflow provider serves is opened by fsspec itself, as is a ``Landing(uri)`` made
without a connection id (tests, local folders).

Nothing outside the landing root is ever read: a delivered symbolic link, anything that is not a
regular file, or a path that resolves outside the root fails the delivery, naming the file
relative to the root (and never what it points to).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from datetime import date

import fsspec
from fsspec.core import url_to_fs


def _is_local(uri: str) -> bool:
    scheme, has_scheme, _ = uri.partition("://")
    return not has_scheme or scheme in ("file", "local")


def _object_storage(uri: str, conn_id: str):
    """(filesystem, root, connection id used) through Airflow's object storage; fsspec's own,
    without a connection, for a scheme no installed provider serves."""
    from ugc_pipeline.connections import landing_filesystem

    try:
        return (*landing_filesystem(uri, conn_id), conn_id)
    except ValueError as exc:  # "No filesystem registered for scheme ..."
        if "No filesystem registered" not in str(exc):
            raise
        return (*url_to_fs(uri), None)


class DeliveryError(Exception):
    """A delivered file (or a whole delivery) cannot be used; the message names the file."""


@dataclass(frozen=True)
class LandedFile:
    """A delivered file: ``name`` is its path relative to the landing root (what errors show)."""

    name: str
    path: str  # what the filesystem (and DuckDB) open
    size: int


class Landing:
    def __init__(self, uri: str, conn_id: str | None = None):
        self.uri = uri
        # a remote zone is read through Airflow's object storage with the connection conn_id
        if conn_id is None or _is_local(uri):
            (self.fs, root), self.conn_id = url_to_fs(uri), None
        else:
            self.fs, root, self.conn_id = _object_storage(uri, conn_id)
        self.root = root.rstrip("/")
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.is_local = protocol in ("file", "local")
        self.protocol = protocol

    @classmethod
    def for_settings(cls, settings) -> Landing:
        """The landing zone of the settings: a remote one through the connection ``UGC_LANDING_CONN_ID``."""
        return cls(settings.landing_uri, conn_id=settings.landing_conn_id)

    def folder(self, source: str, delivery_date: date) -> str:
        return posixpath.join(self.root, source, delivery_date.isoformat())

    def files(self, source: str, delivery_date: date) -> list[LandedFile] | None:
        """The files of one delivery, sorted by name; None when the folder does not exist."""
        folder = self.folder(source, delivery_date)
        if not self.fs.isdir(folder):
            return None
        found = []
        for path, info in sorted(self.fs.find(folder, detail=True).items()):
            base = posixpath.basename(path)
            if base.startswith((".", "_")):  # hidden files and markers such as _SUCCESS
                continue
            rel = posixpath.relpath(path, self.root)
            self._check_inside(path, rel, info)
            full = path if self.is_local else f"{self.protocol}://{path}"
            found.append(LandedFile(name=rel, path=full, size=int(info.get("size") or 0)))
        return found

    def _check_inside(self, path: str, rel: str, info: dict) -> None:
        """A delivered file is a regular file inside the landing root, not a link to elsewhere."""
        if rel == ".." or rel.startswith("../") or posixpath.isabs(rel):
            raise DeliveryError(f"{rel}: is outside the landing zone; nothing outside it is read")
        if info.get("islink"):
            raise DeliveryError(f"{rel}: is a symbolic link; the landing zone takes regular files only, "
                                "and nothing outside it is read")
        if info.get("type", "file") != "file":
            raise DeliveryError(f"{rel}: is not a regular file")
        if self.is_local:
            real_root = os.path.realpath(self.root)
            if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
                # a folder on the way (the delivery or source folder) links outside the root
                raise DeliveryError(f"{rel}: resolves outside the landing zone; nothing outside it is read")

    def delivery_dates(self, source: str) -> list[date]:
        """Every delivery date folder present for a source (used by backfills and tests)."""
        base = posixpath.join(self.root, source)
        if not self.fs.isdir(base):
            return []
        out = []
        for path in self.fs.ls(base, detail=False):
            try:
                out.append(date.fromisoformat(posixpath.basename(path.rstrip("/"))))
            except ValueError:
                continue
        return sorted(out)

    def filesystem(self) -> fsspec.AbstractFileSystem:
        return self.fs
