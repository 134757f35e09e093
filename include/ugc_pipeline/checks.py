"""Missing and thin deliveries made visible: what the ingest DAG's ``check_deliveries`` task judges.

After the day's loads, from the run history in ``audit.pipeline_runs`` (each source load writes
its row: ``success`` when files were delivered, ``no_delivery`` when not):

- **nothing at all**: no source delivered anything for the run's day(s): a day like that is a
  broken feed (export jobs or transfers stopped), not a quiet day; the staging asset is not
  published, so the marts are not rebuilt, and the check fails;
- **freshness**: a source marked required in ``UGC_SOURCE_CHECKS`` whose last delivery is more
  than ``max_days_without_delivery`` days before the day checked (or that never delivered);
- **volume**: a delivery with fewer records than ``min_volume_share`` of the source's average
  delivery over the previous ``volume_window_days`` days (judged once at least
  ``VOLUME_MIN_HISTORY`` deliveries are in that window).

Over a range of days (a backfill), "nothing at all" looks at the whole range, freshness and
volume at its last day: the state the range leaves. Usable without Airflow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from ugc_pipeline import warehouse
from ugc_pipeline.settings import VOLUME_MIN_HISTORY, Settings, redact_url
from ugc_pipeline.sources import SOURCES

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What ``check_deliveries`` found: ``problems`` fail the check; ``lines`` are its log."""

    day: date
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    nothing_delivered: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def check_deliveries(settings: Settings, days: list[date], run_id: str) -> DeliveryReport:
    """Judge the deliveries of ``days`` (the run ``run_id`` loaded them) against UGC_SOURCE_CHECKS."""
    day = max(days)
    report = DeliveryReport(day=day)
    checks = {name: settings.source_check(name) for name in SOURCES}
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    try:
        this_run = warehouse.query_frame(
            engine, "select source, status from audit.pipeline_runs where run_id = :run_id "
                    "and delivery_date between :first and :last", {"run_id": run_id, "first": min(days), "last": day})
        last_delivery = warehouse.query_frame(
            engine, "select source, max(delivery_date) as last_delivery from audit.pipeline_runs "
                    "where status = 'success' and delivery_date <= :day group by source", {"day": day})
        window = max(c.volume_window_days for c in checks.values())
        volumes = warehouse.query_frame(
            engine, "select source, delivery_date, records_read, finished_at from audit.pipeline_runs "
                    "where status = 'success' and delivery_date between :first and :day",
            {"first": day - timedelta(days=window), "day": day})
    finally:
        engine.dispose()

    statuses = set(this_run["status"])
    what = f"{days[0]}" if len(days) == 1 else f"{min(days)} to {day}"
    if not statuses or statuses == {"no_delivery"}:
        report.nothing_delivered = True
        report.problems.append(
            f"no source delivered anything for {what} ({len(SOURCES)} sources, landing zone "
            f"{redact_url(settings.landing_uri)}): the export jobs or transfers did not run; the marts are not "
            "rebuilt for it. Deliver the files, then run the day again")

    last_of = {r.source: _as_date(r.last_delivery) for r in last_delivery.itertuples()}
    for name, check in checks.items():
        if not check.required:
            continue
        last = last_of.get(name)
        if last is None:
            report.problems.append(f"{name} is required and has never delivered (no delivery up to {day})")
            continue
        gap = (day - last).days
        line = (f"{name}: last delivery {last}, {gap} day(s) without delivery on {day} "
                f"(at most {check.max_days_without_delivery} allowed)")
        report.lines.append(line)
        if gap > check.max_days_without_delivery:
            report.problems.append(
                f"{name} is required and has delivered nothing for {gap} days (last delivery {last}, checked on "
                f"{day}; UGC_SOURCE_CHECKS allows {check.max_days_without_delivery})")

    # the latest successful load of each (source, day): a rerun replaces an earlier load
    latest = (volumes.sort_values("finished_at").groupby(["source", "delivery_date"], as_index=False).last()
              if not volumes.empty else volumes)
    for name, check in checks.items():
        if check.min_volume_share <= 0:
            continue
        rows = latest[latest["source"] == name] if not latest.empty else latest
        counts = {_as_date(r.delivery_date): int(r.records_read or 0) for r in rows.itertuples()}
        if day not in counts:
            continue  # nothing delivered today: freshness judges that
        first = day - timedelta(days=check.volume_window_days)
        history = [n for d, n in counts.items() if first <= d < day]
        if len(history) < VOLUME_MIN_HISTORY:
            report.lines.append(f"{name}: {counts[day]} records on {day}; volume not judged ({len(history)} "
                                f"earlier deliveries in {check.volume_window_days} days, {VOLUME_MIN_HISTORY} needed)")
            continue
        average = sum(history) / len(history)
        share = counts[day] / average if average else 1.0
        line = (f"{name} delivered {counts[day]} records on {day}: {share:.0%} of its average of {average:.1f} over "
                f"the {len(history)} deliveries of the previous {check.volume_window_days} days "
                f"(at least {check.min_volume_share:.0%} expected)")
        report.lines.append(line)
        if share < check.min_volume_share:
            report.problems.append(line)
    return report


def _as_date(value) -> date:
    return value if isinstance(value, date) and not hasattr(value, "hour") else date.fromisoformat(str(value)[:10])
