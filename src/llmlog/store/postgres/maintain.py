"""Maintenance of the PostgreSQL store: prune, rewrite (retroactive redaction), verify, compact.

Mixed into :class:`~llmlog.store.postgres.read.PostgresStore`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import orjson

from llmlog.extract import search_text
from llmlog.record import LLMRecord
from llmlog.store.base import Progress, RecordTransform
from llmlog.store.common import Conds, add_grown, redaction_counts
from llmlog.store.model import (
    Check,
    PruneResult,
    Query,
    RewriteResult,
    VerifyReport,
)
from llmlog.store.postgres.schema import MIGRATIONS
from llmlog.store.postgres.sql import (
    Conn,
    clean,
    guard,
    json_text,
    ordered,
    ordered_feedback,
    tags_of,
)

__all__ = ["PostgresMaintenance"]

_PRUNE_CHUNK = 5000
_VERIFY_CHUNK = 50_000


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
        add_grown(self.counts, redaction_counts(old), redaction_counts(new))


class PostgresMaintenance:
    """``prune``, ``rewrite``, ``verify`` and ``compact`` for the PostgreSQL store."""

    if TYPE_CHECKING:
        _db: Conn
        url: str
        schema: str
        where: str
        _t: str
        _f: str
        _standby: bool

        def _records(self, ids: Sequence[int]) -> dict[int, LLMRecord]: ...

        def _read(self) -> AbstractContextManager[Conn]: ...

        def _conds(self, q: Query, *, materialize: bool = True) -> Conds: ...

        def _materialize(self, c: Conds) -> None: ...

    @guard
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

    @guard
    def compact(self) -> None:
        """Run ``VACUUM (ANALYZE)`` on the store's tables.

        This makes the space of deleted rows reusable and refreshes the
        planner's statistics; it does not shrink the files (only ``VACUUM
        FULL`` does, and it locks out every writer of the shared store while it
        copies the table, so llmlog leaves that to the database's owner).
        """
        self._db.execute(f"VACUUM (ANALYZE) {self._t}, {self._f}")

    @guard
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
                ordered if key == "interactions" else ordered_feedback,
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
                            json_text(new),
                            clean(new.get("session_id")),
                            clean(new.get("user_id")),
                            clean(err.get("type")) if isinstance(err, dict) else None,
                            tags_of(new),
                            clean(
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
                            json_text(new),
                            clean(comment) if isinstance(comment, str) else None,
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

    @guard
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
                                clean(
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
