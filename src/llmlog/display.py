"""How numbers look to people: latencies, counts and costs, for the CLI and the viewer."""

from __future__ import annotations

import math

__all__ = ["fmt_cost", "fmt_int", "fmt_ms"]


def fmt_ms(ms: float | None) -> str:
    """Return a latency for people: ``812ms``, ``1.24s``, ``-`` when unknown."""
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return "-"
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f}s"
    return f"{ms / 60_000:.1f}min"


def fmt_int(n: int | None) -> str:
    """Return a count with thousands separators, ``-`` when unknown."""
    return "-" if n is None else f"{n:,}"


def fmt_cost(usd: float | None) -> str:
    """Return a cost in dollars with the precision small numbers need."""
    if usd is None:
        return "-"
    if usd == 0:
        return "$0"
    if abs(usd) >= 100:
        return f"${usd:,.0f}"
    if abs(usd) >= 0.01:
        return f"${usd:,.2f}"
    if abs(usd) >= 0.000001:
        return f"${usd:.6f}".rstrip("0")
    return f"${usd:.1e}"  # below a millionth of a dollar: $6.0e-08, never "$0."
