"""Every task attempt is accounted for in audit.pipeline_runs, and raw mirrors the landing zone:
a withdrawn delivery is removed, an empty delivery folder is "nothing delivered" with a warning,
a task that died leaves a ``running`` row that the next attempt marks ``abandoned``."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime

import pytest
from test_staging import DAY, one, yotpo_review
from ugc_pipeline import warehouse
from ugc_pipeline.parse import DeliveryError

RUNS = "select run_id, status, records_loaded, message from audit.pipeline_runs where run_id = :r"


def test_a_withdrawn_delivery_is_removed_from_raw_and_the_quarantine(env):
    folder = env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [
        yotpo_review(487000901, "2025-05-06T08:00:00Z"), yotpo_review(487000902, "2025-05-06T09:00:00Z", score="nine")]})
    env.write("yotpo_reviews", "2025-05-07", "page-1.json", {"reviews": [yotpo_review(487000903, "2025-05-07T08:00:00Z")]})
    env.ingest("yotpo_reviews", DAY, run_id="first")
    env.ingest("yotpo_reviews", "2025-05-07", run_id="other-day")
    assert len(env.q("select * from audit.rejected_records")) == 1

    shutil.rmtree(folder.parent)  # the export of the day is withdrawn
    result = env.ingest("yotpo_reviews", DAY, run_id="rerun")

    assert result.status == "no_delivery"
    assert list(env.q("select id from raw.yotpo_reviews")["id"]) == ["487000903"]  # other days stay
    assert env.q("select * from audit.rejected_records").empty
    run = one(env.q(RUNS, r="rerun"))
    assert run["status"] == "no_delivery"
    assert "withdrawn" in run["message"] and "1 record(s)" in run["message"]


def test_an_empty_delivery_folder_is_nothing_delivered_with_a_warning(env, caplog):
    (env.root / "yotpo_reviews" / DAY).mkdir(parents=True)
    result = env.ingest("yotpo_reviews", DAY, run_id="empty")

    assert result.status == "no_delivery"
    run = one(env.q(RUNS, r="empty"))
    assert run["status"] == "no_delivery"
    assert f"warning: yotpo_reviews/{DAY}/: the delivery folder exists but holds no file" in run["message"]
    assert any("holds no file" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_a_task_that_died_is_marked_abandoned_by_the_next_attempt(env):
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [yotpo_review(487000911, "2025-05-06T08:00:00Z")]})
    engine = env.engine
    warehouse.ensure_warehouse(engine)
    # what a task killed after its start leaves: its running row, never finished
    warehouse.start_run(engine, {"run_id": "killed", "source": "yotpo_reviews", "delivery_date": date(2025, 5, 6),
                                 "started_at": datetime(2026, 1, 1, 3, 0, tzinfo=UTC), "status": "running",
                                 "attempt_id": "dead-attempt", "message": "running"})
    assert one(env.q(RUNS, r="killed"))["status"] == "running"

    env.ingest("yotpo_reviews", DAY, run_id="retry")

    killed, retry = one(env.q(RUNS, r="killed")), one(env.q(RUNS, r="retry"))
    assert killed["status"] == "abandoned" and "killed?" in killed["message"]
    assert retry["status"] == "success" and retry["records_loaded"] == 1
    # the finished row is the one the attempt started (not a second row)
    assert len(env.q("select * from audit.pipeline_runs where run_id = 'retry'")) == 1


def test_every_attempt_writes_its_row_when_it_starts(env, monkeypatch):
    """A task that dies during its work still has its row (``running``) in the table."""
    env.write("yotpo_reviews", DAY, "page-1.json", {"reviews": [yotpo_review(487000921, "2025-05-06T08:00:00Z")]})
    seen = {}

    def parse_and_look(*args, **kwargs):
        seen["rows"] = env.q("select status from audit.pipeline_runs where run_id = 'watched'")
        raise RuntimeError("the process dies here")

    from ugc_pipeline import pipeline

    monkeypatch.setattr(pipeline.batches, "read_delivery", parse_and_look)
    try:
        env.ingest("yotpo_reviews", DAY, run_id="watched")
    except RuntimeError:
        pass
    assert list(seen["rows"]["status"]) == ["running"]
    assert one(env.q(RUNS, r="watched"))["status"] == "failed"


def test_a_header_only_csv_loads_nothing_with_a_warning_in_the_run_record(env):
    env.write("wom_surveys", DAY, "wom.csv",
              "response_id,ambassador_id,campaign_id,answered_at,people_told,tried_product,recommend_score\n")
    result = env.ingest("wom_surveys", DAY, run_id="header-only")
    assert (result.status, result.records_loaded) == ("success", 0)
    run = one(env.q(RUNS, r="header-only"))
    assert "warning:" in run["message"] and "holds a header but no row" in run["message"]


def test_an_empty_snapshot_is_refused_and_keeps_the_current_one(env):
    header = "sku,gtin,product_name,brand,category\n"
    env.write("products", "2025-05-04", "products.csv", header + "MV-OLV-500,3760000000001,Huile d'olive,Maison Verte,Huiles\n")
    env.ingest("products", "2025-05-04", run_id="full")
    env.write("products", DAY, "products.csv", header)
    with pytest.raises(DeliveryError, match="the snapshot holds no row"):
        env.ingest("products", DAY, run_id="empty-snapshot")
    assert list(env.q("select sku from raw.products")["sku"]) == ["MV-OLV-500"]
    assert one(env.q(RUNS, r="empty-snapshot"))["status"] == "failed"
