"""The pseudonymisation key and pseudonyms (``ugc_pipeline.pii``), without a warehouse: where the
key comes from, that it is never shown, and what a rotation does."""

from __future__ import annotations

import os
import stat

import pytest
from support.pii import pseudonym
from ugc_pipeline import pii
from ugc_pipeline.settings import Settings

KEY = "k-0f7e-unit-secret"


def test_pseudonyms_are_the_keyed_hash_of_the_normalised_value():
    p = pii.Pseudonymiser(KEY.encode())
    assert p.apply("email", " Sophie.Lambert@Example.FR") == pseudonym("email", "sophie.lambert@example.fr", KEY)
    # a roster's "@Lucas_Miam" and TikTok's "lucas_miam" are one handle: they still join
    assert p.apply("handle", "@Lucas_Miam") == p.apply("handle", "lucas_miam") == pseudonym("handle", "lucas_miam", KEY)
    assert p.apply("name", "Sophie  Lambert ") == pseudonym("name", "sophie lambert", KEY)
    # the same text as another kind is another pseudonym (an e-mail is not a handle)
    assert p.apply("name", "lucas_miam") != p.apply("handle", "lucas_miam")
    assert p.apply("email", None) is None and p.apply("email", "  ") == "  "  # unknown stays unknown
    # a post URL keeps the post (its id), only the account's handle is replaced
    assert p.apply("post_url", "https://www.tiktok.com/@Lucas_Miam/video/7234567890123456789") == (
        f"https://www.tiktok.com/@{pseudonym('handle', 'lucas_miam', KEY)}/video/7234567890123456789")
    assert p.apply("post_url", "https://www.instagram.com/p/C6xYz12AbCd/") == "https://www.instagram.com/p/C6xYz12AbCd/"


def test_records_pseudonymises_a_vector_as_record_does_one_by_one():
    """The parse pseudonymises delivered records a vector at a time (``records``); the quarantine's
    text must be what ``record`` gives each one, whatever the record."""
    p = pii.Pseudonymiser(KEY.encode())
    texts = [
        '{"id":1,"name":"Sophie  Lambert","email":"S.L@Example.fr","score":4.50,"n":1e5}',
        '{"id":2,"name":"  ","email":null,"title":"Très bien"}',  # blank and null stay
        '{"id":3,"name":5}',  # not a string: unchanged text
        '{"id":4,"title":"no personal field"}',
        '[{"name":"in an array"}]', '"a string"', "", None,
        '{"id":5,"name":"Marie", "email":"broken',  # not JSON: the personal values where they stand
        '{"user":{"name":"Nested Name"},"name":"Top"}',
    ]
    fields = {("name",): "name", ("email",): "email"}
    out = p.records(fields, texts)
    assert out == [p.record(fields, t) for t in texts]
    assert pseudonym("name", "sophie lambert", KEY) in out[0] and "4.5" in out[0] and "Sophie" not in out[0]
    assert out[1:8] == texts[1:8] and "Marie" not in out[8]
    nested = {("user", "name"): "name"}
    assert p.records(nested, texts) == [p.record(nested, t) for t in texts]
    assert "Nested Name" not in p.records(nested, texts)[9]


def test_a_new_key_gives_new_pseudonyms():
    """Why docs/DECISIONS.md says a rotation breaks joins with history until a full reload."""
    old, new = pii.Pseudonymiser(b"old-key"), pii.Pseudonymiser(b"new-key")
    assert old.apply("handle", "lucas_miam") != new.apply("handle", "lucas_miam")


def test_the_key_comes_from_the_setting_and_is_never_shown(monkeypatch):
    monkeypatch.setenv("UGC_PII_KEY", KEY)
    settings = Settings.load()
    assert settings.pii_key == KEY
    assert KEY not in repr(settings) and KEY not in settings.describe() and KEY not in str(settings)
    p = pii.pseudonymiser_for(settings)
    assert KEY not in repr(p) and p.apply("email", "a@b.c") == pseudonym("email", "a@b.c", KEY)


def test_an_embedded_duckdb_without_a_key_generates_one_beside_the_warehouse(monkeypatch, tmp_path):
    monkeypatch.delenv("UGC_PII_KEY", raising=False)
    settings = Settings(warehouse_url=f"duckdb:///{tmp_path}/data/warehouse.duckdb")
    first = pii.pseudonymiser_for(settings)
    key_file = tmp_path / "data" / "warehouse.pii-key"
    assert key_file.is_file() and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
    again = pii.pseudonymiser_for(settings)  # every task of the warehouse reads the same key
    assert first.apply("email", "a@b.c") == again.apply("email", "a@b.c")
    other = pii.pseudonymiser_for(Settings(warehouse_url=f"duckdb:///{tmp_path}/other.duckdb"))
    assert other.apply("email", "a@b.c") != first.apply("email", "a@b.c")


def test_a_server_warehouse_without_a_key_refuses_to_ingest(monkeypatch):
    monkeypatch.delenv("UGC_PII_KEY", raising=False)
    with pytest.raises(pii.PiiKeyError, match="set UGC_PII_KEY"):
        pii.pseudonymiser_for(Settings(warehouse_url="postgresql+psycopg://ugc@db.example/ugc"))


def test_a_malformed_row_keeps_no_personal_field_whatever_its_shift():
    p = pii.Pseudonymiser(KEY.encode())
    header = ["review_id", "rating", "user_nickname", "title"]
    personal = {"user_nickname": "handle"}
    # a field too many before the nickname: it may be at position 2 or 3
    row = p.csv_row(header, personal, "RV-1,5,extra,marie59,Top", ",")
    assert "marie59" not in row and row.startswith("RV-1,5,") and row.endswith(f",{pseudonym('handle', 'marie59', KEY)},Top")
    # broken quoting: still split, still pseudonymised
    assert "marie59" not in p.csv_row(header, personal, 'RV-2,5,"marie59"x,Top', ",")


@pytest.mark.parametrize("conn", ['{"conn_type": "generic", "password": "k-0f7e-unit-secret"}',
                                  "generic://:k-0f7e-unit-secret@"])
def test_outside_airflow_the_key_connection_of_the_environment_counts_too(monkeypatch, conn):
    """``ugc-pipeline erase`` on a deployment that gives the key as the connection ugc_pii_key."""
    monkeypatch.delenv("UGC_PII_KEY", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_UGC_PII_KEY", conn)
    p = pii.pseudonymiser_for(Settings(warehouse_url="postgresql+psycopg://ugc@db.example/ugc"))
    assert p.apply("email", "a@b.c") == pseudonym("email", "a@b.c", KEY)
