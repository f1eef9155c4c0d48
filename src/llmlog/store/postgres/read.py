"""The PostgreSQL reader: a :class:`~llmlog.store.Store` over the schema the PostgreSQL sink writes.

The same questions as the SQLite reader (``_sqlite``), answered the way
PostgreSQL answers them best (figures for 1M interactions in ``bench/README.md``):

* Lists (``search``, exports) are keyset-paginated on ``(ts, id)`` and walk the
  ``ts`` / ``(model, ts)`` / ``(status, ts)`` / ``(user_id, ts)`` indexes, so a
  page costs the same at any depth and under concurrent writers.
* Full text uses the ``tsvector`` through ``search_words()`` (migration
  ``m002_reader_indexes``): PostgreSQL's parser keeps ``bob@example.com``,
  ``acme.com`` or ``v1.4.2`` as one lexeme each, where SQLite's index holds
  their words, so the reader searches the lexemes split into runs of letters
  and digits, accents removed, which is what ``_text`` expects. Words and
  prefixes are a ``tsquery`` (``'refund' & 'pay':*``) answered by a GIN index;
  phrases are checked in the matching records' text exactly as ``_text`` does
  for SQLite (PostgreSQL's positions are of its own lexemes, which are not
  ours), reading only the four fields the text comes from.
* Aggregates are one ``GROUP BY`` over the matching rows, with exact
  nearest-rank percentiles (``percentile_disc``, the definition
  :func:`~llmlog.store.aggregate.percentile` uses), so :class:`StatsRow` has
  the same meaning as SQLite's exact rows and ``approximate`` is always False.
  There is no rollup: PostgreSQL scans the narrow columns in parallel, and a
  rollup maintained by many machines' writers would be a hot row to contend on.
  Local-day buckets are computed like SQLite's (:func:`bucket_start`), by
  passing the day boundaries to ``width_bucket``.
* ``tail`` follows commit order, not id order. With many writers, ids are
  allocated when rows are inserted but become visible when their transaction
  commits, so a row can appear *below* the last id a reader has seen. Each poll
  therefore reads, in one snapshot, the new rows and the in-flight transactions
  that write the interactions table (``pg_current_snapshot`` with the
  ``RowExclusiveLock`` holders in ``pg_locks``); the cursor carries those
  transactions, and once they have finished, their rows (``xmin``) below the
  cursor are returned too. Nothing is missed and nothing is returned twice.
* Records come back as written: JSONB keeps the values but not the key order,
  so the top-level fields are put back in the record's order.

Every read that takes more than one statement runs in one ``REPEATABLE READ,
READ ONLY`` transaction (one snapshot); otherwise the connection is in
autocommit, so a reader never holds a transaction open between calls.
PostgreSQL errors (a lost connection, a missing privilege) are raised as
:class:`~llmlog.store.StoreError` with a one-line message. PostgreSQL 13 or
later is required (``pg_current_snapshot``).
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator, Sequence
from typing import Any, cast

import orjson
import psycopg
from psycopg.types.json import set_json_loads

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
from llmlog.store.postgres.maintain import PostgresMaintenance
from llmlog.store.postgres.schema import MIGRATIONS, migrate, split_url
from llmlog.store.postgres.sql import (
    TEXT_COLS,
    Conn,
    any_of,
    guard,
    guard_iter,
    one_line,
    ordered,
    ordered_feedback,
    text_of_columns,
    where,
)
from llmlog.store.postgres.stats import PostgresStats
from llmlog.store.text import TextQuery, compile_text
from llmlog.store.traces import TraceReads

__all__ = ["PostgresStore"]


LATE_WINDOW = 100_000
"""How far below the first ``tail`` page rows of transactions then in flight are looked for."""
_MAX_PENDING = 1000
_TERM = re.compile(r'"([^"]*)"(\*?)')


class PostgresStore(KeysetReads, TraceReads, PostgresStats, PostgresMaintenance):
    """Read and maintain an llmlog PostgreSQL store (see :class:`~llmlog.store.Store`).

    Args:
        url: ``postgresql://user@host:port/database``, optionally ``?schema=name``
            (default ``llmlog``).

    Raises:
        StoreNotFoundError: the schema holds no llmlog store (nothing was logged yet).
        StoreError: the server cannot be reached, the URL is malformed, or the
            store needs a migration this user may not apply.

    .. versionadded:: 0.1
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            conninfo, schema = split_url(url)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        self.schema = schema
        self.where = where(url, schema)
        try:
            db: Conn = psycopg.connect(
                conninfo, autocommit=True, connect_timeout=10, application_name="llmlog"
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {self.where}: {one_line(exc)}"
            ) from None
        try:
            self._standby = self._check(db)
            set_json_loads(orjson.loads, db)
            # Plan every query for its actual values: a generic plan (what psycopg's
            # automatic prepared statements lead to) cannot know that a word is rare or a
            # model common, and a wrong guess costs a scan of the store, not an index lookup.
            db.prepare_threshold = None
            # Compiling a query to machine code costs more (~0.4 s) than these queries
            # run; sorts for percentiles and bitmaps of common words fit in memory (a lossy
            # bitmap makes PostgreSQL recompute the words of every row it covers).
            db.execute("SET jit = off")
            db.execute("SET work_mem = '64MB'")
        except psycopg.Error as exc:
            db.close()
            raise StoreError(f"cannot read {self.where}: {one_line(exc)}") from None
        except BaseException:
            db.close()
            raise
        self._db = db
        s = f'"{schema}"'
        self._t = f"{s}.interactions"
        self._f = f"{s}.feedback"
        self._ph, self._spans, self._calls = "%s", f"{s}.spans", self._t
        self._words = f"{s}.search_words(i.search)"
        self._depth = 0
        self._names = itertools.count()
        self._tsqueries: dict[str, str | None] = {}

    def _check(self, db: Conn) -> bool:
        """Check that the schema holds a store, migrate it if needed; return True on a standby."""
        s = f'"{self.schema}"'
        try:
            found = db.execute(
                "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL,"
                " pg_is_in_recovery(), current_setting('server_version_num')::int",
                (f"{s}.interactions", f"{s}._llmlog_migrations"),
            ).fetchone()
            assert found is not None
            table, migrations, standby, version = found
            if not table:
                raise StoreNotFoundError(f"no llmlog store at {self.where}")
            if not migrations:
                raise StoreError(
                    f"{self.where} is not an llmlog store (an interactions table "
                    "without llmlog's migrations)"
                )
            if version < 130000:
                raise StoreError(f"reading {self.where} needs PostgreSQL 13 or later")
            applied = {r[0] for r in db.execute(f"SELECT name FROM {s}._llmlog_migrations")}
            if any(m.__name__ not in applied for m in MIGRATIONS):
                if standby:
                    raise StoreError(
                        f"{self.where} needs an upgrade: open it once on the "
                        "primary server (any llmlog command does it)"
                    )
                try:
                    migrate(db, self.schema)
                except psycopg.errors.InsufficientPrivilege:
                    raise StoreError(
                        f"{self.where} needs an upgrade that this user may not "
                        "apply: open it once as its owner (any llmlog command "
                        "does it)"
                    ) from None
        except psycopg.Error as exc:
            raise StoreError(f"cannot read {self.where}: {one_line(exc)}") from None
        return bool(standby)

    # -- plumbing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _read(self) -> Iterator[Conn]:
        """Run the block in one read-only transaction: one consistent snapshot."""
        db = self._db
        if self._depth:
            self._depth += 1
            try:
                yield db
            finally:
                self._depth -= 1
            return
        with db.transaction():
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            self._depth = 1
            try:
                yield db
            finally:
                self._depth = 0

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        """Yield the rows of ``sql`` through a server-side cursor, in growing chunks.

        Must run inside :meth:`_read`. Stopping early closes the cursor, so a
        scan that finds what it needs in its first rows reads no more.
        """
        size = 256
        with self._db.cursor(name=f"llmlog_scan_{next(self._names)}") as cur:
            cur.execute(sql, params)
            while rows := cur.fetchmany(size):
                yield from rows
                size = min(size * 2, 8192)

    def _tsquery(self, tq: TextQuery) -> str | None:
        """Return the ``tsquery`` for the words of a compiled query (None: no word indexed).

        Each word goes through the same functions as the indexed text
        (``to_tsvector('simple', ...)`` then ``search_words``), so case, accents
        and the server's idea of a letter agree with the index.
        """
        cached = self._tsqueries.get(tq.match, "")
        if cached != "":
            return cached
        terms = _TERM.findall(tq.match)
        rows = self._db.execute(
            f'SELECT t.n, tsvector_to_array("{self.schema}".search_words('
            "to_tsvector('simple', t.w))) FROM unnest(%s::text[]) WITH ORDINALITY AS t(w, n)",
            ([w for w, _ in terms],),
        ).fetchall()
        parts: list[str] = []
        for n, lexemes in sorted(rows):
            star = ":*" if terms[n - 1][1] else ""
            for lex in lexemes or ():
                quoted = "'" + lex.replace("\\", "\\\\").replace("'", "''") + "'"
                parts.append(quoted + star)
        out = " & ".join(dict.fromkeys(parts)) or None
        if len(self._tsqueries) > 256:
            self._tsqueries.clear()
        self._tsqueries[tq.match] = out
        return out

    def _conds(self, q: Query, *, materialize: bool = True) -> Conds:
        c = Conds()
        if q.since is not None:
            c.add("i.ts >= %s", q.since)
        if q.until is not None:
            c.add("i.ts < %s", q.until)
        any_of(c, "i.model", q.models)
        any_of(c, "i.provider", q.providers)
        if q.status is not None:
            c.add("i.status = %s", q.status)
        if q.session_id is not None:
            c.add("i.session_id = %s", q.session_id)
        if q.user_id is not None:
            c.add("i.user_id = %s", q.user_id)
        if q.tags:
            c.add("i.tags @> %s::text[]", list(q.tags))
        meta = "(i.record -> 'metadata')"
        for key, value in q.metadata:
            if value is None:  # the key is there, whatever its value (null included)
                c.add(f"({meta} ? %s AND jsonb_typeof({meta}) = 'object')", key)
                continue
            # containment is exact per JSON type and uses the GIN index: text, number, literal
            alts = [orjson.dumps({key: value}).decode()]
            num = number(value)
            if num is not None:
                alts.append(orjson.dumps({key: num}).decode())
            if value in ("true", "false", "null"):
                alts.append(f"{{{orjson.dumps(key).decode()}: {value}}}")
            c.add("(" + " OR ".join([f"{meta} @> %s::jsonb"] * len(alts)) + ")", *alts)
        for op, score in ((">=", q.min_score), ("<=", q.max_score)):
            if score is not None:
                c.add(
                    f"(SELECT f.score FROM {self._f} f WHERE f.request_id = i.request_id"
                    f" ORDER BY f.ts DESC, f.id DESC LIMIT 1) {op} %s",
                    score,
                )
        if q.text is not None:
            tq = compile_text(q.text)
            tsq = self._tsquery(tq)
            if tsq is None:
                c.add("false")
            else:
                c.add(f"{self._words} @@ %s::tsquery", tsq)
                if tq.phrases:
                    c.post = tq
                    if materialize:
                        self._materialize(c)
        return c

    def _materialize(self, c: Conds) -> None:
        """Resolve a phrase check into the list of matching ids, usable in SQL."""
        tq = c.post
        assert tq is not None
        with self._read():
            ids = [
                r[0]
                for r in self._stream(
                    f"SELECT i.id, {TEXT_COLS} FROM {self._t} i{c.sql()}", c.params
                )
                if tq.matches(text_of_columns(r[1:]))
            ]
        c.where = ["i.id = ANY(%s)"]
        c.params = [ids]
        c.post = None

    def _records(self, ids: Sequence[int]) -> dict[int, LLMRecord]:
        """Return the records of these row ids (those that still exist)."""
        if not ids:
            return {}
        return {
            r[0]: ordered(r[1])
            for r in self._db.execute(
                f"SELECT id, record FROM {self._t} WHERE id = ANY(%s)", (list(ids),)
            )
        }

    # -- lists -------------------------------------------------------------------------------

    def _rows(
        self, q: Query, *, limit: int, after: tuple[float, int] | None, order: Order
    ) -> list[tuple[int, float, LLMRecord]]:
        """Return up to ``limit`` (id, ts, record) after the keyset position, in order."""
        c = self._conds(q, materialize=False)
        desc = order == "newest"
        if after is not None:
            cmp = "<" if desc else ">"
            c.add(
                f"i.ts {cmp}= %s AND (i.ts {cmp} %s OR i.id {cmp} %s)", after[0], after[0], after[1]
            )
        d = "DESC" if desc else "ASC"
        ordering = f" ORDER BY i.ts {d}, i.id {d}"
        if c.post is None:
            return [
                (r[0], r[1], ordered(r[2]))
                for r in self._db.execute(
                    f"SELECT i.id, i.ts, i.record FROM {self._t} i{c.sql()}{ordering} LIMIT %s",
                    [*c.params, limit],
                )
            ]
        # phrases: read the candidates' text in order, keep the first `limit` that match
        tq = c.post
        keep: list[tuple[int, float]] = []
        with self._read():
            for r in self._stream(
                f"SELECT i.id, i.ts, {TEXT_COLS} FROM {self._t} i{c.sql()}{ordering}", c.params
            ):
                if tq.matches(text_of_columns(r[2:])):
                    keep.append((r[0], r[1]))
                    if len(keep) >= limit:
                        break
            records = self._records([k[0] for k in keep])
        return [(rid, ts, records[rid]) for rid, ts in keep if rid in records]

    @guard_iter
    def iter_records(
        self, query: Query | None = None, *, order: Order = "oldest", batch_size: int = 1000
    ) -> Iterator[LLMRecord]:
        """Yield every matching record in order, ``batch_size`` per read.

        Without text, each batch is one keyset query (no transaction stays open
        while the caller works). With text, the matches' ``(ts, id)`` are read
        and sorted once, then their records in batches, phrases checked on them.
        """
        q = query or Query()
        if q.text is None:
            after: tuple[float, int] | None = None
            while True:
                rows = self._rows(q, limit=batch_size, after=after, order=order)
                for r in rows:
                    yield r[2]
                if len(rows) < batch_size:
                    return
                after = (rows[-1][1], rows[-1][0])
        c = self._conds(q, materialize=False)
        post = c.post
        d = "DESC" if order == "newest" else "ASC"
        keys = [
            r[0]
            for r in self._db.execute(
                f"SELECT i.id FROM {self._t} i{c.sql()} ORDER BY i.ts {d}, i.id {d}", c.params
            )
        ]
        for n in range(0, len(keys), batch_size):
            ids = keys[n : n + batch_size]
            found = self._records(ids)
            for rowid in ids:
                rec = found.get(rowid)
                if rec is None:
                    continue  # pruned meanwhile
                if post is None or post.matches(
                    text_of_columns(
                        [
                            rec.get("prompt_messages"),
                            rec.get("parsed_output"),
                            rec.get("tool_calls"),
                            rec.get("error"),
                        ]
                    )
                ):
                    yield rec

    @guard
    def count(self, query: Query | None = None) -> int:
        """Return how many interactions match."""
        with self._read() as db:
            c = self._conds(query or Query())
            row = db.execute(f"SELECT count(*) FROM {self._t} i{c.sql()}", c.params).fetchone()
        return int(row[0]) if row else 0

    @guard
    def feedback(self, request_id: str) -> list[Feedback]:
        """Return the feedback records for a request id, oldest first."""
        return [
            ordered_feedback(r[0])
            for r in self._db.execute(
                f"SELECT record FROM {self._f} WHERE request_id = %s ORDER BY ts, id", (request_id,)
            )
        ]

    @guard
    def latest_scores(self, request_ids: Sequence[str]) -> dict[str, float]:
        """Return the latest feedback score of each request id that has one."""
        ids = list(dict.fromkeys(request_ids))
        if not ids:
            return {}
        return {
            r[0]: r[1]
            for r in self._db.execute(
                f"SELECT DISTINCT ON (request_id) request_id, score FROM {self._f}"
                " WHERE request_id = ANY(%s) ORDER BY request_id, ts DESC, id DESC",
                (ids,),
            )
        }

    @guard
    def has_feedback(self, request_id: str, timestamp: float, score: float) -> bool:
        """Return True if this exact feedback (request id, time, score) is stored."""
        return (
            self._db.execute(
                f"SELECT 1 FROM {self._f} WHERE request_id = %s AND ts = %s AND score = %s LIMIT 1",
                (request_id, timestamp, score),
            ).fetchone()
            is not None
        )

    # -- tail --------------------------------------------------------------------------------

    def _in_flight(self) -> list[int]:
        """Return the transactions in flight at this snapshot that may hold interaction ids.

        As full 64-bit transaction ids: the ones holding a write lock on the
        interactions table now, plus any that finished between the snapshot and
        this check (they may have written).
        On a standby, where the primary's locks are not visible, every one.
        Must run inside :meth:`_read` (the snapshot is the transaction's).
        """
        rows = self._db.execute(
            "SELECT x::text::bigint, pg_xact_status(x) = 'in progress',"
            " x::xid = ANY(ARRAY(SELECT t.transactionid FROM pg_locks r JOIN pg_locks t"
            "   ON t.virtualtransaction = r.virtualtransaction AND t.locktype = 'transactionid'"
            "   WHERE r.locktype = 'relation' AND r.relation = %s::regclass"
            "   AND r.mode = 'RowExclusiveLock'))"
            " FROM pg_snapshot_xip(pg_current_snapshot()) AS x",
            (self._t,),
        ).fetchall()
        return [int(x) for x, running, writer in rows if self._standby or writer or not running]

    def _last(self, q: Query, limit: int, top: int) -> list[LLMRecord]:
        """Return the last ``limit`` matching rows with ids up to ``top``, oldest first."""
        c = self._conds(q, materialize=False)
        c.add("i.id <= %s", top)
        if c.post is None:
            rows = self._db.execute(
                f"SELECT i.record FROM {self._t} i{c.sql()} ORDER BY i.id DESC LIMIT %s",
                [*c.params, limit],
            ).fetchall()
            return [ordered(r[0]) for r in reversed(rows)]
        tq = c.post
        keep: list[int] = []
        for r in self._stream(
            f"SELECT i.id, {TEXT_COLS} FROM {self._t} i{c.sql()} ORDER BY i.id DESC", c.params
        ):
            if tq.matches(text_of_columns(r[1:])):
                keep.append(r[0])
                if len(keep) >= limit:
                    break
        records = self._records(keep)
        return [records[i] for i in reversed(keep) if i in records]

    def _matching(
        self, c: Conds, extra: str, params: Sequence[Any], limit: int | None = None
    ) -> list[tuple[int, LLMRecord]]:
        """Return (id, record) of the rows matching ``c`` and ``extra``, by id."""
        c = c.copy()
        c.add(extra, *params)
        tail = "" if limit is None else " LIMIT %s"
        args = [*c.params] + ([] if limit is None else [limit])
        rows = [
            (r[0], ordered(r[1]))
            for r in self._db.execute(
                f"SELECT i.id, i.record FROM {self._t} i{c.sql()} ORDER BY i.id{tail}", args
            )
        ]
        return rows

    @guard
    def tail(
        self, query: Query | None = None, *, cursor: str | None = None, limit: int = 100
    ) -> TailBatch:
        """Return interactions committed since ``cursor`` (oldest first) and the next cursor.

        The cursor holds the last id read and the transactions that were still
        writing then; rows they commit later, with ids below it, come in a later
        batch (see the module docstring).
        """
        q = query or Query()
        pending: list[tuple[int, int]] = []
        top_prev = 0
        if cursor is not None:
            top_s, pending_s = decode_cursor(cursor, 2)
            try:
                top_prev = int(top_s)
                for item in filter(None, pending_s.split(",")):
                    xid, low = item.split(":")
                    pending.append((int(xid), int(low)))
            except ValueError:
                raise ValueError(f"invalid cursor {cursor!r}") from None
        with self._read() as db:
            row = db.execute(f"SELECT coalesce(max(id), 0) FROM {self._t}").fetchone()
            top = int(row[0]) if row else 0
            flight = self._in_flight()
            running = set(flight)
            if cursor is None:
                recs = self._last(q, limit, top)
                new_top, lo = top, max(0, top - LATE_WINDOW)
                still: list[tuple[int, int]] = []
            else:
                c = self._conds(q, materialize=False)
                post, c.post = c.post, None
                done = [(x, lo) for x, lo in pending if x not in running]
                still = [(x, lo) for x, lo in pending if x in running]
                late: list[tuple[int, LLMRecord]] = []
                if done:
                    late = self._matching(
                        c,
                        "i.id > %s AND i.id <= %s AND i.xmin = ANY(%s::text[]::xid[])",
                        (min(lo for _, lo in done), top_prev, [str(x % 2**32) for x, _ in done]),
                    )
                new = self._matching(c, "i.id > %s AND i.id <= %s", (top_prev, top), limit)
                new_top = new[-1][0] if len(new) == limit else max(top, top_prev)
                recs = [r for _, r in late + new]
                if post is not None:
                    recs = [
                        r
                        for r in recs
                        if post.matches(
                            text_of_columns(
                                [
                                    r.get("prompt_messages"),
                                    r.get("parsed_output"),
                                    r.get("tool_calls"),
                                    r.get("error"),
                                ]
                            )
                        )
                    ]
                lo = top_prev
        known = {x for x, _ in still}
        nxt = still + [(x, lo) for x in flight if x not in known]
        nxt = nxt[-_MAX_PENDING:]
        return TailBatch(recs, encode_cursor(new_top, ",".join(f"{x}:{lo}" for x, lo in nxt)))

    # -- sessions ----------------------------------------------------------------------------

    @guard
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
                having = (
                    ' HAVING max(i.ts) < %s OR (max(i.ts) = %s AND i.session_id COLLATE "C" < %s)'
                )
                hparams = [last, last, sid]
            rows = db.execute(
                "SELECT i.session_id, min(i.ts), max(i.ts), count(*),"
                " count(*) FILTER (WHERE i.status = 'error'),"
                " coalesce(sum(i.total_tokens), 0)::bigint, sum(i.cost_usd),"
                " array_agg(DISTINCT i.model) FILTER (WHERE i.model IS NOT NULL),"
                " array_agg(DISTINCT i.user_id) FILTER (WHERE i.user_id IS NOT NULL)"
                f" FROM {self._t} i{c.sql()} GROUP BY i.session_id{having}"
                ' ORDER BY max(i.ts) DESC, i.session_id COLLATE "C" DESC LIMIT %s',
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
                models=tuple(sorted(r[7] or ())),
                user_ids=tuple(sorted(r[8] or ())),
            )
            for r in rows[:limit]
        ]
        nxt = encode_cursor(out[-1].last_ts, out[-1].session_id) if len(rows) > limit else None
        return SessionPage(out, nxt)

    # -- aggregates --------------------------------------------------------------------------

    search = guard(KeysetReads.search)
    get = guard(KeysetReads.get)

    def _record(self, value: Any) -> dict[str, Any]:
        return cast(dict[str, Any], ordered(value))

    def _by_id(self, rid: str) -> LLMRecord | None:
        row = self._db.execute(
            f"SELECT record FROM {self._t} WHERE request_id = %s", (rid,)
        ).fetchone()
        return None if row is None else ordered(row[0])

    def _by_prefix(self, rid: str, limit: int) -> list[tuple[str, LLMRecord]]:
        pattern = rid.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._db.execute(
            f"SELECT request_id, record FROM {self._t} WHERE request_id LIKE %s"
            " ORDER BY request_id LIMIT %s",
            (pattern, limit),
        ).fetchall()
        return [(r[0], ordered(r[1])) for r in rows]
