"""LiteLLM capture: ``litellm.completion`` and ``litellm.acompletion``, with streaming.

LiteLLM does not go through one HTTP client we could wrap: depending on the model
and the features used, a call is served by its native (Rust) dispatcher, by its
own httpx handlers (Anthropic and most providers) or by the ``openai`` SDK
(OpenAI models on the Python path). So LiteLLM itself is the choke point: its
public ``completion`` / ``acompletion`` functions (``litellm.completion`` is
``litellm.chat_completions.dispatch.completion`` in 1.110) are wrapped on the
``litellm`` module. While a wrapped call runs, :data:`llmlog.capture._call.NESTED`
is set, so the ``openai`` SDK wrapper underneath stands aside and the call is
logged once. LiteLLM's retries and fallbacks happen inside the call.

The response (``ModelResponse``) and the stream chunks have the OpenAI chat
shape, so the OpenAI chat assembler rebuilds streams. ``params`` keeps the
OpenAI-style request parameters only, never ``api_key`` or other credentials.

A name bound before ``instrument()`` (``from litellm import completion`` at the
top of a module imported earlier) keeps the unpatched function; call
``instrument()`` before importing LiteLLM, or call ``litellm.completion``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from llmlog.capture._assemble import OpenAIChatAssembler
from llmlog.capture._call import to_dict
from llmlog.capture._methods import Method, MethodIntegration, Plan

__all__ = ["INTEGRATION"]

_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "n",
        "stream",
        "stream_options",
        "stop",
        "max_completion_tokens",
        "max_tokens",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "user",
        "reasoning_effort",
        "verbosity",
        "response_format",
        "seed",
        "tools",
        "tool_choice",
        "logprobs",
        "top_logprobs",
        "parallel_tool_calls",
        "functions",
        "function_call",
        "thinking",
        "modalities",
        "audio",
        "prediction",
        "web_search_options",
        "service_tier",
        "timeout",
        "num_retries",
        "max_retries",
        "custom_llm_provider",
        "api_version",
    }
)


def _response_format(value: Any) -> Any:
    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        return {
            "type": "json_schema",
            "json_schema": {"name": value.__name__, "schema": value.model_json_schema()},
        }
    return value


def _provider_of(result: Any) -> dict[str, Any]:
    """The provider LiteLLM routed the call to, as record fields (empty if unknown)."""
    hidden = getattr(result, "_hidden_params", None)
    p = hidden.get("custom_llm_provider") if isinstance(hidden, dict) else None
    if not (isinstance(p, str) and p):
        p = getattr(result, "custom_llm_provider", None)
    return {"provider": p} if isinstance(p, str) and p else {}


def _convert(result: Any) -> dict[str, Any]:
    return {"llm_raw_response": to_dict(result), **_provider_of(result)}


_STREAM = Plan(
    stream=True, assembler=OpenAIChatAssembler, stream_fields=_provider_of, convert=_convert
)
_PLAIN = Plan(convert=_convert)


def _begin(
    _module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], Plan]:
    model = kwargs.get("model", args[0] if args else None)
    messages = kwargs.get("messages", args[1] if len(args) > 1 else None)
    params = {k: v for k, v in kwargs.items() if k in _PARAMS and v is not None}
    if "response_format" in params:
        params["response_format"] = _response_format(params["response_format"])
    provider = kwargs.get("custom_llm_provider")
    if not provider and isinstance(model, str) and "/" in model:
        provider = model.split("/", 1)[0]
    fields: dict[str, Any] = {
        "provider": provider,
        "operation": "chat",
        "model": model if isinstance(model, str) else None,
        "params": params,
        "prompt_messages": messages,
    }
    base = kwargs.get("api_base") or kwargs.get("base_url")
    if isinstance(base, str) and base:
        host = urlsplit(base).hostname
        if host:
            fields["metadata"] = {"server_address": host}
    return fields, _STREAM if kwargs.get("stream") else _PLAIN


INTEGRATION = MethodIntegration(
    "litellm", "litellm", (Method("", "completion", _begin), Method("", "acompletion", _begin))
)
