"""Without a PostgreSQL server the PostgreSQL tests skip, with the reason; with CI=true they fail."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, Skipped
from support.postgres import unavailable


def test_no_server_skips_locally():
    with pytest.raises(Skipped, match="no PostgreSQL server answers"):
        unavailable("no PostgreSQL server answers at postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                    environ={})


@pytest.mark.parametrize("ci", ["true", "TRUE", " true "])
def test_no_server_fails_in_ci(ci):
    with pytest.raises(Failed, match="CI=true"):
        unavailable("no PostgreSQL server answers", environ={"CI": ci})


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_other_ci_values_skip(ci):
    with pytest.raises(Skipped):
        unavailable("no PostgreSQL server answers", environ={"CI": ci})
