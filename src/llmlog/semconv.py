"""The OpenTelemetry GenAI semantic conventions, both ways: llmlog records <-> span attributes.

One module, versioned (:data:`VERSION`), owns the mapping, so export
(:mod:`llmlog.sinks.otel`) and ingest (:mod:`llmlog.collector.otlp`) agree:

* **Messages.** ``gen_ai.input.messages`` / ``gen_ai.output.messages`` hold the
  conventions' shape, ``[{"role", "parts": [...]}]`` with typed parts
  (``{"type": "text", "content"}``, ``{"type": "tool_call", "id", "name",
  "arguments"}``, ``{"type": "tool_call_response", "id", "response"}``,
  ``{"type": "reasoning", "content"}``); output messages add ``finish_reason``.
  :func:`to_messages` converts every provider's prompt shape llmlog records
  (OpenAI chat and Responses, Anthropic, Gemini ``parts``, Bedrock Converse blocks,
  Cohere, Ollama); GenAI backends validate this shape and drop anything else.
* **Attributes** of a model call (:func:`interaction_attributes`) and of a step
  (:func:`step_attributes`), written by the OTel sink.
* **Reading** a GenAI span back into record fields (:func:`interaction_from_span`):
  the current names, the older ones (``gen_ai.system``,
  ``gen_ai.usage.prompt_tokens``, indexed ``gen_ai.prompt.N.*`` /
  ``gen_ai.completion.N.*``), OpenInference's ``llm.*`` / ``input.value``
  attributes, and the ``gen_ai.client.inference.operation.details`` event.
* **Metric** names and bucket boundaries of the GenAI client metrics.

Content in the attributes is whatever the record holds: redacted before any sink
sees it, and cut further per destination (``otel_content``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from llmlog._serialize import dumps

__all__ = [
    "DURATION_BUCKETS",
    "METRIC_DURATION",
    "METRIC_TOKENS",
    "TOKEN_BUCKETS",
    "VERSION",
    "interaction_attributes",
    "interaction_from_span",
    "is_genai_span",
    "output_messages",
    "provider_name",
    "span_fields",
    "step_attributes",
    "to_messages",
]

VERSION = "1.38.0"
"""The semantic-conventions release the GenAI mapping follows."""

METRIC_DURATION = "gen_ai.client.operation.duration"
METRIC_TOKENS = "gen_ai.client.token.usage"
DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
"""The advisory bucket boundaries the conventions give for the two client metrics."""

_PROVIDERS = {
    "google": "gcp.gemini",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "azure": "azure.ai.openai",
    "xai": "x_ai",
}


def provider_name(provider: Any) -> Any:
    """The well-known ``gen_ai.provider.name`` for llmlog's (or LiteLLM's) provider name."""
    return _PROVIDERS.get(provider, provider) if isinstance(provider, str) else provider


# -- messages -------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _text_of(value: Any) -> Any:
    """A tool result's content: text when it is text blocks, else the value itself."""
    if isinstance(value, list) and all(isinstance(b, Mapping) and "text" in b for b in value):
        return "".join(str(b["text"]) for b in value)
    return value


def _part(block: Any) -> dict[str, Any] | None:
    """One content block of any provider as a conventions part (None: nothing to show)."""
    if isinstance(block, str):
        return {"type": "text", "content": block}
    if not isinstance(block, Mapping):
        return None
    btype = block.get("type")
    if btype in ("text", "input_text", "output_text") or (btype is None and "text" in block):
        if block.get("thought"):
            return {"type": "reasoning", "content": block.get("text")}
        return {"type": "text", "content": block.get("text", block.get("content"))}
    if btype in ("tool_call", "tool_call_response", "reasoning"):
        return dict(block)  # already in the conventions' shape
    if btype in ("tool_use", "server_tool_use"):
        return {
            "type": "tool_call",
            "id": block.get("id"),
            "name": block.get("name"),
            "arguments": block.get("input"),
        }
    if btype == "tool_result":
        return {
            "type": "tool_call_response",
            "id": block.get("tool_use_id"),
            "response": _text_of(block.get("content")),
        }
    if btype in ("thinking", "redacted_thinking"):
        return {"type": "reasoning", "content": block.get("thinking")}
    if btype == "function_call":
        return {
            "type": "tool_call",
            "id": block.get("call_id"),
            "name": block.get("name"),
            "arguments": _json_value(block.get("arguments")),
        }
    if btype == "function_call_output":
        return {
            "type": "tool_call_response",
            "id": block.get("call_id"),
            "response": block.get("output"),
        }
    for key, kind in (
        ("toolUse", "call"),
        ("functionCall", "call"),
        ("function_call", "call"),
        ("toolResult", "result"),
        ("functionResponse", "result"),
        ("function_response", "result"),
    ):
        inner = block.get(key)
        if isinstance(inner, Mapping):
            tid = inner.get("toolUseId", inner.get("id"))
            if kind == "call":
                args = inner.get("input", inner.get("args"))
                return {
                    "type": "tool_call",
                    "id": tid,
                    "name": inner.get("name"),
                    "arguments": args,
                }
            resp = inner.get("content", inner.get("response"))
            return {"type": "tool_call_response", "id": tid, "response": _text_of(resp)}
    if "reasoningContent" in block:
        rc = block["reasoningContent"]
        text = rc.get("reasoningText", {}).get("text") if isinstance(rc, Mapping) else None
        return {"type": "reasoning", "content": text}
    return {"type": str(btype or "unknown")}


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for tc in calls or ():
        if not isinstance(tc, Mapping):
            continue
        fn = tc.get("function")
        fn = fn if isinstance(fn, Mapping) else tc
        out.append(
            {
                "type": "tool_call",
                "id": tc.get("id"),
                "name": fn.get("name"),
                "arguments": _json_value(fn.get("arguments")),
            }
        )
    return out


def _message(m: Any) -> dict[str, Any] | None:
    if isinstance(m, str):
        return {"role": "user", "parts": [{"type": "text", "content": m}]}
    if not isinstance(m, Mapping):
        return None
    if "role" not in m and m.get("type") in ("function_call", "function_call_output"):
        part = _part(m)
        role = "assistant" if m["type"] == "function_call" else "tool"
        return {"role": role, "parts": [part] if part else []}
    role = m.get("role") or "user"
    role = "assistant" if role in ("model", "assistant", "ai", "CHATBOT") else str(role).lower()
    parts: list[dict[str, Any]] = []
    content = m.get("content", m.get("parts"))
    blocks = content if isinstance(content, list) else [content] if content is not None else []
    for b in blocks:
        p = _part(b)
        if p is not None:
            parts.append(p)
    parts.extend(_tool_calls(m.get("tool_calls")))
    tid = m.get("tool_call_id")
    if role == "tool" and parts and not any(p["type"] == "tool_call_response" for p in parts):
        texts = [p.get("content") for p in parts if p["type"] == "text"]
        response: Any = "".join(str(t) for t in texts) if len(texts) == len(parts) else parts
        parts = [{"type": "tool_call_response", "id": tid, "response": response}]
    return {"role": role, "parts": parts}


def _valid(part: dict[str, Any]) -> dict[str, Any] | None:
    """The part as the conventions' schema requires it, or None (backends drop a whole
    attribute for one malformed part: text and reasoning need string content, a tool
    call a string name)."""
    ptype = part.get("type")
    if ptype in ("text", "reasoning"):
        content = part.get("content")
        if content is None:
            return None
        if not isinstance(content, str):
            part["content"] = orjson.dumps(content, default=str).decode()
    elif ptype == "tool_call":
        part["name"] = str(part.get("name") or "")
        if part.get("id") is not None:
            part["id"] = str(part["id"])
    elif ptype == "tool_call_response" and part.get("id") is not None:
        part["id"] = str(part["id"])
    return part


def to_messages(prompt: Any) -> list[dict[str, Any]]:
    """Return a record's ``prompt_messages`` as the conventions' input messages."""
    if prompt is None:
        return []
    items = prompt if isinstance(prompt, list) else [prompt]
    out = []
    for msg in map(_message, items):
        if msg is not None:
            msg["parts"] = [p for p in map(_valid, msg["parts"]) if p is not None]
            out.append(msg)
    return out


_FINISH = {
    "stop": "stop",
    "end_turn": "stop",
    "STOP": "stop",
    "COMPLETE": "stop",
    "stop_sequence": "stop",
    "completed": "stop",
    "FINISH": "stop",
    "tool_calls": "tool_call",
    "tool_use": "tool_call",
    "function_call": "tool_call",
    "TOOL_CALL": "tool_call",
    "length": "length",
    "max_tokens": "length",
    "MAX_TOKENS": "length",
    "incomplete": "length",
    "content_filter": "content_filter",
    "SAFETY": "content_filter",
    "guardrail_intervened": "content_filter",
}
"""Provider finish reasons -> the conventions' values (others are kept as they are)."""


def output_messages(rec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return a record's output (text and tool calls) as the conventions' output messages."""
    parts: list[dict[str, Any]] = []
    out = rec.get("parsed_output")
    if isinstance(out, str):
        if out:
            parts.append({"type": "text", "content": out})
    elif isinstance(out, list) and all(isinstance(x, str) for x in out):
        parts.extend({"type": "text", "content": x} for x in out)
    elif out is not None:
        parts.append({"type": "text", "content": orjson.dumps(out).decode()})
    for tc in rec.get("tool_calls") or ():
        if isinstance(tc, Mapping):
            parts.append(
                {
                    "type": "tool_call",
                    "id": tc.get("id"),
                    "name": tc.get("name"),
                    "arguments": tc.get("arguments"),
                }
            )
    parts = [p for p in map(_valid, parts) if p is not None]
    if not parts:
        return []
    reasons = rec.get("finish_reasons") or []
    finish = str(reasons[0]) if reasons else ("tool_call" if rec.get("tool_calls") else "stop")
    return [{"role": "assistant", "parts": parts, "finish_reason": _FINISH.get(finish, finish)}]


# -- export: attributes ---------------------------------------------------------------------------

_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
}


def _set(attrs: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (str, bool, int, float)):
        attrs[key] = value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        attrs[key] = list(value)
    else:
        attrs[key] = orjson.dumps(value, default=str).decode()


def step_attributes(rec: Mapping[str, Any], *, content: bool = True) -> dict[str, Any]:
    """Return the OTel attributes of a span record (``llmlog.span()``: a tool, an agent...)."""
    attrs: dict[str, Any] = {}
    kind = str(rec.get("kind") or "task")
    _set(attrs, "gen_ai.operation.name", kind)
    name = rec.get("name")
    if kind == "execute_tool":
        _set(attrs, "gen_ai.tool.name", name)
    elif kind in ("invoke_agent", "create_agent"):
        _set(attrs, "gen_ai.agent.name", name)
    err = rec.get("error")
    if isinstance(err, Mapping):
        _set(attrs, "error.type", err.get("type"))
    extra = rec.get("attributes")
    if isinstance(extra, Mapping):
        for k, v in extra.items():
            _set(attrs, f"llmlog.attribute.{k}", v)
    if content:
        tool = kind == "execute_tool"
        _set(attrs, "gen_ai.tool.call.arguments" if tool else "llmlog.input", rec.get("input"))
        _set(attrs, "gen_ai.tool.call.result" if tool else "llmlog.output", rec.get("output"))
    return attrs


def interaction_attributes(rec: Mapping[str, Any], *, content: bool = True) -> dict[str, Any]:
    """Return the GenAI attributes of a model-call record (content included when asked)."""
    attrs: dict[str, Any] = {}
    provider = provider_name(rec.get("provider"))
    _set(attrs, "gen_ai.operation.name", rec.get("operation"))
    _set(attrs, "gen_ai.provider.name", provider)
    _set(attrs, "gen_ai.system", provider)
    _set(attrs, "gen_ai.request.model", rec.get("model"))
    _set(attrs, "gen_ai.response.model", rec.get("response_model"))
    raw = rec.get("llm_raw_response")
    if isinstance(raw, Mapping):
        _set(attrs, "gen_ai.response.id", raw.get("id"))
    _set(attrs, "gen_ai.response.finish_reasons", rec.get("finish_reasons") or None)
    params = rec.get("params")
    if isinstance(params, Mapping):
        for name, key in _PARAMS.items():
            if isinstance(params.get(name), (int, float)):
                attrs[key] = params[name]
        stop = params.get("stop")
        _set(attrs, "gen_ai.request.stop_sequences", [stop] if isinstance(stop, str) else stop)
    usage = rec.get("usage")
    if isinstance(usage, Mapping):
        _set(attrs, "gen_ai.usage.input_tokens", usage.get("input_tokens"))
        _set(attrs, "gen_ai.usage.output_tokens", usage.get("output_tokens"))
        _set(attrs, "gen_ai.usage.cache_read.input_tokens", usage.get("cached_input_tokens"))
        _set(attrs, "gen_ai.usage.reasoning.output_tokens", usage.get("reasoning_tokens"))
    _set(attrs, "gen_ai.conversation.id", rec.get("session_id"))
    _set(attrs, "llmlog.request_id", rec.get("request_id"))
    _set(attrs, "llmlog.cost_usd", rec.get("cost_usd"))
    _set(attrs, "llmlog.ttft_ms", rec.get("ttft_ms"))
    _set(attrs, "llmlog.user_id", rec.get("user_id"))
    _set(attrs, "llmlog.tags", rec.get("tags") or None)
    err = rec.get("error")
    if isinstance(err, Mapping):
        _set(attrs, "error.type", err.get("type"))
        _set(attrs, "http.response.status_code", err.get("status_code"))
    if content:
        inp = to_messages(rec.get("prompt_messages"))
        if inp:
            _set(attrs, "gen_ai.input.messages", inp)
        out = output_messages(rec)
        if out:
            _set(attrs, "gen_ai.output.messages", out)
    return attrs


# -- ingest: a GenAI span back into record fields -------------------------------------------------

_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
_CONTENT_EVENTS = frozenset(
    {
        "gen_ai.client.inference.operation.details",  # current: the content as attributes
        "gen_ai.content.prompt",  # older
        "gen_ai.content.completion",
    }
)


def is_genai_span(name: str, attrs: Mapping[str, Any]) -> bool:
    """Whether a span is a model call (by the current, older or OpenInference attributes)."""
    op = attrs.get("gen_ai.operation.name")
    if op is not None:
        return op in _OPERATIONS
    if attrs.get("openinference.span.kind") in ("LLM", "EMBEDDING"):
        return True
    if attrs.get("llm.request.type") in ("chat", "completion", "embedding"):
        return True  # OpenLLMetry
    return "gen_ai.system" in attrs and (
        "gen_ai.request.model" in attrs or "gen_ai.response.model" in attrs
    )


def _indexed(attrs: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """``prefix.N.field`` attributes (older GenAI / OpenLLMetry, OpenInference) as messages."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(prefix):
            continue
        index, _, field = key[len(prefix) :].partition(".")
        if not index.isdigit():
            continue
        field = field.removeprefix("message.")
        found.setdefault(int(index), {})[field] = value
    out = []
    for _, m in sorted(found.items()):
        msg: dict[str, Any] = {"role": m.get("role", "user"), "content": m.get("content", "")}
        calls: dict[int, dict[str, Any]] = {}
        for k, v in m.items():
            if k.startswith("tool_calls."):
                idx, _, f = k[len("tool_calls.") :].partition(".")
                if idx.isdigit():
                    calls.setdefault(int(idx), {})[
                        f.removeprefix("tool_call.").removeprefix("function.")
                    ] = v
        if calls:
            msg["tool_calls"] = [
                {
                    "id": c.get("id"),
                    "name": c.get("name"),
                    "arguments": _json_value(c.get("arguments")),
                }
                for _, c in sorted(calls.items())
            ]
        out.append(msg)
    return out


def _first(attrs: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        v = attrs.get(k)
        if v is not None:
            return v
    return None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.isdigit():
        return int(v)
    return None


def _output_from(messages: Any) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """(text, tool calls, finish reasons) from conventions' output messages."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    reasons: list[str] = []
    for m in messages if isinstance(messages, list) else ():
        if not isinstance(m, Mapping):
            continue
        if m.get("finish_reason"):
            reasons.append(str(m["finish_reason"]))
        parts = m.get("parts")
        if parts is None:  # an OpenAI-style message
            if isinstance(m.get("content"), str):
                texts.append(m["content"])
            calls.extend(
                {"id": c["id"], "name": c["name"], "arguments": c["arguments"]}
                for c in _tool_calls(m.get("tool_calls"))
            )
            continue
        for p in parts if isinstance(parts, list) else ():
            if not isinstance(p, Mapping):
                continue
            if p.get("type") == "text":
                texts.append(str(p.get("content", "")))
            elif p.get("type") == "tool_call":
                calls.append(
                    {
                        "id": p.get("id"),
                        "name": p.get("name"),
                        "arguments": _json_value(p.get("arguments")),
                    }
                )
    text: Any = "".join(texts) if texts else None
    return text, calls, reasons


def interaction_from_span(
    name: str,
    attrs: Mapping[str, Any],
    events: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> dict[str, Any]:
    """Return the record fields a GenAI span tells (the caller adds ids and times).

    Args:
        name: the span's name (``chat gpt-4o``).
        attrs: its attributes, values decoded.
        events: its events as (name, attributes); the
            ``gen_ai.client.inference.operation.details`` event may carry the content.
    """
    merged: dict[str, Any] = dict(attrs)
    for ev_name, ev_attrs in events:
        if ev_name in _CONTENT_EVENTS:
            for k, v in ev_attrs.items():
                merged.setdefault(k, v)
    a = merged
    op = a.get("gen_ai.operation.name")
    if op is None:
        kind = a.get("openinference.span.kind") or a.get("llm.request.type")
        op = (
            "embeddings"
            if kind in ("EMBEDDING", "embedding")
            else "text_completion"
            if kind == "completion"
            else "chat"
        )
    provider = _first(a, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
    model = _first(a, "gen_ai.request.model", "llm.model_name", "gen_ai.response.model")
    fields: dict[str, Any] = {
        "operation": "chat" if op == "generate_content" else op,
        "provider": provider.lower() if isinstance(provider, str) else None,
        "model": model
        if isinstance(model, str)
        else (name.split(" ", 1)[1] if " " in name else None),
        "response_model": a.get("gen_ai.response.model"),
    }
    # prompt: the current JSON attribute, then the older indexed ones, then OpenInference
    prompt = _json_value(a.get("gen_ai.input.messages"))
    system = _json_value(a.get("gen_ai.system_instructions"))
    if prompt is None:
        prompt = _indexed(a, "gen_ai.prompt.") or _indexed(a, "llm.input_messages.") or None
    if prompt is None and a.get("input.value") is not None:
        prompt = _json_value(a.get("input.value"))
        if isinstance(prompt, Mapping) and "messages" in prompt:
            prompt = prompt["messages"]
    if system:
        sys_msg = {
            "role": "system",
            "parts": system
            if isinstance(system, list)
            else [{"type": "text", "content": str(system)}],
        }
        prompt = [sys_msg, *(prompt if isinstance(prompt, list) else [prompt] if prompt else [])]
    fields["prompt_messages"] = prompt
    output = _json_value(a.get("gen_ai.output.messages"))
    if output is None:
        output = _indexed(a, "gen_ai.completion.") or _indexed(a, "llm.output_messages.") or None
    text, calls, reasons = _output_from(output)
    if text is None and output is None and a.get("output.value") is not None:
        text = a.get("output.value")
    fields["parsed_output"] = text
    fields["tool_calls"] = calls
    finish = a.get("gen_ai.response.finish_reasons")
    fields["finish_reasons"] = list(finish) if isinstance(finish, (list, tuple)) else reasons
    inp = _int(
        _first(
            a,
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
            "llm.usage.prompt_tokens",
        )
    )
    out = _int(
        _first(
            a,
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
            "llm.usage.completion_tokens",
        )
    )
    if inp is not None or out is not None:
        fields["usage"] = {
            "input_tokens": inp,
            "output_tokens": out,
            "cached_input_tokens": _int(
                _first(
                    a,
                    "gen_ai.usage.cache_read.input_tokens",
                    "llm.token_count.prompt_details.cache_read",
                )
            ),
            "reasoning_tokens": _int(
                _first(
                    a,
                    "gen_ai.usage.reasoning.output_tokens",
                    "llm.token_count.completion_details.reasoning",
                )
            ),
        }
    params = {}
    for key, value in a.items():
        if key.startswith("gen_ai.request.") and key not in ("gen_ai.request.model",):
            params[key.removeprefix("gen_ai.request.")] = value
    if isinstance(a.get("llm.invocation_parameters"), str):
        inv = _json_value(a["llm.invocation_parameters"])
        if isinstance(inv, Mapping):
            params.update(inv)
    fields["params"] = params
    if a.get("gen_ai.conversation.id") is not None:
        fields["session_id"] = str(a["gen_ai.conversation.id"])
    return fields


# -- ingest: any other span as an llmlog span ----------------------------------------------------


def _json(value: Any) -> bytes:
    """An attribute that holds JSON text keeps its structure; anything else as it is."""
    if value is None:
        return b"null"
    if isinstance(value, str):
        try:
            return orjson.dumps(orjson.loads(value))
        except orjson.JSONDecodeError:
            pass
    return dumps(value)


def span_fields(name: str, attrs: Mapping[str, Any]) -> tuple[str, str, bytes, bytes]:
    """Return (kind, name, input JSON, output JSON) for a span's name and attributes."""
    op = str(attrs.get("gen_ai.operation.name") or name.split(" ", 1)[0] or "task")
    oi_kind = attrs.get("openinference.span.kind")
    if op == "execute_tool" or oi_kind == "TOOL":
        tool = (
            attrs.get("gen_ai.tool.name")
            or attrs.get("tool.name")
            or name.removeprefix("execute_tool ").strip()
        )
        args = attrs.get(
            "gen_ai.tool.call.arguments", attrs.get("tool_arguments", attrs.get("input.value"))
        )
        result = attrs.get(
            "gen_ai.tool.call.result", attrs.get("tool_response", attrs.get("output.value"))
        )
        return "execute_tool", str(tool or "tool"), _json(args), _json(result)
    if op in ("invoke_agent", "create_agent") or oi_kind == "AGENT":
        agent = attrs.get("gen_ai.agent.name") or attrs.get("agent_name") or name
        kind = op if op in ("invoke_agent", "create_agent") else "invoke_agent"
        return (
            kind,
            str(agent),
            _json(attrs.get("input.value")),
            _json(attrs.get("final_result", attrs.get("output.value"))),
        )
    if oi_kind == "RETRIEVER":
        return "retrieval", name, _json(attrs.get("input.value")), _json(attrs.get("output.value"))
    if op in ("chat", "text_completion", "generate_content", "embeddings"):
        model = attrs.get("gen_ai.request.model") or name.removeprefix(op).strip() or op
        return (
            op,
            str(model),
            _json(attrs.get("gen_ai.input.messages")),
            _json(attrs.get("gen_ai.output.messages")),
        )
    if oi_kind == "CHAIN":
        return (
            "invoke_workflow",
            name,
            _json(attrs.get("input.value")),
            _json(attrs.get("output.value")),
        )
    return op if op in _KNOWN else "task", name, b"null", b"null"


_KNOWN = frozenset({"invoke_workflow", "retrieval", "handoff", "guardrail", "evaluation"})

KEEP_ON_SPANS = (
    "gen_ai.provider.name",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.tool.call.id",
    "gen_ai.conversation.id",
)
"""Attributes kept on an ingested llmlog span (the rest are its content or internals)."""
