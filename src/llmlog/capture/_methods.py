"""Capture by wrapping named SDK methods: the shared machinery of the non-Stainless SDKs.

The OpenAI, Anthropic and Groq SDKs send every call through one generated base
client (:mod:`llmlog.capture._stainless`). The other SDKs do not share one, so
each integration names the methods that make LLM calls (``ollama.Client._request``,
``google.genai``'s ``BaseApiClient.request``, ``botocore``'s ``_make_api_call``,
``mistralai``'s ``Chat.complete``, ``cohere``'s ``V2Client.chat``, ...) as
:class:`Method` entries, each with a ``begin`` function that reads one call's
arguments into the record's request fields and a :class:`Plan` that says how to
read what the method returns.

Patching fails soft per method: a method that an SDK release renamed or moved is
skipped with one warning naming it, and the SDK's other methods are still
captured. Calls are captured the same way everywhere: one :class:`Call` per
application call (nested wrapped methods stand aside while it runs), errors logged
and re-raised unchanged, streams wrapped in a proxy that logs the assembled
response when they end, are closed or are dropped.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llmlog.api import is_disabled as _disabled
from llmlog.capture._call import NESTED, Call, to_dict
from llmlog.capture._patch import Patch, Wrapper, report_error, warn_once
from llmlog.capture._stream import (
    Assembler,
    AsyncStreamProxy,
    DualStreamProxy,
    IterableStreamProxy,
    StreamCapture,
    SyncStreamProxy,
)
from llmlog.context import SUPPRESS

__all__ = [
    "Method",
    "MethodIntegration",
    "Plan",
    "drop",
    "inputs_prompt",
    "keyword_begin",
    "messages_prompt",
    "raw_response",
    "stream_proxy",
    "summarize_vectors",
]


def raw_response(result: Any) -> dict[str, Any]:
    """The default ``convert``: the SDK's response object as the provider's dict."""
    return {"llm_raw_response": to_dict(result)}


def summarize_vectors(value: Any) -> Any:
    """Return ``value`` with every list of numbers (an embedding) as ``"<N floats>"``.

    Embedding vectors are not stored (kilobytes each, useless to read); the
    summary keeps their count and dimension, which the record's
    ``parsed_output`` reports.
    """
    if type(value) is dict:
        return {k: summarize_vectors(v) for k, v in value.items()}
    if type(value) is list:
        if value and type(value[0]) in (float, int) and len(value) > 4:
            return f"<{len(value)} floats>"
        return [summarize_vectors(v) for v in value]
    return value


def drop(values: dict[str, Any], omitted: tuple[Any, ...] = (None,)) -> dict[str, Any]:
    """Return ``values`` without the SDK's "not given" markers (None, ``...``, ``Unset()``)."""
    return {
        k: v
        for k, v in values.items()
        if not any(v is o for o in omitted) and type(v).__name__ not in ("Unset", "NotGiven")
    }


def messages_prompt(kwargs: dict[str, Any]) -> Any:
    """``prompt_messages`` from a ``messages=`` argument (SDK message objects as dicts)."""
    messages = kwargs.get("messages")
    return [to_dict(m) for m in messages] if isinstance(messages, (list, tuple)) else messages


def inputs_prompt(name: str) -> Callable[[dict[str, Any]], Any]:
    """``prompt_messages`` from the texts an embeddings call takes (``inputs=``, ``texts=``)."""

    def prompt(kwargs: dict[str, Any]) -> Any:
        value = kwargs.get(name)
        items = value if isinstance(value, (list, tuple)) else [] if value is None else [value]
        return [{"role": "user", "content": x} for x in items]

    return prompt


@dataclass(frozen=True)
class Plan:
    """How to read what one captured call returns.

    Attributes:
        stream: the method returns a stream (an iterator, or an object holding one).
        convert: a plain result -> record fields (``llm_raw_response``, ...).
        assembler: makes the assembler that rebuilds a stream's response.
        wrap: for a result that holds the stream (boto3's ``{"stream": ...}``):
            ``(result, proxy) -> result`` replaces the stream with ``proxy(stream)``.
        stream_fields: the stream object -> record fields known from it when it is
            returned (LiteLLM's provider), added when the stream's record is logged.
    """

    stream: bool = False
    convert: Callable[[Any], dict[str, Any]] = raw_response
    assembler: Callable[[], Assembler] | None = None
    wrap: Callable[[Any, Callable[[Any], Any]], Any] | None = None
    stream_fields: Callable[[Any], dict[str, Any]] | None = None


Begin = Callable[[Any, tuple[Any, ...], dict[str, Any]], "tuple[dict[str, Any], Plan] | None"]
"""``(instance, args, kwargs) -> (request fields, plan)``, or None for a call that is not logged."""


def keyword_begin(
    provider: str,
    operation: str,
    prompt: Callable[[dict[str, Any]], Any],
    plan: Plan,
    skip: frozenset[str],
    omitted: tuple[Any, ...] = (None,),
) -> Begin:
    """A ``begin`` for a public SDK method called with keyword arguments (Mistral, Cohere):
    ``model``, the prompt, and the rest as ``params`` (without ``skip`` and the SDK's
    "not given" markers)."""

    def begin(
        _owner: Any, _args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], Plan]:
        model = kwargs.get("model")
        fields = {
            "provider": provider,
            "operation": operation,
            "model": model if isinstance(model, str) else None,
            "params": drop({k: v for k, v in kwargs.items() if k not in skip}, omitted),
            "prompt_messages": prompt(kwargs),
        }
        return fields, plan

    return begin


@dataclass(frozen=True)
class Method:
    """One SDK method to wrap.

    Attributes:
        owner: dotted path of the class (or module) holding it, from the SDK's top
            module (``"_api_client.BaseApiClient"``; ``""`` for the module itself).
        name: the attribute (``"request"``).
        begin: reads a call's arguments (see :data:`Begin`).
    """

    owner: str
    name: str
    begin: Begin


def stream_proxy(stream: Any, capture: StreamCapture) -> Any:
    """Wrap an SDK stream (sync or async iterator, or an iterable) in the matching proxy."""
    if hasattr(stream, "__anext__"):
        if hasattr(stream, "__next__"):  # iterable both ways (LiteLLM's CustomStreamWrapper)
            return DualStreamProxy(stream, capture)
        return AsyncStreamProxy(stream, capture)
    if hasattr(stream, "__next__"):
        return SyncStreamProxy(stream, capture)
    if hasattr(stream, "__iter__"):
        return IterableStreamProxy(stream, capture)
    capture.finish()
    return stream


def _settle(call: Call, plan: Plan, result: Any, end: float) -> Any:
    """Log a returned result, or wrap its stream; never raises."""
    call.leave()
    try:
        if not plan.stream:
            call.submit(end=end, **plan.convert(result))
            return result
        call.snapshot()
        make = plan.assembler
        known = plan.stream_fields(result) if plan.stream_fields is not None else None
        hook = (lambda more: more.update(known)) if known else None
        capture = StreamCapture(call, make() if make is not None else None, hook)
        if plan.wrap is not None:
            return plan.wrap(result, lambda s: stream_proxy(s, capture))
        return stream_proxy(result, capture)
    except Exception as exc:
        report_error("response capture", exc)
        call.submit(end=end)
        return result


def _failed(call: Call, exc: BaseException) -> None:
    end = time.perf_counter()
    call.leave()
    call.submit(end=end, error=exc)


def _start(
    integration: str, method: Method, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Call, Plan] | None:
    try:
        begun = method.begin(instance, args, kwargs)
        if begun is None:
            return None
        fields, plan = begun
        return Call(fields), plan  # Call() last: it activates a span
    except Exception as exc:
        warn_once(
            f"{integration}-{method.name}-shape",
            "%s call to %s not understood (%s: %s); not logged",
            integration,
            method.name,
            type(exc).__name__,
            exc,
        )
        return None


async def _finish_awaitable(call: Call, plan: Plan, awaitable: Any) -> Any:
    token = NESTED.set(True)
    try:
        result = await awaitable
    except BaseException as exc:
        _failed(call, exc)
        raise
    finally:
        NESTED.reset(token)
    return _settle(call, plan, result, time.perf_counter())


def _sync_wrapper(integration: str, method: Method) -> Callable[[Patch], Wrapper]:
    def make(patch: Patch) -> Wrapper:
        def wrapper(
            wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            if not patch.active or SUPPRESS.get() or NESTED.get() or _disabled():
                return wrapped(*args, **kwargs)
            started = _start(integration, method, instance, args, kwargs)
            if started is None:
                return wrapped(*args, **kwargs)
            call, plan = started
            token = NESTED.set(True)
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                _failed(call, exc)
                raise
            finally:
                NESTED.reset(token)
            if inspect.isawaitable(result):  # a sync function returning a coroutine
                return _finish_awaitable(call, plan, result)
            return _settle(call, plan, result, time.perf_counter())

        return wrapper

    return make


def _async_wrapper(integration: str, method: Method) -> Callable[[Patch], Wrapper]:
    def make(patch: Patch) -> Wrapper:
        async def wrapper(
            wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            if not patch.active or SUPPRESS.get() or NESTED.get() or _disabled():
                return await wrapped(*args, **kwargs)
            started = _start(integration, method, instance, args, kwargs)
            if started is None:
                return await wrapped(*args, **kwargs)
            call, plan = started
            return await _finish_awaitable(call, plan, wrapped(*args, **kwargs))

        return wrapper

    return make


def _resolve(sdk: Any, owner: str) -> Any:
    """The object at ``owner`` under the SDK module: attributes, or submodules to import."""
    obj = sdk
    path = sdk.__name__
    for part in owner.split(".") if owner else ():
        path = f"{path}.{part}"
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(path)  # a lazily imported submodule
    return obj


class MethodIntegration:
    """``instrument()`` support for an SDK captured at named methods.

    Args:
        name: the integration name (an ``instrument()`` option).
        module: the module whose import makes patching possible.
        methods: the methods to wrap.
    """

    def __init__(self, name: str, module: str, methods: Sequence[Method]) -> None:
        self.name = name
        self.module = module
        self.methods = tuple(methods)
        self._patches: list[Patch] | None = None

    @property
    def applied(self) -> bool:
        """Whether at least one method of the SDK is patched now."""
        return any(p.applied for p in self._patches or ())

    def patch(self, sdk: Any) -> bool:
        """Patch every method found; warn once for each one that is missing."""
        if self._patches is None:
            patches: list[Patch] = []
            for m in self.methods:
                try:
                    owner = _resolve(sdk, m.owner)
                    original = getattr(owner, m.name)
                except (AttributeError, ImportError) as exc:
                    warn_once(
                        f"{self.name}-{m.owner}.{m.name}",
                        "%s %s: %s.%s not found (%s); those calls are not logged",
                        self.name,
                        getattr(sdk, "__version__", "?"),
                        m.owner or self.module,
                        m.name,
                        exc,
                    )
                    continue
                make = (
                    _async_wrapper(self.name, m)
                    if inspect.iscoroutinefunction(original)
                    else _sync_wrapper(self.name, m)
                )
                patches.append(Patch(owner, m.name, make))
            if not patches:
                return False
            self._patches = patches
        for p in self._patches:
            p.apply()
        return True

    def unpatch(self) -> None:
        """Restore the SDK's original methods."""
        for p in self._patches or ():
            p.restore()
