"""Small SQL helpers shared by the SQLite reader's modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import orjson

from llmlog.record import LLMRecord

__all__ = ["in_list", "loads"]


def loads(data: str | bytes) -> LLMRecord:
    """Return a stored record (JSON text) as a record."""
    return cast(LLMRecord, orjson.loads(data))


def in_list(values: Sequence[Any]) -> str:
    """Return ``(?,?,...)`` for ``values``."""
    return f"({','.join('?' * len(values))})"
