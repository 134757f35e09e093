"""Table metadata of the dbt project in ``sql/``, read from its YAML.

The marts are dbt models documented in ``sql/models/marts/<mart>.yml`` (description, grain in
``config.meta``, columns with ``data_type`` and descriptions); the audit tables, written by
Python, are the dbt source ``audit`` (``sql/models/audit/_audit__sources.yml``). The audit DDL,
the data dictionary and the tests read the same YAML, so a column is described once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

# The project's top-level sql/ folder (include/ugc_pipeline/catalog.py -> project root).
PROJECT_DIR = Path(__file__).resolve().parents[2]


def sql_dir() -> Path:
    return PROJECT_DIR / "sql"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    schema: str
    name: str
    description: str
    grain: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    sql: str | None  # the SELECT that fills it (marts), None for tables written by Python
    # The grain is a unique key of the table (PostgreSQL: primary key, or UNIQUE NULLS NOT
    # DISTINCT when a grain column is nullable; DuckDB: checked by the tests only).
    unique_grain: bool = False
    # Indexes for what analysts filter by (PostgreSQL only), each a tuple of columns.
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class ViewModel:
    layer: str
    name: str
    sql: str

    @property
    def qualified(self) -> str:
        return f"{self.layer}.{self.name}"


def _spec(entry: dict, schema: str, sql: str | None, where: Path) -> TableSpec:
    meta = (entry.get("config") or {}).get("meta") or entry.get("meta") or {}
    columns = tuple(
        ColumnSpec(name=c["name"], type=c["data_type"], description=(c.get("description") or "").strip(),
                   nullable="not_null" not in (c.get("data_tests") or []))
        for c in entry["columns"]
    )
    spec = TableSpec(
        schema=schema,
        name=entry["name"],
        description=(entry.get("description") or "").strip(),
        grain=tuple(meta.get("grain", ())),
        columns=columns,
        sql=sql,
        unique_grain=bool(meta.get("unique_grain", False)),
        indexes=tuple(tuple(ix) for ix in meta.get("indexes", ())),
    )
    names = set(spec.column_names)
    for cols in (spec.grain, *spec.indexes):
        unknown = [c for c in cols if c not in names]
        if unknown:
            raise ValueError(f"{where}: {spec.name}: grain or index names unknown columns {', '.join(unknown)}")
    if spec.unique_grain and not spec.grain or any(not cols for cols in spec.indexes):
        raise ValueError(f"{where}: {spec.name}: a unique grain or an index without columns")
    return spec


def models_dir() -> Path:
    return sql_dir() / "models"


@cache
def table_specs() -> dict[str, TableSpec]:
    """Every table the pipeline owns besides raw (marts and audit), by qualified name."""
    out = {}
    for yml in sorted((models_dir() / "marts").glob("*.yml")):
        for entry in yaml.safe_load(yml.read_text(encoding="utf-8")).get("models", []):
            sql_file = yml.with_name(entry["name"] + ".sql")
            spec = _spec(entry, "marts", sql_file.read_text(encoding="utf-8") if sql_file.exists() else None, yml)
            out[spec.qualified] = spec
    audit = models_dir() / "audit" / "_audit__sources.yml"
    for source in yaml.safe_load(audit.read_text(encoding="utf-8"))["sources"]:
        for entry in source["tables"]:
            spec = _spec(entry, source.get("schema", source["name"]), None, audit)
            out[spec.qualified] = spec
    return out


def mart_specs() -> list[TableSpec]:
    return [s for s in table_specs().values() if s.schema == "marts"]
