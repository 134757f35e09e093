"""Deployment tests: the compose file and image recipe (test_compose), a landing zone on a real
S3 server (test_s3_landing), and the DAGs under CeleryExecutor with real workers, Redis and
PostgreSQL (test_celery_local, marker ``celery``)."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "celery: runs the DAGs with CeleryExecutor, real Celery workers, Redis and PostgreSQL on 127.0.0.1 "
        "(scripts/celery-local); skipped when those do not answer, except under CI=true")
