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


def test_the_dictionary_names_the_files_it_is_made_from():
    """No stale path in the header (the metadata moved into the dbt project's YAML)."""
    import re

    root = DICTIONARY.parents[1]
    header = data_dictionary().split("\n## ", 1)[0]
    paths = re.findall(r"`((?:sql|include)/[^`]+)`", header)
    assert "sql/models/audit/_audit__sources.yml" in paths
    for path in paths:
        folder, _, name = path.rstrip("/").rpartition("/")
        found = list((root / folder).glob(name.replace("<mart>", "*")))
        assert found, f"docs/data_dictionary.md names {path}, which does not exist"
