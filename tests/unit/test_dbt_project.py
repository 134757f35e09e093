"""The dbt project in sql/: its layout, a description for every model and every column it really
outputs, the union model's platforms against the adapters' registry, the generated raw sources,
the docs persisted as comments in the warehouse, and ``ugc-pipeline dbt``.

One ``ugc-pipeline dbt build`` on an empty DuckDB warehouse (the command creates the raw and
audit tables) is shared by the module: the views and marts it creates are what the models output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml
from ugc_pipeline import cli
from ugc_pipeline.docs import RAW_SOURCES_FILE, raw_sources_yaml
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import raw_tables
from ugc_pipeline.transform import DBT_PROJECT_DIR, PASSWORD_ENV

MODELS = DBT_PROJECT_DIR / "models"
LAYERS = {"staging": "stg_", "intermediate": "int_", "marts": ""}


def layer_yaml(layer: str) -> dict[str, dict]:
    """The models documented in a layer's YAML files, by name (YAML anchors resolved)."""
    out = {}
    for path in sorted((MODELS / layer).glob("*.yml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            assert entry["name"] not in out, f"{entry['name']} documented twice ({path.name})"
            out[entry["name"]] = entry
    return out


@dataclass
class Build:
    exit_code: int
    dbt_dir: Path
    warehouse: Path

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.sql(sql).fetchall()


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Build:
    root = tmp_path_factory.mktemp("dbt_project")
    warehouse = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UGC_WAREHOUSE_URL", f"duckdb:///{warehouse}")
        mp.setenv("UGC_DBT_DIR", str(root / "dbt"))
        mp.setenv("UGC_TIMEZONE", "Europe/Paris")
        exit_code = cli.main(["dbt", "build"])
    return Build(exit_code, root / "dbt", warehouse)


# -- layout ------------------------------------------------------------------------------------

def test_the_dbt_project_layout():
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["name"] == project["profile"] == "ugc_kpi"
    assert project["model-paths"] == ["models"] and project["macro-paths"] == ["macros"]
    assert project["models"]["ugc_kpi"]["+persist_docs"] == {"relation": True, "columns": True}
    assert {"dialect.sql", "generate_schema_name.sql", "ugc_union_items.sql"} <= {
        p.name for p in (DBT_PROJECT_DIR / "macros").glob("*.sql")}
    assert (MODELS / RAW_SOURCES_FILE.removeprefix("models/")).exists()
    assert (MODELS / "audit" / "_audit__sources.yml").exists()
    for layer, prefix in LAYERS.items():
        files = {p.stem for p in (MODELS / layer).glob("*.sql")}
        documented = set(layer_yaml(layer))
        assert files, f"no model in models/{layer}"
        assert all(name.startswith(prefix) for name in files), f"models/{layer}: names start with {prefix!r}"
        assert files - documented == set(), f"models/{layer}: models without YAML: {sorted(files - documented)}"
        assert documented - files == set(), f"models/{layer}: YAML for no model: {sorted(documented - files)}"


# -- every model and column described ----------------------------------------------------------

def test_the_build_succeeds_through_ugc_pipeline_dbt(build):
    assert build.exit_code == 0
    results = json.loads((build.dbt_dir / "target" / "run_results.json").read_text(encoding="utf-8"))
    failed = [r["unique_id"] for r in results["results"] if r["status"] not in ("success", "pass")]
    assert not failed, failed
    assert (build.dbt_dir / "target" / "manifest.json").exists()


def test_every_model_and_every_column_it_outputs_is_described(build):
    built: dict[str, list[str]] = {}
    for schema, table, column in build.query(
            "select schema_name, table_name, column_name from duckdb_columns() "
            f"where schema_name in ({', '.join(repr(layer) for layer in LAYERS)}) "
            "order by schema_name, table_name, column_index"):
        built.setdefault(f"{schema}.{table}", []).append(column)
    documented = {f"{layer}.{name}": entry for layer in LAYERS for name, entry in layer_yaml(layer).items()}
    assert sorted(built) == sorted(documented), "every model is built, and documented"
    for relation, columns in built.items():
        entry = documented[relation]
        assert (entry.get("description") or "").strip(), f"{relation} has no description"
        described = [c["name"] for c in entry.get("columns") or []]
        assert described == columns, f"{relation}: the YAML's columns are not the ones the model outputs"
        for column in entry["columns"]:
            assert (column.get("description") or "").strip(), f"{relation}.{column['name']} has no description"


def test_docs_are_persisted_as_comments_in_the_warehouse(build):
    """persist_docs: the descriptions are in the database itself (DBeaver, Metabase, duckdb_columns())."""
    marts = layer_yaml("marts")
    tables = dict(build.query("select table_name, comment from duckdb_tables() where schema_name = 'marts'"))
    assert set(tables) == set(marts)
    comments = {(t, c): comment for t, c, comment in build.query(
        "select table_name, column_name, comment from duckdb_columns() where schema_name = 'marts'")}
    for name, entry in marts.items():
        assert tables[name] == entry["description"].strip()
        for column in entry["columns"]:
            assert comments[(name, column["name"])] == column["description"].strip(), f"{name}.{column['name']}"
    # the views too
    undescribed = build.query(
        "select schema_name || '.' || table_name || '.' || column_name from duckdb_columns() "
        "where schema_name in ('staging', 'intermediate') and coalesce(comment, '') = ''")
    assert not undescribed
    assert not build.query("select view_name from duckdb_views() "
                           "where schema_name in ('staging', 'intermediate') and coalesce(comment, '') = ''")


# -- generated and registry-driven parts --------------------------------------------------------

def test_the_union_model_unions_the_registrys_platforms():
    sql = (MODELS / "intermediate" / "int_ugc_items__unioned.sql").read_text(encoding="utf-8")
    unioned = re.findall(r"'(\w+)'\s*:\s*'(\w+)'", sql)
    registry = [(t.name, t.ugc_model) for t in raw_tables() if t.ugc_model]
    assert unioned == registry, (
        "int_ugc_items__unioned.sql must list each UGC raw table and its staging model, as the adapters do")
    staging = layer_yaml("staging")
    shared = staging[registry[0][1]]["columns"]
    for _, model in registry:
        assert staging[model]["columns"] == shared, f"{model} documents other columns than the UGC item columns"


def test_the_raw_sources_file_is_up_to_date():
    assert (DBT_PROJECT_DIR / RAW_SOURCES_FILE).read_text(encoding="utf-8") == raw_sources_yaml(), (
        f"sql/{RAW_SOURCES_FILE} is stale: run make docs and commit it")


def test_staging_reads_every_mixed_case_raw_column_quoted():
    """Raw columns keep the platforms' names (``createTime``): PostgreSQL folds a bare name to
    lower case, so a staging model must quote them (DuckDB, case-insensitive, would not tell)."""
    tables = {t.name: t for t in raw_tables()}
    read = set()
    for path in sorted((MODELS / "staging").glob("stg_*.sql")):
        sql = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))  # not the comments
        for name in re.findall(r"source\('raw',\s*'(\w+)'\)", sql):
            read.add(name)
            for column in (c.name for c in tables[name].columns if c.name != c.name.lower()):
                bare = re.findall(rf'(?<!["\w]){re.escape(column)}(?!["\w])', sql)
                assert not bare, f"{path.name}: {column} must be quoted (\"{column}\")"
    assert read == set(tables), "every raw table has its staging model"


# -- ugc-pipeline dbt --------------------------------------------------------------------------

def test_the_dbt_profile_keeps_the_password_out_of_the_file(tmp_path):
    settings = Settings(warehouse_url="postgresql://kpi:s3cr%40t@db.example:5433/ugc", dbt_dir=str(tmp_path))
    command, env = cli.dbt_command(["test", "--select", "marts"], settings)
    profile = (tmp_path / "profile" / "profiles.yml").read_text(encoding="utf-8")
    assert "s3cr" not in profile and PASSWORD_ENV in profile
    assert env[PASSWORD_ENV] == "s3cr@t"
    assert env["DBT_PROFILES_DIR"] == str(tmp_path / "profile")
    assert env["DBT_TARGET_PATH"] == str(tmp_path / "target")
    assert env["DBT_PROJECT_DIR"] == str(DBT_PROJECT_DIR)
    assert command[-5:-2] == ["test", "--select", "marts"]
    assert command[-2] == "--vars"
    assert json.loads(command[-1]) == {"kpi_timezone": settings.timezone, "min_sessions": 100, "min_orders": 10,
                                       "min_stores_per_arm": 5}


def test_the_users_vars_are_merged_with_the_kpi_time_zone(tmp_path):
    settings = Settings(warehouse_url=f"duckdb:///{tmp_path / 'wh.duckdb'}", dbt_dir=str(tmp_path),
                        timezone="America/New_York", min_orders=25)
    command, _ = cli.dbt_command(["build", "--vars", "{ugc_tiktok_videos_enabled: false, min_sessions: 500}",
                                  "-s", "staging"], settings)
    assert command.count("--vars") == 1
    # the settings (time zone, verdict thresholds), the user's --vars winning
    assert json.loads(command[command.index("--vars") + 1]) == {
        "kpi_timezone": "America/New_York", "ugc_tiktok_videos_enabled": False, "min_sessions": 500,
        "min_orders": 25, "min_stores_per_arm": 5}
    assert command[-4:-2] == ["-s", "staging"]
    command, _ = cli.dbt_command(["--version"], settings)  # no dbt command: no --vars
    assert command[-1] == "--version"


def test_ugc_pipeline_dbt_passes_dbts_exit_code_through(tmp_path, monkeypatch):
    """(The module's build shows 0 passed through; dbt says 1 for a failed node, 2 for an error.)"""
    import subprocess

    monkeypatch.setenv("UGC_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'wh.duckdb'}")
    monkeypatch.setenv("UGC_DBT_DIR", str(tmp_path / "dbt"))
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: ran.append(command) or
                        subprocess.CompletedProcess(command, 1))
    assert cli.main(["dbt", "ls", "--select", "marts"]) == 1
    assert ran[0][-5:-2] == ["ls", "--select", "marts"]
    assert cli.main(["dbt"]) == cli.EXIT_USAGE


def test_behavior_flags_get_the_source_dbt_would_give_them_without_inspect_stack(monkeypatch):
    """``run_dbt`` replaces dbt-common's stack walk for a behavior flag's default source (see
    ``transform._cheaper_behavior_flags``): a flag without a source is named after the module that
    rendered it, as by dbt's own ``inspect.stack()`` walk; a flag with one keeps it."""
    from dbt_common.behavior_flags import Behavior, BehaviorFlagRendered
    from ugc_pipeline import transform

    transform._cheaper_behavior_flags()
    flags = [{"name": "ugc_unnamed", "default": False, "description": "no source"},
             {"name": "ugc_named", "default": True, "description": "a source", "source": "dbt-example"}]

    def sources() -> list[str]:
        behavior = Behavior(flags, {})
        return [getattr(behavior, f["name"])._behavior_change_event.flag_source for f in flags]

    cheap = sources()
    monkeypatch.setattr(BehaviorFlagRendered, "_default_source",
                        staticmethod(BehaviorFlagRendered._inspect_default_source))
    assert cheap == sources() == [__name__, "dbt-example"]
