"""Aggregates for the PostgreSQL store, computed by the server over the rows.

Mixed into :class:`~llmlog.store.postgres.read.PostgresStore`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from llmlog.store.aggregate import bucket_start, finish_rows
from llmlog.store.common import Conds
from llmlog.store.model import (
    BUCKETS,
    GROUP_BYS,
    Bucket,
    GroupBy,
    Query,
    StatsRow,
)
from llmlog.store.postgres.sql import (
    Conn,
    guard,
)

__all__ = ["PostgresStats"]

_AGGREGATES = (
    "count(*), count(*) FILTER (WHERE i.status = 'error'),"
    " count(i.duration_ms), avg(i.duration_ms),"
    " percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY i.duration_ms),"
    " count(i.ttft_ms), avg(i.ttft_ms),"
    " percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY i.ttft_ms),"
    " coalesce(sum(i.input_tokens), 0)::bigint, coalesce(sum(i.output_tokens), 0)::bigint,"
    " coalesce(sum(i.total_tokens), 0)::bigint, count(i.cost_usd), sum(i.cost_usd)"
)
_GROUP_COL = {
    "model": "i.model",
    "provider": "i.provider",
    "status": "i.status",
    "user": "i.user_id",
    "tag": "g.tag",
}


def _day_starts(lo: float, hi: float) -> list[float]:
    """Return the starts of the local days (as :func:`bucket_start` defines them) in [lo, hi]."""
    out = [bucket_start(lo, "day")]
    while out[-1] <= hi:
        # a local day lasts 23 to 25 hours: 26 hours on is always inside the next one
        out.append(bucket_start(out[-1] + 26 * 3600, "day"))
    return out


class PostgresStats:
    """``stats`` for :class:`~llmlog.store.postgres.read.PostgresStore`."""

    if TYPE_CHECKING:
        _db: Conn
        url: str
        schema: str
        _t: str

        def _read(self) -> AbstractContextManager[Conn]: ...

        def _conds(self, q: Query, *, materialize: bool = True) -> Conds: ...

        def _materialize(self, c: Conds) -> None: ...

    @guard
    def stats(
        self, query: Query | None = None, *, by: GroupBy | None = None, bucket: Bucket | None = None
    ) -> list[StatsRow]:
        """Return aggregates per group and/or time bucket (see :meth:`Store.stats`).

        One ``GROUP BY`` over the matching rows; percentiles are exact
        (nearest rank), so no row is ``approximate``.
        """
        if by is not None and by not in GROUP_BYS:
            raise ValueError(f"cannot group by {by!r}: use one of {', '.join(GROUP_BYS)}")
        if bucket is not None and bucket not in BUCKETS:
            raise ValueError(f"unknown time bucket {bucket!r}: use hour or day")
        q = query or Query()
        with self._read() as db:
            c = self._conds(q)
            gcol = _GROUP_COL[by] if by else "NULL::text"
            join = (
                " CROSS JOIN LATERAL (SELECT DISTINCT unnest(i.tags) AS tag) g"
                if by == "tag"
                else ""
            )
            bparams: list[Any] = []
            starts: list[float] = []
            if bucket == "hour":
                bcol = "floor(i.ts / 3600) * 3600"
            elif bucket == "day":
                span = db.execute(f"SELECT min(ts), max(ts) FROM {self._t}").fetchone()
                if span is None or span[0] is None:
                    return []
                lo = span[0] if q.since is None else max(span[0], q.since)
                hi = span[1] if q.until is None else min(span[1], q.until)
                starts = _day_starts(lo, max(lo, hi))
                bcol = "width_bucket(floor(i.ts / 3600) * 3600, %s::float8[])"
                bparams = [starts]
            else:
                bcol = "NULL::float8"
            group = " GROUP BY 1, 2" if by or bucket else ""
            rows = db.execute(
                f"SELECT {gcol}, {bcol}, {_AGGREGATES} FROM {self._t} i{join}{c.sql()}{group}",
                [*bparams, *c.params],
            ).fetchall()
        out: list[StatsRow] = []
        for r in rows:
            if not r[2]:
                continue  # the aggregate of no rows, without GROUP BY
            b = r[1]
            if bucket == "day":
                b = starts[max(0, int(b) - 1)]
            dur = r[6] or (None, None, None)
            ttft = r[9] or (None, None)
            out.append(
                StatsRow(
                    group=r[0],
                    bucket=None if b is None else float(b),
                    count=r[2],
                    errors=r[3],
                    latency_count=r[4],
                    latency_avg_ms=r[5],
                    latency_p50_ms=dur[0],
                    latency_p95_ms=dur[1],
                    latency_p99_ms=dur[2],
                    ttft_count=r[7],
                    ttft_avg_ms=r[8],
                    ttft_p50_ms=ttft[0],
                    ttft_p95_ms=ttft[1],
                    input_tokens=r[10],
                    output_tokens=r[11],
                    total_tokens=r[12],
                    cost_count=r[13],
                    cost_usd=round(r[14], 10) if r[13] else None,
                )
            )
        if not out and not by and not bucket:
            return finish_rows({}, grouped=False, bucketed=False, histogram=False)
        out.sort(key=lambda s: (s.bucket or 0.0, -s.count, s.group or ""))
        return out

    # -- maintenance -------------------------------------------------------------------------
