"""The frames apps send to the collector: one ``SOCK_SEQPACKET`` message per record.

One byte of kind, then:

* ``I`` (an interaction): four lengths (``!IIII``: the light fields' JSON, the messages'
  JSON, the raw response's JSON, the context's JSON), the light JSON, the tail
  (:mod:`llmlog.encoding`) and the context JSON;
* ``B`` (feedback) and ``P`` (a span, :mod:`llmlog.tracing`): the record's JSON;
* ``S`` asks for the collector's status, ``F`` for a flush; the reply is JSON.

The collector never trusts a frame: :func:`decode` raises ``ValueError`` for anything it
cannot take, and the collector counts it.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

__all__ = [
    "FEEDBACK",
    "FLUSH",
    "INTERACTION",
    "MAX_FRAME",
    "SPAN",
    "STATUS",
    "decode",
    "encode",
]

MAX_FRAME = 1024 * 1024
"""Larger records take the in-process path (a collector reads frames up to this size)."""

INTERACTION, FEEDBACK, SPAN = b"I", b"B", b"P"
STATUS, FLUSH = b"S", b"F"

_HEAD = struct.Struct("!IIII")


def encode(kind: bytes, payload: Any, ctx: Any) -> bytes:
    """Return the frame for one snapshot."""
    if kind in (FEEDBACK, SPAN):
        return kind + payload  # type: ignore[no-any-return]
    light, tail, lm, lr = payload
    lj = light if type(light) is bytes else orjson.dumps(light)
    cj = b"" if ctx is None else orjson.dumps(ctx)
    return b"".join((INTERACTION, _HEAD.pack(len(lj), lm, lr, len(cj)), lj, tail, cj))


def decode(frame: bytes) -> tuple[bytes, Any, Any]:
    """Return (kind, payload, ctx) from a frame; raises ValueError for a malformed one."""
    kind = frame[:1]
    if kind in (FEEDBACK, SPAN):
        if not isinstance(orjson.loads(frame[1:]), dict):  # checked here: counted, not queued
            raise ValueError("not a JSON object")
        return kind, frame[1:], None
    if kind != INTERACTION or len(frame) < 1 + _HEAD.size:
        raise ValueError("unknown frame")
    ll, lm, lr, lc = _HEAD.unpack_from(frame, 1)
    start = 1 + _HEAD.size
    tail_end = len(frame) - lc
    light = orjson.loads(frame[start : start + ll])
    tail = frame[start + ll : tail_end]
    if not isinstance(light, dict) or lm + lr > len(tail) or tail[-1:] != b"}":
        raise ValueError("malformed interaction frame")
    ctx = orjson.loads(frame[tail_end:]) if lc else None
    return INTERACTION, (light, tail, lm, lr), ctx
