"""``llmlog stats``: how many calls, how fast, how often they fail, what they cost."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from llmlog.cli._common import (
    Command,
    InputError,
    build_query,
    fmt_cost,
    fmt_int,
    fmt_ms,
    hint,
    open_store,
    query_options,
    render_table,
    stdout_is_tty,
)
from llmlog.store import StatsRow

__all__ = ["stats"]

_BY = ("model", "provider", "tag", "status", "user", "day", "hour")
_COLUMNS = (
    "requests",
    "errors",
    "error %",
    "p50",
    "p95",
    "p99",
    "ttft p50",
    "in tokens",
    "out tokens",
    "cost",
)


def _period(row: StatsRow, by: str) -> str:
    if row.bucket is None:
        return "-"
    dt = datetime.fromtimestamp(row.bucket)
    return dt.strftime("%Y-%m-%d") if by == "day" else dt.strftime("%Y-%m-%d %H:00")


def _cells(row: StatsRow) -> list[str]:
    return [
        fmt_int(row.count),
        fmt_int(row.errors),
        f"{row.error_rate * 100:.1f}%" if row.count else "-",
        fmt_ms(row.latency_p50_ms),
        fmt_ms(row.latency_p95_ms),
        fmt_ms(row.latency_p99_ms),
        fmt_ms(row.ttft_p50_ms),
        fmt_int(row.input_tokens),
        fmt_int(row.output_tokens),
        fmt_cost(row.cost_usd),
    ]


@click.command(
    "stats", cls=Command, short_help="Requests, errors, latency p50/p95/p99, TTFT, tokens and cost."
)
@click.option(
    "--by",
    type=click.Choice(_BY),
    default=None,
    help="One row per model, provider, tag, status, user, or local day/hour.",
)
@query_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
@click.pass_context
def stats(ctx: click.Context, /, by: str | None, as_json: bool, **filters: Any) -> None:
    """Count, error rate, latency p50/p95/p99, time to first token, tokens and cost.

    Over the whole store by default; narrow with --since and the filters.
    Latency percentiles read from the hourly rollup are within 4.4%.

    \b
    Examples:
      llmlog stats --since 24h
      llmlog stats --by model --since 7d
      llmlog stats --by day --model gpt-4o --json
    """
    query = build_query(None, **filters)
    group = None if by in (None, "day", "hour") else by
    bucket = by if by in ("day", "hour") else None
    with open_store(ctx) as store:
        try:
            rows = store.stats(query, by=group, bucket=bucket)  # type: ignore[arg-type]
            total = store.stats(query)[0] if by and stdout_is_tty() and not as_json else None
        except ValueError as exc:
            raise InputError(str(exc)) from None
    if as_json:
        for row in rows:
            data: dict[str, Any] = row.to_dict()
            if bucket and row.bucket is not None:
                data["period"] = _period(row, bucket)
            click.echo(_dumps(data))
        return
    if by and not rows:
        click.echo("no interactions match", err=True)
        return
    head = by or "all"
    table = []
    for row in rows:
        label = _period(row, bucket) if bucket else (row.group if row.group is not None else "-")
        table.append([label if by else "all", *_cells(row)])
    footer = ["total", *_cells(total)] if total is not None and len(rows) > 1 else None
    render_table([head, *_COLUMNS], table, right=_COLUMNS, footer=footer, styles={head: "magenta"})
    if any(r.approximate for r in rows):
        hint("percentiles from the hourly rollup are within 4.4%")


def _dumps(data: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(data).decode()
