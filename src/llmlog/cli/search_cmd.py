"""``llmlog search``: find interactions by text and filters, newest first."""

from __future__ import annotations

from typing import Any

import click

from llmlog.cli._common import (
    Command,
    InputError,
    build_query,
    echo_records,
    hint,
    open_store,
    query_options,
)
from llmlog.cli._render import print_rows

__all__ = ["search"]


@click.command(
    "search", cls=Command, short_help="Find interactions by text and filters, newest first."
)
@click.argument("text", required=False, metavar="[QUERY]")
@query_options
@click.option(
    "-n",
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many interactions to show.",
)
@click.option(
    "--cursor",
    default=None,
    metavar="TOKEN",
    help="Continue after a previous page (the token it printed).",
)
@click.option("--json", "as_json", is_flag=True, help="One record per line (JSON lines).")
@click.pass_context
def search(
    ctx: click.Context,
    /,
    text: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
    **filters: Any,
) -> None:
    """Find interactions, newest first.

    QUERY searches prompts (the new turns of each call), outputs, tool calls and
    errors: every word must occur; "a phrase" in quotes must occur as written;
    word* matches a prefix. Piped output is tab-separated: time, request id,
    model, status, latency, tokens, cost, preview.

    \b
    Examples:
      llmlog search refund --since 24h
      llmlog search -m gpt-4o --status error -n 50
      llmlog search --user u-42 --tag checkout --json | jq .parsed_output
    """
    query = build_query(text, **filters)
    with open_store(ctx) as store:
        try:
            page = store.search(query, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    if as_json:
        echo_records(page.records)
        return
    if not page.records:
        click.echo("no interactions match", err=True)
        return
    print_rows(page.records)
    if page.next_cursor:
        hint(f"more: add --cursor {page.next_cursor}   ·   one in full: llmlog show ID")
    else:
        hint("one in full: llmlog show ID")
