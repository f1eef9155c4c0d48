"""Per-hour rollups: what makes aggregates over millions of interactions fast.

Design:

* ``rollup_hourly`` holds exact counts and sums (requests, durations, TTFTs,
  tokens, cost) per ``(tag, hour, provider, model, status)``; ``rollup_latency``
  holds latency histograms (duration and time to first token) for the same keys,
  and ``rollup_latency_daily`` the same histograms per UTC day (``hour // 24``),
  so a month of percentiles reads ~30 rows per key instead of ~720.
  ``tag = ''`` rows count every interaction once; a row with a tag counts the
  interactions that carry that tag. NULL provider/model are stored as ``''``.
* They are maintained in the same transaction as the rows they summarise: the
  SQLite sink calls :func:`add_inserted` inside its ``BEGIN IMMEDIATE`` batch,
  prune calls :func:`apply` with ``sign=-1`` inside its delete transaction. So a
  reader in a read transaction always sees rollups and rows in step, however
  many processes write. A whole batch is aggregated in Python first and then
  upserted, a few statements per batch (SQL triggers cost ~75 µs per row here).
* Histogram buckets follow Prometheus native histograms, schema 3: eight
  buckets per doubling starting at 0.1 ms (bucket 0 holds everything below).
  Reporting a bucket's geometric midpoint is within 4.4% of any value in it, so
  percentiles read from the rollup are approximate to that bound; percentiles
  computed from rows are exact.
* :func:`rebuild` recomputes everything from the rows (migration backfill and
  ``llmlog verify --repair``).

The schema is created by migrations ``m002_rollups`` and ``m003_daily_latency``;
hours are ``int(ts / 3600)`` in UTC, days ``hour // 24``.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from llmlog.store.common import COLUMNS

__all__ = [
    "BUCKETS_PER_DOUBLING",
    "FACT_COLUMNS",
    "add_inserted",
    "apply",
    "bucket_of",
    "bucket_value",
    "hour_of",
    "rebuild",
]

BUCKETS_PER_DOUBLING = 8
_BASE_MS = 0.1
_LOG2 = math.log2

FACT_COLUMNS = (
    "ts",
    "provider",
    "model",
    "status",
    "duration_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
)
"""The interaction columns a rollup is computed from, in the order :func:`apply` takes them."""

# Positions of FACT_COLUMNS in the write path's row: ("id", *COLUMNS, "record").
_INSERT_POSITIONS = tuple(1 + COLUMNS.index(c) for c in FACT_COLUMNS)

_HOURLY_COLS = (
    "tag",
    "hour",
    "provider",
    "model",
    "status",
    "n",
    "errors",
    "duration_n",
    "duration_sum",
    "ttft_n",
    "ttft_sum",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_n",
    "cost_usd",
)
_HOURLY_UPDATE = (
    " ON CONFLICT (tag, hour, provider, model, status) DO UPDATE SET"
    " n = n + excluded.n, errors = errors + excluded.errors,"
    " duration_n = duration_n + excluded.duration_n,"
    " duration_sum = duration_sum + excluded.duration_sum,"
    " ttft_n = ttft_n + excluded.ttft_n, ttft_sum = ttft_sum + excluded.ttft_sum,"
    " input_tokens = input_tokens + excluded.input_tokens,"
    " output_tokens = output_tokens + excluded.output_tokens,"
    " total_tokens = total_tokens + excluded.total_tokens,"
    " cost_n = cost_n + excluded.cost_n, cost_usd = cost_usd + excluded.cost_usd"
)
_LATENCY_COLS = ("tag", "hour", "provider", "model", "status", "metric", "bucket", "n")
_LATENCY_UPDATE = (
    " ON CONFLICT (tag, hour, provider, model, status, metric, bucket) DO UPDATE SET"
    " n = n + excluded.n"
)
_DAILY_COLS = ("tag", "day", "provider", "model", "status", "metric", "bucket", "n")
_DAILY_UPDATE = (
    " ON CONFLICT (tag, day, provider, model, status, metric, bucket) DO UPDATE SET"
    " n = n + excluded.n"
)
_ROWS_PER_STATEMENT = 50  # 16 columns x 50 rows stays under the oldest variable limit (999)


def _upsert(
    db: sqlite3.Connection,
    table: str,
    cols: Sequence[str],
    update: str,
    rows: list[tuple[Any, ...]],
) -> None:
    """Upsert with multi-row statements: one ``sqlite3_step`` per chunk, not per row.

    Like the sink's inserts: ``executemany`` steps (and re-takes the GIL) once per row.
    """
    one = "(" + ",".join("?" * len(cols)) + ")"
    head = f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
    for i in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[i : i + _ROWS_PER_STATEMENT]
        db.execute(head + ",".join([one] * len(chunk)) + update, [v for row in chunk for v in row])


_KEY_WHERE = "tag = ? AND hour = ? AND provider = ? AND model = ? AND status = ?"


def hour_of(ts: float) -> int:
    """Return the rollup hour of an epoch timestamp (``int(ts / 3600)``, as stored)."""
    return int(ts / 3600)


def bucket_of(ms: float) -> int:
    """Return the histogram bucket of a latency in milliseconds."""
    if not ms >= _BASE_MS:  # also NaN and negatives
        return 0
    return int(_LOG2(ms / _BASE_MS) * BUCKETS_PER_DOUBLING) + 1


def bucket_value(bucket: int) -> float:
    """Return the value reported for ``bucket``: its geometric midpoint (0.05 ms for bucket 0)."""
    if bucket <= 0:
        return _BASE_MS / 2
    return float(_BASE_MS * 2.0 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING))


Fact = Sequence[Any]
"""One interaction's FACT_COLUMNS values."""


def apply(
    db: sqlite3.Connection, items: Iterable[tuple[str, Fact]], *, sign: int = 1, daily: bool = True
) -> None:
    """Add (``sign=1``) or subtract (``sign=-1``) interactions to the rollups.

    Must run inside the caller's write transaction, next to the row changes.

    Args:
        db: the store connection.
        items: ``(tag, fact)`` pairs; tag ``''`` for the every-interaction rows,
            and one more pair per tag the interaction carries.
        sign: 1 when the rows were inserted, -1 when they were deleted.
        daily: also maintain ``rollup_latency_daily`` (false only while
            migrating a store from before it existed).
    """
    hourly: dict[tuple[str, int, str, str, str], list[Any]] = {}
    latency: dict[tuple[str, int, str, str, str, int, int], int] = {}
    for tag, f in items:
        ts, provider, model, status, dur, ttft, tin, tout, ttot, cost = f
        status = status or "ok"
        key = (tag, int(ts / 3600), provider or "", model or "", status)
        a = hourly.get(key)
        if a is None:
            a = hourly[key] = [0, 0, 0, 0.0, 0, 0.0, 0, 0, 0, 0, 0.0]
        a[0] += 1
        if status == "error":
            a[1] += 1
        if dur is not None:
            a[2] += 1
            a[3] += dur
            lk = (*key, 0, bucket_of(dur))
            latency[lk] = latency.get(lk, 0) + 1
        if ttft is not None:
            a[4] += 1
            a[5] += ttft
            lk = (*key, 1, bucket_of(ttft))
            latency[lk] = latency.get(lk, 0) + 1
        if tin:
            a[6] += tin
        if tout:
            a[7] += tout
        if ttot:
            a[8] += ttot
        if cost is not None:
            a[9] += 1
            a[10] += cost
    if not hourly:
        return
    per_day: dict[tuple[str, int, str, str, str, int, int], int] = {}
    if daily:
        for (tag, hour, provider, model, status, metric, bucket), n in latency.items():
            dk = (tag, hour // 24, provider, model, status, metric, bucket)
            per_day[dk] = per_day.get(dk, 0) + n
    _upsert(
        db,
        "rollup_hourly",
        _HOURLY_COLS,
        _HOURLY_UPDATE,
        [(*k, *v) for k, v in hourly.items()]
        if sign == 1
        else [(*k, *(-x for x in v)) for k, v in hourly.items()],
    )
    _upsert(
        db,
        "rollup_latency",
        _LATENCY_COLS,
        _LATENCY_UPDATE,
        [(*k, v * sign) for k, v in latency.items()],
    )
    if daily:
        _upsert(
            db,
            "rollup_latency_daily",
            _DAILY_COLS,
            _DAILY_UPDATE,
            [(*k, v * sign) for k, v in per_day.items()],
        )
    if sign == 1:
        return
    db.executemany(f"DELETE FROM rollup_hourly WHERE {_KEY_WHERE} AND n <= 0", list(hourly))
    db.executemany(
        f"DELETE FROM rollup_latency WHERE {_KEY_WHERE} AND metric = ? AND bucket = ? AND n <= 0",
        list(latency),
    )
    if daily:
        db.executemany(
            "DELETE FROM rollup_latency_daily WHERE tag = ? AND day = ?"
            " AND provider = ? AND model = ? AND status = ? AND metric = ?"
            " AND bucket = ? AND n <= 0",
            list(per_day),
        )


def add_inserted(
    db: sqlite3.Connection, rows: Sequence[Sequence[Any]], tags: Sequence[tuple[str, int]]
) -> None:
    """Add rows just inserted by the SQLite sink (its INSERT tuples) to the rollups.

    Args:
        db: the sink's connection, inside its write transaction.
        rows: the sink's ``interactions`` INSERT tuples (``id`` first).
        tags: the ``(tag, interaction_id)`` pairs inserted with them.
    """
    pos = _INSERT_POSITIONS
    facts = {r[0]: tuple(r[i] for i in pos) for r in rows}
    items: list[tuple[str, Fact]] = [("", f) for f in facts.values()]
    items.extend((tag, facts[iid]) for tag, iid in dict.fromkeys(tags) if iid in facts)
    apply(db, items)


def rebuild(db: sqlite3.Connection, *, chunk: int = 20_000) -> None:
    """Recompute the rollup tables from the rows (inside the caller's transaction).

    Also called by migration ``m002_rollups``, before ``m003_daily_latency``
    has created the daily table: that one is then left to its own migration.
    """
    daily = (
        db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rollup_latency_daily'"
        ).fetchone()
        is not None
    )
    db.execute("DELETE FROM rollup_hourly")
    db.execute("DELETE FROM rollup_latency")
    if daily:
        db.execute("DELETE FROM rollup_latency_daily")
    cols = ", ".join(f"i.{c}" for c in FACT_COLUMNS)
    for sql in (
        f"SELECT '', {cols} FROM interactions i",
        f"SELECT t.tag, {cols} FROM interaction_tags t"
        " JOIN interactions i ON i.id = t.interaction_id",
    ):
        cur = db.execute(sql)
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                break
            apply(db, [(r[0], r[1:]) for r in rows], daily=daily)
