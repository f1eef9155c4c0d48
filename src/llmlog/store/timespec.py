"""Parse the times people type: ``2h``, ``30m``, ``7d``, ``2026-11-01``, ``yesterday``."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

__all__ = ["parse_duration", "parse_time"]

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|w)\s*$", re.IGNORECASE)
_HINT = "use a duration like 30m, 2h, 7d or a date like 2026-11-01 or 2026-11-01T14:30"


def parse_duration(text: str) -> float:
    """Return the number of seconds in a duration such as ``90s``, ``30m``, ``2h``, ``7d``, ``1w``.

    Raises:
        ValueError: ``text`` is not a duration (the message says what is accepted).

    .. versionadded:: 0.1
    """
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration: use e.g. 30m, 2h, 7d")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def parse_time(text: str, *, now: float | None = None) -> float:
    """Return the epoch time meant by ``text``, as typed after ``--since``/``--until``.

    Accepts a duration back from now (``30m``, ``2h``, ``7d``), ``now``,
    ``today``/``yesterday`` (local midnight), an ISO date (``2026-11-01``: local
    midnight) or date and time (``2026-11-01 14:30``, ``2026-11-01T14:30:00Z``;
    local time unless it has an offset), or epoch seconds (``1767225600``).

    Raises:
        ValueError: ``text`` is none of those (the message says what is accepted).

    .. versionadded:: 0.1
    """
    now = time.time() if now is None else now
    s = text.strip()
    low = s.lower()
    if low == "now":
        return now
    if low in ("today", "yesterday"):
        day = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
        if low == "yesterday":
            day = (day - timedelta(days=1)).replace(hour=0)
        return day.timestamp()
    m = _DURATION.match(s)
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2).lower()]
    if re.fullmatch(r"\d{9,11}(\.\d+)?", s):
        return float(s)
    iso = s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: {_HINT}") from None
    return dt.timestamp()  # naive: local time, as users read their clocks
