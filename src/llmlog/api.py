"""The manual API: ``log_interaction``, ``interaction()``, ``@logged``, ``feedback`` and friends.

One global pipeline serves the process. It is built lazily at the first log call
from ``LLMLOG_*`` variables and defaults (importing llmlog does no I/O), or
explicitly by :func:`configure`. Everything here is safe to call from any thread
or asyncio task, and nothing here raises into the app because of llmlog: the
LLM call's own exception is re-raised unchanged, llmlog's problems are counted
in :func:`stats` and reported on the ``llmlog`` logger.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import orjson

from llmlog._serialize import dumps
from llmlog.config import Settings, resolve_settings
from llmlog.context import CURRENT_SPAN as _CURRENT_SPAN
from llmlog.context import (
    SUPPRESS,
    Span,
    activate_span,
    deactivate_span,
    get_context_snapshot,
    new_span,
    otel_span,
)
from llmlog.encoding import PreEncoded, encode_fields
from llmlog.normalize import error_info
from llmlog.pipeline import FEEDBACK, INTERACTION, STAT_KEYS, Pipeline
from llmlog.record import new_request_id
from llmlog.sinks import open_sink
from llmlog.sinks.base import Sink

if TYPE_CHECKING:
    from llmlog.collector.handoff import Handoff

__all__ = [
    "Interaction",
    "configure",
    "feedback",
    "flush",
    "get_settings",
    "interaction",
    "log_interaction",
    "logged",
    "reset",
    "shutdown",
    "stats",
]

_log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

_UNSET: Any = object()
"""The value of an option not given (distinct from None, which some options take)."""

_pipeline: Pipeline | None = None
_settings: Settings | None = None
_configured = False
_lock = threading.Lock()


# -- configuration -------------------------------------------------------------------------------


def _build_sinks(settings: Settings) -> list[Sink]:
    from llmlog.stdlib import LoggerSink

    sinks: list[Sink] = []
    if settings.db.lower() != "off":
        sinks.append(open_sink(settings.db))
    if settings.jsonl:
        from llmlog.sinks.jsonl import JsonlSink

        sinks.append(
            JsonlSink(
                settings.jsonl, max_bytes=settings.jsonl_max_bytes, backups=settings.jsonl_backups
            )
        )
    if settings.otel:
        try:
            from llmlog.sinks.otel import OTelSink
        except ImportError:
            _log.warning(
                "llmlog: LLMLOG_OTEL is set but OpenTelemetry export is not "
                "available: pip install 'llmlog[otel]'"
            )
        else:
            sinks.append(OTelSink(content=settings.otel_content, meter_provider="otlp"))
    sinks.extend(settings.sinks)
    sinks.append(LoggerSink())
    return sinks


def build_processors(settings: Settings) -> list[Callable[[dict[str, Any]], dict[str, Any]]]:
    if settings.processors is not None:
        return list(settings.processors)
    if not settings.redact and settings.capture_content == "full":
        return []
    from llmlog.redact import build_processors

    return build_processors(
        redact=settings.redact,
        redact_key=settings.redact_key,
        capture_content=settings.capture_content,
        rules=settings.redact_rules,
        operator=settings.redact_operator,
    )


def make_pipeline(settings: Settings, *, collector: bool = True) -> Pipeline:
    """Build the pipeline for ``settings`` (and, when one listens, the collector hand-off).

    Args:
        settings: resolved settings.
        collector: look for a collector of the store (the collector itself passes False).
    """
    if settings.console:
        from llmlog.stdlib import install_console_handler

        install_console_handler()
    handoff = None
    why: str | None = "collector='off'"
    if collector and settings.collector == "auto":
        why = _collector_blocker(settings)
        if why is None:
            handoff, why = _handoff(settings)
    return Pipeline(
        settings,
        lambda: _build_sinks(settings),
        lambda: build_processors(settings),
        rebuild_sinks=lambda: _build_sinks(settings),
        handoff=handoff,
        local_reason=why or "",
    )


def _collector_blocker(settings: Settings) -> str | None:
    """Return why records cannot go to a collector, or None when they can."""
    if settings.db.lower() == "off":
        return "no store (LLMLOG_DB=off)"
    if settings.durability == "sync":
        return "durability='sync' writes before the call returns"
    if settings.sinks or settings.processors is not None:
        return "custom sinks or processors run in this process"
    if settings.console:
        return "console=True prints in this process"
    from llmlog.stdlib import LOGGER_NAME

    logger: logging.Logger | None = logging.getLogger(LOGGER_NAME)
    while logger is not None and logger.name != "root":
        if logger.handlers:
            return f"handlers on the {logger.name!r} logger run in this process"
        logger = logger.parent if logger.propagate else None
    if not hasattr(socket, "AF_UNIX") or not sys.executable:
        return "this platform cannot run a collector (no Unix sockets or no Python executable)"
    return None


def _handoff(settings: Settings) -> tuple[Handoff | None, str | None]:
    """Return the hand-off to the collector of ``settings``' store, or None and why not."""
    from llmlog.collector.handoff import Handoff
    from llmlog.collector.launch import MAX_SOCKET_PATH, settings_blob, socket_path, start

    try:
        blob = settings_blob(settings)
        path = socket_path(settings.db, blob)
    except (ValueError, OSError) as exc:
        return None, str(exc)
    if len(str(path)) > MAX_SOCKET_PATH:
        return None, f"the collector's socket path would be too long ({path})"
    return Handoff(path, start=lambda: start(path, blob, settings.collector_idle)), None


_make_pipeline = make_pipeline


def _get_pipeline() -> Pipeline:
    global _pipeline, _settings
    p = _pipeline
    if p is not None:
        return p
    with _lock:
        if _pipeline is None:
            if _settings is None:
                _settings = resolve_settings({}, strict=False)
            _pipeline = _make_pipeline(_settings)
        return _pipeline


def configure(
    *,
    db: str | os.PathLike[str] = _UNSET,
    jsonl: str | os.PathLike[str] | None = _UNSET,
    jsonl_max_bytes: int = _UNSET,
    jsonl_backups: int = _UNSET,
    otel: bool = _UNSET,
    disabled: bool = _UNSET,
    redact: bool = _UNSET,
    redact_key: str | None = _UNSET,
    redact_rules: str | os.PathLike[str] | Mapping[str, Any] | None = _UNSET,
    redact_operator: str = _UNSET,
    capture_content: str = _UNSET,
    sample_rate: float = _UNSET,
    max_queue: int = _UNSET,
    batch_size: int = _UNSET,
    flush_interval: float = _UNSET,
    on_full: str = _UNSET,
    durability: str = _UNSET,
    spool_dir: str | os.PathLike[str] | None = _UNSET,
    spool_max_bytes: int = _UNSET,
    max_string: int = _UNSET,
    exit_timeout: float = _UNSET,
    collector: str = _UNSET,
    collector_idle: float = _UNSET,
    service: str | None = _UNSET,
    environment: str | None = _UNSET,
    version: str | None = _UNSET,
    prices: str | os.PathLike[str] | None = _UNSET,
    console: bool = _UNSET,
    raise_errors: bool = _UNSET,
    processors: Sequence[Callable[[dict[str, Any]], dict[str, Any]]] | None = _UNSET,
    sinks: Sequence[Sink] = _UNSET,
    price_table: Mapping[str, Mapping[str, float]] | None = _UNSET,
) -> Settings:
    """Configure llmlog for this process; optional, the defaults are good.

    Each option also has an ``LLMLOG_*`` environment variable (see
    :class:`llmlog.config.Settings`, which documents every option); an explicit
    option wins over the variable. Calling it again replaces the configuration
    (after writing what is queued) and warns, since two parts of an app configuring
    llmlog is usually a mistake.

    Returns:
        The resolved settings.

    Raises:
        TypeError: an unknown option.
        ConfigError: a bad option or environment value, naming it (a ValueError).

    .. versionadded:: 0.1
    """
    options = {k: v for k, v in locals().items() if v is not _UNSET}
    global _pipeline, _settings, _configured
    settings = resolve_settings(
        {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in options.items()},
        strict=True,
    )
    new = None if settings.disabled else _make_pipeline(settings)
    with _lock:
        if _configured:
            _log.warning("llmlog: configure() called again; the new settings replace the old")
        old, _pipeline, _settings, _configured = _pipeline, new, settings, True
    if old is not None:
        old.close(old.settings.exit_timeout)
    return settings


def get_settings() -> Settings:
    """Return the settings in force (resolving them from the environment if needed)."""
    global _settings
    if _settings is None:
        with _lock:
            if _settings is None:
                _settings = resolve_settings({}, strict=False)
    return _settings


def reset() -> None:
    """Write what is queued, then forget all configuration and counters (for tests)."""
    global _pipeline, _settings, _configured, _last_stats
    with _lock:
        old, _pipeline, _settings, _configured = _pipeline, None, None, False
    if old is not None:
        old.close(old.settings.exit_timeout)
    _last_stats = None


def flush(timeout: float | None = None) -> bool:
    """Block until everything logged so far is written; return False on timeout.

    Not needed before exit: queued records are written at interpreter exit anyway.

    .. versionadded:: 0.1
    """
    p = _pipeline
    return True if p is None else p.flush(timeout)


def shutdown(timeout: float | None = None) -> None:
    """Write everything queued and close the sinks; logging later starts afresh.

    :func:`stats` keeps reporting the closed pipeline's counters until the next log call.

    .. versionadded:: 0.1
    """
    global _pipeline, _last_stats
    with _lock:
        old, _pipeline = _pipeline, None
    if old is not None:
        old.close(old.settings.exit_timeout if timeout is None else timeout)
        _last_stats = old.stats()


_last_stats: dict[str, Any] | None = None


def stats() -> dict[str, Any]:
    """Return llmlog's own counters: processed, spooled, dropped, errors, queued, per sink.

    Keys: ``processed``, ``spooled``, ``replayed``, ``dropped``, ``dead_lettered``
    (records a sink refused on their own, kept in its dead-letter file), ``filtered``,
    ``coerced`` (values moved aside), ``truncated`` (strings cut at ``max_string``),
    ``errors``, ``sink_errors``, ``sampled_out``, ``queued`` and ``sinks``.

    .. versionadded:: 0.1
    """
    p = _pipeline
    if p is None:
        if _last_stats is not None:
            return dict(_last_stats)
        return {**dict.fromkeys(STAT_KEYS, 0), "sampled_out": 0, "queued": 0, "sinks": {}}
    return p.stats()


# -- logging an interaction ----------------------------------------------------------------------


def is_disabled() -> bool:
    """Return whether logging is disabled (``LLMLOG_DISABLED``); cheap once logging runs."""
    if _pipeline is not None:  # the hot path: a pipeline exists only when enabled
        return False
    return get_settings().disabled


_disabled = is_disabled


def report_internal_error(where: str, exc: BaseException) -> None:
    """Count and report a failure of llmlog's own code (capture, ...); never raises."""
    p = _pipeline
    if p is not None:
        p.internal_error("capture", exc, f"capture failed in {where}")
    else:
        _log.warning("llmlog: capture failed in %s: %s: %s", where, type(exc).__name__, exc)


def _submit(fields: dict[str, Any]) -> None:
    """Snapshot ``fields`` and hand them to the pipeline (the hot path). Never raises."""
    try:
        if SUPPRESS.get():
            return
        p = _pipeline or _get_pipeline()
        if p.sample_rate < 1.0 and random.random() >= p.sample_rate:
            p.count_sampled_out()
            return
        if "trace_id" not in fields:
            parent = _CURRENT_SPAN.get() or otel_span()
            if parent is not None:
                fields["trace_id"] = parent.trace_id
                fields["parent_span_id"] = parent.span_id
        err = fields.get("error")
        if isinstance(err, BaseException):
            fields["error"] = error_info(err)
        p.submit(INTERACTION, encode_fields(fields), get_context_snapshot())
    except Exception as exc:
        internal_error(exc)


def internal_error(exc: Exception) -> None:
    p = _pipeline
    if p is not None:
        p.internal_error("capture", exc, "could not log an interaction")
        if p.settings.raise_errors:
            raise exc
    else:
        _log.warning("llmlog: could not log an interaction: %s: %s", type(exc).__name__, exc)


def log_interaction(
    messages: Any,
    raw_response: Any,
    parsed_output: Any = None,
    model: str | None = None,
    request_id: str | None = None,
    **fields: Any,
) -> str:
    """Log one LLM interaction; returns at once, the write happens in the background.

    The shape of the classic logging snippet: the prompt messages, the raw
    response and what the app parsed from it. Usage, response model, finish
    reasons, tool calls and the output text are derived from an OpenAI or
    Anthropic ``raw_response`` when not given.

    Args:
        messages: the chat messages as sent (any JSON-able value; SDK objects are
            converted with ``model_dump()``).
        raw_response: the provider's response (dict or SDK object).
        parsed_output: what the app used as the answer.
        model: the requested model.
        request_id: your id for the interaction (default: a new UUIDv7).
        **fields: record fields (``provider``, ``usage``, ``duration_ms``,
            ``session_id``, ``tags``, ``error``, ...); other keys go to ``metadata``.

    Returns:
        The request id.

    .. versionadded:: 0.1
    """
    rid = str(request_id) if request_id is not None else new_request_id()
    if _disabled():
        return rid
    fields["request_id"] = rid
    fields["prompt_messages"] = messages
    fields["llm_raw_response"] = raw_response
    if parsed_output is not None:
        fields["parsed_output"] = parsed_output
    if model is not None:
        fields["model"] = model
    if "timestamp" not in fields:
        fields["timestamp"] = time.time()
    _submit(fields)
    return rid


def feedback(request_id: str, score: float, comment: str | None = None) -> None:
    """Attach a human or automatic score to a logged interaction.

    A score that is not a number is reported on the ``llmlog`` logger and
    ignored (counted as dropped); this never raises into the app.

    .. versionadded:: 0.1
    """
    try:
        value = float(score)
        if value != value:
            raise ValueError("NaN")
    except (TypeError, ValueError):
        _log.warning(
            "llmlog: feedback(%r, score=%r) ignored: the score must be a number", request_id, score
        )
        return
    if _disabled():
        return
    try:
        p = _pipeline or _get_pipeline()
        p.submit(
            FEEDBACK,
            orjson.dumps(
                {
                    "request_id": str(request_id),
                    "score": value,
                    "comment": None if comment is None else str(comment),
                    "timestamp": time.time(),
                }
            ),
            None,
        )
    except Exception as exc:
        internal_error(exc)


class Interaction:
    """A call being logged: returned by ``with llmlog.interaction(...) as it``.

    The record is written when the block exits, with the duration of the block;
    an exception inside is recorded (``status="error"``) and re-raised unchanged.
    Interactions logged inside the block (nested calls, instrumented SDK calls)
    get this one as their parent span.
    """

    def __init__(self, model: str | None = None, messages: Any = None, **fields: Any) -> None:
        self.request_id: str = str(fields.pop("request_id", None) or new_request_id())
        self._fields = fields
        if model is not None:
            fields["model"] = model
        self._messages = PreEncoded(dumps(messages)) if messages is not None else None
        self._raw: Any = None
        self._parsed: Any = _UNSET
        self._t0 = 0.0
        self._first: float | None = None
        self._span: Span | None = None
        self._token: Any = None
        self._done = False

    def set_response(self, raw: Any, parsed: Any = _UNSET, **fields: Any) -> None:
        """Record the provider's response, what the app parsed from it, and more fields."""
        self._raw = raw
        if parsed is not _UNSET:
            self._parsed = parsed
        self._fields.update(fields)

    def set_messages(self, messages: Any) -> None:
        """Record the prompt messages, when they were not known on entry."""
        self._messages = PreEncoded(dumps(messages))

    def set(self, **fields: Any) -> None:
        """Set more record fields (``usage``, ``provider``, ``metadata``, ...)."""
        self._fields.update(fields)

    def first_token(self) -> None:
        """Mark the arrival of the first token (sets ``ttft_ms``); later calls are ignored."""
        if self._first is None:
            self._first = time.perf_counter()

    def __enter__(self) -> Interaction:
        self._fields.setdefault("timestamp", time.time())
        self._t0 = time.perf_counter()
        self._span = new_span()
        self._token = activate_span(self._span)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(exc)

    async def __aenter__(self) -> Interaction:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(exc)

    def _finish(self, exc: BaseException | None) -> None:
        if self._done:
            return
        self._done = True
        end = time.perf_counter()
        if self._token is not None:
            deactivate_span(self._token)
        try:
            if _disabled():
                return
            f = self._fields
            f["request_id"] = self.request_id
            f.setdefault("duration_ms", round((end - self._t0) * 1000, 3))
            if self._first is not None:
                f.setdefault("ttft_ms", round((self._first - self._t0) * 1000, 3))
            if self._messages is not None:
                f["prompt_messages"] = self._messages
            f["llm_raw_response"] = self._raw
            if self._parsed is not _UNSET:
                f["parsed_output"] = self._parsed
            if self._span is not None:
                f.setdefault("trace_id", self._span.trace_id)
                f.setdefault("span_id", self._span.span_id)
                f.setdefault("parent_span_id", self._span.parent_span_id)
            if exc is not None and "error" not in f:
                f["error"] = error_info(exc)
            _submit(f)
        except Exception as err:
            internal_error(err)


def interaction(model: str | None = None, messages: Any = None, **fields: Any) -> Interaction:
    """Return a context manager that logs one interaction when its block exits.

    Example::

        with llmlog.interaction(model="gpt-4o-mini", messages=msgs) as it:
            resp = client_call(msgs)
            it.set_response(resp, parsed=resp["choices"][0]["message"]["content"])

    Works with ``with`` and ``async with``. Extra keyword fields are record
    fields or, for other keys, metadata.

    .. versionadded:: 0.1
    """
    return Interaction(model=model, messages=messages, **fields)


@overload
def logged(fn: F, /) -> F: ...
@overload
def logged(
    *,
    model: str | None = ...,
    messages_arg: str = ...,
    parse: Callable[[Any], Any] | None = ...,
    **fields: Any,
) -> Callable[[F], F]: ...


def logged(
    fn: Any = None,
    /,
    *,
    model: str | None = None,
    messages_arg: str = "messages",
    parse: Callable[[Any], Any] | None = None,
    **fields: Any,
) -> Any:
    """Log every call of a function that calls an LLM (sync or async).

    The argument named ``messages_arg`` (``messages``; else a ``prompt`` string)
    becomes the prompt, other arguments go to ``metadata["arguments"]``, the
    return value becomes the raw response (a string return value is the parsed
    output), and ``parse(result)`` if given computes the parsed output.
    Exceptions are logged and re-raised unchanged.

    Example::

        @llmlog.logged(model="gpt-4o-mini", tags=["summarize"])
        def summarize(messages): ...

    .. versionadded:: 0.1
    """

    def decorate(func: F) -> F:
        try:
            sig: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            sig = None

        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Interaction:
            msgs: Any = None
            extra = dict(fields)
            try:
                bound = sig.bind_partial(*args, **kwargs) if sig is not None else None
                arguments = dict(bound.arguments) if bound is not None else {}
            except TypeError:
                arguments = {}
            if messages_arg in arguments:
                msgs = arguments.pop(messages_arg)
            elif isinstance(arguments.get("prompt"), str):
                msgs = [{"role": "user", "content": arguments.pop("prompt")}]
            arguments.pop("self", None)
            if arguments:
                meta = dict(extra.get("metadata") or {})
                meta["arguments"] = arguments
                extra["metadata"] = meta
            extra.setdefault("metadata", {}).setdefault("function", func.__qualname__)
            return Interaction(model=model, messages=msgs, **extra)

        def finish(it: Interaction, result: Any) -> None:
            try:
                parsed = (
                    parse(result)
                    if parse is not None
                    else (result if isinstance(result, str) else _UNSET)
                )
            except Exception as exc:
                _log.warning(
                    "llmlog: @logged parse function failed: %s: %s", type(exc).__name__, exc
                )
                parsed = _UNSET
            it.set_response(None if isinstance(result, str) else result, parsed)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                it = start(args, kwargs)
                with it:
                    result = await cast(Callable[..., Awaitable[Any]], func)(*args, **kwargs)
                    finish(it, result)
                return result

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            it = start(args, kwargs)
            with it:
                result = func(*args, **kwargs)
                finish(it, result)
            return result

        return cast(F, wrapper)

    if fn is not None:
        return decorate(fn)
    return decorate


def submit(fields: Mapping[str, Any]) -> str:
    """Log a record given as a mapping of record fields; return its request id.

    The internal entry point for capture wrappers, the stdlib handler and import:
    ``fields`` are record fields (other keys go to ``metadata``); a missing
    request id or timestamp is filled in. Never raises.
    """
    f = dict(fields)
    f.pop("event", None)
    f.pop("schema_version", None)
    rid = f.get("request_id")
    if not rid:
        rid = f["request_id"] = new_request_id()
    f.setdefault("timestamp", time.time())
    if not _disabled():
        _submit(f)
    return str(rid)
