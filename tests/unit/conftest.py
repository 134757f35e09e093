"""Fixtures for the parsing / staging / intermediate unit tests: a landing zone and a real DuckDB
warehouse under pytest's tmp_path. No Airflow, no mocks."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from ugc_pipeline import warehouse
from ugc_pipeline.landing import Landing
from ugc_pipeline.parse import ParsedTable, parse_delivery
from ugc_pipeline.pipeline import IngestResult, build_marts, ingest_source
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import get_source


class Env:
    """One test's landing zone + warehouse."""

    def __init__(self, tmp_path: Path, request: pytest.FixtureRequest | None = None):
        self._request = request
        self.root = tmp_path / "landing"
        self.root.mkdir()
        self.warehouse_file = tmp_path / "wh.duckdb"
        self.settings = Settings(landing_uri=str(self.root), warehouse_url=f"duckdb:///{self.warehouse_file}")
        self._engine = None

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

    def parse(self, source: str, day: str) -> dict[str, ParsedTable]:
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

    def q(self, sql: str, **params) -> pd.DataFrame:
        return warehouse.query_frame(self.engine, sql, params)

    def deliver_business(self) -> None:
        """Start the warehouse from a copy of one holding the business snapshots (products,
        stores, campaigns, ambassadors delivered on 2025-05-04 and loaded by ``ingest_source``);
        the intermediate layer joins UGC to them. Must come before any other ingest."""
        assert not self.warehouse_file.exists(), "deliver_business() must come first"
        shutil.copyfile(self._request.getfixturevalue("business_template"), self.warehouse_file)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


@pytest.fixture
def env(tmp_path, request) -> Env:
    e = Env(tmp_path, request)
    yield e
    e.close()


# -- business tables (CSV snapshots, as the brand's exports deliver them) ----------------------

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


@pytest.fixture(scope="session")
def business_template(tmp_path_factory) -> Path:
    """A warehouse file with the business snapshots ingested, built once per test session."""
    env = Env(tmp_path_factory.mktemp("business"))
    contents = {"products": PRODUCTS_CSV, "stores": STORES_CSV, "campaigns": CAMPAIGNS_CSV,
                "ambassadors": AMBASSADORS_CSV}
    for name, text in contents.items():
        env.write(name, "2025-05-04", f"{name}.csv", text)
        result = env.ingest(name, "2025-05-04", run_id="business-template")
        assert result.status == "success" and result.records_rejected == 0, result.summary()
    env.close()
    return env.warehouse_file
