"""The PostgreSQL store: connection, schema and migrations (extra ``[postgres]``).

PostgreSQL is for many machines sharing one store. Everything llmlog owns lives
in one schema (``llmlog`` unless the URL says ``?schema=name``), so it sits
beside an application's own tables without touching them.

The schema mirrors the SQLite store: the full record (``JSONB``), the columns
every filter and aggregate needs, tags as a ``text[]`` and a ``tsvector`` over
the same text the SQLite full-text index holds (``extract.search_text``),
both GIN-indexed (the ``tsvector`` through ``search_words``, which splits its
lexemes into words as SQLite does, since ``m002_reader_indexes``), and a
feedback table. Migrations follow the SQLite list's names and rules
(``m001_initial`` ...): applied once each, in a transaction, serialised across
processes by an advisory lock.
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
    db.execute(
        sql.SQL("""
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
        )""").format(s=s)
    )
    for name, cols in [("ts", "ts"), ("model_ts", "model, ts"), ("status_ts", "status, ts")]:
        db.execute(
            sql.SQL("CREATE INDEX {i} ON {s}.interactions ({c})").format(
                i=sql.Identifier(f"ix_interactions_{name}"), s=s, c=sql.SQL(cols)
            )
        )
    for col in ("session_id", "user_id"):
        db.execute(
            sql.SQL("CREATE INDEX {i} ON {s}.interactions ({c}, ts) WHERE {c} IS NOT NULL").format(
                i=sql.Identifier(f"ix_interactions_{col}"), s=s, c=sql.Identifier(col)
            )
        )
    db.execute(
        sql.SQL(
            "CREATE INDEX ix_interactions_search ON {s}.interactions USING GIN (search)"
        ).format(s=s)
    )
    db.execute(
        sql.SQL("CREATE INDEX ix_interactions_tags ON {s}.interactions USING GIN (tags)").format(
            s=s
        )
    )
    db.execute(
        sql.SQL("""
        CREATE TABLE {s}.feedback (
            id BIGSERIAL PRIMARY KEY,
            request_id TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            comment TEXT,
            ts DOUBLE PRECISION NOT NULL,
            record JSONB NOT NULL
        )""").format(s=s)
    )
    db.execute(
        sql.SQL("CREATE INDEX ix_feedback_request ON {s}.feedback (request_id, ts)").format(s=s)
    )


# The words of a tsvector as the reader searches them: every lexeme split into its runs of
# letters and digits, accents removed. PostgreSQL's parser keeps "bob@example.com",
# "acme.com", "v1.4.2" or "3.14" as single lexemes, where SQLite's index (and
# ``query._text``) holds "bob", "example", "com"...; this makes both stores find the same
# words. Most tsvectors hold plain ASCII words only: they are returned as they are (about
# 18 us for a typical interaction, against 150 us for the general path); COST says about
# that much to the planner.
_WORDS = r"""
DECLARE t text := array_to_string(tsvector_to_array(v), ' ');
BEGIN
    IF t !~ '[^a-z0-9 ]' THEN
        RETURN strip(v);
    END IF;
    {unaccent}
    RETURN array_to_tsvector(array_remove(regexp_split_to_array(t, '[^[:alnum:]]+'), ''));
END"""
_UNACCENT = r"""IF t ~ '[^\x01-\x7f]' THEN
        t := regexp_replace(normalize(t, NFKD), '[\u0300-\u036f]+', '', 'g');
    END IF;"""


# what aggregates and session lists read: an index-only scan of these is ~110 bytes per
# interaction instead of the whole row with its record
_FACTS = (
    "model",
    "provider",
    "status",
    "duration_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "session_id",
    "user_id",
)


@migration
def m002_reader_indexes(db: psycopg.Connection[Any], s: sql.Identifier) -> None:
    """Add what the query layer's reader (``llmlog.store.postgres.read``) needs.

    * ``search_words(tsvector)`` and a GIN index on it (replacing the index on
      the raw ``search`` column, which no reader uses): full text that splits
      words like SQLite's index does (see ``_WORDS``), with statistics on
      10,000 words so the planner knows a rare word when it sees one.
    * ``request_id text_pattern_ops``: ``show`` by an id prefix (``LIKE 'abc%'``)
      under any collation.
    * GIN on ``record->'metadata'``: ``--meta key=value`` (containment) and
      ``--meta key`` (key exists) without reading every record.
    * ``ts`` with the columns aggregates read (``_FACTS``) instead of ``ts``
      alone: ``stats`` and ``sessions`` scan the index, not the table.
    """
    utf8 = db.execute("SELECT current_setting('server_encoding') = 'UTF8'").fetchone()
    body = _WORDS.replace("{unaccent}", _UNACCENT if utf8 and utf8[0] else "")
    db.execute(
        sql.SQL(
            "CREATE FUNCTION {s}.search_words(v tsvector) RETURNS tsvector"
            " LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 500"
            " AS {body}"
        ).format(s=s, body=sql.Literal(body))
    )
    db.execute(sql.SQL("DROP INDEX {s}.ix_interactions_search").format(s=s))
    db.execute(
        sql.SQL(
            "CREATE INDEX ix_interactions_words ON {s}.interactions"
            " USING GIN ({s}.search_words(search))"
        ).format(s=s)
    )
    # 10,000 most common words in the statistics instead of 1,000: the planner then knows
    # that a word outside them is rare, and looks it up in the index rather than testing
    # every row of a time range for it
    db.execute(
        sql.SQL("ALTER INDEX {s}.ix_interactions_words ALTER COLUMN 1 SET STATISTICS 1000").format(
            s=s
        )
    )
    db.execute(
        sql.SQL(
            "CREATE INDEX ix_interactions_request_prefix ON {s}.interactions"
            " (request_id text_pattern_ops)"
        ).format(s=s)
    )
    db.execute(
        sql.SQL(
            "CREATE INDEX ix_interactions_metadata ON {s}.interactions"
            " USING GIN ((record -> 'metadata'))"
        ).format(s=s)
    )
    db.execute(sql.SQL("DROP INDEX {s}.ix_interactions_ts").format(s=s))
    db.execute(
        sql.SQL(
            "CREATE INDEX ix_interactions_ts_facts ON {s}.interactions (ts) INCLUDE ({cols})"
        ).format(s=s, cols=sql.SQL(", ").join(sql.Identifier(c) for c in _FACTS))
    )
    db.execute(sql.SQL("ANALYZE {s}.interactions").format(s=s))  # statistics for the new indexes


@migration
def m003_feedback_id(db: psycopg.Connection[Any], s: sql.Identifier) -> None:
    """Feedback rows get the id ``llmlog.feedback()`` gives each call: replays store it once."""
    db.execute(sql.SQL("ALTER TABLE {s}.feedback ADD COLUMN feedback_id text").format(s=s))
    db.execute(
        sql.SQL("CREATE UNIQUE INDEX ix_feedback_id ON {s}.feedback (feedback_id)").format(s=s)
    )


@migration
def m004_spans(db: psycopg.Connection[Any], s: sql.Identifier) -> None:
    """Spans (``llmlog.span()``): the steps of a run beside its model calls, by trace."""
    db.execute(
        sql.SQL("""
        CREATE TABLE {s}.spans (
            span_id TEXT PRIMARY KEY,
            trace_id TEXT NOT NULL,
            parent_span_id TEXT,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            ts DOUBLE PRECISION NOT NULL,
            duration_ms DOUBLE PRECISION,
            status TEXT NOT NULL,
            error_type TEXT,
            record JSONB NOT NULL
        )""").format(s=s)
    )
    db.execute(sql.SQL("CREATE INDEX ix_spans_trace ON {s}.spans (trace_id, ts)").format(s=s))
    db.execute(sql.SQL("CREATE INDEX ix_spans_ts ON {s}.spans (ts)").format(s=s))
    db.execute(
        sql.SQL(
            "CREATE INDEX ix_interactions_trace ON {s}.interactions (trace_id, ts)"
            " WHERE trace_id IS NOT NULL"
        ).format(s=s)
    )


def migrate(db: psycopg.Connection[Any], schema: str) -> list[str]:
    """Create the schema if needed and apply pending migrations; return those applied."""
    s = sql.Identifier(schema)
    done: list[str] = []
    with db.transaction():
        # one migrator at a time across every process and machine sharing the store
        db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"llmlog:{schema}",))
        db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {s}").format(s=s))
        db.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {s}._llmlog_migrations "
                "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
            ).format(s=s)
        )
        applied = {
            r[0] for r in db.execute(sql.SQL("SELECT name FROM {s}._llmlog_migrations").format(s=s))
        }
        for fn in MIGRATIONS:
            if fn.__name__ not in applied:
                fn(db, s)
                db.execute(
                    sql.SQL(
                        "INSERT INTO {s}._llmlog_migrations (name, applied_at) VALUES (%s, %s)"
                    ).format(s=s),
                    (fn.__name__, time.time()),
                )
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
