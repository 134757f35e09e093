"""Airflow's connections as the deployment's conventions: the warehouse and the landing zone.

- **The warehouse** is the Airflow connection ``UGC_WAREHOUSE_CONN_ID`` (default
  ``ugc_warehouse``; in compose ``AIRFLOW_CONN_UGC_WAREHOUSE``), a ``postgres`` connection read
  with the Postgres provider's ``PostgresHook``. When it exists it is the warehouse of every task
  and of the dbt profile; when it does not, ``UGC_WAREHOUSE_URL`` (default: the embedded DuckDB
  file) is, so the embedded default needs no connection and the CLI works outside Airflow.
- **The landing zone**, when it is not a local folder (``s3://...``), is read through Airflow's
  object storage, ``ObjectStoragePath`` with the connection ``UGC_LANDING_CONN_ID`` (default
  ``aws_default``): credentials, region and endpoint come from that connection, not from
  ``AWS_*`` variables (``ugc_pipeline.landing``).

Importing this module is cheap; Airflow and its providers are imported when a function runs.
"""

from __future__ import annotations

import logging
import os

from ugc_pipeline.settings import SettingsError

log = logging.getLogger(__name__)

DEFAULT_WAREHOUSE_CONN_ID = "ugc_warehouse"
DEFAULT_LANDING_CONN_ID = "aws_default"

# libpq parameters a postgres connection may carry in its extras; they become query parameters of
# the SQLAlchemy URL (the driver's connect arguments) and fields of the dbt profile.
LIBPQ_EXTRAS = frozenset({
    "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword", "sslnegotiation", "connect_timeout",
    "application_name", "options", "target_session_attrs", "keepalives", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "gssencmode", "channel_binding"})


def _not_found_errors() -> tuple[type[BaseException], ...]:
    from airflow.exceptions import AirflowNotFoundException as CoreNotFound

    try:
        from airflow.sdk.exceptions import AirflowNotFoundException as SdkNotFound
    except ImportError:  # pragma: no cover - Airflow 3.3 has both
        return (CoreNotFound,)
    return (CoreNotFound, SdkNotFound)


def warehouse_url_from_connection(conn_id: str = DEFAULT_WAREHOUSE_CONN_ID) -> str | None:
    """The SQLAlchemy URL (psycopg 3) of the Airflow connection ``conn_id``, read with the Postgres
    provider's hook, or None when no such connection exists. Its libpq extras (``sslmode``...)
    are kept as query parameters. Only a ``postgres`` connection can be the warehouse: the
    embedded DuckDB needs none (``UGC_WAREHOUSE_URL``)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id=conn_id)
    try:
        conn = hook.connection
    except _not_found_errors():
        return None
    if (conn.conn_type or "").lower() not in ("postgres", "postgresql"):
        raise SettingsError(f"the Airflow connection {conn_id!r} is of type {conn.conn_type!r}; the warehouse "
                            "connection must be a postgres connection (a DuckDB warehouse needs none: "
                            "UGC_WAREHOUSE_URL=duckdb:///path)")
    url = hook.sqlalchemy_url
    extras = {k: str(v) for k, v in (conn.extra_dejson or {}).items() if k in LIBPQ_EXTRAS}
    url = url.set(drivername="postgresql+psycopg").update_query_dict(extras)
    return url.render_as_string(hide_password=False)


def warehouse_url_outside_tasks(conn_id: str, fallback: str) -> str:
    """For the CLI (outside Airflow's tasks): the connection when it is given in the environment
    (``AIRFLOW_CONN_<ID>``, what the tasks it starts would find first), else ``fallback``
    (``UGC_WAREHOUSE_URL``). The metadata DB is not searched: the CLI works without one."""
    if not os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}"):
        return fallback
    return warehouse_url_from_connection(conn_id) or fallback


def landing_filesystem(uri: str, conn_id: str = DEFAULT_LANDING_CONN_ID):
    """(fsspec filesystem, root path) of a remote landing zone through Airflow's object storage:
    ``ObjectStoragePath(uri, conn_id=conn_id)``; the provider of the URI's scheme builds the
    filesystem from the connection (Amazon's ``S3Hook`` for ``s3://``). A connection id that does
    not exist leaves the provider to its defaults (for S3: botocore's own chain, e.g. an instance
    role)."""
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(uri, conn_id=conn_id or None)
    return path.fs, path.path.rstrip("/")
