"""Aggregates for the SQLite store: from the rollups where they can, else from the rows.

Mixed into :class:`~llmlog.store.sqlite.read.SQLiteStore`; see its module for how each
kind of question is answered.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmlog.store.aggregate import Acc, bucket_start, finish_rows
from llmlog.store.common import Conds
from llmlog.store.model import (
    BUCKETS,
    GROUP_BYS,
    Bucket,
    GroupBy,
    Query,
    StatsRow,
)
from llmlog.store.sqlite.sql import in_list

__all__ = ["EXACT_ROWS", "SQLiteStats"]

_GROUP_COL = {
    "model": "i.model",
    "provider": "i.provider",
    "status": "i.status",
    "user": "i.user_id",
    "tag": "g.tag",
}
_ROLLUP_GROUPS = ("model", "provider", "status", "tag")
_ROW_COLS = (
    "i.ts, i.status, i.duration_ms, i.ttft_ms, i.input_tokens, i.output_tokens,"
    " i.total_tokens, i.cost_usd"
)
_SUMS = (
    "sum(n), sum(errors), sum(duration_n), sum(duration_sum), sum(ttft_n), sum(ttft_sum),"
    " sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cost_n), sum(cost_usd)"
)
EXACT_ROWS = 20_000
"""Aggregates over at most this many interactions are computed from the rows (exact)."""


class SQLiteStats:
    """``stats`` for :class:`~llmlog.store.sqlite.read.SQLiteStore`."""

    if TYPE_CHECKING:
        _db: sqlite3.Connection
        path: Path

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _conds(self, q: Query, *, materialize: bool = True) -> Conds: ...

        def _materialize(self, c: Conds) -> None: ...

    @staticmethod
    def _rollup_ok(q: Query, by: str | None) -> bool:
        return (
            q.text is None
            and q.session_id is None
            and q.user_id is None
            and not q.metadata
            and q.min_score is None
            and q.max_score is None
            and len(q.tags) <= 1
            and (by is None or by in _ROLLUP_GROUPS)
            and not (by == "tag" and q.tags)
        )

    def stats(
        self, query: Query | None = None, *, by: GroupBy | None = None, bucket: Bucket | None = None
    ) -> list[StatsRow]:
        """Return aggregates per group and/or time bucket (see :meth:`Store.stats`)."""
        if by is not None and by not in GROUP_BYS:
            raise ValueError(f"cannot group by {by!r}: use one of {', '.join(GROUP_BYS)}")
        if bucket is not None and bucket not in BUCKETS:
            raise ValueError(f"unknown time bucket {bucket!r}: use hour or day")
        q = query or Query()
        accs: dict[tuple[float | None, str | None], Acc] = {}
        with self._read():
            histogram = False
            if self._rollup_ok(q, by):
                histogram = self._stats_rollup(q, by, bucket, accs)
                if histogram and sum(a.count for a in accs.values()) <= EXACT_ROWS:
                    accs.clear()  # few enough rows: exact percentiles cost little
                    histogram = False
                    self._accumulate_rows(q, by, bucket, accs, histogram=False)
            else:
                self._accumulate_rows(q, by, bucket, accs, histogram=False)
        return finish_rows(
            accs, grouped=by is not None, bucketed=bucket is not None, histogram=histogram
        )

    def _accumulate_rows(
        self,
        q: Query,
        by: str | None,
        bucket: str | None,
        accs: dict[tuple[float | None, str | None], Acc],
        *,
        histogram: bool,
        extra: Sequence[tuple[str, Sequence[Any]]] = (),
    ) -> None:
        c = self._conds(q)
        for sql, params in extra:
            c.add(sql, *params)
        join = " JOIN interaction_tags g ON g.interaction_id = i.id" if by == "tag" else ""
        gcol = _GROUP_COL[by] if by else "NULL"
        cur = self._db.execute(
            f"SELECT {gcol}, {_ROW_COLS} FROM interactions i{join}{c.sql()}", c.params
        )
        get = accs.get
        while rows := cur.fetchmany(5000):
            for r in rows:
                key = (bucket_start(r[1], bucket) if bucket else None, r[0])
                acc = get(key)
                if acc is None:
                    acc = accs[key] = Acc(histogram=histogram)
                acc.add_row(r[2], r[3], r[4], r[5], r[6], r[7], r[8])

    def _stats_rollup(
        self,
        q: Query,
        by: str | None,
        bucket: str | None,
        accs: dict[tuple[float | None, str | None], Acc],
    ) -> bool:
        """Aggregate from the rollups plus edge rows; return False if only rows were used.

        Sums come from the hourly rollup for the whole hours of the window, and
        the rows for the partial hours at its edges. Histograms come from the
        daily rollup for whole UTC days (without time buckets) and the hourly one
        for the hours around them.
        """
        h_lo = math.ceil(q.since / 3600) if q.since is not None else None
        h_hi = math.floor(q.until / 3600) if q.until is not None else None
        if h_lo is not None and h_hi is not None and h_lo >= h_hi:
            self._accumulate_rows(q, by, bucket, accs, histogram=False)  # under two hours
            return False
        where: list[str] = []
        params: list[Any] = []
        if by == "tag":
            where.append("tag > ''")
        else:
            where.append("tag = ?")
            params.append(q.tags[0] if q.tags else "")
        if q.models:
            where.append(f"model IN {in_list(q.models)}")
            params += q.models
        if q.providers:
            where.append(f"provider IN {in_list(q.providers)}")
            params += q.providers
        if q.status is not None:
            where.append("status = ?")
            params.append(q.status)
        cols = [c for c in ("hour" if bucket else None, by) if c]
        group = f" GROUP BY {', '.join(cols)}" if cols else ""

        def span(column: str, lo: int | None, hi: int | None) -> tuple[str, list[Any]]:
            conds = list(where)
            extra: list[Any] = []
            if lo is not None:
                conds.append(f"{column} >= ?")
                extra.append(lo)
            if hi is not None:
                conds.append(f"{column} < ?")
                extra.append(hi)
            return " AND ".join(conds), [*params, *extra]

        def key(hour: int | None, grp: str | None) -> tuple[float | None, str | None]:
            b = bucket_start(hour * 3600, bucket) if bucket and hour is not None else None
            return (b, grp or None if by in ("model", "provider") else grp)

        db = self._db
        select = f"{'hour' if bucket else 'NULL'}, {by or 'NULL'}"
        cond, cparams = span("hour", h_lo, h_hi)
        for r in db.execute(
            f"SELECT {select}, {_SUMS} FROM rollup_hourly WHERE {cond}{group}", cparams
        ):
            if r[2] is None:  # an aggregate without GROUP BY over no rows
                continue
            k = key(r[0], r[1])
            acc = accs.get(k)
            if acc is None:
                acc = accs[k] = Acc(histogram=True)
            acc.add_rollup(*r[2:])
        lgroup = f" GROUP BY {', '.join([*cols, 'metric', 'bucket'])}"
        spans: list[tuple[str, str, int | None, int | None]] = []
        d_lo = None if h_lo is None else -(-h_lo // 24)
        d_hi = None if h_hi is None else h_hi // 24
        if bucket is None and (d_lo is None or d_hi is None or d_lo < d_hi):
            spans.append(("rollup_latency_daily", "day", d_lo, d_hi))
            if h_lo is not None and d_lo is not None and h_lo < d_lo * 24:
                spans.append(("rollup_latency", "hour", h_lo, d_lo * 24))
            if h_hi is not None and d_hi is not None and d_hi * 24 < h_hi:
                spans.append(("rollup_latency", "hour", d_hi * 24, h_hi))
        else:
            spans.append(("rollup_latency", "hour", h_lo, h_hi))
        for table, column, lo, hi in spans:
            cond, cparams = span(column, lo, hi)
            for r in db.execute(
                f"SELECT {select}, metric, bucket, sum(n) FROM {table} WHERE {cond}{lgroup}",
                cparams,
            ):
                acc = accs.get(key(r[0], r[1]))
                if acc is not None:
                    acc.add_hist(r[2], r[3], r[4])
        if h_lo is not None:
            self._accumulate_rows(
                q,
                by,
                bucket,
                accs,
                histogram=True,
                extra=[("i.ts < ? AND CAST(i.ts / 3600 AS INTEGER) < ?", (h_lo * 3600 + 1, h_lo))],
            )
        if h_hi is not None:
            self._accumulate_rows(
                q,
                by,
                bucket,
                accs,
                histogram=True,
                extra=[
                    ("i.ts >= ? AND CAST(i.ts / 3600 AS INTEGER) >= ?", (h_hi * 3600 - 1, h_hi))
                ],
            )
        return True

    # -- maintenance -------------------------------------------------------------------------
