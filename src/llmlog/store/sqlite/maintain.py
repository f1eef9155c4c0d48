"""Maintenance of the SQLite store: prune, rewrite (retroactive redaction), verify, compact.

Mixed into :class:`~llmlog.store.sqlite.read.SQLiteStore`.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from llmlog.store.base import Progress, RecordTransform
from llmlog.store.common import Conds, add_grown, redaction_counts
from llmlog.store.model import (
    Check,
    PruneResult,
    Query,
    RewriteResult,
    VerifyReport,
)
from llmlog.store.sqlite.rollup import FACT_COLUMNS, apply, rebuild
from llmlog.store.sqlite.schema import MIGRATIONS
from llmlog.store.sqlite.sql import in_list
from llmlog.store.sqlite.write import BUSY_TIMEOUT_MS
from llmlog.store.text import record_text

__all__ = ["CHECKPOINT_WAIT_MS", "SQLiteMaintenance"]

_PRUNE_CHUNK = 2000
CHECKPOINT_WAIT_MS = 2_000
"""How long :meth:`SQLiteStore.rewrite` waits for readers to let it truncate the WAL."""


class SQLiteMaintenance:
    """``prune``, ``rewrite``, ``verify`` and ``compact`` for the SQLite store."""

    if TYPE_CHECKING:
        _db: sqlite3.Connection
        path: Path

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _conds(self, q: Query, *, materialize: bool = True) -> Conds: ...

        def _materialize(self, c: Conds) -> None: ...

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
                    f"DELETE FROM feedback WHERE request_id IN {in_list(rids)}", rids
                ).rowcount
                db.execute(f"DELETE FROM interactions WHERE id IN {in_list(ids)}", ids)
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


class _Change:
    """One record the transform changed: what its old form needs undone, and its new form."""

    __slots__ = ("new", "new_data", "old_counts", "old_data", "old_tags", "old_text", "rowid")

    def __init__(self, rowid: int, old_data: str, new: dict[str, Any], new_data: str) -> None:
        old = orjson.loads(old_data)  # the transform may have changed the dict it was given
        self.rowid = rowid
        self.old_data = old_data
        self.old_text = record_text(old)
        self.old_tags = _tags(old)
        self.old_counts = redaction_counts(old)
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
        add_grown(self.counts, c.old_counts, redaction_counts(c.new))


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
