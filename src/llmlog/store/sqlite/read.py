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
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import orjson

from llmlog.record import Feedback, LLMRecord
from llmlog.store.common import Conds, KeysetReads, check_limit, number, session_cursor
from llmlog.store.model import (
    Order,
    Query,
    SessionPage,
    SessionSummary,
    StoreError,
    StoreNotFoundError,
    TailBatch,
    decode_cursor,
    encode_cursor,
)
from llmlog.store.sqlite.maintain import SQLiteMaintenance
from llmlog.store.sqlite.schema import MIGRATIONS
from llmlog.store.sqlite.sql import in_list, loads
from llmlog.store.sqlite.stats import SQLiteStats
from llmlog.store.sqlite.write import connect
from llmlog.store.text import compile_text, record_text
from llmlog.store.traces import TraceReads

__all__ = ["SQLiteStore"]


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


class SQLiteStore(KeysetReads, TraceReads, SQLiteStats, SQLiteMaintenance):
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
        self._ph, self._spans, self._calls = "?", "spans", "interactions"

    # -- plumbing ----------------------------------------------------------------------------

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

    def _conds(self, q: Query, *, materialize: bool = True) -> Conds:
        c = Conds()
        if q.since is not None:
            c.add("i.ts >= ?", q.since)
        if q.until is not None:
            c.add("i.ts < ?", q.until)
        if q.models:
            c.add(f"i.model IN {in_list(q.models)}", *q.models)
        if q.providers:
            c.add(f"i.provider IN {in_list(q.providers)}", *q.providers)
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
            num = number(value)
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

    def _materialize(self, c: Conds) -> None:
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
                [(r[0],) for r in rows if tq.matches(record_text(loads(r[1])))],
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
        return [(r[0], r[1], loads(r[2])) for r in self._db.execute(sql, [*c.params, limit])]

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
                    rec = loads(
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
                records[rowid] = loads(data)
        return [(b[2], b[3], records[b[2]]) for b in chosen]

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
                rec = loads(data)
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
                f"SELECT request_id, score FROM feedback WHERE request_id IN {in_list(chunk)}"
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
                return TailBatch([loads(r[1]) for r in rows_], encode_cursor(top))
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
            recs = [loads(r[1]) for r in found]
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
                rec = loads(data)
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
        check_limit(limit)
        after = session_cursor(cursor)
        with self._read() as db:
            c = self._conds(query or Query())
            c.add("i.session_id IS NOT NULL")
            having, hparams = "", []
            if after is not None:
                last, sid = after
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

    def _record(self, value: Any) -> dict[str, Any]:
        return cast(dict[str, Any], loads(value))

    def _by_id(self, rid: str) -> LLMRecord | None:
        row = self._db.execute(
            "SELECT record FROM interactions WHERE request_id = ?", (rid,)
        ).fetchone()
        return None if row is None else loads(row[0])

    def _by_prefix(self, rid: str, limit: int) -> list[tuple[str, LLMRecord]]:
        try:
            hi = rid[:-1] + chr(ord(rid[-1]) + 1)
        except ValueError:
            hi = rid + "\U0010ffff"
        rows = self._db.execute(
            "SELECT request_id, record FROM interactions WHERE request_id >= ?"
            " AND request_id < ? ORDER BY request_id LIMIT ?",
            (rid, hi, limit),
        ).fetchall()
        return [(r[0], loads(r[1])) for r in rows]
