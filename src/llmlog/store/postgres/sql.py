"""Small helpers shared by the PostgreSQL reader's modules: errors, record order, text."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

import orjson
import psycopg

from llmlog.extract import search_text
from llmlog.record import RECORD_FIELDS, Feedback, LLMRecord
from llmlog.store.common import Conds
from llmlog.store.model import (
    StoreError,
)

__all__ = [
    "FEEDBACK_FIELDS",
    "FIELD_RANK",
    "TEXT_COLS",
    "Conn",
    "any_of",
    "clean",
    "guard",
    "guard_iter",
    "json_text",
    "one_line",
    "ordered",
    "ordered_feedback",
    "tags_of",
    "text_of_columns",
    "where",
]

P = ParamSpec("P")
R = TypeVar("R")
Conn = psycopg.Connection[tuple[Any, ...]]

TEXT_COLS = (
    "i.record -> 'prompt_messages', i.record -> 'parsed_output',"
    " i.record -> 'tool_calls', i.record -> 'error'"
)
FIELD_RANK = {name: n for n, name in enumerate(RECORD_FIELDS)}
FEEDBACK_FIELDS = tuple(Feedback.__annotations__)


def where(url: str, schema: str) -> str:
    """Return ``host:port/database#schema`` for messages (never credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path or '/'}#{schema}"


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


def guard(fn: Callable[P, R]) -> Callable[P, R]:
    """Raise PostgreSQL errors from ``fn`` as StoreError, with a one-line message."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL error: {one_line(exc)}") from exc

    return wrapper


def guard_iter(fn: Callable[P, Iterator[R]]) -> Callable[P, Iterator[R]]:
    """Like :func:`guard`, for a generator function."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
        try:
            yield from fn(*args, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL error: {one_line(exc)}") from exc

    return wrapper


def ordered(rec: Any) -> LLMRecord:
    """Put a record's top-level fields back in the record's order (JSONB sorts keys)."""
    if not isinstance(rec, dict):
        return cast(LLMRecord, rec)
    out = {k: rec[k] for k in RECORD_FIELDS if k in rec}
    if len(out) != len(rec):
        out.update((k, v) for k, v in rec.items() if k not in FIELD_RANK)
    return cast(LLMRecord, out)


def ordered_feedback(rec: Any) -> Feedback:
    if not isinstance(rec, dict):
        return cast(Feedback, rec)
    out = {k: rec[k] for k in FEEDBACK_FIELDS if k in rec}
    out.update((k, v) for k, v in rec.items() if k not in out)
    return cast(Feedback, out)


def json_text(value: Any) -> str:
    """Serialise a record for a JSONB column (PostgreSQL refuses NUL characters)."""
    text = orjson.dumps(value).decode()
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def clean(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def text_of_columns(text_cols: Sequence[Any]) -> str:
    """Return the indexed text from (prompt_messages, parsed_output, tool_calls, error)."""
    return search_text(text_cols[0], text_cols[1], text_cols[2], text_cols[3])


def tags_of(rec: Mapping[str, Any]) -> list[str]:
    tags = rec.get("tags")
    return [clean(str(t)) for t in tags] if isinstance(tags, list) else []


def any_of(c: Conds, column: str, values: Sequence[str]) -> None:
    if len(values) == 1:  # '=' lets the planner walk a (column, ts) index in order
        c.add(f"{column} = %s", values[0])
    elif values:
        c.add(f"{column} = ANY(%s)", list(values))
