# Two commands a new user needs:  make demo  (pipeline end to end)  and  make test  (test suite).
# Everything installs into the project: .tools/ (uv itself) and .venv/ (locked dependencies).

PYTHON ?= python3.11
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: install demo test lint docs dbt airflow-ui clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# --compile-bytecode: every task, test and benchmark process imports Airflow, GX, dbt and pandas;
# without .pyc files (PYTHONDONTWRITEBYTECODE=1 on our machines) each would compile them again
# (5.7 instead of 12.6 CPU-s to import the four, measured 2026-12-06; docs/BENCHMARKS.md)
.venv/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	touch .venv/.synced

install: .venv/.synced

demo: install  ## sample exports -> Airflow DAG runs -> DuckDB marts -> KPI summary
	.venv/bin/ugc-pipeline demo

test: install  ## the whole test suite (what CI runs), one pytest-xdist worker per core
	.venv/bin/pytest -n auto --dist loadgroup

lint: install
	.venv/bin/ruff check .

docs: install  ## regenerate docs/data_dictionary.md from the metadata
	.venv/bin/ugc-pipeline docs

dbt: install  ## dbt on the configured warehouse (UGC_* settings), e.g. make dbt ARGS="build" / "test" / "docs generate --static"
	.venv/bin/ugc-pipeline dbt $(ARGS)

airflow-ui: install  ## local Airflow (api-server, scheduler, dag-processor, triggerer) on :8080
	./scripts/airflow-standalone

clean:
	rm -rf .venv .tools .airflow data
