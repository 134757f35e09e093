"""Helpers of the deployment tests: reading marts as plain values and comparing them across
warehouses (DuckDB and PostgreSQL return different Python types for the same values)."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from ugc_pipeline import catalog, warehouse

ROOT = Path(__file__).resolve().parents[2]


def _plain(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def mart_rows(url: str) -> dict[str, list[tuple]]:
    """Every mart's rows as tuples of plain values, in the order of the mart's grain."""
    engine = warehouse.create_warehouse_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for spec in catalog.mart_specs():
                cols = ", ".join(f'"{c}"' for c in spec.column_names)
                rows = conn.execute(text(f"select {cols} from {spec.qualified}")).fetchall()
                plain = [tuple(_plain(v) for v in row) for row in rows]
                out[spec.qualified] = sorted(plain, key=lambda r: tuple((v is None, str(v)) for v in r))
    finally:
        engine.dispose()
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def mart_differences(left: dict[str, list[tuple]], right: dict[str, list[tuple]], limit: int = 5) -> list[str]:
    """What differs between two warehouses' marts (empty when they are equal)."""
    problems = []
    for name in sorted(set(left) | set(right)):
        a, b = left.get(name, []), right.get(name, [])
        if len(a) != len(b):
            problems.append(f"{name}: {len(a)} rows vs {len(b)}")
            continue
        bad = [(x, y) for x, y in zip(a, b, strict=True) if not all(_same(u, v) for u, v in zip(x, y, strict=True))]
        problems += [f"{name}: {x} != {y}" for x, y in bad[:limit]]
    return problems
