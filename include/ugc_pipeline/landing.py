"""The landing zone: ``{UGC_LANDING_URI}/{source}/{YYYY-MM-DD}/{file}`` on any fsspec filesystem."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import date

import fsspec
from fsspec.core import url_to_fs


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
            full = path if self.is_local else f"{self.protocol}://{path}"
            found.append(LandedFile(name=rel, path=full, size=int(info.get("size") or 0)))
        return found

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
