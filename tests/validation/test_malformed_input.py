"""Malformed exports (issue #8, "no record lost, shifted or silently empty"): every way an export
can be malformed ends in a loaded record, a quarantined record (audit.rejected_records with the
file, its true position, the reasons and the raw text as delivered) or a failed delivery whose
one-line message names the file (``DeliveryError``), never in silence.

- API error pages and pages of the wrong shape fail their file, quoting the platform's error;
- pages over DuckDB's default 16 MiB object size load;
- a CSV row with a field too many or too few, or broken quoting, is quarantined whole at
  ``line N`` of the file with its raw line, and its neighbours load unshifted;
- a malformed NDJSON line is quarantined at ``line N``; a last line cut in the middle fails the file;
- the records the parse set aside count in the run record and in the rejected-share threshold;
- a header-only CSV loads 0 rows with a warning naming the file (``ParsedTable.warnings``);
- nothing outside the landing root is read, and no error message quotes a file's content;
- a TikTok ``create_time`` before 2000-01-01 (0, -5: placeholders) is quarantined.

Real files in a landing zone under tmp_path, real DuckDB warehouses (``conftest.Env``), no mocks.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date

import pytest
from corpus import (
    DAY,
    PRODUCTS_CSV,
    RETAILER_HEADER,
    WOM_HEADER,
    amb_post,
    google_page,
    google_review,
    ig_media,
    tiktok_page,
    tiktok_video,
    yotpo_review,
)
from support.pii import pseudonym
from ugc_pipeline.landing import Landing
from ugc_pipeline.parse import DeliveryError, ParsedTable, parse_delivery
from ugc_pipeline.sources import get_source


def parse(env, source: str, day: str = DAY) -> dict[str, ParsedTable]:
    """What the ingest task makes of a delivery folder before validation."""
    landing = Landing(env.settings.landing_uri)
    return parse_delivery(get_source(source), landing, landing.files(source, date.fromisoformat(day)))


def assert_one_line(message: str) -> None:
    assert message and "\n" not in message and "\r" not in message, message


def failed(env, source: str, day: str = DAY, run_id: str = "run-malformed") -> str:
    """Ingest a delivery that must stop: its message, checked against the failed run record."""
    with pytest.raises(DeliveryError) as err:
        env.ingest(source, day, run_id=run_id)
    message = str(err.value)
    assert_one_line(message)
    [run] = env.runs(run_id=run_id)
    assert (run["status"], run["records_loaded"], run["records_rejected"], run["message"]) == ("failed", 0, 0, message)
    return message


def loc(source: str, name: str, day: str = DAY) -> str:
    return f"{source}/{day}/{name}"


# -- 1. API error pages and pages of the wrong shape -------------------------------------------

ERROR_PAGES = [
    pytest.param(
        "instagram_media", "ig_user_17841400000000001.json",
        {"error": {"message": "Error validating access token: Session has expired on Tuesday, 06-May-25 09:00:00 PDT.",
                   "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "AWc2X1y0Z9"}},
        "the API returned an error instead of an Instagram Graph API user node: code 190 (OAuthException): "
        '"Error validating access token: Session has expired on Tuesday, 06-May-25 09:00:00 PDT."',
        id="instagram-oauth-error"),
    pytest.param(
        "google_business_reviews", "reviews-page-1.json",
        {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                   "status": "UNAUTHENTICATED"}},
        "the API returned an error instead of a Google Business Profile reviews.list page: code 401 (UNAUTHENTICATED): "
        '"Request had invalid authentication credentials."',
        id="google-401"),
    pytest.param(
        "yotpo_reviews", "reviews-page-1.json",
        {"status": {"code": 401, "message": "Invalid token", "error_type": "Unauthorized"}},
        'the API returned an error instead of a Yotpo reviews page: code 401 (Unauthorized): "Invalid token"',
        id="yotpo-401"),
    pytest.param(
        "youtube_videos", "videos-page-1.json",
        {"error": {"code": 403, "message": "The request cannot be completed because you have exceeded your quota.",
                   "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}]}},
        "the API returned an error instead of a YouTube Data API list response: code 403: "
        '"The request cannot be completed because you have exceeded your quota."',
        id="youtube-quota"),
    pytest.param(
        "tiktok_videos", "videos-page-1.json",
        {"data": {}, "error": {"code": "access_token_invalid", "message": "The access token is invalid or not found.",
                               "log_id": "20250506103046FEDCBA"}},
        "the API returned an error instead of a TikTok page of videos: code access_token_invalid: "
        '"The access token is invalid or not found."',
        id="tiktok-token"),
]


@pytest.mark.parametrize(("source", "name", "page", "expected"), ERROR_PAGES)
def test_an_api_error_page_fails_the_delivery_quoting_the_platforms_code_and_message(env, source, name, page,
                                                                                     expected):
    env.write(source, DAY, name, page)

    with pytest.raises(DeliveryError) as err:
        parse(env, source)

    assert str(err.value) == f"{loc(source, name)}: {expected}"


def test_an_api_error_page_fails_its_run_with_that_message(env):
    env.write("instagram_media", DAY, "ig_user.json", ERROR_PAGES[0].values[2])

    message = failed(env, "instagram_media")

    assert message == f"{loc('instagram_media', 'ig_user.json')}: {ERROR_PAGES[0].values[3]}"


WRONG_SHAPES = [
    pytest.param("yotpo_reviews", [yotpo_review(487000901), yotpo_review(487000902)],
                 "not a Yotpo reviews page: the file holds a JSON array, not an object", id="yotpo-top-level-array"),
    pytest.param("google_business_reviews", [google_page([google_review("AbFvOqnQarr1")])],
                 "not a Google Business Profile reviews.list page: the file holds a JSON array, not an object",
                 id="google-top-level-array"),
    pytest.param("yotpo_reviews", {"response": {"reviews": [yotpo_review(487000903)]}},
                 "not a Yotpo reviews page: it has no $.reviews array", id="yotpo-without-reviews"),
    pytest.param("yotpo_reviews", {"reviews": yotpo_review(487000904)},
                 "not a Yotpo reviews page: $.reviews is a JSON object, not an array", id="yotpo-reviews-not-a-list"),
    pytest.param("google_business_reviews",
                 {"locations": [{"name": "accounts/1/locations/4816235201934567890", "title": "Maison Verte Lille"}]},
                 "not a Google Business Profile reviews.list page: it has no $.reviews array, and fields other than "
                 "averageRating, totalReviewCount, nextPageToken", id="google-locations-list"),
    pytest.param("instagram_media", {"data": [ig_media("18012345678900901")], "paging": {}},
                 "not an Instagram Graph API user node: it has no $.id", id="instagram-media-edge-not-the-node"),
    pytest.param("tiktok_videos", {"data": {"cursor": 0, "has_more": False}, "error": {"code": "ok", "message": ""}},
                 "not a TikTok page of videos: it has no $.data.videos array", id="tiktok-without-videos"),
    pytest.param("youtube_videos", {"kind": "youtube#videoListResponse", "items": {"id": "Vd0kPesto01"}},
                 "not a YouTube Data API list response: $.items is a JSON object, not an array",
                 id="youtube-items-not-a-list"),
    pytest.param("youtube_videos", {"items": []},
                 "unknown payload kind None for source youtube_videos", id="youtube-without-kind"),
]


@pytest.mark.parametrize(("source", "page", "expected"), WRONG_SHAPES)
def test_a_json_page_of_the_wrong_shape_fails_naming_the_file_instead_of_loading_nothing(env, source, page, expected):
    env.write(source, DAY, "page.json", page)

    with pytest.raises(DeliveryError) as err:
        parse(env, source)

    assert str(err.value) == f"{loc(source, 'page.json')}: {expected}"


def test_a_wrong_page_beside_good_ones_stops_the_whole_delivery(env):
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [yotpo_review(487000911)]})
    env.write("yotpo_reviews", DAY, "page-2.json", {"status": {"code": 429, "message": "Too Many Requests"}})

    message = failed(env, "yotpo_reviews")

    assert message == (f"{loc('yotpo_reviews', 'page-2.json')}: the API returned an error instead of a Yotpo reviews "
                       'page: code 429: "Too Many Requests"')
    assert env.q("select count(*) as n from raw.yotpo_reviews")["n"][0] == 0


@pytest.mark.parametrize(("source", "page"), [
    pytest.param("google_business_reviews", {"averageRating": 4.3, "totalReviewCount": 0}, id="google-no-reviews"),
    pytest.param("google_business_reviews", {}, id="google-empty-object"),
    pytest.param("instagram_media", {"id": "17841400000000002", "username": "nouveau.compte", "followers_count": 12},
                 id="instagram-node-without-media"),
    pytest.param("tiktok_videos", tiktok_page([]), id="tiktok-empty-page"),
    pytest.param("youtube_videos", {"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 0}},
                 id="youtube-no-channel-found"),
    pytest.param("yotpo_reviews", {"status": {"code": 200, "message": "OK"}, "reviews": []},
                 id="yotpo-empty-page-with-ok-status"),
])
def test_a_page_without_records_where_the_api_omits_them_is_a_page_of_no_records(env, source, page):
    env.write(source, DAY, "page.json", page)

    assert {t.records_read for t in parse(env, source).values()} == {0}


def test_a_delivery_of_pages_without_records_succeeds_with_nothing_loaded(env):
    env.write("google_business_reviews", DAY, "page-1.json", {})
    env.write("google_business_reviews", DAY, "page-2.json", {"averageRating": 4.3, "totalReviewCount": 0})

    result = env.ingest("google_business_reviews", DAY)

    assert (result.status, result.files_read, result.records_read, result.records_loaded) == ("success", 2, 0, 0)


def test_pages_whose_error_object_reports_success_load(env):
    page = tiktok_page([tiktok_video(7498300000000000901)])  # "error": {"code": "ok", ...}
    env.write("tiktok_videos", DAY, "videos-page-1.json", page)

    [video] = parse(env, "tiktok_videos")["tiktok_videos"].rows.to_dict("records")

    assert video["id"] == "7498300000000000901"


# -- 2. pages over DuckDB's default 16 MiB ----------------------------------------------------

def test_a_page_over_16_mib_loads(env):
    text = "Une huile fruitée, ardente en fin de bouche, parfaite sur une salade de tomates. " * 5400  # ~440 KiB
    reviews = [yotpo_review(487100000 + i, content=f"{i}: {text}") for i in range(40)]
    path = env.write("yotpo_reviews", DAY, "reviews-page-1.json", json.dumps({"reviews": reviews}, ensure_ascii=False))
    assert path.stat().st_size > 16 * 1024 * 1024

    result = env.ingest("yotpo_reviews", DAY)

    assert (result.status, result.records_read, result.records_loaded, result.records_rejected) == ("success", 40, 40, 0)
    [row] = env.records("select id, length(content) as n from raw.yotpo_reviews where id = '487100039'")
    assert row == {"id": "487100039", "n": len(f"39: {text}".strip())}


# -- 3. malformed CSV rows --------------------------------------------------------------------

def test_csv_rows_with_a_field_too_many_or_too_few_are_quarantined_whole_and_their_neighbours_load_unshifted(
        env):
    extra = "MV-HNO-250,,Huile de noix, 25 cl,Maison Verte,Huiles"  # an unquoted comma: 6 fields
    short = "MV-VIN-500,03760123450031,Vinaigre de Xérès 50 cl,Maison Verte"  # no category: 4 fields
    env.deliver("products", DAY, {"products.csv": (
        "sku,gtin,product_name,brand,category\n"
        "MV-OLV-500,03760123450017,Huile d'olive vierge extra 50 cl,Maison Verte,Huiles\n"  # line 2, row 1
        f"{extra}\n"  # line 3, row 2
        "MV-PES-180,03760123450024,Pesto alla genovese 180 g,Maison Verte,Sauces\n"  # line 4, row 3
        f"{short}\n"  # line 5, row 4
        "TA-MIEL-250,03760999000011,Miel de lavande 250 g,,Epicerie sucrée\n"  # line 6, row 5: blank brand
        "TA-LAV-100,03760999000028,\"Savon, lavande 100 g\",Terre d'Azur,Hygiène\n"  # line 7, row 6
        "MV-TAP-190,,Tapenade 190 g,Maison Verte,Sauces\n"  # line 8, row 7
    )})

    result = env.ingest("products", DAY)

    assert (result.status, result.records_read, result.records_loaded, result.records_rejected) == ("success", 7, 4, 3)
    assert env.records("select sku, gtin, product_name, brand, category, record_position from raw.products "
                       "where delivery_date = cast(:d as date) order by record_number", d=DAY) == [
        {"sku": "MV-OLV-500", "gtin": "03760123450017", "product_name": "Huile d'olive vierge extra 50 cl",
         "brand": "Maison Verte", "category": "Huiles", "record_position": "row 1"},
        {"sku": "MV-PES-180", "gtin": "03760123450024", "product_name": "Pesto alla genovese 180 g",
         "brand": "Maison Verte", "category": "Sauces", "record_position": "row 3"},
        {"sku": "TA-LAV-100", "gtin": "03760999000028", "product_name": "Savon, lavande 100 g",
         "brand": "Terre d'Azur", "category": "Hygiène", "record_position": "row 6"},
        {"sku": "MV-TAP-190", "gtin": None, "product_name": "Tapenade 190 g", "brand": "Maison Verte",
         "category": "Sauces", "record_position": "row 7"},
    ]
    file = loc("products", "products.csv")
    assert [{k: r[k] for k in ("file", "position", "reasons", "raw")} for r in env.rejects("products", DAY)] == [
        {"file": file, "position": "line 3", "reasons": "the row has the 5 fields of the header (got 6)", "raw": extra},
        {"file": file, "position": "line 5", "reasons": "the row has the 5 fields of the header (got 4)", "raw": short},
        {"file": file, "position": "row 5", "reasons": "brand is present",
         "raw": {"sku": "TA-MIEL-250", "gtin": "03760999000011", "product_name": "Miel de lavande 250 g",
                 "brand": None, "category": "Epicerie sucrée"}},
    ]


def test_csv_line_numbers_count_physical_lines_with_bom_semicolons_and_quoted_newlines(env):
    header = ";".join(RETAILER_HEADER)

    def row(review_id: str, text: str, extra: str = "") -> str:
        return (f"{review_id};MV-OLV-500;;5;Parfaite;{text};2025-05-06 09:14:00;2025-05-06 09:14:00;marie59;true;"
                f"false;true;carrefour.fr;0;0;3;APPROVED;fr_FR;{extra}")

    spanning = row("RV-300002", '"Fruitée; ardente\r\net ronde"')  # lines 2-3
    bad_extra = row("RV-300003", "Très bonne huile", extra=";CMP-2025-OLIVE")  # line 4: 20 fields
    bad_spanning = row("RV-300004", '"Bon produit :\r\n- bouchon fragile"').replace(";fr_FR;", ";")  # lines 5-6: 18
    text = (header + "\r\n" + spanning + "\r\n" + bad_extra + "\r\n" + bad_spanning + "\r\n"
            + row("RV-300005", "Parfaite en salade") + "\r\n")  # line 7
    env.write("retailer_reviews", DAY, "bv_export_fr.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))

    result = env.ingest("retailer_reviews", DAY)

    assert (result.status, result.records_read, result.records_loaded, result.records_rejected) == ("success", 4, 2, 2)
    assert env.records("select review_id, review_text, record_position from raw.retailer_reviews order by record_number") == [
        {"review_id": "RV-300002", "review_text": "Fruitée; ardente\r\net ronde", "record_position": "row 1"},
        {"review_id": "RV-300005", "review_text": "Parfaite en salade", "record_position": "row 4"},
    ]
    # Raw as delivered (\r\n kept) but for the personal field user_nickname (column 9), whose place
    # is unknown in a row with a field too many (so columns 9 and 10 are pseudonymised) or too few
    # (columns 8 and 9): no malformed row brings a reviewer's nickname into the quarantine.
    handle = pseudonym("handle", "marie59")
    assert [(r["position"], r["reasons"], r["raw"]) for r in env.rejects("retailer_reviews", DAY)] == [
        ("line 4", "the row has the 19 fields of the header (got 20)",
         bad_extra.replace(";marie59;true;", f";{handle};{pseudonym('handle', 'true')};")),
        ("line 5", "the row has the 19 fields of the header (got 18)",
         bad_spanning.replace(";2025-05-06 09:14:00;marie59;",
                              f";{pseudonym('handle', '2025-05-06 09:14:00')};{handle};")),
    ]


def test_a_csv_row_with_broken_quoting_is_quarantined_and_an_unclosed_quote_fails_the_file(env):
    header = ",".join(WOM_HEADER)
    good = "R-0001,AMB-0001,CMP-2025-OLIVE,2025-05-06T10:00:00+02:00,6,yes,9"
    broken = 'R-0002,AMB-0002,"CMP-2025-OLIVE"x,2025-05-06T11:00:00+02:00,4,no,7'
    env.write("wom_surveys", DAY, "survey.csv", f"{header}\n{good}\n{broken}\n{good.replace('R-0001', 'R-0003')}\n")

    table = parse(env, "wom_surveys")["wom_surveys"]

    assert [r["response_id"] for r in table.rows.to_dict("records")] == ["R-0001", "R-0003"]
    assert table.rejects.to_dict("records") == [{
        "file": loc("wom_surveys", "survey.csv"), "position": "line 3",
        "reasons": "the row is valid CSV (got ',' expected after '\"')", "raw": json.dumps(broken)}]
    assert table.records_read == 3

    env.write("wom_surveys", DAY, "survey.csv", f'{header}\n{good}\nR-0002,AMB-0002,"CMP-2025-OLIVE,x,4,no,7\n{good}\n')
    with pytest.raises(DeliveryError) as err:
        parse(env, "wom_surveys")
    assert str(err.value) == (f"{loc('wom_surveys', 'survey.csv')}: cannot be read as csv: a quoted field opened on "
                              "line 3 is never closed (is the file cut?)")


# -- 4. malformed NDJSON lines ----------------------------------------------------------------

def test_a_malformed_ndjson_line_is_quarantined_with_its_line_number_and_the_others_load(env):
    lines = [json.dumps(amb_post("AP-8001", numeric=True)),  # line 1, record 1
             "",  # line 2: blank
             '{"post_id": "AP-8002", "ambassador_id": "AMB-0001", "likes": 12,',  # line 3: cut by an export bug
             json.dumps(amb_post("AP-8003", numeric=True)),  # line 4, record 3
             json.dumps([amb_post("AP-8004", numeric=True)]),  # line 5: an array, not an object
             json.dumps(amb_post("AP-8005", numeric=True))]  # line 6, record 5
    env.write("ambassador_posts", DAY, "posts.ndjson", "\n".join(lines) + "\n")

    result = env.ingest("ambassador_posts", DAY)

    assert (result.status, result.records_read, result.records_loaded, result.records_rejected) == ("success", 5, 3, 2)
    assert env.records("select post_id, likes, record_position from raw.ambassador_posts order by record_number") == [
        {"post_id": "AP-8001", "likes": "57", "record_position": "record 1"},
        {"post_id": "AP-8003", "likes": "57", "record_position": "record 3"},
        {"post_id": "AP-8005", "likes": "57", "record_position": "record 5"},
    ]
    file = loc("ambassador_posts", "posts.ndjson")
    assert [{k: r[k] for k in ("file", "position", "reasons", "raw")} for r in env.rejects("ambassador_posts", DAY)] == [
        {"file": file, "position": "line 3", "raw": lines[2],
         "reasons": "the line is a JSON object (got malformed JSON: Expecting property name enclosed in double quotes "
                    "at column 65)"},
        {"file": file, "position": "line 5", "raw": lines[4], "reasons": "the line is a JSON object (got a JSON array)"},
    ]


def test_an_ndjson_file_whose_last_line_is_cut_fails_naming_the_line(env):
    good = json.dumps(amb_post("AP-8101", numeric=True))
    env.write("ambassador_posts", DAY, "posts.ndjson", f"{good}\n{good[:40]}")  # no line break at the end

    with pytest.raises(DeliveryError) as err:
        parse(env, "ambassador_posts")

    assert str(err.value) == (f"{loc('ambassador_posts', 'posts.ndjson')}: cannot be read as ndjson: line 2, the last "
                              "line, is cut (malformed JSON and no line break at the end of the file)")


# -- 5. the parse's rejects count like any other -----------------------------------------------

def test_malformed_rows_count_in_the_rejected_share_threshold(env):
    header = ",".join(WOM_HEADER)
    rows = ["R-0001,AMB-0001,CMP-2025-OLIVE,2025-05-06T10:00:00+02:00,6,yes,9",
            "R-0002,AMB-0002,CMP-2025-OLIVE,2025-05-06T10:00:00+02:00,6,yes,9,",  # trailing separator: 8 fields
            "R-0003,AMB-0003,CMP-2025-OLIVE,2025-05-06T10:00:00+02:00,6,yes,9,",
            "R-0004,AMB-0001,CMP-2025-OLIVE,2025-05-06T10:00:00+02:00,6,yes"]  # 6 fields
    env.write("wom_surveys", DAY, "survey.csv", "\n".join([header, *rows]) + "\n")

    message = failed(env, "wom_surveys")

    assert message == (f"{loc('wom_surveys', 'survey.csv')} line 3: 3 of 4 records (75%) failed their expectations, "
                       "over the 50% threshold for wom_surveys; most failed: 'the row has the 7 fields of the header' (3)")
    [run] = env.runs(run_id="run-malformed")
    assert run["records_read"] == 4
    assert env.rejects("wom_surveys") == []


# -- 6. a CSV with a header and no row --------------------------------------------------------

def test_a_header_only_csv_loads_nothing_with_a_warning_naming_the_file(env, caplog):
    env.write("wom_surveys", DAY, "survey.csv", ",".join(WOM_HEADER) + "\r\n\r\n")
    expected = f"{loc('wom_surveys', 'survey.csv')}: holds a header but no row"

    assert parse(env, "wom_surveys")["wom_surveys"].warnings == [expected]
    with caplog.at_level(logging.WARNING, logger="ugc_pipeline"):
        result = env.ingest("wom_surveys", DAY)

    assert (result.status, result.files_read, result.records_read, result.records_loaded) == ("success", 1, 0, 0)
    assert any(expected in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records), caplog.text


# -- 7. the landing zone: nothing outside it is read, no content in messages -------------------

SECRET = "root:x:0:0:root:/root:/bin/bash"


def test_a_symlink_in_the_landing_zone_is_refused_without_reading_it(env, tmp_path):
    outside = tmp_path / "passwd"
    outside.write_text(SECRET + "\n")
    folder = env.root / "products" / DAY
    folder.mkdir(parents=True)
    (folder / "products.csv").symlink_to(outside)

    message = failed(env, "products")

    assert message == (f"{loc('products', 'products.csv')}: is a symbolic link; the landing zone takes regular files "
                       "only, and nothing outside it is read")
    assert "root:" not in message and str(tmp_path) not in message


def test_a_symlink_pointing_inside_the_landing_zone_is_refused_too(env):
    env.write("products", "2025-05-04", "products.csv", PRODUCTS_CSV)
    folder = env.root / "products" / DAY
    folder.mkdir(parents=True)
    (folder / "products.csv").symlink_to(env.root / "products" / "2025-05-04" / "products.csv")

    with pytest.raises(DeliveryError, match=r"^products/2025-05-06/products\.csv: is a symbolic link;"):
        parse(env, "products")


def test_a_delivery_folder_resolving_outside_the_landing_zone_is_refused(env, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "products.csv").write_text(PRODUCTS_CSV)
    (env.root / "products").mkdir()
    os.symlink(outside, env.root / "products" / DAY)

    message = failed(env, "products")

    assert message == (f"{loc('products', 'products.csv')}: resolves outside the landing zone; nothing outside it "
                       "is read")


def test_unreadable_files_are_reported_by_line_without_quoting_their_content(env):
    secret = "sophie.lambert@example.fr"
    page = json.dumps({"reviews": [yotpo_review(487000921, email=secret)]}, indent=1)
    env.write("yotpo_reviews", DAY, "page-1.json", page[: page.index(secret) + 10])  # cut inside the e-mail

    with pytest.raises(DeliveryError) as err:
        parse(env, "yotpo_reviews")

    line = page[: page.index(secret)].count("\n") + 1
    assert str(err.value) == (f"{loc('yotpo_reviews', 'page-1.json')}: cannot be read as json: Invalid Input Error: "
                              f"Malformed JSON on line {line}: unexpected end of data")

    # A CSV delivered without its header row: its first row is not quoted as "the header found".
    env.write("retailer_reviews", DAY, "export.csv", f"RV-1,MV-OLV-500,5,Top,Super,2025-05-06 10:00:00,{secret}\n")
    with pytest.raises(DeliveryError) as err:
        parse(env, "retailer_reviews")
    assert secret not in str(err.value) and "is the header row missing?" in str(err.value)


def test_a_json_file_name_with_pattern_characters_is_refused_not_expanded(env):
    env.write("yotpo_reviews", DAY, "page1.json", {"reviews": [yotpo_review(487000931)]})
    env.write("yotpo_reviews", DAY, "page[1].json", {"reviews": [yotpo_review(487000932)]})

    with pytest.raises(DeliveryError, match=r"^yotpo_reviews/2025-05-06/page\[1\]\.json: the file name holds a pattern"):
        parse(env, "yotpo_reviews")


# -- 8. TikTok create_time before 2000 --------------------------------------------------------

def test_a_tiktok_create_time_of_zero_or_less_or_before_2000_is_quarantined(env):
    videos = [tiktok_video(7498300000000001000 + i, create_time=t)
              for i, t in enumerate((-5, 0, 946684799, 946684800, 1746511200, 1746514800, 1746518400))]
    env.write("tiktok_videos", DAY, "videos-page-1.json", tiktok_page(videos))

    result = env.ingest("tiktok_videos", DAY)

    assert (result.status, result.records_read, result.records_loaded, result.records_rejected) == ("success", 7, 4, 3)
    rejects = env.rejects("tiktok_videos", DAY)
    assert [(r["position"], r["reasons"].split(" (got ")[0], r["raw"]["create_time"]) for r in rejects] == [
        ("$.data.videos[0]", "create_time is a valid unix seconds", -5),
        ("$.data.videos[1]", "create_time is a valid unix seconds", 0),
        ("$.data.videos[2]", "create_time is a valid unix seconds", 946684799),  # 1999-12-31T23:59:59Z
    ]
    assert env.records("select id from raw.tiktok_videos order by record_number")[0] == {
        "id": "7498300000000001003"}  # 2000-01-01T00:00:00Z, the first second accepted
