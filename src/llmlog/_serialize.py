"""Turn whatever an application passes in into JSON, never raising.

The caller's thread snapshots each interaction with one ``orjson.dumps`` call
(about half a microsecond for a 2 KB chat): that is what keeps logging cheap and
makes the record immune to the app mutating its ``messages`` list afterwards.
orjson handles dicts, lists, str, numbers, dataclasses, datetimes, enums, UUIDs
and numpy values natively; :func:`_default` converts the rest (pydantic and SDK
objects via ``model_dump()``, bytes, sets, ...). Anything orjson still refuses
(cycles, huge ints, lone surrogates, a ``model_dump`` that raises) takes the
slow path :func:`to_jsonable`, which walks the value by hand and replaces what it
cannot convert with a marked stand-in string such as ``"<cycle>"`` or
``"<unserializable Foo: ...>"``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as _dt
import decimal
import enum
import math
import pathlib
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["dumps", "to_jsonable"]

_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_MAX_DEPTH = 200
_BYTES_INLINE = 64 * 1024


def _bytes_value(b: bytes | bytearray | memoryview) -> str:
    raw = bytes(b)
    if len(raw) <= _BYTES_INLINE:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "<bytes base64:" + base64.b64encode(raw).decode("ascii") + ">"
    return f"<bytes len={len(raw)}>"


def _safe_repr(obj: object) -> str:
    name = type(obj).__qualname__
    try:
        text = repr(obj)
    except Exception:
        return f"<unserializable {name}>"
    if len(text) > 2000:
        text = text[:2000] + "..."
    return f"<unserializable {name}: {text}>"


def _convert(obj: Any) -> Any:
    """Return a JSON-friendlier stand-in for ``obj`` (one level), or raise TypeError."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump) and not isinstance(obj, type):
        try:
            return dump(mode="json")
        except TypeError:
            return dump()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return _bytes_value(obj)
    if isinstance(obj, (set, frozenset)):
        items = list(obj)
        with contextlib.suppress(TypeError):
            items.sort()
        return items
    if isinstance(obj, tuple):
        return list(obj)
    if isinstance(obj, decimal.Decimal):
        return float(obj) if obj.is_finite() else str(obj)
    if isinstance(obj, pathlib.PurePath):
        return str(obj)
    if isinstance(obj, BaseException):
        return {"type": type(obj).__name__, "message": str(obj)}
    for attr in ("to_dict", "dict", "tolist"):  # pydantic v1, SDK objects, numpy
        fn = getattr(obj, attr, None)
        if callable(fn) and not isinstance(obj, type):
            return fn()
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(type(obj).__qualname__)


def _default(obj: Any) -> Any:
    return _convert(obj)


def to_jsonable(obj: Any, _depth: int = 0, _seen: set[int] | None = None) -> Any:
    """Return a JSON-safe copy of ``obj``; never raises.

    Cycles become ``"<cycle>"``, values nothing can convert become
    ``"<unserializable Type: repr>"`` and nesting deeper than 200 levels becomes
    ``"<too deep>"``.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return _text(obj) if isinstance(obj, str) else obj
    if isinstance(obj, int) and not isinstance(obj, enum.Enum):
        return obj if -(2**63) <= obj < 2**64 else str(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value, _depth + 1, _seen)
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if _depth > _MAX_DEPTH:
        return "<too deep>"
    seen = _seen if _seen is not None else set()
    oid = id(obj)
    if oid in seen:
        return "<cycle>"
    seen.add(oid)
    try:
        if isinstance(obj, dict):
            out: dict[str, Any] = {}
            for k, v in obj.items():
                key = _text(k) if isinstance(k, str) else _key(k)
                out[key] = to_jsonable(v, _depth + 1, seen)
            return out
        if isinstance(obj, list):
            return [to_jsonable(v, _depth + 1, seen) for v in obj]
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            try:
                fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            except Exception:
                return _safe_repr(obj)
            return to_jsonable(fields, _depth + 1, seen)
        try:
            converted = _convert(obj)
        except Exception:
            return _safe_repr(obj)
        return to_jsonable(converted, _depth + 1, seen)
    finally:
        seen.discard(oid)


def _text(s: str) -> str:
    """Return ``s`` encodable as UTF-8 (a lone surrogate becomes ``?``)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "replace").decode("utf-8")
    return s


def _key(k: Any) -> str:
    if isinstance(k, enum.Enum):
        k = k.value
    try:
        return _text(k if isinstance(k, str) else str(k))
    except Exception:
        return _safe_repr(k)


def dumps(obj: Any) -> bytes:
    """Serialize ``obj`` to JSON bytes; never raises (see the module docstring)."""
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS)
    except Exception:
        pass
    try:
        return orjson.dumps(to_jsonable(obj), option=_OPTS)
    except Exception as exc:  # pragma: no cover - to_jsonable returns plain JSON
        return orjson.dumps(f"<unserializable: {exc}>")
