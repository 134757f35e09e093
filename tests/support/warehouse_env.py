"""One test's landing zone and real DuckDB warehouse (``Env``), and the business snapshots the
references of the UGC sources resolve against, as the brand's exports deliver them. Used by the
unit tests (adapters, staging) and the validation tests (quarantine, broken deliveries, replay).
No Airflow, no mocks."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
from ugc_pipeline import warehouse
from ugc_pipeline.landing import Landing
from ugc_pipeline.parse import ParsedTable, parse_delivery
from ugc_pipeline.pipeline import IngestResult, build_marts, ingest_source
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import get_source

# -- business tables (CSV snapshots) ------------------------------------------------------------------

BUSINESS_DAY = "2025-05-04"
PRODUCTS_CSV = (
    "sku,gtin,product_name,brand,category\n"
    "MV-OLV-500,03760123450017,Huile d'olive vierge extra 50 cl,Maison Verte,Huiles\n"
    "MV-PES-180,03760123450024,Pesto alla genovese 180 g,Maison Verte,Sauces\n"
    "TA-MIEL-250,03760999000011,Miel de lavande 250 g,Terre d'Azur,Epicerie sucrée\n"
)
STORES_CSV = (
    "store_id,google_location_id,brand,zone_id,city\n"
    "ST-LIL-01,4816235201934567890,Maison Verte,Z-NORD,Lille\n"
    "ST-LYO-02,1122334455667788990,Maison Verte,Z-SUD,Lyon\n"
)
CAMPAIGNS_CSV = (
    "campaign_id,brand,sku,start_date,end_date,hashtags,exposed_zone_ids\n"
    "CMP-2025-OLIVE,Maison Verte,MV-OLV-500,2025-05-05,2025-05-18,#OliveDuMatin #MaisonVerteAmbassadeurs,Z-NORD Z-EST\n"
)
AMBASSADORS_CSV = (
    "ambassador_id,platform,handle,followers,zone_id\n"
    "AMB-0001,instagram,@claire.cuisine,742,Z-NORD\n"
    "AMB-0002,tiktok,@lucas_miam,2310,Z-EST\n"
    "AMB-0003,youtube,LaCuisineDeNina,15400,Z-NORD\n"
    "AMB-0004,blog,cuisine-de-lea,560,Z-SUD\n"
)
BUSINESS_SNAPSHOTS = {"products": PRODUCTS_CSV, "stores": STORES_CSV, "campaigns": CAMPAIGNS_CSV,
                      "ambassadors": AMBASSADORS_CSV}


def position_key(position: str) -> tuple:
    """Sorts '$.reviews[10]' after '$.reviews[9]' and 'row 10' after 'row 9'."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", position))


def _isna(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class Env:
    """One test's landing zone + warehouse (``tmp_path/landing``, ``tmp_path/wh.duckdb``)."""

    def __init__(self, tmp_path: Path, business_template: Callable[[], Path] | None = None, **settings):
        self.tmp = tmp_path
        self._business_template = business_template
        self.root = tmp_path / "landing"
        self.root.mkdir(parents=True, exist_ok=True)
        self.warehouse_file = tmp_path / "wh.duckdb"
        self.settings = Settings(landing_uri=str(self.root), warehouse_url=f"duckdb:///{self.warehouse_file}",
                                 **settings)
        self._engine = None

    def with_settings(self, **changes) -> Env:
        """The same landing zone and warehouse with other settings (threshold, time zone, GX dir)."""
        self.settings = replace(self.settings, **changes)
        return self

    # -- landing ---------------------------------------------------------------------------
    def write(self, source: str, day: str, name: str, content: str | bytes | dict | list) -> Path:
        """Drop one file into ``{landing}/{source}/{day}/{name}``. Dicts are dumped as JSON;
        ``str`` and ``bytes`` are written exactly as given (hand-written payloads)."""
        path = self.root / source / day / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, (dict, list)):
            content = json.dumps(content, ensure_ascii=False, indent=1)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return path

    def deliver(self, source: str, day: str, files: dict[str, bytes | str]) -> None:
        """(Re-)deliver a whole delivery folder: what was there before is replaced."""
        folder = self.root / source / day
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, content in files.items():
            self.write(source, day, name, content)

    def parse(self, source: str, day: str) -> dict[str, ParsedTable]:
        """What the ingest task's parser makes of a delivery folder (no warehouse)."""
        landing = Landing(self.settings.landing_uri)
        files = landing.files(source, date.fromisoformat(day))
        assert files is not None, f"no delivery folder for {source} {day}"
        return parse_delivery(get_source(source), landing, files)

    # -- warehouse -------------------------------------------------------------------------
    @property
    def engine(self):
        if self._engine is None:
            self._engine = warehouse.create_warehouse_engine(self.settings.warehouse_url)
        return self._engine

    def ingest(self, source: str, day: str, run_id: str = "test-run") -> IngestResult:
        return ingest_source(source, date.fromisoformat(day), self.settings, run_id)

    def build(self) -> dict[str, int]:
        """Create the views and rebuild the marts (also stores UGC_TIMEZONE for the views)."""
        return build_marts(self.settings)

    def views(self) -> None:
        """Build the staging and intermediate views (dbt) without the marts."""
        from ugc_pipeline.transform import build_views

        build_views(self.settings)

    def deliver_business(self) -> None:
        """Start the warehouse from a copy of the session's ``business_template`` (the business
        snapshots of BUSINESS_DAY loaded by ``ingest_source``); the intermediate layer joins UGC
        to them. Must come before any other ingest."""
        assert self._business_template is not None, "Env made without the business_template"
        assert not self.warehouse_file.exists(), "deliver_business() must come first"
        shutil.copyfile(self._business_template(), self.warehouse_file)

    def q(self, sql: str, **params) -> pd.DataFrame:
        return warehouse.query_frame(self.engine, sql, params)

    def records(self, sql: str, **params) -> list[dict]:
        return [{k: (None if _isna(v) else v) for k, v in r.items()} for r in self.q(sql, **params).to_dict("records")]

    def rejects(self, source: str | None = None, day: str | None = None) -> list[dict]:
        """audit.rejected_records as dicts, raw parsed with json.loads, in file/position order."""
        rows = self.records(
            "select source, cast(delivery_date as varchar) as delivery_date, file, position, reasons, raw, run_id "
            "from audit.rejected_records where (cast(:s as varchar) is null or source = :s) "
            "and (cast(:d as date) is null or delivery_date = cast(:d as date))", s=source, d=day)
        for r in rows:
            r["raw"] = json.loads(r["raw"])
        return sorted(rows, key=lambda r: (r["source"], r["delivery_date"], r["file"], position_key(r["position"])))

    def runs(self, **where) -> list[dict]:
        cond = " and ".join(f"{k} = :{k}" for k in where) or "true"
        return self.records(
            "select run_id, source, cast(delivery_date as varchar) as delivery_date, status, files_read, records_read, "
            f"records_loaded, records_rejected, message from audit.pipeline_runs where {cond} "
            "order by started_at", **where)

    def snapshot(self, schemas: tuple[str, ...] = ("raw", "marts")) -> dict[str, pd.DataFrame]:
        """Every table of the schemas, plus the quarantine, fully sorted: to compare states.
        (One connection: the warehouse engine does not pool, and opening DuckDB costs ~50 ms.)"""
        from sqlalchemy import text

        out = {}
        with self.engine.connect() as conn:
            tables = [r[0] for r in conn.execute(text(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_schema in (select unnest(cast(:s as varchar[]))) and table_type = 'BASE TABLE' "
                "order by 1"), {"s": list(schemas)})]
            for table in [*tables, "audit.rejected_records"]:
                result = conn.execute(text(f"select * from {table}"))
                frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
                out[table] = frame.sort_values(list(frame.columns), ignore_index=True, na_position="first") \
                    if len(frame) else frame
        return out

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def start_env(tmp_path: Path, template: Path | None = None, **settings) -> Env:
    """An Env whose warehouse starts as a copy of ``template`` (and its landing zone as a copy of
    the template's, when it has one beside it: replay and reruns re-read them)."""
    env = Env(tmp_path, **settings)
    if template is not None:
        shutil.copyfile(template, env.warehouse_file)
        landing = template.parent / "landing"
        if landing.exists():
            shutil.copytree(landing, env.root, dirs_exist_ok=True)
    return env


def build_business_template(folder: Path) -> Path:
    """A warehouse file (``folder/wh.duckdb``) with BUSINESS_SNAPSHOTS delivered on BUSINESS_DAY
    (``folder/landing``) and ingested."""
    env = Env(folder)
    for name, text in BUSINESS_SNAPSHOTS.items():
        env.write(name, BUSINESS_DAY, f"{name}.csv", text)
        result = env.ingest(name, BUSINESS_DAY, run_id="business-template")
        assert result.status == "success" and result.records_rejected == 0, result.summary()
    env.close()
    return env.warehouse_file
