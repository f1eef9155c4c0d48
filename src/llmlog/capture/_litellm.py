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

import inspect
import time
from typing import Any
from urllib.parse import urlsplit

from llmlog.api import is_disabled as _disabled
from llmlog.capture._assemble import OpenAIChatAssembler
from llmlog.capture._call import NESTED, Call, to_dict
from llmlog.capture._patch import Patch, Wrapper, report_error, warn_once
from llmlog.capture._stream import DualStreamProxy, StreamCapture
from llmlog.context import SUPPRESS

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


def _begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
    try:
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
        return Call(fields)
    except Exception as exc:
        warn_once(
            "litellm-shape",
            "litellm call not understood (%s: %s); not logged",
            type(exc).__name__,
            exc,
        )
        return None


def _provider_of(result: Any) -> str | None:
    hidden = getattr(result, "_hidden_params", None)
    if isinstance(hidden, dict):
        p = hidden.get("custom_llm_provider")
        if isinstance(p, str) and p:
            return p
    p = getattr(result, "custom_llm_provider", None)
    return p if isinstance(p, str) and p else None


def _returned(call: Call, result: Any, stream: bool) -> Any:
    """Log a LiteLLM result or wrap its stream; never raises."""
    end = time.perf_counter()
    call.leave()
    try:
        if stream and (hasattr(result, "__next__") or hasattr(result, "__anext__")):
            call.snapshot()
            provider = _provider_of(result)

            def hook(more: dict[str, Any]) -> None:
                if provider:
                    more["provider"] = provider

            return DualStreamProxy(result, StreamCapture(call, OpenAIChatAssembler(), hook))
        more: dict[str, Any] = {"llm_raw_response": to_dict(result)}
        provider = _provider_of(result)
        if provider:
            more["provider"] = provider
        call.submit(end=end, **more)
    except Exception as exc:
        report_error("litellm response capture", exc)
        call.submit(end=end)
    return result


def _failed(call: Call, exc: BaseException) -> None:
    end = time.perf_counter()
    call.leave()
    call.submit(end=end, error=exc)


async def _finish_awaitable(call: Call, awaitable: Any, stream: bool) -> Any:
    token = NESTED.set(True)
    try:
        result = await awaitable
    except BaseException as exc:
        _failed(call, exc)
        raise
    finally:
        NESTED.reset(token)
    return _returned(call, result, stream)


def _sync_wrapper(patch: Patch) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not patch.active or SUPPRESS.get() or NESTED.get() or _disabled():
            return wrapped(*args, **kwargs)
        call = _begin(args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        stream = bool(kwargs.get("stream"))
        token = NESTED.set(True)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _failed(call, exc)
            raise
        finally:
            NESTED.reset(token)
        if inspect.isawaitable(result):  # completion(..., acompletion=True)
            return _finish_awaitable(call, result, stream)
        return _returned(call, result, stream)

    return wrapper


def _async_wrapper(patch: Patch) -> Wrapper:
    async def wrapper(
        wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if not patch.active or SUPPRESS.get() or NESTED.get() or _disabled():
            return await wrapped(*args, **kwargs)
        call = _begin(args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        return await _finish_awaitable(call, wrapped(*args, **kwargs), bool(kwargs.get("stream")))

    return wrapper


class LiteLLMIntegration:
    """``instrument()`` support for LiteLLM: wraps ``litellm.completion`` / ``acompletion``."""

    name = "litellm"
    module = "litellm"

    def __init__(self) -> None:
        self._patches: list[Patch] | None = None

    @property
    def applied(self) -> bool:
        """Whether LiteLLM is patched now."""
        return bool(self._patches) and all(p.applied for p in self._patches or ())

    def patch(self, sdk: Any) -> bool:
        """Patch the imported ``litellm`` module; False (one warning) if not understood."""
        if self._patches is None:
            completion = getattr(sdk, "completion", None)
            acompletion = getattr(sdk, "acompletion", None)
            if not callable(completion) or not inspect.iscoroutinefunction(acompletion):
                warn_once(
                    "litellm-version",
                    "litellm %s is not supported by this llmlog; its calls are not logged",
                    getattr(sdk, "__version__", "?"),
                )
                return False
            self._patches = [
                Patch(sdk, "completion", _sync_wrapper),
                Patch(sdk, "acompletion", _async_wrapper),
            ]
        for p in self._patches:
            p.apply()
        return True

    def unpatch(self) -> None:
        """Restore LiteLLM's original functions."""
        for p in self._patches or ():
            p.restore()


INTEGRATION = LiteLLMIntegration()
