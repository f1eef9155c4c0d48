"""Filters kept in the URL: what a view shows is fully described by its address.

``?q=refund&model=gpt-4o&status=error&since=24h`` becomes a
:class:`~llmlog.store.Query` through :meth:`Query.parse`, the same parser the
CLI options use, so ``since=2h`` means the same thing in both. Empty
parameters are dropped (a submitted form leaves ``&tag=`` behind) and the views
redirect to the clean address, so what users copy is short and shareable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

from llmlog.store import Query

__all__ = ["PARAMS", "TIME_PRESETS", "Filters"]

PARAMS: tuple[str, ...] = (
    "q",
    "model",
    "provider",
    "status",
    "since",
    "until",
    "session",
    "tag",
    "user",
)
"""The URL parameters that are filters (``cursor`` and ``token`` are not)."""

TIME_PRESETS: tuple[tuple[str, str], ...] = (
    ("", "Any time"),
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
)
"""``since`` values offered in the time menus, with their labels."""

_MULTI = {"model": "models", "provider": "providers", "tag": "tags"}
_SINGLE = {
    "q": "text",
    "status": "status",
    "since": "since",
    "until": "until",
    "session": "session",
    "user": "user",
}
_LABELS = {
    "q": "text",
    "model": "model",
    "provider": "provider",
    "status": "status",
    "since": "since",
    "until": "until",
    "session": "session",
    "tag": "tag",
    "user": "user",
}
MAX_VALUE = 500


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters of one view, as typed (strings), in URL parameter order.

    Attributes:
        text: full-text search (``q``).
        models: requested models (``model``, repeatable: any of them).
        providers: providers (``provider``, repeatable: any of them).
        status: ``ok`` or ``error``.
        since: start of the time range as typed (``24h``, ``2026-11-01``).
        until: end of the time range as typed.
        session: session id.
        tags: tags (``tag``, repeatable: all of them).
        user: user id.
    """

    text: str = ""
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    status: str = ""
    since: str = ""
    until: str = ""
    session: str = ""
    tags: tuple[str, ...] = ()
    user: str = ""

    @classmethod
    def from_params(cls, items: Iterable[tuple[str, str]]) -> Filters:
        """Return the filters found in URL parameters (unknown and empty ones ignored)."""
        multi: dict[str, list[str]] = {v: [] for v in _MULTI.values()}
        single: dict[str, str] = {}
        for key, raw in items:
            value = raw.strip()[:MAX_VALUE]
            if not value:
                continue
            if key in _MULTI:
                if value not in multi[_MULTI[key]]:
                    multi[_MULTI[key]].append(value)
            elif key in _SINGLE:
                single[_SINGLE[key]] = value
        return cls(
            text=single.get("text", ""),
            models=tuple(multi["models"]),
            providers=tuple(multi["providers"]),
            status=single.get("status", ""),
            since=single.get("since", ""),
            until=single.get("until", ""),
            session=single.get("session", ""),
            tags=tuple(multi["tags"]),
            user=single.get("user", ""),
        )

    def query(self, *, now: float | None = None) -> Query:
        """Return the :class:`Query` these filters mean.

        Raises:
            ValueError: a value is invalid; the message names the filter.
        """
        return Query.parse(
            text=self.text or None,
            since=self.since or None,
            until=self.until or None,
            model=self.models,
            provider=self.providers,
            status=self.status or None,
            session=self.session or None,
            user=self.user or None,
            tag=self.tags,
            now=now,
        )

    def pairs(self) -> list[tuple[str, str]]:
        """Return the URL parameters of these filters, in a stable order."""
        out: list[tuple[str, str]] = []
        for param in PARAMS:
            if param in _MULTI:
                out += [(param, v) for v in getattr(self, _MULTI[param])]
            else:
                value = getattr(self, _SINGLE[param])
                if value:
                    out.append((param, value))
        return out

    def url(self, path: str, *, extra: Sequence[tuple[str, str]] = ()) -> str:
        """Return ``path`` with these filters (and ``extra`` parameters) as its query string."""
        qs = urlencode([*self.pairs(), *extra])
        return f"{path}?{qs}" if qs else path

    def without(self, param: str, value: str | None = None) -> Filters:
        """Return a copy without one filter (or one value of a repeatable one)."""
        changes: dict[str, Any] = {}
        if param in _MULTI:
            name = _MULTI[param]
            changes[name] = tuple(
                v for v in getattr(self, name) if value is not None and v != value
            )
        else:
            changes[_SINGLE[param]] = ""
        return replace(self, **changes)

    def with_(self, **changes: Any) -> Filters:
        """Return a copy with some filters changed (field names, not URL names)."""
        return replace(self, **changes)

    def chips(self) -> list[tuple[str, str, str]]:
        """Return ``(label, value, url_param)`` for each active filter value (for chips)."""
        return [(_LABELS[param], value, param) for param, value in self.pairs()]

    def is_empty(self) -> bool:
        """Return True when no filter is set."""
        return not self.pairs()

    def only(self, *params: str) -> Filters:
        """Return a copy keeping only the given URL parameters' filters."""
        keep: dict[str, Any] = {}
        for param in params:
            name = _MULTI.get(param) or _SINGLE[param]
            keep[name] = getattr(self, name)
        return Filters(**keep)

    def as_dict(self) -> Mapping[str, object]:
        """Return the filters by field name (for templates)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
