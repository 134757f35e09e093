"""Write the raw layer directly, as the ingest tasks do after validation
(``warehouse.replace_delivery``): for tests of the SQL layer, which need raw rows and not the
parsers' work."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from ugc_pipeline import warehouse
from ugc_pipeline.sources import raw_tables

TABLES = {t.name: t for t in raw_tables()}


def load_delivery(engine, day: date, content: dict[str, list[dict] | None], run_id: str = "test") -> None:
    """Replace the delivery of ``day`` of each raw table named in ``content`` by its rows (dicts
    of raw column, i.e. the platform's field name -> text; missing or blank = NULL); ``None``
    removes that table's delivery (nothing delivered that day). One transaction. A key that is
    not a column of the table fails (it would silently be NULL)."""
    with engine.begin() as conn:
        for name, rows in content.items():
            table = TABLES[name]
            if rows is None:
                warehouse.remove_delivery(conn, table, day)
                continue
            unknown = {k for row in rows for k in row} - {c.name for c in table.columns}
            assert not unknown, f"raw.{name} has no column {', '.join(sorted(unknown))}"
            columns = {c.name: pa.array([row.get(c.name) or None for row in rows], pa.string()) for c in table.columns}
            columns["source_file"] = pa.array([f"{name}.json"] * len(rows), pa.string())
            columns["record_number"] = pa.array(range(1, len(rows) + 1), pa.int64())
            columns["record_position"] = pa.array([f"$[{i}]" for i in range(len(rows))], pa.string())
            warehouse.replace_delivery(conn, table, day, pa.table(columns), run_id=run_id)
