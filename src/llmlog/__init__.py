"""llmlog: log every LLM call, structured, redacted, non-blocking and searchable.

Quick start::

    import llmlog
    llmlog.instrument()          # capture every OpenAI / Anthropic / LiteLLM call
    llmlog.log_interaction(messages, raw_response, parsed_output=text, model="gpt-4o-mini")

Records land in ``./llmlog.db`` (SQLite) by default; see ``llmlog --help``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmlog.api import (
    Interaction,
    configure,
    feedback,
    flush,
    get_settings,
    interaction,
    log_interaction,
    logged,
    reset,
    shutdown,
    stats,
)
from llmlog.context import context, current_context
from llmlog.pipeline import DropRecord
from llmlog.record import LLMRecord
from llmlog.stdlib import ConsoleFormatter, JsonFormatter, LLMLogHandler
from llmlog.tracing import Span, span, trace, traced

if TYPE_CHECKING:
    from llmlog.sinks.memory import MemorySink

__version__ = "0.1.0"

__all__ = [
    "ConsoleFormatter",
    "DropRecord",
    "Interaction",
    "JsonFormatter",
    "LLMLogHandler",
    "LLMRecord",
    "MemorySink",
    "Span",
    "configure",
    "context",
    "current_context",
    "feedback",
    "flush",
    "get_settings",
    "instrument",
    "interaction",
    "log_interaction",
    "logged",
    "redact_text",
    "reset",
    "shutdown",
    "span",
    "stats",
    "trace",
    "traced",
    "uninstrument",
]


def redact_text(text: str) -> str:
    """Return ``text`` with PII and secrets replaced, as llmlog redacts records.

    .. versionadded:: 0.1
    """
    from llmlog.redact import redact_text as _redact_text

    return _redact_text(text)


def instrument(**options: Any) -> None:
    """Patch the installed OpenAI, Anthropic and LiteLLM SDKs so every call is logged.

    Idempotent; an SDK that is not installed is skipped.

    .. versionadded:: 0.1
    """
    from llmlog.capture import instrument as _instrument

    _instrument(**options)


def uninstrument() -> None:
    """Undo :func:`instrument`, restoring the SDKs' original methods.

    .. versionadded:: 0.1
    """
    from llmlog.capture import uninstrument as _uninstrument

    _uninstrument()


def __getattr__(name: str) -> Any:
    if name == "MemorySink":
        from llmlog.sinks.memory import MemorySink

        return MemorySink
    raise AttributeError(f"module 'llmlog' has no attribute {name!r}")
