"""What an adapter declares: the raw tables a source lands, and how to read each field.

An adapter never touches the warehouse. It says, for one source folder of the landing zone,
which files it reads (JSON pages, NDJSON or CSV), where the records sit inside a file, and which
native field feeds which raw column. ``ugc_pipeline.parse`` turns that declaration into one
set-based DuckDB query per file; the raw columns keep the native values as text, exactly as
delivered, and the staging SQL models (``sql/models/staging``) cast and rename them: adapters
never rename.

Raw column names are the platform's own field names (``Column``): a top-level JSON field keeps its
exact name (``id``, ``createTime``), a nested one joins its path with ``__``
(``reviewer__displayName``), case kept; a CSV column keeps its header. A value the adapter must
derive (``sql``) is named after where it comes from (``insights__reach``, ``name__locationId``),
and its ``doc`` says how. Mixed-case names are quoted in SQL (``"createTime"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a raw column's text must be castable; checked before anything is loaded.
ValueType = Literal["text", "int", "float", "bool", "timestamp", "unix_seconds", "date"]
FileFormat = Literal["json", "ndjson", "csv"]


@dataclass(frozen=True)
class Column:
    """One raw column.

    ``path`` is a JSON path inside the record (``$.reviewer.displayName``) for JSON sources, or
    the header name for CSV sources; ``name`` is that path as the platform spells it, ``$.``
    left out and ``.`` written ``__`` (``reviewer__displayName``), or the header itself.
    ``sql`` replaces the path with a DuckDB expression over ``item`` (the record, JSON) and
    ``doc`` (the whole file, JSON) when a plain path cannot express it (Instagram insights are a
    list of named metrics; TikTok hashtags are a list); ``name`` then says where the value comes
    from (``insights__reach``) and the column's ``doc`` how it is derived.
    """

    name: str
    path: str | None = None
    type: ValueType = "text"
    required: bool = False
    sql: str | None = None
    doc: str = ""


@dataclass(frozen=True)
class Rule:
    """A record-level expectation beyond "required" and "castable" (those come from Column).

    ``between``: the typed value lies in [min, max] (either bound optional);
    ``in_set``: the value (compared case-insensitively when ``ignore_case``) is one of ``values``;
    ``resolves``: the value exists in a business table, ``reference`` = ``"products.sku"``.
    A ``resolves`` rule with several columns passes when any of them resolves (retailer reviews:
    ``product_id`` as a SKU, else ``gtin``); ``reference`` then lists one target per column.
    """

    kind: Literal["between", "in_set", "resolves"]
    columns: tuple[str, ...]
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    ignore_case: bool = False
    reference: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        col = " or ".join(self.columns)
        if self.kind == "between":
            if self.min is not None and self.max is not None:
                return f"{col} between {self.min:g} and {self.max:g}"
            return f"{col} >= {self.min:g}" if self.min is not None else f"{col} <= {self.max:g}"
        if self.kind == "in_set":
            return f"{col} in ({', '.join(self.values)})"
        return " or ".join(f"{c} in {r}" for c, r in zip(self.columns, self.reference, strict=True))


def between(column: str, min: float | None = None, max: float | None = None) -> Rule:  # noqa: A002
    return Rule("between", (column,), min=min, max=max)


def non_negative(*columns: str) -> tuple[Rule, ...]:
    return tuple(between(c, 0) for c in columns)


def in_set(column: str, *values: str, ignore_case: bool = False) -> Rule:
    return Rule("in_set", (column,), values=values, ignore_case=ignore_case)


def resolves(column: str, reference: str) -> Rule:
    return Rule("resolves", (column,), reference=(reference,))


def resolves_any(**targets: str) -> Rule:
    return Rule("resolves", tuple(targets), reference=tuple(targets.values()))


# What kind of personal data a field holds (how it is normalised and pseudonymised: ugc_pipeline.pii).
PiiKind = Literal["email", "handle", "name", "url", "post_url"]


@dataclass(frozen=True)
class Personal:
    """A field that says who a person is: pseudonymised at ingestion (``ugc_pipeline.pii``), in
    the raw column and in the record as delivered (the quarantine's ``raw``).

    ``field`` is a raw column's name; a field of the delivered record that feeds no raw column
    (Google's ``reviewer.profilePhotoUrl``) is named by its ``path`` instead (a JSON path, or a
    CSV header), and ``field`` then just names it."""

    field: str
    kind: PiiKind
    path: str | None = None


def personal(field: str, kind: PiiKind, path: str | None = None) -> Personal:
    return Personal(field, kind, path)


@dataclass(frozen=True)
class RawTable:
    """A table of the raw layer: one row per record as delivered, plus delivery metadata."""

    name: str
    columns: tuple[Column, ...]
    # JSON path of the record array inside a file (``$.reviews``); None for CSV and NDJSON.
    records_path: str | None = None
    # For sources whose files hold several payload kinds (YouTube): the file's ``kind`` value.
    kind: str | None = None
    # Native identity of a record, used for duplicate checks and for "latest version wins".
    key: tuple[str, ...] = ()
    description: str = ""
    # The staging model that maps this table to the shared UGC item columns (None: not UGC items).
    ugc_model: str | None = None
    # The record's creation time (must not be after the delivery day) and version time (a
    # record repeated in one delivery is a duplicate unless its version time differs).
    created_column: str | None = None
    version_column: str | None = None
    rules: tuple[Rule, ...] = ()
    # The personal data of a record, all in one place: pseudonymised at ingestion (ugc_pipeline.pii).
    personal: tuple[Personal, ...] = ()

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def personal_columns(self) -> dict[str, str]:
        """Raw column -> kind of personal data, for the columns that hold some."""
        names = {c.name for c in self.columns}
        return {p.field: p.kind for p in self.personal if p.path is None and p.field in names}

    def personal_paths(self) -> dict[tuple[str, ...], str]:
        """Key path in the delivered record (a JSON object, or a CSV row keyed by its header) ->
        kind, for every personal field of the record, whether or not a raw column holds it."""
        out: dict[tuple[str, ...], str] = {}
        for p in self.personal:
            path = p.path
            if path is None:
                col = self.column(p.field)
                if col.path is None:  # derived from the page, not the record (Instagram's user__username)
                    continue
                path = col.path
            out[tuple(path.removeprefix("$.").split(".")) if path.startswith("$.") else (path,)] = p.kind
        return out


@dataclass(frozen=True)
class PageShape:
    """What one JSON page (file) of a source must look like, checked before any record is read.

    A page that does not fit is not a page of the source (an API error saved as the page, the
    wrong endpoint, a top-level array): the delivery fails naming the file, never "0 records".
    The records array of each table (``RawTable.records_path``) must be there unless
    ``records_optional``.
    """

    what: str  # how messages name a good page: "a Google Business Profile reviews.list page"
    # Where the platform puts its error (``$.error``), and the codes that mean success (TikTok
    # always sends ``error.code = "ok"``). A page carrying it with another code is an API error,
    # reported with the platform's code and message.
    error_path: str | None = None
    ok_codes: tuple[str, ...] = ()
    # JSON paths every page holds (the Instagram user node's ``$.id``).
    required: tuple[str, ...] = ()
    # The records array may be absent, meaning no records (Google omits ``reviews`` for a place
    # without reviews, Instagram omits ``media`` for an account without media)...
    records_optional: bool = False
    # ... and then the page may hold only these top-level keys (empty: any).
    page_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """A source folder of the landing zone and the raw tables its files feed."""

    name: str
    formats: tuple[FileFormat, ...]
    tables: tuple[RawTable, ...]
    description: str
    # Business tables are CSV snapshots or daily facts; UGC sources carry consumer content.
    kind: Literal["ugc", "business"] = "ugc"
    # A required source must deliver every day; a missing folder is then an error.
    required: bool = False
    # JSON sources: what a page must look like (``PageShape``); None: any object holding the records.
    page: PageShape | None = None
    # CSV only: the separators this export uses (sniffed per file among these).
    csv_separators: tuple[str, ...] = (",", ";")
    # Above this share of rejected records the delivery is considered broken and nothing loads
    # (overridable per source with UGC_MAX_REJECTED_SHARE, see ugc_pipeline.settings).
    max_rejected_share: float = 0.5
    # Business tables other sources are checked against load first (see dags/ugc_ingest.py).
    is_reference: bool = False

    def table_for_kind(self, kind: str | None) -> RawTable | None:
        if len(self.tables) == 1 and self.tables[0].kind is None:
            return self.tables[0]
        for table in self.tables:
            if table.kind == kind:
                return table
        return None


def col(name: str, path: str | None = None, type: ValueType = "text", *, required: bool = False,
        sql: str | None = None, doc: str = "") -> Column:
    """Shorthand used by the adapters: ``col("reviewId", "$.reviewId", required=True)``."""
    return Column(name=name, path=path, type=type, required=required, sql=sql, doc=doc)


def csv_columns(*names: str, types: dict[str, ValueType] | None = None,
                required: tuple[str, ...] = ()) -> tuple[Column, ...]:
    """CSV adapters name their raw columns after the export's header."""
    types = types or {}
    return tuple(Column(name=n, path=n, type=types.get(n, "text"), required=n in required)
                 for n in names)
