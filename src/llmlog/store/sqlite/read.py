"""The SQLite reader: a :class:`~llmlog.store.Store` over the file the SQLite sink writes.

How each kind of question is answered (figures for 1M interactions in
``bench/README.md``):

* Lists (``search``, exports) walk an index in ``(ts, id)`` order with a keyset
  cursor, so the first page costs the same at any depth and under new writes.
* Full text goes through the contentless FTS5 index (``interactions_fts``),
  then phrases are checked in the matching records (see ``_text``).
* Aggregates read the per-hour rollup (``llmlog.store.sqlite.rollup``) for the whole hours
  of the window and the rows only for the partial hours at its edges, in one
  read transaction, so they are exact (percentiles within 4.4%) and consistent
  under concurrent writers. Up to ``EXACT_ROWS`` matching interactions, the
  rows are aggregated instead, for exact percentiles. Filters the rollup does
  not carry (text, session, user, metadata, scores, several tags) aggregate the
  matching rows (exact).
* ``get`` is a unique-index lookup; an id prefix is a range on the same index.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import orjson

from llmlog.record import Feedback, LLMRecord
from llmlog.store.aggregate import Acc, bucket_start, finish_rows
from llmlog.store.base import RecordTransform
from llmlog.store.model import (
    BUCKETS,
    GROUP_BYS,
    AmbiguousIdError,
    Bucket,
    Check,
    GroupBy,
    InteractionNotFoundError,
    Order,
    Page,
    PruneResult,
    Query,
    RewriteResult,
    SessionPage,
    SessionSummary,
    StatsRow,
    StoreError,
    StoreNotFoundError,
    TailBatch,
    VerifyReport,
    decode_cursor,
    encode_cursor,
)
from llmlog.store.sqlite.rollup import FACT_COLUMNS, apply, rebuild
from llmlog.store.sqlite.schema import MIGRATIONS
from llmlog.store.sqlite.write import BUSY_TIMEOUT_MS, connect
from llmlog.store.text import TextQuery, compile_text, record_text

__all__ = ["SQLiteStore"]

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
_PRUNE_CHUNK = 2000
EXACT_ROWS = 20_000
"""Aggregates over at most this many interactions are computed from the rows (exact)."""
CHECKPOINT_WAIT_MS = 2_000
"""How long :meth:`SQLiteStore.rewrite` waits for readers to let it truncate the WAL."""

Progress = Callable[[int], None]


def _loads(data: str | bytes) -> LLMRecord:
    return cast(LLMRecord, orjson.loads(data))


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def _open(p: Path) -> sqlite3.Connection:
    if not p.exists():
        raise StoreNotFoundError(f"no llmlog store at {p}")
    if p.is_dir():
        raise StoreError(f"{p} is a directory, not an llmlog store")
    try:
        probe = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {
                r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{p} is not an llmlog store ({exc})") from None
    if tables and "interactions" not in tables:
        raise StoreError(f"{p} is not an llmlog store (an SQLite database without llmlog's tables)")
    try:
        db = connect(p, create=False)
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc) and "read-only" not in str(exc):
            raise StoreError(f"cannot open {p}: {exc}") from None
        db = sqlite3.connect(
            f"{p.resolve().as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
        applied = {r[0] for r in db.execute("SELECT name FROM _llmlog_migrations")}
        if any(m.__name__ not in applied for m in MIGRATIONS):
            db.close()
            raise StoreError(
                f"{p} is read-only and needs an upgrade: open it once with "
                "write access (any llmlog command does it)"
            ) from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{p} is not an llmlog store ({exc})") from None
    db.execute("PRAGMA cache_size = -65536")
    return db


class _Conds:
    """WHERE conditions, their parameters, and the phrase check left for Python."""

    __slots__ = ("params", "post", "where")

    def __init__(self) -> None:
        self.where: list[str] = []
        self.params: list[Any] = []
        self.post: TextQuery | None = None

    def add(self, sql: str, *params: Any) -> None:
        self.where.append(sql)
        self.params.extend(params)

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.where)) if self.where else ""


def _in(values: Sequence[Any]) -> str:
    return f"({','.join('?' * len(values))})"


class SQLiteStore:
    """Read and maintain an llmlog SQLite store (see :class:`~llmlog.store.Store`).

    Args:
        path: the store file; it must exist.

    Raises:
        StoreNotFoundError: there is no file at ``path``.
        StoreError: the file is not an llmlog store.

    .. versionadded:: 0.1
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.url = str(self.path)
        self._db = _open(self.path)
        self._depth = 0
        self._temp_ready = False

    # -- plumbing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one read transaction: one consistent snapshot of the store."""
        db = self._db
        if self._depth or db.in_transaction:
            self._depth += 1
            try:
                yield db
            finally:
                self._depth -= 1
            return
        db.execute("BEGIN")
        self._depth = 1
        try:
            yield db
        finally:
            self._depth = 0
            if db.in_transaction:
                db.execute("COMMIT")

    def _conds(self, q: Query, *, materialize: bool = True) -> _Conds:
        c = _Conds()
        if q.since is not None:
            c.add("i.ts >= ?", q.since)
        if q.until is not None:
            c.add("i.ts < ?", q.until)
        if q.models:
            c.add(f"i.model IN {_in(q.models)}", *q.models)
        if q.providers:
            c.add(f"i.provider IN {_in(q.providers)}", *q.providers)
        if q.status is not None:
            c.add("i.status = ?", q.status)
        if q.session_id is not None:
            c.add("i.session_id = ?", q.session_id)
        if q.user_id is not None:
            c.add("i.user_id = ?", q.user_id)
        for tag in q.tags:
            c.add(
                "EXISTS (SELECT 1 FROM interaction_tags t WHERE t.tag = ?"
                " AND t.interaction_id = i.id)",
                tag,
            )
        for key, value in q.metadata:
            path = f'$.metadata."{key}"'
            if value is None:
                c.add("json_type(i.record, ?) IS NOT NULL", path)
                continue
            alts = ["(json_type(i.record, ?) = 'text' AND json_extract(i.record, ?) = ?)"]
            params: list[Any] = [path, path, value]
            num = _number(value)
            if num is not None:
                alts.append(
                    "(json_type(i.record, ?) IN ('integer', 'real')"
                    " AND json_extract(i.record, ?) = ?)"
                )
                params += [path, path, num]
            if value in ("true", "false", "null"):
                alts.append("json_type(i.record, ?) = ?")
                params += [path, value]
            c.add("(" + " OR ".join(alts) + ")", *params)
        for op, score in ((">=", q.min_score), ("<=", q.max_score)):
            if score is not None:
                c.add(
                    "(SELECT f.score FROM feedback f WHERE f.request_id = i.request_id"
                    f" ORDER BY f.ts DESC, f.id DESC LIMIT 1) {op} ?",
                    score,
                )
        if q.text is not None:
            tq = compile_text(q.text)
            c.add(
                "i.id IN (SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH ?)",
                tq.match,
            )
            if tq.phrases:
                c.post = tq
                if materialize:
                    self._materialize(c)
        return c

    def _materialize(self, c: _Conds) -> None:
        """Resolve a phrase check into a temp table of matching ids, usable in SQL."""
        tq = c.post
        assert tq is not None
        db = self._db
        if not self._temp_ready:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS llmlog_ids (id INTEGER PRIMARY KEY)")
            self._temp_ready = True
        db.execute("DELETE FROM temp.llmlog_ids")
        cur = db.execute(f"SELECT i.id, i.record FROM interactions i{c.sql()}", c.params)
        while rows := cur.fetchmany(1000):
            db.executemany(
                "INSERT INTO temp.llmlog_ids (id) VALUES (?)",
                [(r[0],) for r in rows if tq.matches(record_text(_loads(r[1])))],
            )
        c.where = ["i.id IN (SELECT id FROM temp.llmlog_ids)"]
        c.params = []
        c.post = None

    # -- lists -------------------------------------------------------------------------------

    def _rows(
        self, q: Query, *, limit: int, after: tuple[float, int] | None, order: Order
    ) -> list[tuple[int, float, LLMRecord]]:
        """Return up to ``limit`` (id, ts, record) after the keyset position, in order."""
        if q.text is not None:
            return self._text_rows(q, limit=limit, after=after, order=order)
        c = self._conds(q, materialize=False)
        desc = order == "newest"
        if after is not None:
            cmp = "<" if desc else ">"
            c.add(f"i.ts {cmp}= ? AND (i.ts {cmp} ? OR i.id {cmp} ?)", after[0], after[0], after[1])
        direction = "DESC" if desc else "ASC"
        sql = (
            f"SELECT i.id, i.ts, i.record FROM interactions i{c.sql()}"
            f" ORDER BY i.ts {direction}, i.id {direction} LIMIT ?"
        )
        return [(r[0], r[1], _loads(r[2])) for r in self._db.execute(sql, [*c.params, limit])]

    def _text_rows(
        self, q: Query, *, limit: int, after: tuple[float, int] | None, order: Order
    ) -> list[tuple[int, float, LLMRecord]]:
        """The first ``limit`` matches of a full-text query in time order, cheaply.

        Neither obvious plan works for every word: driving from the index's
        matches and sorting them by time costs seconds for a word in most
        interactions; walking the time index and probing the full-text index per
        row costs minutes for a rare word. Instead, matches are read from the
        index in row order (newest rows first), in growing chunks, keeping the
        best ``limit`` by time; reading stops as soon as no row not yet read
        (the rows before the last chunk) could be better than the worst kept,
        which one indexed lookup answers. Rows are written roughly in time
        order, so that is after a chunk or two for any word; imports of old
        logs only make it read further, never answer differently.
        """
        db = self._db
        tq = compile_text(q.text or "")
        base = self._conds(q.replace(text=None), materialize=False)
        desc = order == "newest"
        cmp = "<" if desc else ">"
        if after is not None:
            base.add(
                f"i.ts {cmp}= ? AND (i.ts {cmp} ? OR i.id {cmp} ?)", after[0], after[0], after[1]
            )
        extra = "".join(f" AND {w}" for w in base.where)
        sign = 1 if desc else -1
        best: list[tuple[float, int, int, float]] = []  # (sign*ts, sign*id, id, ts), worst first
        records: dict[int, LLMRecord] = {}
        last: int | None = None
        chunk = 256
        direction = "DESC" if desc else "ASC"
        while True:
            sql = "SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH ?"
            params: list[Any] = [tq.match]
            if last is not None:
                sql += f" AND rowid {cmp} ?"
                params.append(last)
            ids = [
                r[0]
                for r in db.execute(f"{sql} ORDER BY rowid {direction} LIMIT ?", [*params, chunk])
            ]
            if not ids:
                break
            last = ids[-1]
            found = db.execute(
                "SELECT i.id, i.ts FROM interactions i WHERE i.id IN (SELECT"
                f" value FROM json_each(?)){extra}",
                [orjson.dumps(ids).decode(), *base.params],
            ).fetchall()
            for rowid, ts in found:
                key = (sign * ts, sign * rowid)
                if len(best) >= limit and key <= best[0][:2]:
                    continue
                if tq.phrases:
                    rec = _loads(
                        db.execute(
                            "SELECT record FROM interactions WHERE id = ?", (rowid,)
                        ).fetchone()[0]
                    )
                    if not tq.matches(record_text(rec)):
                        continue
                    records[rowid] = rec
                heapq.heappush(best, (*key, rowid, ts))
                if len(best) > limit:
                    heapq.heappop(best)
            if len(ids) < chunk:
                break
            chunk = min(chunk * 2, 8192)
            if len(best) >= limit:
                _, _, worst_id, worst_ts = best[0]
                better = (
                    f"i.ts {'>' if desc else '<'}= ? AND (i.ts {'>' if desc else '<'} ?"
                    f" OR i.id {'>' if desc else '<'} ?)"
                )
                unread = db.execute(
                    f"SELECT 1 FROM interactions i WHERE i.id {cmp} ? AND {better}{extra} LIMIT 1",
                    [last, worst_ts, worst_ts, worst_id, *base.params],
                ).fetchone()
                if unread is None:
                    break
        chosen = sorted(best, reverse=True)
        missing = [b[2] for b in chosen if b[2] not in records]
        if missing:
            for rowid, data in db.execute(
                "SELECT id, record FROM interactions WHERE id IN (SELECT value FROM json_each(?))",
                (orjson.dumps(missing).decode(),),
            ):
                records[rowid] = _loads(data)
        return [(b[2], b[3], records[b[2]]) for b in chosen]

    def search(
        self,
        query: Query | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        order: Order = "newest",
    ) -> Page:
        """Return one page of matching records, newest first, and the next page's cursor."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if order not in ("newest", "oldest"):
            raise ValueError(f"order must be 'newest' or 'oldest', got {order!r}")
        after = None
        if cursor:
            ts, rowid = decode_cursor(cursor, 2)
            try:
                after = (float(ts), int(rowid))
            except ValueError:
                raise ValueError(f"invalid cursor {cursor!r}") from None
        with self._read():
            rows = self._rows(query or Query(), limit=limit + 1, after=after, order=order)
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(rows[-1][1], rows[-1][0]) if more and rows else None
        return Page([r[2] for r in rows], nxt)

    def iter_records(
        self, query: Query | None = None, *, order: Order = "oldest", batch_size: int = 1000
    ) -> Iterator[LLMRecord]:
        """Yield every matching record in order, ``batch_size`` per read."""
        q = query or Query()
        if q.text is not None:
            yield from self._iter_text(q, order=order, batch_size=batch_size)
            return
        after: tuple[float, int] | None = None
        while True:
            rows = self._rows(q, limit=batch_size, after=after, order=order)
            for r in rows:
                yield r[2]
            if len(rows) < batch_size:
                return
            after = (rows[-1][1], rows[-1][0])

    def _iter_text(self, q: Query, *, order: Order, batch_size: int) -> Iterator[LLMRecord]:
        """Every full-text match in order: the matches' (ts, id) sorted once, then records."""
        c = self._conds(q, materialize=False)
        post = c.post
        keys = sorted(
            self._db.execute(
                f"SELECT i.ts, i.id FROM interactions i{c.sql()}", c.params
            ).fetchall(),
            reverse=order == "newest",
        )
        for i in range(0, len(keys), batch_size):
            ids = [k[1] for k in keys[i : i + batch_size]]
            found = {
                r[0]: r[1]
                for r in self._db.execute(
                    "SELECT id, record FROM interactions WHERE id IN (SELECT value FROM"
                    " json_each(?))",
                    (orjson.dumps(ids).decode(),),
                )
            }
            for rowid in ids:
                data = found.get(rowid)
                if data is None:
                    continue  # pruned meanwhile
                rec = _loads(data)
                if post is None or post.matches(record_text(rec)):
                    yield rec

    def count(self, query: Query | None = None) -> int:
        """Return how many interactions match."""
        q = query or Query()
        if self._rollup_ok(q, None):
            return self.stats(q)[0].count
        with self._read() as db:
            c = self._conds(q)
            return int(
                db.execute(f"SELECT count(*) FROM interactions i{c.sql()}", c.params).fetchone()[0]
            )

    def get(self, request_id: str) -> LLMRecord:
        """Return the record with this request id, or the only one starting with it."""
        rid = request_id.strip()
        if not rid:
            raise InteractionNotFoundError("no request id given")
        db = self._db
        row = db.execute("SELECT record FROM interactions WHERE request_id = ?", (rid,)).fetchone()
        if row is not None:
            return _loads(row[0])
        try:
            hi = rid[:-1] + chr(ord(rid[-1]) + 1)
        except ValueError:
            hi = rid + "\U0010ffff"
        rows = db.execute(
            "SELECT request_id, record FROM interactions WHERE request_id >= ?"
            " AND request_id < ? ORDER BY request_id LIMIT 3",
            (rid, hi),
        ).fetchall()
        if not rows:
            raise InteractionNotFoundError(f"no interaction with request id {rid!r}")
        if len(rows) > 1:
            listed = ", ".join(r[0] for r in rows[:2]) + (", ..." if len(rows) > 2 else "")
            raise AmbiguousIdError(
                f"request id prefix {rid!r} matches several interactions "
                f"({listed}): give more of the id"
            )
        return _loads(rows[0][1])

    def feedback(self, request_id: str) -> list[Feedback]:
        """Return the feedback records for a request id, oldest first."""
        return [
            cast(Feedback, orjson.loads(r[0]))
            for r in self._db.execute(
                "SELECT record FROM feedback WHERE request_id = ? ORDER BY ts, id", (request_id,)
            )
        ]

    def latest_scores(self, request_ids: Sequence[str]) -> dict[str, float]:
        """Return the latest feedback score of each request id that has one."""
        out: dict[str, float] = {}
        ids = list(dict.fromkeys(request_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for rid, score in self._db.execute(
                f"SELECT request_id, score FROM feedback WHERE request_id IN {_in(chunk)}"
                " ORDER BY ts, id",
                chunk,
            ):
                out[rid] = score
        return out

    def has_feedback(self, request_id: str, timestamp: float, score: float) -> bool:
        """Return True if this exact feedback (request id, time, score) is stored."""
        return (
            self._db.execute(
                "SELECT 1 FROM feedback WHERE request_id = ? AND ts = ? AND score = ? LIMIT 1",
                (request_id, timestamp, score),
            ).fetchone()
            is not None
        )

    def tail(
        self, query: Query | None = None, *, cursor: str | None = None, limit: int = 100
    ) -> TailBatch:
        """Return interactions written after ``cursor`` (oldest first) and the next cursor."""
        q = query or Query()
        with self._read() as db:
            top = db.execute("SELECT coalesce(max(id), 0) FROM interactions").fetchone()[0]
            c = self._conds(q, materialize=False)  # phrases: checked on the few new rows
            post = c.post
            if cursor is None:
                if q.text is not None:
                    return TailBatch(self._last_text_matches(q, limit), encode_cursor(top))
                sql = (
                    f"SELECT i.id, i.record FROM interactions i{c.sql()} ORDER BY i.id DESC LIMIT ?"
                )
                rows_ = db.execute(sql, [*c.params, limit]).fetchall()[::-1]
                return TailBatch([_loads(r[1]) for r in rows_], encode_cursor(top))
            try:
                after = int(decode_cursor(cursor, 1)[0])
            except ValueError:
                raise ValueError(f"invalid cursor {cursor!r}") from None
            if q.text is not None:  # only the new rows: a range of the index, not all matches
                c = self._conds(q.replace(text=None), materialize=False)
                c.add(
                    "i.id IN (SELECT rowid FROM interactions_fts WHERE interactions_fts"
                    " MATCH ? AND rowid > ? AND rowid <= ?)",
                    compile_text(q.text).match,
                    after,
                    top,
                )
            c.add("i.id > ? AND i.id <= ?", after, top)
            found = db.execute(
                f"SELECT i.id, i.record FROM interactions i{c.sql()} ORDER BY i.id LIMIT ?",
                [*c.params, limit],
            ).fetchall()
            nxt = found[-1][0] if len(found) == limit else max(top, after)
            recs = [_loads(r[1]) for r in found]
            if post is not None:
                recs = [r for r in recs if post.matches(record_text(r))]
            return TailBatch(recs, encode_cursor(nxt))

    def _last_text_matches(self, q: Query, limit: int) -> list[LLMRecord]:
        """The last ``limit`` rows written that match a full-text query, oldest first.

        Reads the index's matches from the highest row down, in growing chunks,
        so a common word costs a chunk and a rare one its few matches.
        """
        db = self._db
        tq = compile_text(q.text or "")
        base = self._conds(q.replace(text=None), materialize=False)
        extra = "".join(f" AND {w}" for w in base.where)
        out: list[tuple[int, LLMRecord]] = []
        last: int | None = None
        chunk = 256
        while len(out) < limit:
            sql = "SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH ?"
            params: list[Any] = [tq.match]
            if last is not None:
                sql += " AND rowid < ?"
                params.append(last)
            ids = [r[0] for r in db.execute(f"{sql} ORDER BY rowid DESC LIMIT ?", [*params, chunk])]
            if not ids:
                break
            last = ids[-1]
            for rowid, data in db.execute(
                "SELECT i.id, i.record FROM interactions i WHERE i.id IN (SELECT value FROM"
                f" json_each(?)){extra} ORDER BY i.id DESC",
                [orjson.dumps(ids).decode(), *base.params],
            ):
                rec = _loads(data)
                if tq.phrases and not tq.matches(record_text(rec)):
                    continue
                out.append((rowid, rec))
                if len(out) == limit:
                    break
            if len(ids) < chunk:
                break
            chunk = min(chunk * 2, 8192)
        out.sort(key=lambda r: r[0])
        return [r[1] for r in out]

    def sessions(
        self, query: Query | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Return sessions with matching interactions, most recently active first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        with self._read() as db:
            c = self._conds(query or Query())
            c.add("i.session_id IS NOT NULL")
            having, hparams = "", []
            if cursor:
                ts, sid = decode_cursor(cursor, 2)
                try:
                    last = float(ts)
                except ValueError:
                    raise ValueError(f"invalid cursor {cursor!r}") from None
                having = " HAVING max(i.ts) < ? OR (max(i.ts) = ? AND i.session_id < ?)"
                hparams = [last, last, sid]
            rows = db.execute(
                "SELECT i.session_id, min(i.ts), max(i.ts), count(*),"
                " sum(i.status = 'error'), sum(coalesce(i.total_tokens, 0)), sum(i.cost_usd),"
                " group_concat(DISTINCT i.model), group_concat(DISTINCT i.user_id)"
                f" FROM interactions i{c.sql()} GROUP BY i.session_id{having}"
                " ORDER BY max(i.ts) DESC, i.session_id DESC LIMIT ?",
                [*c.params, *hparams, limit + 1],
            ).fetchall()
        out = [
            SessionSummary(
                session_id=r[0],
                first_ts=r[1],
                last_ts=r[2],
                count=r[3],
                errors=r[4],
                total_tokens=r[5],
                cost_usd=r[6],
                models=tuple(sorted(r[7].split(","))) if r[7] else (),
                user_ids=tuple(sorted(r[8].split(","))) if r[8] else (),
            )
            for r in rows[:limit]
        ]
        nxt = encode_cursor(out[-1].last_ts, out[-1].session_id) if len(rows) > limit else None
        return SessionPage(out, nxt)

    # -- aggregates --------------------------------------------------------------------------

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
            where.append(f"model IN {_in(q.models)}")
            params += q.models
        if q.providers:
            where.append(f"provider IN {_in(q.providers)}")
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

    def prune(self, before: float, *, progress: Progress | None = None) -> PruneResult:
        """Delete interactions older than ``before`` with their tags, feedback and FTS entries.

        Works in transactions of a few thousand interactions, each keeping rows,
        index and rollups in step, so it can be interrupted safely.
        """
        db = self._db
        cols = ", ".join(f"i.{c}" for c in FACT_COLUMNS)
        n_rows = n_tags = n_feedback = 0
        while True:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(
                    f"SELECT i.id, i.request_id, i.record, {cols} FROM"
                    " interactions i WHERE i.ts < ? ORDER BY i.ts LIMIT ?",
                    (before, _PRUNE_CHUNK),
                ).fetchall()
                if not rows:
                    db.execute("COMMIT")
                    break
                texts, tags, facts = [], [], []
                for r in rows:
                    rec = orjson.loads(r[2])
                    texts.append(("delete", r[0], record_text(rec)))
                    fact = r[3:]
                    facts.append(("", fact))
                    for tag in dict.fromkeys(str(t) for t in rec.get("tags") or ()):
                        tags.append((tag, r[0]))
                        facts.append((tag, fact))
                ids = [r[0] for r in rows]
                rids = [r[1] for r in rows]
                db.executemany(
                    "INSERT INTO interactions_fts (interactions_fts, rowid, text) VALUES (?, ?, ?)",
                    texts,
                )
                before_changes = db.total_changes
                db.executemany(
                    "DELETE FROM interaction_tags WHERE tag = ? AND interaction_id = ?", tags
                )
                n_tags += db.total_changes - before_changes
                n_feedback += db.execute(
                    f"DELETE FROM feedback WHERE request_id IN {_in(rids)}", rids
                ).rowcount
                db.execute(f"DELETE FROM interactions WHERE id IN {_in(ids)}", ids)
                apply(db, facts, sign=-1)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            n_rows += len(rows)
            if progress is not None:
                progress(len(rows))
        return PruneResult(interactions=n_rows, tags=n_tags, feedback=n_feedback)

    def rewrite(
        self,
        transform: RecordTransform,
        *,
        batch_size: int = 200,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> RewriteResult:
        """Pass every record through ``transform`` and store what it changes (see :class:`Store`).

        How a batch of interactions is rewritten: the batch (the next
        ``batch_size`` ids) is read and transformed outside any write
        transaction, so the expensive part never holds the lock. Then, in one
        ``BEGIN IMMEDIATE`` transaction, each changed row is read again: a row
        deleted meanwhile (``prune``) is skipped, a row whose record changed
        meanwhile is transformed again as it is now, and the others get their new
        ``record``, the columns derived from it (``session_id``, ``user_id``,
        ``error_type``), their tags and tag rollups, and their full-text entry
        (the old entry deleted with the old text, as a contentless index
        requires). Ids only grow, so interactions written by other processes
        while the rewrite runs come up in a later batch. Feedback records
        (``record`` and ``comment``) follow, the same way.

        The connection deletes with ``secure_delete`` on, so the space of old
        versions is zeroed; then the full-text index is merged in short steps
        (dropping the entries of deleted words) and the write-ahead log is
        checkpointed and truncated, so the old values are gone from the files.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        db = self._db
        secure = db.execute("PRAGMA secure_delete").fetchone()[0]
        if not dry_run:
            db.execute("PRAGMA secure_delete = ON")
        state = _Rewrite(transform)
        try:
            last = 0
            while True:
                rows = db.execute(
                    "SELECT id, record FROM interactions WHERE id > ? ORDER BY id LIMIT ?",
                    (last, batch_size),
                ).fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                state.interactions += len(rows)
                planned = [c for c in (state.plan(r[0], r[1]) for r in rows) if c is not None]
                if dry_run:
                    for c in planned:
                        state.count(c)
                elif planned:
                    self._rewrite_interactions(planned, state)
                if progress is not None:
                    progress(len(rows))
            last = 0
            while True:
                rows = db.execute(
                    "SELECT id, record FROM feedback WHERE id > ? ORDER BY id LIMIT ?",
                    (last, batch_size),
                ).fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                state.feedback += len(rows)
                planned = [c for c in (state.plan(r[0], r[1]) for r in rows) if c is not None]
                if dry_run:
                    for c in planned:
                        state.count(c, feedback=True)
                elif planned:
                    self._rewrite_feedback(planned, state)
            purged = False
            if not dry_run:
                if state.fts_changed:
                    self._merge_fts()
                # a reader in a long transaction would hold the checkpoint for the whole
                # busy timeout: wait a little, then report that the log is not purged yet
                db.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
                try:
                    purged = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
                finally:
                    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        finally:
            if not dry_run:
                db.execute(f"PRAGMA secure_delete = {int(secure)}")
        return RewriteResult(
            interactions=state.interactions,
            changed=state.changed,
            feedback=state.feedback,
            feedback_changed=state.feedback_changed,
            counts=dict(sorted(state.counts.items())),
            purged=purged,
        )

    def _rewrite_interactions(self, planned: list[_Change], state: _Rewrite) -> None:
        """Store one batch of changed interactions in one write transaction."""
        db = self._db
        facts = ", ".join(FACT_COLUMNS)
        db.execute("BEGIN IMMEDIATE")
        try:
            current = {
                r[0]: (r[1], r[2:])
                for r in db.execute(
                    f"SELECT id, record, {facts} FROM interactions WHERE id IN"
                    " (SELECT value FROM json_each(?))",
                    (orjson.dumps([c.rowid for c in planned]).decode(),),
                )
            }
            updates: list[tuple[Any, ...]] = []
            fts: list[tuple[Any, ...]] = []
            tag_del: list[tuple[str, int]] = []
            tag_add: list[tuple[str, int]] = []
            roll_del: list[tuple[str, Any]] = []
            roll_add: list[tuple[str, Any]] = []
            for c in planned:
                now = current.get(c.rowid)
                if now is None:
                    continue  # deleted meanwhile
                if now[0] != c.old_data:  # changed meanwhile: transform what is there now
                    again = state.plan(c.rowid, now[0])
                    if again is None:
                        continue
                    c = again
                new = c.new
                err = new.get("error")
                updates.append(
                    (
                        c.new_data,
                        new.get("session_id"),
                        new.get("user_id"),
                        err.get("type") if isinstance(err, dict) else None,
                        c.rowid,
                    )
                )
                new_text = record_text(new)
                if new_text != c.old_text:
                    fts.append(("delete", c.rowid, c.old_text))
                    fts.append((None, c.rowid, new_text))
                new_tags = _tags(new)
                if new_tags != c.old_tags:
                    fact = now[1]
                    for tag in c.old_tags:
                        if tag not in new_tags:
                            tag_del.append((tag, c.rowid))
                            roll_del.append((tag, fact))
                    for tag in new_tags:
                        if tag not in c.old_tags:
                            tag_add.append((tag, c.rowid))
                            roll_add.append((tag, fact))
                state.count(c)
            db.executemany(
                "UPDATE interactions SET record = ?, session_id = ?, user_id = ?,"
                " error_type = ? WHERE id = ?",
                updates,
            )
            if fts:
                state.fts_changed = True
                db.executemany(
                    "INSERT INTO interactions_fts (interactions_fts, rowid, text) VALUES (?, ?, ?)",
                    fts,
                )
            if tag_del:
                db.executemany(
                    "DELETE FROM interaction_tags WHERE tag = ? AND interaction_id = ?", tag_del
                )
                apply(db, roll_del, sign=-1)
            if tag_add:
                db.executemany(
                    "INSERT OR IGNORE INTO interaction_tags (tag, interaction_id) VALUES (?, ?)",
                    tag_add,
                )
                apply(db, roll_add)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _rewrite_feedback(self, planned: list[_Change], state: _Rewrite) -> None:
        """Store one batch of changed feedback records in one write transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            current = dict(
                db.execute(
                    "SELECT id, record FROM feedback WHERE id IN (SELECT value FROM json_each(?))",
                    (orjson.dumps([c.rowid for c in planned]).decode(),),
                ).fetchall()
            )
            updates: list[tuple[Any, ...]] = []
            for c in planned:
                now = current.get(c.rowid)
                if now is None:
                    continue
                if now != c.old_data:
                    again = state.plan(c.rowid, now)
                    if again is None:
                        continue
                    c = again
                comment = c.new.get("comment")
                updates.append((c.new_data, comment if isinstance(comment, str) else None, c.rowid))
                state.count(c, feedback=True)
            db.executemany("UPDATE feedback SET record = ?, comment = ? WHERE id = ?", updates)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _merge_fts(self) -> None:
        """Merge the full-text index into one segment, a short transaction per step.

        A contentless FTS5 index deletes by adding delete markers; the deleted
        words stay in older segments until those are merged. ``merge`` with a
        negative page count merges every level (an incremental ``optimize``);
        it is repeated until a step changes nothing.
        """
        db = self._db
        while True:
            before = db.total_changes
            db.execute(
                "INSERT INTO interactions_fts (interactions_fts, rank) VALUES ('merge', -256)"
            )
            if db.total_changes - before < 2:
                break

    def compact(self) -> None:
        """Give the space freed by deletes back to the file system (``VACUUM``)."""
        self._db.execute("VACUUM")

    def verify(self, *, repair: bool = False, progress: Progress | None = None) -> VerifyReport:
        """Check integrity, the full-text index, records, tags and rollups; optionally repair.

        ``progress`` is called with the number of records checked so far, in steps.
        """
        db = self._db
        checks: list[Check] = []
        problems = [r[0] for r in db.execute("PRAGMA integrity_check")]
        checks.append(
            Check(
                "sqlite integrity",
                problems == ["ok"],
                "" if problems == ["ok"] else "; ".join(problems[:5]),
            )
        )
        applied = {r[0] for r in db.execute("SELECT name FROM _llmlog_migrations")}
        missing = [m.__name__ for m in MIGRATIONS if m.__name__ not in applied]
        checks.append(
            Check(
                "migrations",
                not missing,
                f"not applied: {', '.join(missing)}" if missing else f"{len(applied)} applied",
            )
        )
        try:
            db.execute("INSERT INTO interactions_fts (interactions_fts) VALUES ('integrity-check')")
            fts_ok, fts_detail = True, ""
        except sqlite3.DatabaseError as exc:
            fts_ok, fts_detail = False, str(exc)
        counts = {
            "interactions": db.execute("SELECT count(*) FROM interactions").fetchone()[0],
            "tags": db.execute("SELECT count(*) FROM interaction_tags").fetchone()[0],
            "feedback": db.execute("SELECT count(*) FROM feedback").fetchone()[0],
            "fts_documents": db.execute("SELECT count(*) FROM interactions_fts_docsize").fetchone()[
                0
            ],
        }
        unindexed = db.execute(
            "SELECT count(*) FROM interactions i WHERE NOT EXISTS (SELECT 1"
            " FROM interactions_fts_docsize d WHERE d.id = i.id)"
        ).fetchone()[0]
        stale = db.execute(
            "SELECT count(*) FROM interactions_fts_docsize d WHERE NOT EXISTS"
            " (SELECT 1 FROM interactions i WHERE i.id = d.id)"
        ).fetchone()[0]
        fts_ok = fts_ok and not unindexed and not stale
        if unindexed or stale:
            fts_detail = (
                f"{unindexed} interaction(s) missing from the index, {stale} index "
                "entr(ies) without an interaction"
            )
        fixed = False
        if not fts_ok and repair:
            self._rebuild_fts()
            fixed = True
        checks.append(
            Check(
                "full-text index",
                fts_ok,
                fts_detail or f"{counts['fts_documents']:,} documents",
                repaired=fixed,
            )
        )

        bad: list[str] = []
        n_bad = 0
        checked = 0
        cur = db.execute("SELECT id, request_id, ts, record FROM interactions ORDER BY id")
        while rows := cur.fetchmany(5000):
            for rowid, rid, ts, data in rows:
                why = _record_problem(data, rid, ts)
                if why:
                    n_bad += 1
                    if len(bad) < 5:
                        bad.append(f"row {rowid} ({rid}): {why}")
            checked += len(rows)
            if progress is not None:
                progress(len(rows))
        checks.append(
            Check(
                "records parse",
                not n_bad,
                f"{n_bad} bad record(s): " + "; ".join(bad) if n_bad else f"{checked:,} records",
            )
        )

        orphans = db.execute(
            "SELECT count(*) FROM interaction_tags t WHERE NOT EXISTS"
            " (SELECT 1 FROM interactions i WHERE i.id = t.interaction_id)"
        ).fetchone()[0]
        fixed = False
        if orphans and repair:
            db.execute(
                "DELETE FROM interaction_tags WHERE NOT EXISTS (SELECT 1 FROM"
                " interactions i WHERE i.id = interaction_tags.interaction_id)"
            )
            fixed = True
        checks.append(
            Check(
                "tags",
                not orphans,
                f"{orphans} tag(s) of deleted interactions"
                if orphans
                else f"{counts['tags']:,} tags",
                repaired=fixed,
            )
        )

        diff = self._rollup_diff()
        fixed = False
        if diff and repair:
            db.execute("BEGIN IMMEDIATE")
            try:
                rebuild(db)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            fixed = True
        checks.append(Check("rollups", not diff, diff or "in step with the rows", repaired=fixed))
        counts["orphan_feedback"] = db.execute(
            "SELECT count(*) FROM feedback f WHERE NOT EXISTS (SELECT 1 FROM interactions i"
            " WHERE i.request_id = f.request_id)"
        ).fetchone()[0]
        return VerifyReport(checks, counts)

    def _rollup_diff(self) -> str:
        """Return how the rollups differ from the rows ('' when they agree)."""
        db = self._db
        hour = "CAST(i.ts / 3600 AS INTEGER)"
        key = f"{hour}, coalesce(i.provider, ''), coalesce(i.model, ''), i.status"
        rows = {
            tuple(r[:4]): r[4:]
            for r in db.execute(
                f"SELECT {key}, count(*), sum(i.status = 'error'), count(i.duration_ms),"
                " count(i.cost_usd) FROM interactions i GROUP BY 1, 2, 3, 4"
            )
        }
        roll = {
            tuple(r[:4]): r[4:]
            for r in db.execute(
                "SELECT hour, provider, model, status, n, errors, duration_n, cost_n"
                " FROM rollup_hourly WHERE tag = ''"
            )
        }
        tag_rows = db.execute(
            "SELECT count(*) FROM interaction_tags t JOIN interactions i ON i.id = t.interaction_id"
        ).fetchone()[0]
        tag_roll = db.execute(
            "SELECT coalesce(sum(n), 0) FROM rollup_hourly WHERE tag > ''"
        ).fetchone()[0]
        lat_rows = db.execute(
            "SELECT count(i.duration_ms) + count(i.ttft_ms) FROM interactions i"
        ).fetchone()[0]
        lat_roll = db.execute(
            "SELECT coalesce(sum(n), 0) FROM rollup_latency WHERE tag = ''"
        ).fetchone()[0]
        daily_roll = db.execute(
            "SELECT coalesce(sum(n), 0) FROM rollup_latency_daily WHERE tag = ''"
        ).fetchone()[0]
        wrong = sum(1 for k in rows.keys() | roll.keys() if rows.get(k) != roll.get(k))
        parts = []
        if wrong:
            parts.append(f"{wrong} hour/model/status group(s) differ from the rows")
        if tag_rows != tag_roll:
            parts.append(f"tag rollups count {tag_roll}, the rows {tag_rows}")
        if lat_rows != lat_roll or lat_rows != daily_roll:
            parts.append(
                f"latency histograms hold {lat_roll} (hourly) and {daily_roll} (daily)"
                f" values, the rows {lat_rows}"
            )
        return "; ".join(parts)

    def _rebuild_fts(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT INTO interactions_fts (interactions_fts) VALUES ('delete-all')")
            cur = db.execute("SELECT id, record FROM interactions")
            while rows := cur.fetchmany(5000):
                db.executemany(
                    "INSERT INTO interactions_fts (rowid, text) VALUES (?, ?)",
                    [(r[0], record_text(orjson.loads(r[1]))) for r in rows],
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _tags(rec: dict[str, Any]) -> tuple[str, ...]:
    """Return a record's distinct tags as the sink stores them."""
    tags = rec.get("tags")
    if not isinstance(tags, list) or not tags:
        return ()
    return tuple(dict.fromkeys(str(t) for t in tags))


def _redaction_counts(rec: dict[str, Any]) -> dict[str, int]:
    red = rec.get("redaction")
    counts = red.get("counts") if isinstance(red, dict) else None
    if not isinstance(counts, dict):
        return {}
    return {k: v for k, v in counts.items() if type(v) is int}


class _Change:
    """One record the transform changed: what its old form needs undone, and its new form."""

    __slots__ = ("new", "new_data", "old_counts", "old_data", "old_tags", "old_text", "rowid")

    def __init__(self, rowid: int, old_data: str, new: dict[str, Any], new_data: str) -> None:
        old = orjson.loads(old_data)  # the transform may have changed the dict it was given
        self.rowid = rowid
        self.old_data = old_data
        self.old_text = record_text(old)
        self.old_tags = _tags(old)
        self.old_counts = _redaction_counts(old)
        self.new = new
        self.new_data = new_data


class _Rewrite:
    """The running totals of one :meth:`SQLiteStore.rewrite`."""

    def __init__(self, transform: RecordTransform) -> None:
        self.transform = transform
        self.interactions = self.changed = self.feedback = self.feedback_changed = 0
        self.counts: dict[str, int] = {}
        self.fts_changed = False

    def plan(self, rowid: int, data: str) -> _Change | None:
        """Transform one stored record; return the change, or None if there is none."""
        rec = orjson.loads(data)
        if not isinstance(rec, dict):
            return None  # not a record (verify reports it); nothing to rewrite
        new = self.transform(rec)
        if new is None:
            return None
        new_data = orjson.dumps(new).decode()
        if new_data == data:
            return None
        return _Change(rowid, data, new, new_data)

    def count(self, c: _Change, *, feedback: bool = False) -> None:
        """Add a change that was (or, in a dry run, would be) stored to the totals."""
        if feedback:
            self.feedback_changed += 1
        else:
            self.changed += 1
        for k, v in _redaction_counts(c.new).items():
            grown = v - c.old_counts.get(k, 0)
            if grown > 0:
                self.counts[k] = self.counts.get(k, 0) + grown


def _record_problem(data: str, rid: str, ts: float) -> str:
    try:
        rec = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return f"not JSON ({exc})"
    if not isinstance(rec, dict):
        return "not a JSON object"
    if rec.get("request_id") != rid:
        return "request_id differs from its column"
    if rec.get("timestamp") != ts:
        return "timestamp differs from its column"
    if rec.get("event", "llm_interaction") != "llm_interaction":
        return f"event is {rec.get('event')!r}"
    return ""
