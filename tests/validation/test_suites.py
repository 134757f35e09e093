"""The GX suites state the rules on the columns as the platforms deliver them: each expectation is
the rule's own type (not null, match regex, between, in set, unique) on a raw column of the table,
or on that column's typed reading ``<column>::<type>`` where a value is compared; and the
validation results and the Data Docs name them so.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from corpus import DAY, NEW_SKU, yotpo_review
from hypothesis import given, settings
from hypothesis import strategies as st
from ugc_pipeline.sources import SOURCES
from ugc_pipeline.validation import FORMATS, TIME_RANGE, build_checks, build_data_docs, reference_names

TABLES = [(source, table) for source in SOURCES.values() for table in source.tables]


def suite(source_name: str, table_name: str | None = None):
    source = SOURCES[source_name]
    table = next(t for t in source.tables if table_name in (None, t.name))
    references = {ref: {"KNOWN-1", "KNOWN-2"} for ref in reference_names(source)}
    checks, notes = build_checks(table, source, date.fromisoformat(DAY), "Europe/Paris", references)
    assert not notes
    return checks


def stated(check) -> tuple:
    """An expectation as (type, the column(s) it reads, its rule's own arguments)."""
    kwargs = check.expectation.configuration.kwargs
    column = kwargs.get("column") or tuple(kwargs.get("column_list", ()))
    arguments = {k: v for k, v in kwargs.items() if k not in ("column", "column_list", "batch_id", "row_condition")}
    return type(check.expectation).__name__, column, arguments


def test_yotpo_reviews_suite_is_the_rules_on_the_fields_as_yotpo_names_them():
    checks = suite("yotpo_reviews")
    expectations = [stated(c) for c in checks]
    int_format = {"regex": FORMATS["int"].regex}

    # the rules of the adapter, each on its field
    assert ("ExpectColumnValuesToBeBetween", "score::int", {"min_value": 1, "max_value": 5}) in expectations
    assert ("ExpectColumnValuesToMatchRegex", "score", int_format) in expectations
    assert ("ExpectColumnValuesToBeBetween", "votes_up::int", {"min_value": 0}) in expectations
    assert ("ExpectColumnValuesToBeInSet", "sku", {"value_set": {"$PARAMETER": "products__sku"}}) in expectations
    assert ("ExpectCompoundColumnsToBeUnique", ("id", "updated_at"), {}) in expectations
    assert ("ExpectColumnValuesToBeBetween", "created_at::timestamp",
            {"max_value": {"$PARAMETER": "created_at__cutoff"}, "strict_max": True}) in expectations
    assert [column for kind, column, _ in expectations if kind == "ExpectColumnValuesToNotBeNull"] == [
        "id", "sku", "score", "created_at"]
    # a text in the format that is no time (2025-02-30) or outside 1900-2200 reads as NO_TIME: refused
    for field in ("created_at", "updated_at"):
        assert ("ExpectColumnValuesToBeBetween", f"{field}::timestamp",
                {"min_value": TIME_RANGE[0], "max_value": TIME_RANGE[1]}) in expectations
    # and the Data Docs' words are the rule, naming the field
    rules = {stated(c)[:2]: c.rule for c in checks}
    assert rules["ExpectColumnValuesToBeBetween", "score::int"].startswith("score between 1 and 5")
    assert rules["ExpectColumnValuesToBeInSet", "sku"].startswith("sku in products.sku")
    assert rules["ExpectColumnValuesToMatchRegex", "created_at"].startswith("created_at is an ISO 8601 date and time")
    assert rules["ExpectCompoundColumnsToBeUnique", ("id", "updated_at")].startswith("(id, updated_at) is unique")
    assert rules["ExpectColumnValuesToBeBetween", "created_at::timestamp"].startswith(
        "created_at is not after the end of the delivery day")


@pytest.mark.parametrize(("source", "table"), TABLES, ids=[t.name for _, t in TABLES])
def test_every_expectation_reads_a_raw_column_or_its_typed_reading(source, table):
    raw = {c.name for c in table.columns}
    for check in suite(source.name, table.name):
        kind, column, _ = stated(check)
        for name in column if isinstance(column, tuple) else [column] if column else []:
            assert name.split("::")[0] in raw, f"{table.name}: {kind} on {name}"
            assert "::" not in name or name.split("::")[1] in ("int", "double", "timestamp", "date"), name
        assert check.rule and check.expectation.configuration.kwargs.get("batch_id") is None
    # every rule of the adapter is there, on its field
    kinds = {("ExpectColumnValuesToBeBetween", "between"), ("ExpectColumnValuesToBeInSet", "resolves"),
             ("ExpectColumnValuesToBeInSet", "in_set"), ("ExpectColumnValuesToMatchRegex", "in_set")}
    for rule in table.rules:
        assert any((stated(c)[0], rule.kind) in kinds and stated(c)[1].split("::")[0] == rule.columns[0]
                   for c in suite(source.name, table.name)), rule.description


def test_a_case_insensitive_set_is_a_regex_of_its_values_in_any_case():
    [check] = [c for c in suite("retailer_reviews") if stated(c)[:2] == ("ExpectColumnValuesToMatchRegex",
                                                                           "moderation_status")]
    assert check.expectation.regex == "^ *(?i:APPROVED|PENDING|REJECTED|NOT_APPROVED|SUBMITTED) *\\Z"
    assert check.rule == "moderation_status in (APPROVED, PENDING, REJECTED, NOT_APPROVED, SUBMITTED), in any case"


def test_a_reference_on_two_fields_checks_the_first_present_one_unless_the_other_resolves():
    checks = [c for c in suite("retailer_reviews") if stated(c)[0] == "ExpectColumnValuesToBeInSet"]
    assert [(stated(c)[1], c.expectation.row_condition.dict()) for c in checks] == [
        ("product_id", {"type": "comparison", "column": {"name": "gtin"}, "operator": "NOT_IN",
                        "parameter": ["KNOWN-1", "KNOWN-2"]}),
        ("gtin", {"type": "nullity", "column": {"name": "product_id"}, "is_null": True})]


# -- the formats: a text in the format is a value the warehouse reads ---------------------------

def duckdb_reads(text: str, sql_type: str) -> bool:
    return duckdb.execute(f"select try_cast(trim(?) as {sql_type}) is not null", [text]).fetchone()[0]


@pytest.mark.parametrize(("value_type", "sql_type"), [("int", "bigint"), ("float", "double"), ("bool", "boolean"),
                                                      ("unix_seconds", "bigint")])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_text_in_a_number_or_boolean_format_is_read_by_duckdb(value_type, sql_type, data):
    """These formats have no separate "reads as a real value" expectation: the format must be enough."""
    text = data.draw(st.from_regex(FORMATS[value_type].regex, fullmatch=True))
    assert duckdb_reads(text, sql_type), repr(text)


@pytest.mark.parametrize(("value_type", "good", "bad"), [
    ("int", ["4", " 12 ", "-3", "+7"], ["4.5", "1,2k", "", "cinq", "12\n", "1" * 19]),
    ("float", ["915.00", "1e5", ".5", "5."], ["12,50", "nan", "1_000", "0x10"]),
    ("bool", ["true", "FALSE", "y", "0", " Yes "], ["N/A", "Oui", "on", "2"]),
    ("timestamp", ["2025-05-06T10:12:00Z", "2025-05-06T10:12:00.123456789Z", "2025-05-02T07:56:32+0000",
                   "2026-03-08 21:10:00", "2025-05-06T18:30:00+02:00", "2025-05-06", "2025-05-06 10:00:00 UTC"],
     ["06/05/2025 10:12", "hier 18h", "epoch", "1746511200"]),
    ("date", ["2025-05-06"], ["05/05/2025", "2025/05/06", "2025-05-06 10:00"]),
])
def test_formats_accept_what_the_platforms_send_and_refuse_the_rest(value_type, good, bad):
    import re

    regex = re.compile(FORMATS[value_type].regex)
    assert [t for t in good if not regex.search(t)] == []
    assert [t for t in bad if regex.search(t)] == []


def test_a_time_in_the_format_that_is_no_real_time_is_not_a_valid_timestamp(business_env):
    env = business_env
    good = [yotpo_review(487000950 + i) for i in range(4)]
    bad = [yotpo_review(487000960 + i, created=created, updated="2025-05-06T09:00:00Z")
           for i, created in enumerate(("2025-02-30T10:00:00Z", "1850-05-06T10:00:00Z", "2999-05-06T10:00:00Z"))]
    env.deliver("yotpo_reviews", DAY, {"page.json": {"reviews": good + bad}})

    env.ingest("yotpo_reviews", DAY)

    # one reason each: not "in the future" for the year 2999
    assert [r["reasons"] for r in env.rejects()] == [
        "created_at is a valid timestamp (got 2025-02-30T10:00:00Z)",
        "created_at is a valid timestamp (got 1850-05-06T10:00:00Z)",
        "created_at is a valid timestamp (got 2999-05-06T10:00:00Z)"]


# -- the validation results and the Data Docs name the rules and the fields ---------------------

def test_validation_results_and_data_docs_name_the_rules_on_the_fields(business_env, tmp_path):
    gx_dir = tmp_path / "gx"
    env = business_env.with_settings(gx_dir=str(gx_dir))
    env.deliver("yotpo_reviews", DAY, {"page.json": {"reviews": [
        yotpo_review(487000901), yotpo_review(487000902), yotpo_review(487000903, score=9),
        yotpo_review(487000904, NEW_SKU)]}})

    result = env.ingest("yotpo_reviews", DAY)
    build_data_docs(str(gx_dir))

    assert result.records_rejected == 2
    [stored] = [p for p in gx_dir.rglob("*.json") if "validations" in p.parts]
    results = {(r["expectation_config"]["type"], r["expectation_config"]["kwargs"].get("column")): r
               for r in json.loads(stored.read_text())["results"]}
    score = results["expect_column_values_to_be_between", "score::int"]
    assert (score["success"], score["result"]["unexpected_count"]) == (False, 1)
    assert score["expectation_config"]["description"].startswith("score between 1 and 5")
    sku = results["expect_column_values_to_be_in_set", "sku"]
    assert (sku["success"], sku["result"]["unexpected_count"]) == (False, 1)
    assert sku["expectation_config"]["meta"]["reference"] == "products.sku"
    assert results["expect_column_values_to_match_regex", "created_at"]["success"]

    [page] = [p for p in gx_dir.rglob("*.html") if "validations" in Path(p).parts]
    html = page.read_text(encoding="utf-8")
    for words in ("score between 1 and 5", "sku in products.sku", "(id, updated_at) is unique",
                  "created_at is an ISO 8601 date and time", "created_at is not after the end of the delivery day"):
        assert words in html, words
    assert "__unparseable" not in html and "__duplicate" not in html and "__value" not in html
