"""The bridge to stdlib ``logging``, both ways.

Out: every record (already redacted) is emitted on the ``llmlog`` logger at INFO
as a ``LogRecord`` whose ``msg`` is a one-line summary and which carries the
structured record as ``record.llmlog`` (a dict) and ``record.llmlog_json`` (its
JSON bytes). Those are plain attributes, so they survive ``QueueHandler.prepare``
(which stringifies ``msg``) and pickling to another process. Attach
:class:`JsonFormatter` to any handler to write the record as one JSON line, or
:class:`ConsoleFormatter` for a readable line in development. Both are
constructible from ``logging.config.dictConfig``::

    "formatters": {"llm": {"()": "llmlog.JsonFormatter"}},
    "handlers": {"llmfile": {"class": "logging.FileHandler", "filename": "llm.jsonl",
                             "formatter": "llm"}},
    "loggers": {"llmlog": {"level": "INFO", "handlers": ["llmfile"]}},

The emission happens on the writer thread, after redaction, and costs nothing
when no handler listens at INFO (the default).

In: :class:`LLMLogHandler` takes records from *your* loggers into llmlog: a
``LogRecord`` carrying ``llmlog`` fields, or whose message is the classic
snippet's ``json.dumps({"event": "llm_interaction", ...})``, is logged through
the pipeline (redaction, store). It ignores the ``llmlog`` loggers themselves, so
it can sit on the root logger without feeding back.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

import orjson

from llmlog.sinks.base import Entry

__all__ = ["ConsoleFormatter", "JsonFormatter", "LLMLogHandler", "LoggerSink", "summary"]

LOGGER_NAME = "llmlog"


def _fmt_tokens(n: Any) -> str:
    if not isinstance(n, int):
        return "?"
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def summary(rec: Mapping[str, Any]) -> str:
    """Return a one-line human summary of a record: ``openai gpt-4o ok 812ms 1.2k tok``."""
    if rec.get("event") == "llm_feedback":
        return f"feedback {rec.get('request_id')} score={rec.get('score')}"
    if rec.get("event") == "llm_span":
        d = rec.get("duration_ms")
        took = f" {d:.0f}ms" if isinstance(d, (int, float)) else ""
        return f"span {rec.get('kind')} {rec.get('name')} {rec.get('status') or 'ok'}{took}"
    parts = [
        str(rec.get("provider") or "-"),
        str(rec.get("model") or "-"),
        str(rec.get("status") or "ok"),
    ]
    d = rec.get("duration_ms")
    if isinstance(d, (int, float)):
        parts.append(f"{d:.0f}ms")
    usage = rec.get("usage") or {}
    if isinstance(usage, Mapping) and usage.get("total_tokens") is not None:
        est = "~" if usage.get("estimated") else ""
        parts.append(f"{est}{_fmt_tokens(usage.get('total_tokens'))} tok")
    cost = rec.get("cost_usd")
    if isinstance(cost, (int, float)):
        parts.append(f"${cost:.4f}" if cost >= 0.01 else f"${cost:.6f}")
    err = rec.get("error")
    if isinstance(err, Mapping):
        parts.append(f"{err.get('type')}: {str(err.get('message'))[:80]}")
    parts.append(str(rec.get("request_id")))
    return " ".join(parts)


class LoggerSink:
    """Emit each record on the ``llmlog`` logger (used by the pipeline; not spooled)."""

    name = "logging:llmlog"
    spool = False

    def __init__(self, logger_name: str = LOGGER_NAME) -> None:
        self._logger = logging.getLogger(logger_name)

    def write(self, batch: Sequence[Entry]) -> None:
        logger = self._logger
        if not logger.isEnabledFor(logging.INFO):
            return
        for e in batch:
            rec = e.rec
            record = logger.makeRecord(
                logger.name,
                logging.INFO,
                "(llmlog)",
                0,
                summary(rec),
                (),
                None,
                extra={"llmlog": rec, "llmlog_json": e.line},
            )
            logger.handle(record)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line.

    An llmlog record becomes exactly its JSON (the contract's record format, the
    classic snippet's field names). Any other log record becomes
    ``{"event": "log", "timestamp", "level", "logger", "message"}`` plus
    ``exc_info`` when present, so one handler can ship both.

    .. versionadded:: 0.1
    """

    def format(self, record: logging.LogRecord) -> str:
        line = getattr(record, "llmlog_json", None)
        if isinstance(line, (bytes, bytearray)):
            return bytes(line).decode("utf-8")
        rec = getattr(record, "llmlog", None)
        if isinstance(rec, Mapping):
            return orjson.dumps(rec, default=str).decode("utf-8")
        out: dict[str, Any] = {
            "event": "log",
            "timestamp": record.created,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode("utf-8")


_COLORS = {
    "ok": "\033[32m",
    "error": "\033[31m",
    "dim": "\033[2m",
    "bold": "\033[1m",
    "reset": "\033[0m",
}


class ConsoleFormatter(logging.Formatter):
    """A readable line per interaction for development, coloured on a terminal.

    ``12:00:01 openai gpt-4o-mini ok 812ms 180 tok $0.0001  user: ... -> assistant: ...``

    Args:
        color: force colour on or off (default: on when stderr is a terminal).
        width: characters of prompt and output shown.

    .. versionadded:: 0.1
    """

    def __init__(self, color: bool | None = None, width: int = 60) -> None:
        super().__init__()
        self.color = sys.stderr.isatty() if color is None else color
        self.width = width

    def _c(self, key: str, text: str) -> str:
        return f"{_COLORS[key]}{text}{_COLORS['reset']}" if self.color else text

    def _short(self, value: Any) -> str:
        from llmlog.extract import text_of

        text = value if isinstance(value, str) else text_of(value)
        text = " ".join(text.split())
        return text if len(text) <= self.width else text[: self.width - 1] + "…"

    def format(self, record: logging.LogRecord) -> str:
        rec = getattr(record, "llmlog", None)
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        if not isinstance(rec, Mapping):
            return f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        head = summary(rec)
        status = str(rec.get("status") or "ok")
        head = head.replace(
            f" {status} ", " " + self._c("error" if status == "error" else "ok", status) + " ", 1
        )
        prompt = ""
        msgs = rec.get("prompt_messages") or []
        if isinstance(msgs, list) and msgs:
            last = msgs[-1]
            role = last.get("role", "user") if isinstance(last, Mapping) else "user"
            content = last.get("content") if isinstance(last, Mapping) else last
            prompt = f"{role}: {self._short(content)}"
        out = rec.get("parsed_output")
        answer = f" -> {self._short(out)}" if out is not None else ""
        return f"{self._c('dim', stamp)} {head}  {self._c('dim', prompt + answer)}"


class LLMLogHandler(logging.Handler):
    """Log LLM interactions found on your loggers through llmlog (redaction, store).

    Handles a ``LogRecord`` that carries record fields as ``record.llmlog`` (a
    dict), or whose message is a JSON object with ``"event": "llm_interaction"``
    (the classic snippet's ``logger.info(json.dumps({...}))``). Other records are
    ignored, as are those of the ``llmlog`` loggers.

    .. versionadded:: 0.1
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.name == LOGGER_NAME or record.name.startswith(LOGGER_NAME + "."):
                return
            fields = getattr(record, "llmlog", None)
            if not isinstance(fields, Mapping):
                msg = record.getMessage()
                if not msg.startswith("{") or "llm_interaction" not in msg:
                    return
                try:
                    data = orjson.loads(msg)
                except orjson.JSONDecodeError:
                    return
                if not isinstance(data, dict) or data.get("event") != "llm_interaction":
                    return
                fields = data
            from llmlog.api import submit

            submit(fields)
        except Exception:
            self.handleError(record)


def install_console_handler(stream: IO[str] | None = None) -> logging.Handler:
    """Print a :class:`ConsoleFormatter` line per interaction to stderr (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    for h in logger.handlers:
        if getattr(h, "_llmlog_console", False):
            return h
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(ConsoleFormatter())
    handler._llmlog_console = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler
