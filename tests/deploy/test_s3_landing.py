"""A landing zone on S3: ``UGC_LANDING_URI=s3://bucket/prefix`` gives the same warehouse as the
same files on the local disk.

Every delivery of the sample is parsed from both places (same tables, same rows, same file names,
same set-aside records); one delivery day, the richest (snapshots, fact history, the UGC of every
source), is ingested from both into two warehouses, which must hold the same raw layer, run
records and quarantine. The marts are a function of the raw layer (tests/e2e and tests/postgres
check them); they are not built again here.

The S3 server is real: moto's server mode (``ThreadedMotoServer``), an HTTP server on a free port
of 127.0.0.1 started by the test, that s3fs/botocore talk to over HTTP as they would to AWS or
MinIO. Nothing in the client is mocked: the endpoint and credentials reach s3fs only through the
Airflow connection (``aws_default``, or the one ``UGC_LANDING_CONN_ID`` names) that Airflow's object
storage (``ObjectStoragePath``) reads, as docs/DEPLOYING.md tells a deployment to set it; no
``AWS_*`` credential or endpoint variable is set.
"""

from __future__ import annotations

import json
import logging
import socket
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from ugc_pipeline import warehouse
from ugc_pipeline.landing import Landing
from ugc_pipeline.parse import DeliveryError, parse_delivery
from ugc_pipeline.pipeline import ingest_source
from ugc_pipeline.sample import write_sample_landing
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import SOURCES, raw_tables

BUCKET = "ugc-exports"
PREFIX = "brand/landing"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """A real S3-compatible server on loopback for the module; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _clear_s3fs_cache() -> None:
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # fsspec caches instances (and their endpoint) per arguments


def _aws_connection(endpoint: str, service_specific: bool = False) -> str:
    """An Airflow ``aws`` connection (JSON form of ``AIRFLOW_CONN_<ID>``) for the test's server."""
    extra = {"region_name": "eu-west-3"}
    if service_specific:  # the endpoint for S3 only, as for a MinIO next to real AWS
        extra["service_config"] = {"s3": {"endpoint_url": endpoint}}
    else:
        extra["endpoint_url"] = endpoint
    return json.dumps({"conn_type": "aws", "login": "test-access-key", "password": "test-secret-key", "extra": extra})


@pytest.fixture
def aws_env(s3_server, monkeypatch, tmp_path):
    """The connection ``aws_default`` pointing at the test's server; no AWS variable, user or host
    AWS config: without the connection nothing could reach the server."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SECURITY_TOKEN",
                 "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", _aws_connection(s3_server))
    _clear_s3fs_cache()
    yield monkeypatch
    _clear_s3fs_cache()


def _upload(endpoint: str, local_root: Path, bucket: str, prefix: str) -> int:
    """Copy a landing zone into a new bucket with boto3 (what an export job would do)."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-3", aws_access_key_id="test-access-key",
                          aws_secret_access_key="test-secret-key")
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    files = sorted(p for p in local_root.rglob("*") if p.is_file())
    for path in files:
        client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(local_root).as_posix()}")
    return len(files)


def _fetch(url: str, sql: str) -> list[tuple]:
    engine = warehouse.create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).fetchall()]
    finally:
        engine.dispose()


def test_s3_landing_zone_gives_the_same_warehouse_as_the_local_one(aws_env, s3_server, tmp_path):
    sample = write_sample_landing(tmp_path / "landing", campaign_days=2, extra_delivery_days=0)
    uploaded = _upload(s3_server, sample.root, BUCKET, PREFIX)
    assert uploaded > 20

    uri = f"s3://{BUCKET}/{PREFIX}"
    landing, local_landing = Landing.for_settings(Settings(landing_uri=uri)), Landing(str(sample.root))
    assert not landing.is_local and landing.conn_id == "aws_default"
    assert landing.delivery_dates("products") == local_landing.delivery_dates("products")
    files = landing.files("retailer_reviews", sample.delivery_dates[1])
    assert files and all(f.path.startswith(f"{uri}/retailer_reviews/") for f in files)
    assert all(f.name.startswith("retailer_reviews/") for f in files), "errors must name files relative to the root"
    assert landing.files("tiktok_videos", date(2024, 1, 1)) is None  # a missing folder is no delivery

    # every delivery parses from S3 to exactly what it parses to from the local disk
    parsed = 0
    for day in sample.delivery_dates:
        for source in SOURCES.values():
            local_files, s3_files = local_landing.files(source.name, day), landing.files(source.name, day)
            assert (s3_files is None) == (local_files is None), (source.name, day)
            if local_files is None:
                continue
            assert [f.name for f in s3_files] == [f.name for f in local_files]
            local, remote = parse_delivery(source, local_landing, local_files), parse_delivery(source, landing, s3_files)
            assert sorted(remote) == sorted(local), (source.name, day)
            for name, table in local.items():
                assert remote[name].arrow.equals(table.arrow), (source.name, day, name)
                assert remote[name].rejects.equals(table.rejects), (source.name, day, name)
                parsed += table.arrow.num_rows
    assert parsed > 1000

    # the richest day ingested from both: the same warehouse
    day = sample.delivery_dates[0]
    local = Settings(landing_uri=str(sample.root), warehouse_url=f"duckdb:///{tmp_path / 'local.duckdb'}")
    remote = Settings(landing_uri=uri, warehouse_url=f"duckdb:///{tmp_path / 's3.duckdb'}")
    for settings in (local, remote):
        results = [ingest_source(source, day, settings, run_id=f"s3-test-{day}") for source in SOURCES]
        assert sum(r.status == "success" for r in results) >= 10, [r.summary() for r in results]
    assert _fetch(local.warehouse_url, "select count(*) from raw.yotpo_reviews") != [(0,)]
    for table in sorted(f"raw.{t.name}" for t in raw_tables()):
        columns = "* exclude (run_id, loaded_at)"
        query = f"select {columns} from {table} order by all"
        assert _fetch(remote.warehouse_url, query) == _fetch(local.warehouse_url, query), table

    runs = ("select source, delivery_date, status, files_read, records_read, records_loaded, records_rejected "
            "from audit.pipeline_runs order by source, delivery_date")
    assert _fetch(remote.warehouse_url, runs) == _fetch(local.warehouse_url, runs)
    rejects = "select source, delivery_date, file, position, reasons, raw from audit.rejected_records order by 1, 2, 3, 4"
    assert _fetch(remote.warehouse_url, rejects) == _fetch(local.warehouse_url, rejects)


def test_the_landing_connection_is_the_one_the_setting_names(aws_env, s3_server, tmp_path):
    """UGC_LANDING_CONN_ID names another connection (here with an S3-only endpoint, as for a MinIO
    next to real AWS); ``aws_default`` points nowhere useful then."""
    aws_env.setenv("AIRFLOW_CONN_UGC_MINIO", _aws_connection(s3_server, service_specific=True))
    aws_env.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws", "extra": {"region_name": "eu-west-3"}}))
    _clear_s3fs_cache()
    sample = write_sample_landing(tmp_path / "landing", campaign_days=1, extra_delivery_days=0)
    _upload(s3_server, sample.root, "ugc-exports-s3-endpoint", "exports")
    uri = "s3://ugc-exports-s3-endpoint/exports"
    settings = Settings.load(environ={"UGC_LANDING_URI": uri, "UGC_LANDING_CONN_ID": "ugc_minio"})
    landing = Landing.for_settings(settings)
    assert landing.conn_id == "ugc_minio"
    assert landing.delivery_dates("products") == Landing(str(sample.root)).delivery_dates("products")
    assert landing.files("products", sample.delivery_dates[0])


def test_an_unreadable_file_on_s3_names_the_file(aws_env, s3_server, tmp_path):
    root = tmp_path / "landing"
    folder = root / "yotpo_reviews" / "2025-05-05"
    folder.mkdir(parents=True)
    (folder / "reviews_page_1.json").write_text('{"reviews": [ {"id": 1, ')  # cut off mid-export
    _upload(s3_server, root, "ugc-exports-broken", "landing")
    settings = Settings(landing_uri="s3://ugc-exports-broken/landing",
                        warehouse_url=f"duckdb:///{tmp_path / 'wh.duckdb'}")
    with pytest.raises(DeliveryError, match=r"yotpo_reviews/2025-05-05/reviews_page_1\.json"):
        ingest_source("yotpo_reviews", date(2025, 5, 5), settings, run_id="s3-broken")
    assert ingest_source("yotpo_reviews", date(2025, 5, 6), settings, run_id="s3-broken").status == "no_delivery"

