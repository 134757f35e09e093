"""The data dictionary is generated from the metadata the code uses, and kept in sync."""

from pathlib import Path

from ugc_pipeline import catalog
from ugc_pipeline.docs import data_dictionary

DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data_dictionary.md"


def test_data_dictionary_is_up_to_date():
    assert DICTIONARY.read_text(encoding="utf-8") == data_dictionary(), (
        "docs/data_dictionary.md is stale: run `make docs` and commit it")


def test_every_mart_column_is_documented_and_selected_by_its_model():
    for spec in catalog.mart_specs():
        assert spec.description and spec.grain
        for column in spec.columns:
            assert column.description, f"{spec.qualified}.{column.name} has no description"
            assert column.name in spec.sql, f"{spec.qualified}.{column.name} is not produced by its model"
