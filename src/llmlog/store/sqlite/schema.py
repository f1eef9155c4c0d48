"""Versioned schema migrations for the SQLite store.

Following simonw/llm: ``@migration`` appends a function to the ordered
:data:`MIGRATIONS` list; :func:`migrate` applies, in one ``BEGIN IMMEDIATE``
transaction, every function whose name is not yet in ``_llmlog_migrations`` and
records when it was applied. Several processes may open a new store at once:
the write lock serialises them and the second finds the work done. A migration
that has shipped is never edited; a change is a new migration.

The schema keeps the full record as JSON (``record``) plus the columns every
filter and aggregate needs, a tag table, a feedback table and a contentless
FTS5 index over the prompt and output text (the text lives once, in the record).
Indexes are few on purpose: each one is paid for on every write.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

__all__ = ["MIGRATIONS", "migrate", "migration"]

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration (its ``__name__`` is its identity)."""
    if any(m.__name__ == fn.__name__ for m in MIGRATIONS):
        raise ValueError(f"duplicate migration name {fn.__name__}")
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE interactions (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL UNIQUE,
            ts REAL NOT NULL,
            provider TEXT,
            operation TEXT,
            model TEXT,
            response_model TEXT,
            status TEXT NOT NULL,
            duration_ms REAL,
            ttft_ms REAL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            total_tokens INTEGER,
            cached_input_tokens INTEGER,
            reasoning_tokens INTEGER,
            tokens_estimated INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            session_id TEXT,
            user_id TEXT,
            trace_id TEXT,
            error_type TEXT,
            record TEXT NOT NULL
        )""")
    for name, cols in [("ts", "ts"), ("model_ts", "model, ts"), ("status_ts", "status, ts")]:
        db.execute(f"CREATE INDEX ix_interactions_{name} ON interactions({cols})")
    for col in ("session_id", "user_id"):
        db.execute(
            f"CREATE INDEX ix_interactions_{col} ON interactions({col}, ts) WHERE {col} IS NOT NULL"
        )
    db.execute("""
        CREATE TABLE interaction_tags (
            tag TEXT NOT NULL,
            interaction_id INTEGER NOT NULL,
            PRIMARY KEY (tag, interaction_id)
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL,
            score REAL NOT NULL,
            comment TEXT,
            ts REAL NOT NULL,
            record TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX ix_feedback_request ON feedback(request_id, ts)")
    db.execute("CREATE INDEX ix_feedback_score ON feedback(score, request_id)")
    # contentless (the text lives once, in the record) and detail=none (no positions):
    # half the write cost and almost no space; phrase queries are answered by
    # matching the words here, then checking the phrase in the matching records.
    db.execute(
        "CREATE VIRTUAL TABLE interactions_fts USING fts5("
        "text, content='', detail=none, tokenize='unicode61 remove_diacritics 2')"
    )


@migration
def m002_rollups(db: sqlite3.Connection) -> None:
    """Per-hour rollups and latency histograms for fast aggregates (see ``.rollup``)."""
    from llmlog.store.sqlite.rollup import rebuild

    key = (
        "tag TEXT NOT NULL, hour INTEGER NOT NULL, provider TEXT NOT NULL,"
        " model TEXT NOT NULL, status TEXT NOT NULL"
    )
    db.execute(f"""
        CREATE TABLE rollup_hourly (
            {key},
            n INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            duration_n INTEGER NOT NULL,
            duration_sum REAL NOT NULL,
            ttft_n INTEGER NOT NULL,
            ttft_sum REAL NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            total_tokens INTEGER NOT NULL,
            cost_n INTEGER NOT NULL,
            cost_usd REAL NOT NULL,
            PRIMARY KEY (tag, hour, provider, model, status)
        ) WITHOUT ROWID""")
    db.execute(f"""
        CREATE TABLE rollup_latency (
            {key},
            metric INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (tag, hour, provider, model, status, metric, bucket)
        ) WITHOUT ROWID""")
    rebuild(db)


@migration
def m003_daily_latency(db: sqlite3.Connection) -> None:
    """Latency histograms per UTC day, next to the hourly ones (see ``.rollup``)."""
    db.execute("""
        CREATE TABLE rollup_latency_daily (
            tag TEXT NOT NULL,
            day INTEGER NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            status TEXT NOT NULL,
            metric INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (tag, day, provider, model, status, metric, bucket)
        ) WITHOUT ROWID""")
    db.execute("""
        INSERT INTO rollup_latency_daily
        SELECT tag, hour / 24, provider, model, status, metric, bucket, sum(n)
        FROM rollup_latency GROUP BY tag, hour / 24, provider, model, status, metric, bucket""")


@migration
def m004_feedback_id(db: sqlite3.Connection) -> None:
    """Feedback rows get the id ``llmlog.feedback()`` gives each call: replays store it once.

    Rows from before have no id (NULL, which a UNIQUE index lets repeat).
    """
    db.execute("ALTER TABLE feedback ADD COLUMN feedback_id TEXT")
    db.execute("CREATE UNIQUE INDEX ix_feedback_id ON feedback (feedback_id)")


@migration
def m005_spans(db: sqlite3.Connection) -> None:
    """Spans (``llmlog.span()``): the steps of a run beside its model calls, by trace."""
    db.execute("""
        CREATE TABLE spans (
            span_id TEXT PRIMARY KEY,
            trace_id TEXT NOT NULL,
            parent_span_id TEXT,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            ts REAL NOT NULL,
            duration_ms REAL,
            status TEXT NOT NULL,
            error_type TEXT,
            record TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX ix_spans_trace ON spans (trace_id, ts)")
    db.execute("CREATE INDEX ix_spans_ts ON spans (ts)")
    db.execute(
        "CREATE INDEX ix_interactions_trace ON interactions (trace_id, ts)"
        " WHERE trace_id IS NOT NULL"
    )


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date).

    ``db`` must be in autocommit mode (``isolation_level=None``).
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS _llmlog_migrations "
        "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    applied = {r[0] for r in db.execute("SELECT name FROM _llmlog_migrations")}
    if all(m.__name__ in applied for m in MIGRATIONS):
        return []
    done: list[str] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        applied = {r[0] for r in db.execute("SELECT name FROM _llmlog_migrations")}
        for fn in MIGRATIONS:
            if fn.__name__ not in applied:
                fn(db)
                db.execute(
                    "INSERT INTO _llmlog_migrations (name, applied_at) VALUES (?, ?)",
                    (fn.__name__, time.time()),
                )
                done.append(fn.__name__)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return done
