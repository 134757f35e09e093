"""The one place that decides where the landing zone, the warehouse and the KPI calendar are.

Environment variables are the floor (contract section 1). Airflow Variables of the same name
override them when the code runs inside an Airflow task (``ugc_pipeline.airflow_support``);
nothing here imports Airflow, so the package is usable and testable without it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_LANDING_URI = "./data/landing"
DEFAULT_WAREHOUSE_URL = "duckdb:///data/warehouse.duckdb"
DEFAULT_TIMEZONE = "Europe/Paris"
DEFAULT_GX_DIR = "./data/gx"

SETTING_NAMES = ("UGC_LANDING_URI", "UGC_WAREHOUSE_URL", "UGC_TIMEZONE", "UGC_GX_DIR", "UGC_MAX_REJECTED_SHARE")

# Airflow pool that serialises every task writing the warehouse (DuckDB allows one writer).
WAREHOUSE_POOL = "ugc_warehouse"


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use."""


@dataclass(frozen=True)
class Settings:
    landing_uri: str = DEFAULT_LANDING_URI
    warehouse_url: str = DEFAULT_WAREHOUSE_URL
    timezone: str = DEFAULT_TIMEZONE
    # Where GX keeps its suites, validation results and Data Docs (HTML); "" = in memory only.
    # Settings.load() (what the DAGs and the CLI use) defaults it to ./data/gx.
    gx_dir: str = ""
    # Per-source rejected-share thresholds: "0.1" for every source, or "yotpo_reviews=0.05,retailer_reviews=0.2".
    max_rejected_share: str = ""

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"UGC_TIMEZONE={self.timezone!r} is not an IANA time zone") from None
        if not self.warehouse_url or "://" not in self.warehouse_url:
            raise SettingsError(f"UGC_WAREHOUSE_URL={self.warehouse_url!r} is not a SQLAlchemy URL")
        if not self.landing_uri:
            raise SettingsError("UGC_LANDING_URI is empty")
        self._thresholds()  # fail early on a malformed UGC_MAX_REJECTED_SHARE

    def _thresholds(self) -> dict[str | None, float]:
        out: dict[str | None, float] = {}
        for part in filter(None, (p.strip() for p in self.max_rejected_share.split(","))):
            name, _, value = part.rpartition("=")
            try:
                share = float(value)
            except ValueError:
                share = -1.0
            if not 0 <= share <= 1:
                raise SettingsError(f"UGC_MAX_REJECTED_SHARE: {part!r} is not a share between 0 and 1")
            out[name.strip() or None] = share
        return out

    def rejected_share_threshold(self, source: str, default: float) -> float:
        """The share of rejected records above which a delivery of ``source`` is broken."""
        thresholds = self._thresholds()
        return thresholds.get(source, thresholds.get(None, default))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None,
             overrides: Mapping[str, str | None] | None = None) -> Settings:
        """Settings from the environment, then from ``overrides`` (e.g. Airflow Variables)."""
        environ = os.environ if environ is None else environ
        values = {name: environ.get(name) or None for name in SETTING_NAMES}
        for name, value in (overrides or {}).items():
            if value:
                values[name] = value
        return cls(
            landing_uri=values["UGC_LANDING_URI"] or DEFAULT_LANDING_URI,
            warehouse_url=values["UGC_WAREHOUSE_URL"] or DEFAULT_WAREHOUSE_URL,
            timezone=values["UGC_TIMEZONE"] or DEFAULT_TIMEZONE,
            # UGC_GX_DIR set but empty means "validate in memory" (what Settings(gx_dir="") says).
            gx_dir=values["UGC_GX_DIR"] if values["UGC_GX_DIR"] is not None
            else (environ["UGC_GX_DIR"] if "UGC_GX_DIR" in environ else DEFAULT_GX_DIR),
            max_rejected_share=values["UGC_MAX_REJECTED_SHARE"] or "",
        )

    def describe(self) -> str:
        """For logs: the warehouse URL without its password."""
        from sqlalchemy.engine import make_url

        url = make_url(self.warehouse_url).render_as_string(hide_password=True)
        return f"landing={self.landing_uri} warehouse={url} timezone={self.timezone}"
