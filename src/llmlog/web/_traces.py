"""The traces pages: the list of recent runs, and one run as a waterfall beside its details.

The waterfall is server-rendered: each node is a row (indented by depth) with an SVG
bar placed by its start and duration within the run (SVG attributes, since the CSP
allows no inline styles). Each node's details (a tool's input and output, a model
call's messages and answer with a link to its conversation page) are rendered once,
hidden, and shown by the CSS ``:target`` of the row's link: no script needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from llmlog.store.model import Trace, TraceNode
from llmlog.store.timespec import parse_time

__all__ = ["TRACE_RANGES", "Row", "rows", "since_of"]

TRACE_RANGES: tuple[tuple[str, str], ...] = (
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("all", "Any time"),
)

BAR_WIDTH = 1000
"""The bars' SVG coordinate width (the SVG scales to its cell)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One node of the waterfall, ready for the template."""

    node: TraceNode
    depth: int
    anchor: str
    x: float
    width: float
    offset_ms: float
    href: str | None
    """A model call's conversation page."""
    input: str | None
    output: str | None


def since_of(value: str) -> float | None:
    """Return the epoch seconds of a range value (``24h``...; ``all`` is None)."""
    return None if value == "all" else parse_time(value)


def _pretty(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def rows(tr: Trace) -> list[Row]:
    """Return the waterfall rows of a trace, depth first in start order."""
    start = tr.summary.start
    total = max(tr.summary.duration_ms, 0.001)
    out = []
    for depth, n in tr.walk():
        offset = (n.start - start) * 1000
        dur = n.duration_ms or 0.0
        x = min(BAR_WIDTH, max(0.0, offset / total * BAR_WIDTH))
        width = max(2.0, min(BAR_WIDTH - x, dur / total * BAR_WIDTH))
        rec = n.record
        rid = rec.get("request_id") if n.model_call else None
        out.append(
            Row(
                node=n,
                depth=min(depth, 30),
                anchor="n-" + n.span_id,
                x=round(x, 2),
                width=round(width, 2),
                offset_ms=offset,
                href="/i/" + quote(str(rid), safe="") if rid else None,
                input=_pretty(rec.get("prompt_messages") if n.model_call else rec.get("input")),
                output=_pretty(rec.get("parsed_output") if n.model_call else rec.get("output")),
            )
        )
    return out
