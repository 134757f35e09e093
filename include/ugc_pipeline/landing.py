"""The landing zone: ``{UGC_LANDING_URI}/{source}/{YYYY-MM-DD}/{file}`` on any fsspec filesystem.

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


class DeliveryError(Exception):
    """A delivered file (or a whole delivery) cannot be used; the message names the file."""


@dataclass(frozen=True)
class LandedFile:
    """A delivered file: ``name`` is its path relative to the landing root (what errors show)."""

    name: str
    path: str  # what the filesystem (and DuckDB) open
    size: int


class Landing:
    def __init__(self, uri: str):
        self.uri = uri
        self.fs, root = url_to_fs(uri)
        self.root = root.rstrip("/")
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.is_local = protocol in ("file", "local")
        self.protocol = protocol

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
