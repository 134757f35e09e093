"""A range of delivery days of one source (a backfill) is parsed and validated together, each table
in one GX validation (``pipeline.ingest_days``), and must load exactly as each day ingested alone:
the same raw rows, the same quarantine with the same reasons, the same run records.

The days are built from the bad-input corpus so that every rule meets the range: the corpus's
day of bad records, the same files again the next day (the same ids in two deliveries are no
duplicates; the records created after the first day's cut-off are within the second's), and the
good records only the day before (some of them created after that day's cut-off).
"""

from __future__ import annotations

from datetime import date, timedelta

from corpus import DAY, QUARANTINE_CASES
from support.warehouse_env import start_env
from ugc_pipeline.pipeline import ingest_days

FIRST = date.fromisoformat(DAY) - timedelta(days=1)
RANGE = [FIRST, FIRST + timedelta(days=1), FIRST + timedelta(days=2)]


def _deliver(env, case) -> None:
    env.deliver(case.source, RANGE[0].isoformat(), case.good_contents())
    env.deliver(case.source, RANGE[1].isoformat(), case.contents())
    env.deliver(case.source, RANGE[2].isoformat(), case.contents())


def _state(env) -> dict:
    snapshot = env.snapshot(("raw",))
    state = {name: frame.drop(columns=[c for c in ("run_id", "loaded_at", "rejected_at") if c in frame.columns])
             for name, frame in snapshot.items()}
    runs = [{k: v for k, v in r.items() if k not in ("run_id", "message")} for r in env.runs()]
    return {"tables": state, "runs": sorted(runs, key=lambda r: (r["source"], r["delivery_date"]))}


def test_a_range_validated_together_loads_as_each_day_alone(tmp_path, business_template):
    together = start_env(tmp_path / "together", business_template)
    alone = start_env(tmp_path / "alone", business_template)
    try:
        for case in QUARANTINE_CASES:
            _deliver(together, case)
            _deliver(alone, case)
            days = ingest_days(case.source, RANGE, together.settings, "range")
            assert [d.error for d in days] == [None] * len(RANGE), case.source
            for day in RANGE:
                alone.ingest(case.source, day.isoformat(), run_id="alone")
        a, b = _state(together), _state(alone)
        assert a["runs"] == b["runs"]
        assert a["tables"].keys() == b["tables"].keys()
        for name in a["tables"]:
            assert a["tables"][name].equals(b["tables"][name]), name
        # the range is what the corpus makes it: bad records on both days of the corpus, and the
        # records created after the first day's cut-off quarantined as such on that day only
        rejected = {(r["delivery_date"], r["source"]) for r in b["runs"] if r["records_rejected"]}
        assert {(RANGE[1].isoformat(), c.source) for c in QUARANTINE_CASES} <= rejected
        assert together.q("select count(*) as n from audit.rejected_records where reasons like '%future%'"
                          "  and delivery_date = cast(:d as date)", d=RANGE[2].isoformat())["n"][0] < \
            together.q("select count(*) as n from audit.rejected_records where reasons like '%future%'"
                       "  and delivery_date = cast(:d as date)", d=RANGE[1].isoformat())["n"][0]
    finally:
        together.close()
        alone.close()
