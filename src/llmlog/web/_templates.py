"""The Jinja2 environment of the viewer: autoescaping on, strict undefined, small filters."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jinja2
from markupsafe import Markup

from llmlog.display import fmt_int, fmt_ms
from llmlog.extract import text_of
from llmlog.formats import output_text

__all__ = ["env", "fmt_compact", "fmt_money", "fmt_pct", "fmt_time", "render"]


def fmt_time(ts: float | None, *, now: float | None = None) -> str:
    """Return ``ts`` for a table: ``14:03:07`` today, ``Nov 26 14:03`` this year, else dated."""
    if ts is None:
        return "-"
    dt = datetime.fromtimestamp(ts)
    today = datetime.fromtimestamp(time.time() if now is None else now)
    if dt.date() == today.date():
        return dt.strftime("%H:%M:%S")
    if dt.year == today.year:
        return dt.strftime("%b %d %H:%M")
    return dt.strftime("%Y-%m-%d %H:%M")


def fmt_full_time(ts: float | None) -> str:
    """Return ``ts`` in full local time with the zone: ``2026-11-26 14:03:07.512 UTC``."""
    if ts is None:
        return "-"
    dt = datetime.fromtimestamp(ts).astimezone()
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d} {dt.tzname()}"


def iso_local(ts: float | None) -> str:
    """Return ``ts`` as a local ISO time to the minute (what ``since=`` accepts)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%dT%H:%M")


def fmt_compact(n: float | None) -> str:
    """Return a number for an axis or a card: ``950``, ``12.3k``, ``4.1M``."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "-"
    a = abs(n)
    if a >= 1e9:
        return f"{n / 1e9:.1f}B"
    if a >= 1e6:
        return f"{n / 1e6:.1f}M"
    if a >= 1e4:
        return f"{n / 1e3:.0f}k"
    if a >= 1e3:
        return f"{n / 1e3:.1f}k"
    if a == int(a):
        return f"{int(n)}"
    return f"{n:.2f}" if a < 10 else f"{n:.0f}"


def fmt_pct(x: float | None) -> str:
    """Return a fraction as a percentage: ``0.0123`` -> ``1.2%``."""
    if x is None:
        return "-"
    pct = x * 100
    if pct == 0:
        return "0%"
    return f"{pct:.1f}%" if pct >= 0.1 else f"{pct:.2f}%"


def fmt_money(usd: float | None) -> str:
    """Return a cost in dollars: cents from ten cents up, else three significant digits."""
    if usd is None or (isinstance(usd, float) and math.isnan(usd)):
        return "-"
    if usd == 0:
        return "$0"
    a = abs(usd)
    if a >= 100:
        return f"${usd:,.0f}"
    if a >= 0.1:
        return f"${usd:,.2f}"
    text = f"{usd:.3g}"
    return f"${text}" if "e" not in text else f"${usd:.8f}".rstrip("0")


def fmt_score(score: float | None) -> str:
    """Return a feedback score: ``1``, ``0``, ``4.5``."""
    return "-" if score is None else f"{score:g}"


def tokens(rec: Mapping[str, Any]) -> str:
    """Return the total tokens of a record (``~`` when estimated)."""
    usage = rec.get("usage")
    if not isinstance(usage, Mapping) or usage.get("total_tokens") is None:
        return "-"
    return ("~" if usage.get("estimated") else "") + fmt_int(usage.get("total_tokens"))


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def preview_parts(rec: Mapping[str, Any], width: int = 160) -> tuple[str, str]:
    """Return the list's preview: the last user message and the reply (or the error)."""
    prompt = ""
    messages = rec.get("prompt_messages")
    if isinstance(messages, list):
        for m in reversed(messages):
            if isinstance(m, Mapping) and m.get("role") == "user":
                prompt = text_of(m.get("content"))
                break
        else:
            if messages:
                last = messages[-1]
                prompt = text_of(last.get("content") if isinstance(last, Mapping) else last)
    out = output_text(rec)
    err = rec.get("error")
    if not out and isinstance(err, Mapping):
        out = f"{err.get('type')}: {err.get('message')}"
    if not out:
        calls = rec.get("tool_calls")
        if isinstance(calls, list) and calls:
            names = [str(c.get("name")) for c in calls if isinstance(c, Mapping)]
            out = "calls " + ", ".join(names)
    return _clip(prompt, min(width, 72)), _clip(out, width)


def short_id(rid: str | None) -> str:
    """Return the distinctive end of a UUIDv7 request id (its start is the time)."""
    if not rid:
        return "-"
    return rid[-12:] if len(rid) > 20 else rid


env = jinja2.Environment(
    loader=jinja2.PackageLoader("llmlog.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    ms=fmt_ms,
    cost=fmt_money,
    int=fmt_int,
    compact=fmt_compact,
    pct=fmt_pct,
    time=fmt_time,
    full_time=fmt_full_time,
    iso_local=iso_local,
    score=fmt_score,
    tokens=tokens,
    short_id=short_id,
    preview_parts=preview_parts,
)


def render(name: str, **context: Any) -> Markup:
    """Return the template ``name`` rendered with ``context``."""
    return Markup(env.get_template(name).render(**context))
