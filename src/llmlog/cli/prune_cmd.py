"""``llmlog prune``: delete interactions older than a given age."""

from __future__ import annotations

import click

from llmlog.cli._common import (
    TIME,
    Command,
    InputError,
    local_time,
    open_store,
    progress,
    stdin_is_tty,
)
from llmlog.store import Query

__all__ = ["prune"]


@click.command(
    "prune", cls=Command, short_help="Delete old interactions with their tags, feedback and index."
)
@click.option(
    "--older-than",
    "before",
    type=TIME,
    required=True,
    metavar="AGE",
    help="Delete what is older than this: 30d, 12h, 2026-01-01, ...",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option("--vacuum", is_flag=True, help="Then shrink the file (rewrites it; can be slow).")
@click.pass_context
def prune(ctx: click.Context, /, before: float, yes: bool, dry_run: bool, vacuum: bool) -> None:
    """Delete interactions older than --older-than, with their tags, feedback and index entries.

    Runs in small transactions, so logging goes on meanwhile and an interrupted
    prune leaves a consistent store.
    """
    with open_store(ctx) as store:
        n = store.count(Query(until=before))
        when = local_time(before)
        if dry_run or not n:
            click.echo(
                f"{n:,} interaction(s) older than {when}" + (" would be deleted" if n else "")
            )
            return
        if not yes:
            if not stdin_is_tty():
                raise InputError(
                    f"refusing to delete {n:,} interaction(s) without confirmation: pass --yes"
                )
            click.confirm(f"Delete {n:,} interaction(s) older than {when}?", abort=True)
        with progress(n, "pruning") as advance:
            result = store.prune(before, progress=advance)
        click.echo(
            f"deleted {result.interactions:,} interaction(s) older than {when}, "
            f"{result.tags:,} tag(s), {result.feedback:,} feedback score(s)"
        )
        if vacuum:
            store.compact()
            click.echo("vacuumed the store")
