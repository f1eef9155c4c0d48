"""Differential checks: an SDK call gives the app the same thing with llmlog as without it.

"The application receives exactly what the SDK returned or raised" (CONTRACT.md) is tested
by making the same call twice against the same fake server, once with the SDKs
un-instrumented and once instrumented, and comparing the two outcomes, instead of naming
the exception class that one SDK release happens to raise (anthropic 2.14 let httpx's
``RemoteProtocolError`` through for a cut stream, 2.17 wraps it in ``APIConnectionError``).

The outcome of a call is what it returned (for a stream consumed with ``consume=True``,
the items it yielded) and what it raised, if anything. Ids that the fake server numbers
per request (``chatcmpl-12``, ``req_7``) differ between the two calls, so digits in
strings are masked before comparing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import llmlog

_DIGITS = re.compile(r"\d+")


@dataclass
class Outcome:
    """What one call gave the app: its result (or a stream's items) and its exception."""

    value: Any = None
    items: list[Any] = field(default_factory=list)
    exc: BaseException | None = None

    @property
    def error_type(self) -> str:
        """The exception's class name (what the record's ``error.type`` must say)."""
        assert self.exc is not None, "the call raised nothing"
        return type(self.exc).__name__

    def summary(self) -> tuple[Any, ...]:
        """Return a comparable summary: exception class, message, status; items; value."""
        exc = self.exc
        err = None
        if exc is not None:
            err = (
                type(exc),
                _mask(str(exc)),
                getattr(exc, "status_code", None),
                type(exc.__cause__),
            )
        return (err, [_plain(i) for i in self.items], _plain(self.value))


def _mask(s: str) -> str:
    return _DIGITS.sub("#", s)


def _plain(x: Any) -> Any:
    """Return ``x`` as plain data with per-request numbers masked."""
    dump = getattr(x, "model_dump", None)
    if callable(dump):
        try:
            x = dump(mode="json")
        except Exception:
            x = repr(x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, str):
        return _mask(x)
    if x is None or isinstance(x, (int, float, bool)):
        return x
    return type(x).__name__


def run(call: Callable[[], Any], *, consume: bool = False) -> Outcome:
    """Call ``call()``; with ``consume``, iterate what it returned until it ends or raises."""
    out = Outcome()
    try:
        value = call()
        if consume:
            for item in value:
                out.items.append(item)
        else:
            out.value = value
    except Exception as exc:
        out.exc = exc
    return out


async def arun(call: Callable[[], Awaitable[Any]], *, consume: bool = False) -> Outcome:
    """Await ``call()``; with ``consume``, iterate what it returned with ``async for``."""
    out = Outcome()
    try:
        value = await call()
        if consume:
            async for item in value:
                out.items.append(item)
        else:
            out.value = value
    except Exception as exc:
        out.exc = exc
    return out


def _compare(plain: Outcome, captured: Outcome) -> None:
    assert captured.summary() == plain.summary(), (
        "llmlog changed what the SDK gave the app:\n"
        f"  without llmlog: {plain.summary()!r}\n  with llmlog:    {captured.summary()!r}"
    )


def differential(call: Callable[[], Any], *, consume: bool = False) -> Outcome:
    """Make ``call`` without llmlog, then with it; assert the app saw the same; return the latter.

    The tests' fixtures instrument every SDK, so the un-instrumented call comes first
    (it is never logged) and the instrumented one second (logged once).
    """
    llmlog.uninstrument()
    try:
        plain = run(call, consume=consume)
    finally:
        llmlog.instrument()
    captured = run(call, consume=consume)
    _compare(plain, captured)
    return captured


async def adifferential(call: Callable[[], Awaitable[Any]], *, consume: bool = False) -> Outcome:
    """The async form of :func:`differential`."""
    llmlog.uninstrument()
    try:
        plain = await arun(call, consume=consume)
    finally:
        llmlog.instrument()
    captured = await arun(call, consume=consume)
    _compare(plain, captured)
    return captured
