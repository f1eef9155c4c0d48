"""One intercepted SDK call: what is known at the start, its timer, its span, its record.

Every wrapper (sync or async, OpenAI, Anthropic or LiteLLM) goes through the
same three steps, and only the thin shim around the SDK's own call differs:

1. :class:`Call` is created just before the SDK call with the request fields
   (provider, operation, model, params, prompt). It stamps the start time, makes
   a span (a child of the current llmlog or OpenTelemetry span) and makes it
   current, so an interaction logged during the call becomes its child.
2. The SDK call returns or raises; :meth:`Call.leave` restores the outer span.
3. :meth:`Call.submit` hands the record to the pipeline, at once for a plain
   response or an error, when the stream ends for a stream
   (:mod:`llmlog.capture._stream`).

The caller's thread only turns the response into a dict (the JSON body as
received, or the SDK object converted back) and snapshots the record; the writer
thread derives usage, text, tool calls, finish reasons and cost from that dict
(:func:`llmlog.normalize.derive` and :func:`llmlog.normalize.finish_record`).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Mapping
from typing import Any

import orjson

from llmlog._serialize import dumps
from llmlog.api import submit
from llmlog.capture._patch import report_error
from llmlog.context import activate_span, deactivate_span, new_span
from llmlog.encoding import PreEncoded
from llmlog.extract import estimate_tokens, text_of
from llmlog.normalize import error_info

__all__ = ["NESTED", "Call", "estimated_usage", "field_names", "to_dict"]

NESTED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "llmlog_capture_nested", default=False
)
"""Set while a higher-level wrapper (LiteLLM) logs the call: SDK wrappers below it stand aside."""


class Call:
    """The record of one SDK call being captured.

    Args:
        fields: record fields known before the call (provider, operation, model,
            params, prompt_messages, metadata); this object owns the dict.
    """

    __slots__ = ("_token", "fields", "prompt_json", "t0")

    def __init__(self, fields: dict[str, Any]) -> None:
        fields["timestamp"] = time.time()
        span = new_span()
        fields["trace_id"] = span.trace_id
        fields["span_id"] = span.span_id
        fields["parent_span_id"] = span.parent_span_id
        self.fields = fields
        self.prompt_json: bytes | None = None
        self._token: Any = activate_span(span)
        self.t0 = time.perf_counter()

    def leave(self) -> None:
        """Stop being the current span (the SDK call has returned or raised)."""
        token, self._token = self._token, None
        if token is not None:
            deactivate_span(token)

    def snapshot(self) -> None:
        """Freeze the request fields now, for a record that is submitted later (streams).

        The application may change its ``messages`` list while it reads the
        stream; the record must hold what was sent.
        """
        f = self.fields
        prompt = f.get("prompt_messages")
        if prompt is not None:
            self.prompt_json = dumps(prompt)
            f["prompt_messages"] = PreEncoded(self.prompt_json)
        params = f.get("params")
        if params is not None:
            f["params"] = orjson.Fragment(dumps(params))

    def submit(
        self, *, end: float | None = None, error: BaseException | None = None, **more: Any
    ) -> None:
        """Log the record with the fields given; never raises.

        Args:
            end: ``time.perf_counter()`` at the end of the call (default: now).
            error: the exception the call raised, if any.
            **more: further record fields (``llm_raw_response``, ``ttft_ms``, ...).
        """
        try:
            f = self.fields
            f.update(more)
            stop = time.perf_counter() if end is None else end
            f["duration_ms"] = round((stop - self.t0) * 1000, 3)
            if error is not None:
                f["error"] = error_info(error)
            submit(f)
        except Exception as exc:
            report_error("submit", exc)


_FIELDS: dict[type, frozenset[str] | None] = {}


def field_names(tp: type) -> frozenset[str] | None:
    """Return the field names of a pydantic v2 model class, None for other classes (cached)."""
    try:
        return _FIELDS[tp]
    except KeyError:
        pass
    fields = getattr(tp, "__pydantic_fields__", None)
    names = frozenset(fields) if isinstance(fields, dict) else None
    if len(_FIELDS) < 4096:
        _FIELDS[tp] = names
    return names


def to_dict(obj: Any) -> Any:
    """Return an SDK response object as the dict the provider sent (the fields it set).

    Pydantic v2 models (the OpenAI and Anthropic SDK types) go straight to their
    serializer, with wire names and unset fields left out: the same as the SDKs'
    ``to_dict()`` at half the cost on the caller's thread. Values orjson encodes
    natively (datetimes, enums) are left for the snapshot to encode.
    """
    if obj is None or isinstance(obj, dict):
        return obj
    serializer = getattr(type(obj), "__pydantic_serializer__", None)
    if serializer is not None:
        try:
            return serializer.to_python(obj, exclude_unset=True, by_alias=True, warnings=False)
        except Exception:
            pass
    fn = getattr(obj, "to_dict", None)  # openai / anthropic models: wire names, set fields only
    if callable(fn):
        try:
            return fn(mode="json", warnings=False)
        except TypeError:
            pass
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json", exclude_unset=True, by_alias=True, warnings=False)
        except TypeError:
            return dump()
    return obj


def estimated_usage(prompt: Any, outputs: list[str]) -> dict[str, Any]:
    """Return usage estimated from the prompt messages and the output strings.

    Used when a stream ends without usage (an OpenAI stream without
    ``stream_options={"include_usage": True}``, a cut stream); counts tool-call
    arguments as output too.
    """
    inp = 0
    if isinstance(prompt, list):
        for m in prompt:
            inp += estimate_tokens(text_of(m.get("content") if isinstance(m, Mapping) else m))
    elif isinstance(prompt, str):
        inp = estimate_tokens(prompt)
    out = sum(estimate_tokens(s) for s in outputs if s)
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
        "cached_input_tokens": None,
        "reasoning_tokens": None,
        "estimated": True,
    }
