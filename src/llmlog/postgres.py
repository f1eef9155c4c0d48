"""The PostgreSQL store: connection, schema and migrations (extra ``[postgres]``).

PostgreSQL is for many machines sharing one store. Everything llmlog owns lives
in one schema (``llmlog`` unless the URL says ``?schema=name``), so it sits
beside an application's own tables without touching them.

The schema mirrors the SQLite store: the full record (``JSONB``), the columns
every filter and aggregate needs, tags as a ``text[]`` and a ``tsvector`` over
the same text the SQLite full-text index holds (``normalize.search_text``),
both GIN-indexed, and a feedback table. Migrations follow the SQLite list's
names and rules (``m001_initial`` ...): applied once each, in a transaction,
serialised across processes by an advisory lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

try:
    import psycopg
    from psycopg import sql
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError("PostgreSQL support needs: pip install 'llmlog[postgres]'") from exc

__all__ = ["MIGRATIONS", "connect", "migrate", "split_url"]

DEFAULT_SCHEMA = "llmlog"

Migration = Callable[["psycopg.Connection[Any]", "sql.Identifier"], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next PostgreSQL migration (same names as SQLite's)."""
    MIGRATIONS.append(fn)
    return fn


def split_url(url: str) -> tuple[str, str]:
    """Return (connection URL for libpq, schema) from a store URL.

    Raises:
        ValueError: the schema name is not a plain identifier.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = DEFAULT_SCHEMA
    rest = []
    for key, value in query:
        if key == "schema":
            schema = value
        else:
            rest.append((key, value))
    if not schema.replace("_", "").isalnum() or schema[0].isdigit():
        raise ValueError(f"invalid schema name {schema!r} in store URL (letters, digits, _)")
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(rest), "")), schema


@migration
def m001_initial(db: psycopg.Connection[Any], s: sql.Identifier) -> None:
    db.execute(sql.SQL("""
        CREATE TABLE {s}.interactions (
            id BIGSERIAL PRIMARY KEY,
            request_id TEXT NOT NULL UNIQUE,
            ts DOUBLE PRECISION NOT NULL,
            provider TEXT,
            operation TEXT,
            model TEXT,
            response_model TEXT,
            status TEXT NOT NULL,
            duration_ms DOUBLE PRECISION,
            ttft_ms DOUBLE PRECISION,
            input_tokens BIGINT,
            output_tokens BIGINT,
            total_tokens BIGINT,
            cached_input_tokens BIGINT,
            reasoning_tokens BIGINT,
            tokens_estimated BOOLEAN NOT NULL DEFAULT false,
            cost_usd DOUBLE PRECISION,
            session_id TEXT,
            user_id TEXT,
            trace_id TEXT,
            error_type TEXT,
            tags TEXT[] NOT NULL DEFAULT '{{}}',
            search TSVECTOR,
            record JSONB NOT NULL
        )""").format(s=s))
    for name, cols in [("ts", "ts"), ("model_ts", "model, ts"), ("status_ts", "status, ts")]:
        db.execute(sql.SQL("CREATE INDEX {i} ON {s}.interactions ({c})").format(
            i=sql.Identifier(f"ix_interactions_{name}"), s=s, c=sql.SQL(cols)))
    for col in ("session_id", "user_id"):
        db.execute(sql.SQL("CREATE INDEX {i} ON {s}.interactions ({c}, ts) "
                           "WHERE {c} IS NOT NULL").format(
            i=sql.Identifier(f"ix_interactions_{col}"), s=s, c=sql.Identifier(col)))
    db.execute(sql.SQL("CREATE INDEX ix_interactions_search ON {s}.interactions "
                       "USING GIN (search)").format(s=s))
    db.execute(sql.SQL("CREATE INDEX ix_interactions_tags ON {s}.interactions "
                       "USING GIN (tags)").format(s=s))
    db.execute(sql.SQL("""
        CREATE TABLE {s}.feedback (
            id BIGSERIAL PRIMARY KEY,
            request_id TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            comment TEXT,
            ts DOUBLE PRECISION NOT NULL,
            record JSONB NOT NULL
        )""").format(s=s))
    db.execute(sql.SQL("CREATE INDEX ix_feedback_request ON {s}.feedback (request_id, ts)")
               .format(s=s))


def migrate(db: psycopg.Connection[Any], schema: str) -> list[str]:
    """Create the schema if needed and apply pending migrations; return those applied."""
    s = sql.Identifier(schema)
    done: list[str] = []
    with db.transaction():
        # one migrator at a time across every process and machine sharing the store
        db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"llmlog:{schema}",))
        db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {s}").format(s=s))
        db.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {s}._llmlog_migrations "
                           "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
                   .format(s=s))
        applied = {r[0] for r in db.execute(
            sql.SQL("SELECT name FROM {s}._llmlog_migrations").format(s=s))}
        for fn in MIGRATIONS:
            if fn.__name__ not in applied:
                fn(db, s)
                db.execute(sql.SQL("INSERT INTO {s}._llmlog_migrations (name, applied_at) "
                                   "VALUES (%s, %s)").format(s=s), (fn.__name__, time.time()))
                done.append(fn.__name__)
    return done


def connect(url: str) -> tuple[psycopg.Connection[Any], str]:
    """Open the store at ``url``, migrated; return the connection and the schema name.

    Raises:
        psycopg.OperationalError: the server cannot be reached.
        ValueError: a malformed URL.
    """
    conninfo, schema = split_url(url)
    db = psycopg.connect(conninfo, connect_timeout=10, application_name="llmlog")
    try:
        migrate(db, schema)
    except BaseException:
        db.close()
        raise
    return db, schema
