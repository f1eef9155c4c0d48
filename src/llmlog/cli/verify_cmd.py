"""``llmlog verify``: check the store's integrity (exit 1 when something is wrong)."""

from __future__ import annotations

import click

from llmlog.cli._common import Command, open_store, progress

__all__ = ["verify"]


@click.command(
    "verify", cls=Command, short_help="Check the store's integrity (exit 1 on problems)."
)
@click.option(
    "--repair",
    is_flag=True,
    help="Rebuild what can be rebuilt from the records (index, rollups, tags).",
)
@click.pass_context
def verify(ctx: click.Context, /, repair: bool) -> None:
    """Check the store: SQLite integrity, full-text index, records, tags, rollups, counts.

    Exits 1 when a problem remains.
    """
    with open_store(ctx) as store:
        total = store.count()
        with progress(total, "checking records") as advance:
            report = store.verify(repair=repair, progress=advance)
    for check in report.checks:
        mark = (
            click.style("repaired", fg="yellow")
            if check.repaired
            else click.style("ok      ", fg="green")
            if check.ok
            else click.style("FAIL    ", fg="red", bold=True)
        )
        click.echo(f"{mark} {check.name}" + (f": {check.detail}" if check.detail else ""))
    counts = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in report.counts.items())
    click.echo(f"counts   {counts}")
    if not report.ok:
        raise click.ClickException(
            "the store has problems (see above); "
            "'llmlog verify --repair' rebuilds the index and rollups"
        )
