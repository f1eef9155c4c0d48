"""OpenAI SDK capture: ``OpenAI``, ``AsyncOpenAI``, ``AzureOpenAI``, any ``base_url``.

The choke point is the SDK base client's ``request`` method
(:mod:`llmlog.capture._stainless`); this module says which API paths are LLM
calls and how to read them:

=====================  ==================  ===============================================
path                   operation           prompt_messages
=====================  ==================  ===============================================
``/chat/completions``  ``chat``            ``messages``
``/responses``         ``chat``            ``instructions`` (as a system message) + ``input``
``/completions``       ``text_completion`` ``prompt`` as user message(s)
``/embeddings``        ``embeddings``      ``input`` as user message(s)
=====================  ==================  ===============================================

The Responses API is a chat call in the OpenTelemetry GenAI conventions (the
well-known ``gen_ai.operation.name`` values must be used when one applies);
``llm_raw_response.object == "response"`` tells it apart.

Embedding vectors are not stored: each is replaced by a short ``"<1536 floats>"``
summary and ``parsed_output`` is ``{"count", "dimensions"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmlog.capture._assemble import (
    OpenAIChatAssembler,
    OpenAICompletionAssembler,
    OpenAIResponsesAssembler,
)
from llmlog.capture._call import field_names, to_dict
from llmlog.capture._stainless import (
    Endpoint,
    SDKSpec,
    StainlessIntegration,
    sentinels_of,
    server_metadata,
)

__all__ = ["INTEGRATION", "convert_embeddings"]

_metadata = server_metadata("api.openai.com")


def _user_messages(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [{"role": "user", "content": v} for v in value]
    return [{"role": "user", "content": value}]  # token arrays


def _chat_prompt(body: Mapping[str, Any]) -> Any:
    return body.get("messages")


def _responses_prompt(body: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        out.append({"role": "system", "content": instructions})
    inp = body.get("input")
    if isinstance(inp, str):
        out.append({"role": "user", "content": inp})
    elif isinstance(inp, list):
        out.extend(inp)
    elif inp is not None:
        out.append(inp)
    return out


def _completion_prompt(body: Mapping[str, Any]) -> list[Any]:
    return _user_messages(body.get("prompt"))


def _embeddings_prompt(body: Mapping[str, Any]) -> list[Any]:
    return _user_messages(body.get("input"))


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _fields_of(obj: Any) -> frozenset[str]:
    """Return the pydantic field names of an SDK object's class (empty for others)."""
    return field_names(type(obj)) or frozenset()


def _convert_chat(obj: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"llm_raw_response": data if data is not None else to_dict(obj)}
    choices = None if obj is None or isinstance(obj, dict) else getattr(obj, "choices", None)
    if choices and "parsed" in _fields_of(getattr(choices[0], "message", None)):
        # chat.completions.parse(): the parsed object(s)
        parsed = [getattr(c.message, "parsed", None) for c in choices]
        if any(p is not None for p in parsed):
            out["parsed_output"] = parsed[0] if len(parsed) == 1 else parsed
    return out


def _convert_responses(obj: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"llm_raw_response": data if data is not None else to_dict(obj)}
    # responses.parse(): the parsed object
    if obj is not None and not isinstance(obj, dict) and hasattr(type(obj), "output_parsed"):
        parsed = obj.output_parsed
        if parsed is not None:
            out["parsed_output"] = parsed
    return out


def _convert_plain(obj: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"llm_raw_response": data if data is not None else to_dict(obj)}


def _dimensions(vec: Any) -> int | None:
    if isinstance(vec, list):
        return len(vec)
    if isinstance(vec, str):  # base64 of float32
        pad = len(vec) - len(vec.rstrip("="))
        return (len(vec) * 3 // 4 - pad) // 4
    return None


def convert_embeddings(obj: Any, raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the fields of an embeddings response, vectors replaced by a summary.

    Args:
        obj: the SDK's response object (or a dict).
        raw: the response's JSON, when read from the wire (preferred to ``obj``).
    """
    if raw is not None:
        obj = raw
    data = _get(obj, "data") or []
    items = []
    dims: int | None = None
    for e in data:
        n = _dimensions(_get(e, "embedding"))
        if n is not None:
            dims = n if dims is None else max(dims, n)
        items.append(
            {
                "object": _get(e, "object") or "embedding",
                "index": _get(e, "index"),
                "embedding": f"<{n} floats>" if n is not None else "<omitted>",
            }
        )
    usage = to_dict(_get(obj, "usage"))
    raw = {
        "object": _get(obj, "object") or "list",
        "data": items,
        "model": _get(obj, "model"),
        "usage": usage,
    }
    out: dict[str, Any] = {
        "llm_raw_response": raw,
        "parsed_output": {"count": len(data), "dimensions": dims},
    }
    if isinstance(usage, Mapping):
        # Embeddings produce no output tokens; saying so (rather than nothing) lets the
        # pipeline price the call.
        inp = usage.get("prompt_tokens", usage.get("input_tokens"))
        if isinstance(inp, int):
            out["usage"] = {"input_tokens": inp, "output_tokens": 0, "total_tokens": inp}
    return out


_CHAT = Endpoint(
    "chat", _chat_prompt, frozenset({"messages", "model"}), _convert_chat, OpenAIChatAssembler
)
_RESPONSES = Endpoint(
    "chat",
    _responses_prompt,
    frozenset({"input", "instructions", "model"}),
    _convert_responses,
    OpenAIResponsesAssembler,
)
_COMPLETIONS = Endpoint(
    "text_completion",
    _completion_prompt,
    frozenset({"prompt", "model"}),
    _convert_plain,
    OpenAICompletionAssembler,
)
_EMBEDDINGS = Endpoint(
    "embeddings", _embeddings_prompt, frozenset({"input", "model"}), convert_embeddings
)

ENDPOINTS: tuple[tuple[str, Endpoint], ...] = (
    ("/chat/completions", _CHAT),
    ("/responses", _RESPONSES),
    ("/completions", _COMPLETIONS),
    ("/embeddings", _EMBEDDINGS),
)


def _provider(client: Any) -> str:
    return "azure.ai.openai" if "Azure" in type(client).__name__ else "openai"


def _spec(sdk: Any) -> SDKSpec:
    sentinels = sentinels_of(sdk)
    return SDKSpec("openai", ENDPOINTS, _provider, _metadata, sentinels)


INTEGRATION = StainlessIntegration("openai", "openai", _spec)
