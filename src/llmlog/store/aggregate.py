"""Aggregation shared by every backend: accumulate rows or rollups, then finish into StatsRows.

An :class:`Acc` runs in one of two modes. *Exact* (rows only) keeps the
latencies and sorts them for percentiles. *Histogram* (whenever any per-hour
rollup is merged in) counts latencies in the rollup's log buckets, so rows from
the partial hours at the edges of a time window merge with the rollup exactly,
and percentiles are read from the merged histogram (within 4.4%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from llmlog.store.model import StatsRow
from llmlog.store.sqlite.rollup import bucket_of, bucket_value

__all__ = ["Acc", "bucket_start", "finish_rows", "percentile"]


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Return the nearest-rank ``p``-th percentile (0 < p <= 100) of sorted values."""
    n = len(sorted_values)
    if not n:
        return None
    return sorted_values[max(0, min(n - 1, math.ceil(p / 100 * n) - 1))]


def _hist_percentile(hist: dict[int, int], total: int, p: float) -> float | None:
    if total <= 0:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= rank:
            return bucket_value(b)
    return bucket_value(max(hist)) if hist else None


_day_cache: dict[int, float] = {}


def bucket_start(ts: float, bucket: str) -> float:
    """Return the start of the ``hour`` (UTC-aligned) or local ``day`` that holds ``ts``."""
    hour = int(ts // 3600)
    if bucket == "hour":
        return float(hour * 3600)
    day = _day_cache.get(hour)
    if day is None:
        day = (
            datetime.fromtimestamp(hour * 3600)
            .replace(hour=0, minute=0, second=0, microsecond=0)
            .timestamp()
        )
        if len(_day_cache) > 100_000:
            _day_cache.clear()
        _day_cache[hour] = day
    return day


class Acc:
    """Accumulate interactions (rows) or rollup sums for one group/bucket."""

    __slots__ = (
        "cost_n",
        "cost_sum",
        "count",
        "dur",
        "dur_n",
        "dur_sum",
        "errors",
        "hist",
        "tin",
        "tout",
        "ttft",
        "ttft_n",
        "ttft_sum",
        "ttot",
    )

    def __init__(self, *, histogram: bool) -> None:
        self.count = self.errors = self.dur_n = self.ttft_n = 0
        self.dur_sum = self.ttft_sum = self.cost_sum = 0.0
        self.tin = self.tout = self.ttot = self.cost_n = 0
        self.hist: tuple[dict[int, int], dict[int, int]] | None = ({}, {}) if histogram else None
        self.dur: list[float] = []
        self.ttft: list[float] = []

    def add_row(
        self,
        status: str | None,
        dur: float | None,
        ttft: float | None,
        tin: int | None,
        tout: int | None,
        ttot: int | None,
        cost: float | None,
    ) -> None:
        """Add one interaction's columns."""
        self.count += 1
        if status == "error":
            self.errors += 1
        hist = self.hist
        if dur is not None:
            self.dur_n += 1
            self.dur_sum += dur
            if hist is None:
                self.dur.append(dur)
            else:
                b = bucket_of(dur)
                hist[0][b] = hist[0].get(b, 0) + 1
        if ttft is not None:
            self.ttft_n += 1
            self.ttft_sum += ttft
            if hist is None:
                self.ttft.append(ttft)
            else:
                b = bucket_of(ttft)
                hist[1][b] = hist[1].get(b, 0) + 1
        if tin:
            self.tin += tin
        if tout:
            self.tout += tout
        if ttot:
            self.ttot += ttot
        if cost is not None:
            self.cost_n += 1
            self.cost_sum += cost

    def add_rollup(
        self,
        n: int,
        errors: int,
        dur_n: int,
        dur_sum: float,
        ttft_n: int,
        ttft_sum: float,
        tin: int,
        tout: int,
        ttot: int,
        cost_n: int,
        cost_sum: float,
    ) -> None:
        """Add one per-hour rollup row's sums."""
        self.count += n
        self.errors += errors
        self.dur_n += dur_n
        self.dur_sum += dur_sum
        self.ttft_n += ttft_n
        self.ttft_sum += ttft_sum
        self.tin += tin
        self.tout += tout
        self.ttot += ttot
        self.cost_n += cost_n
        self.cost_sum += cost_sum

    def add_hist(self, metric: int, bucket: int, n: int) -> None:
        """Add ``n`` latencies of ``metric`` (0 duration, 1 TTFT) in ``bucket``."""
        assert self.hist is not None
        h = self.hist[metric]
        h[bucket] = h.get(bucket, 0) + n

    def finish(self, group: str | None, bucket: float | None) -> StatsRow:
        """Return the StatsRow for what was accumulated."""
        if self.hist is None:
            dur = sorted(self.dur)
            ttft = sorted(self.ttft)
            p50, p95, p99 = (percentile(dur, p) for p in (50, 95, 99))
            t50, t95 = percentile(ttft, 50), percentile(ttft, 95)
        else:
            dh, th = self.hist
            p50, p95, p99 = (_hist_percentile(dh, self.dur_n, p) for p in (50, 95, 99))
            t50, t95 = (_hist_percentile(th, self.ttft_n, p) for p in (50, 95))
        return StatsRow(
            group=group,
            bucket=bucket,
            count=self.count,
            errors=self.errors,
            latency_count=self.dur_n,
            latency_avg_ms=self.dur_sum / self.dur_n if self.dur_n else None,
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            latency_p99_ms=p99,
            ttft_count=self.ttft_n,
            ttft_avg_ms=self.ttft_sum / self.ttft_n if self.ttft_n else None,
            ttft_p50_ms=t50,
            ttft_p95_ms=t95,
            input_tokens=self.tin,
            output_tokens=self.tout,
            total_tokens=self.ttot,
            cost_count=self.cost_n,
            cost_usd=round(self.cost_sum, 10) if self.cost_n else None,
            approximate=self.hist is not None,
        )


def finish_rows(
    accs: dict[tuple[float | None, str | None], Acc],
    *,
    grouped: bool,
    bucketed: bool,
    histogram: bool,
) -> list[StatsRow]:
    """Return the finished rows: by bucket (oldest first), then by count (largest first).

    Without grouping or bucketing there is always exactly one row, zero when empty.
    """
    if not accs and not grouped and not bucketed:
        accs = {(None, None): Acc(histogram=histogram)}
    rows = [acc.finish(group, bucket) for (bucket, group), acc in accs.items()]
    rows.sort(key=lambda r: (r.bucket or 0.0, -r.count, r.group or ""))
    return rows
