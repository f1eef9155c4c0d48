"""The dashboard's numbers: a bounded number of rollup-backed ``Store.stats`` calls.

For one time range the page needs totals, totals per model, and a time series.

* Up to two days, the series is one call, ``stats(q, bucket="hour")``, and a
  second, ``stats(q, bucket="hour", by="model")``, stacks requests and cost by
  model.
* Beyond that the series has one point per local day (up to 62 days), per week
  (up to 62 weeks) or per month. When the days are busy (more interactions per
  day than the query layer counts exactly from rows, 20,000), each point is its
  own ``stats(q)`` call over that window, run on a few threads (each with its
  own store connection, as the Store protocol asks): a whole-day window is
  answered from the daily rollups, while the single ``stats(q, bucket="day")``
  call reads every hour's latency histogram, which on a million interactions
  costs 0.25-0.4 s for 30 days, more than the page's whole budget
  (``bench/web.py`` times both). Quieter days (or a filter that leaves few)
  take the single ``bucket="day"`` call, which is then cheap. Weeks and months
  are always windows. These ranges stack ok/errors; the per-model split is in
  the table.

Nothing is computed from rows here, and the number of calls does not grow with
the size of the store or the length of the range (at most ~62 windows).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from markupsafe import Markup

from llmlog.display import fmt_ms
from llmlog.store import Query, StatsRow, Store
from llmlog.web._charts import PALETTE_SIZE, Series, bar_chart, line_chart, share_bar
from llmlog.web._filters import Filters
from llmlog.web._templates import fmt_compact, fmt_money, fmt_pct, iso_local

__all__ = ["DEFAULT_RANGE", "RANGES", "Dashboard", "ModelRow", "build_dashboard", "range_url"]

RANGES: tuple[tuple[str, str], ...] = (
    ("24h", "24 hours"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("all", "All time"),
)
"""The range tabs: ``since`` value and label (``all``: no lower bound)."""
DEFAULT_RANGE = "7d"
HOURLY_MAX_SECONDS = 2 * 86400 + 3600
MAX_WINDOWS = 62
EXACT_ROWS = 20_000
"""Up to this many interactions the query layer computes exact percentiles from rows
(``llmlog.store.sqlite.read.EXACT_ROWS``): windows smaller than that are cheaper in one call."""
WORKERS = max(1, min(4, os.cpu_count() or 1))

Opener = Callable[[], Store]
"""Opens the store (a new connection: one per thread)."""


@dataclass(frozen=True, slots=True)
class ModelRow:
    """One line of the per-model table."""

    model: str
    css: str
    row: StatsRow
    share: Markup
    href: str


@dataclass(slots=True)
class Dashboard:
    """Everything the dashboard template shows.

    Attributes:
        total: the totals of the range.
        bucket: what one point of the series is: ``hour``, ``day``, ``week`` or ``month``.
        charts: the SVG charts by name.
        legend: ``(name, css class)`` of the stacked series (by model).
        models: the per-model table.
        stacked: whether requests and cost are stacked by model.
    """

    total: StatsRow
    bucket: str
    charts: dict[str, Markup] = field(default_factory=dict)
    legend: list[tuple[str, str]] = field(default_factory=list)
    models: list[ModelRow] = field(default_factory=list)
    stacked: bool = False


def _midnight(d: date) -> float:
    return datetime.combine(d, datetime.min.time()).timestamp()


def windows(start: float, end: float) -> tuple[str, list[float]]:
    """Return the unit and the start times of the points covering ``[start, end)``.

    Hours up to two days; local days up to 62 days; weeks (from Monday) up to 62
    weeks; months beyond.
    """
    span = end - start
    if span <= HOURLY_MAX_SECONDS:
        t = float(int(start // 3600) * 3600)
        hours = []
        while t < end:
            hours.append(t)
            t += 3600.0
        return "hour", hours
    first = datetime.fromtimestamp(start).date()
    out: list[float] = []
    if span <= MAX_WINDOWS * 86400:
        unit, d = "day", first
        while (t := _midnight(d)) < end:
            out.append(t)
            d += timedelta(days=1)
    elif span <= MAX_WINDOWS * 7 * 86400:
        unit, d = "week", first - timedelta(days=first.weekday())
        while (t := _midnight(d)) < end:
            out.append(t)
            d += timedelta(days=7)
    else:
        unit, d = "month", first.replace(day=1)
        while (t := _midnight(d)) < end:
            out.append(t)
            d = (d + timedelta(days=32)).replace(day=1)
    return unit, out


def _window_stats(
    opener: Opener, query: Query, xs: Sequence[float], end: float
) -> dict[float, StatsRow]:
    """Return ``stats(query)`` restricted to each window, by window start (threads)."""

    def bounds(i: int) -> tuple[float, float | None]:
        lo = xs[i] if query.since is None else max(xs[i], query.since)
        hi: float | None = xs[i + 1] if i + 1 < len(xs) else query.until
        if hi is not None and query.until is not None:
            hi = min(hi, query.until)
        return lo, hi

    local = threading.local()
    opened: list[Store] = []

    def init() -> None:  # one connection per worker thread, for all its windows
        local.store = opener()
        opened.append(local.store)

    def one(i: int) -> tuple[float, StatsRow] | None:
        lo, hi = bounds(i)
        if hi is not None and lo >= hi:
            return None
        [row] = local.store.stats(query.replace(since=lo, until=hi))
        return xs[i], row

    try:
        with ThreadPoolExecutor(
            max_workers=WORKERS, thread_name_prefix="llmlog-web", initializer=init
        ) as pool:
            results = list(pool.map(one, range(len(xs))))
    finally:
        for store in opened:
            store.close()
    return {r[0]: r[1] for r in results if r is not None and r[1].count}


def _values(
    rows: dict[float, StatsRow], xs: Sequence[float], get: Callable[[StatsRow], float | None]
) -> list[float | None]:
    out: list[float | None] = []
    for x in xs:
        row = rows.get(x)
        out.append(get(row) if row is not None else None)
    return out


def _list_url(
    filters: Filters, *, since: float, until: float | None, model: str | None = None
) -> str:
    f = filters.with_(since=iso_local(since), until=iso_local(until))
    if model is not None:
        f = f.with_(models=(model,))
    return f.url("/")


def build_dashboard(
    opener: Opener, filters: Filters, query: Query, *, now: float | None = None
) -> Dashboard:
    """Return the dashboard for ``query``: totals, per model, and series over its time range.

    Args:
        opener: opens the store; called once here and once per worker thread.
        filters: the filters as in the URL (for drill-down links).
        query: the parsed filters.
        now: the current time (tests).
    """
    now = time.time() if now is None else now
    with opener() as store:
        [total] = store.stats(query)
        end = query.until if query.until is not None else now
        start = query.since
        if start is None:
            first = store.search(query, limit=1, order="oldest").records
            start = float(first[0].get("timestamp") or end) if first else end - 86400
        unit, xs = windows(start, end)
        per_model = store.stats(query, by="model")
        stacked_rows: list[StatsRow] = []
        if unit == "hour":
            series_rows = {
                r.bucket: r for r in store.stats(query, bucket="hour") if r.bucket is not None
            }
            if per_model:
                stacked_rows = store.stats(query, bucket="hour", by="model")
    if unit == "day" and total.count <= EXACT_ROWS * len(xs):
        # small days: the query layer would count each one exactly from its rows, so
        # one call over the range costs less than one per day
        with opener() as store:
            series_rows = {
                r.bucket: r for r in store.stats(query, bucket="day") if r.bucket is not None
            }
    elif unit != "hour":
        series_rows = _window_stats(opener, query, xs, end)
    dash = Dashboard(total=total, bucket=unit)

    palette: dict[str | None, str] = {}
    for i, row in enumerate(per_model):
        palette[row.group] = f"s{min(i, PALETTE_SIZE - 1)}"
    top = [r.group for r in per_model[: PALETTE_SIZE - 1]]
    others = len(per_model) > PALETTE_SIZE - 1
    for r in per_model:
        href = filters.with_(models=(r.group,)).url("/") if r.group else filters.url("/")
        dash.models.append(
            ModelRow(
                r.group or "(none)",
                palette[r.group],
                r,
                share_bar(r.count / total.count if total.count else 0.0, palette[r.group]),
                href,
            )
        )
    dash.legend = [(m or "(none)", palette[m]) for m in top]
    if others:
        dash.legend.append(("other models", f"s{PALETTE_SIZE - 1}"))

    def ends(i: int) -> float | None:
        """The end of point ``i`` for its drill-down link (the last one is open-ended)."""
        return xs[i + 1] if i + 1 < len(xs) else query.until

    requests: list[Series]
    costs: list[Series]
    if stacked_rows:
        dash.stacked = True
        by_bucket: dict[tuple[float, str | None], StatsRow] = {}
        for r in stacked_rows:
            if r.bucket is not None:
                key = r.group if r.group in top else "\x00other"
                prev = by_bucket.get((r.bucket, key))
                by_bucket[(r.bucket, key)] = r if prev is None else _merge(prev, r)
        keys: list[str | None] = [*top, *(["\x00other"] if others else [])]
        requests, costs = [], []
        for key in keys:
            name = "other models" if key == "\x00other" else (key or "(none)")
            css = f"s{PALETTE_SIZE - 1}" if key == "\x00other" else palette[key]
            rows = [by_bucket.get((x, key)) for x in xs]
            hrefs = [
                _list_url(
                    filters,
                    since=x,
                    until=ends(i),
                    model=key if key not in (None, "\x00other") else None,
                )
                for i, x in enumerate(xs)
            ]
            requests.append(Series(name, [r.count if r else None for r in rows], css, hrefs))
            costs.append(Series(name, [r.cost_usd if r else None for r in rows], css))
    else:
        hrefs = [_list_url(filters, since=x, until=ends(i)) for i, x in enumerate(xs)]
        requests = [
            Series("ok", _values(series_rows, xs, lambda r: r.count - r.errors), "s0", hrefs),
            Series(
                "errors",
                _values(series_rows, xs, lambda r: r.errors),
                "err",
                [f"{h}&status=error" if "?" in h else f"{h}?status=error" for h in hrefs],
            ),
        ]
        costs = [Series("cost", _values(series_rows, xs, lambda r: r.cost_usd), "s0")]

    dash.charts["requests"] = bar_chart(
        "requests",
        "Requests over time",
        xs,
        requests,
        bucket=unit,
        fmt=fmt_compact,
        width=1280,
        height=250,
    )
    dash.charts["errors"] = line_chart(
        "errors",
        "Error rate over time",
        xs,
        [Series("error rate", _values(series_rows, xs, lambda r: r.error_rate), "err")],
        bucket=unit,
        fmt=fmt_pct,
    )
    dash.charts["latency"] = line_chart(
        "latency",
        "Latency p50 and p95 over time",
        xs,
        [
            Series("p50", _values(series_rows, xs, lambda r: r.latency_p50_ms), "s0"),
            Series("p95", _values(series_rows, xs, lambda r: r.latency_p95_ms), "s3"),
        ],
        bucket=unit,
        fmt=fmt_ms,
    )
    dash.charts["tokens"] = bar_chart(
        "tokens",
        "Tokens over time",
        xs,
        [
            Series("input", _values(series_rows, xs, lambda r: r.input_tokens), "s0"),
            Series("output", _values(series_rows, xs, lambda r: r.output_tokens), "s2"),
        ],
        bucket=unit,
        fmt=fmt_compact,
    )
    dash.charts["cost"] = bar_chart("cost", "Cost over time", xs, costs, bucket=unit, fmt=fmt_money)
    return dash


def _merge(a: StatsRow, b: StatsRow) -> StatsRow:
    """Return the sums of two rows (for "other models"; percentiles are not kept)."""
    cost = (
        (a.cost_usd or 0.0) + (b.cost_usd or 0.0)
        if (a.cost_usd is not None or b.cost_usd is not None)
        else None
    )
    return StatsRow(
        group=a.group,
        bucket=a.bucket,
        count=a.count + b.count,
        errors=a.errors + b.errors,
        latency_count=0,
        latency_avg_ms=None,
        latency_p50_ms=None,
        latency_p95_ms=None,
        latency_p99_ms=None,
        ttft_count=0,
        ttft_avg_ms=None,
        ttft_p50_ms=None,
        ttft_p95_ms=None,
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        total_tokens=a.total_tokens + b.total_tokens,
        cost_count=a.cost_count + b.cost_count,
        cost_usd=cost,
    )


def range_url(filters: Filters, since: str) -> str:
    """Return the dashboard URL for a range tab, keeping the other filters."""
    f = filters.with_(since=since, until="")
    qs = urlencode(f.pairs())
    return f"/dashboard?{qs}" if qs else "/dashboard"
