"""The brand's business tables: snapshots (products, stores, ambassadors, campaigns) and daily
facts (web conversion, store sales). Plain CSV with a header row."""

from ugc_pipeline.sources.base import Personal, RawTable, Rule, Source, csv_columns, non_negative, personal, resolves


def _csv_source(name: str, description: str, columns, key, types=None, required=None,
                rules: tuple[Rule, ...] = (), created_column: str | None = None,
                is_reference: bool = False, personal: tuple[Personal, ...] = ()) -> Source:
    return Source(
        name=name,
        formats=("csv",),
        kind="business",
        description=description,
        is_reference=is_reference,
        tables=(
            RawTable(name=name, key=key, description=description, rules=rules, created_column=created_column,
                     personal=personal,
                     columns=csv_columns(*columns, types=types, required=required or key)),
        ),
    )


PRODUCTS = _csv_source(
    "products", "Product catalogue snapshot; the newest delivery wins.",
    ("sku", "gtin", "product_name", "brand", "category"), key=("sku",),
    required=("sku", "brand"), is_reference=True)
STORES = _csv_source(
    "stores", "Store list snapshot; the newest delivery wins.",
    ("store_id", "google_location_id", "brand", "zone_id", "city"), key=("store_id",),
    required=("store_id", "brand", "zone_id"), is_reference=True)
AMBASSADORS = _csv_source(
    "ambassadors", "Ambassador roster snapshot (one row per ambassador and platform).",
    ("ambassador_id", "platform", "handle", "followers", "zone_id"), key=("ambassador_id", "platform"),
    types={"followers": "int"}, required=("ambassador_id",), rules=non_negative("followers"), is_reference=True,
    personal=(personal("handle", "handle"),))
CAMPAIGNS = _csv_source(
    "campaigns", "Campaign list snapshot; the newest delivery wins.",
    ("campaign_id", "brand", "sku", "start_date", "end_date", "hashtags", "exposed_zone_ids"),
    key=("campaign_id",), types={"start_date": "date", "end_date": "date"},
    required=("campaign_id", "brand", "sku", "start_date", "end_date"), is_reference=True)
WEB_CONVERSION = _csv_source(
    "web_conversion", "Daily e-commerce sessions and orders per SKU; a restatement replaces the row.",
    ("date", "sku", "sessions", "orders", "revenue"), key=("date", "sku"),
    types={"date": "date", "sessions": "int", "orders": "int", "revenue": "float"}, created_column="date",
    rules=(*non_negative("sessions", "orders", "revenue"), resolves("sku", "products.sku")))
STORE_SALES = _csv_source(
    "store_sales", "Daily units sold per store and SKU; a restatement replaces the row.",
    ("date", "store_id", "sku", "units", "revenue"), key=("date", "store_id", "sku"),
    types={"date": "date", "units": "int", "revenue": "float"}, created_column="date",
    rules=(*non_negative("units"), resolves("store_id", "stores.store_id"), resolves("sku", "products.sku")))
