"""The HTML KPI report every marts run writes: one page per KPI day and an index.

``write_report(settings)`` reads the marts (on DuckDB from the published read-only copy,
``ugc_pipeline.publish``; on PostgreSQL from the warehouse) and writes ``UGC_REPORT_DIR``:

- ``index.html``: the headline numbers to the last KPI day, every chart over the whole period,
  the store sales of each campaign (exposed vs control, uplift), and a table linking the days;
- ``day-YYYY-MM-DD.html``: the numbers of that KPI day and the charts as they stood on that day
  (everything up to it).

The pages are self-contained and work air-gapped: the charts are SVG drawn on the server by
matplotlib and written into the page, the style sheet is in the page, there is no script and no
request to anything (not even to another file). Every number shown is also in the page as a
machine-readable attribute (``data-kpi``/``data-value`` on the headline tiles, a data table
under each chart), which the report's test compares with the marts.

Charts are cached by the hash of their data (``.charts/`` of the report folder): a run re-draws
only the charts whose numbers changed, so writing the report after every daily run stays cheap.
Each file is written under a temporary name and renamed: a reader never opens half a page.
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from ugc_pipeline.settings import Settings

log = logging.getLogger(__name__)

TIERS = ("nano", "micro", "macro")
ALL_TIERS = ("nano", "micro", "macro", "unknown")
BUCKETS = ("0", "1-9", "10-49", "50+")
BASELINE_DAYS = 28
Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal distribution
CHART_CACHE = ".charts"
# chart version: bump when the drawing code changes, so that cached SVGs are drawn again
_CHART_VERSION = "3"

# -- what the report reads ----------------------------------------------------------------------

QUERIES = {
    "ugc": """
        select kpi_date, platform, influencer_tier, sum(ugc_count) as ugc_count,
               sum(rating_count) as rating_count, sum(avg_rating * rating_count) as rating_sum
        from marts.ugc_daily group by kpi_date, platform, influencer_tier""",
    "reach": """
        select kpi_date, platform, influencer_tier, sum(post_count) as post_count,
               sum(potential_reach) as potential_reach, sum(offline_reach) as offline_reach,
               sum(survey_answers) as survey_answers, sum(survey_respondents) as survey_respondents
        from marts.reach_daily group by kpi_date, platform, influencer_tier""",
    # distinct authors of counted campaign posts, with the day of their first post (the pyramid)
    "authors": """
        select author_key, influencer_tier, min(kpi_date) as first_day
        from intermediate.int_ugc_items__enriched
        where is_counted and not is_review
        group by author_key, influencer_tier""",
    # the star distribution of counted items (ugc_daily keeps the count and the mean only)
    "ratings": """
        select kpi_date, cast(star_rating as integer) as stars, count(*) as items
        from intermediate.int_ugc_items__enriched
        where is_counted and star_rating is not null
        group by kpi_date, cast(star_rating as integer)""",
    "conversion": """
        select kpi_date, sku, sessions, orders, conversion_rate, review_bucket, campaign_id,
               conversion_variation
        from marts.conversion_daily""",
    "uplift": """
        select u.campaign_id, u.sku, u.start_date, u.end_date, u.test_stores, u.control_stores, u.test_pre,
               u.test_during, u.control_pre, u.control_during, u.forecast, u.uplift, u.during_days,
               c.sales_uplift_low, c.sales_uplift_high, c.sales_verdict, c.conversion_rate_pre,
               c.conversion_rate_during, c.conversion_variation, c.conversion_variation_low,
               c.conversion_variation_high, c.conversion_verdict, p.product_name
        from marts.sales_uplift as u
        left join marts.campaign_summary as c on c.campaign_id = u.campaign_id
        left join marts.dim_products as p on p.sku = u.sku""",
    # pooled over SKUs and every day: the lift of each bucket against bucket 0, its interval, verdict
    "buckets": """
        select review_bucket, sessions, orders, conversion_rate, lift, lift_low, lift_high, verdict
        from marts.review_bucket_conversion where is_pooled""",
    "freshness": """
        select source, loaded_through, checked_through, failed_days, latest_kpi_date
        from marts.data_freshness""",
}


@dataclass
class ReportData:
    ugc: pd.DataFrame
    reach: pd.DataFrame
    authors: pd.DataFrame
    ratings: pd.DataFrame
    conversion: pd.DataFrame
    uplift: pd.DataFrame
    buckets: pd.DataFrame
    freshness: pd.DataFrame
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def days(self) -> list[date]:
        """The KPI days: every day some mart has a row for."""
        found: set[date] = set()
        for frame in (self.ugc, self.reach, self.conversion):
            found.update(frame["kpi_date"].dropna())
        return sorted(found)


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def load_report_data(engine) -> ReportData:
    """The marts' numbers the report shows (a few small aggregates; works on DuckDB and PostgreSQL)."""
    from ugc_pipeline import warehouse

    frames = {name: warehouse.query_frame(engine, sql) for name, sql in QUERIES.items()}
    for name in ("ugc", "reach", "ratings", "conversion"):
        _dates(frames[name], "kpi_date")
    _dates(frames["authors"], "first_day")
    _dates(frames["uplift"], "start_date", "end_date")
    _dates(frames["freshness"], "loaded_through", "checked_through", "latest_kpi_date")
    for name, columns in {"ugc": ("ugc_count", "rating_count", "rating_sum"),
                          "reach": ("post_count", "potential_reach", "offline_reach", "survey_answers",
                                    "survey_respondents"),
                          "ratings": ("stars", "items"), "conversion": ("sessions", "orders")}.items():
        for column in columns:  # floats on both warehouses (PostgreSQL sums bigints as numeric)
            frames[name][column] = pd.to_numeric(frames[name][column], errors="coerce").astype("float64")
    return ReportData(**frames)


# -- the numbers ------------------------------------------------------------------------------------

def wilson_interval(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (nan, nan) without trials."""
    if not trials or trials <= 0:
        return math.nan, math.nan
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else math.nan


def headline(data: ReportData, day: date) -> dict[str, float]:
    """The tiles of a page: the KPI day's own numbers and the totals up to it."""
    ugc, reach, conv = data.ugc, data.reach, data.conversion
    on_day, to_date = ugc[ugc.kpi_date == day], ugc[ugc.kpi_date <= day]
    online = reach[(reach.platform != "offline") & (reach.kpi_date <= day)]
    offline = reach[(reach.platform == "offline") & (reach.kpi_date <= day)]
    conv_day = conv[conv.kpi_date == day]
    return {
        "ugc_items_day": float(on_day.ugc_count.sum()),
        "ugc_items_to_date": float(to_date.ugc_count.sum()),
        "posts_to_date": float(online.post_count.sum()),
        "potential_reach_to_date": float(online.potential_reach.sum()),
        "offline_reach_to_date": float(offline.offline_reach.sum()),
        "survey_answers_to_date": float(offline.survey_answers.sum()),
        "avg_rating_to_date": _ratio(to_date.rating_sum.sum(), to_date.rating_count.sum()),
        "sessions_day": float(conv_day.sessions.sum()),
        "conversion_rate_day": _ratio(conv_day.orders.sum(), conv_day.sessions.sum()),
    }


TILE_LABELS = {
    "ugc_items_day": ("UGC items this day", "int"),
    "ugc_items_to_date": ("UGC items to date", "int"),
    "posts_to_date": ("Campaign posts to date", "int"),
    "potential_reach_to_date": ("Potential reach to date (online)", "int"),
    "offline_reach_to_date": ("Offline reach to date (people told)", "int"),
    "survey_answers_to_date": ("Survey answers to date", "int"),
    "avg_rating_to_date": ("Average rating to date", "rating"),
    "sessions_day": ("Product page sessions this day", "int"),
    "conversion_rate_day": ("Conversion rate this day (all SKUs)", "pct"),
}


def fmt(value: float, kind: str) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    if kind == "int":
        return f"{int(round(value)):,}"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "signed_pct":
        return f"{value:+.1%}"
    if kind == "rating":
        return f"{value:.2f} / 5"
    return f"{value:,.2f}"


def bucket_conversion(data: ReportData, day: date) -> pd.DataFrame:
    """Conversion per review bucket up to ``day``, pooled over SKUs, with its 95% interval."""
    conv = data.conversion[data.conversion.kpi_date <= day]
    grouped = conv.groupby("review_bucket")[["sessions", "orders"]].sum()
    rows = []
    for bucket in BUCKETS:
        sessions = float(grouped.sessions.get(bucket, 0) or 0)
        orders = float(grouped.orders.get(bucket, 0) or 0)
        low, high = wilson_interval(orders, sessions)
        rows.append({"review_bucket": bucket, "sessions": sessions, "orders": orders,
                     "conversion_rate": _ratio(orders, sessions), "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def campaign_windows(data: ReportData) -> pd.DataFrame:
    return data.uplift.dropna(subset=["start_date"]).sort_values("campaign_id")


def baseline_rate(data: ReportData, sku: str, start: date) -> float:
    """Conversion of ``sku`` over the 28 days before ``start`` (the variation's baseline)."""
    conv = data.conversion
    pre = conv[(conv.sku == sku) & (conv.kpi_date < start)
               & (conv.kpi_date >= start - pd.Timedelta(days=BASELINE_DAYS))]
    return _ratio(pre.orders.sum(), pre.sessions.sum())


# -- charts -------------------------------------------------------------------------------------------

@dataclass
class Chart:
    key: str
    title: str
    caption: str
    svg: str
    table: pd.DataFrame  # the numbers drawn, shown under the chart
    marks: int  # data points drawn (0: the chart says "no data" instead)


COLOURS = {"nano": "#1b9e77", "micro": "#d95f02", "macro": "#7570b3", "unknown": "#999999",
           "online": "#1f78b4", "offline": "#e31a1c", "test": "#1f78b4", "control": "#999999"}


def _figure(width: float = 7.5, height: float = 3.0):
    import matplotlib

    matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                                "axes.spines.right": False})
    from matplotlib.figure import Figure

    # fixed margins: matplotlib's constrained layout would triple the time of every chart
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.09, right=0.92, top=0.86, bottom=0.16, wspace=0.3)
    return fig


def _svg(fig) -> str:
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    buffer = io.StringIO()
    # no RDF metadata block (creator, date): nothing but the drawing, the same bytes for the same data
    FigureCanvasSVG(fig).print_svg(buffer, metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # without the XML prolog and doctype: inline in HTML


def _cached(cache: Path | None, key: str, table: pd.DataFrame, draw) -> str:
    """The SVG of a chart, drawn again only when its data changed."""
    digest = hashlib.sha256(f"{_CHART_VERSION}|{key}|{table.to_csv(index=False)}".encode()).hexdigest()[:24]
    path = cache / f"{key}-{digest}.svg" if cache is not None else None
    if path is not None and path.exists():
        os.utime(path)  # used by this run: kept by the pruning at its end
        return path.read_text(encoding="utf-8")
    svg = draw()
    if path is not None:
        _write_atomic(path, svg)
    return svg


def _date_axis(ax, first: date | None = None, last: date | None = None) -> None:
    import matplotlib.dates as mdates

    if first is not None and last is not None:  # a day's margin: a single day still has an axis
        ax.set_xlim(pd.Timestamp(first) - pd.Timedelta(days=1), pd.Timestamp(last) + pd.Timedelta(days=1))
    locator = mdates.AutoDateLocator(minticks=2, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _stacked_bars(frame: pd.DataFrame, by: str, order: list[str], title: str, colours: dict | None = None) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    import matplotlib.dates as mdates
    import numpy as np

    pivot = frame.pivot_table(index="kpi_date", columns=by, values="ugc_count", aggfunc="sum", fill_value=0)
    # every calendar day from the first to the last, so that a day without UGC shows as a gap
    days = pd.date_range(pd.Timestamp(min(pivot.index)), pd.Timestamp(max(pivot.index)), freq="D")
    pivot = pivot.reindex([d.date() for d in days], fill_value=0)
    edges = np.append(mdates.date2num(days) - 0.45, mdates.date2num(days[-1]) + 0.55)
    bottom = np.zeros(len(days))
    palette = [f"C{i}" for i in range(10)]  # stairs do not take the next colour of the cycle by themselves
    for i, name in enumerate(order):
        if name not in pivot:
            continue
        values = pivot[name].to_numpy(dtype=float)
        # one filled step path per series (a bar per day and series would be hundreds of artists)
        ax.stairs(bottom + values, edges, baseline=bottom, fill=True, label=name,
                  color=(colours or {}).get(name, palette[i % len(palette)]))
        bottom = bottom + values
    ax.xaxis_date()
    ax.set_ylabel("UGC items")
    ax.set_title(title, loc="left")
    _date_axis(ax)
    ax.legend(loc="upper left", fontsize=7, ncols=min(len(order), 5), frameon=False)
    return _svg(fig)


def chart_ugc(data: ReportData, day: date, by: str, cache: Path | None) -> Chart:
    frame = data.ugc[data.ugc.kpi_date <= day]
    table = (frame.groupby(["kpi_date", by], as_index=False)["ugc_count"].sum()
             .sort_values(["kpi_date", by]).reset_index(drop=True))
    table["ugc_count"] = table["ugc_count"].astype("int64")
    if by == "platform":
        order = list(table.groupby("platform")["ugc_count"].sum().sort_values(ascending=False).index)
        # a platform keeps its colour on every page (by its rank in the whole history's volume)
        everywhere = data.ugc.groupby("platform")["ugc_count"].sum().sort_values(ascending=False).index
        colours = {p: f"C{i % 10}" for i, p in enumerate(everywhere)}
        key, title = "ugc_by_platform", "UGC volume by platform"
    else:
        order = [t for t in ALL_TIERS if t in set(table[by])]
        key, title, colours = "ugc_by_tier", "UGC volume by influencer tier", COLOURS
    keyed = table.assign(colour=table[by].map(colours)) if by == "platform" else table
    svg = _cached(cache, key, keyed, lambda: _stacked_bars(table, by, order, title, colours)) if len(table) else ""
    caption = ("Distinct UGC items (reviews, ratings, campaign posts) per KPI day, stacked by "
               + ("platform." if by == "platform" else "the author's influencer tier (reviews are mostly 'unknown')."))
    return Chart(key, title, caption, svg, table, len(table))


def chart_pyramid(data: ReportData, day: date, cache: Path | None) -> Chart:
    reach = data.reach[(data.reach.platform != "offline") & (data.reach.kpi_date <= day)]
    posts = reach.groupby("influencer_tier")[["post_count", "potential_reach"]].sum()
    authors = data.authors[data.authors.first_day <= day].groupby("influencer_tier")["author_key"].nunique()
    table = pd.DataFrame({
        "influencer_tier": list(TIERS),
        "authors": [int(authors.get(t, 0)) for t in TIERS],
        "posts": [int(posts.post_count.get(t, 0) or 0) for t in TIERS],
        "potential_reach": [int(posts.potential_reach.get(t, 0) or 0) for t in TIERS],
    })

    def draw() -> str:
        fig = _figure(height=2.6)
        axes = fig.subplots(1, 3, sharey=True)
        for ax, column, label in zip(axes, ("authors", "posts", "potential_reach"),
                                     ("authors", "posts", "potential reach"), strict=True):
            values = table[column].to_numpy()
            # a pyramid: nano (the base) at the bottom, macro on top, bars centred
            ax.barh(list(TIERS), values, left=-values / 2, color=[COLOURS[t] for t in TIERS])
            for y, value in enumerate(values):
                ax.text(0, y, f"{value:,}", ha="center", va="center", fontsize=8, color="black")
            ax.set_title(label, loc="center")
            ax.set_xticks([])
            ax.tick_params(left=False)
            ax.spines["bottom"].set_visible(False)
            ax.spines["left"].set_visible(False)
        return _svg(fig)

    marks = int((table[["authors", "posts", "potential_reach"]].to_numpy() > 0).sum())
    svg = _cached(cache, "influencer_pyramid", table, draw) if marks else ""
    return Chart("influencer_pyramid", "Influencer pyramid (to date)",
                 "Campaign posts' distinct authors, posts and potential reach (followers, summed per day as in "
                 "marts.reach_daily) by tier: nano < 1,000 followers, micro 1,000-100,000, macro > 100,000.",
                 svg, table, marks)


def chart_reach(data: ReportData, day: date, cache: Path | None) -> Chart:
    reach = data.reach[data.reach.kpi_date <= day].copy()
    reach["kind"] = reach.platform.where(reach.platform == "offline", "online")
    reach["people"] = reach.potential_reach.where(reach.kind == "online", reach.offline_reach)
    daily = reach.pivot_table(index="kpi_date", columns="kind", values="people", aggfunc="sum", fill_value=0)
    for kind in ("online", "offline"):
        if kind not in daily:
            daily[kind] = 0
    table = daily[["online", "offline"]].cumsum().astype("int64").reset_index()
    table.columns = ["kpi_date", "online_potential_reach_to_date", "offline_reach_to_date"]

    def draw() -> str:
        fig = _figure()
        ax = fig.add_subplot()
        x = pd.to_datetime(table.kpi_date)
        ax.plot(x, table.online_potential_reach_to_date, color=COLOURS["online"], marker="o", markersize=3,
                label="online: potential reach")
        # word of mouth is counted in hundreds where followers are in millions: its own axis, right
        right = ax.twinx()
        right.plot(x, table.offline_reach_to_date, color=COLOURS["offline"], marker="o", markersize=3,
                   label="offline: people told (survey answers), right axis")
        right.set_ylabel("people told, cumulative", color=COLOURS["offline"])
        right.spines["right"].set_visible(True)
        right.set_ylim(bottom=0)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("potential reach, cumulative", color=COLOURS["online"])
        ax.set_title("Online vs offline reach", loc="left")
        _date_axis(ax, table.kpi_date.min(), table.kpi_date.max())
        lines = ax.get_lines() + right.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], loc="upper left", fontsize=7, frameon=False)
        return _svg(fig)

    svg = _cached(cache, "reach_online_offline", table, draw) if len(table) else ""
    return Chart("reach_online_offline", "Online vs offline reach",
                 "Cumulative potential reach of campaign posts (followers of their authors) and word-of-mouth "
                 "reach (people told, from the survey answers; respondents who did not answer add nothing).",
                 svg, table, len(table))


def chart_ratings(data: ReportData, day: date, cache: Path | None) -> Chart:
    ratings = data.ratings[data.ratings.kpi_date <= day]
    counts = ratings.groupby("stars")["items"].sum()
    table = pd.DataFrame({"stars": [1, 2, 3, 4, 5], "items": [int(counts.get(s, 0)) for s in range(1, 6)]})
    ugc = data.ugc[data.ugc.kpi_date <= day].groupby("kpi_date")[["rating_sum", "rating_count"]].sum()
    ugc = ugc[ugc.rating_count > 0].cumsum()
    trend = pd.DataFrame({"kpi_date": list(ugc.index),
                          "avg_rating_to_date": (ugc.rating_sum / ugc.rating_count).round(4).to_list()})

    def draw() -> str:
        fig = _figure()
        left, right = fig.subplots(1, 2, width_ratios=[1, 2])
        left.bar(table.stars, table["items"], color="#f1a340")
        left.set_xticks([1, 2, 3, 4, 5])
        for x, value in zip(table.stars, table["items"], strict=True):
            left.text(x, value, f"{value:,}", ha="center", va="bottom", fontsize=7)
        left.set_xlabel("stars")
        left.set_ylabel("ratings")
        left.set_title("Rating distribution", loc="left")
        right.plot(pd.to_datetime(trend.kpi_date), trend.avg_rating_to_date, color="#542788", marker="o",
                   markersize=3)
        right.set_ylim(1, 5)
        right.set_ylabel("average rating to date")
        right.set_title("Average rating to date", loc="left")
        if len(trend):
            _date_axis(right, trend.kpi_date.min(), trend.kpi_date.max())
        return _svg(fig)

    marks = int(table["items"].sum())
    key_table = pd.concat([table.astype(str), trend.astype(str)], axis=1)
    svg = _cached(cache, "ratings", key_table, draw) if marks else ""
    chart = Chart("ratings", "Ratings", "Star ratings of every counted review (with or without text), to date; the "
                  "average is marts.ugc_daily's avg_rating weighted by rating_count.", svg, table, marks)
    chart.extra_table = trend  # type: ignore[attr-defined]
    return chart


def chart_conversion(data: ReportData, day: date, cache: Path | None, index: bool = False) -> list[Chart]:
    charts = []
    for campaign in campaign_windows(data).itertuples():
        conv = data.conversion[(data.conversion.sku == campaign.sku) & (data.conversion.kpi_date <= day)]
        conv = conv.sort_values("kpi_date")
        if conv.empty:
            continue
        base = baseline_rate(data, campaign.sku, campaign.start_date)
        table = conv[["kpi_date", "sessions", "orders", "conversion_rate", "conversion_variation"]].reset_index(drop=True)
        base_start = campaign.start_date - pd.Timedelta(days=BASELINE_DAYS)

        def draw(conv=conv, campaign=campaign, base=base, base_start=base_start) -> str:
            fig = _figure()
            ax = fig.add_subplot()
            x = pd.to_datetime(conv.kpi_date)
            ax.plot(x, conv.conversion_rate, color="#333333", marker="o", markersize=2.5, linewidth=1,
                    label="daily conversion rate")
            ax.axvspan(pd.Timestamp(campaign.start_date) - pd.Timedelta(hours=12),
                       pd.Timestamp(campaign.end_date) + pd.Timedelta(hours=12), color="#fdb863", alpha=0.35,
                       label=f"campaign {campaign.campaign_id}")
            if not math.isnan(base):
                ax.hlines(base, pd.Timestamp(base_start), pd.Timestamp(campaign.start_date), color=COLOURS["test"],
                          linewidth=2, label=f"28-day baseline {base:.2%}")
                ax.hlines(base, pd.Timestamp(campaign.start_date), pd.Timestamp(max(campaign.end_date, day)),
                          color=COLOURS["test"], linewidth=1, linestyle="--")
            ax.yaxis.set_major_formatter(_percent_formatter())
            ax.set_ylabel("orders / sessions")
            ax.set_title(f"Conversion rate of {campaign.sku}", loc="left")
            _date_axis(ax)
            ax.legend(loc="upper left", fontsize=7, frameon=False)
            return _svg(fig)

        key = f"conversion_{campaign.campaign_id}"
        svg = _cached(cache, key, table.assign(baseline=base), draw)
        name = f" {campaign.product_name}" if isinstance(campaign.product_name, str) else ""
        caption = (f"Daily conversion rate; shaded: the campaign ({campaign.start_date} to {campaign.end_date}); "
                   f"solid line: the 28-day baseline before its start ({fmt(base, 'pct')}), dashed: the baseline "
                   "carried through the campaign.")
        if index and isinstance(campaign.conversion_verdict, str):
            caption += (f" Over the campaign: {fmt(campaign.conversion_rate_during, 'pct')} vs "
                        f"{fmt(campaign.conversion_rate_pre, 'pct')} before, a variation of "
                        f"{fmt(campaign.conversion_variation, 'signed_pct')} (95% CI "
                        f"[{fmt(campaign.conversion_variation_low, 'signed_pct')}, "
                        f"{fmt(campaign.conversion_variation_high, 'signed_pct')}]): {campaign.conversion_verdict} "
                        "(marts.campaign_summary).")
        chart = Chart(key, f"Conversion rate over time: {campaign.campaign_id} ({campaign.sku}{name})",
                      caption, svg, table, len(table))
        chart.baseline = base  # type: ignore[attr-defined]
        charts.append(chart)
    return charts


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=1)


def chart_buckets(data: ReportData, day: date, cache: Path | None, index: bool = False) -> Chart:
    table = bucket_conversion(data, day)
    if index:  # up to the last day: marts.review_bucket_conversion's pooled rows say the lift
        lifts = data.buckets.set_index("review_bucket")
        for column in ("lift", "lift_low", "lift_high", "verdict"):
            table[column] = [lifts[column].get(b) if b in lifts.index else None for b in table.review_bucket]
    shown = table[table.sessions > 0]

    def draw() -> str:
        fig = _figure(height=2.8)
        ax = fig.add_subplot()
        x = list(range(len(shown)))
        rate = shown.conversion_rate.to_numpy()
        ax.bar(x, rate, color="#5ab4ac")
        ax.errorbar(x, rate, yerr=[rate - shown.ci_low.to_numpy(), shown.ci_high.to_numpy() - rate], fmt="none",
                    ecolor="black", capsize=4, linewidth=1)
        for i, (r, n) in enumerate(zip(rate, shown.sessions, strict=True)):
            ax.text(i, r / 2, f"{r:.2%}\n{int(n):,} sessions", ha="center", va="center", fontsize=7)
        if "lift" in shown:
            for i, row in enumerate(shown.itertuples()):
                if row.review_bucket != "0" and pd.notna(row.lift):
                    interval = (f"[{fmt(row.lift_low, 'signed_pct')}, {fmt(row.lift_high, 'signed_pct')}]"
                                if pd.notna(row.lift_low) else "[n/a]")
                    ax.text(i, row.ci_high, f"vs 0: {fmt(row.lift, 'signed_pct')} {interval}\n{row.verdict}",
                            ha="center", va="bottom", fontsize=7)
            ax.margins(y=0.25)
        ax.set_xticks(x, list(shown.review_bucket))
        ax.yaxis.set_major_formatter(_percent_formatter())
        ax.set_xlabel("approved reviews on the product page (review bucket)")
        ax.set_ylabel("orders / sessions")
        ax.set_title("Conversion by review bucket (95% interval)", loc="left")
        return _svg(fig)

    svg = _cached(cache, "review_buckets", shown, draw) if len(shown) else ""
    caption = ("Orders / sessions of product pages on the days they had 0, 1-9, 10-49 or 50+ approved reviews, "
               "pooled over SKUs, with the 95% Wilson interval of the proportion.")
    if index:
        caption += (" Above each bar: the lift against bucket 0 with its 95% confidence interval and the verdict "
                    "(marts.review_bucket_conversion, pooled rows; an observational comparison).")
    return Chart("review_buckets", "Conversion by review bucket", caption, svg, table, len(shown))


def chart_uplift(data: ReportData, cache: Path | None) -> Chart:
    table = campaign_windows(data)[["campaign_id", "sku", "test_stores", "control_stores", "test_pre", "test_during",
                                    "control_pre", "control_during", "forecast", "uplift", "sales_uplift_low",
                                    "sales_uplift_high", "sales_verdict"]].reset_index(drop=True)

    # a campaign whose windows have no sales yet (or no store in an arm) is in the table, not drawn
    units = table[["test_pre", "test_during", "control_pre", "control_during"]].astype(float)
    covered = campaign_windows(data).reset_index(drop=True).during_days.fillna(0) > 0
    drawn = table[covered & units.notna().all(axis=1) & (units.test_pre + units.control_pre > 0)
                  & (units.test_during + units.control_during > 0)]

    def draw() -> str:
        fig = _figure(height=2.9 * len(drawn) + 0.3)
        fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.5 / (2.9 * len(drawn) + 0.3),
                            bottom=0.9 / (2.9 * len(drawn)), hspace=0.75, wspace=0.35)
        grid = fig.subplots(len(drawn), 2, squeeze=False, width_ratios=[3, 1])
        for (ax, side), row in zip(grid, drawn.itertuples(), strict=True):
            pre = [row.test_pre, row.control_pre]
            during = [row.test_during, row.control_during]
            ax.bar([-0.2, 0.8], pre, width=0.38, color="#bbbbbb", label="28 days before")
            ax.bar([0.2, 1.2], during, width=0.38, color=[COLOURS["test"], "#666666"], label="during the campaign")
            if pd.notna(row.forecast):
                ax.hlines(row.forecast, 0.01, 0.39, color="black", linestyle="--", linewidth=1.5,
                          label=f"test forecast without\nthe campaign: {row.forecast:.2f}")
            for x, value in zip([-0.2, 0.8, 0.2, 1.2], pre + during, strict=True):
                ax.text(x, value, f"{value:.2f}", ha="center", va="bottom", fontsize=7)
            ax.set_xticks([0, 1], [f"exposed zones (test, {row.test_stores} stores)",
                                   f"other zones (control, {row.control_stores} stores)"])
            ax.set_ylabel("units / store / day")
            ax.margins(y=0.15)
            ax.set_title(f"{row.campaign_id} ({row.sku}): uplift {fmt(row.uplift, 'signed_pct')}\n95% CI "
                         f"[{fmt(row.sales_uplift_low, 'signed_pct')}, {fmt(row.sales_uplift_high, 'signed_pct')}]: "
                         f"{row.sales_verdict}", loc="left", fontsize=9)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=7, frameon=False, ncols=3)
            # the uplift and its 95% interval, against no effect (0)
            if pd.notna(row.uplift):
                low = row.sales_uplift_low if pd.notna(row.sales_uplift_low) else row.uplift
                high = row.sales_uplift_high if pd.notna(row.sales_uplift_high) else row.uplift
                side.errorbar([0], [row.uplift], yerr=[[row.uplift - low], [high - row.uplift]], fmt="o",
                              color=COLOURS["test"], capsize=6, markersize=6)
                side.text(0.08, row.uplift, fmt(row.uplift, "signed_pct"), va="center", fontsize=8)
            side.axhline(0, color="#999999", linewidth=1, linestyle=":")
            side.set_xlim(-0.5, 0.6)
            side.set_xticks([])
            side.yaxis.set_major_formatter(_percent_formatter())
            side.set_title("uplift, 95% CI", fontsize=9)
        return _svg(fig)

    svg = _cached(cache, "store_sales_uplift", table, draw) if len(drawn) else ""
    return Chart("store_sales_uplift", "Store sales: exposed vs control zones",
                 "Average units per store and day of the campaign's SKU, before and during the campaign, in the "
                 "exposed zones and in the brand's other zones; forecast = test_pre x control_during / control_pre, "
                 "uplift = test_during / forecast - 1 (marts.sales_uplift), with its 95% confidence interval and "
                 "verdict (marts.campaign_summary). A campaign without sales in a window is in the table only.",
                 svg, table, len(drawn))


def charts_for(data: ReportData, day: date, cache: Path | None, index: bool) -> list[Chart]:
    charts = [chart_ugc(data, day, "platform", cache), chart_ugc(data, day, "influencer_tier", cache),
              chart_pyramid(data, day, cache), chart_reach(data, day, cache), chart_ratings(data, day, cache),
              *chart_conversion(data, day, cache, index), chart_buckets(data, day, cache, index)]
    if index:
        charts.append(chart_uplift(data, cache))
    return charts


# -- pages --------------------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 16px 24px; color: #222; background: #fff; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
nav { margin: 0.5em 0 1em; font-size: 0.9em; } nav a { margin-right: 1em; }
.meta { color: #666; font-size: 0.85em; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin: 1em 0; }
.tile { border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; background: #fafafa; }
.tile .label { font-size: 0.8em; color: #555; } .tile .value { font-size: 1.4em; font-weight: 600; margin-top: 4px; }
figure.chart { margin: 1.2em 0; border-top: 1px solid #eee; padding-top: 0.6em; }
figure.chart svg { width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #444; margin: 0.3em 0; }
.nodata { color: #a00; font-style: italic; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.4em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; } th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
details summary { cursor: pointer; font-size: 0.8em; color: #555; }
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ style }}</style></head>
<body>
<h1>{{ title }}</h1>
<p class="meta">{{ subtitle }}</p>
<nav>{% for label, href in links %}<a href="{{ href }}">{{ label }}</a>{% endfor %}</nav>
<section class="tiles">
{% for tile in tiles %}<div class="tile" data-kpi="{{ tile.key }}" data-value="{{ tile.raw }}">
<div class="label">{{ tile.label }}</div><div class="value">{{ tile.text }}</div></div>
{% endfor %}</section>
{% for chart in charts %}<figure class="chart" id="{{ chart.key }}" data-chart="{{ chart.key }}" data-marks="{{ chart.marks }}">
<h2>{{ chart.title }}</h2>
{% if chart.svg %}{{ chart.svg | safe }}{% else %}<p class="nodata">No data yet.</p>{% endif %}
<figcaption>{{ chart.caption }}</figcaption>
<details><summary>the numbers</summary>{{ chart.html_table | safe }}</details>
</figure>
{% endfor %}
{% if freshness %}<h2>Data loaded through</h2>
<p class="meta">Per source of the landing zone (marts.data_freshness): the latest delivery day loaded, and any
delivery day that failed (not in these numbers until it is rerun).</p>
{{ freshness | safe }}{% endif %}
{% if days %}<h2>KPI days</h2>
<table class="days" data-table="days"><tr><th>day</th><th>UGC items</th><th>campaign posts</th><th>potential reach</th>
<th>offline reach</th><th>sessions</th><th>conversion rate</th></tr>
{% for d in days %}<tr data-day="{{ d.day }}"><td><a href="{{ d.href }}">{{ d.day }}</a></td><td>{{ d.ugc }}</td>
<td>{{ d.posts }}</td><td>{{ d.reach }}</td><td>{{ d.offline }}</td><td>{{ d.sessions }}</td><td>{{ d.conversion }}</td></tr>
{% endfor %}</table>{% endif %}
<p class="meta">Written {{ written }} from {{ source }} by the ugc_marts run. Definitions: docs/data_dictionary.md.</p>
</body></html>
"""


def _html_table(frame: pd.DataFrame, key: str) -> str:
    def cell(value) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if isinstance(value, float):  # whole numbers in full, others to 10 significant digits
            return f"{int(value)}" if value.is_integer() else f"{value:.10g}"
        return html.escape(str(value))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f'<td data-col="{html.escape(str(c))}">{cell(v)}</td>'
                                    for c, v in zip(frame.columns, row, strict=True)) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f'<table data-table="{html.escape(key)}"><tr>{head}</tr>{rows}</table>'


def day_file(day: date) -> str:
    return f"day-{day.isoformat()}.html"


def _tiles(numbers: dict[str, float]) -> list[dict]:
    return [{"key": key, "label": TILE_LABELS[key][0], "text": fmt(value, TILE_LABELS[key][1]),
             "raw": "" if math.isnan(value) else repr(float(value))} for key, value in numbers.items()]


def render_page(data: ReportData, day: date, cache: Path | None, index: bool, written: str) -> str:
    import jinja2

    charts = charts_for(data, day, cache, index)
    for chart in charts:
        chart.html_table = _html_table(chart.table, chart.key)  # type: ignore[attr-defined]
        extra = getattr(chart, "extra_table", None)
        if extra is not None:
            chart.html_table += _html_table(extra, f"{chart.key}_trend")  # type: ignore[attr-defined]
    days = data.days
    links = [("index", "index.html")]
    if not index:
        i = days.index(day)
        if i > 0:
            links.append((f"< {days[i - 1]}", day_file(days[i - 1])))
        if i + 1 < len(days):
            links.append((f"{days[i + 1]} >", day_file(days[i + 1])))
    rows = []
    if index:
        for d in reversed(days):
            n = headline(data, d)
            rows.append({"day": d.isoformat(), "href": day_file(d), "ugc": fmt(n["ugc_items_day"], "int"),
                         "posts": fmt(_day_sum(data.reach, d, "post_count", online=True), "int"),
                         "reach": fmt(_day_sum(data.reach, d, "potential_reach", online=True), "int"),
                         "offline": fmt(_day_sum(data.reach, d, "offline_reach", online=False), "int"),
                         "sessions": fmt(n["sessions_day"], "int"), "conversion": fmt(n["conversion_rate_day"], "pct")})
    title = (f"UGC KPI report, {days[0]} to {days[-1]}" if index else f"UGC KPI report, {day}")
    subtitle = ("Everything up to the last KPI day; one page per day below." if index else
                f"The KPI day {day} (numbers of the day) and everything up to it (to date).")
    template = jinja2.Environment(autoescape=True).from_string(PAGE)
    return template.render(title=title, subtitle=subtitle, style=STYLE, links=links, tiles=_tiles(headline(data, day)),
                           charts=charts, days=rows, written=written, source=data.source,
                           freshness=_html_table(data.freshness.sort_values("source"), "data_freshness")
                           if index and len(data.freshness) else "")


def _day_sum(reach: pd.DataFrame, day: date, column: str, online: bool) -> float:
    rows = reach[(reach.kpi_date == day) & ((reach.platform != "offline") == online)]
    return float(rows[column].sum())


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_report_from(data: ReportData, folder: Path) -> Path | None:
    """Write the pages of ``data`` into ``folder``; the index's path (None: no KPI day yet)."""
    folder.mkdir(parents=True, exist_ok=True)
    cache = folder / CHART_CACHE
    days = data.days
    if not days:
        log.info("no KPI day in the marts yet: no report")
        return None
    written = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    used: set[str] = set()
    for day in days:
        _write_atomic(folder / day_file(day), render_page(data, day, cache, index=False, written=written))
        used.add(day_file(day))
    index = folder / "index.html"
    _write_atomic(index, render_page(data, days[-1], cache, index=True, written=written))
    for stale in folder.glob("day-*.html"):  # days no mart has any more (a restated history)
        if stale.name not in used:
            stale.unlink()
    return index


def _prune_cache(folder: Path, keep_after: float) -> None:
    """Drop the cached charts no page of this run used (older than the run's start)."""
    for path in (folder / CHART_CACHE).glob("*.svg"):
        if path.stat().st_mtime < keep_after:
            path.unlink(missing_ok=True)


def write_report(settings: Settings) -> Path | None:
    """The report of the marts into ``UGC_REPORT_DIR`` (``settings.report_dir``; "" = none)."""
    import time

    from ugc_pipeline import warehouse
    from ugc_pipeline.publish import published_path, reader_url
    from ugc_pipeline.settings import redact_url

    if not settings.report_dir:
        log.info("UGC_REPORT_DIR is empty: no report")
        return None
    started = time.time()
    # the published copy (what analysts see); the warehouse itself on PostgreSQL, or before a
    # first copy was published (a report written by hand after `ugc-pipeline dbt build`)
    copy = published_path(settings)
    url = reader_url(settings) if copy is None or copy.exists() else settings.warehouse_url
    engine = warehouse.create_warehouse_engine(url)
    try:
        data = load_report_data(engine)
    finally:
        engine.dispose()
    data.source = redact_url(url.split("?")[0])
    folder = Path(settings.report_dir).expanduser().resolve()
    index = write_report_from(data, folder)
    if index is not None:
        _prune_cache(folder, started - 1)
        log.info("wrote the KPI report (%d day pages and the index) in %.1f s: %s", len(data.days),
                 time.time() - started, index)
    return index

