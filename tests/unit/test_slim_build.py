"""The marts run's slim build (``transform.build_project`` with a kept ``dbt_dir``): after a
successful build, the views are built again only when their definition changed; the marts and
every dbt test run each time; a missing view or a new warehouse gives a full build."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from ugc_pipeline import transform
from ugc_pipeline.settings import Settings

STAGING_VIEW = "model.ugc_kpi.stg_yotpo__reviews"
DOWNSTREAM_VIEW = "model.ugc_kpi.int_ugc_items__unioned"
UNRELATED_VIEW = "model.ugc_kpi.stg_brand__stores"
MART = "model.ugc_kpi.ugc_daily"


def _settings(folder: Path) -> Settings:
    return Settings(landing_uri=str(folder / "landing"), warehouse_url=f"duckdb:///{folder / 'wh.duckdb'}",
                    timezone="Europe/Paris", dbt_dir=str(folder / "dbt"))


@pytest.fixture(scope="module")
def first_build(tmp_path_factory) -> tuple[Path, Path, transform.DbtRun]:
    """The first, full build on a new warehouse (what every test starts from), done once: the
    folder it ran in, a copy of that folder as the build left it (warehouse file and ``dbt_dir``,
    its saved state included), and what it ran."""
    workdir = tmp_path_factory.mktemp("slim") / "work"
    workdir.mkdir()
    run = transform.build_project(_settings(workdir))
    assert run.success
    assert not Path(f"{workdir / 'wh.duckdb'}.wal").exists()  # the file is the whole warehouse
    pristine = workdir.parent / "after-first-build"
    shutil.copytree(workdir, pristine)
    return workdir, pristine, run


@pytest.fixture
def settings(first_build) -> Settings:
    """A warehouse right after its first successful build. The slim build keys its saved state by
    the warehouse's path: each test gets the same path back, as the first build left it."""
    workdir, pristine, _ = first_build
    shutil.rmtree(workdir)
    shutil.copytree(pristine, workdir)
    return _settings(workdir)


def kinds(run: transform.DbtRun) -> dict[str, int]:
    out: dict[str, int] = {}
    for uid in run.nodes:
        out[uid.split(".")[0]] = out.get(uid.split(".")[0], 0) + 1
    return out


def test_unchanged_views_are_not_built_again_but_marts_and_tests_are(first_build, settings):
    full = first_build[2]
    slim = transform.build_project(settings)

    assert STAGING_VIEW in full.nodes and MART in full.nodes
    assert STAGING_VIEW not in slim.nodes and UNRELATED_VIEW not in slim.nodes
    assert MART in slim.nodes and slim.nodes[MART][0] == "success"
    assert kinds(slim)["test"] == kinds(full)["test"]  # every test, those on views included
    assert slim.success


def test_a_changed_view_is_built_again_with_what_depends_on_it(settings, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(transform.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    view = project / "models" / "staging" / "stg_yotpo__reviews.sql"
    # a new version of the view (same columns and rows): a filter that keeps every row
    view.write_text(view.read_text(encoding="utf-8") + "\nwhere 4242 = 4242\n", encoding="utf-8")

    run = transform.build_project(settings, project_dir=project)

    assert run.nodes[STAGING_VIEW][0] == "success" and run.nodes[DOWNSTREAM_VIEW][0] == "success"
    assert UNRELATED_VIEW not in run.nodes
    with duckdb.connect(settings.warehouse_url.removeprefix("duckdb:///"), read_only=True) as con:
        [(sql,)] = con.execute("select sql from duckdb_views() where schema_name = 'staging' "
                               "and view_name = 'stg_yotpo__reviews'").fetchall()
    assert "4242" in sql


def test_a_view_missing_from_the_warehouse_gives_a_full_build(settings):
    with duckdb.connect(settings.warehouse_url.removeprefix("duckdb:///")) as con:
        con.execute("drop view staging.stg_brand__stores cascade")

    run = transform.build_project(settings)

    assert run.nodes[UNRELATED_VIEW][0] == "success" and run.nodes[STAGING_VIEW][0] == "success"


def test_another_warehouse_with_the_same_dbt_dir_gets_a_full_build(settings, tmp_path):
    other = Settings(landing_uri=settings.landing_uri, warehouse_url=f"duckdb:///{tmp_path / 'other.duckdb'}",
                     timezone=settings.timezone, dbt_dir=settings.dbt_dir)

    run = transform.build_project(other)

    assert STAGING_VIEW in run.nodes and run.success
