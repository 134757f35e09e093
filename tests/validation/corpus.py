"""The bad-input corpus: realistic exports of every source of the registry, each record tagged good
or bad, and for every bad one the exact quarantine row it must give (file, position, reasons,
raw content); and the broken deliveries, each with the exact one-line error it must give.

Conventions:

- Record-level cases (``QUARANTINE_CASES``) are delivered on ``DAY`` over a warehouse that holds
  the business snapshots of ``BUSINESS_DAY`` (``tests/support/warehouse_env.py``): the products,
  stores, campaigns and ambassadors that references resolve against are listed there.
- ``UGC_TIMEZONE`` is Europe/Paris (CEST, UTC+2 in May). For delivery day D = 2025-05-06 the
  latest creation time a delivery may hold is the end of D+1 in Paris (``validation.EXPORT_GRACE``):
  2025-05-07 23:59:59 Paris = 2025-05-07T21:59:59Z. Anything later is "in the future".
- A CSV record's raw content is the row as a JSON object keyed by the header (blank fields are
  null); a JSON record's raw content is the record object exactly as delivered.
- Broken deliveries (``BROKEN_CASES``) are delivered on ``NEXT_DAY`` over a warehouse holding a
  good ``DAY`` and its marts; each carries the fixed export that is re-delivered afterwards.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from support.pii import pseudonymised_record
from support.warehouse_env import (  # noqa: F401  (the business snapshots the corpus refers to, re-exported)
    AMBASSADORS_CSV,
    BUSINESS_DAY,
    BUSINESS_SNAPSHOTS,
    CAMPAIGNS_CSV,
    PRODUCTS_CSV,
    STORES_CSV,
    position_key,
)
from ugc_pipeline.sources import get_source

DAY = "2025-05-06"
NEXT_DAY = "2025-05-07"
TZ = "Europe/Paris"

# What audit.rejected_records.reasons says for the future check of a DAY delivery, the limit in the
# terms the column's values are delivered in (the value is appended by ``got``): for a time, in
# Paris and in UTC (a time without an offset is UTC); for unix seconds, in Paris and as unix seconds;
# for a calendar date (daily facts), as a date.
FUTURE = f"is not in the future of the delivery {DAY} (at the latest 2025-05-07 23:59:59 {TZ}, i.e. 2025-05-07 21:59:59 UTC)"
FUTURE_UNIX = f"is not in the future of the delivery {DAY} (at the latest 2025-05-07 23:59:59 {TZ}, i.e. unix time 1746655199)"
FUTURE_DATE = f"is not in the future of the delivery {DAY} (at the latest 2025-05-07)"
# Of the occurrences of one key and version in a delivery, the last valid one loads; the reason of
# each other valid one names it (``kept``); an invalid one is quarantined for its own failure only.
DUPLICATE = "appears once per version in the delivery (the last valid occurrence is kept)"

# -- record kinds (what makes a record bad) ---------------------------------------------------

WRONG_TYPE = "wrong type"
OUT_OF_RANGE = "out of range"  # a number outside its bounds, or a value outside its allowed set
MISSING = "missing required field"
DUPLICATE_ID = "duplicate id"
FUTURE_TS = "future timestamp"
UNKNOWN_REF = "unknown reference"  # SKU, GTIN, Google location, store, campaign, ambassador
RECORD_KINDS = (WRONG_TYPE, OUT_OF_RANGE, MISSING, DUPLICATE_ID, FUTURE_TS, UNKNOWN_REF)

# -- delivery kinds (what makes a whole delivery unusable) ------------------------------------

TRUNCATED_JSON = "truncated JSON"
EMPTY_FILE = "empty file"
WRONG_HEADER = "CSV with a wrong header"
WRONG_ENCODING = "wrong encoding"
OVER_THRESHOLD = "rejected share over the threshold"
UNREADABLE = "otherwise unreadable"
DELIVERY_KINDS = (TRUNCATED_JSON, EMPTY_FILE, WRONG_HEADER, WRONG_ENCODING, OVER_THRESHOLD, UNREADABLE)


def got(value) -> str:
    """How a reason shows the offending value: `` (got <the field as delivered>)``, the field's raw
    text whatever the type the suite compared: ``cinq``, ``6`` (a JSON number), ``SPAM`` (compared
    case-insensitively, shown as sent), ``2025-05-08T00:00:01+02:00`` (a time, with its offset),
    ``1746699000`` (unix seconds). For a reference over several fields, the first present one."""
    return f" (got {value})"


def kept(where: str) -> str:
    """How a duplicate's reason names the occurrence that was kept: its position, and its file
    (``{source}/{day}/{name}``) when it sits in another file of the delivery."""
    return f" (kept {where})"


# -- records and files ------------------------------------------------------------------------

@dataclass(frozen=True)
class Rec:
    """One record as the platform delivers it: a JSON object, or a CSV row keyed by header."""

    data: dict
    kind: str | None = None  # None: a good record, it must load
    reasons: str = ""  # for a bad record: exactly what audit.rejected_records.reasons says
    why: str = ""


def ok(data: dict, why: str = "") -> Rec:
    return Rec(data, why=why)


def bad(kind: str, data: dict, reasons: str, why: str) -> Rec:
    assert kind in RECORD_KINDS, kind
    return Rec(data, kind=kind, reasons=reasons, why=why)


@dataclass(frozen=True)
class FileSpec:
    """One delivered file and how its records sit in it."""

    name: str
    fmt: str  # json | ndjson | csv
    records: tuple[Rec, ...]
    records_path: str | None = None  # json: where the record array sits ("$.reviews")
    wrap: Callable[[list[dict]], dict] | None = None  # json: records -> the whole page
    header: tuple[str, ...] = ()  # csv
    sep: str = ","

    def render(self, records: list[dict] | None = None, encoding: str = "utf-8") -> bytes:
        data = [r.data for r in self.records] if records is None else records
        if self.fmt == "json":
            text = json.dumps(self.wrap(data), ensure_ascii=False, indent=1)
        elif self.fmt == "ndjson":
            text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in data)
        else:
            out = io.StringIO()
            writer = csv.writer(out, delimiter=self.sep, lineterminator="\n")
            writer.writerow(self.header)
            for d in data:
                unknown = set(d) - set(self.header)
                assert not unknown, f"{self.name}: columns {unknown} not in the header"
                writer.writerow(["" if d.get(h) is None else str(d[h]) for h in self.header])
            text = out.getvalue()
        return text.encode(encoding)

    def text(self) -> str:
        return self.render().decode("utf-8")

    def good_only(self) -> FileSpec:
        return replace(self, records=tuple(r for r in self.records if r.kind is None))

    def position(self, index: int) -> str:
        if self.fmt == "json":
            return f"{self.records_path}[{index}]"
        return f"{'row' if self.fmt == 'csv' else 'record'} {index + 1}"

    def raw(self, rec: Rec):
        """What json.loads(audit.rejected_records.raw) gives for this record."""
        if self.fmt == "csv":
            return {h: (None if rec.data.get(h) in (None, "") else str(rec.data[h])) for h in self.header}
        return rec.data


@dataclass(frozen=True)
class QuarantineCase:
    """A day with bad records mixed in: the good ones load, each bad one is quarantined."""

    source: str
    files: tuple[FileSpec, ...]
    why: str = ""

    @property
    def id(self) -> str:
        return self.source

    def contents(self) -> dict[str, bytes]:
        return {f.name: f.render() for f in self.files}

    def good_contents(self) -> dict[str, bytes]:
        return {f.name: f.good_only().render() for f in self.files}

    def records(self):
        for f in self.files:
            for i, rec in enumerate(f.records):
                yield f, i, rec

    def _table(self, f: FileSpec):
        kind = f.wrap([]).get("kind") if f.fmt == "json" and f.wrap else None
        return get_source(self.source).table_for_kind(kind)

    def expected_rejects(self, day: str = DAY) -> list[dict]:
        # the record as delivered, but for its personal fields: their pseudonyms (support.pii)
        return sorted(({"file": f"{self.source}/{day}/{f.name}", "position": f.position(i), "reasons": rec.reasons,
                        "raw": pseudonymised_record(self._table(f), f.raw(rec))}
                       for f, i, rec in self.records() if rec.kind),
                      key=lambda r: (r["file"], position_key(r["position"])))

    def expected_loaded(self, day: str = DAY) -> list[tuple[str, str]]:
        return sorted(((f"{self.source}/{day}/{f.name}", f.position(i)) for f, i, rec in self.records() if not rec.kind),
                      key=lambda r: (r[0], position_key(r[1])))

    @property
    def read(self) -> int:
        return sum(1 for _ in self.records())

    @property
    def rejected(self) -> int:
        return sum(1 for *_, rec in self.records() if rec.kind)

    @property
    def kinds(self) -> set[str]:
        return {rec.kind for *_, rec in self.records() if rec.kind}


def without(record: dict, *paths: str) -> dict:
    """A deep copy of a JSON record without the fields at the dotted paths (a field not sent)."""
    out = copy.deepcopy(record)
    for path in paths:
        *parents, last = path.split(".")
        node = out
        for p in parents:
            node = node[p]
        del node[last]
    return out


def patched(record: dict, **changes) -> dict:
    """A deep copy with top-level fields changed; ``a__b=v`` sets the nested field ``a.b``."""
    out = copy.deepcopy(record)
    for key, value in changes.items():
        *parents, last = key.split("__")
        node = out
        for p in parents:
            node = node[p]
        node[last] = value
    return out


# ==============================================================================================
# Business snapshots the references resolve against: support.warehouse_env.BUSINESS_SNAPSHOTS,
# delivered on BUSINESS_DAY (the session's business_template); their ids, named
# ==============================================================================================

LILLE = "4816235201934567890"  # stores.google_location_id of ST-LIL-01
LYON = "1122334455667788990"
UNKNOWN_LOCATION = "9999999999999999999"
NEW_SKU = "MV-TAP-190"  # a tapenade launched after the catalogue snapshot: unknown until products catch up


# ==============================================================================================
# Google Business Profile: accounts.locations.reviews.list pages
# ==============================================================================================

ACCOUNT = "108234567890123456789"


def google_review(review_id: str, location: str = LILLE, stars: str = "FIVE", created: str = "2025-05-06T08:12:45Z",
                  updated: str | None = None, comment: str | None = "Très bon accueil, produits frais.",
                  reviewer: str = "Camille Durand", media: int = 0, reply: str | None = None) -> dict:
    review = {
        "name": f"accounts/{ACCOUNT}/locations/{location}/reviews/{review_id}",
        "reviewId": review_id,
        "reviewer": {"profilePhotoUrl": "https://lh3.googleusercontent.com/a-/ALV-UjXc=s120-c-rp-mo-br100",
                     "displayName": reviewer, "isAnonymous": False},
        "starRating": stars,
        "createTime": created,
        "updateTime": updated or created,
    }
    if comment is not None:
        review["comment"] = comment
    if reply:
        review["reviewReply"] = {"comment": reply, "updateTime": "2025-05-06T10:01:02.123456Z"}
    if media:
        review["reviewMediaItems"] = [{"name": f"accounts/{ACCOUNT}/locations/{location}/media/AF1Qip{i}",
                                       "mediaFormat": "PHOTO"} for i in range(media)]
    return review


def google_page(reviews: list[dict]) -> dict:
    return {"reviews": reviews, "averageRating": 4.3, "totalReviewCount": 187,
            "nextPageToken": "CiQKIgoWQWJGdk9xblE3ZzhoOWkSCAoGCMq-7cAG"}


def google_file(name: str, records: list[Rec]) -> FileSpec:
    return FileSpec(name, "json", tuple(records), records_path="$.reviews", wrap=google_page)


GOOGLE = QuarantineCase("google_business_reviews", why="a page with every kind of bad review, and its next page", files=(
    google_file("reviews-page-1.json", [
        ok(google_review("AbFvOqnQ1a2b3c", stars="FOUR", media=2, reply="Merci Camille !")),
        ok(google_review("AbFvOqnQ4d5e6f", comment=None, reviewer="Un utilisateur de Google"),
           why="a rating-only review has no comment: not a missing field"),
        ok(google_review("AbFvOqnQ7g8h9i", LYON, "STAR_RATING_UNSPECIFIED", "2025-05-05T17:02:11.500000Z",
                         updated="2025-05-06T09:00:00Z"), why="no star given is a valid value"),
        bad(WRONG_TYPE, google_review("AbFvOqnQwt0001", created="06/05/2025 10:12"),
            "createTime is a valid timestamp" + got("06/05/2025 10:12")
            + "; updateTime is a valid timestamp" + got("06/05/2025 10:12"),
            "a re-export tool wrote localised dates instead of RFC 3339: both failures are listed"),
        bad(WRONG_TYPE, patched(google_review("AbFvOqnQwt0002"), reviewer__isAnonymous="N/A"),
            "reviewer__isAnonymous is a valid bool" + got("N/A"), "isAnonymous must be a boolean"),
        bad(OUT_OF_RANGE, google_review("AbFvOqnQor0001", stars=5),
            "starRating in (ONE, TWO, THREE, FOUR, FIVE, STAR_RATING_UNSPECIFIED)" + got("5"),
            "starRating is a word (FIVE); a number is not one of the API's values"),
        bad(MISSING, without(google_review("AbFvOqnQms0001"), "reviewId"), "reviewId is present",
            "no reviewId: the review cannot be identified"),
        bad(FUTURE_TS, google_review("AbFvOqnQft0001", created="2025-05-08T06:30:00Z"),
            "createTime " + FUTURE + got("2025-05-08T06:30:00Z"),
            "08:30 in Paris on D+2: after the export for D could have run"),
        ok(google_review("AbFvOqnQgr0001", created="2025-05-07T21:59:59.500Z"),
           why="23:59:59.5 in Paris on D+1: inside the export grace"),
        bad(UNKNOWN_REF, google_review("AbFvOqnQur0001", UNKNOWN_LOCATION, "ONE", comment="Bof"),
            "name__locationId in stores.google_location_id" + got(UNKNOWN_LOCATION),
            "a location that is not in the store list"),
        bad(DUPLICATE_ID, google_review("AbFvOqnQdp0001", stars="THREE", created="2025-05-06T07:00:00Z"),
            "reviewId " + DUPLICATE + kept(f"google_business_reviews/{DAY}/reviews-page-2.json $.reviews[1]"),
            "pagination overlap: page 2 repeats this review with the same updateTime; page 2 wins"),
        ok(google_review("AbFvOqnQok0001", stars="FIVE", created="2025-05-06T11:00:00Z")),
        ok(google_review("AbFvOqnQok0002", stars="TWO", created="2025-05-06T12:00:00Z", comment="Attente trop longue.")),
        ok(google_review("AbFvOqnQok0003", LYON, "FOUR", "2025-05-06T13:00:00Z")),
        ok(google_review("AbFvOqnQok0004", LYON, "FIVE", "2025-05-06T14:00:00Z", media=1)),
    ]),
    google_file("reviews-page-2.json", [
        ok(google_review("AbFvOqnQ7g8h9i", LYON, "STAR_RATING_UNSPECIFIED", "2025-05-05T17:02:11.500000Z",
                         updated="2025-05-06T15:20:00Z", reply="Merci !"),
           why="same review with a later updateTime: a new version, not a duplicate"),
        ok(google_review("AbFvOqnQdp0001", stars="THREE", created="2025-05-06T07:00:00Z"),
           why="the last occurrence of a (reviewId, updateTime) is kept"),
        ok(google_review("AbFvOqnQok0005", LYON, "FIVE", "2025-05-06T16:00:00Z")),
    ]),
))


# ==============================================================================================
# Yotpo reviews API pages
# ==============================================================================================

def yotpo_review(review_id: int, sku: str = "MV-OLV-500", score=5, created: str = "2025-05-06T08:00:00.000Z",
                 updated: str | None = None, **extra) -> dict:
    review = {
        "id": review_id, "sku": sku, "score": score, "title": "Excellent",
        "content": "Une huile fruitée, parfaite en salade.", "created_at": created, "updated_at": updated or created,
        "votes_up": 2, "votes_down": 0, "name": "Sophie L.", "email": "sophie.lambert@example.fr",
        "reviewer_type": "verified_buyer", "deleted": False, "archived": False, "is_incentivized": False,
        "incentive_type": None,
    }
    review.update(extra)
    return review


def yotpo_file(name: str, records: list[Rec]) -> FileSpec:
    return FileSpec(name, "json", tuple(records), records_path="$.reviews", wrap=lambda rs: {"reviews": rs})


YOTPO = QuarantineCase("yotpo_reviews", why="one API page", files=(
    yotpo_file("reviews-page-1.json", [
        ok(yotpo_review(487000101)),
        ok(yotpo_review(487000102, "MV-PES-180", 3, is_incentivized=True, incentive_type="free_product")),
        ok(yotpo_review(487000103, deleted=True), why="a deletion is a valid record (it removes the review)"),
        ok(yotpo_review(487000104, updated="2025-05-06T09:00:00.000Z")),
        ok(yotpo_review(487000104, updated="2025-05-06T18:45:00.000Z", content="Édité : toujours aussi bonne."),
           why="same id, later updated_at: an edit, not a duplicate"),
        bad(WRONG_TYPE, yotpo_review(487000105, score="cinq"), "score is a valid int" + got("cinq"),
            "a score spelled out in French"),
        bad(OUT_OF_RANGE, yotpo_review(487000106, score=6), "score between 1 and 5" + got(6),
            "scores are 1 to 5"),
        bad(OUT_OF_RANGE, yotpo_review(487000107, votes_down=-1), "votes_down >= 0" + got(-1),
            "a vote count cannot be negative"),
        bad(MISSING, without(yotpo_review(487000108), "sku"), "sku is present",
            "a review without its product"),
        bad(DUPLICATE_ID, yotpo_review(487000109, "TA-MIEL-250", 4), "id " + DUPLICATE + kept("$.reviews[10]"),
            "the same (id, updated_at) twice: the export repeated it; the later one is kept"),
        ok(yotpo_review(487000109, "TA-MIEL-250", 4)),
        bad(FUTURE_TS, yotpo_review(487000110, created="2025-05-09T10:00:00.000Z"),
            "created_at " + FUTURE + got("2025-05-09T10:00:00.000Z"), "created three days after D"),
        bad(UNKNOWN_REF, yotpo_review(487000111, NEW_SKU, 4), "sku in products.sku" + got(NEW_SKU),
            "a SKU not (yet) in the product catalogue"),
        ok(yotpo_review(487000112, created="2025-05-07T21:59:59.000Z"), why="last second of D+1 in Paris: in grace"),
        bad(OUT_OF_RANGE, yotpo_review(487000113, "MV-XXX-000", 0),
            "score between 1 and 5" + got(0) + "; sku in products.sku" + got("MV-XXX-000"),
            "two expectations fail: both are listed"),
        ok(yotpo_review(487000114, "MV-PES-180", 4)),
        ok(yotpo_review(487000115, "TA-MIEL-250", 5)),
        ok(yotpo_review(487000116, score=2, content="Bouchon cassé à la livraison.")),
        ok(yotpo_review(487000117, "MV-PES-180", 5)),
    ]),
))


# ==============================================================================================
# Retailer reviews: Bazaarvoice-style CSV export
# ==============================================================================================

RETAILER_HEADER = (
    "review_id", "product_id", "gtin", "rating", "title", "review_text", "submission_time",
    "last_modification_time", "user_nickname", "is_recommended", "incentivized_review", "is_syndicated",
    "syndication_source", "photo_count", "video_count", "helpful_votes", "moderation_status", "content_locale",
    "campaign_id")


def retailer_row(review_id: str, product_id: str | None = "MV-OLV-500", rating="5",
                 submitted: str = "2025-05-06 09:14:00", modified: str | None = None, **extra) -> dict:
    row = {
        "review_id": review_id, "product_id": product_id, "gtin": None, "rating": rating,
        "title": "Parfaite", "review_text": "Très bonne huile, je recommande.", "submission_time": submitted,
        "last_modification_time": modified or submitted, "user_nickname": "marie59", "is_recommended": "true",
        "incentivized_review": "false", "is_syndicated": "true", "syndication_source": "carrefour.fr",
        "photo_count": "0", "video_count": "0", "helpful_votes": "3", "moderation_status": "APPROVED",
        "content_locale": "fr_FR", "campaign_id": None,
    }
    row.update(extra)
    return row


def retailer_file(name: str, records: list[Rec], sep: str = ",") -> FileSpec:
    return FileSpec(name, "csv", tuple(records), header=RETAILER_HEADER, sep=sep)


RETAILER = QuarantineCase("retailer_reviews", why="one export file", files=(
    retailer_file("bv_export_2025-05-06.csv", [
        ok(retailer_row("RV-100201")),
        ok(retailer_row("RV-100202", None, "4", gtin="03760123450024"),
           why="no product_id: the product is found by its GTIN"),
        ok(retailer_row("RV-100203", review_text="Bon produit, mais :\n- bouchon fragile,\n- prix élevé."),
           why="a quoted field holding commas and newlines is one field"),
        ok(retailer_row("RV-100204", moderation_status="approved"), why="moderation status compared case-insensitively"),
        ok(retailer_row("RV-100205", modified="2025-05-06 10:00:00")),
        ok(retailer_row("RV-100205", modified="2025-05-06 16:30:00", title="Parfaite (modifié)"),
           why="same id, later last_modification_time: a new version"),
        bad(WRONG_TYPE, retailer_row("RV-100206", rating="4,5"), "rating is a valid int" + got("4,5"),
            "a French decimal in an integer rating"),
        bad(WRONG_TYPE, retailer_row("RV-100207", is_recommended="Oui"), "is_recommended is a valid bool" + got("Oui"),
            "a French yes in a boolean column"),
        bad(OUT_OF_RANGE, retailer_row("RV-100208", rating="0"), "rating between 1 and 5" + got(0),
            "ratings are 1 to 5"),
        bad(OUT_OF_RANGE, retailer_row("RV-100209", photo_count="-1"), "photo_count >= 0" + got(-1),
            "a negative photo count"),
        bad(OUT_OF_RANGE, retailer_row("RV-100210", moderation_status="SPAM"),
            "moderation_status in (APPROVED, PENDING, REJECTED, NOT_APPROVED, SUBMITTED)" + got("SPAM"),
            "not a Bazaarvoice moderation status (compared case-insensitively, shown as sent)"),
        bad(MISSING, retailer_row(None), "review_id is present", "a blank review id"),
        bad(MISSING, retailer_row("RV-100212", submitted=None, modified="2025-05-06 09:14:00"),
            "submission_time is present", "no submission time: no KPI day"),
        bad(DUPLICATE_ID, retailer_row("RV-100213", "MV-PES-180", "4"), "review_id " + DUPLICATE + kept("row 15"),
            "the same (review_id, last_modification_time) twice; the later row is kept"),
        ok(retailer_row("RV-100213", "MV-PES-180", "4")),
        bad(FUTURE_TS, retailer_row("RV-100214", submitted="2025-05-08 10:00:00"),
            "submission_time " + FUTURE + got("2025-05-08 10:00:00"), "submitted after D+1"),
        bad(UNKNOWN_REF, retailer_row("RV-100215", "CRF-778812", gtin="03760999999999"),
            "product_id in products.sku or gtin in products.gtin" + got("CRF-778812"),
            "the retailer's own product code and a GTIN the catalogue does not know (the reason shows the "
            "first present of the two); a blank GTIN next to an unknown product id: see test_quarantine"),
        ok(retailer_row("RV-100217", "TA-MIEL-250", "5")),
        ok(retailer_row("RV-100218", "MV-PES-180", "3", moderation_status="PENDING")),
        ok(retailer_row("RV-100219", "MV-OLV-500", "2", is_recommended="false")),
        ok(retailer_row("RV-100220", "TA-MIEL-250", "4", photo_count="2")),
        ok(retailer_row("RV-100221", "MV-OLV-500", "5", submitted="2025-05-07 21:59:59"),
           why="a naive time is read as UTC: 23:59:59 in Paris on D+1, in grace"),
        ok(retailer_row("RV-100222", "MV-PES-180", "5")),
    ]),
))


# ==============================================================================================
# Instagram Graph API user node with media expansion
# ==============================================================================================

IG_USER = "17841400000000001"


def ig_media(media_id: str, posted: str = "2025-05-06T07:56:32+0000", media_type: str = "IMAGE",
             product_type: str = "FEED", likes=57, comments=4, insights: dict | None = None,
             caption: str = "Salade du midi #OliveDuMatin #MaisonVerteAmbassadeurs") -> dict:
    media = {
        "id": media_id, "caption": caption, "media_type": media_type, "media_product_type": product_type,
        "permalink": f"https://www.instagram.com/p/C{media_id[-6:]}/", "timestamp": posted,
        "like_count": likes, "comments_count": comments,
    }
    metrics = {"reach": 812, "views": 1430, "saved": 9, "shares": 3} if insights is None else insights
    if metrics:
        media["insights"] = {"data": [{"name": k, "period": "lifetime", "values": [{"value": v}],
                                       "title": k.title(), "id": f"{media_id}/insights/{k}/lifetime"}
                                      for k, v in metrics.items()]}
    return media


def ig_node(media: list[dict]) -> dict:
    return {"id": IG_USER, "username": "claire.cuisine", "followers_count": 742,
            "media": {"data": media, "paging": {"cursors": {"before": "QVFIUmx1", "after": "QVFIUkZA"}}}}


def ig_file(name: str, records: list[Rec], node: Callable[[list[dict]], dict] = ig_node) -> FileSpec:
    return FileSpec(name, "json", tuple(records), records_path="$.media.data", wrap=node)


INSTAGRAM = QuarantineCase("instagram_media", why="one account node", files=(
    ig_file(f"ig_user_{IG_USER}.json", [
        ok(ig_media("18012345678900001")),
        ok(ig_media("18012345678900002", media_type="VIDEO", product_type="REELS")),
        ok(ig_media("18012345678900003", media_type="CAROUSEL_ALBUM", insights={}),
           why="no insights: metrics unknown, not an error"),
        ok(ig_media("18012345678900004", product_type="STORY", insights={"reach": 120, "impressions": 150}),
           why="the deprecated impressions metric is ignored, not an error"),
        bad(WRONG_TYPE, ig_media("18012345678900005", likes="1,2k"), "like_count is a valid int" + got("1,2k"),
            "a human-formatted count"),
        bad(WRONG_TYPE, ig_media("18012345678900006", posted="06/05/2025 09:56"),
            "timestamp is a valid timestamp" + got("06/05/2025 09:56"), "a localised timestamp"),
        bad(OUT_OF_RANGE, ig_media("18012345678900007", comments=-1), "comments_count >= 0" + got(-1),
            "a negative count"),
        bad(OUT_OF_RANGE, ig_media("18012345678900008", insights={"reach": 300, "views": -12}),
            "insights__views >= 0" + got(-12), "a negative insight value"),
        bad(OUT_OF_RANGE, ig_media("18012345678900009", media_type="REEL"),
            "media_type in (IMAGE, VIDEO, CAROUSEL_ALBUM)" + got("REEL"),
            "REELS is a media_product_type; REEL is no media_type"),
        bad(MISSING, without(ig_media("18012345678900010"), "timestamp"), "timestamp is present",
            "no timestamp: no KPI day"),
        bad(MISSING, without(ig_media("18012345678900011"), "id"), "id is present", "no media id"),
        bad(DUPLICATE_ID, ig_media("18012345678900012", likes=40), "id " + DUPLICATE + kept("$.media.data[12]"),
            "the same media twice in one delivery (no version time): the later one is kept"),
        ok(ig_media("18012345678900012", likes=44)),
        bad(FUTURE_TS, ig_media("18012345678900013", posted="2025-05-08T05:00:00+0000"),
            "timestamp " + FUTURE + got("2025-05-08T05:00:00+0000"), "07:00 in Paris on D+2"),
        ok(ig_media("18012345678900014", posted="2025-05-07T21:30:00+0000"), why="23:30 in Paris on D+1: in grace"),
        ok(ig_media("18012345678900015")),
        ok(ig_media("18012345678900016", media_type="VIDEO", product_type="REELS")),
        ok(ig_media("18012345678900017")),
        ok(ig_media("18012345678900018")),
        ok(ig_media("18012345678900019")),
    ]),
))


# ==============================================================================================
# TikTok video pages
# ==============================================================================================

D_08H = 1746511200  # 2025-05-06T06:00:00Z


def tiktok_video(video_id: int, create_time=D_08H, likes=210, **extra) -> dict:
    video = {"id": video_id, "create_time": create_time, "username": "lucas_miam",
             "video_description": "Mon pesto maison avec @maisonverte #OliveDuMatin",
             "hashtag_names": ["olivedumatin", "recette"], "like_count": likes, "comment_count": 12,
             "share_count": 5, "view_count": 4800}
    video.update(extra)
    return video


def tiktok_page(videos: list[dict]) -> dict:
    return {"data": {"videos": videos, "cursor": 100, "has_more": False},
            "error": {"code": "ok", "message": "", "log_id": "20250507010203A1B2C3D4E5F6"}}


def tiktok_file(name: str, records: list[Rec]) -> FileSpec:
    return FileSpec(name, "json", tuple(records), records_path="$.data.videos", wrap=tiktok_page)


TIKTOK = QuarantineCase("tiktok_videos", why="one API page", files=(
    tiktok_file("videos-page-1.json", [
        ok(tiktok_video(7498221145863949590)),
        ok(tiktok_video(7498221145863949591, hashtag_names=[])),
        bad(WRONG_TYPE, tiktok_video(7498221145863949592, create_time="2025-05-06T10:00:00Z"),
            "create_time is a valid unix seconds" + got("2025-05-06T10:00:00Z"),
            "create_time is unix seconds, not an ISO string"),
        bad(WRONG_TYPE, tiktok_video(7498221145863949593, view_count="12.5K"), "view_count is a valid int" + got("12.5K"),
            "a human-formatted count"),
        bad(OUT_OF_RANGE, tiktok_video(7498221145863949594, share_count=-4), "share_count >= 0" + got(-4),
            "a negative count"),
        bad(MISSING, without(tiktok_video(7498221145863949595), "id"), "id is present", "no id"),
        bad(DUPLICATE_ID, tiktok_video(7498221145863949596, likes=100), "id " + DUPLICATE + kept("$.data.videos[7]"),
            "the same video twice in the page: the later one is kept"),
        ok(tiktok_video(7498221145863949596, likes=120)),
        bad(FUTURE_TS, tiktok_video(7498221145863949597, create_time=1746699000),
            "create_time " + FUTURE_UNIX + got(1746699000), "2025-05-08T10:10:00Z"),
        ok(tiktok_video(7498221145863949598, create_time=1746655199), why="2025-05-07T21:59:59Z: in grace"),
        ok(tiktok_video(7498221145863949599)),
        ok(tiktok_video(7498221145863949600)),
        ok(tiktok_video(7498221145863949601)),
    ]),
))


# ==============================================================================================
# YouTube Data API v3: video and channel list responses
# ==============================================================================================

CHANNEL = "UCx0LaCuisineDeNina00001"


def yt_video(video_id: str, published: str = "2025-05-06T16:00:05Z", channel: str | None = CHANNEL,
             views="1523", likes="87", comments="12") -> dict:
    snippet = {"publishedAt": published, "channelId": channel, "title": "Pesto express à l'huile d'olive",
               "description": "Recette avec #OliveDuMatin", "tags": ["recette", "pesto"]}
    return {"kind": "youtube#video", "etag": f"etag-{video_id}", "id": video_id, "snippet": snippet,
            "statistics": {"viewCount": views, "likeCount": likes, "favoriteCount": "0", "commentCount": comments}}


def yt_channel(channel_id: str, subscribers: str | None = "15400") -> dict:
    stats = {"viewCount": "1203344", "videoCount": "212", "hiddenSubscriberCount": subscribers is None}
    if subscribers is not None:
        stats["subscriberCount"] = subscribers
    return {"kind": "youtube#channel", "etag": f"etag-{channel_id}", "id": channel_id, "statistics": stats}


def yt_list(kind: str) -> Callable[[list[dict]], dict]:
    return lambda items: {"kind": kind, "etag": "etag-page", "items": items,
                          "pageInfo": {"totalResults": len(items), "resultsPerPage": 50}}


def yt_videos_file(name: str, records: list[Rec]) -> FileSpec:
    return FileSpec(name, "json", tuple(records), records_path="$.items", wrap=yt_list("youtube#videoListResponse"))


def yt_channels_file(name: str, records: list[Rec]) -> FileSpec:
    return FileSpec(name, "json", tuple(records), records_path="$.items", wrap=yt_list("youtube#channelListResponse"))


YOUTUBE = QuarantineCase("youtube_videos", why="a video page and a channel page", files=(
    yt_channels_file("channels.json", [
        ok(yt_channel(CHANNEL)),
        ok(yt_channel("UCx0HiddenSubscribers0001", None), why="a hidden subscriber count is unknown, not an error"),
        bad(WRONG_TYPE, yt_channel("UCx0Formatted000000001", "15,4 k"),
            "statistics__subscriberCount is a valid int" + got("15,4 k"), "a formatted count"),
        bad(OUT_OF_RANGE, yt_channel("UCx0Negative0000000001", "-1"), "statistics__subscriberCount >= 0" + got(-1),
            "a negative subscriber count"),
        bad(MISSING, without(yt_channel("UCx0NoId000000000000001"), "id"), "id is present", "no channel id"),
        bad(DUPLICATE_ID, yt_channel("UCx0Twice00000000000001", "980"), "id " + DUPLICATE + kept("$.items[6]"),
            "the same channel twice: the later one is kept"),
        ok(yt_channel("UCx0Twice00000000000001", "981")),
        ok(yt_channel("UCx0Ok000000000000000001", "120")),
        ok(yt_channel("UCx0Ok000000000000000002", "4400")),
        ok(yt_channel("UCx0Ok000000000000000003", "56000")),
    ]),
    yt_videos_file("videos-page-1.json", [
        ok(yt_video("Vd0kPesto01")),
        ok(yt_video("Vd0kPesto02", views="0", likes="0", comments="0")),
        bad(WRONG_TYPE, yt_video("Vd0kPesto03", views="1,5 k"), "statistics__viewCount is a valid int" + got("1,5 k"),
            "a formatted count (the API sends digits as strings)"),
        bad(OUT_OF_RANGE, yt_video("Vd0kPesto04", likes="-3"), "statistics__likeCount >= 0" + got(-3), "a negative count"),
        bad(MISSING, yt_video("Vd0kPesto05", channel=None), "snippet__channelId is present",
            "no channelId: the author is unknown"),
        bad(DUPLICATE_ID, yt_video("Vd0kPesto06", views="300"), "id " + DUPLICATE + kept("$.items[6]"),
            "the same video twice: the later one is kept"),
        ok(yt_video("Vd0kPesto06", views="320")),
        bad(FUTURE_TS, yt_video("Vd0kPesto07", published="2025-05-08T12:00:00Z"),
            "snippet__publishedAt " + FUTURE + got("2025-05-08T12:00:00Z"), "published on D+2"),
        ok(yt_video("Vd0kPesto08", published="2025-05-07T21:59:59Z"), why="in grace"),
        ok(yt_video("Vd0kPesto09")),
        ok(yt_video("Vd0kPesto10")),
    ]),
))


# ==============================================================================================
# Ambassador platform export: CSV and NDJSON
# ==============================================================================================

AMBASSADOR_HEADER = ("post_id", "ambassador_id", "campaign_id", "platform", "post_url", "content_type", "posted_at",
                     "followers_at_post", "likes", "comments", "shares", "views")


def amb_post(post_id: str, ambassador: str | None = "AMB-0001", campaign: str | None = "CMP-2025-OLIVE",
             platform: str = "instagram", content_type: str = "photo", posted: str | None = "2025-05-06T18:20:00+02:00",
             followers="742", likes="57", comments="4", shares="1", views=None, numeric: bool = False) -> dict:
    post = {"post_id": post_id, "ambassador_id": ambassador, "campaign_id": campaign, "platform": platform,
            "post_url": f"https://www.instagram.com/p/{post_id}/", "content_type": content_type,
            "posted_at": posted, "followers_at_post": followers, "likes": likes, "comments": comments,
            "shares": shares, "views": views}
    if numeric:  # the NDJSON export sends counts as JSON numbers
        post = {k: (int(v) if k in ("followers_at_post", "likes", "comments", "shares", "views") and isinstance(v, str)
                    and re.fullmatch(r"-?\d+", v) else v) for k, v in post.items()}
    return post


AMBASSADOR_POSTS = QuarantineCase("ambassador_posts", why="a CSV and an NDJSON export in one delivery", files=(
    FileSpec("posts_2025-05-06.csv", "csv", header=AMBASSADOR_HEADER, records=(
        ok(amb_post("AP-5001")),
        ok(amb_post("AP-5002", "AMB-0004", platform="Blog", content_type="Recipe", followers="560"),
           why="platform and content type compared case-insensitively; blank metrics are unknown"),
        bad(WRONG_TYPE, amb_post("AP-5003", followers="1,2k"), "followers_at_post is a valid int" + got("1,2k"),
            "a formatted follower count"),
        bad(OUT_OF_RANGE, amb_post("AP-5004", platform="snapchat"),
            "platform in (instagram, facebook, tiktok, youtube, blog, other)" + got("snapchat"), "not a known platform"),
        bad(OUT_OF_RANGE, amb_post("AP-5005", content_type="carousel"),
            "content_type in (photo, video, story, reel, recipe, tutorial, review, text)" + got("carousel"),
            "not a declared content type"),
        bad(MISSING, amb_post("AP-5006", campaign=None), "campaign_id is present", "no campaign"),
        bad(DUPLICATE_ID, amb_post("AP-5007", likes="30"),
            "post_id " + DUPLICATE + kept(f"ambassador_posts/{DAY}/posts_2025-05-06.ndjson record 1"),
            "also in the NDJSON file, which sorts after the CSV: the NDJSON one is kept"),
        bad(UNKNOWN_REF, amb_post("AP-5008", campaign="CMP-2025-MIEL"),
            "campaign_id in campaigns.campaign_id" + got("CMP-2025-MIEL"), "a campaign not in the campaign list"),
        bad(UNKNOWN_REF, amb_post("AP-5009", ambassador="AMB-0999"),
            "ambassador_id in ambassadors.ambassador_id" + got("AMB-0999"), "an ambassador not in the roster"),
        ok(amb_post("AP-5010", "AMB-0002", platform="tiktok", content_type="video", followers="2310", views="5200")),
        ok(amb_post("AP-5011", "AMB-0003", platform="youtube", content_type="tutorial", followers="15400")),
        ok(amb_post("AP-5012")),
        ok(amb_post("AP-5013", posted="2025-05-07T23:59:59+02:00"), why="last second of D+1 in Paris: in grace"),
    )),
    FileSpec("posts_2025-05-06.ndjson", "ndjson", records=(
        ok(amb_post("AP-5007", likes="34", numeric=True)),
        bad(WRONG_TYPE, amb_post("AP-5014", posted="hier 18h", numeric=True),
            "posted_at is a valid timestamp" + got("hier 18h"), "a free-text date"),
        bad(OUT_OF_RANGE, amb_post("AP-5015", likes="-1", numeric=True), "likes >= 0" + got(-1), "a negative count"),
        bad(FUTURE_TS, amb_post("AP-5016", posted="2025-05-08T00:00:01+02:00", numeric=True),
            "posted_at " + FUTURE + got("2025-05-08T00:00:01+02:00"),
            "one second after the end of D+1 in Paris"),
        ok(amb_post("AP-5017", "AMB-0002", platform="tiktok", content_type="reel", numeric=True)),
        ok(amb_post("AP-5018", numeric=True)),
        ok(amb_post("AP-5019", numeric=True)),
        ok(amb_post("AP-5020", numeric=True)),
    )),
))


# ==============================================================================================
# Word-of-mouth survey export
# ==============================================================================================

WOM_HEADER = ("response_id", "ambassador_id", "campaign_id", "answered_at", "people_told", "tried_product",
              "recommend_score")


def wom_answer(response_id: str, ambassador: str | None = "AMB-0001", campaign: str | None = "CMP-2025-OLIVE",
               answered: str | None = "2025-05-06T10:00:00+02:00", told="6", tried="yes", score="9") -> dict:
    return {"response_id": response_id, "ambassador_id": ambassador, "campaign_id": campaign,
            "answered_at": answered, "people_told": told, "tried_product": tried, "recommend_score": score}


WOM = QuarantineCase("wom_surveys", why="one survey export", files=(
    FileSpec("survey_CMP-2025-OLIVE.csv", "csv", header=WOM_HEADER, records=(
        ok(wom_answer("R-0001")),
        ok(wom_answer("R-0002", "AMB-0002", told=None, tried="Yes"), why="blank people_told = no answer; Yes = yes"),
        bad(WRONG_TYPE, wom_answer("R-0003", told="une dizaine"), "people_told is a valid int" + got("une dizaine"),
            "a free-text answer to a number question"),
        bad(WRONG_TYPE, wom_answer("R-0004", score="9/10"), "recommend_score is a valid int" + got("9/10"),
            "a score with its scale"),
        bad(OUT_OF_RANGE, wom_answer("R-0005", score="11"), "recommend_score between 0 and 10" + got(11),
            "scores are 0 to 10"),
        bad(OUT_OF_RANGE, wom_answer("R-0006", told="-3"), "people_told >= 0" + got(-3),
            "a negative count"),
        bad(OUT_OF_RANGE, wom_answer("R-0007", tried="peut-être"), "tried_product in (yes, no)" + got("peut-être"),
            "not yes/no"),
        bad(MISSING, wom_answer("R-0008", answered=None), "answered_at is present", "no answer time: no KPI day"),
        bad(DUPLICATE_ID, wom_answer("R-0009", told="2"), "response_id " + DUPLICATE + kept("row 10"),
            "the same response twice: the later row is kept"),
        ok(wom_answer("R-0009", told="3")),
        bad(FUTURE_TS, wom_answer("R-0010", answered="2025-05-09T08:00:00+02:00"),
            "answered_at " + FUTURE + got("2025-05-09T08:00:00+02:00"), "answered on D+3"),
        bad(UNKNOWN_REF, wom_answer("R-0011", campaign="CMP-2025-MIEL"),
            "campaign_id in campaigns.campaign_id" + got("CMP-2025-MIEL"), "unknown campaign"),
        bad(UNKNOWN_REF, wom_answer("R-0012", ambassador="AMB-0999"),
            "ambassador_id in ambassadors.ambassador_id" + got("AMB-0999"), "unknown ambassador"),
        ok(wom_answer("R-0013", "AMB-0003", told="12", score="10")),
        ok(wom_answer("R-0014", "AMB-0004", told="0", tried="no", score="0")),
        ok(wom_answer("R-0015", told="4")),
        ok(wom_answer("R-0016", told="8")),
        ok(wom_answer("R-0017", told="5")),
        ok(wom_answer("R-0018", told="7")),
        ok(wom_answer("R-0019", told="1")),
        ok(wom_answer("R-0020", told="2")),
        ok(wom_answer("R-0021", told="9")),
    )),
))


# ==============================================================================================
# Business tables
# ==============================================================================================

PRODUCTS_HEADER = ("sku", "gtin", "product_name", "brand", "category")
STORES_HEADER = ("store_id", "google_location_id", "brand", "zone_id", "city")
AMBASSADORS_HEADER = ("ambassador_id", "platform", "handle", "followers", "zone_id")
CAMPAIGNS_HEADER = ("campaign_id", "brand", "sku", "start_date", "end_date", "hashtags", "exposed_zone_ids")
WEB_HEADER = ("date", "sku", "sessions", "orders", "revenue")
SALES_HEADER = ("date", "store_id", "sku", "units", "revenue")


def row(header: tuple[str, ...], *values) -> dict:
    assert len(values) == len(header)
    return dict(zip(header, values, strict=True))


def product(*values) -> dict:
    return row(PRODUCTS_HEADER, *values)


def store(*values) -> dict:
    return row(STORES_HEADER, *values)


def ambassador(*values) -> dict:
    return row(AMBASSADORS_HEADER, *values)


def campaign(*values) -> dict:
    return row(CAMPAIGNS_HEADER, *values)


def web(*values) -> dict:
    return row(WEB_HEADER, *values)


def sale(*values) -> dict:
    return row(SALES_HEADER, *values)


PRODUCTS = QuarantineCase("products", why="a catalogue snapshot", files=(
    FileSpec("products.csv", "csv", header=PRODUCTS_HEADER, records=(
        ok(product("MV-OLV-500", "03760123450017", "Huile d'olive vierge extra 50 cl", "Maison Verte", "Huiles")),
        ok(product("MV-PES-180", "03760123450024", "Pesto alla genovese 180 g", "Maison Verte", "Sauces")),
        ok(product("TA-MIEL-250", "03760999000011", "Miel de lavande 250 g", "Terre d'Azur", "Epicerie sucrée")),
        ok(product("MV-TAP-190", None, "Tapenade noire 190 g", "Maison Verte", None), why="gtin and category are optional"),
        bad(MISSING, product("MV-VIN-250", "03760123450048", "Vinaigre balsamique 25 cl", None, "Condiments"),
            "brand is present", "a product without its brand cannot be attributed"),
        bad(MISSING, product(None, "03760123450055", "Huile de noix 25 cl", "Maison Verte", "Huiles"),
            "sku is present", "a product without a SKU"),
        bad(DUPLICATE_ID, product("TA-LAV-100", "03760999000028", "Savon lavande", "Terre d'Azur", "Hygiène"),
            "sku " + DUPLICATE + kept("row 8"), "the same SKU twice in a snapshot: the later row is kept"),
        ok(product("TA-LAV-100", "03760999000028", "Savon à la lavande 100 g", "Terre d'Azur", "Hygiène")),
        ok(product("TA-THY-050", "03760999000035", "Thym de Provence 50 g", "Terre d'Azur", "Epices")),
    )),
))

STORES = QuarantineCase("stores", why="a store list snapshot", files=(
    FileSpec("stores.csv", "csv", header=STORES_HEADER, records=(
        ok(store("ST-LIL-01", LILLE, "Maison Verte", "Z-NORD", "Lille")),
        ok(store("ST-LYO-02", LYON, "Maison Verte", "Z-SUD", "Lyon")),
        ok(store("ST-NIM-03", None, "Maison Verte", "Z-SUD", "Nîmes"), why="a store without a Google listing"),
        bad(MISSING, store("ST-PAR-04", "5566778899001122334", "Maison Verte", None, "Paris"), "zone_id is present",
            "a store outside every zone cannot be a test or control store"),
        bad(MISSING, store("ST-MRS-05", "6677889900112233445", None, "Z-SUD", "Marseille"), "brand is present",
            "a store without its brand"),
        bad(DUPLICATE_ID, store("ST-REN-06", "7788990011223344556", "Maison Verte", "Z-OUEST", "Rennes"),
            "store_id " + DUPLICATE + kept("row 7"), "the same store twice: the later row is kept"),
        ok(store("ST-REN-06", "7788990011223344556", "Maison Verte", "Z-OUEST", "Rennes Centre")),
        ok(store("ST-NAN-07", "8899001122334455667", "Maison Verte", "Z-OUEST", "Nantes")),
    )),
))

AMBASSADORS = QuarantineCase("ambassadors", why="an ambassador roster snapshot", files=(
    FileSpec("ambassadors.csv", "csv", header=AMBASSADORS_HEADER, records=(
        ok(ambassador("AMB-0001", "instagram", "@claire.cuisine", "742", "Z-NORD")),
        ok(ambassador("AMB-0001", "tiktok", "@claire.cuisine", "310", "Z-NORD"),
           why="the same ambassador on another platform: not a duplicate (key is id + platform)"),
        ok(ambassador("AMB-0002", "tiktok", "@lucas_miam", "2310", "Z-EST")),
        ok(ambassador("AMB-0003", "youtube", "LaCuisineDeNina", "15400", "Z-NORD")),
        ok(ambassador("AMB-0004", "blog", "cuisine-de-lea", None, "Z-SUD"), why="unknown followers are blank"),
        bad(WRONG_TYPE, ambassador("AMB-0005", "instagram", "@eloise.mange", "1,2k", "Z-EST"),
            "followers is a valid int" + got("1,2k"), "a formatted follower count"),
        bad(OUT_OF_RANGE, ambassador("AMB-0006", "instagram", "@paul.popote", "-5", "Z-SUD"),
            "followers >= 0" + got(-5), "a negative follower count"),
        bad(MISSING, ambassador(None, "instagram", "@sans.identifiant", "120", "Z-SUD"), "ambassador_id is present",
            "no id"),
        bad(DUPLICATE_ID, ambassador("AMB-0007", "instagram", "@ines.cuisine", "880", "Z-NORD"),
            "ambassador_id+platform " + DUPLICATE + kept("row 10"), "the same (id, platform) twice: the later row is kept"),
        ok(ambassador("AMB-0007", "instagram", "@ines.cuisine", "905", "Z-NORD")),
        ok(ambassador("AMB-0008", "instagram", "@hugo.gourmand", "640", "Z-EST")),
    )),
))

CAMPAIGNS = QuarantineCase("campaigns", why="a campaign list snapshot", files=(
    FileSpec("campaigns.csv", "csv", header=CAMPAIGNS_HEADER, records=(
        ok(campaign("CMP-2025-OLIVE", "Maison Verte", "MV-OLV-500", "2025-05-05", "2025-05-18",
                    "#OliveDuMatin #MaisonVerteAmbassadeurs", "Z-NORD Z-EST")),
        ok(campaign("CMP-2025-PESTO", "Maison Verte", "MV-PES-180", "2025-06-02", "2025-06-15", "#PestoMaison", "Z-SUD")),
        bad(WRONG_TYPE, campaign("CMP-2025-MIEL", "Terre d'Azur", "TA-MIEL-250", "05/05/2025", "2025-05-25",
                                 "#MielDeProvence", "Z-SUD"),
            "start_date is a valid date" + got("05/05/2025"), "a French date format"),
        bad(MISSING, campaign("CMP-2025-THYM", "Terre d'Azur", "TA-THY-050", "2025-07-01", None, "#Thym", "Z-SUD"),
            "end_date is present", "a campaign without an end"),
        bad(DUPLICATE_ID, campaign("CMP-2025-LAV", "Terre d'Azur", "TA-LAV-100", "2025-06-01", "2025-06-10",
                                   "#Lavande", "Z-SUD"),
            "campaign_id " + DUPLICATE + kept("row 6"), "the same campaign twice: the later row is kept"),
        ok(campaign("CMP-2025-LAV", "Terre d'Azur", "TA-LAV-100", "2025-06-01", "2025-06-14", "#Lavande", "Z-SUD")),
        ok(campaign("CMP-2025-VIN", "Maison Verte", "MV-OLV-500", "2025-09-01", "2025-09-14", None, None),
           why="hashtags and exposed zones are optional"),
    )),
))

WEB_CONVERSION = QuarantineCase("web_conversion", why="a daily e-commerce export", files=(
    FileSpec("web_conversion_2025-05-06.csv", "csv", header=WEB_HEADER, records=(
        ok(web("2025-05-06", "MV-OLV-500", "1840", "61", "915.00")),
        ok(web("2025-05-06", "MV-PES-180", "920", "22", "141.90")),
        ok(web("2025-05-06", "TA-MIEL-250", "410", "9", "80.10")),
        ok(web("2025-05-05", "MV-OLV-500", "1790", "58", "870.00"), why="a restatement of an earlier day"),
        ok(web("2025-05-07", "MV-PES-180", "12", "0", "0"), why="D+1 is within the export grace"),
        bad(WRONG_TYPE, web("2025-05-06", "MV-OLV-750", "1 204", "30", "450.00"),
            "sessions is a valid int" + got("1 204") + "; sku in products.sku" + got("MV-OLV-750"),
            "a thousands separator, and a SKU the catalogue does not know"),
        bad(WRONG_TYPE, web("06/05/2025", "TA-MIEL-250", "400", "8", "71.20"), "date is a valid date" + got("06/05/2025"),
            "a French date format"),
        bad(WRONG_TYPE, web("2025-05-04", "MV-PES-180", "880", "20", "12,50"), "revenue is a valid float" + got("12,50"),
            "a decimal comma"),
        bad(OUT_OF_RANGE, web("2025-05-04", "MV-OLV-500", "1700", "-2", "800.00"), "orders >= 0" + got(-2),
            "negative orders"),
        bad(MISSING, web("2025-05-04", None, "15", "0", "0"), "sku is present", "no SKU"),
        bad(DUPLICATE_ID, web("2025-05-03", "MV-OLV-500", "1500", "40", "600.00"), "date+sku " + DUPLICATE + kept("row 12"),
            "the same (date, sku) twice in one delivery: the later row is kept"),
        ok(web("2025-05-03", "MV-OLV-500", "1510", "41", "615.00")),
        bad(FUTURE_TS, web("2025-05-08", "MV-OLV-500", "0", "0", "0"),
            "date " + FUTURE_DATE + got("2025-05-08"), "a day after D+1"),
        bad(UNKNOWN_REF, web("2025-05-03", "MV-XXX-000", "5", "0", "0"), "sku in products.sku" + got("MV-XXX-000"),
            "an unknown SKU"),
        ok(web("2025-05-03", "MV-PES-180", "900", "21", "135.45")),
        ok(web("2025-05-03", "TA-MIEL-250", "380", "7", "62.30")),
        ok(web("2025-05-04", "TA-MIEL-250", "395", "8", "71.20")),
    )),
))

STORE_SALES = QuarantineCase("store_sales", why="a daily retail panel export", files=(
    FileSpec("store_sales_2025-05-06.csv", "csv", header=SALES_HEADER, records=(
        ok(sale("2025-05-06", "ST-LIL-01", "MV-OLV-500", "14", "209.30")),
        ok(sale("2025-05-06", "ST-LYO-02", "MV-OLV-500", "9", "134.55")),
        ok(sale("2025-05-06", "ST-LIL-01", "MV-PES-180", "0", "-6.45"), why="a return: negative revenue is allowed"),
        ok(sale("2025-05-05", "ST-LIL-01", "MV-OLV-500", "12", "179.40"), why="a restatement"),
        bad(WRONG_TYPE, sale("2025-05-06", "ST-LYO-02", "MV-PES-180", "trois", "19.35"),
            "units is a valid int" + got("trois"), "units spelled out"),
        bad(OUT_OF_RANGE, sale("2025-05-06", "ST-LYO-02", "TA-MIEL-250", "-2", "-17.80"), "units >= 0" + got(-2),
            "negative units (returns are in revenue)"),
        bad(MISSING, sale("2025-05-06", None, "TA-MIEL-250", "3", "26.70"), "store_id is present", "no store"),
        bad(DUPLICATE_ID, sale("2025-05-04", "ST-LIL-01", "TA-MIEL-250", "5", "44.50"),
            "date+store_id+sku " + DUPLICATE + kept("row 9"),
            "the same (date, store, sku) twice: the later row is kept"),
        ok(sale("2025-05-04", "ST-LIL-01", "TA-MIEL-250", "6", "53.40")),
        bad(FUTURE_TS, sale("2025-05-09", "ST-LIL-01", "MV-OLV-500", "1", "14.95"),
            "date " + FUTURE_DATE + got("2025-05-09"), "three days after D"),
        bad(UNKNOWN_REF, sale("2025-05-06", "ST-PAR-09", "MV-OLV-500", "4", "59.80"),
            "store_id in stores.store_id" + got("ST-PAR-09"), "a store not in the store list"),
        bad(UNKNOWN_REF, sale("2025-05-06", "ST-LIL-01", "MV-XXX-000", "1", "9.90"), "sku in products.sku" + got("MV-XXX-000"),
            "an unknown SKU"),
        ok(sale("2025-05-04", "ST-LYO-02", "TA-MIEL-250", "2", "17.80")),
        ok(sale("2025-05-05", "ST-LYO-02", "MV-PES-180", "3", "19.35")),
        ok(sale("2025-05-05", "ST-LIL-01", "TA-MIEL-250", "4", "35.60")),
        ok(sale("2025-05-04", "ST-LYO-02", "MV-OLV-500", "8", "119.60")),
    )),
))

QUARANTINE_CASES: tuple[QuarantineCase, ...] = (
    GOOGLE, YOTPO, RETAILER, INSTAGRAM, TIKTOK, YOUTUBE, AMBASSADOR_POSTS, WOM,
    PRODUCTS, STORES, AMBASSADORS, CAMPAIGNS, WEB_CONVERSION, STORE_SALES,
)
CASE_BY_SOURCE = {c.source: c for c in QUARANTINE_CASES}


# ==============================================================================================
# Broken deliveries (on NEXT_DAY): the delivery stops with one line naming the file
# ==============================================================================================

@dataclass(frozen=True)
class BrokenCase:
    """A delivery that must stop before anything of it loads."""

    source: str
    kind: str
    name: str  # short test id
    files: dict[str, bytes]  # the broken delivery folder
    error: str  # a regex the DeliveryError message must fullmatch ('.' never matches a newline)
    why: str
    fixed: dict[str, bytes]  # the export re-delivered once fixed
    fixed_counts: tuple[int, int, int]  # (read, loaded, rejected) when the fixed export is ingested
    unclear: str = ""  # a message that once was unclear (test_an_unreadable_csv_says_what_is_wrong_and_where)

    @property
    def id(self) -> str:
        return f"{self.source}-{self.name}"


def _loc(source: str, name: str, day: str = NEXT_DAY) -> str:
    return f"{source}/{day}/{name}"


def _exact(text: str) -> str:
    return re.escape(text)


def _first_non_ascii(data: bytes) -> int:
    return next(i for i, b in enumerate(data) if b >= 0x80)


# The good exports of NEXT_DAY that every broken case is a broken version of.

def _google_next() -> FileSpec:
    return google_file("reviews-page-1.json", [
        ok(google_review(f"AbFvOqnQnd000{i}", LILLE if i % 2 else LYON, "FIVE", f"2025-05-07T{8 + i:02d}:00:00Z"))
        for i in range(4)])


def _yotpo_next() -> FileSpec:
    return yotpo_file("reviews-page-1.json", [
        ok(yotpo_review(487000201 + i, ("MV-OLV-500", "MV-PES-180", "TA-MIEL-250", "MV-OLV-500")[i], 4 + i % 2,
                        f"2025-05-07T{8 + i:02d}:00:00.000Z")) for i in range(4)])


def _retailer_next() -> FileSpec:
    return retailer_file("bv_export_2025-05-07.csv", [
        ok(retailer_row(f"RV-1003{i:02d}", ("MV-OLV-500", "MV-PES-180", "TA-MIEL-250", "MV-OLV-500")[i], str(3 + i % 3),
                        f"2025-05-07 {8 + i:02d}:30:00")) for i in range(4)])


def _instagram_next(followers=742) -> FileSpec:
    node = lambda media: {**ig_node(media), "followers_count": followers}  # noqa: E731
    return ig_file(f"ig_user_{IG_USER}.json", [
        ok(ig_media(f"1801234567891000{i}", f"2025-05-07T{8 + i:02d}:15:00+0000",
                    caption="Salade fraîcheur #OliveDuMatin")) for i in range(4)], node=node)


def _tiktok_next() -> FileSpec:
    return tiktok_file("videos-page-1.json", [
        ok(tiktok_video(7498300000000000010 + i, 1746604800 + 3600 * i, video_description="Pesto délicieux #OliveDuMatin"))
        for i in range(4)])


def _youtube_next() -> tuple[FileSpec, FileSpec]:
    return (yt_videos_file("videos-page-1.json", [ok(yt_video(f"Vd1kNext0{i}", f"2025-05-07T1{i}:00:00Z"))
                                                 for i in range(4)]),
            yt_channels_file("channels.json", [ok(yt_channel(CHANNEL, "15420"))]))


def _ambassador_next() -> FileSpec:
    posts = [amb_post(f"AP-6{i:03d}", posted=f"2025-05-07T1{i}:00:00+02:00") for i in range(4)]
    posts[0]["post_url"] = "https://cuisine-de-lea.fr/recette-pâtes-au-pesto"
    return FileSpec("posts_2025-05-07.csv", "csv", header=AMBASSADOR_HEADER, records=tuple(ok(p) for p in posts))


def _ambassador_next_ndjson() -> FileSpec:
    return FileSpec("posts_2025-05-07.ndjson", "ndjson", records=tuple(
        ok(amb_post(f"AP-7{i:03d}", posted=f"2025-05-07T1{i}:00:00+02:00", numeric=True)) for i in range(4)))


def _wom_next() -> FileSpec:
    return FileSpec("survey_CMP-2025-OLIVE.csv", "csv", header=WOM_HEADER, records=tuple(
        ok(wom_answer(f"R-01{i:02d}", f"AMB-000{i + 1}", answered=f"2025-05-07T1{i}:00:00+02:00", told=str(3 + i)))
        for i in range(4)))


def _csv(name: str, header: tuple[str, ...], rows: list[dict]) -> FileSpec:
    return FileSpec(name, "csv", header=header, records=tuple(ok(r) for r in rows))


def _products_next() -> FileSpec:
    return _csv("products.csv", PRODUCTS_HEADER, [
        product("MV-OLV-500", "03760123450017", "Huile d'olive vierge extra 50 cl", "Maison Verte", "Huiles"),
        product("MV-PES-180", "03760123450024", "Pesto alla genovese 180 g", "Maison Verte", "Sauces"),
        product("TA-MIEL-250", "03760999000011", "Miel de lavande 250 g", "Terre d'Azur", "Epicerie sucrée"),
        product("TA-LAV-100", "03760999000028", "Savon à la lavande 100 g", "Terre d'Azur", "Hygiène")])


def _stores_next() -> FileSpec:
    return _csv("stores.csv", STORES_HEADER, [
        store("ST-LIL-01", LILLE, "Maison Verte", "Z-NORD", "Lille"),
        store("ST-LYO-02", LYON, "Maison Verte", "Z-SUD", "Lyon"),
        store("ST-NIM-03", None, "Maison Verte", "Z-SUD", "Nîmes"),
        store("ST-NAN-07", "8899001122334455667", "Maison Verte", "Z-OUEST", "Nantes")])


def _ambassadors_next() -> FileSpec:
    return _csv("ambassadors.csv", AMBASSADORS_HEADER, [
        ambassador("AMB-0001", "instagram", "@claire.cuisine", "751", "Z-NORD"),
        ambassador("AMB-0002", "tiktok", "@lucas_miam", "2330", "Z-EST"),
        ambassador("AMB-0003", "youtube", "LaCuisineDeNina", "15420", "Z-NORD"),
        ambassador("AMB-0009", "instagram", "@élodie.mijote", "410", "Z-SUD")])


def _campaigns_next() -> FileSpec:
    return _csv("campaigns.csv", CAMPAIGNS_HEADER, [
        campaign("CMP-2025-OLIVE", "Maison Verte", "MV-OLV-500", "2025-05-05", "2025-05-18",
                 "#OliveDuMatin #MaisonVerteAmbassadeurs", "Z-NORD Z-EST"),
        campaign("CMP-2025-PESTO", "Maison Verte", "MV-PES-180", "2025-06-02", "2025-06-15", "#PestoMaison", "Z-SUD"),
        campaign("CMP-2025-MIEL", "Terre d'Azur", "TA-MIEL-250", "2025-05-12", "2025-05-25", "#MielDeProvence", "Z-SUD"),
        campaign("CMP-2025-PATES", "Maison Verte", "MV-PES-180", "2025-07-01", "2025-07-14", "#PâtesAuPesto", "Z-NORD")])


def _web_next() -> FileSpec:
    return _csv("web_conversion_2025-05-07.csv", WEB_HEADER, [
        web("2025-05-07", "MV-OLV-500", "1902", "66", "990.00"), web("2025-05-07", "MV-PES-180", "1240", "31", "200.10"),
        web("2025-05-07", "TA-MIEL-250", "420", "10", "89.00"), web("2025-05-06", "MV-OLV-500", "1845", "61", "915.00")])


def _sales_next() -> FileSpec:
    return _csv("store_sales_2025-05-07.csv", SALES_HEADER, [
        sale("2025-05-07", "ST-LIL-01", "MV-OLV-500", "15", "224.25"),
        sale("2025-05-07", "ST-LYO-02", "MV-OLV-500", "8", "119.60"),
        sale("2025-05-07", "ST-LIL-01", "MV-PES-180", "4", "25.80"),
        sale("2025-05-07", "ST-LYO-02", "TA-MIEL-250", "2", "17.80")])


NEXT_EXPORTS: dict[str, tuple[FileSpec, ...]] = {
    "google_business_reviews": (_google_next(),),
    "yotpo_reviews": (_yotpo_next(),),
    "retailer_reviews": (_retailer_next(),),
    "instagram_media": (_instagram_next(),),
    "tiktok_videos": (_tiktok_next(),),
    "youtube_videos": _youtube_next(),
    "ambassador_posts": (_ambassador_next(),),
    "wom_surveys": (_wom_next(),),
    "products": (_products_next(),),
    "stores": (_stores_next(),),
    "ambassadors": (_ambassadors_next(),),
    "campaigns": (_campaigns_next(),),
    "web_conversion": (_web_next(),),
    "store_sales": (_sales_next(),),
}


def next_export(source: str) -> dict[str, bytes]:
    return {f.name: f.render() for f in NEXT_EXPORTS[source]}


def _counts(source: str) -> tuple[int, int, int]:
    n = sum(len(f.records) for f in NEXT_EXPORTS[source])
    return (n, n, 0)


def _threshold_message(source: str, file: str, position: str, rejected: int, read: int, failed: str,
                       threshold: str = "50%") -> str:
    return (f"{_loc(source, file)} {position}: {rejected} of {read} records ({rejected / read:.0%}) failed their "
            f"expectations, over the {threshold} threshold for {source}; most failed: {failed}")


def _truncated(source: str) -> BrokenCase:
    [spec] = [f for f in NEXT_EXPORTS[source] if f.fmt in ("json", "ndjson")][:1] or [None]
    data = spec.render()
    cut = data[: len(data) * 2 // 3]
    return BrokenCase(
        source, TRUNCATED_JSON, "truncated-json", {spec.name: cut},
        _exact(f"{_loc(source, spec.name)}: cannot be read as json: ") + r"Invalid Input Error: Malformed JSON .*",
        "the transfer stopped two thirds into the page", next_export(source), _counts(source))


def _empty(source: str) -> BrokenCase:
    specs = NEXT_EXPORTS[source]
    first = specs[0]
    empty_name = first.name.replace(".", "-2.", 1)
    return BrokenCase(
        source, EMPTY_FILE, "empty-file", {**next_export(source), empty_name: b""},
        _exact(f"{_loc(source, empty_name)}: the file is empty"),
        "a 0-byte second file beside a good one: the whole delivery stops, the good file does not load alone",
        next_export(source), _counts(source))


def _latin1(source: str) -> BrokenCase:
    spec = NEXT_EXPORTS[source][0]
    data = spec.text().encode("latin-1")
    unclear = ""
    if spec.fmt == "csv":
        error = _exact(f"{_loc(source, spec.name)}: is not UTF-8 (byte {_first_non_ascii(data)} ") + r"[^)]*\)"
        unclear = "the message says '(byte N of the header)' although the byte is in a data row"
    else:
        error = (_exact(f"{_loc(source, spec.name)}: cannot be read as json: ")
                 + r"Invalid Input Error: Malformed JSON .*invalid UTF-8 encoding.*")
    return BrokenCase(source, WRONG_ENCODING, "latin-1", {spec.name: data}, error,
                      "exported as Latin-1 / Windows-1252 instead of UTF-8 (accented text)",
                      next_export(source), _counts(source), unclear=unclear)


def _utf16(source: str) -> BrokenCase:
    spec = NEXT_EXPORTS[source][0]
    return BrokenCase(source, WRONG_ENCODING, "utf-16", {spec.name: spec.text().encode("utf-16")},
                      _exact(f"{_loc(source, spec.name)}: is not UTF-8 (byte 0 of the header)"),
                      "saved from Excel as 'Unicode text' (UTF-16 with a BOM)", next_export(source), _counts(source))


def _wrong_header(source: str, header: tuple[str, ...], missing: str, why: str, sep: str = ",") -> BrokenCase:
    spec = NEXT_EXPORTS[source][0]
    assert len(header) == len(spec.header)
    renamed = replace(spec, header=header, sep=sep,
                      records=tuple(ok(dict(zip(header, (r.data.get(h) for h in spec.header), strict=True)))
                                    for r in spec.records))
    return BrokenCase(
        source, WRONG_HEADER, "wrong-header", {spec.name: renamed.render()},
        _exact(f"{_loc(source, spec.name)}: the CSV header lacks required column(s) {missing} "
               f"(found: {', '.join(header)})"), why, next_export(source), _counts(source))


def _threshold(source: str, files: dict[str, bytes], message: str, why: str) -> BrokenCase:
    return BrokenCase(source, OVER_THRESHOLD, "over-threshold", files, _exact(message), why,
                      next_export(source), _counts(source))


def _with(spec: FileSpec, records: list[dict]) -> dict[str, bytes]:
    return {spec.name: spec.render(records)}


def _broken_cases() -> list[BrokenCase]:
    cases: list[BrokenCase] = []
    g, y, r = NEXT_EXPORTS["google_business_reviews"][0], NEXT_EXPORTS["yotpo_reviews"][0], NEXT_EXPORTS["retailer_reviews"][0]
    ig, tt = NEXT_EXPORTS["instagram_media"][0], NEXT_EXPORTS["tiktok_videos"][0]
    ytv, ytc = NEXT_EXPORTS["youtube_videos"]
    data = lambda spec: [rec.data for rec in spec.records]  # noqa: E731

    # -- JSON sources: truncated, empty, Latin-1, over the threshold ---------------------------
    for source in ("google_business_reviews", "yotpo_reviews", "instagram_media", "tiktok_videos", "youtube_videos"):
        cases += [_truncated(source), _empty(source), _latin1(source)]
    cases.append(_threshold(
        "google_business_reviews",
        _with(g, [without(x, "name") if i < 3 else x for i, x in enumerate(data(g))]),
        _threshold_message("google_business_reviews", g.name, "$.reviews[0]", 3, 4,
                           "'name is present' (3), 'name__locationId is present' (3)"),
        "a tool dropped the review's resource name (and with it the location) from 3 of 4 reviews"))
    cases.append(_threshold(
        "yotpo_reviews",
        _with(y, [patched(without(x, "sku"), product_id=x["sku"]) if i else x for i, x in enumerate(data(y))]),
        _threshold_message("yotpo_reviews", y.name, "$.reviews[1]", 3, 4, "'sku is present' (3)"),
        "an API version renamed sku to product_id: a mapping change, not bad records"))
    cases.append(_threshold(
        "instagram_media", {ig.name: _instagram_next(followers="1,2k").render()},
        _threshold_message("instagram_media", ig.name, "$.media.data[0]", 4, 4,
                           "'user__followers_count is a valid int' (4)"),
        "the account's follower count is formatted: every media of the node inherits it"))
    cases.append(_threshold(
        "tiktok_videos",
        _with(tt, [patched(x, view_count=f"{x['view_count'] / 1000:.1f}K") if i < 3 else x for i, x in enumerate(data(tt))]),
        _threshold_message("tiktok_videos", tt.name, "$.data.videos[0]", 3, 4, "'view_count is a valid int' (3)"),
        "a scraper exported counts as 4.8K"))
    cases.append(_threshold(
        "youtube_videos",
        {**_with(ytv, [patched(x, snippet__publishedAt="7 mai 2025") if i < 3 else x for i, x in enumerate(data(ytv))]),
         ytc.name: ytc.render()},
        _threshold_message("youtube_videos", ytv.name, "$.items[0]", 3, 5, "'snippet__publishedAt is a valid timestamp' (3)"),
        "localised publication dates in 3 of 4 videos: 3 of the delivery's 5 records (videos + channels)"))
    cases.append(BrokenCase(
        "tiktok_videos", UNREADABLE, "api-error-page",
        {tt.name: json.dumps({"data": {}, "error": {"code": "rate_limit_exceeded", "message": "Too many requests",
                                                   "log_id": "202505080102"}}).encode()},
        _exact(f"{_loc('tiktok_videos', tt.name)}: the API returned an error instead of a TikTok page of videos: "
               'code rate_limit_exceeded: "Too many requests"'),
        "the export saved an API error instead of a page of videos", next_export("tiktok_videos"),
        _counts("tiktok_videos")))
    cases.append(BrokenCase(
        "youtube_videos", UNREADABLE, "unknown-kind",
        {**next_export("youtube_videos"),
         "playlist.json": json.dumps({"kind": "youtube#playlistItemListResponse", "items": []}).encode()},
        _exact(f"{_loc('youtube_videos', 'playlist.json')}: unknown payload kind "
               "'youtube#playlistItemListResponse' for source youtube_videos"),
        "a playlist page dropped among the video and channel pages", next_export("youtube_videos"),
        _counts("youtube_videos")))

    # -- CSV sources: empty, wrong header, wrong encoding, over the threshold -------------------
    for source in ("retailer_reviews", "ambassador_posts", "wom_surveys", "products", "stores", "ambassadors",
                   "campaigns", "web_conversion", "store_sales"):
        cases.append(_empty(source))
    for source in ("retailer_reviews", "ambassador_posts", "products", "stores", "ambassadors", "campaigns"):
        cases.append(_latin1(source))
    for source in ("wom_surveys", "web_conversion", "store_sales"):
        cases.append(_utf16(source))  # numbers-only exports: the encoding error Excel makes is UTF-16
    renamed = tuple("submitted_at" if h == "submission_time" else h for h in RETAILER_HEADER)
    cases += [
        _wrong_header("retailer_reviews", renamed, "submission_time", "the retailer renamed submission_time"),
        _wrong_header("ambassador_posts", tuple("campaign" if h == "campaign_id" else h for h in AMBASSADOR_HEADER),
                      "campaign_id", "the platform renamed campaign_id to campaign"),
        _wrong_header("wom_surveys", ("id_reponse", "ambassadeur", "campagne", "date_reponse", "nb_personnes",
                                      "produit_essaye", "note_recommandation"),
                      "response_id, ambassador_id, campaign_id, answered_at",
                      "the survey tool switched to French column names (and ';')", sep=";"),
        _wrong_header("products", ("SKU", "EAN", "Libellé", "Marque", "Rayon"), "sku, brand",
                      "an ERP export with its own column names"),
        _wrong_header("stores", ("store_id", "google_location_id", "brand", "region", "city"), "zone_id",
                      "zones renamed regions"),
        _wrong_header("ambassadors", ("id", "platform", "handle", "followers", "zone_id"), "ambassador_id",
                      "the id column lost its prefix"),
        _wrong_header("campaigns", ("campaign_id", "brand", "sku", "start_date", "end", "hashtags",
                                    "exposed_zone_ids"), "end_date", "end_date renamed end"),
        _wrong_header("web_conversion", ("day", "sku", "sessions", "orders", "revenue"), "date",
                      "the analytics tool calls the date 'day'"),
        _wrong_header("store_sales", ("date", "store", "sku", "units", "revenue"), "store_id",
                      "the panel calls the store 'store'"),
    ]
    rows = lambda source: data(NEXT_EXPORTS[source][0])  # noqa: E731
    spec = lambda source: NEXT_EXPORTS[source][0]  # noqa: E731
    cases += [
        _threshold("retailer_reviews",
                   _with(r, [patched(x, rating=str(7 + i)) if i else x for i, x in enumerate(rows("retailer_reviews"))]),
                   _threshold_message("retailer_reviews", r.name, "row 2", 3, 4, "'rating between 1 and 5' (3)"),
                   "ratings exported on a /10 scale"),
        _threshold("ambassador_posts",
                   _with(spec("ambassador_posts"), [patched(x, campaign_id="CMP-2025-MIEL") if i < 3 else x
                                                    for i, x in enumerate(rows("ambassador_posts"))]),
                   _threshold_message("ambassador_posts", spec("ambassador_posts").name, "row 1", 3, 4,
                                      "'campaign_id in campaigns.campaign_id' (3)"),
                   "posts for a campaign the campaign list does not have yet"),
        _threshold("wom_surveys",
                   _with(spec("wom_surveys"), [patched(x, tried_product="oui") if i < 3 else x
                                               for i, x in enumerate(rows("wom_surveys"))]),
                   _threshold_message("wom_surveys", spec("wom_surveys").name, "row 1", 3, 4,
                                      "'tried_product in (yes, no)' (3)"),
                   "the survey answers came back in French"),
        _threshold("products",
                   _with(spec("products"), [patched(x, brand=None) if i < 3 else x for i, x in enumerate(rows("products"))]),
                   _threshold_message("products", "products.csv", "row 1", 3, 4, "'brand is present' (3)"),
                   "the brand column came out blank"),
        _threshold("stores",
                   _with(spec("stores"), [patched(x, zone_id=None) if i < 3 else x for i, x in enumerate(rows("stores"))]),
                   _threshold_message("stores", "stores.csv", "row 1", 3, 4, "'zone_id is present' (3)"),
                   "zones not filled in"),
        _threshold("ambassadors",
                   _with(spec("ambassadors"), [patched(x, followers=f"{int(x['followers']) / 1000:.1f}k".replace(".", ","))
                                               if i < 3 else x for i, x in enumerate(rows("ambassadors"))]),
                   _threshold_message("ambassadors", "ambassadors.csv", "row 1", 3, 4, "'followers is a valid int' (3)"),
                   "follower counts formatted as 0,8k"),
        _threshold("campaigns",
                   _with(spec("campaigns"), [patched(x, start_date="/".join(reversed(x["start_date"].split("-"))),
                                                     end_date="/".join(reversed(x["end_date"].split("-"))))
                                             if i < 3 else x for i, x in enumerate(rows("campaigns"))]),
                   _threshold_message("campaigns", "campaigns.csv", "row 1", 3, 4,
                                      "'start_date is a valid date' (3), 'end_date is a valid date' (3)"),
                   "dates in the French DD/MM/YYYY format"),
        _threshold("web_conversion",
                   _with(spec("web_conversion"), [patched(x, sessions=f"{int(x['sessions']):,}".replace(",", " "))
                                                  if i != 2 else x for i, x in enumerate(rows("web_conversion"))]),
                   _threshold_message("web_conversion", spec("web_conversion").name, "row 1", 3, 4,
                                      "'sessions is a valid int' (3)"),
                   "thousands separators in the session counts"),
        _threshold("store_sales",
                   _with(spec("store_sales"), [patched(x, store_id=x["store_id"].replace("ST-", "MAG-")) if i < 3 else x
                                               for i, x in enumerate(rows("store_sales"))]),
                   _threshold_message("store_sales", spec("store_sales").name, "row 1", 3, 4,
                                      "'store_id in stores.store_id' (3)"),
                   "the panel switched to its own store codes"),
    ]

    # -- the ambassador platform's NDJSON export -----------------------------------------------
    nd = _ambassador_next_ndjson()
    nd_text = nd.render()
    cases.append(BrokenCase(
        "ambassador_posts", TRUNCATED_JSON, "truncated-ndjson", {nd.name: nd_text[: len(nd_text) - 25]},
        _exact(f"{_loc('ambassador_posts', nd.name)}: cannot be read as ndjson: line 4, the last line, is cut "
               "(malformed JSON and no line break at the end of the file)"),
        "the last line of the NDJSON export is cut", {nd.name: nd_text}, (4, 4, 0)))

    # -- other unreadable deliveries -------------------------------------------------------------
    big = replace(r, records=tuple(ok(retailer_row(f"RV-2{i:05d}", submitted="2025-05-07 08:00:00",
                                                  review_text="Tres bonne huile, je recommande."))
                                   for i in range(450)))  # plain ASCII up to the last row
    big_text = big.text()
    assert len(big_text.encode()) > 70_000, len(big_text.encode())
    late = big_text + ",".join(["RV-2999999", "MV-OLV-500", "", "5", "Crème", "Très bon", "2025-05-07 09:00:00", "",
                                "lea", "true", "false", "false", "", "0", "0", "0", "APPROVED", "fr_FR", ""]) + "\n"
    cases += [
        BrokenCase("retailer_reviews", WRONG_ENCODING, "latin-1-after-64k", {r.name: late.encode("latin-1")},
                   _exact(f"{_loc('retailer_reviews', r.name)}: is not UTF-8 (byte {_first_non_ascii(late.encode('latin-1'))} "
                          "on line 452)"),
                   "a long UTF-8 export whose last row was appended in Latin-1 (past the first 64 KiB)",
                   {r.name: late.encode("utf-8")}, (451, 451, 0),
                   unclear="the message does not say the file is not UTF-8"),
        BrokenCase("products", UNREADABLE, "ragged-row",
                   {"products.csv": _products_next().text().replace(" 50 cl", ", 50 cl", 1).replace(
                       " 180 g", ", 180 g", 1).replace(" 250 g", ", 250 g", 1).encode()},
                   _exact(_threshold_message("products", "products.csv", "line 2", 3, 4,
                                             "'the row has the 5 fields of the header' (3)")),
                   "unquoted commas in product names: 3 of 4 rows have 6 fields for a 5-column header "
                   "(each is quarantined whole, never loaded shifted; 3 of 4 is over the threshold)",
                   next_export("products"), _counts("products"),
                   unclear="the message does not say which row is wrong (DuckDB's sniffer error)"),
        BrokenCase("retailer_reviews", UNREADABLE, "spreadsheet",
                   {"bv_export_2025-05-07.xlsx": b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"},
                   _exact(f"{_loc('retailer_reviews', 'bv_export_2025-05-07.xlsx')}: unexpected file type '.xlsx' "
                          "for source retailer_reviews (expects csv)"),
                   "a spreadsheet delivered instead of the CSV export", next_export("retailer_reviews"),
                   _counts("retailer_reviews")),
        # An empty folder is not broken: nothing was delivered, with a warning (contract section 2;
        # tests/unit/test_run_records.py).
    ]
    return cases


BROKEN_CASES: tuple[BrokenCase, ...] = tuple(_broken_cases())
