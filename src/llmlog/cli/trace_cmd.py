"""``llmlog trace``: one run as a tree (``llmlog trace ID``), or the recent runs (no ID)."""

from __future__ import annotations

from typing import Any

import click

from llmlog.cli._common import TIME, Command, InputError, echo_records, local_time, open_store
from llmlog.cli._common import render_table as table
from llmlog.display import fmt_cost, fmt_int, fmt_ms
from llmlog.store import AmbiguousIdError
from llmlog.store.model import Trace, TraceNode, TraceNotFoundError
from llmlog.tracing import kind_of

__all__ = ["trace"]


@click.command("trace", cls=Command, short_help="Show a run as a tree of spans (no ID: list runs).")
@click.argument("trace_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per span (model calls too).")
@click.option("--since", type=TIME, default=None, help="List runs from this time (30m, 2h, 7d...).")
@click.option(
    "--kind", default=None, help="List runs with a span of this kind (tool, retrieval...)."
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.pass_context
def trace(
    ctx: click.Context,
    /,
    trace_id: str | None,
    as_json: bool,
    since: float | None,
    kind: str | None,
    limit: int,
) -> None:
    """Show the run TRACE_ID as a tree: each span (agent, tool, retrieval...) and model
    call with its duration, tokens, cost and status. TRACE_ID may be a unique prefix of
    8 digits or more.

    Without TRACE_ID, list the most recent runs that have spans: root name, start,
    duration, model calls, tool calls, tokens, cost, status.
    """
    with open_store(ctx) as store:
        if trace_id is None:
            summaries = store.traces(
                since=since, kind=None if kind is None else kind_of(kind), limit=limit
            )
            if as_json:
                echo_records([_summary_json(s) for s in summaries])
                return
            table(
                [
                    "trace",
                    "start",
                    "root",
                    "duration",
                    "calls",
                    "tools",
                    "tokens",
                    "cost",
                    "status",
                ],
                [
                    [
                        s.trace_id[:12],
                        local_time(s.start),
                        f"{s.kind} {s.name}",
                        fmt_ms(s.duration_ms),
                        str(s.model_calls),
                        str(s.tool_calls),
                        fmt_int(s.input_tokens + s.output_tokens),
                        fmt_cost(s.cost_usd),
                        s.status,
                    ]
                    for s in summaries
                ],
                right=["duration", "calls", "tools", "tokens", "cost"],
            )
            return
        try:
            tr = store.trace(trace_id)
        except (TraceNotFoundError, AmbiguousIdError) as exc:
            raise InputError(str(exc)) from None
    if as_json:
        echo_records([_node_json(tr, n) for _, n in tr.walk()])
        return
    _echo_tree(tr)


def _node_json(tr: Trace, n: TraceNode) -> dict[str, Any]:
    rec = n.record
    return {
        "trace_id": tr.summary.trace_id,
        "span_id": n.span_id,
        "parent_span_id": n.parent_span_id,
        "kind": n.kind,
        "name": n.name,
        "timestamp": n.start,
        "duration_ms": n.duration_ms,
        "status": n.status,
        "input": rec.get("prompt_messages") if n.model_call else rec.get("input"),
        "output": rec.get("parsed_output") if n.model_call else rec.get("output"),
        "request_id": rec.get("request_id") if n.model_call else None,
        "input_tokens": n.input_tokens,
        "output_tokens": n.output_tokens,
        "cost_usd": n.cost_usd,
        "error": rec.get("error"),
        "tool_call_id": n.links.get("tool_call_id"),
        "requested_by": n.links.get("requested_by"),
        "result_to": n.links.get("result_to"),
    }


def _summary_json(s: Any) -> dict[str, Any]:
    return {
        "trace_id": s.trace_id,
        "name": s.name,
        "kind": s.kind,
        "timestamp": s.start,
        "duration_ms": s.duration_ms,
        "spans": s.spans,
        "model_calls": s.model_calls,
        "tool_calls": s.tool_calls,
        "input_tokens": s.input_tokens,
        "output_tokens": s.output_tokens,
        "cost_usd": s.cost_usd,
        "status": s.status,
    }


def _echo_tree(tr: Trace) -> None:
    s = tr.summary
    click.echo(
        f"trace {s.trace_id}  {local_time(s.start)}  {fmt_ms(s.duration_ms)}  "
        f"{s.model_calls} model call(s), {s.tool_calls} tool call(s), "
        f"{fmt_int(s.input_tokens + s.output_tokens)} tokens, {fmt_cost(s.cost_usd)}, "
        + click.style(s.status, fg="red" if s.errors else "green")
    )

    def line(n: TraceNode) -> str:
        parts = [f"{n.kind} {n.name}", fmt_ms(n.duration_ms)]
        if n.input_tokens or n.output_tokens:
            parts.append(f"{fmt_int(n.input_tokens + n.output_tokens)} tok")
        if n.cost_usd is not None:
            parts.append(fmt_cost(n.cost_usd))
        if n.links.get("tool_call_id"):
            parts.append(f"[{n.links['tool_call_id']}]")
        if n.status == "error":
            err = n.record.get("error") or {}
            detail = f" {err.get('type')}: {str(err.get('message') or '')[:80]}" if err else ""
            parts.append(click.style("error" + detail, fg="red"))
        return "  ".join(parts)

    stack: list[tuple[str, bool, TraceNode]] = [
        ("", i == len(tr.roots) - 1, n) for i, n in reversed(list(enumerate(tr.roots)))
    ]
    while stack:
        prefix, last, n = stack.pop()
        click.echo(prefix + ("└─ " if last else "├─ ") + line(n))
        below = prefix + ("   " if last else "│  ")
        kids = n.children
        stack.extend((below, i == len(kids) - 1, c) for i, c in reversed(list(enumerate(kids))))
