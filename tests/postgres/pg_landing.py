"""Landing zones of the PostgreSQL tests: the hand-made one of ``tests/support/landing_builder.py``,
plus one more delivery day whose records carry what a CSV-based COPY could get wrong.

Delivery 2025-05-09 (``TRICKY_DAY``), every record valid and linked to the campaign's SKU:
- Yotpo reviews whose text holds double quotes, commas, ``\\n``, ``\\r\\n``, tabs, backslashes, a
  line made of ``\\.`` (COPY's old end-of-data marker), ``\\N`` (COPY's text-format NULL), emoji
  and accented capitals; a review without title (JSON null) beside one with a blank title;
- a retailer CSV (``;``-separated, BOM, CRLF) with quoted fields holding ``;``, ``"``, newlines;
- an Instagram post whose caption mixes accents, emoji and the campaign hashtag in capitals, and
  a declared ambassador post of it in NDJSON with a blank metric.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from support.landing_builder import CAMPAIGN, DAYS, GTIN_A, IG_CLAIRE, SKU_A, SKU_B, LandingBuilder, _csv, _json, _ndjson

TRICKY_DAY = date(2025, 5, 9)
PLUS_DAYS = [*DAYS, TRICKY_DAY]

YOTPO_TEXTS = {
    2001: ('Il a dit "génial", puis\nest parti; ok', "Titre, avec virgule"),
    2002: ("Windows path C:\\temp\\new and \\N and \\\\ double", ""),
    2003: ("first line\n\\.\nafter the marker", None),
    2004: ("crlf\r\nline\ttab 🫒🔥 ÉTÉ «guillemets»", "  spaced  "),
}


def _yotpo(rid: int, content: str, title: str | None) -> dict:
    review = LandingBuilder._yotpo(rid, SKU_A if rid % 2 else SKU_B, 4, "2025-05-08T10:00:00.000Z", content)
    review["title"] = title
    return review


def add_tricky_day(root: Path) -> None:
    b = LandingBuilder(root)
    b.put("yotpo_reviews", TRICKY_DAY, "reviews_p1.json", _json({"reviews": [
        _yotpo(rid, content, title) for rid, (content, title) in YOTPO_TEXTS.items()]}))

    def row(rid, text, title):
        return [rid, SKU_A, GTIN_A, 5, title, text, "2025-05-08T09:00:00Z", "2025-05-08T09:00:00Z",
                "nick;name", "true", "false", "false", "", 0, 0, 0, "APPROVED", "fr_FR", ""]

    b.put("retailer_reviews", TRICKY_DAY, "export_avis.csv", _csv(LandingBuilder.RETAILER_HEADER, [
        row("RV-10", 'Très "bonne"; vraiment\nà racheter', "Top; top"),
        row("RV-11", "\\.", '"'),
        row("RV-12", "ligne\r\nsuivante, fin", "\\N"),
    ], delimiter=";", bom=True, crlf=True))
    media = {"id": "17900000000000009", "caption": "Café ☕️ du matin, très «bon»!\n#OLIVEDUMATIN #été",
             "media_type": "IMAGE", "media_product_type": "FEED",
             "permalink": "https://www.instagram.com/p/DTricky9xyz/", "timestamp": "2025-05-08T06:30:00+0000",
             "like_count": 12, "comments_count": 3}
    b.put("instagram_media", TRICKY_DAY, "claire_cuisine.json",
          _json(LandingBuilder._ig_user(IG_CLAIRE, "claire.cuisine", 770, [media])))
    b.put("ambassador_posts", TRICKY_DAY, "declared.ndjson", _ndjson([
        {"post_id": "AP-9", "ambassador_id": "AMB-01", "campaign_id": CAMPAIGN, "platform": "instagram",
         "post_url": "https://www.instagram.com/p/DTricky9xyz/?utm=a,b", "content_type": "photo",
         "posted_at": "2025-05-08T06:30:00Z", "followers_at_post": 745, "likes": 10, "comments": "",
         "shares": None, "views": None}]))


def build_landing_plus(source: Path, target: Path) -> Path:
    """A copy of the hand-made landing zone ``source`` with the tricky day added."""
    shutil.copytree(source, target)
    add_tricky_day(target)
    return target


__all__ = ["PLUS_DAYS", "SKU_A", "SKU_B", "TRICKY_DAY", "YOTPO_TEXTS", "add_tricky_day", "build_landing_plus"]
