# syntax=docker/dockerfile:1
#
# The Airflow image of the UGC KPI pipeline: the official apache/airflow:3.3.2 image (Python 3.11,
# the Python of uv.lock), extended as Airflow's docs recommend ("Building the image": add
# requirements with `uv pip install` on top of the image), with
#   - the project's locked requirements: exported from uv.lock at build time by the same uv as the
#     Makefile (`uv export --frozen --no-dev`), so the image has exactly the versions CI tests;
#   - the ugc_pipeline package (include/), installed editable so that a mounted include/ is used
#     as is, with the DAGs, plugins and SQL models laid out as in the repository under /opt/airflow.
# The image keeps the providers apache/airflow ships (FAB, used by docker-compose.yaml's auth
# manager, among them). No secret enters the image: .dockerignore lets in only the files below.
#
#   docker compose build                 (what `docker compose up --build` does)
#   docker build -t ugc-kpi-pipeline/airflow:3.3.2 .

ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
ARG UV_VERSION=0.13.8

# -- the locked requirements ------------------------------------------------------------------------
FROM ${AIRFLOW_IMAGE} AS requirements
ARG UV_VERSION
COPY --chown=airflow:0 pyproject.toml uv.lock /tmp/lock/
RUN python -m venv /tmp/uv \
 && PIP_USER=false /tmp/uv/bin/pip install --no-cache-dir --quiet "uv==${UV_VERSION}" \
 && cd /tmp/lock \
 && /tmp/uv/bin/uv export --frozen --no-dev --no-hashes --no-emit-project --output-file /tmp/requirements.txt

# -- the image --------------------------------------------------------------------------------------
FROM ${AIRFLOW_IMAGE}
COPY --from=requirements --chown=airflow:0 /tmp/requirements.txt /opt/ugc/requirements.txt
# The locked versions go over the image's own: `uv pip check` fails the build when one of them
# breaks what another installed package (a provider the image ships) requires. Compiled to
# bytecode at build time: every task process imports GX, dbt and pandas, and a new container
# would otherwise compile them on its first imports (or on every one, under PYTHONDONTWRITEBYTECODE).
RUN uv pip install --no-cache --compile-bytecode -r /opt/ugc/requirements.txt \
 && uv pip check

# The project, laid out as in the repository: catalog.py finds sql/ two levels above the package.
COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/
COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 sql/ /opt/airflow/sql/
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
RUN uv pip install --no-cache --no-deps --editable /opt/airflow \
 && python -c "import ugc_pipeline.pipeline, ugc_pipeline.catalog as c; assert c.sql_dir().is_dir(), c.sql_dir()" \
 && python -c "import airflow.providers.celery, airflow.providers.postgres, airflow.providers.amazon, duckdb, psycopg, psycopg2, s3fs"

# Where docker-compose.yaml mounts a local landing zone (UGC_LANDING_URI may point to s3:// instead),
# and the folder of the `ugc-artifacts` volume (GX Data Docs, dbt docs site, report), group-writable
# as the image's other folders: the processes run as AIRFLOW_UID with group 0.
USER root
RUN mkdir -p /opt/ugc/artifacts/gx /opt/ugc/artifacts/dbt /opt/ugc/artifacts/report \
 && chown -R airflow:0 /opt/ugc/artifacts \
 && chmod -R g+rwX /opt/ugc/artifacts
USER airflow
ENV UGC_LANDING_URI=/opt/ugc/landing
