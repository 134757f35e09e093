"""``Dialect.load_frame`` on PostgreSQL (COPY FROM STDIN, CSV): every value comes back as it was
given, from Arrow tables (the raw loads) and from DataFrames (the quarantine)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import text
from ugc_pipeline import dialects, warehouse

TEXTS = [
    None, "", " ", "plain", "a,b", 'say "hi"', '"', '""', "line\nbreak", "crlf\r\nx", "cr\ronly", "tab\tx",
    "\\.", "x\n\\.\ny", "\\N", "back\\slash\\", "NULL", "null", "🫒 ÉTÉ «ok» 中文", ",", "\n", "  lead and trail  ",
]


@pytest.fixture
def engine(pg_url):
    engine = warehouse.create_warehouse_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "create table t (n bigint, s varchar, d date, ts timestamptz, b boolean, x double precision)")
    return engine


def _load(engine, frame) -> list[tuple]:
    with engine.begin() as conn:
        conn.exec_driver_sql("delete from t")
        dialects.for_connection(conn).load_frame(conn, "t", frame)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("select n, s, d, ts, b, x from t order by n"))]


def test_arrow_table_round_trip(engine):
    n = len(TEXTS)
    when = datetime(2025, 5, 5, 22, 0, 0, 123456, tzinfo=UTC)
    table = pa.table({
        "n": pa.array(range(n), pa.int64()),
        "s": pa.array(TEXTS, pa.string()),
        "d": pa.array([date(2025, 5, 5), None] * (n // 2), pa.date32()),
        "ts": pa.array([when, None] * (n // 2), pa.timestamp("us", tz="UTC")),
        "b": pa.array([True, None] * (n // 2), pa.bool_()),
        "x": pa.array([0.1, None] * (n // 2), pa.float64()),
    })
    rows = _load(engine, table)
    assert [r[1] for r in rows] == TEXTS  # NULL stays NULL, "" stays "", nothing is unescaped
    assert rows[0][2:] == (date(2025, 5, 5), when, True, 0.1)
    assert rows[1][2:] == (None, None, None, None)


@pytest.mark.parametrize("kind", [pa.large_string(), pa.string_view(), "dictionary"])
def test_other_arrow_string_types(engine, kind):
    values = pa.array(TEXTS, pa.string())
    column = values.dictionary_encode() if kind == "dictionary" else values.cast(kind)
    rows = _load(engine, pa.table({"n": pa.array(range(len(TEXTS)), pa.int64()), "s": column}))
    assert [r[1] for r in rows] == TEXTS


def test_nul_characters_are_removed(engine):
    """PostgreSQL text cannot hold U+0000 (DuckDB can): it is dropped rather than failing the load."""
    rows = _load(engine, pa.table({"n": pa.array([1], pa.int64()), "s": pa.array(["a\x00b"])}))
    assert rows[0][1] == "ab"


def test_dataframe_with_python_dates_and_pandas_timestamps(engine):
    now = datetime.now(UTC)
    frame = pd.DataFrame({"n": [1, 2], "s": ['{"a": "x,\\"y\\"\\n"}', ""], "d": [date(2025, 5, 6)] * 2})
    frame["ts"] = now  # datetime64[us, UTC], as replace_rejects builds it
    frame["x"] = [math.nan, 2.5]
    rows = _load(engine, frame)
    assert rows[0][:3] == (1, '{"a": "x,\\"y\\"\\n"}', date(2025, 5, 6))
    assert rows[0][3] == now
    assert rows[0][5] is None and rows[1][5] == 2.5  # NaN in a DataFrame is pandas' NULL (DuckDB's too)
    assert rows[1][1] == ""


def test_nan_and_infinity_in_arrow_doubles(engine):
    rows = _load(engine, pa.table({"n": pa.array([1, 2, 3], pa.int64()),
                                   "x": pa.array([math.nan, math.inf, -math.inf], pa.float64())}))
    assert math.isnan(rows[0][5]) and rows[1][5] == math.inf and rows[2][5] == -math.inf


def test_naive_timestamps_are_utc(engine):
    table = pa.table({"n": pa.array([1], pa.int64()),
                      "ts": pa.array([datetime(2025, 5, 5, 22, 30)], pa.timestamp("us"))})
    rows = _load(engine, table)
    assert rows[0][3] == datetime(2025, 5, 5, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_many_rows_stream_in_chunks(pg_url, monkeypatch, driver):
    """Several COPY chunks, through psycopg 3 (cursor.copy) and psycopg2 (copy_expert)."""
    pytest.importorskip(driver)
    monkeypatch.setattr(dialects, "COPY_BATCH_ROWS", 1000)
    engine = warehouse.create_warehouse_engine(pg_url.replace("+psycopg://", f"+{driver}://"))
    assert engine.dialect.driver == driver
    n = 10_500
    table = pa.table({"n": pa.array(range(n), pa.int64()), "s": pa.array([f"r{i}\n\"q\" é" for i in range(n)])})
    with engine.begin() as conn:
        conn.exec_driver_sql("create table t3 (n bigint, s varchar)")
        dialects.for_connection(conn).load_frame(conn, "t3", table)
    with engine.connect() as conn:
        rows = conn.execute(text("select n, s from t3 order by n")).all()
    assert [tuple(r) for r in rows] == list(zip(range(n), table.column("s").to_pylist(), strict=True))


def test_psycopg2_driver_copies_too(pg_url):
    """A URL naming psycopg2 explicitly works as well (copy_expert instead of cursor.copy)."""
    pytest.importorskip("psycopg2")
    engine = warehouse.create_warehouse_engine(pg_url.replace("+psycopg://", "+psycopg2://"))
    assert engine.dialect.driver == "psycopg2"
    with engine.begin() as conn:
        conn.exec_driver_sql("create table t2 (n bigint, s varchar)")
        dialects.for_connection(conn).load_frame(
            conn, "t2", pa.table({"n": pa.array(range(len(TEXTS)), pa.int64()), "s": pa.array(TEXTS)}))
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("select s from t2 order by n"))] == TEXTS


def test_a_plain_postgresql_url_uses_psycopg3_in_utc():
    engine = warehouse.create_warehouse_engine("postgresql://u@localhost/db?options=-c%20search_path%3Dpublic")
    assert engine.dialect.driver == "psycopg"
    assert engine.url.query == {}
    engine = warehouse.create_warehouse_engine("postgres://u@localhost/db")
    assert engine.dialect.driver == "psycopg"


def test_sessions_are_utc(pg_url):
    with warehouse.create_warehouse_engine(pg_url).connect() as conn:
        assert conn.exec_driver_sql("show timezone").scalar_one() == "UTC"
        assert conn.exec_driver_sql("show client_encoding").scalar_one() == "UTF8"
