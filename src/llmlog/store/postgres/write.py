"""Write records to a PostgreSQL store shared by many machines (extra ``[postgres]``).

Each batch is one transaction: interactions with ``ON CONFLICT (request_id) DO
NOTHING`` (a replayed spool or a re-import never duplicates) and feedback rows,
sent with ``executemany`` (psycopg pipelines it: one round trip per batch, not
per row). PostgreSQL cannot hold NUL characters in text or JSON, so those are
replaced by U+FFFD rather than failing the batch forever.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg.errors
from psycopg import sql

from llmlog.encoding import Entry
from llmlog.store.common import COLUMNS, SPAN_COLUMNS, columns, span_row, text_of_entry
from llmlog.store.postgres.schema import connect, split_url

__all__ = ["PostgresSink"]

_JSON_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def _json_text(line: bytes) -> str:
    if b"\\u0000" in line:
        line = _JSON_NUL.sub(rb"\1\\ufffd", line)
    return line.decode("utf-8")


SEARCH_TEXT_MAX = 256 * 1024
"""Characters of an interaction's text that go into its tsvector (PostgreSQL refuses a
tsvector over 1 MB; the record itself keeps every character)."""


def _bounded(text: str) -> str:
    if len(text) <= SEARCH_TEXT_MAX:
        return text
    cut = text.rfind(" ", SEARCH_TEXT_MAX - 256, SEARCH_TEXT_MAX)
    return text[: cut if cut > 0 else SEARCH_TEXT_MAX]


def _text(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


class PostgresSink:
    """Write records to PostgreSQL (schema created and migrated on first write).

    Args:
        url: ``postgresql://user@host:port/db``, optionally ``?schema=name``.

    .. versionadded:: 0.1
    """

    data_errors = (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgramLimitExceeded)
    """Errors that mean a record cannot be stored (the pipeline sets it aside)."""

    def __init__(self, url: str) -> None:
        conninfo, schema = split_url(url)  # validates early: configure-time errors
        self.url = url
        parts = conninfo.split("@")[-1]
        self.name = f"postgres:{parts}#{schema}"
        self._db: Any = None
        self._schema = schema
        s = sql.Identifier(schema)
        self._insert = sql.SQL(
            "INSERT INTO {s}.interactions ({cols}, tags, search, record)"
            " VALUES ({values}, %s, to_tsvector('simple', %s), %s::jsonb)"
            " ON CONFLICT (request_id) DO NOTHING"
        ).format(
            s=s,
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS),
            values=sql.SQL(", ").join(sql.Placeholder() for _ in COLUMNS),
        )
        self._feedback = sql.SQL(
            "INSERT INTO {s}.feedback (feedback_id, request_id, score, comment, ts, record)"
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT (feedback_id) DO NOTHING"
        ).format(s=s)
        self._span = sql.SQL(
            "INSERT INTO {s}.spans ({cols}, record) VALUES ({values}, %s::jsonb)"
            " ON CONFLICT (span_id) DO NOTHING"
        ).format(
            s=s,
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in SPAN_COLUMNS),
            values=sql.SQL(", ").join(sql.Placeholder() for _ in SPAN_COLUMNS),
        )

    def _conn(self) -> Any:
        if self._db is None or self._db.closed:
            self._db, _ = connect(self.url)
        return self._db

    def write(self, batch: Sequence[Entry]) -> None:
        rows = []
        feedback = []
        spans = []
        for e in batch:
            get = e.get
            if get("event") == "llm_span":
                spans.append((*[_text(v) for v in span_row(e)], _json_text(e.line)))
                continue
            if get("event") == "llm_feedback":
                feedback.append(
                    (
                        _text(get("feedback_id")),
                        _text(get("request_id")),
                        get("score"),
                        _text(get("comment")),
                        get("timestamp"),
                        _json_text(e.line),
                    )
                )
                continue
            rows.append(
                (
                    *[_text(v) for v in columns(e)],
                    [_text(str(t)) for t in get("tags") or ()],
                    _text(_bounded(text_of_entry(e))),
                    _json_text(e.line),
                )
            )
        db = self._conn()
        try:
            with db.transaction(), db.cursor() as cur:
                if rows:
                    cur.executemany(self._insert, rows)
                if feedback:
                    cur.executemany(self._feedback, feedback)
                if spans:
                    cur.executemany(self._span, spans)
        except Exception:
            if db.broken:
                self._db = None  # reconnect on the next batch
            raise

    def flush(self, timeout: float | None = None) -> None:
        return None  # every batch is committed before write() returns

    def close(self, timeout: float | None = None) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None
