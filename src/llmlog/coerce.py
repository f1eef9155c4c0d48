"""Make every typed field of a record fit its type before any sink sees it.

Stores keep a record's typed fields in columns (``timestamp`` a number, ``session_id`` text,
token counts 64-bit integers, ...). One value that does not fit (``timestamp=None``, a dict
as ``session_id``, ``2**64`` tokens) used to fail its whole batch on every retry. Here, on
the writer, after the record is complete and before the processors:

* values that can be converted are converted, silently: an ``int`` user id becomes ``"42"``,
  ``"12.5"`` as ``duration_ms`` becomes ``12.5``, ``3.0`` tokens become ``3``;
* values that cannot are **moved aside**: the field gets its empty value (``None``, ``[]``,
  ``{}``; for ``timestamp`` the time the record was processed) and the value given is kept
  under ``metadata["llmlog_invalid"][field]``, so nothing the app logged is lost.

:func:`coerce_record` returns the names of the fields moved aside; the pipeline counts them
(``coerced`` in ``llmlog.stats()``) and warns at most once a minute.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from typing import Any

from llmlog.record import new_request_id

__all__ = [
    "INVALID_KEY",
    "MAX_INT",
    "coerce_feedback",
    "coerce_record",
    "coerce_usage",
    "cut_long_strings",
]

INVALID_KEY = "llmlog_invalid"
"""The ``metadata`` key under which values that did not fit their field are kept."""

MAX_INT = 2**63 - 1
"""The largest integer a store column holds (a signed 64-bit integer)."""

_TEXT_FIELDS = (
    "provider",
    "model",
    "response_model",
    "session_id",
    "user_id",
    "trace_id",
    "span_id",
    "parent_span_id",
)
_NUMBER_FIELDS = ("duration_ms", "ttft_ms", "cost_usd")
_USAGE_INTS = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens")
_SCALARS = (str, int, float, bool)


def _aside(value: Any) -> Any:
    """Return ``value`` in a form that JSON keeps as it was (NaN and inf become text)."""
    if type(value) is float and not math.isfinite(value):
        return repr(value)
    return value


def _number(v: Any) -> float | None:
    """Return ``v`` as a finite float, or None when it is not a number."""
    t = type(v)
    if t is float:
        return v if math.isfinite(v) else None
    if t is int:
        f = float(v)
        return f if math.isfinite(f) else None
    if t is str:
        try:
            f = float(v.strip())
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def _timestamp(v: Any) -> float | None:
    f = _number(v)
    if f is not None:
        return f
    if type(v) is str:
        try:
            d = _dt.datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if d.tzinfo is None:
            d = d.replace(tzinfo=_dt.timezone.utc)
        return d.timestamp()
    return None


def _count(v: Any) -> int | None:
    """Return ``v`` as a token count (0..MAX_INT), or None when it is not one."""
    t = type(v)
    if t is int:
        return v if 0 <= v <= MAX_INT else None
    if t is float and v.is_integer() and 0 <= v <= MAX_INT:
        return int(v)
    if t is str and v.strip().isdigit():
        n = int(v.strip())
        return n if n <= MAX_INT else None
    return None


def coerce_record(rec: dict[str, Any]) -> list[str]:
    """Make ``rec``'s typed fields fit their types, in place; return the fields moved aside.

    Args:
        rec: a complete interaction record (see :mod:`llmlog.normalize`), owned by the
            caller (the writer).
    """
    bad: dict[str, Any] = {}

    rid = rec.get("request_id")
    if type(rid) is not str or not rid:
        if type(rid) in _SCALARS and rid != "":
            rec["request_id"] = str(rid)
        else:
            bad["request_id"] = rid
            rec["request_id"] = new_request_id()

    ts = rec.get("timestamp")
    if type(ts) is not float or not math.isfinite(ts):
        f = None if type(ts) is bool else _timestamp(ts)
        if f is None:
            bad["timestamp"] = _aside(ts)
            f = time.time()
        rec["timestamp"] = f

    for key in _NUMBER_FIELDS:
        v = rec.get(key)
        if v is None or (type(v) is float and math.isfinite(v)):
            continue
        f = None if type(v) is bool else _number(v)
        if f is None:
            bad[key] = _aside(v)
        rec[key] = f

    for key in _TEXT_FIELDS:
        v = rec.get(key)
        if v is None or type(v) is str:
            continue
        if type(v) in _SCALARS:
            rec[key] = str(v)
        else:
            bad[key] = v
            rec[key] = None

    op = rec.get("operation")
    if type(op) is not str:
        if op is not None:
            bad["operation"] = op
        rec["operation"] = "chat"

    err = rec.get("error")
    if err is not None and not _good_error(err):
        if type(err) is str:
            rec["error"] = {"type": "Error", "message": err, "status_code": None}
        elif type(err) is dict:
            code = err.get("status_code")
            rec["error"] = {
                "type": str(err.get("type") or "Error"),
                "message": str(err.get("message") or ""),
                "status_code": code if type(code) is int and 0 <= code <= MAX_INT else None,
            }
        else:
            bad["error"] = err
            rec["error"] = {"type": "Error", "message": str(err), "status_code": None}
    status = rec.get("status")
    if status not in ("ok", "error"):
        if status is not None and type(status) is not str:
            bad["status"] = status
        rec["status"] = "error" if rec.get("error") is not None else "ok"

    tags = rec.get("tags")
    if type(tags) is not list or any(type(t) is not str for t in tags):
        if type(tags) is list:
            rec["tags"] = [t if type(t) is str else str(t) for t in tags if t is not None]
        elif type(tags) is str:
            rec["tags"] = [tags]
        else:
            if tags is not None:
                bad["tags"] = tags
            rec["tags"] = []

    for key, empty in (("params", dict), ("tool_calls", list), ("finish_reasons", list)):
        v = rec.get(key)
        if type(v) is not empty:
            if v is not None:
                bad[key] = v
            rec[key] = empty()
    if any(type(r) is not str for r in rec["finish_reasons"]):
        rec["finish_reasons"] = [str(r) for r in rec["finish_reasons"]]

    if bad:
        _keep_aside(rec, bad)
    return list(bad)


def coerce_usage(rec: dict[str, Any]) -> list[str]:
    """Make ``rec["usage"]`` (in the contract's form) fit; return the counts moved aside."""
    usage = rec["usage"]
    bad: dict[str, Any] = {}
    _coerce_usage(usage, bad)
    if bad:
        _keep_aside(rec, bad)
    return list(bad)


def _keep_aside(rec: dict[str, Any], bad: dict[str, Any]) -> None:
    meta = rec.get("metadata")
    if type(meta) is not dict:
        meta = rec["metadata"] = {} if meta is None else {"metadata": meta}
    aside = meta.get(INVALID_KEY)
    if type(aside) is not dict:
        aside = meta[INVALID_KEY] = {}
    aside.update(bad)


def _good_error(err: Any) -> bool:
    if type(err) is not dict:
        return False
    code = err.get("status_code")
    return (
        type(err.get("type")) is str
        and type(err.get("message")) is str
        and (code is None or (type(code) is int and 0 <= code <= MAX_INT))
    )


def _coerce_usage(usage: dict[str, Any], bad: dict[str, Any]) -> None:
    changed = False
    for key in _USAGE_INTS:
        v = usage.get(key)
        if v is None or (type(v) is int and 0 <= v <= MAX_INT):
            continue
        n = _count(v)
        if n is None:
            bad[f"usage.{key}"] = _aside(v)
        usage[key] = n
        changed = True
    total = usage.get("total_tokens")
    inp, out = usage.get("input_tokens"), usage.get("output_tokens")
    if changed or not (total is None or (type(total) is int and 0 <= total <= MAX_INT)):
        if inp is not None and out is not None and inp + out <= MAX_INT:
            usage["total_tokens"] = inp + out
        else:
            n = _count(total)
            if n is None and total is not None:
                bad["usage.total_tokens"] = _aside(total)
            usage["total_tokens"] = n
    if type(usage.get("estimated")) is not bool:
        usage["estimated"] = bool(usage.get("estimated"))


def coerce_feedback(rec: dict[str, Any]) -> None:
    """Make a feedback record's typed fields fit (``llmlog.feedback`` checks the score)."""
    if type(rec.get("request_id")) is not str:
        rec["request_id"] = str(rec.get("request_id"))
    ts = rec.get("timestamp")
    if type(ts) is not float or not math.isfinite(ts):
        rec["timestamp"] = _timestamp(ts) or time.time()


def cut_long_strings(value: Any, limit: int) -> tuple[Any, int]:
    """Cut every string longer than ``limit`` characters inside ``value``; count them.

    A cut string keeps its first ``limit`` characters (up to the last whitespace in
    the final 256 of them, so that a token such as a key is never split in two and
    half-scanned by redaction), then a visible marker with the original size:
    ``…[llmlog: truncated 20,000,000 characters to 262,144]``. Containers are changed in
    place; the value is returned (a new one when ``value`` itself is a string).
    """
    if isinstance(value, str):
        if len(value) > limit:
            return _cut(value, limit), 1
        return value, 0
    cut = 0
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items: Any = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for k, v in list(items):
            if isinstance(v, str):
                if len(v) > limit:
                    node[k] = _cut(v, limit)
                    cut += 1
            elif isinstance(v, (dict, list)):
                stack.append(v)
    return value, cut


def _cut(s: str, limit: int) -> str:
    end = limit
    space = max(s.rfind(" ", max(0, limit - 256), limit), s.rfind("\n", max(0, limit - 256), limit))
    if space > 0:
        end = space
    return f"{s[:end]}…[llmlog: truncated {len(s):,} characters to {end:,}]"
