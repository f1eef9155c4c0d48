"""``llmlog tail``: the latest interactions, and with ``-f`` each new one as it is written."""

from __future__ import annotations

import time
from typing import Any

import click

from llmlog.cli._common import Command, build_query, echo_records, open_store, query_options
from llmlog.cli._render import row_line

__all__ = ["tail"]


@click.command(
    "tail", cls=Command, short_help="Print the latest interactions; -f follows new ones live."
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing interactions as they arrive.")
@click.option(
    "-n",
    "--lines",
    "limit",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many of the latest to print first.",
)
@click.option(
    "--interval",
    default=0.5,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between polls with --follow.",
)
@click.option("--json", "as_json", is_flag=True, help="One record per line (JSON lines).")
@query_options
@click.pass_context
def tail(
    ctx: click.Context, /, follow: bool, limit: int, interval: float, as_json: bool, **filters: Any
) -> None:
    """Print the latest interactions (in the order they were written); -f to follow.

    Following polls the store for rows after the last one seen (an index lookup,
    cheap at any store size). Stop with Ctrl-C.
    """
    query = build_query(None, **filters)

    def emit(records: list[Any]) -> None:
        if as_json:
            echo_records(records)
        else:
            for rec in records:
                click.echo(row_line(rec))

    with open_store(ctx) as store:
        batch = store.tail(query, limit=max(limit, 1))
        emit(batch.records[-limit:] if limit else [])
        if not follow:
            return
        cursor = batch.cursor
        try:
            while True:
                time.sleep(interval)
                batch = store.tail(query, cursor=cursor, limit=1000)
                if batch.records:
                    emit(batch.records)
                cursor = batch.cursor
        except KeyboardInterrupt:
            return
