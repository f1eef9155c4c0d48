"""The record's encoding: the caller's snapshot, the queue items, and the encoded entry.

One module owns the byte layout every stage relies on (it is measured in
``bench/overhead.py``: the app's thread pays for this):

* the caller's thread snapshots an interaction with :func:`encode_fields` into a
  :data:`Payload`: the light fields, and the *tail*, the end of the encoded record
  (``,"prompt_messages":...,"llm_raw_response":...,"parsed_output":...}``), with the
  lengths of the messages' and the raw response's JSON in it;
* the pipeline's queue holds :data:`QueueItem` tuples ``(kind, payload, context)``;
* the writer encodes each record once into an :class:`Entry`: when no processor had
  to look inside the heavy fields, the line is the record's head with the caller's
  tail appended as it is, and the entry parses a heavy field only when a sink asks
  for it (:func:`tail_parts` and the offsets in :class:`Entry` read the same layout).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from llmlog._serialize import dumps

__all__ = [
    "Entry",
    "Payload",
    "PreEncoded",
    "QueueItem",
    "encode_fields",
    "tail_parts",
    "tail_without_output",
]


class PreEncoded:
    """A value already encoded as JSON (``interaction()`` snapshots its messages on entry)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


Payload = tuple[dict[str, Any] | bytes, bytes, int, int]
"""What the caller hands to the writer: the light fields (as a dict of values
the app cannot change, or as JSON); the *tail*, the end of the encoded record
(``,"prompt_messages":...,"llm_raw_response":...,"parsed_output":...}``);
and the lengths of the messages' and the raw response's JSON in it."""

_odumps = orjson.dumps
_OPT = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _encoded(value: Any) -> bytes:
    return value.data if type(value) is PreEncoded else dumps(value)


def encode_fields(fields: dict[str, Any]) -> Payload:
    """Snapshot an interaction on the caller's thread (``fields`` is consumed).

    The three heavy fields are encoded as JSON once each; the writer embeds
    those bytes in the record as they are, and parses them only when it must
    look inside (the raw response, to derive usage and the rest; everything
    when a processor such as redaction reads the content). The light fields
    travel as the dict itself when every value is a scalar the app cannot
    change afterwards; otherwise as JSON, a snapshot.
    """
    messages = fields.pop("prompt_messages", None)
    if messages is None:
        messages = []
    elif type(messages) is str:
        messages = [{"role": "user", "content": messages}]
    raw = fields.pop("llm_raw_response", None)
    parsed = fields.pop("parsed_output", None)
    light: dict[str, Any] | bytes = fields
    for key in fields:
        if type(fields[key]) not in _SCALAR_TYPES:
            light = b""
            break
    try:  # the common case in one go; anything unusual takes dumps()' careful path
        pm = messages.data if type(messages) is PreEncoded else _odumps(messages, option=_OPT)
        rr = _odumps(raw, option=_OPT)
        po = _odumps(parsed, option=_OPT)
        light = light or _odumps(fields, option=_OPT)
    except Exception:
        light, pm, rr, po = dumps(fields), _encoded(messages), dumps(raw), dumps(parsed)
    # One exact-size bytes for the three, laid out as the end of the encoded record:
    # each orjson result sits in a buffer of at least 4 KB (which would pin ~12 KB
    # per queued interaction), and the writer appends this tail as it is.
    return light, b"".join((_K_PM, pm, _K_RR, rr, _K_PO, po, b"}")), len(pm), len(rr)


_K_PM = b',"prompt_messages":'
_K_RR = b',"llm_raw_response":'
_K_PO = b',"parsed_output":'


def tail_parts(tail: bytes, lm: int, lr: int) -> tuple[bytes, bytes, bytes]:
    """Split a payload's tail into the JSON of messages, raw response and output."""
    a = len(_K_PM)
    b = a + lm + len(_K_RR)
    c = b + lr + len(_K_PO)
    return tail[a : a + lm], tail[b : b + lr], tail[c:-1]


def tail_without_output(tail: bytes, lm: int, lr: int) -> bytes:
    """Return the tail with the output left out (the writer derived it from the response)."""
    end = len(_K_PM) + lm + len(_K_RR) + lr
    return tail[:end] + b"}"


_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))

QueueItem = tuple[int, Any, "Mapping[str, Any] | None"]
"""What the pipeline's queue holds: ``(kind, payload, context)``. ``kind`` is
``INTERACTION`` (payload: a :data:`Payload`), ``FEEDBACK`` (payload: the fields'
JSON) or ``MARKER`` (payload: the ``threading.Event`` a ``flush()`` waits on);
``context`` is the ``llmlog.context()`` in force at the call."""


class Entry:
    """One processed record and its JSON encoding, made once for all sinks.

    ``line`` is the record as one JSON line. ``rec`` is the record as a dict.
    When no processor had to look inside the prompt, raw response or output,
    the line ends with the caller's own JSON of those three, appended as it is,
    and they are absent from the dict until asked for: ``rec`` parses them on
    first access and :meth:`get` parses just the one asked for, so a sink pays
    only for what it reads. ``get("event")`` tells interactions
    (``llm_interaction``) from feedback (``llm_feedback``).
    """

    __slots__ = ("_heavy", "_rec", "line")

    def __init__(
        self, rec: dict[str, Any], line: bytes, heavy: tuple[int, int, int, bool] | None = None
    ) -> None:
        self._rec = rec
        self.line = line
        self._heavy = heavy  # (offset of the tail in line, len messages, len raw, has output)

    def _spans(self) -> dict[str, tuple[int, int]]:
        base, lm, lr, has_output = self._heavy  # type: ignore[misc]
        a = base + 19  # len(',"prompt_messages":')
        b = a + lm + 20  # len(',"llm_raw_response":')
        spans = {"prompt_messages": (a, a + lm), "llm_raw_response": (b, b + lr)}
        if has_output:
            spans["parsed_output"] = (b + lr + 17, len(self.line) - 1)  # ',"parsed_output":'
        return spans

    def get(self, key: str, default: Any = None) -> Any:
        """Return one field of the record, parsing only that one if needed."""
        rec = self._rec
        if key in rec or self._heavy is None:
            return rec.get(key, default)
        span = self._spans().get(key)
        if span is None:
            return default
        value = orjson.loads(self.line[span[0] : span[1]])
        rec[key] = value
        return value

    @property
    def rec(self) -> dict[str, Any]:
        """The whole record as a dict."""
        if self._heavy is not None:
            for key, (a, b) in self._spans().items():
                if key not in self._rec:
                    self._rec[key] = orjson.loads(self.line[a:b])
            self._heavy = None
        return self._rec

    def __repr__(self) -> str:
        return f"Entry({self._rec.get('event')!r}, {self._rec.get('request_id')!r})"
