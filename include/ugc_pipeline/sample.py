"""A deterministic, realistic landing zone for one brand campaign (demo data and test fixture).

``write_sample_landing(root)`` writes ``{root}/{source}/{YYYY-MM-DD}/{file}`` for every source of
the data contract (``CONTRACT.md`` sections 2-4): one brand, "Maison Verte", runs the ambassador
campaign ``CMP-<year>-OLIVE`` on the SKU ``MV-OLV-500`` with the hashtags ``#OliveDuMatin
#MaisonVerteAmbassadeurs`` in the zones ``Z-NORD Z-EST``.

Delivery plan (defaults: campaign 2025-05-05..2025-05-18, deliveries 2025-05-04..2025-05-25):

* ``campaign_start - 1``: full snapshots of ``products``, ``stores``, ``ambassadors``,
  ``campaigns``; the 28-day pre-period of ``web_conversion`` and ``store_sales``; a backfill of the
  reviews written during that pre-period and of the ambassadors' recent Instagram posts.
* one delivery per day from ``campaign_start`` to ``campaign_end + extra_delivery_days``: the UGC
  created that (UTC) day, re-deliveries (grown social metrics, edited / deleted reviews) and the
  previous day's daily facts. During the campaign the SKU converts ~30 % better on the web and
  sells ~15 % more in the exposed zones' stores.

Every payload is the platform's own shape, including the awkward parts a pipeline must survive
(see ``SampleLanding.gotchas`` for where each one is). The business tables (products, stores,
ambassadors, campaigns) do not depend on ``seed``; the UGC and the daily facts do, and the same
arguments always give byte-identical files. ``scale`` multiplies the per-day UGC counts.

Naive timestamps (the French retailer export's ``submission_time``) are UTC wall-clock times.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = [
    "BRAND",
    "CAMPAIGN_HASHTAGS",
    "CAMPAIGN_SKU",
    "EXPOSED_ZONE_IDS",
    "OTHER_BRAND",
    "SOURCES",
    "SampleLanding",
    "write_sample_landing",
]

PARIS = ZoneInfo("Europe/Paris")

BRAND = "Maison Verte"
OTHER_BRAND = "Terre d'Azur"
CAMPAIGN_SKU = "MV-OLV-500"
CAMPAIGN_HASHTAGS = ("#OliveDuMatin", "#MaisonVerteAmbassadeurs")
EXPOSED_ZONE_IDS = ("Z-NORD", "Z-EST")
OLD_CAMPAIGN_SKU = "MV-PES-180"
OLD_CAMPAIGN_HASHTAGS = ("#PestoDuDimanche", "#MVPestoClub")
PRE_PERIOD_DAYS = 28

UGC_SOURCES = (
    "google_business_reviews",
    "yotpo_reviews",
    "retailer_reviews",
    "instagram_media",
    "tiktok_videos",
    "youtube_videos",
    "ambassador_posts",
    "wom_surveys",
)
BUSINESS_SOURCES = ("products", "stores", "ambassadors", "campaigns", "web_conversion", "store_sales")
SOURCES = UGC_SOURCES + BUSINESS_SOURCES


@dataclass(frozen=True)
class SampleLanding:
    """What ``write_sample_landing`` wrote.

    ``gotchas`` maps the name of each awkward case to the file holding it, as a path relative to
    ``root`` (``source/YYYY-MM-DD/file``), so tests can find it whatever the arguments were.
    """

    root: Path
    campaign_id: str
    campaign_start: date
    campaign_end: date
    delivery_dates: list[date]  # sorted; every folder date written
    campaign_sku: str = CAMPAIGN_SKU
    hashtags: tuple[str, ...] = CAMPAIGN_HASHTAGS
    exposed_zone_ids: tuple[str, ...] = EXPOSED_ZONE_IDS
    gotchas: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


# --------------------------------------------------------------------------------------------
# Business dimensions (fixed, independent of the seed)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Product:
    sku: str
    gtin: str
    name: str
    brand: str
    category: str
    price: float
    sessions: int  # typical daily web sessions
    conversion: float  # typical orders / sessions
    units: float  # typical daily units per store


def _ean13(first12: str) -> str:
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


_PRODUCTS = (
    _Product("MV-OLV-500", _ean13("376014520001"), "Huile d'olive vierge extra Olive du Matin 50 cl",
             BRAND, "huiles", 12.90, 620, 0.024, 5.5),
    _Product("MV-OLV-1000", _ean13("376014520002"), "Huile d'olive vierge extra Olive du Matin 1 L",
             BRAND, "huiles", 21.50, 430, 0.021, 2.5),
    _Product("MV-TAP-190", _ean13("376014520003"), "Tapenade verte 190 g",
             BRAND, "tartinables", 4.90, 520, 0.028, 4.0),
    _Product("MV-VIN-250", _ean13("376014520004"), "Vinaigre balsamique de Modène 25 cl",
             BRAND, "vinaigres", 6.40, 380, 0.022, 3.0),
    _Product("MV-PES-180", _ean13("376014520005"), "Pesto alla genovese 180 g",
             BRAND, "sauces", 3.95, 690, 0.029, 6.0),
    _Product("MV-HER-030", _ean13("376014520006"), "Herbes de Provence Label Rouge 30 g",
             BRAND, "épices", 2.80, 340, 0.020, 2.0),
    _Product("TA-OLV-500", _ean13("376099810011"), "Huile d'olive classique 50 cl",
             OTHER_BRAND, "huiles", 9.90, 0, 0.0, 5.0),
    _Product("TA-TAP-190", _ean13("376099810012"), "Tapenade noire 190 g",
             OTHER_BRAND, "tartinables", 3.60, 0, 0.0, 3.5),
)
_RENAMED_SKU = "MV-TAP-190"
_RENAMED_NAME = "Tapenade verte aux amandes 190 g"
_BY_SKU = {p.sku: p for p in _PRODUCTS}
_MV_SKUS = tuple(p.sku for p in _PRODUCTS if p.brand == BRAND)
_OTHER_SKUS = tuple(p.sku for p in _PRODUCTS if p.brand != BRAND)


@dataclass(frozen=True)
class _Store:
    store_id: str
    google_location_id: str
    brand: str
    zone_id: str
    city: str
    factor: float  # relative size of the store


_STORES = (
    _Store("MV-S01", "8234098723409871234", BRAND, "Z-NORD", "Lille", 1.25),
    _Store("MV-S02", "5180339287450012671", BRAND, "Z-NORD", "Amiens", 0.85),
    _Store("MV-S03", "2907716634481520093", BRAND, "Z-NORD", "Arras", 0.75),
    _Store("MV-S04", "1148820374651093827", BRAND, "Z-EST", "Strasbourg", 1.20),
    _Store("MV-S05", "6672019384756102938", BRAND, "Z-EST", "Metz", 0.95),
    _Store("MV-S06", "3391028475610293847", BRAND, "Z-EST", "Nancy", 0.90),
    _Store("MV-S07", "7720193847561029384", BRAND, "Z-OUEST", "Nantes", 1.15),
    _Store("MV-S08", "4456102938475610293", BRAND, "Z-OUEST", "Rennes", 1.00),
    _Store("MV-S09", "9012837465019283746", BRAND, "Z-OUEST", "Brest", 0.70),
    _Store("MV-S10", "1209384756102938471", BRAND, "Z-SUD", "Marseille", 1.30),
    _Store("MV-S11", "8801928374650192837", BRAND, "Z-SUD", "Nice", 0.95),
    _Store("MV-S12", "5527384910293847561", BRAND, "Z-SUD", "Montpellier", 0.85),
    _Store("TA-S01", "3018273645501928374", OTHER_BRAND, "Z-SUD", "Avignon", 1.00),
    _Store("TA-S02", "6620384756109283745", OTHER_BRAND, "Z-NORD", "Lille", 0.90),
)
_GOOGLE_ACCOUNT = {BRAND: "107346952184733645128", OTHER_BRAND: "115820374619283746501"}
_MV_STORES = tuple(s for s in _STORES if s.brand == BRAND)


@dataclass(frozen=True)
class _Ambassador:
    ambassador_id: str
    platform: str
    handle: str  # instagram/tiktok username, YouTube channel id, blog domain
    followers: int
    zone_id: str
    display_name: str
    ig_user_id: str = ""
    hidden_subscribers: bool = False


_FIRST_NAMES = (
    ("Léa", "lea"), ("Camille", "camille"), ("Manon", "manon"), ("Chloé", "chloe"), ("Inès", "ines"),
    ("Sarah", "sarah"), ("Emma", "emma"), ("Julie", "julie"), ("Lucie", "lucie"), ("Pauline", "pauline"),
    ("Marine", "marine"), ("Claire", "claire"), ("Hugo", "hugo"), ("Thomas", "thomas"), ("Lucas", "lucas"),
    ("Nicolas", "nicolas"), ("Julien", "julien"), ("Antoine", "antoine"), ("Maxime", "maxime"),
    ("Louise", "louise"), ("Anaïs", "anais"), ("Clara", "clara"), ("Élodie", "elodie"),
    ("Margaux", "margaux"), ("Romain", "romain"), ("Mathilde", "mathilde"), ("Océane", "oceane"),
    ("Justine", "justine"), ("Laura", "laura"), ("Alice", "alice"), ("Zoé", "zoe"), ("Jade", "jade"),
    ("Nina", "nina"), ("Mélanie", "melanie"), ("Sophie", "sophie"), ("Aurélie", "aurelie"),
    ("Charlotte", "charlotte"), ("Noémie", "noemie"), ("Estelle", "estelle"), ("Bastien", "bastien"),
)
_LAST_NAMES = (
    ("Martin", "martin"), ("Bernard", "bernard"), ("Dubois", "dubois"), ("Thomas", "thomas"),
    ("Robert", "robert"), ("Richard", "richard"), ("Petit", "petit"), ("Durand", "durand"),
    ("Leroy", "leroy"), ("Moreau", "moreau"), ("Simon", "simon"), ("Laurent", "laurent"),
    ("Lefèvre", "lefevre"), ("Michel", "michel"), ("Garcia", "garcia"), ("Roux", "roux"),
    ("Fournier", "fournier"), ("Girard", "girard"), ("Bonnet", "bonnet"), ("Mercier", "mercier"),
)
_HANDLE_SUFFIXES = ("cuisine", "food", "petitsplats", "healthy", "gourmande", "veggie", "recettes",
                    "kitchen", "maison", "popote", "bonnesassiettes", "tablee")

# platform layout of the 40 ambassadors and the few with larger audiences
_AMB_PLATFORMS = ["instagram"] * 22 + ["tiktok"] * 8 + ["youtube"] * 4 + ["blog"] * 6
_AMB_FOLLOWERS = {3: 4_800, 11: 12_500, 7: 250_000, 24: 2_300, 31: 1_450}
_MACRO_INDEX = 7
_HIDDEN_SUBSCRIBERS_INDEX = 32

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B64URL = _ALNUM + "-_"


def _token(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _ambassadors() -> tuple[_Ambassador, ...]:
    rng = random.Random("ugc-sample-dimensions-ambassadors")
    zones = ("Z-NORD",) * 4 + ("Z-EST",) * 3 + ("Z-OUEST", "Z-SUD")
    out = []
    handles: set[str] = set()
    for i, platform in enumerate(_AMB_PLATFORMS):
        first, first_ascii = _FIRST_NAMES[i]
        last, _ = rng.choice(_LAST_NAMES)
        followers = _AMB_FOLLOWERS.get(i, rng.randint(80, 990))
        ig_id = ""
        if platform in ("instagram", "tiktok"):
            while True:
                sep = rng.choice((".", "_", ""))
                handle = f"{first_ascii}{sep}{rng.choice(_HANDLE_SUFFIXES)}"
                if rng.random() < 0.4:
                    handle += str(rng.randint(2, 99))
                if handle not in handles:
                    break
            if platform == "instagram":
                ig_id = "178414" + f"{rng.randint(0, 10**11 - 1):011d}"
        elif platform == "youtube":
            handle = "UC" + _token(rng, 22, _B64URL)
        else:
            handle = f"{rng.choice(('lacuisinede', 'lestablesde', 'chez'))}{first_ascii}.fr"
        handles.add(handle)
        out.append(_Ambassador(
            ambassador_id=f"AMB-{i + 1:04d}", platform=platform, handle=handle, followers=followers,
            zone_id=rng.choice(zones), display_name=f"{first} {last[0]}.", ig_user_id=ig_id,
            hidden_subscribers=(i == _HIDDEN_SUBSCRIBERS_INDEX)))
    return tuple(out)


_AMBASSADORS = _ambassadors()
_AMB_BY_PLATFORM = {p: tuple(a for a in _AMBASSADORS if a.platform == p)
                    for p in ("instagram", "tiktok", "youtube", "blog")}
_TIKTOK_ORGANIC = ("marie.popote", "chefdudimanche", "lesgourmandsdulundi", "vegan_paulo", "tata.jacqueline")
_YOUTUBE_ORGANIC = (("UCq7Hc2vT0aZ3LmXkR9wPe1A", "La Cuisine de Bernard", 15_300),
                    ("UCm4Jd8sYb2Nc6VqW1tFz0Hg", "Petits Plats Faciles", 820))

# --------------------------------------------------------------------------------------------
# Text banks
# --------------------------------------------------------------------------------------------

_REVIEW_TITLES = {
    5: ("Excellent", "Mon indispensable", "Parfait", "Coup de cœur", "Je recommande !"),
    4: ("Très bon produit", "Bonne surprise", "Très bien", "Bon goût"),
    3: ("Correct", "Bien mais cher", "Peut mieux faire"),
    2: ("Déçue", "Moyen", "Pas terrible"),
    1: ("À éviter", "Très déçu", "Produit abîmé"),
}
_REVIEW_TEXTS = {
    5: ("Un goût authentique, on sent la qualité des ingrédients.",
        "Je l'utilise tous les jours, toute la famille adore.",
        "Fruité, doux, équilibré : bref, parfait pour la cuisine du quotidien.",
        "Reçu dans le cadre du programme ambassadeurs, conquise dès la première dégustation.",
        "Rien à redire, je rachète les yeux fermés."),
    4: ("Très bon, un peu cher mais ça vaut le coup.",
        "Bonne qualité, emballage pratique, livraison rapide.",
        "Bon produit, je l'ai fait goûter à mes amis, ils ont aimé."),
    3: ("Correct, sans plus. Le prix est un peu élevé pour la quantité.",
        "Bon goût mais le bouchon fuit un peu."),
    2: ("Pas à la hauteur de mes attentes, goût un peu fade.",
        "Moyen : texture décevante, je ne suis pas sûre de racheter."),
    1: ("Produit arrivé abîmé, service client injoignable.",
        "Goût amer, vraiment déçu. Je ne rachèterai pas."),
}
_OLIVE_TEXTS = (
    "Huile très parfumée, parfaite sur une salade de tomates.",
    "Goût fruité, légèrement ardent en fin de bouche, j'adore !",
    "Sur ma tartine du matin avec un peu de sel, un régal.",
)
_TRICKY_TEXTS = (
    ('Le goût est "comme en Provence" ; la bouteille est belle, le prix correct.\n'
     "Deuxième achat ; toujours aussi bon, je recommande."),
    ("Première impression : très bonne, fruitée, douce.\nAprès deux semaines, toujours aussi bonne, "
     "je recommande !"),
)
_GOOGLE_COMMENTS = {
    5: ("Magasin bien rangé, personnel accueillant et de bon conseil.",
        "Super dégustation d'huile d'olive ce samedi, merci à l'équipe !",
        "Belle épicerie fine, produits de qualité. Je reviendrai."),
    4: ("Bon choix de produits, un peu d'attente en caisse.",
        "Boutique agréable, prix un peu élevés mais qualité au rendez-vous."),
    3: ("Correct, mais rayon huiles souvent en rupture.",),
    2: ("Personnel pressé, peu de conseils.",),
    1: ("Attente interminable en caisse, une seule caisse ouverte un samedi.",),
}
_GOOGLE_REPLIES = (
    "Merci beaucoup pour votre avis, à très bientôt en boutique !",
    "Merci pour votre retour, nous transmettons à l'équipe.",
    "Nous sommes désolés de cette expérience, contactez-nous à bonjour@maisonverte.example.",
)
_IG_BODIES = (
    "Petit-déj du dimanche : pain de campagne, tomates et un filet d'huile",
    "Ma salade de lentilles préférée, la touche finale qui change tout",
    "Recette express : focaccia maison en 20 minutes",
    "Unboxing du colis reçu ce matin, merci Maison Verte",
    "Tartines apéro pour les copains ce soir",
    "Test à l'aveugle avec ma famille : verdict dans la vidéo",
)
_IG_UNRELATED = (
    "Balade du dimanche au marché 🌿 #weekend #marché",
    "Mon nouveau plan de travail est enfin installé ! #cuisine #deco",
    "Gâteau au yaourt de mamie, la base 🍰 #recettefacile",
    "Rentrée des classes, organisation des repas de la semaine #mealprep",
)
_TAG1_VARIANTS = ("#OliveDuMatin", "#oliveDuMatin", "#olivedumatin", "#OLIVEDUMATIN", "#OliveDuMatin")
_TAG2_VARIANTS = ("#MaisonVerteAmbassadeurs", "#maisonverteambassadeurs", "#MaisonVerteAmbassadeurs")
_TIKTOK_TAG1 = ("OliveDuMatin", "olivedumatin", "OLIVEDUMATIN", "oliveDuMatin")
_TIKTOK_TAG2 = ("MaisonVerteAmbassadeurs", "maisonverteambassadeurs")
_TIKTOK_OTHER = ("recette", "cuisine", "fyp", "pourtoi", "apero", "foodtok")
_YOUTUBE_TITLES = (
    "3 recettes faciles avec une huile d'olive fruitée",
    "J'ai testé l'huile Olive du Matin : mon avis honnête",
    "Focaccia maison inratable (recette pas à pas)",
    "Mes courses de la semaine + recettes",
)

_WEEKDAY_FACTOR = (0.95, 0.92, 0.96, 1.0, 1.05, 1.14, 1.08)

# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def _json_bytes(obj) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _ndjson_bytes(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def _csv_bytes(header, rows, *, delimiter: str = ",", bom: bool = False, crlf: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8")


def _google_time(dt: datetime, nanos: int) -> str:
    """RFC 3339 as protobuf JSON writes it: 0, 3, 6 or 9 fraction digits."""
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos == 0:
        return base + "Z"
    if nanos % 1_000_000 == 0:
        return f"{base}.{nanos // 1_000_000:03d}Z"
    if nanos % 1000 == 0:
        return f"{base}.{nanos // 1000:06d}Z"
    return f"{base}.{nanos:09d}Z"


def _nanos(rng: random.Random, digits: int) -> int:
    if digits == 0:
        return 0
    if digits == 3:
        return rng.randint(1, 999) * 1_000_000
    if digits == 6:
        value = rng.randint(1, 999_999) * 1000
        return value if value % 1_000_000 else value + 1000
    value = rng.randint(1, 999_999_999)
    return value if value % 1000 else value + 1


def _yotpo_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".000Z"


def _ig_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + "+0000"


def _zulu(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _paris_minute(dt: datetime) -> str:
    return dt.astimezone(PARIS).replace(second=0).isoformat()


def _grown(final: int, created: datetime, at: datetime) -> int:
    """A lifetime metric as seen at ``at``: grows quickly after posting, then levels off."""
    hours = max((at - created).total_seconds() / 3600.0, 0.0)
    return round(final * (1.0 - 0.5 ** (hours / 16.0)))


def _poisson(rng: random.Random, lam: float) -> int:
    limit = math.exp(-lam)
    k, p = 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(1 for _ in range(n) if rng.random() < p)


def _sig3(n: int) -> int:
    """YouTube rounds subscriber counts down to three significant figures."""
    if n < 1000:
        return n
    step = 10 ** (len(str(n)) - 3)
    return n // step * step


def _rating(rng: random.Random, boost: bool = False) -> int:
    weights = (6, 5, 9, 28, 52) if not boost else (3, 3, 7, 27, 60)
    return rng.choices((1, 2, 3, 4, 5), weights=weights)[0]


_WORDS = {1: "ONE", 2: "TWO", 3: "THREE", 4: "FOUR", 5: "FIVE"}

# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, root: Path, start: date, campaign_days: int, extra_days: int, seed: int,
                 scale: float):
        self.root = root
        self.start = start
        self.end = start + timedelta(days=campaign_days - 1)
        self.snapshot_day = start - timedelta(days=1)
        self.days = [start + timedelta(days=k) for k in range(campaign_days + extra_days)]
        self.seed = seed
        self.scale = scale
        self.campaign_id = f"CMP-{start.year}-OLIVE"
        old_start = start - timedelta(days=70)
        self.old_campaign = (f"CMP-{old_start.year}-PESTO", old_start, old_start + timedelta(days=20))
        self.written: set[date] = set()
        self.gotchas: dict[str, str] = {}
        self._seen_ids: set[str] = set()
        self._web: dict[date, list[list]] = {}
        n = len(self.days)
        # delivery index of each planted case (clamped for short runs)
        self.k = {name: min(k, n - 1) for name, k in {
            "first": 0, "late": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
            "mid": max(campaign_days // 2, 1),
        }.items()}
        self.declare: dict[int, list[tuple[str, dict]]] = {}
        self.amb_post_counter = 0

    # -- plumbing ------------------------------------------------------------------------------
    def rng(self, *parts) -> random.Random:
        return random.Random("|".join(("ugc-sample", str(self.seed), *map(str, parts))))

    def count(self, rng: random.Random, lo: int, hi: int, minimum: int = 0) -> int:
        return max(minimum, round(rng.randint(lo, hi) * self.scale))

    def unique(self, make) -> str:
        while True:
            value = make()
            if value not in self._seen_ids:
                self._seen_ids.add(value)
                return value

    def put(self, source: str, day: date, name: str, data: bytes) -> str:
        folder = self.root / source / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        self.written.add(day)
        return f"{source}/{day.isoformat()}/{name}"

    def mark(self, gotcha: str, rel: str) -> None:
        self.gotchas.setdefault(gotcha, rel)

    @staticmethod
    def export_moment(day: date) -> datetime:
        """When the export job for folder ``day`` ran (metrics are measured then)."""
        return datetime.combine(day + timedelta(days=1), time(0, 30), UTC)

    @staticmethod
    def moment(rng: random.Random, day: date, late: bool = False,
               between: tuple[int, int] | None = None) -> datetime:
        """A creation time inside the UTC day ``day``; ``late`` = 22:00-23:59Z (next day in Paris),
        ``between`` = (first, last) second of the day."""
        if between:
            secs = rng.randint(*between)
        else:
            r = rng.random()
            if late or r < 0.07:
                secs = rng.randint(22 * 3600, 86_399)
            elif r < 0.10:
                secs = rng.randint(0, 5 * 3600)
            else:
                secs = rng.randint(5 * 3600, 22 * 3600 - 1)
        return datetime.combine(day, time(), UTC) + timedelta(seconds=secs)

    def phase(self, day: date) -> str:
        if day < self.start:
            return "pre"
        return "campaign" if day <= self.end else "post"

    def pre_day(self, rng: random.Random) -> date:
        return self.start - timedelta(days=rng.randint(1, PRE_PERIOD_DAYS))

    def review_sku(self, rng: random.Random, day: date, other_brand: float = 0.0) -> str:
        if other_brand and rng.random() < other_brand:
            return rng.choice(_OTHER_SKUS)
        share = {"pre": 0.15, "campaign": 0.45, "post": 0.25}[self.phase(day)]
        return CAMPAIGN_SKU if rng.random() < share else rng.choice(_MV_SKUS[1:])

    # -- entry point ---------------------------------------------------------------------------
    def build(self) -> SampleLanding:
        self.write_business()
        self.write_facts()
        self.write_google()
        self.write_yotpo()
        self.write_retailer()
        self.write_instagram()
        self.write_tiktok()
        self.write_youtube()
        self.write_ambassador_posts()
        self.write_wom()
        return SampleLanding(
            root=self.root, campaign_id=self.campaign_id, campaign_start=self.start,
            campaign_end=self.end, delivery_dates=sorted(self.written),
            gotchas=dict(sorted(self.gotchas.items())))

    # -- business tables -----------------------------------------------------------------------
    def products_csv(self, renamed: bool) -> bytes:
        rows = [[p.sku, p.gtin, _RENAMED_NAME if renamed and p.sku == _RENAMED_SKU else p.name,
                 p.brand, p.category] for p in _PRODUCTS]
        return _csv_bytes(["sku", "gtin", "product_name", "brand", "category"], rows)

    def write_business(self) -> None:
        d0 = self.snapshot_day
        self.put("products", d0, "products.csv", self.products_csv(renamed=False))
        rel = self.put("products", self.days[self.k["mid"]], "products.csv", self.products_csv(renamed=True))
        self.mark("products_renamed_snapshot", rel)
        self.put("stores", d0, "stores.csv", _csv_bytes(
            ["store_id", "google_location_id", "brand", "zone_id", "city"],
            [[s.store_id, s.google_location_id, s.brand, s.zone_id, s.city] for s in _STORES]))
        self.put("ambassadors", d0, "ambassadors.csv", _csv_bytes(
            ["ambassador_id", "platform", "handle", "followers", "zone_id"],
            [[a.ambassador_id, a.platform, a.handle, a.followers, a.zone_id] for a in _AMBASSADORS]))
        old_id, old_start, old_end = self.old_campaign
        self.put("campaigns", d0, "campaigns.csv", _csv_bytes(
            ["campaign_id", "brand", "sku", "start_date", "end_date", "hashtags", "exposed_zone_ids"],
            [[old_id, BRAND, OLD_CAMPAIGN_SKU, old_start.isoformat(), old_end.isoformat(),
              " ".join(OLD_CAMPAIGN_HASHTAGS), "Z-OUEST Z-SUD"],
             [self.campaign_id, BRAND, CAMPAIGN_SKU, self.start.isoformat(), self.end.isoformat(),
              " ".join(CAMPAIGN_HASHTAGS), " ".join(EXPOSED_ZONE_IDS)]]))

    # -- daily facts ---------------------------------------------------------------------------
    def web_rows(self, day: date) -> list[list]:
        if day in self._web:
            return self._web[day]
        rng = self.rng("web_conversion", day)
        wf = _WEEKDAY_FACTOR[day.weekday()]
        rows = []
        for p in _PRODUCTS:
            if p.brand != BRAND:
                continue
            sessions = p.sessions * wf * rng.uniform(0.85, 1.15)
            conversion = p.conversion * rng.uniform(0.96, 1.04)
            if p.sku == CAMPAIGN_SKU and self.phase(day) == "campaign":
                sessions *= 1.12
                conversion *= 1.30
            elif p.sku == CAMPAIGN_SKU and self.phase(day) == "post":
                sessions *= 1.04
                conversion *= 1.10
            sessions = round(sessions)
            mean = sessions * conversion
            # orders vary less than a pure binomial would: the traffic mix is stable day to day
            orders = max(0, round(rng.gauss(mean, 0.6 * math.sqrt(mean * (1 - conversion)))))
            revenue = orders * p.price * rng.uniform(1.0, 1.3)
            rows.append([day.isoformat(), p.sku, sessions, orders, f"{revenue:.2f}"])
        self._web[day] = rows
        return rows

    def sales_rows(self, day: date) -> list[list]:
        rng = self.rng("store_sales", day)
        wf = _WEEKDAY_FACTOR[day.weekday()]
        rows = []
        for s in _STORES:
            for p in _PRODUCTS:
                if p.brand != s.brand:
                    continue
                mean = p.units * s.factor * wf
                if (p.sku == CAMPAIGN_SKU and s.zone_id in EXPOSED_ZONE_IDS
                        and self.phase(day) == "campaign"):
                    mean *= 1.15
                units = _binomial(rng, 15, min(mean / 15, 1.0))  # 0-15 units a day
                if units == 0 and rng.random() < 0.8:
                    continue  # the panel leaves out most zero-sales rows
                revenue = units * p.price * rng.choice((1.0, 1.0, 1.0, 0.9))
                rows.append([day.isoformat(), s.store_id, p.sku, units, f"{revenue:.2f}"])
        return rows

    def write_facts(self) -> None:
        web_header = ["date", "sku", "sessions", "orders", "revenue"]
        sales_header = ["date", "store_id", "sku", "units", "revenue"]
        first = self.start - timedelta(days=PRE_PERIOD_DAYS)
        last = self.snapshot_day
        pre = [first + timedelta(days=i) for i in range(PRE_PERIOD_DAYS)]
        tag = f"{first:%Y%m%d}_{last:%Y%m%d}"
        self.put("web_conversion", self.snapshot_day, f"ga4_item_conversion_{tag}.csv",
                 _csv_bytes(web_header, [r for d in pre for r in self.web_rows(d)]))
        self.put("store_sales", self.snapshot_day, f"retail_panel_{tag}.csv",
                 _csv_bytes(sales_header, [r for d in pre for r in self.sales_rows(d)]))
        for day in self.days:
            fact_day = day - timedelta(days=1)  # folder D holds the facts of D-1
            self.put("web_conversion", day, f"ga4_item_conversion_{fact_day:%Y%m%d}.csv",
                     _csv_bytes(web_header, self.web_rows(fact_day)))
            self.put("store_sales", day, f"retail_panel_{fact_day:%Y%m%d}.csv",
                     _csv_bytes(sales_header, self.sales_rows(fact_day)))
        # a restatement: late-attributed orders change an already delivered row
        mid = self.k["mid"]
        target = self.start + timedelta(days=1) if mid >= 3 else self.start - timedelta(days=2)
        original = next(r for r in self.web_rows(target) if r[1] == CAMPAIGN_SKU)
        sessions, orders = original[2] + 17, original[3] + 4
        revenue = float(original[4]) + 4 * _BY_SKU[CAMPAIGN_SKU].price
        rel = self.put("web_conversion", self.days[mid], f"ga4_item_conversion_restatement_{target:%Y%m%d}.csv",
                       _csv_bytes(web_header, [[target.isoformat(), CAMPAIGN_SKU, sessions, orders,
                                                f"{revenue:.2f}"]]))
        self.mark("web_conversion_restatement", rel)

    # -- Google Business Profile reviews -------------------------------------------------------
    def write_google(self) -> None:
        stats = {}
        rng0 = self.rng("google", "locations")
        for s in _STORES:
            total = rng0.randint(90, 260)
            stats[s.google_location_id] = [total, total * rng0.uniform(4.0, 4.6)]
        counter = [0]
        edits: dict[int, list[dict]] = {}

        def review(rng, day, *, store=None, late=False, rating=None, comment=True, between=None):
            store = store or (rng.choice(_MV_STORES) if rng.random() < 0.9 else
                              rng.choice([s for s in _STORES if s.brand != BRAND]))
            created = self.moment(rng, day, late=late, between=between)
            rid = self.unique(lambda: "AbFvOq" + _token(rng, 48, _B64URL))
            stars = rating if rating is not None else _rating(rng)
            digits = (0, 3, 6, 9)[counter[0] % 4]
            counter[0] += 1
            create_text = _google_time(created, _nanos(rng, digits))
            anonymous = rng.random() < 0.06
            first, _ = rng.choice(_FIRST_NAMES)
            last, _ = rng.choice(_LAST_NAMES)
            reviewer = ({"displayName": "Un utilisateur de Google", "isAnonymous": True} if anonymous else
                        {"profilePhotoUrl": "https://lh3.googleusercontent.com/a-/ALV-Uj" + _token(rng, 40, _B64URL),
                         "displayName": f"{first} {last}", "isAnonymous": False})
            item = {
                "name": f"accounts/{_GOOGLE_ACCOUNT[store.brand]}/locations/{store.google_location_id}/reviews/{rid}",
                "reviewId": rid,
                "reviewer": reviewer,
                "starRating": "STAR_RATING_UNSPECIFIED" if stars == 0 else _WORDS[stars],
            }
            if comment and rng.random() < 0.72:
                item["comment"] = rng.choice(_GOOGLE_COMMENTS[stars or 4])
            item["createTime"] = create_text
            item["updateTime"] = create_text
            reply_at = created + timedelta(minutes=rng.randint(40, 900))
            if rng.random() < 0.35 and reply_at < self.export_moment(day):
                item["reviewReply"] = {"comment": rng.choice(_GOOGLE_REPLIES),
                                       "updateTime": _google_time(reply_at, _nanos(rng, rng.choice((0, 3, 6, 9))))}
            if rng.random() < 0.15:
                item["reviewMediaItems"] = [
                    {"name": f"{item['name']}/media/{_token(rng, 24, _B64URL)}", "mediaFormat": "PHOTO",
                     "googleUrl": "https://lh3.googleusercontent.com/p/AF1Qip" + _token(rng, 40, _B64URL)}
                    for _ in range(rng.randint(1, 3))]
            return item, created

        def deliver(day, items, split_location=None):
            by_loc: dict[str, list[dict]] = {}
            for it in items:
                by_loc.setdefault(it["name"].split("/")[3], []).append(it)
            paths = {}
            for loc, revs in by_loc.items():
                stat = stats[loc]
                for r in revs:
                    stat[0] += 1
                    stat[1] += {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}.get(r["starRating"], 4)
                revs.sort(key=lambda r: r["updateTime"], reverse=True)
                size = 50 if loc != split_location else max(1, math.ceil(len(revs) / 2))
                pages = [revs[i:i + size] for i in range(0, len(revs), size)]
                prng = self.rng("google", "pages", day, loc)
                for i, page in enumerate(pages, start=1):
                    body = {"reviews": page, "averageRating": round(stat[1] / stat[0], 1),
                            "totalReviewCount": stat[0]}
                    if i < len(pages):
                        body["nextPageToken"] = _token(prng, 64, _B64URL)
                    paths[(loc, i)] = self.put("google_business_reviews", day,
                                               f"location_{loc}_page_{i}.json", _json_bytes(body))
            return paths

        # backfill of the pre-period
        rng = self.rng("google", "backfill")
        items = [review(rng, self.pre_day(rng))[0] for _ in range(self.count(rng, 8, 8, minimum=1))]
        deliver(self.snapshot_day, items)

        k = self.k
        for idx, day in enumerate(self.days):
            rng = self.rng("google", day)
            n = self.count(rng, 1, 3, minimum=1 if idx in (k["first"], k["fifth"], k["sixth"]) else 0)
            if idx in (k["late"], k["second"], k["third"]):
                n = max(n, 3)
            items, marks = [], {}
            split_loc = None
            for j in range(n):
                kw = {}
                if idx == k["first"] and j == 0:
                    kw["comment"] = False
                    marks["google_rating_only"] = 0
                if idx == k["late"] and j == n - 1:
                    kw["late"] = True
                    marks["google_created_late_utc"] = j
                if idx == k["late"] and j == 0:
                    kw.update(rating=2, store=_MV_STORES[3], between=(6 * 3600, 19 * 3600))
                    kw["comment"] = True
                if idx == k["second"] and j < 3:
                    kw["store"] = _MV_STORES[0]
                    split_loc = _MV_STORES[0].google_location_id
                if idx == k["third"] and j == 0:
                    kw["rating"] = 0
                if j == 0 and idx in (k["fifth"], k["sixth"]) and idx > k["fourth"]:
                    kw["rating"] = 1 if idx == k["fifth"] else 3  # every word rating occurs
                item, _ = review(rng, day, **kw)
                if idx == k["late"] and j == 0:
                    item["comment"] = "Personne pour me conseiller au rayon huiles, dommage."
                    item.pop("reviewReply", None)
                    edit_idx = k["fourth"]
                    if edit_idx > idx:
                        edits.setdefault(edit_idx, []).append(item)
                        marks["google_edited_original"] = j
                if idx == k["third"] and j == 0:
                    marks["google_star_rating_unspecified"] = j
                if "reviewMediaItems" in item:
                    marks.setdefault("google_review_media", j)
                if "reviewReply" in item:
                    marks.setdefault("google_review_reply", j)
                items.append(item)
            for original in edits.get(idx, []):
                erng = self.rng("google", "edit", original["reviewId"])
                edited_at = self.moment(erng, day, between=(8 * 3600, 21 * 3600))
                edited = dict(original)
                edited["starRating"] = "FOUR"
                edited["comment"] = ("Mise à jour : l'équipe m'a rappelé et conseillé, "
                                     "très bon accueil finalement.")
                edited["updateTime"] = _google_time(edited_at, _nanos(erng, 6))
                edited["reviewReply"] = {"comment": _GOOGLE_REPLIES[0],
                                         "updateTime": _google_time(edited_at - timedelta(hours=3), 0)}
                items.append(edited)
                marks["google_edited_redelivery"] = len(items) - 1
            if not items:
                continue
            paths = deliver(day, items, split_location=split_loc)
            for gotcha, j in marks.items():
                loc = items[j]["name"].split("/")[3]
                page = 1
                for (ploc, pnum), rel in paths.items():
                    if ploc == loc and f'"{items[j]["reviewId"]}"'.encode() in (self.root / rel).read_bytes():
                        page = pnum
                self.mark(gotcha, paths[(loc, page)])
            if split_loc:
                self.mark("google_two_pages", paths[(split_loc, 1)])

    # -- Yotpo ---------------------------------------------------------------------------------
    def write_yotpo(self) -> None:
        next_id = [512_340_000 + self.rng("yotpo", "ids").randint(0, 9_999)]

        def review(rng, day, *, late=False, between=None):
            next_id[0] += rng.randint(1, 40)
            created = self.moment(rng, day, late=late, between=between)
            sku = self.review_sku(rng, day)
            sampled = sku == CAMPAIGN_SKU and self.phase(day) == "campaign" and rng.random() < 0.5
            score = _rating(rng, boost=sampled)
            first, first_ascii = rng.choice(_FIRST_NAMES)
            last, last_ascii = rng.choice(_LAST_NAMES)
            anonymous = rng.random() < 0.12
            text = rng.choice(_OLIVE_TEXTS if sku.startswith("MV-OLV") and score >= 4 and rng.random() < 0.5
                              else _REVIEW_TEXTS[score])
            return {
                "id": next_id[0],
                "sku": sku,
                "score": score,
                "title": rng.choice(_REVIEW_TITLES[score]),
                "content": text,
                "created_at": _yotpo_time(created),
                "updated_at": _yotpo_time(created),
                "votes_up": rng.choice((0, 0, 0, 1, 2, 5)),
                "votes_down": rng.choice((0, 0, 0, 0, 1)),
                "name": "Anonymous" if anonymous else f"{first} {last[0]}.",
                "email": f"{first_ascii}.{last_ascii}{rng.randint(1, 999)}@example.com",
                "reviewer_type": "anonymous_user" if anonymous else "verified_buyer",
                "deleted": False,
                "archived": rng.random() < 0.02,
                "is_incentivized": sampled,
                "incentive_type": "product_sample" if sampled else None,
            }

        def deliver(day, reviews, marks=()):
            paths = []
            for i in range(0, len(reviews), 100):
                body = {"status": {"code": 200, "message": "OK"}, "reviews": reviews[i:i + 100]}
                paths.append(self.put("yotpo_reviews", day, f"reviews_page_{i // 100 + 1}.json", _json_bytes(body)))
            for gotcha, j in marks:
                self.mark(gotcha, paths[j // 100])

        rng = self.rng("yotpo", "backfill")
        backfill = [review(rng, self.pre_day(rng)) for _ in range(self.count(rng, 20, 20, minimum=1))]
        backfill.sort(key=lambda r: r["created_at"])
        deliver(self.snapshot_day, backfill)

        k = self.k
        redeliver: dict[int, list[tuple[str, dict]]] = {}
        for idx, day in enumerate(self.days):
            rng = self.rng("yotpo", day)
            n = self.count(rng, 3, 10, minimum=2)
            reviews, marks = [], []
            for j in range(n):
                late = idx == k["late"] and j == n - 1
                between = (9 * 3600, 20 * 3600) if (j == 0 and idx in (k["late"], k["second"], k["third"])) else None
                r = review(rng, day, late=late, between=between)
                if late:
                    marks.append(("yotpo_created_late_utc", len(reviews)))
                if r["is_incentivized"]:
                    marks.append(("yotpo_incentivized", len(reviews)))
                if j == 0 and idx == k["late"] and k["fifth"] > idx:
                    redeliver.setdefault(k["fifth"], []).append(("delete", r))
                    marks.append(("yotpo_deleted_original", len(reviews)))
                if j == 0 and idx == k["second"] and k["sixth"] > idx:
                    redeliver.setdefault(k["sixth"], []).append(("edit", r))
                    marks.append(("yotpo_score_edit_original", len(reviews)))
                if j == 0 and idx == k["third"]:
                    # one id twice in the file: the newer version (edited 2 h later) comes FIRST
                    newer = dict(r)
                    newer["score"] = 5 if r["score"] < 5 else 3
                    newer["title"] = _REVIEW_TITLES[newer["score"]][0]
                    newer["content"] = (_REVIEW_TEXTS[newer["score"]][0]
                                        + " Edit : après une semaine d'utilisation, avis revu.")
                    newer["updated_at"] = _yotpo_time(datetime.strptime(r["created_at"][:19], "%Y-%m-%dT%H:%M:%S")
                                                      .replace(tzinfo=UTC) + timedelta(hours=2, minutes=5))
                    marks.append(("yotpo_duplicate_id_in_file", len(reviews)))
                    reviews.append(newer)
                reviews.append(r)
            for action, original in redeliver.get(idx, []):
                erng = self.rng("yotpo", "redeliver", original["id"])
                changed = dict(original)
                changed["updated_at"] = _yotpo_time(self.moment(erng, day, between=(6 * 3600, 21 * 3600)))
                if action == "delete":
                    changed["deleted"] = True
                    marks.append(("yotpo_deleted_redelivery", len(reviews)))
                else:
                    changed["score"] = 2 if original["score"] >= 4 else 5
                    changed["title"] = _REVIEW_TITLES[changed["score"]][0]
                    changed["content"] = _REVIEW_TEXTS[changed["score"]][0]
                    marks.append(("yotpo_score_edit_redelivery", len(reviews)))
                reviews.append(changed)
            deliver(day, reviews, marks)

    # -- retailer reviews (Bazaarvoice-style CSV) ----------------------------------------------
    RETAILER_HEADER = ("review_id", "product_id", "gtin", "rating", "title", "review_text", "submission_time",
                       "last_modification_time", "user_nickname", "is_recommended", "incentivized_review",
                       "is_syndicated", "syndication_source", "photo_count", "video_count", "helpful_votes",
                       "moderation_status", "content_locale", "campaign_id")

    def write_retailer(self) -> None:
        counters = {"fr": 40_118_000, "bv": 318_220_000}

        def fmt(retailer, dt):
            if retailer == "fr":
                return dt.strftime("%Y-%m-%d %H:%M:%S")
            return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{dt.microsecond // 1000:03d}+00:00"

        def review(rng, day, retailer, *, late=False, text=None, status=None, gtin_only=False):
            counters[retailer] += rng.randint(1, 25)
            rid = f"CRF-{counters[retailer]:09d}" if retailer == "fr" else str(counters[retailer])
            created = self.moment(rng, day, late=late).replace(microsecond=rng.randint(0, 999) * 1000)
            sku = self.review_sku(rng, day, other_brand=0.15)
            product = _BY_SKU[sku]
            campaign = (sku == CAMPAIGN_SKU and self.phase(day) == "campaign" and rng.random() < 0.4)
            score = _rating(rng, boost=campaign)
            status = status or rng.choices(("APPROVED", "PENDING", "REJECTED"), weights=(86, 9, 5))[0]
            moderated = created + timedelta(minutes=rng.randint(5, 90))
            if moderated > self.export_moment(day):
                moderated = created
            if gtin_only or product.brand != BRAND and retailer == "bv" or (retailer == "bv" and rng.random() < 0.25):
                product_id = ""
            else:
                product_id = sku
            first, _ = rng.choice(_FIRST_NAMES)
            locale = "fr_FR" if retailer == "fr" else rng.choice(("fr_FR", "fr_FR", "fr_FR", "fr_BE", "en_GB"))
            syndicated = retailer == "bv" and rng.random() < 0.08
            return {
                "review_id": rid,
                "product_id": product_id,
                "gtin": product.gtin,
                "rating": str(score),
                "title": rng.choice(_REVIEW_TITLES[score]),
                "review_text": text or rng.choice(_REVIEW_TEXTS[score]),
                "submission_time": fmt(retailer, created),
                "last_modification_time": fmt(retailer, moderated),
                "user_nickname": f"{first.lower()}{rng.randint(1, 9999)}",
                "is_recommended": rng.choice(("true", "true", "true", "false", "")) if score >= 3 else "false",
                "incentivized_review": "true" if campaign else "false",
                "is_syndicated": "true" if syndicated else "false",
                "syndication_source": "Bazaarvoice Network" if syndicated else "",
                "photo_count": str(rng.choices((0, 1, 2, 3), weights=(80, 12, 5, 3))[0]),
                "video_count": str(rng.choices((0, 1), weights=(95, 5))[0]),
                "helpful_votes": str(rng.choice((0, 0, 0, 1, 2, 4))),
                "moderation_status": status,
                "content_locale": locale,
                "campaign_id": self.campaign_id if campaign else "",
                "_modified": moderated,
            }

        def write(day, retailer, rows) -> str:
            body = [[r[c] for c in self.RETAILER_HEADER] for r in rows]
            if retailer == "fr":
                return self.put("retailer_reviews", day, f"carrefour_fr_avis_{day:%Y%m%d}.csv",
                                _csv_bytes(self.RETAILER_HEADER, body, delimiter=";", bom=True, crlf=True))
            return self.put("retailer_reviews", day, f"bv_export_reviews_{day:%Y%m%d}.csv",
                            _csv_bytes(self.RETAILER_HEADER, body))

        rng = self.rng("retailer", "backfill")
        rows = {"fr": [], "bv": []}
        for _ in range(self.count(rng, 10, 10, minimum=2)):
            retailer = rng.choice(("fr", "bv"))
            rows[retailer].append(review(rng, self.pre_day(rng), retailer, status="APPROVED"))
        for retailer, rs in rows.items():
            if rs:
                write(self.snapshot_day, retailer, sorted(rs, key=lambda r: r["_modified"]))

        k = self.k
        pending_later = {}
        for idx, day in enumerate(self.days):
            rng = self.rng("retailer", day)
            n = self.count(rng, 2, 6)
            rows = {"fr": [], "bv": []}
            marks = []
            forced = []
            if idx == k["first"]:
                forced += [("fr", {"text": _TRICKY_TEXTS[0]}, "retailer_bom_semicolon_newline"),
                           ("fr", {"status": "PENDING"}, "retailer_pending"),
                           ("bv", {}, None)]
            if idx == k["late"]:
                forced += [("bv", {"status": "REJECTED"}, "retailer_rejected"),
                           ("fr", {"late": True}, "retailer_created_late_utc")]
            if idx == k["second"]:
                forced += [("bv", {"text": _TRICKY_TEXTS[1]}, "retailer_comma_newline"),
                           ("bv", {"gtin_only": True}, "retailer_gtin_only")]
            for retailer, kw, gotcha in forced:
                r = review(rng, day, retailer, **kw)
                rows[retailer].append(r)
                if gotcha:
                    marks.append((gotcha, retailer))
                if gotcha == "retailer_pending" and k["second"] > idx:
                    pending_later[k["second"]] = r
            for _ in range(max(0, n - len(forced))):
                retailer = "fr" if rng.random() < 0.55 else "bv"
                r = review(rng, day, retailer)
                rows[retailer].append(r)
                if r["campaign_id"]:
                    marks.append(("retailer_campaign_review", retailer))
            if idx in pending_later:
                approved = dict(pending_later[idx])
                approved["moderation_status"] = "APPROVED"
                when = self.moment(self.rng("retailer", "approve"), day, between=(7 * 3600, 21 * 3600))
                approved["last_modification_time"] = fmt("fr", when)
                approved["_modified"] = when
                rows["fr"].append(approved)
                marks.append(("retailer_pending_then_approved", "fr"))
            paths = {}
            for retailer, rs in rows.items():
                if rs:
                    paths[retailer] = write(day, retailer, rs)
            for gotcha, retailer in marks:
                self.mark(gotcha, paths[retailer])

    # -- Instagram -----------------------------------------------------------------------------
    def ig_media(self, rng, day, *, owner=None, campaign=None, insights=None, caption=None, late=False):
        owner = owner or rng.choice(_AMB_BY_PLATFORM["instagram"])
        if campaign is None:
            share = {"pre": 0.0, "campaign": 0.75, "post": 0.3}[self.phase(day)]
            campaign = rng.random() < share
        created = self.moment(rng, day, late=late)
        mtype, ptype = rng.choices(
            (("IMAGE", "FEED"), ("CAROUSEL_ALBUM", "FEED"), ("VIDEO", "REELS"), ("IMAGE", "STORY"),
             ("VIDEO", "STORY")), weights=(45, 20, 25, 6, 4))[0]
        mid = self.unique(lambda: "18" + _digits(rng, 15))
        code = _token(rng, 11, _B64URL)
        if ptype == "FEED":
            permalink = f"https://www.instagram.com/p/{code}/"
        elif ptype == "REELS":
            permalink = f"https://www.instagram.com/reel/{code}/"
        else:
            permalink = f"https://www.instagram.com/stories/{owner.handle}/{mid}/"
        if caption is None:
            if campaign:
                body = rng.choice(_IG_BODIES)
                form = rng.random()
                if form < 0.5:
                    caption = f"{body} {rng.choice(_TAG1_VARIANTS)} 🫒 {rng.choice(_TAG2_VARIANTS)} #recette"
                elif form < 0.75:
                    caption = f"{body} {rng.choice(_TAG1_VARIANTS)} #faitmaison"
                elif form < 0.9:
                    caption = f"{body} ! Merci pour la confiance {rng.choice(_TAG2_VARIANTS)}"
                else:
                    caption = f"{body} avec l'huile OLIVEDUMATIN de @maisonverte"
            else:
                caption = rng.choice(_IG_UNRELATED)
        reach = owner.followers * rng.uniform(0.25, 1.1) * (rng.uniform(1.0, 3.0) if ptype == "REELS" else 1.0)
        likes = reach * rng.uniform(0.04, 0.14)
        final = {
            "reach": int(reach),
            "views": int(reach * rng.uniform(1.2, 2.6)),
            "saved": int(likes * rng.uniform(0.02, 0.12)),
            "shares": int(likes * rng.uniform(0.01, 0.1)),
            "like_count": int(likes),
            "comments_count": int(likes * rng.uniform(0.03, 0.2)),
        }
        if insights is None:
            insights = rng.choices(("full", "partial", "none"), weights=(86, 7, 7))[0]
        return {"owner": owner, "id": mid, "created": created, "caption": caption, "media_type": mtype,
                "media_product_type": ptype, "permalink": permalink, "campaign": campaign,
                "insights": insights, "final": final}

    @staticmethod
    def ig_payload(m: dict, at: datetime) -> dict:
        grown = {name: _grown(v, m["created"], at) for name, v in m["final"].items()}
        item = {"id": m["id"]}
        if m["caption"] is not None:
            item["caption"] = m["caption"]
        item.update({
            "media_type": m["media_type"], "media_product_type": m["media_product_type"],
            "permalink": m["permalink"], "timestamp": _ig_time(m["created"]),
            "like_count": grown["like_count"], "comments_count": grown["comments_count"],
        })
        names = {"full": ("reach", "views", "saved", "shares"), "partial": ("reach", "saved"), "none": ()}
        titles = {"reach": "Accounts reached", "views": "Views", "saved": "Saved", "shares": "Shares"}
        if m["insights"] != "none":
            item["insights"] = {"data": [
                {"name": n, "period": "lifetime", "values": [{"value": grown[n]}], "title": titles[n],
                 "id": f"{m['id']}/insights/{n}/lifetime"} for n in names[m["insights"]]]}
        return item

    def write_instagram(self) -> None:
        media: list[dict] = []
        # the ambassadors' own recent posts, before the campaign (first delivery)
        for back in range(4, 0, -1):
            day = self.start - timedelta(days=back)
            rng = self.rng("instagram", "backfill", day)
            for _ in range(self.count(rng, 1, 3)):
                m = self.ig_media(rng, day, campaign=False)
                if rng.random() < 0.1:
                    m["caption"] = None
                media.append(m)
        k = self.k
        for idx, day in enumerate(self.days):
            rng = self.rng("instagram", day)
            lo, hi = (2, 6) if self.phase(day) == "campaign" else (1, 4)
            n = self.count(rng, lo, hi, minimum=2 if idx in (k["first"], k["late"], k["second"]) else 0)
            for j in range(n):
                kw = {}
                if idx == k["first"] and j == 0:
                    kw = {"campaign": True, "insights": "none",
                          "caption": "Petit-déj du dimanche : pain de campagne, tomates et un filet d'huile "
                                     "#oliveDuMatin 🫒 #MaisonVerteAmbassadeurs"}
                elif idx == k["first"] and j == 1:
                    kw = {"campaign": False, "insights": "full"}
                elif idx == k["late"] and j == 0:
                    kw = {"campaign": True, "insights": "partial"}
                elif idx == k["late"] and j == 1:
                    kw = {"campaign": True, "insights": "full", "late": True}
                elif idx == k["second"] and j == 0:
                    kw = {"campaign": True, "insights": "full", "owner": _AMBASSADORS[_MACRO_INDEX]}
                m = self.ig_media(rng, day, **kw)
                m["delivery"] = idx
                media.append(m)
                if m["campaign"]:
                    forced = bool(kw) and (idx, j) in ((k["first"], 0), (k["late"], 1))
                    self.plan_declaration(rng, idx, "instagram", m, forced=forced)
        for m in media:
            m["key"] = (m["created"], m["id"])

        deliveries = [self.snapshot_day, *self.days]
        for day in deliveries:
            at = self.export_moment(day)
            window = [m for m in media if day - timedelta(days=3) <= m["created"].date() <= day
                      and m["created"] <= at]
            by_owner: dict[str, list[dict]] = {}
            for m in window:
                by_owner.setdefault(m["owner"].ambassador_id, []).append(m)
            for amb_id, items in sorted(by_owner.items()):
                owner = items[0]["owner"]
                items.sort(key=lambda m: m["key"], reverse=True)
                prng = self.rng("instagram", "paging", day, amb_id)
                grown_followers = owner.followers + int((day - self.snapshot_day).days * prng.uniform(0, 2.5))
                body = {
                    "id": owner.ig_user_id,
                    "username": owner.handle,
                    "followers_count": grown_followers,
                    "media": {"data": [self.ig_payload(m, at) for m in items],
                              "paging": {"cursors": {"before": _token(prng, 40, _B64URL),
                                                     "after": _token(prng, 40, _B64URL)}}},
                }
                rel = self.put("instagram_media", day, f"ig_user_{owner.ig_user_id}.json", _json_bytes(body))
                for m in items:
                    if m["insights"] == "none":
                        self.mark("instagram_no_insights", rel)
                    if m["insights"] == "partial":
                        self.mark("instagram_partial_insights", rel)
                    if m["caption"] and "#oliveDuMatin" in m["caption"]:
                        self.mark("instagram_lowercase_hashtag", rel)
                    if m["caption"] and "OLIVEDUMATIN" in m["caption"] and "#OLIVEDUMATIN" not in m["caption"]:
                        self.mark("instagram_hashtag_without_hash", rel)
                    if m["caption"] is None:
                        self.mark("instagram_no_caption", rel)
                    if m["created"].hour >= 22 and m["created"].date() == day:
                        self.mark("instagram_created_late_utc", rel)
                    if m["created"].date() < day and m["created"].date() >= self.start:
                        self.mark("instagram_redelivered_grown_metrics", rel)
                    if owner.followers > 100_000:
                        self.mark("instagram_macro_account", rel)

    # -- TikTok --------------------------------------------------------------------------------
    def write_tiktok(self) -> None:
        videos: list[dict] = []
        k = self.k
        for idx, day in enumerate(self.days):
            rng = self.rng("tiktok", day)
            lo, hi = (1, 4) if self.phase(day) == "campaign" else (0, 2)
            minimum = 2 if idx in (k["late"], k["fourth"]) else 0
            for j in range(self.count(rng, lo, hi, minimum=minimum)):
                forced = idx == k["late"] and j == 0
                amb = rng.choice(_AMB_BY_PLATFORM["tiktok"]) if forced or rng.random() < 0.8 else None
                campaign = True if (amb is None or forced) else rng.random() < 0.8
                late = idx == k["late"] and j == 1
                created = self.moment(rng, day, late=late)

                def make_id(rng=rng):
                    value = "7" + _digits(rng, 18)
                    while float(int(value)) == int(value):  # must not survive a float round-trip
                        value = "7" + _digits(rng, 18)
                    return value

                vid = self.unique(make_id)
                username = amb.handle if amb else rng.choice(_TIKTOK_ORGANIC)
                followers = amb.followers if amb else rng.randint(300, 25_000)
                if campaign:
                    tags = [rng.choice(_TIKTOK_TAG1)] + ([rng.choice(_TIKTOK_TAG2)] if rng.random() < 0.6 else [])
                    tags += rng.sample(_TIKTOK_OTHER, rng.randint(1, 3))
                    desc = f"Ma recette du moment avec l'huile d'olive {' '.join('#' + t for t in tags)}"
                else:
                    tags = rng.sample(_TIKTOK_OTHER, rng.randint(1, 3))
                    desc = f"Routine du soir en cuisine {' '.join('#' + t for t in tags)}"
                views = followers * rng.uniform(1.0, 6.0)
                likes = views * rng.uniform(0.04, 0.12)
                v = {"id": vid, "created": created, "username": username, "desc": desc, "tags": tags,
                     "amb": amb, "campaign": campaign,
                     "final": {"like_count": int(likes), "comment_count": int(likes * rng.uniform(0.02, 0.1)),
                               "share_count": int(likes * rng.uniform(0.01, 0.08)), "view_count": int(views)}}
                videos.append(v)
                if amb and campaign:
                    self.plan_declaration(rng, idx, "tiktok", v, forced=forced)

        for idx, day in enumerate(self.days):
            at = self.export_moment(day)
            window = [v for v in videos if day - timedelta(days=2) <= v["created"].date() <= day
                      and v["created"] <= at]
            if not window:
                continue
            window.sort(key=lambda v: (v["created"], v["id"]))
            bare = idx == k["late"]
            size = 100 if idx != k["fourth"] else max(1, math.ceil(len(window) / 2))
            prng = self.rng("tiktok", "pages", day)
            pages = [window[i:i + size] for i in range(0, len(window), size)]
            for p, page in enumerate(pages, start=1):
                items = []
                for v in page:
                    grown = {name: _grown(val, v["created"], at) for name, val in v["final"].items()}
                    items.append({"id": int(v["id"]) if bare else v["id"],
                                  "create_time": int(v["created"].timestamp()),
                                  "username": v["username"], "video_description": v["desc"],
                                  "hashtag_names": v["tags"], **grown})
                log_id = f"{at:%Y%m%d%H%M%S}" + _token(prng, 18, "0123456789ABCDEF")
                body = {"data": {"videos": items, "cursor": (p - 1) * size + len(page),
                                 "has_more": p < len(pages)},
                        "error": {"code": "ok", "message": "", "log_id": log_id}}
                rel = self.put("tiktok_videos", day, f"research_video_query_{day:%Y%m%d}_page_{p}.json",
                               _json_bytes(body))
                if bare:
                    self.mark("tiktok_bare_integer_ids", rel)
                if len(pages) > 1 and p == 1:
                    self.mark("tiktok_two_pages", rel)
                if any(v["amb"] is None for v in page):
                    self.mark("tiktok_non_ambassador_author", rel)
                if any(v["created"].hour >= 22 and v["created"].date() == day for v in page):
                    self.mark("tiktok_created_late_utc", rel)

    # -- YouTube -------------------------------------------------------------------------------
    def write_youtube(self) -> None:
        videos: list[dict] = []
        k = self.k
        channels = {a.handle: (a.display_name, a.followers, a) for a in _AMB_BY_PLATFORM["youtube"]}
        channels.update({cid: (title, subs, None) for cid, title, subs in _YOUTUBE_ORGANIC})
        hidden = _AMBASSADORS[_HIDDEN_SUBSCRIBERS_INDEX]
        visible_ambs = [a for a in _AMB_BY_PLATFORM["youtube"] if not a.hidden_subscribers]
        for idx, day in enumerate(self.days):
            rng = self.rng("youtube", day)
            lo, hi = (0, 2) if self.phase(day) == "campaign" else (0, 1)
            n = self.count(rng, lo, hi, minimum=1 if idx in (k["second"], k["third"]) else 0)
            for j in range(n):
                forced_amb = None
                if idx == k["second"] and j == 0:
                    forced_amb = visible_ambs[0]
                elif idx == k["third"] and j == 0:
                    forced_amb = hidden
                if forced_amb or rng.random() < 0.75:
                    amb = forced_amb or rng.choice(_AMB_BY_PLATFORM["youtube"])
                    channel_id = amb.handle
                else:
                    amb = None
                    channel_id = rng.choice(_YOUTUBE_ORGANIC)[0]
                campaign = bool(forced_amb) or rng.random() < 0.8
                created = self.moment(rng, day)
                vid = self.unique(lambda rng=rng: _token(rng, 11, _B64URL))
                subs = channels[channel_id][1]
                views = subs * rng.uniform(0.5, 4.0) + 40
                likes = views * rng.uniform(0.02, 0.07)
                title = rng.choice(_YOUTUBE_TITLES)
                tags = (["oliveDuMatin", rng.choice(("MaisonVerteAmbassadeurs", "maisonverte")), "recette"]
                        if campaign else ["recette", "cuisine facile"])
                description = ("Merci à Maison Verte pour l'envoi ! #OliveDuMatin #MaisonVerteAmbassadeurs\n"
                               "Ingrédients en description." if campaign else "Ingrédients en description.")
                v = {"id": vid, "created": created, "channel_id": channel_id, "title": title,
                     "description": description, "tags": tags, "amb": amb, "campaign": campaign,
                     "hide_likes": rng.random() < 0.2 or (idx == k["second"] and j == 0),
                     "final": {"viewCount": int(views), "likeCount": int(likes),
                               "commentCount": int(likes * rng.uniform(0.05, 0.3))}}
                videos.append(v)
                if amb and campaign:
                    self.plan_declaration(rng, idx, "youtube", v, forced=idx == k["second"] and j == 0)

        for idx, day in enumerate(self.days):
            at = self.export_moment(day)
            window = [v for v in videos if day - timedelta(days=3) <= v["created"].date() <= day]
            if not window:
                continue
            window.sort(key=lambda v: (v["created"], v["id"]), reverse=True)
            prng = self.rng("youtube", "pages", day)
            items = []
            for v in window:
                stats = {name: str(_grown(val, v["created"], at)) for name, val in v["final"].items()}
                statistics = {"viewCount": stats["viewCount"]}
                if not v["hide_likes"]:
                    statistics["likeCount"] = stats["likeCount"]
                statistics.update({"favoriteCount": "0", "commentCount": stats["commentCount"]})
                items.append({
                    "kind": "youtube#video", "etag": _token(prng, 27, _B64URL), "id": v["id"],
                    "snippet": {"publishedAt": _zulu(v["created"]), "channelId": v["channel_id"],
                                "title": v["title"], "description": v["description"],
                                "channelTitle": channels[v["channel_id"]][0], "tags": v["tags"]},
                    "statistics": statistics})
            video_page = {"kind": "youtube#videoListResponse", "etag": _token(prng, 27, _B64URL),
                          "items": items, "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}}
            channel_items = []
            for cid in sorted({v["channel_id"] for v in window}):
                title, subs, amb = channels[cid]
                statistics = {"viewCount": str(subs * 37 + 1234)}
                if amb is not None and amb.hidden_subscribers:
                    statistics["hiddenSubscriberCount"] = True
                else:
                    statistics["subscriberCount"] = str(_sig3(subs))
                    statistics["hiddenSubscriberCount"] = False
                statistics["videoCount"] = str(12 + len(cid) % 7 + sum(1 for v in videos if v["channel_id"] == cid))
                channel_items.append({"kind": "youtube#channel", "etag": _token(prng, 27, _B64URL), "id": cid,
                                      "statistics": statistics})
            channel_page = {"kind": "youtube#channelListResponse", "etag": _token(prng, 27, _B64URL),
                            "pageInfo": {"totalResults": len(channel_items), "resultsPerPage": 50},
                            "items": channel_items}
            first, second = (video_page, channel_page) if idx % 2 == 0 else (channel_page, video_page)
            rel1 = self.put("youtube_videos", day, "youtube_export_001.json", _json_bytes(first))
            rel2 = self.put("youtube_videos", day, "youtube_export_002.json", _json_bytes(second))
            video_rel, channel_rel = (rel1, rel2) if idx % 2 == 0 else (rel2, rel1)
            if any(v["hide_likes"] for v in window):
                self.mark("youtube_like_count_absent", video_rel)
            if any(c["statistics"].get("hiddenSubscriberCount") for c in channel_items):
                self.mark("youtube_hidden_subscriber_count", channel_rel)
            if idx % 2 == 1:
                self.mark("youtube_channels_file_first", rel1)

    # -- ambassador posts ----------------------------------------------------------------------
    def plan_declaration(self, rng: random.Random, idx: int, platform: str, item: dict, forced: bool) -> None:
        """The ambassador declares a platform post on the ambassador platform (same URL)."""
        if not forced and rng.random() >= 0.6:
            return
        delay = 0 if forced else rng.choices((0, 1, 2), weights=(70, 20, 10))[0]
        if idx + delay < len(self.days):
            self.declare.setdefault(idx + delay, []).append((platform, item))

    def declared_row(self, rng: random.Random, platform: str, item: dict) -> dict:
        def fuzz(value, blank=0.0):
            if rng.random() < blank:
                return None
            return round(value * rng.uniform(0.7, 1.4))

        if platform == "instagram":
            amb = item["owner"]
            url = item["permalink"]
            ctype = {"FEED": "photo", "REELS": "reel", "STORY": "story"}[item["media_product_type"]]
            f = item["final"]
            metrics = (fuzz(f["like_count"]), fuzz(f["comments_count"]), fuzz(f["shares"], 0.5),
                       fuzz(f["views"], 0.6))
        elif platform == "tiktok":
            amb = item["amb"]
            url = f"https://www.tiktok.com/@{item['username']}/video/{item['id']}"
            ctype = "video"
            f = item["final"]
            metrics = (fuzz(f["like_count"]), fuzz(f["comment_count"]), fuzz(f["share_count"], 0.3),
                       fuzz(f["view_count"], 0.1))
        else:
            amb = item["amb"]
            url = f"https://www.youtube.com/watch?v={item['id']}"
            ctype = rng.choice(("video", "recipe", "tutorial"))
            f = item["final"]
            metrics = (fuzz(f["likeCount"]), fuzz(f["commentCount"]), None, fuzz(f["viewCount"]))
        return self.post_row(amb, platform, url, ctype, item["created"], metrics, rng)

    def post_row(self, amb, platform, url, ctype, created, metrics, rng) -> dict:
        self.amb_post_counter += 1
        likes, comments, shares, views = metrics
        return {"post_id": f"AP-{self.amb_post_counter:06d}", "ambassador_id": amb.ambassador_id,
                "campaign_id": self.campaign_id, "platform": platform, "post_url": url, "content_type": ctype,
                "posted_at": _paris_minute(created),
                "followers_at_post": max(1, amb.followers + rng.randint(-15, 25)),
                "likes": likes, "comments": comments, "shares": shares, "views": views}

    def extra_post(self, rng: random.Random, day: date, *, late: bool = False) -> dict:
        posted_day = day
        if self.phase(day) == "post":  # late declarations of posts made during the campaign
            posted_day = self.start + timedelta(days=rng.randint(0, (self.end - self.start).days))
        elif rng.random() < 0.2 and day > self.start:
            posted_day = day - timedelta(days=1)
        created = self.moment(rng, posted_day, late=late)
        kind = rng.random()
        if kind < 0.4:
            amb = rng.choice(_AMB_BY_PLATFORM["blog"])
            slug = rng.choice(("focaccia-huile-olive", "salade-tomates-anciennes", "tartines-du-matin",
                               "houmous-maison", "pates-citron-basilic"))
            url = f"https://{amb.handle}/{posted_day:%Y/%m}/{slug}-{rng.randint(10, 999)}/"
            ctype = rng.choice(("recipe", "recipe", "tutorial", "review", "text"))
            metrics = (rng.choice((None, rng.randint(0, 40))), rng.randint(0, 12), None,
                       rng.choice((None, rng.randint(50, 900))))
            platform = "blog"
        elif kind < 0.8:
            amb = rng.choice(_AMB_BY_PLATFORM["instagram"])
            if rng.random() < 0.5:
                platform, ctype = "facebook", rng.choice(("photo", "video", "text"))
                url = f"https://www.facebook.com/{amb.handle}/posts/pfbid0{_token(rng, 40)}"
                metrics = (rng.randint(0, 60), rng.randint(0, 10), rng.randint(0, 5), None)
            else:  # a story the Graph API export did not return
                platform, ctype = "instagram", "story"
                url = f"https://www.instagram.com/stories/{amb.handle}/{'3' + _digits(rng, 18)}/"
                metrics = (None, None, None, rng.choice((None, int(amb.followers * rng.uniform(0.1, 0.4)))))
        else:
            amb = rng.choice(_AMB_BY_PLATFORM["tiktok"] + _AMB_BY_PLATFORM["youtube"])
            platform, ctype = "other", rng.choice(("photo", "recipe"))
            url = f"https://www.pinterest.fr/pin/{_digits(rng, 18)}/"
            metrics = (rng.randint(0, 30), None, rng.randint(0, 8), None)
        return self.post_row(amb, platform, url, ctype, created, metrics, rng)

    def write_ambassador_posts(self) -> None:
        header = ["post_id", "ambassador_id", "campaign_id", "platform", "post_url", "content_type", "posted_at",
                  "followers_at_post", "likes", "comments", "shares", "views"]
        k = self.k
        earlier: dict | None = None
        for idx, day in enumerate(self.days):
            rng = self.rng("ambassador_posts", day)
            lo, hi = (3, 8) if self.phase(day) == "campaign" else (1, 3)
            target = self.count(rng, lo, hi)
            rows, marks = [], []
            for platform, item in self.declare.get(idx, []):
                row = self.declared_row(rng, platform, item)
                rows.append(row)
                marks.append(f"ambassador_post_same_as_{platform}")
                if platform == "tiktok" and idx == k["late"]:
                    marks.append("ambassador_post_same_as_bare_tiktok_id")
            for j in range(max(0, target - len(rows))):
                rows.append(self.extra_post(rng, day, late=idx == k["late"] and j == 0))
                if rows[-1]["platform"] == "blog":
                    marks.append("ambassador_post_blog")
            if idx == k["late"] and not any(r["posted_at"][11:13] in ("00", "01") for r in rows):
                rows.append(self.extra_post(rng, day, late=True))
            if any(r["posted_at"][11:13] in ("00", "01") for r in rows):
                marks.append("ambassador_post_after_paris_midnight")
            if idx == k["first"] and rows:
                earlier = rows[0]
            if idx == k["third"] and earlier is not None and k["third"] > k["first"]:
                again = dict(earlier)
                again["likes"] = (again["likes"] or 0) + 37
                again["comments"] = (again["comments"] or 0) + 4
                rows.append(again)
                marks.append("ambassador_post_redeclared")
            if not rows:
                continue
            if idx % 2 == 0:
                rel = self.put("ambassador_posts", day, f"ambassador_posts_{day:%Y%m%d}.csv",
                               _csv_bytes(header, [[r[c] for c in header] for r in rows]))
                marks.append("ambassador_posts_csv")
            else:
                rel = self.put("ambassador_posts", day, f"ambassador_posts_{day:%Y%m%d}.ndjson",
                               _ndjson_bytes(rows))
                marks.append("ambassador_posts_ndjson")
            for gotcha in marks:
                self.mark(gotcha, rel)

    # -- word-of-mouth survey ------------------------------------------------------------------
    def write_wom(self) -> None:
        days = self.days[-3:]
        rng = self.rng("wom", "respondents")
        total = self.count(rng, 30, 30, minimum=len(days))
        pool = list(_AMBASSADORS)
        rng.shuffle(pool)
        header = ["response_id", "ambassador_id", "campaign_id", "answered_at", "people_told", "tried_product",
                  "recommend_score"]
        number = 0
        for i, day in enumerate(days):
            drng = self.rng("wom", day)
            n = total // len(days) + (1 if i < total % len(days) else 0)
            rows = []
            for j in range(n):
                amb = pool[number % len(pool)]
                number += 1
                answered = self.moment(drng, day, late=(i == 0 and j == 1))
                blank = (i == 0 and j == 0) or drng.random() < 0.12
                tried = "yes" if drng.random() < 0.9 else "no"
                score = min(10, max(0, round(drng.gauss(8.3 if tried == "yes" else 5.5, 1.5))))
                rows.append([f"WOM-{number:05d}", amb.ambassador_id, self.campaign_id, _zulu(answered),
                             "" if blank else min(60, _poisson(drng, 7.0)), tried, score])
            if rows:
                rel = self.put("wom_surveys", day, f"wom_survey_{self.campaign_id}_{day:%Y%m%d}.csv",
                               _csv_bytes(header, rows))
                if any(r[4] == "" for r in rows):
                    self.mark("wom_people_told_blank", rel)
                if any(r[3][11:13] in ("22", "23") for r in rows):
                    self.mark("wom_answered_late_utc", rel)


def write_sample_landing(root, *, campaign_start: date = date(2025, 5, 5), campaign_days: int = 14,
                         extra_delivery_days: int = 7, seed: int = 7, scale: float = 1.0) -> SampleLanding:
    """Write a deterministic landing zone for one campaign under ``root`` and describe it.

    Folders: ``campaign_start - 1`` (snapshots, 28-day fact history, review backfill) and every
    day from ``campaign_start`` to ``campaign_start + campaign_days + extra_delivery_days - 1``.
    ``scale`` multiplies the per-day UGC counts (the business tables and daily facts stay as they
    are). Same arguments, same bytes.
    """
    if campaign_days < 1:
        raise ValueError("campaign_days must be at least 1")
    if extra_delivery_days < 0:
        raise ValueError("extra_delivery_days must not be negative")
    if not scale > 0:
        raise ValueError("scale must be positive")
    builder = _Builder(Path(root), campaign_start, campaign_days, extra_delivery_days, seed, scale)
    return builder.build()
