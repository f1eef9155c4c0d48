"""Which strings of a record get redacted, and how JSON inside strings stays JSON.

The walker visits every string *value* of a record, except the fields that only
llmlog itself writes (ids, timestamps, model names, usage, cost, app info):
message contents in both the string and the content-part-list shapes, tool
results, tool-call arguments, the provider's raw response, the parsed output,
params, metadata, tags, error messages, ``session_id``/``user_id`` and a feedback
``comment``. It rewrites containers in place (the writer owns the record, freshly
decoded from JSON) and never recurses on the Python stack, so a deeply nested
response cannot raise ``RecursionError``.

Dictionary **keys are never redacted**: they are structure chosen by the
program, not data, and rewriting them would break every reader of the record.
Put sensitive values in values.

A string that holds a JSON object or array (``tool_calls[].function.arguments``,
a structured output) is parsed, walked the same way and serialised again, only
if something in it changed, so it stays valid JSON with its keys intact. A string
that is, whole, base64 of binary data (an inline image, audio, a file) is skipped:
it cannot contain readable PII and scanning megabytes of it would only cost time.
The base64 body of a ``data:`` URL is skipped by the engine, which scans the text
around it. Anything else is scanned: when in doubt, redact.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["SKIP_FIELDS", "is_blob", "walk_record", "walk_value"]

SKIP_FIELDS = frozenset(
    [
        "event",
        "schema_version",
        "request_id",
        "trace_id",
        "span_id",
        "parent_span_id",
        "timestamp",
        "duration_ms",
        "ttft_ms",
        "provider",
        "operation",
        "model",
        "response_model",
        "usage",
        "cost_usd",
        "status",
        "finish_reasons",
        "app",
        "redaction",
        "score",
    ]
)
"""Top-level record fields that never hold user content and are never scanned."""

_B64_BLOB = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_BLOB_MIN = 1024  # a payload worth skipping; secrets and tokens are far shorter
_TEXT_BYTES = frozenset(b"\t\n\r") | frozenset(range(0x20, 0x7F))


def is_blob(s: str) -> bool:
    """Return whether ``s`` is, whole, a base64 payload of binary data (an image, audio).

    Only such a payload is skipped by redaction: at least 1 KB of the base64 alphabet
    and nothing else (no newline, no ``-`` or ``_``), decoding to bytes that are not
    text. Everything else is scanned: base64 that decodes to text (it may hold a key),
    keys and tokens joined by newlines or slashes, and ``data:`` URLs, whose base64
    body the engine skips while it scans the text around it. When in doubt, the
    string is scanned.

    Args:
        s: a string value of the record.
    """
    if len(s) < _BLOB_MIN or len(s) % 4:
        return False
    if _B64_BLOB.fullmatch(s, 0, 128) is None or _B64_BLOB.fullmatch(s) is None:
        return False
    try:
        head = base64.b64decode(s[:96], validate=True)
    except (binascii.Error, ValueError):
        return False
    # binary data (PNG, JPEG, WAV, PDF streams, ...) is far from printable text
    return sum(b not in _TEXT_BYTES for b in head) > len(head) // 8


def _looks_json(s: str) -> bool:
    first = s[:1]
    if first not in ("{", "["):
        s = s.strip()
        first = s[:1]
        if first not in ("{", "["):
            return False
    last = s.rstrip()[-1:]
    return (first == "{" and last == "}") or (first == "[" and last == "]")


class _State:
    __slots__ = ("changed",)

    def __init__(self) -> None:
        self.changed = False


def _string(s: str, fn: Callable[[str], str], state: _State) -> str:
    if is_blob(s):
        return s
    if _looks_json(s):
        try:
            inner = orjson.loads(s)
        except orjson.JSONDecodeError:
            inner = None
        if isinstance(inner, (dict, list)):
            inner_state = _State()
            inner = _walk(inner, fn, inner_state)
            if not inner_state.changed:
                return s
            state.changed = True
            return orjson.dumps(inner).decode("utf-8")
    new = fn(s)
    if new is not s and new != s:
        state.changed = True
        return new
    return s


def _walk(value: Any, fn: Callable[[str], str], state: _State) -> Any:
    """Redact every string inside ``value`` in place; return the (possibly new) value."""
    if isinstance(value, str):
        return _string(value, fn, state)
    if not isinstance(value, (dict, list)):
        return value
    stack: list[dict[str, Any] | list[Any]] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, str):
                    if v:
                        node[k] = _string(v, fn, state)
                elif isinstance(v, (dict, list)):
                    stack.append(v)
        else:
            for i, v in enumerate(node):
                if isinstance(v, str):
                    if v:
                        node[i] = _string(v, fn, state)
                elif isinstance(v, (dict, list)):
                    stack.append(v)
    return value


def walk_value(value: Any, fn: Callable[[str], str]) -> tuple[Any, bool]:
    """Redact every string value inside a JSON value with ``fn``.

    Args:
        value: a JSON value (dicts and lists are changed in place).
        fn: returns the redacted form of one string.

    Returns:
        The value (a new object only when ``value`` itself is a string) and whether
        anything changed.
    """
    state = _State()
    out = _walk(value, fn, state)
    return out, state.changed


def walk_record(rec: dict[str, Any], fn: Callable[[str], str]) -> bool:
    """Redact every content string of the record ``rec`` in place with ``fn``.

    Args:
        rec: an interaction or feedback record.
        fn: returns the redacted form of one string.

    Returns:
        Whether anything changed.
    """
    state = _State()
    for key, value in rec.items():
        if key in SKIP_FIELDS or value is None or isinstance(value, (int, float, bool)):
            continue
        new = _walk(value, fn, state)
        if new is not value:
            rec[key] = new
    return state.changed
