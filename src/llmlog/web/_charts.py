"""Charts drawn on the server as inline SVG: bars (stacked by series) and lines.

No chart library and no script: the dashboard is plain markup that renders
before any JavaScript runs and passes the CSP. Series colours are CSS classes
(``s0`` ... ``s7``), so no ``style`` attribute is needed. Every label and
tooltip (``<title>``) is escaped; model names are logged data too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

__all__ = ["PALETTE_SIZE", "Series", "bar_chart", "line_chart", "nice_scale", "share_bar"]

PALETTE_SIZE = 8
"""How many series colours the stylesheet defines (``s0`` ... ``s7``)."""

LEFT, RIGHT, TOP, BOTTOM = 56, 14, 14, 28
MAX_BAR = 56.0


@dataclass(frozen=True, slots=True)
class _Box:
    """The drawing area: the whole SVG (w, h) and the plot inside the axes (pw, ph)."""

    w: int
    h: int

    @property
    def pw(self) -> float:
        return self.w - LEFT - RIGHT

    @property
    def ph(self) -> float:
        return self.h - TOP - BOTTOM


@dataclass(frozen=True, slots=True)
class Series:
    """One named series of values, one per time bucket (None: no value there).

    Attributes:
        name: the legend text (escaped when drawn).
        values: one value per bucket.
        css: the colour class, ``s0`` ... ``s7``.
        hrefs: optional link per bucket (drill down to the interactions).
    """

    name: str
    values: Sequence[float | None]
    css: str = "s0"
    hrefs: Sequence[str] | None = None


def nice_scale(value: float) -> tuple[float, int]:
    """Return the top of an axis for values up to ``value``, and how many steps to draw.

    Steps are round numbers (1, 2, 2.5 or 5 x 10^n); there are at most four.
    """
    if value <= 0 or math.isnan(value):
        return 1.0, 4
    raw = value / 4
    exp = math.floor(math.log10(raw))
    step = 10.0 ** (exp + 1)
    for m in (1.0, 2.0, 2.5, 5.0):
        if m * 10.0**exp >= raw * (1 - 1e-9):
            step = m * 10.0**exp
            break
    n = max(1, math.ceil(value / step - 1e-9))
    return step * n, n


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def bucket_label(ts: float, bucket: str, *, long: bool = False) -> str:
    """Return a point's start as people read it: ``14:00``, ``Nov 26``, ``Nov 2026``.

    ``bucket`` is ``hour``, ``day``, ``week`` or ``month``; ``long`` is for tooltips.
    """
    dt = datetime.fromtimestamp(ts)
    if bucket == "hour":
        return dt.strftime("%b %d %H:%M") if long else dt.strftime("%H:%M")
    if bucket == "week":
        return dt.strftime("week of %b %d") if long else dt.strftime("%b %d")
    if bucket == "month":
        return dt.strftime("%B %Y") if long else dt.strftime("%b %Y")
    return dt.strftime("%a %b %d") if long else dt.strftime("%b %d")


def _frame(
    box: _Box,
    kind: str,
    name: str,
    title: str,
    scale: tuple[float, int],
    fmt: Callable[[float], str],
    xs: Sequence[float],
    bucket: str,
    points: int,
) -> list[Markup]:
    top, steps = scale
    W, H, PW, PH = box.w, box.h, box.pw, box.ph
    out = [
        Markup(
            f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" '
            f'preserveAspectRatio="xMidYMid meet" data-chart="{escape(name)}" '
            f'data-kind="{kind}" data-points="{points}" aria-label="'
        )
        + escape(title)
        + Markup('">')
    ]
    for i in range(steps + 1):
        y = TOP + PH - PH * i / steps
        out.append(
            Markup(
                f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{_num(y)}" y2="{_num(y)}"/>'
            )
        )
        out.append(
            Markup(f'<text class="ylab" x="{LEFT - 6}" y="{_num(y + 4)}">')
            + escape(fmt(top * i / steps))
            + Markup("</text>")
        )
    n = len(xs)
    if n:
        every = max(1, math.ceil(n / max(4, W // 90)))
        band = PW / n
        for i in range(0, n, every):
            x = LEFT + band * (i + 0.5)
            out.append(
                Markup(f'<text class="xlab" x="{_num(x)}" y="{H - 8}">')
                + escape(bucket_label(xs[i], bucket))
                + Markup("</text>")
            )
    if not points:
        out.append(
            Markup(
                f'<text class="empty" x="{LEFT + PW / 2:.0f}" y="{TOP + PH / 2:.0f}">'
                "No data in this range</text>"
            )
        )
    return out


def bar_chart(
    name: str,
    title: str,
    xs: Sequence[float],
    series: Sequence[Series],
    *,
    bucket: str,
    fmt: Callable[[float], str],
    width: int = 640,
    height: int = 220,
) -> Markup:
    """Return an SVG bar chart, the series stacked in each time bucket.

    Args:
        name: the chart's id (``data-chart``), for tests and styling.
        title: the accessible name.
        xs: bucket start times (epoch seconds), oldest first.
        series: the stacked series (each as long as ``xs``).
        bucket: ``hour``, ``day``, ``week`` or ``month`` (for the labels).
        fmt: formats an axis or tooltip value.
        width: the SVG's width in its own units (it scales to its box).
        height: the SVG's height in its own units.
    """
    box = _Box(width, height)
    PH = box.ph
    totals = [sum(s.values[i] or 0.0 for s in series) for i in range(len(xs))]
    points = sum(1 for t in totals if t > 0)
    scale = nice_scale(max(totals, default=0.0))
    top = scale[0]
    out = _frame(box, "bar", name, title, scale, fmt, xs, bucket, points)
    n = len(xs)
    band = box.pw / n if n else box.pw
    bar = min(MAX_BAR, max(1.0, band * 0.72))
    for i, x0 in enumerate(xs):
        base = 0.0
        x = LEFT + band * i + (band - bar) / 2
        for s in series:
            v = s.values[i]
            if not v:
                continue
            y1 = TOP + PH - PH * (base + v) / top
            h = max(0.5, PH * v / top)
            tip = f"{bucket_label(x0, bucket, long=True)} · {s.name}: {fmt(v)}"
            rect = (
                Markup(
                    f'<rect class="bar {escape(s.css)}" x="{_num(x)}" y="{_num(y1)}" '
                    f'width="{_num(bar)}" height="{_num(h)}"><title>'
                )
                + escape(tip)
                + Markup("</title></rect>")
            )
            if s.hrefs is not None:
                rect = (
                    Markup('<a href="') + escape(s.hrefs[i]) + Markup('">') + rect + Markup("</a>")
                )
            out.append(rect)
            base += v
    out.append(Markup("</svg>"))
    return Markup("").join(out)


def line_chart(
    name: str,
    title: str,
    xs: Sequence[float],
    series: Sequence[Series],
    *,
    bucket: str,
    fmt: Callable[[float], str],
    width: int = 640,
    height: int = 220,
) -> Markup:
    """Return an SVG line chart, one line per series; gaps where a value is None.

    Args are as for :func:`bar_chart`.
    """
    box = _Box(width, height)
    PH = box.ph
    values = [v for s in series for v in s.values if v is not None]
    points = len(values)
    scale = nice_scale(max(values, default=0.0))
    top = scale[0]
    out = _frame(box, "line", name, title, scale, fmt, xs, bucket, points)
    n = len(xs)
    band = box.pw / n if n else box.pw
    for s in series:
        segment: list[str] = []
        segments: list[list[str]] = []
        dots: list[Markup] = []
        for i, v in enumerate(s.values):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x = LEFT + band * (i + 0.5)
            y = TOP + PH - PH * v / top
            segment.append(f"{_num(x)},{_num(y)}")
            tip = f"{bucket_label(xs[i], bucket, long=True)} · {s.name}: {fmt(v)}"
            dots.append(
                Markup(
                    f'<circle class="dot {escape(s.css)}" cx="{_num(x)}" '
                    f'cy="{_num(y)}" r="{3 if n <= 60 else 1.5}"><title>'
                )
                + escape(tip)
                + Markup("</title></circle>")
            )
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                out.append(
                    Markup(f'<polyline class="line {escape(s.css)}" points="{" ".join(seg)}"/>')
                )
        out += dots
    out.append(Markup("</svg>"))
    return Markup("").join(out)


def share_bar(fraction: float, css: str = "s0") -> Markup:
    """Return a small horizontal bar showing ``fraction`` (0..1) of a whole."""
    f = 0.0 if math.isnan(fraction) else min(1.0, max(0.0, fraction))
    return Markup(
        f'<svg class="share" viewBox="0 0 100 8" preserveAspectRatio="none" '
        f'aria-hidden="true"><rect class="track" x="0" y="0" width="100" height="8"/>'
        f'<rect class="bar {escape(css)}" x="0" y="0" width="{f * 100:.1f}" '
        f'height="8"/></svg>'
    )
