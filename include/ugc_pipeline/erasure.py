"""Erasing one person: every item they authored, from raw, the quarantine and the marts.

Given an e-mail, a handle, a name or a pseudonym (``ugc_pipeline.pii``), ``erase``:

1. computes the pseudonym (the warehouse holds nothing else of the person);
2. in ONE transaction: deletes every raw row whose personal column holds it (a review's e-mail
   or name, a platform handle, the handle inside a post URL), and, when it is an ambassador's
   handle in the roster, every row of that ambassador (roster rows, declared posts, survey
   answers, by ``ambassador_id``); deletes every quarantined record whose delivered content
   holds the pseudonym or that ambassador; writes one row to ``audit.erasures``: the pseudonym,
   what was asked for (``email``, ``handle``...), the counts per table, never the value itself;
3. rebuilds the marts (``pipeline.build_marts``): the incremental marts rewrite exactly the KPI
   days whose rows change, so the days the person's items counted on are recomputed without them;
   the erasure's row then says ``rebuilt`` (or ``failed``: the next marts run rebuilds them).

A failure before the commit leaves the warehouse as it was. What it cannot reach (the landing
zone's files, backups, re-deliveries) is in docs/DECISIONS.md, "Erasing a person".
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text

from ugc_pipeline import pii, warehouse
from ugc_pipeline.parse import sql_ident
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import raw_tables

log = logging.getLogger(__name__)

ASKED = ("email", "handle", "name", "id")


class ErasureError(ValueError):
    """What was asked cannot be erased (no value, a malformed pseudonym)."""


@dataclass
class ErasureResult:
    erasure_id: str
    asked_by: str  # email | handle | name | id
    pseudonym: str
    raw_rows: dict[str, int] = field(default_factory=dict)
    rejected_rows: int = 0
    ambassadors: int = 0
    kpi_days: int = 0
    marts: str = "pending"  # rebuilt | failed | not_needed | dry_run
    dry_run: bool = False

    @property
    def total_raw(self) -> int:
        return sum(self.raw_rows.values())

    def summary(self) -> str:
        tables = ", ".join(f"raw.{t}={n}" for t, n in sorted(self.raw_rows.items()) if n) or "no raw row"
        verb = "would erase" if self.dry_run else "erased"
        return (f"erasure {self.erasure_id} ({self.asked_by} -> pseudonym {self.pseudonym}): {verb} "
                f"{tables}; {self.rejected_rows} quarantined record(s); {self.ambassadors} ambassador(s); "
                f"{self.kpi_days} KPI day(s) touched; marts {self.marts}")

    def as_dict(self) -> dict:
        return asdict(self)


def pseudonym_for(settings: Settings, *, email: str | None = None, handle: str | None = None,
                  name: str | None = None, id: str | None = None) -> tuple[str, str]:  # noqa: A002
    """(what was asked for, the pseudonym) from exactly one of the four."""
    given = {k: v for k, v in (("email", email), ("handle", handle), ("name", name), ("id", id)) if v}
    if len(given) != 1:
        raise ErasureError("give exactly one of --email, --handle, --name or --id")
    (asked, value), = given.items()
    if asked == "id":
        value = value.strip().lower()
        if not pii.PSEUDONYM.fullmatch(value):
            raise ErasureError("--id takes a pseudonym as the warehouse holds it: 64 hexadecimal digits")
        return asked, value
    return asked, pii.pseudonymiser_for(settings).pseudonym(asked, value)


def _kpi_days(conn, items: set[tuple[str, str]]) -> int:
    """The KPI days the erased items counted on, as the marts' enriched items say (0 before the
    first marts build)."""
    exists = conn.execute(text(
        "select count(*) from information_schema.tables where table_schema = 'intermediate' "
        "and table_name = 'int_ugc_items__enriched'")).scalar_one()
    if not items or not exists:
        return 0
    days = set()
    for source, item_id in items:
        days.update(r[0] for r in conn.execute(
            text("select distinct kpi_date from intermediate.int_ugc_items__enriched "
                 "where source = :s and item_id = :i"), {"s": source, "i": item_id}))
    return len(days)


_ITEM_KEY = {  # the UGC item id of a raw table, as the staging models name it item_id
    "google_business_reviews": "reviewId", "yotpo_reviews": "id", "retailer_reviews": "review_id",
    "instagram_media": "id", "tiktok_videos": "id", "youtube_videos": "id", "ambassador_posts": "post_id",
}


def erase(settings: Settings, *, run_id: str = "manual", dry_run: bool = False, rebuild_marts: bool = True,
          **who: str | None) -> ErasureResult:
    """Erase one person (see the module's doc); ``who``: one of email, handle, name, id."""
    asked, target = pseudonym_for(settings, **who)
    result = ErasureResult(erasure_id=uuid.uuid4().hex, asked_by=asked, pseudonym=target, dry_run=dry_run)
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    try:
        warehouse.ensure_warehouse(engine)
        started = datetime.now(UTC)
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                _erase_in(conn, result, target)
                if dry_run:
                    result.marts = "dry_run"
                    trans.rollback()
                else:
                    result.marts = "pending" if result.total_raw else "not_needed"
                    _record(conn, result, run_id, started)
                    trans.commit()
            except BaseException:
                trans.rollback()
                raise
    finally:
        engine.dispose()
    if not dry_run and result.total_raw and rebuild_marts:
        from ugc_pipeline.pipeline import build_marts

        try:
            build_marts(settings)
            result.marts = "rebuilt"
        except Exception as exc:
            result.marts = "failed"
            log.error("erasure %s: the marts rebuild failed (the next marts run rebuilds them): %s",
                      result.erasure_id, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        _update_marts_status(settings, result)
    log.info(result.summary())
    return result


def _erase_in(conn, result: ErasureResult, target: str) -> None:
    tables = raw_tables()
    # An ambassador's handle in the roster: the person is that ambassador, everywhere.
    ambassador_ids: set[str] = set()
    for table in tables:
        for column, kind in table.personal_columns().items():
            if kind == "handle" and "ambassador_id" in {c.name for c in table.columns}:
                ambassador_ids.update(r[0] for r in conn.execute(
                    text(f"select distinct ambassador_id from raw.{table.name} where {sql_ident(column)} = :p "
                         "and ambassador_id is not null"), {"p": target}))
    result.ambassadors = len(ambassador_ids)
    items: set[tuple[str, str]] = set()
    deletes: list[tuple[str, str, dict]] = []
    for table in tables:
        conditions, params = [], {"p": target, "like": f"%{target}%"}
        for column, kind in table.personal_columns().items():
            op = "like :like" if kind == "post_url" else "= :p"
            conditions.append(f"{sql_ident(column)} {op}")
        if ambassador_ids and "ambassador_id" in {c.name for c in table.columns}:
            names = [f"a{i}" for i in range(len(ambassador_ids))]
            conditions.append(f"ambassador_id in ({', '.join(':' + n for n in names)})")
            params.update(zip(names, sorted(ambassador_ids), strict=True))
        if not conditions:
            continue
        where = " or ".join(conditions)
        key = _ITEM_KEY.get(table.name)
        if key:
            items.update((table.name, r[0]) for r in conn.execute(
                text(f"select distinct {sql_ident(key)} from raw.{table.name} where {where}"), params))
        deletes.append((table.name, where, params))
    result.kpi_days = _kpi_days(conn, items)  # before the rows go: the views read them
    for name, where, params in deletes:
        n = conn.execute(text(f"select count(*) from raw.{name} where {where}"), params).scalar_one()
        if n:
            conn.execute(text(f"delete from raw.{name} where {where}"), params)
        result.raw_rows[name] = int(n)
    # The quarantine: records whose delivered content holds the pseudonym, or the ambassador.
    ambassador_sources = sorted({t.name for t in tables if "ambassador_id" in {c.name for c in t.columns}})
    rows = conn.execute(
        text("select source, delivery_date, file, position, raw from audit.rejected_records "
             "where raw like :like" + (" or source in (" + ", ".join(f"'{s}'" for s in ambassador_sources) + ")"
                                       if ambassador_ids else "")),
        {"like": f"%{target}%"}).fetchall()
    for source, day, file, position, raw in rows:
        if not (target in (raw or "") or _holds_ambassador(raw, ambassador_ids)):
            continue
        conn.execute(text("delete from audit.rejected_records where source = :s and delivery_date = :d "
                          "and file = :f and position = :pos"), {"s": source, "d": day, "f": file, "pos": position})
        result.rejected_rows += 1


def _holds_ambassador(raw: str | None, ids: set[str]) -> bool:
    if not ids or not raw:
        return False
    try:
        record = json.loads(raw)
    except ValueError:
        return False
    if isinstance(record, dict):
        return str(record.get("ambassador_id") or "").strip() in ids
    return isinstance(record, str) and any(i in record for i in ids)  # an unreadable line, as delivered


def _record(conn, result: ErasureResult, run_id: str, started: datetime) -> None:
    from ugc_pipeline import catalog, dialects

    spec = catalog.table_specs()["audit.erasures"]
    row = {"erasure_id": result.erasure_id, "run_id": run_id, "requested_at": started,
           "finished_at": datetime.now(UTC), "asked_by": result.asked_by, "pseudonym": result.pseudonym,
           "raw_rows": result.total_raw, "raw_rows_by_table": json.dumps({k: v for k, v in result.raw_rows.items()
                                                                          if v}, sort_keys=True),
           "rejected_rows": result.rejected_rows, "ambassadors": result.ambassadors, "kpi_days": result.kpi_days,
           "marts": result.marts}
    import pandas as pd

    dialects.for_connection(conn).load_frame(conn, spec.qualified, pd.DataFrame([row])[spec.column_names])


def _update_marts_status(settings: Settings, result: ErasureResult) -> None:
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("update audit.erasures set marts = :m, finished_at = :now where erasure_id = :e"),
                         {"m": result.marts, "now": datetime.now(UTC), "e": result.erasure_id})
    except Exception as exc:
        log.error("erasure %s: could not record the marts' status: %s", result.erasure_id, type(exc).__name__)
    finally:
        engine.dispose()
