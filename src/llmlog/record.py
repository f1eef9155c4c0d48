"""The record: one JSON object per LLM interaction.

The record is plain JSON data from the moment the background writer builds it
until it is written: a ``dict`` typed by :class:`LLMRecord`. We measured a
frozen dataclass here first; building one and converting it back to a dict for
every sink cost about as much GIL time per interaction as the whole rest of the
writer, so the record stays a dict and the types live in ``TypedDict``s.

Field names keep those of the classic logging snippet (``event``,
``request_id``, ``model``, ``prompt_messages``, ``llm_raw_response``,
``parsed_output``, ``timestamp``) so existing ``jq`` queries keep working; the
rest follow the OpenTelemetry GenAI semantic conventions.

A record travels the pipeline like this::

    caller's thread                         writer thread
    ---------------                         -------------
    log_interaction(...) -> fields          normalize.finish_record(...)
      snapshot with orjson (µs)    ----->   processors (redaction, ...)
      (encoding.encode_fields)              encode once, hand to every sink
"""

from __future__ import annotations

import itertools
import os
import socket
from random import getrandbits
from time import time_ns
from typing import Literal, TypedDict, Union

__all__ = [
    "FEEDBACK_EVENT",
    "INTERACTION_EVENT",
    "RECORD_FIELDS",
    "SCHEMA_VERSION",
    "SPAN_EVENT",
    "AppInfo",
    "ErrorInfo",
    "Feedback",
    "JSONValue",
    "LLMRecord",
    "Usage",
    "new_request_id",
    "new_span_id",
    "new_trace_id",
]

JSONValue = Union[None, bool, int, float, str, list["JSONValue"], dict[str, "JSONValue"]]
"""Any value that JSON can hold."""

SCHEMA_VERSION = 1
INTERACTION_EVENT = "llm_interaction"
FEEDBACK_EVENT = "llm_feedback"
SPAN_EVENT = "llm_span"
"""A step of a run that is not a model call (a tool, a retrieval, an agent step)."""


class Usage(TypedDict, total=False):
    """Token counts; ``total_tokens`` is always ``input_tokens + output_tokens``."""

    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cached_input_tokens: int | None
    reasoning_tokens: int | None
    estimated: bool


class ErrorInfo(TypedDict):
    """What went wrong in a call that failed."""

    type: str
    message: str
    status_code: int | None


class AppInfo(TypedDict, total=False):
    """Where the record was produced."""

    service: str | None
    environment: str | None
    version: str | None
    host: str
    pid: int


class LLMRecord(TypedDict, total=False):
    """One interaction, exactly as it is written to every sink (see CONTRACT.md)."""

    event: Literal["llm_interaction"]
    schema_version: int
    request_id: str
    trace_id: str | None
    span_id: str | None
    parent_span_id: str | None
    timestamp: float
    duration_ms: float | None
    ttft_ms: float | None
    provider: str | None
    operation: str
    model: str | None
    response_model: str | None
    params: dict[str, JSONValue]
    prompt_messages: list[JSONValue]
    llm_raw_response: JSONValue
    parsed_output: JSONValue
    tool_calls: list[JSONValue]
    finish_reasons: list[str]
    usage: Usage
    cost_usd: float | None
    status: Literal["ok", "error"]
    error: ErrorInfo | None
    session_id: str | None
    user_id: str | None
    tags: list[str]
    metadata: dict[str, JSONValue]
    app: AppInfo
    redaction: dict[str, JSONValue]


class Feedback(TypedDict, total=False):
    """A score attached to a logged interaction by ``llmlog.feedback()``."""

    event: Literal["llm_feedback"]
    schema_version: int
    request_id: str
    score: float
    comment: str | None
    timestamp: float
    redaction: dict[str, JSONValue]


RECORD_FIELDS: tuple[str, ...] = tuple(LLMRecord.__annotations__)
"""Every field of :class:`LLMRecord`, in the order records are written."""


# -- ids -----------------------------------------------------------------------------------------

_counter = itertools.count(int.from_bytes(os.urandom(2), "big"))
_VERSION_VARIANT = (0x7 << 76) | (0b10 << 62)


def new_request_id() -> str:
    """Return a new UUIDv7 (RFC 9562): time-ordered, unique across processes.

    48 bits of Unix milliseconds, then a 12-bit counter (``rand_a``, method 1
    of the RFC: ids of one process made within one millisecond sort in the
    order they were made, until it wraps every 4096 ids) and 62 random bits
    from ``random.getrandbits`` (fast; the stdlib reseeds it in a forked child,
    so parent and child never share a sequence; request ids are not secrets).
    Lock-free: ``next()`` on ``itertools.count`` is atomic under the GIL.
    """
    n = (
        ((time_ns() // 1_000_000) << 80)
        | ((next(_counter) & 0xFFF) << 64)
        | getrandbits(62)
        | _VERSION_VARIANT
    )
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_trace_id() -> str:
    """Return a random W3C trace id (32 lowercase hex digits, never all zero)."""
    return "%032x" % (getrandbits(128) or 1)


def new_span_id() -> str:
    """Return a random W3C span id (16 lowercase hex digits, never all zero)."""
    return "%016x" % (getrandbits(64) or 1)


# -- app info ------------------------------------------------------------------------------------

_app_cache: tuple[int, AppInfo] | None = None


def app_info(service: str | None, environment: str | None, version: str | None) -> AppInfo:
    """Return the ``app`` field for this process (cached per pid)."""
    global _app_cache
    pid = os.getpid()
    cached = _app_cache
    if cached is None or cached[0] != pid:
        info: AppInfo = {
            "service": service,
            "environment": environment,
            "version": version,
            "host": socket.gethostname(),
            "pid": pid,
        }
        _app_cache = cached = (pid, info)
    info = cached[1]
    if (info.get("service"), info.get("environment"), info.get("version")) != (
        service,
        environment,
        version,
    ):
        info = {**info, "service": service, "environment": environment, "version": version}
    return info
