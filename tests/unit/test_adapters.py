"""Parsing one delivery per adapter (``parse_delivery``): native values kept as text, positions,
and the files that cannot be used (``DeliveryError`` naming the file).

No warehouse here: these tests only read the landing zone with ``parse_delivery``.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from ugc_pipeline import warehouse
from ugc_pipeline.parse import DeliveryError
from ugc_pipeline.sources import raw_tables

DAY = "2025-05-06"


def rows_of(parsed, table):
    """The parsed rows of one raw table, as dicts keyed by column name (missing values as None)."""
    frame = parsed[table].rows
    return [{k: (None if pd.isna(v) else v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def by(rows, key):
    return {r[key]: r for r in rows}


# -- Raw column names -------------------------------------------------------------------------

@pytest.mark.parametrize("table", raw_tables(), ids=lambda t: t.name)
def test_raw_columns_have_the_platforms_own_names(table):
    """No adapter renames: a JSON field's column is its path as the platform spells it ('$.'
    left out, '.' written '__': ``reviewer__displayName``), a CSV column is its header; a derived
    column (``sql``) says how it is derived. No name clashes with a metadata column or, case
    aside (DuckDB ignores it), with another column; keys and rules name columns of the table."""
    for c in table.columns:
        if c.sql:
            assert c.path is None and c.doc, f"{c.name}: a derived column is documented"
        elif c.path.startswith("$."):
            assert c.name == c.path.removeprefix("$.").replace(".", "__"), f"{c.name} is not {c.path}"
        else:
            assert c.name == c.path, f"{c.name} is not the header {c.path}"
    names = [c.name.lower() for c in table.columns]
    assert len(set(names)) == len(names), names
    metadata = set(warehouse.raw_columns(table)) - {c.name for c in table.columns}
    assert metadata == {"delivery_date", "source_file", "record_number", "record_position", "run_id", "loaded_at"}
    assert not set(names) & {*metadata, "raw_record"}
    named = [*table.key, *filter(None, (table.created_column, table.version_column))]
    named += [c for rule in table.rules for c in rule.columns]
    for name in named:
        table.column(name)  # KeyError if the table has no such column


# -- Google Business Profile ------------------------------------------------------------------

GOOGLE_PAGE = """{
  "reviews": [
    {
      "name": "accounts/108234567890123456789/locations/4816235201934567890/reviews/AbFvOqnQ1a2b3c",
      "reviewId": "AbFvOqnQ1a2b3c",
      "reviewer": {
        "profilePhotoUrl": "https://lh3.googleusercontent.com/a-/ALV-UjXcamille=s120-c-rp-mo-br100",
        "displayName": "Camille Durand",
        "isAnonymous": false
      },
      "starRating": "FOUR",
      "comment": "Très bon accueil, l'huile d'olive est excellente, un peu chère.",
      "createTime": "2025-05-06T08:12:45Z",
      "updateTime": "2025-05-06T08:12:45.123Z",
      "reviewReply": {
        "comment": "Merci Camille pour votre retour !",
        "updateTime": "2025-05-06T10:01:02.123456Z"
      },
      "reviewMediaItems": [
        {"name": "accounts/108234567890123456789/locations/4816235201934567890/media/AF1Qip1",
         "mediaFormat": "PHOTO", "googleUrl": "https://lh3.googleusercontent.com/p/AF1Qip1"},
        {"name": "accounts/108234567890123456789/locations/4816235201934567890/media/AF1Qip2",
         "mediaFormat": "PHOTO", "googleUrl": "https://lh3.googleusercontent.com/p/AF1Qip2"}
      ]
    },
    {
      "name": "accounts/108234567890123456789/locations/4816235201934567890/reviews/AbFvOqnQ4d5e6f",
      "reviewId": "AbFvOqnQ4d5e6f",
      "reviewer": {"displayName": "Un utilisateur de Google", "isAnonymous": true},
      "starRating": "FIVE",
      "createTime": "2025-05-06T09:30:00.123456789Z",
      "updateTime": "2025-05-06T09:30:00.123456789Z"
    },
    {
      "name": "accounts/108234567890123456789/locations/1122334455667788990/reviews/AbFvOqnQ7g8h9i",
      "reviewId": "AbFvOqnQ7g8h9i",
      "reviewer": {"displayName": "Jules M.", "isAnonymous": false},
      "starRating": "STAR_RATING_UNSPECIFIED",
      "comment": "Je ne sais pas quoi mettre comme note.",
      "createTime": "2025-05-05T17:02:11.500000Z",
      "updateTime": "2025-05-05T17:02:11.500000Z"
    }
  ],
  "averageRating": 4.3,
  "totalReviewCount": 187,
  "nextPageToken": "CiQKIgoWQWJGdk9xblE3ZzhoOWkSCAoGCMq-7cAG"
}"""


def test_google_page_raw_columns_hold_native_text(env):
    env.write("google_business_reviews", DAY, "page-1.json", GOOGLE_PAGE)

    parsed = env.parse("google_business_reviews", DAY)

    table = parsed["google_business_reviews"]
    assert table.records_read == 3
    rows = by(rows_of(parsed, "google_business_reviews"), "reviewId")
    first = rows["AbFvOqnQ1a2b3c"]
    assert first["source_file"] == "google_business_reviews/2025-05-06/page-1.json"
    assert first["record_position"] == "$.reviews[0]"
    assert first["name"] == ("accounts/108234567890123456789/locations/4816235201934567890/"
                             "reviews/AbFvOqnQ1a2b3c")
    assert first["name__locationId"] == "4816235201934567890"
    assert first["starRating"] == "FOUR"
    assert first["createTime"] == "2025-05-06T08:12:45Z"
    assert first["updateTime"] == "2025-05-06T08:12:45.123Z"
    assert first["reviewReply__comment"] == "Merci Camille pour votre retour !"
    assert first["reviewReply__updateTime"] == "2025-05-06T10:01:02.123456Z"
    assert first["reviewer__displayName"] == "Camille Durand"
    assert first["reviewer__isAnonymous"] == "false"
    assert rows["AbFvOqnQ7g8h9i"]["name__locationId"] == "1122334455667788990"
    assert rows["AbFvOqnQ4d5e6f"]["record_position"] == "$.reviews[1]"
    assert rows["AbFvOqnQ7g8h9i"]["record_position"] == "$.reviews[2]"


def test_google_star_rating_words_kept_including_unspecified(env):
    env.write("google_business_reviews", DAY, "page-1.json", GOOGLE_PAGE)

    parsed = env.parse("google_business_reviews", DAY)

    ratings = {r["reviewId"]: r["starRating"] for r in rows_of(parsed, "google_business_reviews")}
    assert ratings == {"AbFvOqnQ1a2b3c": "FOUR", "AbFvOqnQ4d5e6f": "FIVE",
                       "AbFvOqnQ7g8h9i": "STAR_RATING_UNSPECIFIED"}


def test_google_rating_only_review_has_no_comment(env):
    env.write("google_business_reviews", DAY, "page-1.json", GOOGLE_PAGE)

    rows = by(rows_of(env.parse("google_business_reviews", DAY), "google_business_reviews"), "reviewId")

    assert rows["AbFvOqnQ4d5e6f"]["comment"] is None
    assert rows["AbFvOqnQ4d5e6f"]["reviewReply__comment"] is None
    assert rows["AbFvOqnQ1a2b3c"]["comment"] == "Très bon accueil, l'huile d'olive est excellente, un peu chère."


def test_google_create_time_with_0_3_6_9_fraction_digits_is_accepted_as_delivered(env):
    page = {"reviews": [
        {"name": f"accounts/1/locations/4816235201934567890/reviews/R{i}", "reviewId": f"R{i}",
         "reviewer": {"displayName": "A", "isAnonymous": False}, "starRating": "THREE",
         "comment": "ok", "createTime": ts, "updateTime": ts}
        for i, ts in enumerate(("2025-05-06T08:00:00Z", "2025-05-06T08:00:00.123Z",
                                "2025-05-06T08:00:00.123456Z", "2025-05-06T08:00:00.123456789Z"))
    ], "averageRating": 3, "totalReviewCount": 4}
    env.write("google_business_reviews", DAY, "page-1.json", page)

    parsed = env.parse("google_business_reviews", DAY)

    times = {r["reviewId"]: r["createTime"] for r in rows_of(parsed, "google_business_reviews")}
    assert times == {"R0": "2025-05-06T08:00:00Z", "R1": "2025-05-06T08:00:00.123Z",
                     "R2": "2025-05-06T08:00:00.123456Z", "R3": "2025-05-06T08:00:00.123456789Z"}


def test_google_review_media_items_are_counted(env):
    env.write("google_business_reviews", DAY, "page-1.json", GOOGLE_PAGE)

    rows = by(rows_of(env.parse("google_business_reviews", DAY), "google_business_reviews"), "reviewId")

    assert rows["AbFvOqnQ1a2b3c"]["reviewMediaItems__count"] == "2"
    assert rows["AbFvOqnQ4d5e6f"]["reviewMediaItems__count"] == "0"


def test_google_positions_restart_in_every_page(env):
    env.write("google_business_reviews", DAY, "page-1.json", GOOGLE_PAGE)
    env.write("google_business_reviews", DAY, "page-2.json", """{
      "reviews": [
        {"name": "accounts/1/locations/4816235201934567890/reviews/P2R0", "reviewId": "P2R0",
         "reviewer": {"displayName": "Léa", "isAnonymous": false}, "starRating": "TWO",
         "createTime": "2025-05-04T12:00:00Z", "updateTime": "2025-05-04T12:00:00Z"}
      ],
      "averageRating": 4.3,
      "totalReviewCount": 187
    }""")

    parsed = env.parse("google_business_reviews", DAY)

    rows = by(rows_of(parsed, "google_business_reviews"), "reviewId")
    assert parsed["google_business_reviews"].records_read == 4
    assert rows["P2R0"]["source_file"] == "google_business_reviews/2025-05-06/page-2.json"
    assert rows["P2R0"]["record_position"] == "$.reviews[0]"


# -- Yotpo -----------------------------------------------------------------------------------

YOTPO_PAGE = """{
  "reviews": [
    {
      "id": 487512345,
      "sku": "MV-OLV-500",
      "score": 5,
      "title": "Parfaite pour les salades",
      "content": "Fruitée, pas amère, je recommande.",
      "created_at": "2025-05-06T07:41:09.000Z",
      "updated_at": "2025-05-06T07:41:09.000Z",
      "votes_up": 3,
      "votes_down": 0,
      "name": "Sophie Lambert",
      "email": "sophie.lambert@example.fr",
      "reviewer_type": "verified_buyer",
      "deleted": false,
      "archived": false,
      "is_incentivized": true,
      "incentive_type": "free_product"
    }
  ]
}"""


def test_yotpo_page_raw_columns_hold_native_text(env):
    env.write("yotpo_reviews", DAY, "reviews-page-1.json", YOTPO_PAGE)

    parsed = env.parse("yotpo_reviews", DAY)

    [row] = rows_of(parsed, "yotpo_reviews")
    assert row["id"] == "487512345"
    assert row["score"] == "5"
    assert row["created_at"] == "2025-05-06T07:41:09.000Z"
    assert row["deleted"] == "false"
    assert row["archived"] == "false"
    assert row["is_incentivized"] == "true"
    assert row["name"] == "Sophie Lambert"
    assert row["email"] == "sophie.lambert@example.fr"
    assert row["record_position"] == "$.reviews[0]"
    assert row["source_file"] == "yotpo_reviews/2025-05-06/reviews-page-1.json"


# -- Retailer CSV ----------------------------------------------------------------------------

RETAILER_HEADER = ("review_id;product_id;gtin;rating;title;review_text;submission_time;"
                   "last_modification_time;user_nickname;is_recommended;incentivized_review;"
                   "is_syndicated;syndication_source;photo_count;video_count;helpful_votes;"
                   "moderation_status;content_locale;campaign_id")


def test_retailer_csv_with_bom_semicolons_and_quoted_comma_and_newline(env):
    text = (
        RETAILER_HEADER + "\r\n"
        'RV-10001;MV-OLV-500;03760123450017;5;Top;"Goût fruité, parfait\r\nsur une salade; bravo";'
        "2025-05-06 09:15:00;2025-05-06 11:00:00;marie59;true;false;true;Carrefour;1;0;4;APPROVED;fr_FR;\r\n"
        "RV-10002;;03760123450024;3;Correct;Un peu salé;2025-05-06 10:20:00;2025-05-06 12:00:00;"
        "jb_lyon;false;false;false;;0;0;0;PENDING;fr_FR;\r\n"
    )
    env.write("retailer_reviews", DAY, "export_fr.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))

    parsed = env.parse("retailer_reviews", DAY)

    table = parsed["retailer_reviews"]
    assert table.records_read == 2
    rows = by(rows_of(parsed, "retailer_reviews"), "review_id")
    assert set(rows) == {"RV-10001", "RV-10002"}  # the BOM is not part of the first header
    assert rows["RV-10001"]["review_text"] == "Goût fruité, parfait\r\nsur une salade; bravo"
    assert rows["RV-10001"]["record_position"] == "row 1"
    assert rows["RV-10002"]["record_position"] == "row 2"
    assert rows["RV-10001"]["gtin"] == "03760123450017"  # leading zero kept: text
    assert rows["RV-10002"]["product_id"] is None  # blank field = unknown
    assert rows["RV-10002"]["moderation_status"] == "PENDING"
    assert rows["RV-10001"]["submission_time"] == "2025-05-06 09:15:00"


def test_retailer_csv_comma_separated(env):
    text = (
        RETAILER_HEADER.replace(";", ",") + "\n"
        'RV-20001,MV-PES-180,03760123450024,4,"Bon, vraiment","Très bon pesto, bien basilic",'
        "2025-05-06T08:00:00Z,2025-05-06T09:00:00Z,tom,true,false,false,,0,1,2,APPROVED,fr_FR,\n"
    )
    env.write("retailer_reviews", DAY, "export_be.csv", text)

    parsed = env.parse("retailer_reviews", DAY)

    [row] = rows_of(parsed, "retailer_reviews")
    assert row["review_id"] == "RV-20001"
    assert row["title"] == "Bon, vraiment"
    assert row["review_text"] == "Très bon pesto, bien basilic"
    assert row["rating"] == "4"
    assert row["video_count"] == "1"
    assert row["record_position"] == "row 1"


# -- Instagram -------------------------------------------------------------------------------

INSTAGRAM_NODE = """{
  "id": "17841400008460056",
  "username": "claire.cuisine",
  "followers_count": 742,
  "media": {
    "data": [
      {
        "id": "18027939643062316",
        "caption": "Tartines du matin ☀️ #oliveDuMatin!",
        "media_type": "IMAGE",
        "media_product_type": "FEED",
        "permalink": "https://www.instagram.com/p/C6xYz12AbCd/",
        "timestamp": "2025-05-02T07:56:32+0000",
        "like_count": 57,
        "comments_count": 4,
        "insights": {"data": [
          {"name": "reach", "period": "lifetime", "values": [{"value": 812}],
           "title": "Accounts reached", "id": "18027939643062316/insights/reach/lifetime"},
          {"name": "views", "period": "lifetime", "values": [{"value": 1304}],
           "title": "Views", "id": "18027939643062316/insights/views/lifetime"},
          {"name": "saved", "period": "lifetime", "values": [{"value": 6}],
           "title": "Saved", "id": "18027939643062316/insights/saved/lifetime"},
          {"name": "shares", "period": "lifetime", "values": [{"value": 0}],
           "title": "Shares", "id": "18027939643062316/insights/shares/lifetime"}
        ]}
      },
      {
        "id": "18038475629104857",
        "caption": "Focaccia maison",
        "media_type": "VIDEO",
        "media_product_type": "REELS",
        "permalink": "https://www.instagram.com/reel/C6zQw98XyZa/",
        "timestamp": "2025-05-03T18:20:00+0000",
        "like_count": 120,
        "comments_count": 9
      },
      {
        "id": "18044123456789012",
        "media_type": "CAROUSEL_ALBUM",
        "media_product_type": "FEED",
        "permalink": "https://www.instagram.com/p/C7aBc34DeFg/",
        "timestamp": "2025-05-04T06:05:59+0000",
        "like_count": 33,
        "comments_count": 1,
        "insights": {"data": [
          {"name": "reach", "period": "lifetime", "values": [{"value": 401}]},
          {"name": "saved", "period": "lifetime", "values": [{"value": 2}]}
        ]}
      }
    ],
    "paging": {
      "cursors": {"before": "QVFIUmFi", "after": "QVFIUnpy"},
      "next": "https://graph.facebook.com/v21.0/17841400008460056/media?after=QVFIUnpy"
    }
  }
}"""


def test_instagram_user_node_media_and_account_fields(env):
    env.write("instagram_media", DAY, "claire.cuisine.json", INSTAGRAM_NODE)

    parsed = env.parse("instagram_media", DAY)

    rows = by(rows_of(parsed, "instagram_media"), "id")
    assert len(rows) == 3
    first = rows["18027939643062316"]
    assert first["user__id"] == "17841400008460056"
    assert first["user__username"] == "claire.cuisine"
    assert first["user__followers_count"] == "742"
    assert first["timestamp"] == "2025-05-02T07:56:32+0000"
    assert first["record_position"] == "$.media.data[0]"
    assert (first["insights__reach"], first["insights__views"], first["insights__saved"],
            first["insights__shares"]) == ("812", "1304", "6", "0")
    assert rows["18044123456789012"]["caption"] is None
    assert rows["18044123456789012"]["record_position"] == "$.media.data[2]"


def test_instagram_media_without_insights_has_unknown_metrics(env):
    env.write("instagram_media", DAY, "claire.cuisine.json", INSTAGRAM_NODE)

    rows = by(rows_of(env.parse("instagram_media", DAY), "instagram_media"), "id")

    reel = rows["18038475629104857"]
    assert (reel["insights__reach"], reel["insights__views"], reel["insights__saved"],
            reel["insights__shares"]) == (None, None, None, None)
    assert reel["like_count"] == "120"


def test_instagram_media_with_some_insights(env):
    env.write("instagram_media", DAY, "claire.cuisine.json", INSTAGRAM_NODE)

    rows = by(rows_of(env.parse("instagram_media", DAY), "instagram_media"), "id")

    partial = rows["18044123456789012"]
    assert (partial["insights__reach"], partial["insights__views"], partial["insights__saved"],
            partial["insights__shares"]) == ("401", None, "2", None)


# -- TikTok ----------------------------------------------------------------------------------

TIKTOK_PAGE = """{
  "data": {
    "videos": [
      {"id": 7234567890123456789, "create_time": 1746570600, "username": "lucas_miam",
       "video_description": "Mon petit-déj préféré #OliveDuMatin #fyp",
       "hashtag_names": ["OLIVEDUMATIN", "fyp"],
       "like_count": 1520, "comment_count": 48, "share_count": 12, "view_count": 20450},
      {"id": 9234567890123456789, "create_time": 1746489600, "username": "lucas_miam",
       "video_description": "", "hashtag_names": [],
       "like_count": 3, "comment_count": 0, "share_count": 0, "view_count": 210}
    ],
    "cursor": 100,
    "has_more": true
  },
  "error": {"code": "ok", "message": "", "log_id": "20250506103045ABCDEF0123456789"}
}"""


def test_tiktok_19_digit_ids_written_as_json_numbers_stay_exact_text(env):
    env.write("tiktok_videos", DAY, "videos-1.json", TIKTOK_PAGE)

    parsed = env.parse("tiktok_videos", DAY)

    rows = rows_of(parsed, "tiktok_videos")
    assert [r["id"] for r in rows] == ["7234567890123456789", "9234567890123456789"]
    assert rows[0]["create_time"] == "1746570600"
    assert rows[0]["hashtag_names"] == "OLIVEDUMATIN fyp"
    assert rows[0]["view_count"] == "20450"
    assert rows[1]["video_description"] is None  # "" is blank = unknown
    assert rows[1]["record_position"] == "$.data.videos[1]"


def test_tiktok_error_page_raises_naming_the_file(env):
    env.write("tiktok_videos", DAY, "videos-1.json", TIKTOK_PAGE)
    env.write("tiktok_videos", DAY, "videos-2.json", """{
      "data": {},
      "error": {"code": "rate_limit_exceeded", "message": "API rate limit was exceeded.",
                "log_id": "20250506103046FEDCBA9876543210"}
    }""")

    with pytest.raises(DeliveryError, match=re.escape("tiktok_videos/2025-05-06/videos-2.json")):
        env.parse("tiktok_videos", DAY)


# -- YouTube ---------------------------------------------------------------------------------

YOUTUBE_VIDEOS = """{
  "kind": "youtube#videoListResponse",
  "etag": "Xk3Qm6r5YZtN0mXo2b1qg3hC1aE",
  "items": [
    {
      "kind": "youtube#video",
      "etag": "b1Cq3d9Rr2aN6o0m8sJxZpQ4Vw0",
      "id": "dQw4w9WgXcQ",
      "snippet": {
        "publishedAt": "2025-05-06T16:00:07Z",
        "channelId": "UCx1y2z3A4b5C6d7E8f9G0hI",
        "title": "3 recettes express à l'huile d'olive",
        "description": "Merci @maisonverte ! #OliveDuMatin",
        "thumbnails": {"default": {"url": "https://i.ytimg.com/vi/dQw4w9WgXcQ/default.jpg",
                                   "width": 120, "height": 90}},
        "channelTitle": "La Cuisine de Nina",
        "tags": ["recette", "huile d'olive", "OliveDuMatin"],
        "categoryId": "26"
      },
      "statistics": {"viewCount": "15234", "likeCount": "812", "favoriteCount": "0", "commentCount": "57"}
    }
  ],
  "pageInfo": {"totalResults": 1, "resultsPerPage": 1}
}"""

YOUTUBE_CHANNELS = """{
  "kind": "youtube#channelListResponse",
  "etag": "Pq0n2sYt7hC3kVbW1uXz5aR8eMg",
  "pageInfo": {"totalResults": 2, "resultsPerPage": 5},
  "items": [
    {"kind": "youtube#channel", "etag": "Aa1", "id": "UCx1y2z3A4b5C6d7E8f9G0hI",
     "statistics": {"viewCount": "1843120", "subscriberCount": "15400", "hiddenSubscriberCount": false,
                    "videoCount": "212"}},
    {"kind": "youtube#channel", "etag": "Bb2", "id": "UChidden0000000000000000",
     "statistics": {"viewCount": "99231", "subscriberCount": "0", "hiddenSubscriberCount": true, "videoCount": "31"}}
  ]
}"""


def test_youtube_files_told_apart_by_kind(env):
    env.write("youtube_videos", DAY, "channels.json", YOUTUBE_CHANNELS)
    env.write("youtube_videos", DAY, "videos.json", YOUTUBE_VIDEOS)

    parsed = env.parse("youtube_videos", DAY)

    [video] = rows_of(parsed, "youtube_videos")
    assert video["id"] == "dQw4w9WgXcQ"
    assert video["source_file"] == "youtube_videos/2025-05-06/videos.json"
    assert video["record_position"] == "$.items[0]"
    assert video["statistics__viewCount"] == "15234"
    assert video["statistics__likeCount"] == "812"
    assert video["statistics__commentCount"] == "57"
    assert video["snippet__publishedAt"] == "2025-05-06T16:00:07Z"
    assert video["snippet__channelId"] == "UCx1y2z3A4b5C6d7E8f9G0hI"
    assert video["snippet__title"] == "3 recettes express à l'huile d'olive"
    assert video["snippet__tags"] == "recette huile d'olive OliveDuMatin"
    channels = by(rows_of(parsed, "youtube_channels"), "id")
    assert channels["UCx1y2z3A4b5C6d7E8f9G0hI"]["statistics__subscriberCount"] == "15400"
    assert channels["UChidden0000000000000000"]["statistics__hiddenSubscriberCount"] == "true"
    assert channels["UChidden0000000000000000"]["source_file"] == "youtube_videos/2025-05-06/channels.json"


def test_youtube_unknown_kind_raises_naming_the_file(env):
    env.write("youtube_videos", DAY, "videos.json", YOUTUBE_VIDEOS)
    env.write("youtube_videos", DAY, "playlists.json", """{
      "kind": "youtube#playlistItemListResponse",
      "etag": "Zz9",
      "items": [{"kind": "youtube#playlistItem", "id": "UEx1", "snippet": {"title": "x"}}],
      "pageInfo": {"totalResults": 1, "resultsPerPage": 5}
    }""")

    with pytest.raises(DeliveryError, match=re.escape("youtube_videos/2025-05-06/playlists.json")) as err:
        env.parse("youtube_videos", DAY)
    assert "youtube#playlistItemListResponse" in str(err.value)


# -- Ambassador platform ---------------------------------------------------------------------

AMBASSADOR_CSV = (
    "post_id,ambassador_id,campaign_id,platform,post_url,content_type,posted_at,followers_at_post,"
    "likes,comments,shares,views\n"
    "AP-000101,AMB-0001,CMP-2025-OLIVE,instagram,https://www.instagram.com/p/C6xYz12AbCd/,photo,"
    "2025-05-02T09:56:00+02:00,745,50,3,,\n"
    "AP-000102,AMB-0004,CMP-2025-OLIVE,blog,https://cuisine-de-lea.fr/2025/05/focaccia-huile-olive-42/,"
    "recipe,2025-05-06T12:00:00+02:00,380,,0,,640\n"
)

AMBASSADOR_NDJSON = (
    '{"post_id": "AP-000103", "ambassador_id": "AMB-0002", "campaign_id": "CMP-2025-OLIVE", '
    '"platform": "tiktok", "post_url": "https://www.tiktok.com/@lucas_miam/video/7234567890123456789", '
    '"content_type": "video", "posted_at": "2025-05-06T22:30:00+02:00", "followers_at_post": 2305, '
    '"likes": 1400, "comments": 40, "shares": null, "views": ""}\n'
    '{"post_id": "AP-000104", "ambassador_id": "AMB-0005", "campaign_id": "CMP-2025-OLIVE", '
    '"platform": "facebook", "post_url": "https://www.facebook.com/lea.cuisine/posts/pfbid0abc", '
    '"content_type": "text", "posted_at": "2025-05-06T08:00:00+02:00", "followers_at_post": 150, '
    '"likes": 12, "comments": 2, "shares": 1}\n'
)


def test_ambassador_posts_csv_and_ndjson_in_one_delivery(env):
    env.write("ambassador_posts", DAY, "posts.csv", AMBASSADOR_CSV)
    env.write("ambassador_posts", DAY, "posts.ndjson", AMBASSADOR_NDJSON)

    parsed = env.parse("ambassador_posts", DAY)

    table = parsed["ambassador_posts"]
    assert table.records_read == 4
    rows = by(rows_of(parsed, "ambassador_posts"), "post_id")
    assert rows["AP-000101"]["record_position"] == "row 1"
    assert rows["AP-000102"]["record_position"] == "row 2"
    assert rows["AP-000103"]["record_position"] == "record 1"
    assert rows["AP-000104"]["record_position"] == "record 2"
    assert rows["AP-000103"]["source_file"] == "ambassador_posts/2025-05-06/posts.ndjson"
    assert rows["AP-000103"]["followers_at_post"] == "2305"
    assert rows["AP-000103"]["post_url"] == "https://www.tiktok.com/@lucas_miam/video/7234567890123456789"
    assert rows["AP-000101"]["posted_at"] == "2025-05-02T09:56:00+02:00"


def test_ambassador_blank_metrics_are_unknown_not_zero(env):
    env.write("ambassador_posts", DAY, "posts.csv", AMBASSADOR_CSV)
    env.write("ambassador_posts", DAY, "posts.ndjson", AMBASSADOR_NDJSON)

    rows = by(rows_of(env.parse("ambassador_posts", DAY), "ambassador_posts"), "post_id")

    metrics = {pid: (r["likes"], r["comments"], r["shares"], r["views"]) for pid, r in rows.items()}
    assert metrics == {
        "AP-000101": ("50", "3", None, None),
        "AP-000102": (None, "0", None, "640"),
        "AP-000103": ("1400", "40", None, None),  # null and "" both unknown
        "AP-000104": ("12", "2", "1", None),  # key absent: unknown
    }


# -- Word-of-mouth survey --------------------------------------------------------------------

def test_survey_csv_blank_people_told_is_no_answer(env):
    env.write("wom_surveys", DAY, "survey.csv", (
        "response_id,ambassador_id,campaign_id,answered_at,people_told,tried_product,recommend_score\n"
        "R-0001,AMB-0001,CMP-2025-OLIVE,2025-05-06T10:00:00+02:00,6,yes,9\n"
        "R-0002,AMB-0002,CMP-2025-OLIVE,2025-05-06T11:00:00+02:00,,no,7\n"
    ))

    rows = by(rows_of(env.parse("wom_surveys", DAY), "wom_surveys"), "response_id")

    assert rows["R-0001"]["people_told"] == "6"
    assert rows["R-0002"]["people_told"] is None
    assert rows["R-0002"]["tried_product"] == "no"
    assert rows["R-0002"]["record_position"] == "row 2"


# -- Files that cannot be used ---------------------------------------------------------------

@pytest.mark.parametrize(("source", "name", "content"), [
    ("yotpo_reviews", "page-2.json", b""),
    ("yotpo_reviews", "page-2.json", b"  \n\n"),
    ("retailer_reviews", "export-2.csv", b""),
    ("retailer_reviews", "export-2.csv", b"\r\n\r\n"),
], ids=["json-0-bytes", "json-blank", "csv-0-bytes", "csv-blank"])
def test_empty_file_raises_naming_the_file(env, source, name, content):
    good = {"yotpo_reviews": ("page-1.json", YOTPO_PAGE),
            "retailer_reviews": ("export-1.csv", RETAILER_HEADER + "\n")}[source]
    env.write(source, DAY, *good)
    env.write(source, DAY, name, content)

    with pytest.raises(DeliveryError, match=re.escape(f"{source}/2025-05-06/{name}")):
        env.parse(source, DAY)


def test_truncated_json_raises_naming_the_file(env):
    env.write("yotpo_reviews", DAY, "page-1.json", YOTPO_PAGE[: len(YOTPO_PAGE) // 2])

    with pytest.raises(DeliveryError, match=re.escape("yotpo_reviews/2025-05-06/page-1.json")):
        env.parse("yotpo_reviews", DAY)


def test_csv_missing_required_column_raises_naming_the_file_and_column(env):
    env.write("retailer_reviews", DAY, "export.csv", (
        "review_id,product_id,gtin,rating,title,review_text,last_modification_time,moderation_status\n"
        "RV-1,MV-OLV-500,,5,Top,Super,2025-05-06 10:00:00,APPROVED\n"
    ))

    with pytest.raises(DeliveryError, match=re.escape("retailer_reviews/2025-05-06/export.csv")) as err:
        env.parse("retailer_reviews", DAY)
    assert "submission_time" in str(err.value)


@pytest.mark.parametrize("name", ["reviews.xlsx", "reviews.txt", "reviews"])
def test_unexpected_file_extension_raises_naming_the_file(env, name):
    env.write("retailer_reviews", DAY, name, RETAILER_HEADER + "\n")

    with pytest.raises(DeliveryError, match=re.escape(f"retailer_reviews/2025-05-06/{name}")):
        env.parse("retailer_reviews", DAY)


def test_csv_with_cr_line_endings_is_read_or_rejected_naming_the_file(env):
    name = "export_mac.csv"
    env.write("wom_surveys", DAY, name, (
        "response_id,ambassador_id,campaign_id,answered_at,people_told,tried_product,recommend_score\r"
        "R-0001,AMB-0001,CMP-2025-OLIVE,2025-05-06T10:00:00+02:00,6,yes,9\r"))

    try:
        parsed = env.parse("wom_surveys", DAY)
    except DeliveryError as exc:
        assert f"wom_surveys/2025-05-06/{name}" in str(exc)
    else:
        assert [r["response_id"] for r in rows_of(parsed, "wom_surveys")] == ["R-0001"]


def test_json_file_for_a_csv_only_source_raises(env):
    env.write("wom_surveys", DAY, "survey.json", '{"responses": []}')

    with pytest.raises(DeliveryError, match=re.escape("wom_surveys/2025-05-06/survey.json")):
        env.parse("wom_surveys", DAY)
