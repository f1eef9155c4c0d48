"""Trace reads for every backend: a trace as a tree, and the list of recent traces.

A trace is the spans (``spans`` table) and the interactions (``interactions``, by their
``trace_id``) that share a trace id. The SQL here is plain enough for SQLite and
PostgreSQL alike; a backend gives its placeholder, its table names and how it decodes
a ``record`` column (:class:`TraceReads`).

Parents: a node whose parent is not in the trace (the run was joined from an
OpenTelemetry span elsewhere, or its parent span is not written yet) is a root.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from llmlog.exceptions import AmbiguousIdError, TraceNotFoundError
from llmlog.store.common import check_limit
from llmlog.store.model import Trace, TraceNode, TraceSummary

__all__ = ["TraceReads", "build_trace", "tool_links"]

_TOOL = "execute_tool"


def build_trace(
    trace_id: str, spans: Sequence[dict[str, Any]], calls: Sequence[dict[str, Any]]
) -> Trace:
    """Return the tree of span records ``spans`` and interaction records ``calls``."""
    flat: list[TraceNode] = []
    for r in spans:
        flat.append(
            TraceNode(
                span_id=str(r.get("span_id")),
                parent_span_id=r.get("parent_span_id"),
                kind=str(r.get("kind") or "task"),
                name=str(r.get("name") or ""),
                start=float(r.get("timestamp") or 0.0),
                duration_ms=r.get("duration_ms"),
                status=str(r.get("status") or "ok"),
                model_call=False,
                record=r,
            )
        )
    for r in calls:
        u = r.get("usage")
        if not isinstance(u, dict):
            u = {}
        flat.append(
            TraceNode(
                span_id=str(r.get("span_id") or r.get("request_id")),
                parent_span_id=r.get("parent_span_id"),
                kind=str(r.get("operation") or "chat"),
                name=str(r.get("model") or r.get("response_model") or "model call"),
                start=float(r.get("timestamp") or 0.0),
                duration_ms=r.get("duration_ms"),
                status=str(r.get("status") or "ok"),
                model_call=True,
                record=r,
                input_tokens=int(u.get("input_tokens") or 0),
                output_tokens=int(u.get("output_tokens") or 0),
                cost_usd=r.get("cost_usd"),
            )
        )
    links = tool_links(flat)
    ids = {n.span_id for n in flat}
    kids: dict[str | None, list[TraceNode]] = {}
    for n in flat:
        parent = n.parent_span_id if n.parent_span_id in ids else None
        kids.setdefault(parent, []).append(n)

    def build(node: TraceNode, depth: int) -> TraceNode:
        below = sorted(kids.get(node.span_id, ()), key=lambda c: c.start)
        children = tuple(build(c, depth + 1) for c in below) if depth < 1000 else ()
        costs = [node.cost_usd, *(c.cost_usd for c in children)]
        known = [c for c in costs if c is not None]
        return TraceNode(
            span_id=node.span_id,
            parent_span_id=node.parent_span_id,
            kind=node.kind,
            name=node.name,
            start=node.start,
            duration_ms=node.duration_ms,
            status=node.status,
            model_call=node.model_call,
            record=node.record,
            children=children,
            input_tokens=node.input_tokens + sum(c.input_tokens for c in children),
            output_tokens=node.output_tokens + sum(c.output_tokens for c in children),
            cost_usd=round(sum(known), 10) if known else None,
            links=links.get(node.span_id, {}),
        )

    roots = tuple(build(n, 0) for n in sorted(kids.get(None, ()), key=lambda c: c.start))
    return Trace(summarize(trace_id, flat, roots), roots)


def _result_ids(messages: Any) -> set[str]:
    """The tool-call ids whose results a prompt carries (OpenAI chat and Responses, Anthropic)."""
    out: set[str] = set()
    if not isinstance(messages, list):
        return out
    for m in messages:
        if not isinstance(m, dict):
            continue
        if m.get("role") == "tool" or m.get("type") == "function_call_output":
            out.update(m[k] for k in ("tool_call_id", "call_id") if isinstance(m.get(k), str))
        content = m.get("content")
        if isinstance(content, list):
            out.update(
                part["tool_use_id"]
                for part in content
                if isinstance(part, dict)
                and part.get("type") == "tool_result"
                and isinstance(part.get("tool_use_id"), str)
            )
    return out


def tool_links(flat: Sequence[TraceNode]) -> dict[str, dict[str, str]]:
    """Link each tool span to the model call that asked for it and the one that got its result.

    A tool span names its call by the ``tool_call_id`` (or ``gen_ai.tool.call.id``)
    attribute when its framework gives one; otherwise it is matched by name to the
    latest earlier model call that asked for a tool of that name (each call once).
    """
    calls = sorted((n for n in flat if n.model_call), key=lambda n: n.start)
    asked: list[tuple[TraceNode, str, str]] = []  # (model call, tool call id, tool name)
    for c in calls:
        for tc in c.record.get("tool_calls") or ():
            if isinstance(tc, dict) and isinstance(tc.get("id"), str):
                asked.append((c, tc["id"], str(tc.get("name") or "")))
    results = [(c, _result_ids(c.record.get("prompt_messages"))) for c in calls]
    taken: set[str] = set()
    out: dict[str, dict[str, str]] = {}
    for tool in sorted((n for n in flat if n.kind == _TOOL), key=lambda n: n.start):
        attrs = tool.record.get("attributes")
        attrs = attrs if isinstance(attrs, dict) else {}
        cid = attrs.get("tool_call_id") or attrs.get("gen_ai.tool.call.id")
        by = next((a for a in asked if a[1] == cid), None) if cid else None
        if by is None and not cid:
            by = next(
                (
                    a
                    for a in reversed(asked)
                    if a[2] == tool.name and a[1] not in taken and a[0].start <= tool.start
                ),
                None,
            )
        if by is not None:
            cid = by[1]
        if not isinstance(cid, str):
            continue
        taken.add(cid)
        link = {"tool_call_id": cid}
        if by is not None:
            link["requested_by"] = by[0].span_id
        to = next((c for c, ids in results if cid in ids and c.start >= tool.start), None)
        if to is not None:
            link["result_to"] = to.span_id
        out[tool.span_id] = link
    return out


def summarize(trace_id: str, flat: Sequence[TraceNode], roots: Sequence[TraceNode]) -> TraceSummary:
    """Return the summary of a trace's nodes (``flat``) with its ``roots``."""
    start = min((n.start for n in flat), default=0.0)
    end = max((n.start + (n.duration_ms or 0) / 1000 for n in flat), default=start)
    root = roots[0] if roots else None
    costs = [n.cost_usd for n in flat if n.model_call and n.cost_usd is not None]
    return TraceSummary(
        trace_id=trace_id,
        name=root.name if root else "",
        kind=root.kind if root else "",
        start=start,
        duration_ms=round((end - start) * 1000, 3),
        spans=sum(1 for n in flat if not n.model_call),
        model_calls=sum(1 for n in flat if n.model_call),
        tool_calls=sum(1 for n in flat if n.kind == _TOOL),
        errors=sum(1 for n in flat if n.status == "error"),
        input_tokens=sum(n.input_tokens for n in flat if n.model_call),
        output_tokens=sum(n.output_tokens for n in flat if n.model_call),
        cost_usd=round(sum(costs), 10) if costs else None,
    )


class TraceReads:
    """``trace`` and ``traces`` for a backend with a ``spans`` table.

    A backend sets ``_ph`` (its placeholder), ``_spans`` and ``_calls`` (its table
    names) and provides ``_read()`` and ``_record(value)`` (a ``record`` column's value
    as a dict).
    """

    _db: Any
    _ph: str
    _spans: str
    _calls: str

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Any]: ...

        def _record(self, value: Any) -> dict[str, Any]: ...

    def _all(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(self._db.execute(sql.replace("?", self._ph), list(params)).fetchall())

    def trace(self, trace_id: str) -> Trace:
        """Return the trace with id ``trace_id`` (or a unique prefix of at least 8 digits).

        Raises:
            TraceNotFoundError: no span or interaction has that trace id.
            AmbiguousIdError: the prefix matches more than one trace.

        .. versionadded:: 0.2
        """
        tid = trace_id.strip().lower()
        with self._read():
            tid = self._resolve(tid)
            spans = self._all(
                f"SELECT record FROM {self._spans} WHERE trace_id = ? ORDER BY ts", [tid]
            )
            calls = self._all(
                f"SELECT record FROM {self._calls} WHERE trace_id = ? ORDER BY ts", [tid]
            )
        if not spans and not calls:
            raise TraceNotFoundError(f"no trace {trace_id!r} in the store")
        return build_trace(
            tid, [self._record(r[0]) for r in spans], [self._record(r[0]) for r in calls]
        )

    def _resolve(self, tid: str) -> str:
        if len(tid) >= 32 or len(tid) < 8:
            return tid
        hi = tid + "g"  # after every hex digit
        found = {
            r[0]
            for table in (self._spans, self._calls)
            for r in self._all(
                f"SELECT DISTINCT trace_id FROM {table}"
                " WHERE trace_id >= ? AND trace_id < ? LIMIT 2",
                [tid, hi],
            )
        }
        if len(found) > 1:
            raise AmbiguousIdError(f"trace id prefix {tid!r} matches more than one trace")
        return found.pop() if found else tid

    def traces(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        kind: str | None = None,
        limit: int = 50,
    ) -> list[TraceSummary]:
        """Return the most recent traces that have spans, newest first.

        Args:
            since, until: only traces with a span starting in ``[since, until)``.
            kind: only traces with a span of this kind (``execute_tool``...).
            limit: at most this many.

        .. versionadded:: 0.2
        """
        check_limit(limit)
        conds: list[str] = ["1 = 1"]
        params: list[Any] = []
        if since is not None:
            conds.append("ts >= ?")
            params.append(since)
        if until is not None:
            conds.append("ts < ?")
            params.append(until)
        if kind is not None:
            conds.append("kind = ?")
            params.append(kind)
        where = " AND ".join(conds)
        with self._read():
            ids: list[str] = []
            seen: set[str] = set()
            offset, step = 0, max(limit * 8, 200)
            while len(ids) < limit:
                rows = self._all(
                    f"SELECT trace_id FROM {self._spans} WHERE {where}"
                    " ORDER BY ts DESC LIMIT ? OFFSET ?",
                    [*params, step, offset],
                )
                for (tid,) in rows:
                    if tid not in seen:
                        seen.add(tid)
                        ids.append(tid)
                if len(rows) < step:
                    break
                offset += step
            ids = ids[:limit]
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            spans = self._all(
                f"SELECT trace_id, span_id, parent_span_id, kind, name, ts, duration_ms,"
                f" status FROM {self._spans} WHERE trace_id IN ({marks})",
                ids,
            )
            calls = self._all(
                "SELECT trace_id, request_id, operation, model, ts, duration_ms, status,"
                f" input_tokens, output_tokens, cost_usd FROM {self._calls}"
                f" WHERE trace_id IN ({marks})",
                ids,
            )
        nodes: dict[str, list[TraceNode]] = {t: [] for t in ids}
        for tid, sid, parent, k, name, ts, dur, status in spans:
            nodes[tid].append(TraceNode(sid, parent, k, name, float(ts), dur, status, False, {}))
        for tid, rid, op, model, ts, dur, status, tin, tout, cost in calls:
            nodes[tid].append(
                TraceNode(
                    rid, None, op or "chat", model or "", float(ts), dur, status, True, {},
                    input_tokens=int(tin or 0), output_tokens=int(tout or 0), cost_usd=cost,
                )
            )  # fmt: skip
        out = []
        for tid in ids:
            flat = nodes[tid]
            ids_in = {n.span_id for n in flat if not n.model_call}
            roots = sorted(
                (n for n in flat if not n.model_call and n.parent_span_id not in ids_in),
                key=lambda n: n.start,
            )
            out.append(summarize(tid, flat, roots))
        return out
