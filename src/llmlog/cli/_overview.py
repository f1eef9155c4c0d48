"""What a bare ``llmlog`` prints: the latest interactions and where to go from there."""

from __future__ import annotations

import click

from llmlog.cli._common import store_url
from llmlog.cli._render import print_rows
from llmlog.store import StoreError, StoreNotFoundError, open_store

__all__ = ["overview"]

_NEXT = """\
Go further:
  llmlog show ID                  one interaction in full (an id prefix is enough)
  llmlog search WORDS --since 2h  find by text, -m MODEL, --status error, --user, --tag ...
  llmlog tail -f                  follow new interactions live
  llmlog stats --by model         requests, errors, latency p50/p95, tokens, cost
  llmlog export -f openai-chat    fine-tuning data (also jsonl, csv, parquet)
  llmlog --help                   every command"""


def overview(ctx: click.Context) -> None:
    """Print the latest interactions in the store and the commands to go further."""
    try:
        url = store_url(ctx)
    except click.ClickException:  # LLMLOG_DB=off: nothing to show
        click.echo(ctx.get_help())
        return
    try:
        store = open_store(url)
    except StoreNotFoundError:
        click.echo(
            f"No llmlog store at {url} yet: log an LLM call (llmlog.instrument() or "
            "llmlog.log_interaction(...)), or try 'llmlog demo'.\n"
        )
        click.echo(ctx.get_help())
        return
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    with store:
        page = store.search(limit=10)
        total = store.count()
    if not page.records:
        click.echo(f"{url} holds no interactions yet.\n")
    else:
        print_rows(page.records, title=f"Latest interactions in {url} ({total:,} in all)")
        click.echo("")
    click.echo(_NEXT)
