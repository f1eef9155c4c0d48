"""The OpenAI Agents SDK: each run becomes one llmlog trace, through its tracing processors.

``instrument()`` adds a :class:`LLMLogProcessor` to the SDK's processors (its own
exporter stays). The SDK's trace becomes the root span (``invoke_workflow``, the
workflow's name) and its spans become llmlog spans with the SDK's ids: agents
(``invoke_agent``), function tools (``execute_tool``, with their input and output),
handoffs, guardrails, and custom or task spans (``task``). Model calls are not copied
from the SDK's response/generation spans: ``instrument()`` already captures them as
interactions through the ``openai`` SDK, and while a span runs it is the current llmlog
span, so those interactions become its children.
"""

from __future__ import annotations

import contextvars
import threading
from datetime import datetime
from typing import Any

import orjson

from llmlog._serialize import dumps
from llmlog.capture._patch import warn_once
from llmlog.context import Span as SpanIds
from llmlog.context import activate_span, deactivate_span
from llmlog.tracing import emit

__all__ = ["INTEGRATION", "LLMLogProcessor"]


def _hex(sdk_id: Any, width: int) -> str | None:
    """``trace_<32 hex>`` / ``span_<24 hex>`` -> W3C hex of ``width`` digits (None if not)."""
    if not isinstance(sdk_id, str):
        return None
    digits = sdk_id.rsplit("_", 1)[-1].lower()
    if not digits or any(c not in "0123456789abcdef" for c in digits):
        return None
    return digits[-width:].rjust(width, "0")


def _time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _json(value: Any) -> bytes:
    """A tool's input or output: the SDK passes JSON text; keep its structure when it is."""
    if isinstance(value, str):
        try:
            return orjson.dumps(orjson.loads(value))
        except orjson.JSONDecodeError:
            pass
    return b"null" if value is None else dumps(value)


class LLMLogProcessor:
    """An Agents SDK tracing processor that logs every run as an llmlog trace."""

    def __init__(self) -> None:
        self.enabled = True
        self._lock = threading.Lock()
        self._tokens: dict[str, contextvars.Token[Any]] = {}
        self._roots: dict[str, tuple[str, str, float]] = {}

    # -- traces: the root span ---------------------------------------------------------------

    def on_trace_start(self, trace: Any) -> None:
        tid = _hex(getattr(trace, "trace_id", None), 32)
        if not self.enabled or tid is None:
            return
        root = tid[:16]
        with self._lock:
            self._roots[trace.trace_id] = (tid, root, _now())
            self._tokens[trace.trace_id] = activate_span(SpanIds(tid, root, None))

    def on_trace_end(self, trace: Any) -> None:
        with self._lock:
            found = self._roots.pop(trace.trace_id, None)
            token = self._tokens.pop(trace.trace_id, None)
        if token is not None:
            deactivate_span(token)
        if found is None:
            return
        tid, root, start = found
        emit(
            name=str(getattr(trace, "name", None) or "Agent workflow"),
            kind="invoke_workflow",
            trace_id=tid,
            span_id=root,
            parent_span_id=None,
            timestamp=start,
            duration_ms=(_now() - start) * 1000,
            attributes={"group_id": getattr(trace, "group_id", None)}
            if getattr(trace, "group_id", None)
            else None,
        )

    # -- spans ---------------------------------------------------------------------------------

    def on_span_start(self, span: Any) -> None:
        ids = self._ids(span)
        if ids is None or getattr(span.span_data, "type", None) in _MODEL_CALLS:
            return  # a model call's parent stays current: the interaction is its child
        with self._lock:
            self._tokens[span.span_id] = activate_span(ids)

    def on_span_end(self, span: Any) -> None:
        with self._lock:
            token = self._tokens.pop(span.span_id, None)
        if token is not None:
            deactivate_span(token)
        ids = self._ids(span)
        if ids is None:
            return
        data = span.span_data
        kind_name = _kind_and_name(data)
        if kind_name is None:
            return  # a model call: captured through the openai SDK as an interaction
        kind, name, attributes, inp, out = kind_name
        start = _time(getattr(span, "started_at", None)) or _now()
        end = _time(getattr(span, "ended_at", None)) or _now()
        err = getattr(span, "error", None)
        error = None
        if isinstance(err, dict):
            error = {"type": "AgentsError", "message": str(err.get("message")), "status_code": None}
        emit(
            name=name,
            kind=kind,
            trace_id=ids.trace_id,
            span_id=ids.span_id,
            parent_span_id=ids.parent_span_id,
            timestamp=start,
            duration_ms=max(0.0, (end - start) * 1000),
            error=error,
            attributes=attributes,
            input_json=inp,
            output_json=out,
        )

    def _ids(self, span: Any) -> SpanIds | None:
        if not self.enabled:
            return None
        tid = _hex(getattr(span, "trace_id", None), 32)
        sid = _hex(getattr(span, "span_id", None), 16)
        if tid is None or sid is None:
            return None
        parent = _hex(getattr(span, "parent_id", None), 16) or tid[:16]  # no parent: the root
        return SpanIds(tid, sid, parent)

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        from llmlog import api

        if api._pipeline is not None:
            api._pipeline.flush(5.0)


_MODEL_CALLS = frozenset({"response", "generation", "transcription", "speech", "speech_group"})
"""SDK spans around a model call: llmlog has the call itself, as an interaction."""


def _kind_and_name(data: Any) -> tuple[str, str, dict[str, Any], bytes, bytes] | None:
    """Return (kind, name, attributes, input JSON, output JSON) of an SDK span's data."""
    t = getattr(data, "type", None)
    if t in _MODEL_CALLS:
        return None
    if t == "agent":
        attrs = {
            "tools": list(getattr(data, "tools", None) or []),
            "handoffs": list(getattr(data, "handoffs", None) or []),
            "output_type": getattr(data, "output_type", None),
        }
        return "invoke_agent", str(data.name), attrs, b"null", b"null"
    if t == "function":
        return "execute_tool", str(data.name), {}, _json(data.input), _json(data.output)
    if t == "handoff":
        name = f"{data.from_agent} -> {data.to_agent}"
        attrs = {"from_agent": data.from_agent, "to_agent": data.to_agent}
        return "handoff", name, attrs, b"null", b"null"
    if t == "guardrail":
        return "guardrail", str(data.name), {"triggered": bool(data.triggered)}, b"null", b"null"
    if t == "turn":
        attrs = {"agent": getattr(data, "agent_name", None)}
        return "task", f"turn {getattr(data, 'turn', '?')}", attrs, b"null", b"null"
    if t == "mcp_tools":
        return "task", "mcp list tools", {"server": getattr(data, "server", None)}, b"null", b"null"
    name = getattr(data, "name", None) or t or "span"
    extra = getattr(data, "data", None) or getattr(data, "metadata", None)
    return "task", str(name), dict(extra) if isinstance(extra, dict) else {}, b"null", b"null"


def _now() -> float:
    import time

    return time.time()


class OpenAIAgentsIntegration:
    """``instrument()`` support for the OpenAI Agents SDK (the ``agents`` package)."""

    name = "openai_agents"
    module = "agents"

    def __init__(self) -> None:
        self.processor: LLMLogProcessor | None = None

    @property
    def applied(self) -> bool:
        return self.processor is not None and self.processor.enabled

    def patch(self, sdk: Any) -> bool:
        if self.processor is None:
            add = getattr(sdk, "add_trace_processor", None)
            if not callable(add):
                warn_once(
                    "agents-version",
                    "this version of the OpenAI Agents SDK has no add_trace_processor; "
                    "its runs are not traced (model calls still are)",
                )
                return False
            self.processor = LLMLogProcessor()
            add(self.processor)
        self.processor.enabled = True
        return True

    def unpatch(self) -> None:
        if self.processor is not None:  # the SDK cannot remove a processor: it goes quiet
            self.processor.enabled = False


INTEGRATION = OpenAIAgentsIntegration()
