"""The query layer's plain data: filters in (:class:`Query`), pages and aggregates out."""

from __future__ import annotations

import base64
import dataclasses
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from llmlog.exceptions import (
    AmbiguousIdError,
    InteractionNotFoundError,
    StoreError,
    StoreNotFoundError,
    TraceNotFoundError,
)
from llmlog.record import Feedback, LLMRecord
from llmlog.store.timespec import parse_time

__all__ = [
    "AmbiguousIdError",
    "Bucket",
    "Check",
    "GroupBy",
    "InteractionNotFoundError",
    "Order",
    "Page",
    "PruneResult",
    "Query",
    "RewriteResult",
    "SessionPage",
    "SessionSummary",
    "StatsRow",
    "StoreError",
    "StoreNotFoundError",
    "TailBatch",
    "Trace",
    "TraceNode",
    "TraceNotFoundError",
    "TraceSummary",
    "VerifyReport",
]

Order = Literal["newest", "oldest"]
"""Result order: ``newest`` first (the default for lists) or ``oldest`` first (exports)."""
GroupBy = Literal["model", "provider", "status", "tag", "user"]
"""What :meth:`Store.stats` can group by (besides time buckets)."""
Bucket = Literal["hour", "day"]
"""Time buckets for :meth:`Store.stats`: UTC hours, or days in the local time zone."""

GROUP_BYS: tuple[str, ...] = ("model", "provider", "status", "tag", "user")
BUCKETS: tuple[str, ...] = ("hour", "day")
_META_KEY = re.compile(r"^[^\"\\\x00-\x1f]+$")


def _tuple(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    out = tuple(value)
    if not all(isinstance(v, str) and v for v in out):
        raise ValueError(f"{name}: expected non-empty strings, got {value!r}")
    return out


@dataclass(frozen=True, slots=True)
class Query:
    """Which interactions to read: every filter is optional and they all must hold.

    Filters on the same field accept several values: ``models`` and
    ``providers`` match any of them, ``tags`` and ``metadata`` must all match.

    Attributes:
        text: full-text search over prompts (the new turns of each call), outputs,
            tool calls and errors: every word must occur; ``"a phrase"`` in double
            quotes must occur as written; ``word*`` matches a prefix.
        since: epoch seconds, inclusive.
        until: epoch seconds, exclusive.
        models: requested model names (exact).
        providers: provider names (``openai``, ``anthropic``, ...).
        status: ``"ok"`` or ``"error"``.
        session_id: the session id.
        user_id: the user id.
        tags: tags the interaction must all carry.
        metadata: ``(key, value)`` pairs that must all match a top-level
            ``metadata`` key; a value of ``None`` only requires the key. Values are
            compared as text, or as numbers/booleans when the stored value is one.
        min_score: the interaction's latest feedback score is at least this.
        max_score: the interaction's latest feedback score is at most this.

    Raises:
        ValueError: a filter value is invalid (the message names the filter).

    .. versionadded:: 0.1
    """

    text: str | None = None
    since: float | None = None
    until: float | None = None
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    status: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str | None], ...] = ()
    min_score: float | None = None
    max_score: float | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "models", _tuple(self.models, "model"))
        set_(self, "providers", _tuple(self.providers, "provider"))
        set_(self, "tags", _tuple(self.tags, "tag"))
        if self.text is not None and not self.text.strip():
            set_(self, "text", None)
        if self.status is not None and self.status not in ("ok", "error"):
            raise ValueError(f"status: expected 'ok' or 'error', got {self.status!r}")
        for name in ("since", "until", "min_score", "max_score"):
            v = getattr(self, name)
            if v is not None:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
                    raise ValueError(f"{name}: expected a number, got {v!r}")
                set_(self, name, float(v))
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be earlier than until")
        meta = []
        for pair in self.metadata:
            key, value = pair
            if not isinstance(key, str) or not _META_KEY.match(key):
                raise ValueError(f"metadata: invalid key {key!r}")
            meta.append((key, None if value is None else str(value)))
        set_(self, "metadata", tuple(meta))

    @classmethod
    def parse(
        cls,
        *,
        text: str | None = None,
        since: str | None = None,
        until: str | None = None,
        model: Iterable[str] | str = (),
        provider: Iterable[str] | str = (),
        status: str | None = None,
        session: str | None = None,
        user: str | None = None,
        tag: Iterable[str] | str = (),
        meta: Iterable[str] | str = (),
        min_score: str | float | None = None,
        max_score: str | float | None = None,
        now: float | None = None,
    ) -> Query:
        """Build a Query from values as a user types them (CLI options, URL parameters).

        ``since``/``until`` go through :func:`parse_time` (``2h``, ``2026-11-01``);
        ``meta`` items are ``key=value`` or ``key``; scores are numbers. ``model``,
        ``provider``, ``tag`` and ``meta`` take one string or several.

        Raises:
            ValueError: naming the option whose value is invalid.
        """

        def when(name: str, value: str | None) -> float | None:
            if value is None or value == "":
                return None
            try:
                return parse_time(value, now=now)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None

        def score(name: str, value: str | float | None) -> float | None:
            if value is None or value == "":
                return None
            try:
                out = float(value)
            except ValueError:
                raise ValueError(f"{name}: expected a number, got {value!r}") from None
            if math.isnan(out):
                raise ValueError(f"{name}: expected a number, got {value!r}")
            return out

        def many(value: Iterable[str] | str) -> tuple[str, ...]:
            return (value,) if isinstance(value, str) else tuple(value)

        pairs: list[tuple[str, str | None]] = []
        for item in many(meta):
            key, sep, value = item.partition("=")
            if not key.strip():
                raise ValueError(f"meta: expected key=value, got {item!r}")
            pairs.append((key.strip(), value if sep else None))
        return cls(
            text=text or None,
            since=when("since", since),
            until=when("until", until),
            models=many(model),
            providers=many(provider),
            status=status or None,
            session_id=session or None,
            user_id=user or None,
            tags=many(tag),
            metadata=tuple(pairs),
            min_score=score("min_score", min_score),
            max_score=score("max_score", max_score),
        )

    def replace(self, **changes: Any) -> Query:
        """Return a copy with some filters changed."""
        return dataclasses.replace(self, **changes)

    def is_empty(self) -> bool:
        """Return True when no filter is set (every interaction matches)."""
        return self == Query()


def encode_cursor(*parts: object) -> str:
    """Return an opaque, URL-safe cursor for the given key parts."""
    raw = "\x1f".join(repr(p) if isinstance(p, float) else str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, n: int) -> list[str]:
    """Return the ``n`` key parts of a cursor from :func:`encode_cursor`.

    Raises:
        ValueError: the cursor is not one of ours.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"invalid cursor {cursor!r}") from None
    parts = raw.split("\x1f")
    if len(parts) != n:
        raise ValueError(f"invalid cursor {cursor!r}")
    return parts


@dataclass(frozen=True, slots=True)
class Page:
    """One page of interactions and the cursor of the next page (None on the last page).

    .. versionadded:: 0.1
    """

    records: list[LLMRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TailBatch:
    """Interactions written since the cursor, oldest first, and the cursor to poll next.

    .. versionadded:: 0.1
    """

    records: list[LLMRecord]
    cursor: str


@dataclass(frozen=True, slots=True)
class StatsRow:
    """Aggregates over a set of interactions (one group and/or time bucket).

    Latencies are in milliseconds. Percentiles are exact when computed from
    rows and within 4.4% when read from the per-hour rollup (``approximate``).

    Attributes:
        group: the value of the ``by`` field (None without ``by``, or for a
            missing model/provider/user).
        bucket: epoch start of the time bucket (None without ``bucket``).
        count: interactions.
        errors: interactions with ``status == "error"``.
        latency_count: interactions with a known duration.
        ttft_count: interactions with a known time to first token (streams).
        cost_count: interactions with a known cost (unknown models have none).
    """

    group: str | None
    bucket: float | None
    count: int
    errors: int
    latency_count: int
    latency_avg_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    ttft_count: int
    ttft_avg_ms: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_count: int
    cost_usd: float | None
    approximate: bool = False

    @property
    def error_rate(self) -> float:
        """Errors as a fraction of the interactions (0 when there are none)."""
        return self.errors / self.count if self.count else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the row as a JSON-ready dict (with ``error_rate``)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["error_rate"] = self.error_rate
        return out


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One session: when it ran, how many interactions, tokens, cost and models.

    .. versionadded:: 0.1
    """

    session_id: str
    first_ts: float
    last_ts: float
    count: int
    errors: int
    total_tokens: int
    cost_usd: float | None
    models: tuple[str, ...]
    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One page of sessions, most recently active first, and the next page's cursor."""

    sessions: list[SessionSummary]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TraceNode:
    """One node of a trace: a span (a tool, a retrieval, an agent step) or a model call.

    .. versionadded:: 0.2
    """

    span_id: str
    parent_span_id: str | None
    kind: str
    """A span's kind, or the model call's operation (``chat``, ``embeddings``...)."""
    name: str
    """A span's name, or the model call's model."""
    start: float
    duration_ms: float | None
    status: str
    model_call: bool
    record: dict[str, Any]
    """The span's record, or the interaction's."""
    children: tuple[TraceNode, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    """Of this node and every node below it."""
    links: dict[str, str] = field(default_factory=dict)
    """A tool's ``tool_call_id``, the model call that ``requested_by`` it and the one it
    sent its ``result_to`` (span ids), when the trace shows them."""


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One trace (one run): its root, when it ran, what it did, what it cost.

    .. versionadded:: 0.2
    """

    trace_id: str
    name: str
    kind: str
    start: float
    duration_ms: float
    spans: int
    model_calls: int
    tool_calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None

    @property
    def status(self) -> str:
        return "error" if self.errors else "ok"


@dataclass(frozen=True, slots=True)
class Trace:
    """A whole trace as a tree (roots first, children by start time), and its summary.

    .. versionadded:: 0.2
    """

    summary: TraceSummary
    roots: tuple[TraceNode, ...]

    def walk(self) -> list[tuple[int, TraceNode]]:
        """Return (depth, node) for every node, depth first, in start order."""
        out: list[tuple[int, TraceNode]] = []
        stack = [(0, n) for n in reversed(self.roots)]
        while stack:
            depth, node = stack.pop()
            out.append((depth, node))
            stack.extend((depth + 1, c) for c in reversed(node.children))
        return out


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What :meth:`Store.prune` deleted."""

    interactions: int = 0
    tags: int = 0
    feedback: int = 0


@dataclass(frozen=True, slots=True)
class RewriteResult:
    """What :meth:`Store.rewrite` changed (with ``dry_run``: what it would change).

    Attributes:
        interactions: interactions read.
        changed: interactions rewritten.
        feedback: feedback records read.
        feedback_changed: feedback records rewritten.
        counts: how much each record's ``redaction.counts`` grew, summed by type:
            the values the transform replaced (never the values themselves).
        purged: True when no old version of a rewritten record is left in the
            store's files (free space zeroed, the full-text index merged, the
            write-ahead log checkpointed and truncated); False when another
            connection kept the log busy, or after a dry run. Old versions then
            stay in ``<store>-wal`` until its next full checkpoint.

    .. versionadded:: 0.1
    """

    interactions: int = 0
    changed: int = 0
    feedback: int = 0
    feedback_changed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    purged: bool = False


@dataclass(frozen=True, slots=True)
class Check:
    """One integrity check: its name, whether it passed, and details."""

    name: str
    ok: bool
    detail: str = ""
    repaired: bool = False


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of :meth:`Store.verify`: every check and the store's counts."""

    checks: list[Check]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every check passed (or was repaired)."""
        return all(c.ok or c.repaired for c in self.checks)


FeedbackList = Sequence[Feedback]
