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
import functools
import itertools
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

import orjson
import psycopg
from psycopg.types.json import set_json_loads

from llmlog.normalize import search_text
from llmlog.record import RECORD_FIELDS, Feedback, LLMRecord
from llmlog.store.aggregate import bucket_start, finish_rows
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
from llmlog.store.postgres.schema import MIGRATIONS, migrate, split_url
from llmlog.store.text import TextQuery, compile_text

__all__ = ["PostgresStore"]

P = ParamSpec("P")
R = TypeVar("R")
Progress = Callable[[int], None]
Conn = psycopg.Connection[tuple[Any, ...]]

LATE_WINDOW = 100_000
"""How far below the first ``tail`` page rows of transactions then in flight are looked for."""
_MAX_PENDING = 1000
_PRUNE_CHUNK = 5000
_VERIFY_CHUNK = 50_000
_TEXT_COLS = (
    "i.record -> 'prompt_messages', i.record -> 'parsed_output',"
    " i.record -> 'tool_calls', i.record -> 'error'"
)
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
_FIELD_RANK = {name: n for n, name in enumerate(RECORD_FIELDS)}
_FEEDBACK_FIELDS = tuple(Feedback.__annotations__)
_TERM = re.compile(r'"([^"]*)"(\*?)')


# -- helpers -------------------------------------------------------------------------------------


def _where(url: str, schema: str) -> str:
    """Return ``host:port/database#schema`` for messages (never credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path or '/'}#{schema}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


def _guard(fn: Callable[P, R]) -> Callable[P, R]:
    """Raise PostgreSQL errors from ``fn`` as StoreError, with a one-line message."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL error: {_one_line(exc)}") from exc

    return wrapper


def _guard_iter(fn: Callable[P, Iterator[R]]) -> Callable[P, Iterator[R]]:
    """Like :func:`_guard`, for a generator function."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
        try:
            yield from fn(*args, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL error: {_one_line(exc)}") from exc

    return wrapper


def _ordered(rec: Any) -> LLMRecord:
    """Put a record's top-level fields back in the record's order (JSONB sorts keys)."""
    if not isinstance(rec, dict):
        return cast(LLMRecord, rec)
    out = {k: rec[k] for k in RECORD_FIELDS if k in rec}
    if len(out) != len(rec):
        out.update((k, v) for k, v in rec.items() if k not in _FIELD_RANK)
    return cast(LLMRecord, out)


def _ordered_feedback(rec: Any) -> Feedback:
    if not isinstance(rec, dict):
        return cast(Feedback, rec)
    out = {k: rec[k] for k in _FEEDBACK_FIELDS if k in rec}
    out.update((k, v) for k, v in rec.items() if k not in out)
    return cast(Feedback, out)


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def _json_text(value: Any) -> str:
    """Serialise a record for a JSONB column (PostgreSQL refuses NUL characters)."""
    text = orjson.dumps(value).decode()
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def _clean(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def _record_text(text_cols: Sequence[Any]) -> str:
    """Return the indexed text from (prompt_messages, parsed_output, tool_calls, error)."""
    return search_text(text_cols[0], text_cols[1], text_cols[2], text_cols[3])


def _tags(rec: Mapping[str, Any]) -> list[str]:
    tags = rec.get("tags")
    return [_clean(str(t)) for t in tags] if isinstance(tags, list) else []


def _redaction_counts(rec: Mapping[str, Any]) -> dict[str, int]:
    red = rec.get("redaction")
    counts = red.get("counts") if isinstance(red, dict) else None
    if not isinstance(counts, dict):
        return {}
    return {k: v for k, v in counts.items() if type(v) is int}


def _day_starts(lo: float, hi: float) -> list[float]:
    """Return the starts of the local days (as :func:`bucket_start` defines them) in [lo, hi]."""
    out = [bucket_start(lo, "day")]
    while out[-1] <= hi:
        # a local day lasts 23 to 25 hours: 26 hours on is always inside the next one
        out.append(bucket_start(out[-1] + 26 * 3600, "day"))
    return out


class _Conds:
    """WHERE conditions, their parameters, and the phrase check left for Python."""

    __slots__ = ("params", "post", "where")

    def __init__(self) -> None:
        self.where: list[str] = []
        self.params: list[Any] = []
        self.post: TextQuery | None = None

    def add(self, cond: str, *params: Any) -> None:
        self.where.append(cond)
        self.params.extend(params)

    def copy(self) -> _Conds:
        c = _Conds()
        c.where = list(self.where)
        c.params = list(self.params)
        c.post = self.post
        return c

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.where)) if self.where else ""


def _any(c: _Conds, column: str, values: Sequence[str]) -> None:
    if len(values) == 1:  # '=' lets the planner walk a (column, ts) index in order
        c.add(f"{column} = %s", values[0])
    elif values:
        c.add(f"{column} = ANY(%s)", list(values))


_Change = tuple[dict[str, Any], dict[str, Any]]
"""A record the transform changed: (as stored, as it should be)."""


class _Rewrite:
    """Transform records for :meth:`PostgresStore.rewrite` and keep its totals."""

    def __init__(
        self,
        transform: RecordTransform,
        order: Callable[[Any], Any],
        key: str,
        totals: dict[str, int],
        counts: dict[str, int],
    ) -> None:
        self.transform = transform
        self.order = order
        self.key = key
        self.totals = totals
        self.counts = counts

    def plan(self, text: str) -> _Change | None:
        """Transform one stored record (JSON text); return the change, or None if none."""
        old = orjson.loads(text)
        if not isinstance(old, dict):
            return None  # not a record (verify reports it): nothing to rewrite
        new = self.transform(dict(self.order(orjson.loads(text))))
        if new is None or new == old:
            return None
        return old, new

    def count(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """Add a change that was (or, in a dry run, would be) stored to the totals."""
        self.totals[self.key] += 1
        before = _redaction_counts(old)
        for k, v in _redaction_counts(new).items():
            grown = v - before.get(k, 0)
            if grown > 0:
                self.counts[k] = self.counts.get(k, 0) + grown


# -- the store -----------------------------------------------------------------------------------


class PostgresStore:
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
        self.where = _where(url, schema)
        try:
            db: Conn = psycopg.connect(
                conninfo, autocommit=True, connect_timeout=10, application_name="llmlog"
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {self.where}: {_one_line(exc)}"
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
            raise StoreError(f"cannot read {self.where}: {_one_line(exc)}") from None
        except BaseException:
            db.close()
            raise
        self._db = db
        s = f'"{schema}"'
        self._t = f"{s}.interactions"
        self._f = f"{s}.feedback"
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
            raise StoreError(f"cannot read {self.where}: {_one_line(exc)}") from None
        return bool(standby)

    # -- plumbing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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

    def _conds(self, q: Query, *, materialize: bool = True) -> _Conds:
        c = _Conds()
        if q.since is not None:
            c.add("i.ts >= %s", q.since)
        if q.until is not None:
            c.add("i.ts < %s", q.until)
        _any(c, "i.model", q.models)
        _any(c, "i.provider", q.providers)
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
            num = _number(value)
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

    def _materialize(self, c: _Conds) -> None:
        """Resolve a phrase check into the list of matching ids, usable in SQL."""
        tq = c.post
        assert tq is not None
        with self._read():
            ids = [
                r[0]
                for r in self._stream(
                    f"SELECT i.id, {_TEXT_COLS} FROM {self._t} i{c.sql()}", c.params
                )
                if tq.matches(_record_text(r[1:]))
            ]
        c.where = ["i.id = ANY(%s)"]
        c.params = [ids]
        c.post = None

    def _records(self, ids: Sequence[int]) -> dict[int, LLMRecord]:
        """Return the records of these row ids (those that still exist)."""
        if not ids:
            return {}
        return {
            r[0]: _ordered(r[1])
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
                (r[0], r[1], _ordered(r[2]))
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
                f"SELECT i.id, i.ts, {_TEXT_COLS} FROM {self._t} i{c.sql()}{ordering}", c.params
            ):
                if tq.matches(_record_text(r[2:])):
                    keep.append((r[0], r[1]))
                    if len(keep) >= limit:
                        break
            records = self._records([k[0] for k in keep])
        return [(rid, ts, records[rid]) for rid, ts in keep if rid in records]

    @_guard
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

    @_guard_iter
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
                    _record_text(
                        [
                            rec.get("prompt_messages"),
                            rec.get("parsed_output"),
                            rec.get("tool_calls"),
                            rec.get("error"),
                        ]
                    )
                ):
                    yield rec

    @_guard
    def count(self, query: Query | None = None) -> int:
        """Return how many interactions match."""
        with self._read() as db:
            c = self._conds(query or Query())
            row = db.execute(f"SELECT count(*) FROM {self._t} i{c.sql()}", c.params).fetchone()
        return int(row[0]) if row else 0

    @_guard
    def get(self, request_id: str) -> LLMRecord:
        """Return the record with this request id, or the only one starting with it."""
        rid = request_id.strip()
        if not rid:
            raise InteractionNotFoundError("no request id given")
        db = self._db
        row = db.execute(f"SELECT record FROM {self._t} WHERE request_id = %s", (rid,)).fetchone()
        if row is not None:
            return _ordered(row[0])
        pattern = rid.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = db.execute(
            f"SELECT request_id, record FROM {self._t} WHERE request_id LIKE %s"
            " ORDER BY request_id LIMIT 3",
            (pattern,),
        ).fetchall()
        if not rows:
            raise InteractionNotFoundError(f"no interaction with request id {rid!r}")
        if len(rows) > 1:
            listed = ", ".join(r[0] for r in rows[:2]) + (", ..." if len(rows) > 2 else "")
            raise AmbiguousIdError(
                f"request id prefix {rid!r} matches several interactions "
                f"({listed}): give more of the id"
            )
        return _ordered(rows[0][1])

    @_guard
    def feedback(self, request_id: str) -> list[Feedback]:
        """Return the feedback records for a request id, oldest first."""
        return [
            _ordered_feedback(r[0])
            for r in self._db.execute(
                f"SELECT record FROM {self._f} WHERE request_id = %s ORDER BY ts, id", (request_id,)
            )
        ]

    @_guard
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

    @_guard
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
            return [_ordered(r[0]) for r in reversed(rows)]
        tq = c.post
        keep: list[int] = []
        for r in self._stream(
            f"SELECT i.id, {_TEXT_COLS} FROM {self._t} i{c.sql()} ORDER BY i.id DESC", c.params
        ):
            if tq.matches(_record_text(r[1:])):
                keep.append(r[0])
                if len(keep) >= limit:
                    break
        records = self._records(keep)
        return [records[i] for i in reversed(keep) if i in records]

    def _matching(
        self, c: _Conds, extra: str, params: Sequence[Any], limit: int | None = None
    ) -> list[tuple[int, LLMRecord]]:
        """Return (id, record) of the rows matching ``c`` and ``extra``, by id."""
        c = c.copy()
        c.add(extra, *params)
        tail = "" if limit is None else " LIMIT %s"
        args = [*c.params] + ([] if limit is None else [limit])
        rows = [
            (r[0], _ordered(r[1]))
            for r in self._db.execute(
                f"SELECT i.id, i.record FROM {self._t} i{c.sql()} ORDER BY i.id{tail}", args
            )
        ]
        return rows

    @_guard
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
                            _record_text(
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

    @_guard
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

    @_guard
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

    @_guard
    def prune(self, before: float, *, progress: Progress | None = None) -> PruneResult:
        """Delete interactions older than ``before`` with their feedback.

        Works in transactions of a few thousand interactions, so writers on
        other machines go on meanwhile and an interrupted prune leaves a
        consistent store. ``tags`` counts the (interaction, tag) pairs deleted;
        the full-text entries go with their rows.
        """
        db = self._db
        n_rows = n_tags = n_feedback = 0
        while True:
            with db.transaction():
                rows = db.execute(
                    f"DELETE FROM {self._t} i WHERE i.id IN (SELECT id FROM {self._t}"
                    " WHERE ts < %s ORDER BY ts LIMIT %s FOR UPDATE SKIP LOCKED)"
                    " RETURNING i.request_id, (SELECT count(DISTINCT t) FROM unnest(i.tags) t)",
                    (before, _PRUNE_CHUNK),
                ).fetchall()
                if rows:
                    cur = db.execute(
                        f"DELETE FROM {self._f} WHERE request_id = ANY(%s)", ([r[0] for r in rows],)
                    )
                    n_feedback += max(0, cur.rowcount)
            if not rows:
                break
            n_rows += len(rows)
            n_tags += sum(int(r[1]) for r in rows)
            if progress is not None:
                progress(len(rows))
        return PruneResult(interactions=n_rows, tags=n_tags, feedback=n_feedback)

    @_guard
    def compact(self) -> None:
        """Run ``VACUUM (ANALYZE)`` on the store's tables.

        This makes the space of deleted rows reusable and refreshes the
        planner's statistics; it does not shrink the files (only ``VACUUM
        FULL`` does, and it locks out every writer of the shared store while it
        copies the table, so llmlog leaves that to the database's owner).
        """
        self._db.execute(f"VACUUM (ANALYZE) {self._t}, {self._f}")

    @_guard
    def rewrite(
        self,
        transform: RecordTransform,
        *,
        batch_size: int = 200,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> RewriteResult:
        """Pass every record through ``transform`` and store what it changes (see :class:`Store`).

        Batches of ``batch_size`` rows are read and transformed outside any
        transaction; then, in one short transaction, the changed rows are
        locked and read again (a row deleted meanwhile is skipped, one changed
        meanwhile is transformed again) and get their new record with the
        columns derived from it: session and user ids, error type, tags and the
        full-text ``tsvector``. Feedback records (record and comment) follow.

        ``purged`` is False as soon as a record changed: PostgreSQL keeps old
        row versions in the table files until ``VACUUM`` reuses their space, and
        in its write-ahead log, replicas and backups, none of which a client can
        scrub. (True when nothing changed: there is no old version.)
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        db = self._db
        totals = {"interactions": 0, "changed": 0, "feedback": 0, "feedback_changed": 0}
        counts: dict[str, int] = {}
        for table, key in ((self._t, "interactions"), (self._f, "feedback")):
            change = _Rewrite(
                transform,
                _ordered if key == "interactions" else _ordered_feedback,
                "changed" if key == "interactions" else "feedback_changed",
                totals,
                counts,
            )
            last = 0
            while True:
                rows = db.execute(
                    f"SELECT id, record::text FROM {table} WHERE id > %s ORDER BY id LIMIT %s",
                    (last, batch_size),
                ).fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                totals[key] += len(rows)
                planned = {r[0]: (r[1], p) for r in rows if (p := change.plan(r[1])) is not None}
                if dry_run:
                    for _, (old, new) in planned.values():
                        change.count(old, new)
                elif planned:
                    self._rewrite_batch(table, planned, change)
                if progress is not None and key == "interactions":
                    progress(len(rows))
        return RewriteResult(
            interactions=totals["interactions"],
            changed=totals["changed"],
            feedback=totals["feedback"],
            feedback_changed=totals["feedback_changed"],
            counts=dict(sorted(counts.items())),
            purged=not dry_run and not totals["changed"] and not totals["feedback_changed"],
        )

    def _rewrite_batch(
        self, table: str, planned: dict[int, tuple[str, _Change]], change: _Rewrite
    ) -> None:
        """Store one batch of changed records in one transaction (see :meth:`rewrite`)."""
        db = self._db
        interactions = table == self._t
        with db.transaction():
            current: dict[int, str] = dict(
                db.execute(
                    f"SELECT id, record::text FROM {table} WHERE id = ANY(%s) FOR UPDATE",
                    (list(planned),),
                ).fetchall()
            )
            updates: list[tuple[Any, ...]] = []
            for rowid, (text, planned_change) in planned.items():
                now = current.get(rowid)
                if now is None:
                    continue  # deleted meanwhile
                if now != text:  # changed meanwhile: transform what is there now
                    again = change.plan(now)
                    if again is None:
                        continue
                    planned_change = again
                old, new = planned_change
                if interactions:
                    err = new.get("error")
                    updates.append(
                        (
                            _json_text(new),
                            _clean(new.get("session_id")),
                            _clean(new.get("user_id")),
                            _clean(err.get("type")) if isinstance(err, dict) else None,
                            _tags(new),
                            _clean(
                                search_text(
                                    new.get("prompt_messages"),
                                    new.get("parsed_output"),
                                    new.get("tool_calls"),
                                    err,
                                )
                            ),
                            rowid,
                        )
                    )
                else:
                    comment = new.get("comment")
                    updates.append(
                        (
                            _json_text(new),
                            _clean(comment) if isinstance(comment, str) else None,
                            rowid,
                        )
                    )
                change.count(old, new)
            if not updates:
                return
            with db.cursor() as cur:
                if interactions:
                    cur.executemany(
                        f"UPDATE {table} SET record = %s::jsonb, session_id = %s,"
                        " user_id = %s, error_type = %s, tags = %s::text[],"
                        " search = to_tsvector('simple', %s) WHERE id = %s",
                        updates,
                    )
                else:
                    cur.executemany(
                        f"UPDATE {table} SET record = %s::jsonb, comment = %s WHERE id = %s",
                        updates,
                    )

    @_guard
    def verify(self, *, repair: bool = False, progress: Progress | None = None) -> VerifyReport:
        """Check the server, migrations, indexes, records and tags; optionally repair.

        What can go wrong in a PostgreSQL store is not what goes wrong in a file:
        the server keeps pages and indexes consistent, so the checks are about
        llmlog's own invariants: every migration applied, no index left invalid
        (by an interrupted ``CREATE INDEX CONCURRENTLY``), every row indexed for
        full text, each record agreeing with its columns and tags. ``repair``
        reindexes invalid indexes, indexes unindexed rows from their records and
        rewrites tags from the records. ``progress`` gets the rows checked.
        """
        db = self._db
        checks: list[Check] = []
        version = db.execute("SELECT current_setting('server_version')").fetchone()
        checks.append(
            Check(
                "server",
                True,
                f"PostgreSQL {version[0] if version else '?'}, "
                f"{self.where}" + (" (standby, read-only)" if self._standby else ""),
            )
        )
        applied = {r[0] for r in db.execute(f'SELECT name FROM "{self.schema}"._llmlog_migrations')}
        missing = [m.__name__ for m in MIGRATIONS if m.__name__ not in applied]
        checks.append(
            Check(
                "migrations",
                not missing,
                f"not applied: {', '.join(missing)}" if missing else f"{len(applied)} applied",
            )
        )

        invalid = [
            r[0]
            for r in db.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = ANY(ARRAY["
                "%s::regclass, %s::regclass]) AND NOT (indisvalid AND indisready)",
                (self._t, self._f),
            )
        ]
        fixed = False
        if invalid and repair:
            for name in invalid:
                db.execute(f"REINDEX INDEX {name}")
            fixed = True
        checks.append(
            Check(
                "indexes",
                not invalid,
                f"invalid: {', '.join(invalid)}" if invalid else "all valid",
                repaired=fixed,
            )
        )

        unindexed = [
            r[0] for r in db.execute(f"SELECT id FROM {self._t} WHERE search IS NULL ORDER BY id")
        ]
        fixed = False
        if unindexed and repair:
            for n in range(0, len(unindexed), 1000):
                chunk = self._records(unindexed[n : n + 1000])
                with db.transaction(), db.cursor() as cur:
                    cur.executemany(
                        f"UPDATE {self._t} SET search = to_tsvector('simple', %s) WHERE id = %s",
                        [
                            (
                                _clean(
                                    search_text(
                                        r.get("prompt_messages"),
                                        r.get("parsed_output"),
                                        r.get("tool_calls"),
                                        r.get("error"),
                                    )
                                ),
                                i,
                            )
                            for i, r in chunk.items()
                        ],
                    )
            fixed = True
        checks.append(
            Check(
                "full-text index",
                not unindexed,
                f"{len(unindexed)} interaction(s) without a search vector"
                if unindexed
                else "every interaction indexed",
                repaired=fixed,
            )
        )

        record_tags = (
            "CASE WHEN jsonb_typeof(i.record -> 'tags') = 'array' THEN ARRAY(SELECT"
            " jsonb_array_elements_text(i.record -> 'tags')) ELSE '{}' END"
        )
        bad_record = (
            "CASE WHEN jsonb_typeof(i.record) <> 'object' THEN 'not a JSON object'"
            " WHEN i.record ->> 'request_id' IS DISTINCT FROM i.request_id"
            "  THEN 'request_id differs from its column'"
            " WHEN CASE WHEN jsonb_typeof(i.record -> 'timestamp') = 'number'"
            "  THEN (i.record ->> 'timestamp')::float8 <> i.ts ELSE true END"
            "  THEN 'timestamp differs from its column'"
            " WHEN coalesce(i.record ->> 'event', 'llm_interaction') <> 'llm_interaction'"
            "  THEN 'event is ' || (i.record ->> 'event') END"
        )
        bad: list[str] = []
        n_bad = checked = 0
        mistagged: list[int] = []
        bounds = db.execute(
            f"SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM {self._t}"
        ).fetchone()
        lo_id, hi_id = bounds if bounds else (0, 0)
        for start in range(lo_id, hi_id + 1, _VERIFY_CHUNK):
            end = start + _VERIFY_CHUNK
            row = db.execute(
                f"SELECT count(*) FROM {self._t} WHERE id >= %s AND id < %s", (start, end)
            ).fetchone()
            n = int(row[0]) if row else 0
            for rowid, rid, why in db.execute(
                f"SELECT i.id, i.request_id, {bad_record} FROM {self._t} i"
                f" WHERE i.id >= %s AND i.id < %s AND ({bad_record}) IS NOT NULL"
                " ORDER BY i.id",
                (start, end),
            ):
                n_bad += 1
                if len(bad) < 5:
                    bad.append(f"row {rowid} ({rid}): {why}")
            mistagged += [
                r[0]
                for r in db.execute(
                    f"SELECT i.id FROM {self._t} i WHERE i.id >= %s AND i.id < %s"
                    f" AND jsonb_typeof(i.record) = 'object' AND i.tags IS DISTINCT FROM"
                    f" {record_tags}",
                    (start, end),
                )
            ]
            checked += n
            if progress is not None and n:
                progress(n)
        checks.append(
            Check(
                "records parse",
                not n_bad,
                f"{n_bad} bad record(s): " + "; ".join(bad) if n_bad else f"{checked:,} records",
            )
        )
        fixed = False
        if mistagged and repair:
            with db.transaction():
                db.execute(
                    f"UPDATE {self._t} i SET tags = {record_tags} WHERE i.id = ANY(%s)",
                    (mistagged,),
                )
            fixed = True
        counts: dict[str, int] = {}
        for name, sql in (
            ("interactions", f"SELECT count(*) FROM {self._t}"),
            ("tags", f"SELECT coalesce(sum(cardinality(tags)), 0) FROM {self._t}"),
            ("feedback", f"SELECT count(*) FROM {self._f}"),
            (
                "orphan_feedback",
                f"SELECT count(*) FROM {self._f} f WHERE NOT EXISTS"
                f" (SELECT 1 FROM {self._t} i"
                " WHERE i.request_id = f.request_id)",
            ),
        ):
            row = db.execute(sql).fetchone()
            counts[name] = int(row[0]) if row else 0
        checks.append(
            Check(
                "tags",
                not mistagged,
                f"{len(mistagged)} interaction(s) whose tags differ from the record"
                if mistagged
                else f"{counts['tags']:,} tags",
                repaired=fixed,
            )
        )
        return VerifyReport(checks, counts)
