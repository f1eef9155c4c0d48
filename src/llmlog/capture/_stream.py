"""Stream proxies: pass every chunk through unchanged, log the assembled call exactly once.

The SDK's stream object (``openai.Stream``, ``anthropic.AsyncStream``,
LiteLLM's ``CustomStreamWrapper``, ...) is wrapped in a :class:`wrapt.ObjectProxy`
subclass, so ``isinstance`` checks, attributes (``response``, ``request_id``) and
the SDK's own stream helpers (``messages.stream()``, ``chat.completions.stream()``,
which iterate the raw stream) keep working. Only the iteration and lifecycle
methods are overridden:

``__next__`` / ``__anext__``
    call the SDK's, append the chunk to a buffer (assembled every 64 chunks and
    at the end), return the very same chunk. The first chunk stamps ``ttft_ms``.
    ``StopIteration`` finalises the record; an exception finalises it with
    ``status="error"`` and the partial output, then is re-raised unchanged.
``close()`` / ``__exit__`` / ``__aexit__``
    call the SDK's, then finalise (the app stopped early: partial output).
``__del__``
    finalises a stream the application dropped without closing or exhausting it.

:class:`StreamCapture` holds the state shared by all of these and makes sure
the record is submitted once: a lock and a flag, since ``__del__`` may run on
another thread. The proxy never reads ahead: a chunk the application did not ask
for is never read. Nothing the proxy does can raise into the application: an
assembler failure is reported and assembling stops, the chunks keep flowing.

The proxy holds no reference back to itself, so CPython frees it (and logs the
record) as soon as the application drops the last reference.
"""

from __future__ import annotations

import inspect
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import orjson
import wrapt

from llmlog.capture._call import Call, estimated_usage
from llmlog.capture._patch import report_error
from llmlog.normalize import normalize_usage

if TYPE_CHECKING:
    _ObjectProxy = wrapt.ObjectProxy[Any]
else:
    _ObjectProxy = wrapt.ObjectProxy

__all__ = [
    "BATCH",
    "Assembler",
    "AsyncStreamProxy",
    "DualStreamProxy",
    "IterableStreamProxy",
    "StreamCapture",
    "SyncStreamProxy",
]


class Assembler(Protocol):
    """Rebuilds the non-streaming response from the chunks of a stream.

    Called on the thread (or task) that reads the stream; ``add`` must be cheap.
    """

    def add(self, chunk: Any) -> None:
        """Take one chunk (an SDK object or a dict)."""

    def result(self) -> dict[str, Any] | None:
        """Return the response rebuilt so far, in the shape of the non-streaming one."""

    def final_usage(self) -> bool:
        """Return whether the provider's final token usage has arrived."""

    def outputs(self) -> list[str]:
        """Return the output strings (text, tool arguments) for a token estimate."""


BATCH = 64
"""Chunks buffered before they are handed to the assembler (bounds the memory held)."""


class StreamCapture:
    """The record of one stream, finalised once.

    Args:
        call: the call the stream belongs to.
        assembler: rebuilds the response from the chunks.
        finish: optional hook ``(fields) -> None`` run just before submitting,
            to add provider-specific fields (parsed output, provider).
    """

    __slots__ = ("_done", "_lock", "assembler", "buffer", "call", "finish_hook", "first")

    def __init__(
        self,
        call: Call,
        assembler: Assembler | None,
        finish: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.call = call
        self.assembler = assembler
        self.finish_hook = finish
        self.first: float | None = None
        self.buffer: list[Any] = []
        self._lock = threading.Lock()
        self._done = False

    @property
    def done(self) -> bool:
        """Whether the record has been submitted."""
        return self._done

    def chunk(self, item: Any) -> None:
        """Record one chunk the application received; never raises.

        The chunk is only appended to a buffer here, so the application gets it
        back at once; the buffer is assembled in one go every :data:`BATCH`
        chunks and at the end (a tight loop over a batch also runs faster than
        the same work spread between the application's own code).
        """
        if self.first is None:
            self.first = time.perf_counter()
        buf = self.buffer
        buf.append(item)
        if len(buf) >= BATCH:
            self._assemble()

    def _assemble(self) -> None:
        buf, self.buffer = self.buffer, []
        asm = self.assembler
        if asm is None:
            return
        try:
            for item in buf:
                asm.add(item)
        except Exception as exc:
            self.assembler = None
            report_error("stream assembly", exc)

    def finish(self, error: BaseException | None = None) -> None:
        """Submit the record (first call only); never raises."""
        if self._done:
            return
        with self._lock:
            if self._done:
                return
            self._done = True
        end = time.perf_counter()
        call = self.call
        more: dict[str, Any] = {}
        try:
            if self.first is not None:
                more["ttft_ms"] = round((self.first - call.t0) * 1000, 3)
            self._assemble()
            asm = self.assembler
            if asm is not None and self.first is not None:
                raw = asm.result()
                more["llm_raw_response"] = raw
                if not asm.final_usage() and "usage" not in call.fields:
                    more["usage"] = self._estimate(raw, asm)
            if self.finish_hook is not None:
                self.finish_hook(more)
        except Exception as exc:
            report_error("stream finalisation", exc)
        call.submit(end=end, error=error, **more)

    def _estimate(self, raw: dict[str, Any] | None, asm: Assembler) -> dict[str, Any]:
        """Return usage for a stream that ended without the provider's final count.

        Input tokens the provider did report (Anthropic's ``message_start``) are
        kept; the rest is estimated from the text and marked ``estimated``.
        """
        prompt_json = self.call.prompt_json
        usage = estimated_usage(orjson.loads(prompt_json) if prompt_json else None, asm.outputs())
        known = normalize_usage(raw.get("usage")) if raw else None
        if known is not None and known.get("input_tokens") is not None:
            usage["input_tokens"] = known["input_tokens"]
            usage["cached_input_tokens"] = known.get("cached_input_tokens")
            usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        return usage

    def finish_on_gc(self) -> None:
        """Finalise a stream that was garbage-collected before it ended."""
        if not self._done and not sys.is_finalizing():
            self.finish()


class _Base(_ObjectProxy):
    """Shared part of the stream proxies: the capture and the lifecycle methods."""

    def __init__(self, wrapped: Any, capture: StreamCapture) -> None:
        super().__init__(wrapped)
        self._self_capture = capture

    def close(self) -> Any:
        """Close the SDK stream, then log what was received (sync or async ``close``)."""
        cap = self._self_capture
        try:
            result = self.__wrapped__.close()
        except BaseException:
            cap.finish()
            raise
        if inspect.isawaitable(result):
            return _finish_after(result, cap)
        cap.finish()
        return result

    def __del__(self) -> None:
        self._self_capture.finish_on_gc()  # never raises


async def _finish_after(awaitable: Awaitable[Any], cap: StreamCapture) -> Any:
    try:
        return await awaitable
    finally:
        cap.finish()


class _SyncIteration:
    """``__iter__`` / ``__next__`` / ``with`` for a sync stream (mixed into a proxy)."""

    __wrapped__: Any
    _self_capture: StreamCapture

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        try:
            item = self.__wrapped__.__next__()
        except StopIteration:
            self._self_capture.finish()
            raise
        except BaseException as exc:
            self._self_capture.finish(exc)
            raise
        self._self_capture.chunk(item)
        return item

    def __enter__(self) -> Any:
        entered = self.__wrapped__.__enter__()
        return self if entered is self.__wrapped__ else entered

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_capture.finish()


class _AsyncIteration:
    """``__aiter__`` / ``__anext__`` / ``async with`` for an async stream (mixed into a proxy)."""

    __wrapped__: Any
    _self_capture: StreamCapture

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_capture.finish()
            raise
        except BaseException as exc:
            self._self_capture.finish(exc)
            raise
        self._self_capture.chunk(item)
        return item

    async def __aenter__(self) -> Any:
        entered = await self.__wrapped__.__aenter__()
        return self if entered is self.__wrapped__ else entered

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_capture.finish()

    async def aclose(self) -> Any:
        """Close the SDK stream (``aclose``, as async generators have), then log it."""
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_capture.finish()


class SyncStreamProxy(_SyncIteration, _Base):
    """A sync SDK stream, logged when it ends, fails, is closed or is dropped."""


class AsyncStreamProxy(_AsyncIteration, _Base):
    """An async SDK stream, logged when it ends, fails, is closed or is dropped."""


class DualStreamProxy(_SyncIteration, _AsyncIteration, _Base):
    """A stream object iterable both ways (LiteLLM's ``CustomStreamWrapper``)."""


class IterableStreamProxy(_Base):
    """A sync stream that is an iterable, not an iterator (botocore's ``EventStream``).

    Each ``iter()`` reads the SDK's own iterator through a generator that records
    the chunks; the record is logged when it ends, fails or is abandoned.
    """

    def __iter__(self) -> Any:
        cap = self._self_capture
        try:
            for item in self.__wrapped__:
                cap.chunk(item)
                yield item
        except GeneratorExit:
            cap.finish()
            raise
        except BaseException as exc:
            cap.finish(exc)
            raise
        cap.finish()
