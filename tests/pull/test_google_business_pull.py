"""The Google Business Profile extractor against a local stand-in of the v4 reviews list: page
tokens followed to the end, pages landed byte for byte, the ``updateTime`` cursor per location and
the next day's pull stopping once it reaches back before cursor minus lookback (the API has no
filter), throttling and 5xx retried, an expired token stopping at once, several locations, the OAuth
refresh-token flow (one access token per pull, kept out of every message and file; a refused
refresh token stopping at once), and the loader reading what was landed."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pandas as pd
import pytest
from support.pull import DAY, connection, landed, parsed
from support.standin_google import GoogleBusinessStandIn, google_error
from support.standins import api_json
from ugc_pipeline.extract import PullError, pull_record, pull_source, read_cursors
from ugc_pipeline.landing import Landing

SOURCE = "google_business_reviews"
TOKEN = "ya29.google-secret-access-token-1"
LOC, LOC2 = "accounts/1040/locations/2001", "accounts/1040/locations/2002"
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
STARS = ("ONE", "TWO", "THREE", "FOUR", "FIVE")
CLIENT_ID, CLIENT_SECRET = "1040-ugc.apps.googleusercontent.com", "GOCSPX-google-client-secret-1"
REFRESH = "1//0g-google-refresh-token-secret-1"


def stamp(at: datetime, fraction: str = "") -> str:
    """RFC 3339 as Google writes it: 0 to 9 fraction digits."""
    return at.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def review(n: int, updated: datetime, location: str = LOC, fraction: str = "", **over) -> dict:
    created = min(updated, T0)
    return {"reviewId": f"R{n:03d}", "reviewer": {"profilePhotoUrl": f"https://lh3.example/p{n}.jpg",
                                                  "displayName": f"Client {n}", "isAnonymous": False},
            "starRating": STARS[n % 5], "comment": f"Magasin très agréable {n}", "createTime": stamp(created),
            "updateTime": stamp(updated, fraction), "name": f"{location}/reviews/R{n:03d}", **over}


def reviews(n: int, location: str = LOC) -> list[dict]:
    return [review(i, T0 + timedelta(hours=i), location, fraction="123456" if i % 2 else "") for i in range(n)]


def creds(server, token=TOKEN, locations=(LOC,), **extra):
    return lambda conn_id: connection(conn_id, server.url, password=token,
                                      extra={"locations": list(locations), "page_size": 2, **extra})


def oauth_creds(server, locations=(LOC,), **extra):
    """A connection with the refresh-token flow: no password, the OAuth client and refresh token in extra."""
    oauth = {"refresh_token": REFRESH, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
             "token_uri": f"{server.url}/token", **extra}
    return creds(server, token="", locations=locations, **oauth)


def oauth_standin(data: dict[str, list[dict]], **kw) -> GoogleBusinessStandIn:
    return GoogleBusinessStandIn(None, data, **{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                                "refresh_token": REFRESH, **kw})


def leaks(text: str, *extra: str) -> list[str]:
    return [s for s in (CLIENT_SECRET, REFRESH, *extra) if s in text]


def everything_written(landing) -> str:
    """Every file under the landing zone (pages, manifests, cursors), as one text."""
    return "\n".join(p.read_bytes().decode(errors="replace") for p in sorted(landing.rglob("*")) if p.is_file())


def ids(pages) -> list[str]:
    return [r["reviewId"] for page in pages for r in json.loads(page).get("reviews", [])]


def test_page_tokens_are_followed_pages_land_byte_for_byte_and_the_cursor_is_saved(landing, settings):
    with GoogleBusinessStandIn(TOKEN, {LOC: reviews(5)}) as api:
        result = pull_source(SOURCE, DAY, settings, creds(api))
    # 5 reviews at 2 a page, newest update first: 3 pages, each asked with the previous page's token
    tokens = [json.loads(body).get("nextPageToken") for body in api.served]
    assert [r.query.get("pageToken") for r in api.requests] == [None, *tokens[:2]] and tokens[2] is None
    assert all(r.path == f"/v4/{LOC}/reviews" and r.query["orderBy"] == "updateTime desc" and r.query["pageSize"] == "2"
               for r in api.requests)
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    files = landed(landing, SOURCE)
    assert list(files.values()) == api.served  # the bytes the API sent, in order
    assert list(files) == [f"{SOURCE}-accounts-1040-locations-2001-000{i}.json" for i in (1, 2, 3)]
    assert ids(files.values()) == ["R004", "R003", "R002", "R001", "R000"]
    assert (result.requests, result.pages, result.records, result.retries) == (3, 3, 5, 0)
    assert result.cursor == {LOC: "2025-05-01T13:00:00Z"}  # the latest updateTime, as Google wrote it
    assert read_cursors(Landing(str(landing)), SOURCE) == result.cursor
    manifest = pull_record(Landing(str(landing)), SOURCE, DAY)
    assert manifest["status"] == "complete" and manifest["files"] == list(files) and manifest["since"] == {LOC: None}


def test_next_day_pages_only_back_to_the_cursor_minus_the_lookback(landing, settings):
    day = timedelta(days=1)
    data = [review(i, datetime(2025, 4, 25, 9, tzinfo=UTC) + i * day) for i in range(6)]  # 25 to 30 April
    with GoogleBusinessStandIn(TOKEN, {LOC: data}) as api:
        first = pull_source(SOURCE, DAY, settings, creds(api))
        assert first.cursor == {LOC: "2025-04-30T09:00:00Z"} and first.pages == 3
        # overnight: one old review edited, one new
        data[1] = review(1, datetime(2025, 5, 6, 10, tzinfo=UTC), comment="edited", fraction="987654321")
        data.append(review(9, datetime(2025, 5, 6, 11, tzinfo=UTC)))
        api.requests.clear()
        api.served.clear()
        nxt = DAY + day
        result = pull_source(SOURCE, nxt, settings, creds(api))
    # since = cursor 30 April 09:00 minus the 2-day lookback; the API has no filter: newest first,
    # paging stops after page 3, which reaches back before 28 April 09:00 (R002, 27 April)
    manifest = pull_record(Landing(str(landing)), SOURCE, nxt)
    assert manifest["since"] == {LOC: "2025-04-28T09:00:00Z"}
    assert len(api.requests) == 3 and json.loads(api.served[-1])["nextPageToken"]  # R000 was not asked for
    assert ids(landed(landing, SOURCE, nxt).values()) == ["R009", "R001", "R005", "R004", "R003", "R002"]
    assert result.cursor == {LOC: "2025-05-06T11:00:00Z"}
    assert read_cursors(Landing(str(landing)), SOURCE) == result.cursor


def test_throttling_honours_retry_after_and_5xx_are_retried(landing, settings):
    with GoogleBusinessStandIn(TOKEN, {LOC: reviews(3)}) as api:
        api.fail_next(429, google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests'."),
                      {"Retry-After": "1"})
        api.fail_next(500, google_error(500, "INTERNAL", "Internal error encountered."))
        t0 = time.monotonic()
        result = pull_source(SOURCE, DAY, settings, creds(api))
        elapsed = time.monotonic() - t0
    assert [r.status for r in api.requests] == [429, 500, 200, 200]
    assert elapsed >= 1.0  # waited as Retry-After said
    assert (result.requests, result.retries, result.pages, result.records) == (4, 2, 2, 3)
    assert list(landed(landing, SOURCE).values()) == api.served


def test_an_expired_token_stops_at_once_without_leaking_it(landing, settings):
    with GoogleBusinessStandIn("ya29.the-renewed-token", {LOC: reviews(3)}) as api:
        with pytest.raises(PullError) as err:
            pull_source(SOURCE, DAY, settings, creds(api))
    assert len(api.requests) == 1  # no retry on 401
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}" and TOKEN not in json.dumps(api.requests[0].query)
    message = str(err.value)
    assert "HTTP 401" in message and "Request had invalid authentication credentials" in message
    assert "UNAUTHENTICATED" in message and "renew the OAuth access token" in message and "'ugc_google_business'" in message
    assert TOKEN not in message
    manifest = pull_record(Landing(str(landing)), SOURCE, DAY)
    assert manifest["status"] == "failed" and TOKEN not in json.dumps(manifest)
    assert landed(landing, SOURCE) == {} and read_cursors(Landing(str(landing)), SOURCE) == {}


def test_each_location_is_a_stream_and_an_empty_one_lands_its_empty_page(landing, settings):
    with GoogleBusinessStandIn(TOKEN, {LOC: reviews(3), LOC2: []}) as api:
        result = pull_source(SOURCE, DAY, settings, creds(api, locations=[LOC, LOC2]))
    assert [r.path for r in api.requests] == [f"/v4/{LOC}/reviews"] * 2 + [f"/v4/{LOC2}/reviews"]
    files = landed(landing, SOURCE)
    assert list(files.values()) == api.served and api.served[-1] == api_json({})  # no reviews: no "reviews" key
    assert list(files) == [f"{SOURCE}-accounts-1040-locations-2001-0001.json", f"{SOURCE}-accounts-1040-locations-2001-0002.json",
                           f"{SOURCE}-accounts-1040-locations-2002-0001.json"]
    assert (result.requests, result.pages, result.records) == (3, 3, 3)
    assert result.cursor == {LOC: "2025-05-01T11:00:00Z"}  # nothing yet for the empty location
    assert list(pull_record(Landing(str(landing)), SOURCE, DAY)["streams"]) == [LOC, LOC2]
    assert len(parsed(landing, SOURCE)[SOURCE]) == 3  # the empty page is read as no review


@pytest.mark.parametrize("locations, complaint", [
    ([], "lists no google_business_reviews stream"),
    (["locations/2001"], "'locations/2001' in the extra 'locations' is not a v4 location name"),
])
def test_a_missing_or_malformed_location_stops_before_any_request(landing, settings, locations, complaint):
    with GoogleBusinessStandIn(TOKEN, {LOC: reviews(1)}) as api:
        with pytest.raises(PullError, match=complaint):
            pull_source(SOURCE, DAY, settings, creds(api, locations=locations))
    assert api.requests == []


def test_the_loader_reads_the_pulled_pages(landing, settings):
    data = [*reviews(4), review(7, T0 + timedelta(days=2), LOC2, fraction="5",
                                reviewReply={"comment": "Merci !", "updateTime": stamp(T0 + timedelta(days=3))})]
    del data[2]["comment"]  # a rating-only review
    with GoogleBusinessStandIn(TOKEN, {LOC: data[:4], LOC2: data[4:]}) as api:
        pull_source(SOURCE, DAY, settings, creds(api, locations=[LOC, LOC2]))
    rows = parsed(landing, SOURCE)[SOURCE].set_index("reviewId")
    assert sorted(rows.index) == ["R000", "R001", "R002", "R003", "R007"]
    assert pd.isna(rows.loc["R002", "comment"]) and rows.loc["R003", "starRating"] == "FOUR"
    assert rows.loc["R001", "name__locationId"] == "2001" and rows.loc["R007", "name__locationId"] == "2002"
    assert rows.loc["R007", "reviewReply__comment"] == "Merci !"
    assert rows.loc["R007", "updateTime"] == "2025-05-03T09:00:00.5Z"


def test_the_refresh_token_gets_one_access_token_per_pull_for_all_locations(landing, settings, monkeypatch):
    masked: list[str] = []
    monkeypatch.setitem(sys.modules, "airflow.sdk.log", type(sys)("airflow.sdk.log"))
    sys.modules["airflow.sdk.log"].mask_secret = masked.append  # as inside an Airflow task
    with oauth_standin({LOC: reviews(3), LOC2: reviews(1, LOC2)}) as api:
        result = pull_source(SOURCE, DAY, settings, oauth_creds(api, locations=[LOC, LOC2]))
        token_request, *review_requests = api.requests
        assert len(api.issued) == 1
        # the same singleton extractor on the next day: a pull of its own, a token of its own
        api.requests.clear()
        nxt = DAY + timedelta(days=1)
        pull_source(SOURCE, nxt, settings, oauth_creds(api, locations=[LOC, LOC2]))
    assert (token_request.method, token_request.path) == ("POST", "/token")
    assert token_request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert {k: v[-1] for k, v in parse_qs(token_request.body.decode()).items()} == {
        "grant_type": "refresh_token", "refresh_token": REFRESH, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert REFRESH not in json.dumps(token_request.query) and CLIENT_SECRET not in json.dumps(token_request.query)
    # then every page of every location with the one issued token
    assert [r.path for r in review_requests] == [f"/v4/{LOC}/reviews"] * 2 + [f"/v4/{LOC2}/reviews"]
    assert all(r.method == "GET" and r.headers["authorization"] == f"Bearer {api.issued[0]}" for r in review_requests)
    assert (result.requests, result.pages, result.records, result.retries) == (4, 3, 4, 0)  # the token request counts
    assert result.cursor == {LOC: "2025-05-01T11:00:00Z", LOC2: "2025-05-01T09:00:00Z"}
    assert len(api.issued) == 2 and api.requests[0].path == "/token"
    assert all(r.headers["authorization"] == f"Bearer {api.issued[1]}" for r in api.requests[1:])
    assert masked == api.issued  # registered with Airflow's log masker
    # the token answer is not landed; no token or client secret anywhere in the landing zone
    files = landed(landing, SOURCE)
    assert list(files.values()) == api.served[1:4] and ids(files.values()) == ["R002", "R001", "R000", "R000"]
    assert leaks(everything_written(landing), *api.issued) == []


def test_an_access_token_about_to_expire_is_refreshed_before_the_next_request(landing, settings):
    with oauth_standin({LOC: reviews(3)}, expires_in=30) as api:  # under the one-minute margin
        result = pull_source(SOURCE, DAY, settings, oauth_creds(api))
    assert [r.path for r in api.requests] == ["/token", f"/v4/{LOC}/reviews"] * 2
    assert [r.headers["authorization"] for r in api.requests[1::2]] == [f"Bearer {t}" for t in api.issued]
    assert len(api.issued) == 2 and (result.requests, result.pages, result.records) == (4, 2, 3)


@pytest.mark.parametrize("standin, status, complaint", [
    ({"refresh_token": "1//0g-revoked-refresh-token"}, 400,
     "the refresh token of the connection 'ugc_google_business' was refused (expired or revoked): "
     "invalid_grant: Token has been expired or revoked.; re-authorise the Google account"),
    ({"client_secret": "GOCSPX-the-rotated-secret"}, 401,
     "the OAuth client of the connection 'ugc_google_business' was refused: invalid_client: Unauthorized; "
     "check its extra 'client_id' and 'client_secret'"),
])
def test_a_refused_refresh_stops_at_once_without_leaking_the_secrets(landing, settings, standin, status, complaint):
    with oauth_standin({LOC: reviews(3)}, **standin) as api:
        with pytest.raises(PullError) as err:
            pull_source(SOURCE, DAY, settings, oauth_creds(api))
    assert [(r.path, r.status) for r in api.requests] == [("/token", status)]  # no retry, no review asked for
    assert api.issued == []
    message = str(err.value)
    assert message.startswith("Google OAuth token refresh for the connection 'ugc_google_business': ")
    assert f"HTTP {status}" in message and complaint in message
    assert leaks(message) == []
    manifest = pull_record(Landing(str(landing)), SOURCE, DAY)
    assert manifest["status"] == "failed" and manifest["message"] == message and manifest["requests"] == 1
    assert leaks(everything_written(landing)) == []
    assert landed(landing, SOURCE) == {} and read_cursors(Landing(str(landing)), SOURCE) == {}


def test_the_issued_access_token_is_redacted_from_the_error_messages(landing, settings):
    gone = "accounts/1040/locations/2999"
    with oauth_standin({LOC: reviews(1)}, echo_credentials=True) as api:  # quotes the bearer in its errors
        with pytest.raises(PullError) as err:
            pull_source(SOURCE, DAY, settings, oauth_creds(api, locations=[LOC, gone]))
    assert [r.status for r in api.requests] == [200, 200, 404] and len(api.issued) == 1
    message = str(err.value)
    assert "HTTP 404" in message and "(credentials: Bearer ***)" in message and "check the extra 'locations'" in message
    assert leaks(message, api.issued[0]) == []
    assert pull_record(Landing(str(landing)), SOURCE, DAY)["status"] == "failed"
    assert leaks(everything_written(landing), api.issued[0]) == []


@pytest.mark.parametrize("extra, complaint", [
    ({"client_secret": ""}, "has a 'refresh_token' but no 'client_secret' in its extra"),
    ({"client_id": None, "client_secret": None}, "has a 'refresh_token' but no 'client_id' nor 'client_secret'"),
    ({"refresh_token": ""}, "has neither a 'refresh_token' in its extra .* nor a password"),
])
def test_an_incomplete_oauth_set_up_stops_before_any_request(landing, settings, extra, complaint):
    with oauth_standin({LOC: reviews(1)}) as api:
        with pytest.raises(PullError, match=complaint):
            pull_source(SOURCE, DAY, settings, oauth_creds(api, **extra))
    assert api.requests == []
