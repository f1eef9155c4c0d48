"""``llmlog verify``: check the store's integrity (exit 1 when something is wrong)."""

from __future__ import annotations

import click

from llmlog.cli._common import Command, fmt_int, open_store, progress, store_url

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
    dead = _spool_lines(ctx)
    counts = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in report.counts.items())
    click.echo(f"counts   {counts}")
    if dead:
        raise click.ClickException(
            "records the store refused are kept in its dead letters (see above); "
            "fix or remove them, then re-import with 'llmlog import FILE' if wanted"
        )
    if not report.ok:
        raise click.ClickException(
            "the store has problems (see above); "
            "'llmlog verify --repair' rebuilds the index and rollups"
        )


def _spool_lines(ctx: click.Context) -> int:
    """Print the store's spool and dead letters; return how many dead letters there are."""
    import llmlog
    from llmlog.spool import spool_info, store_spool_dir

    try:
        directory = store_spool_dir(store_url(ctx), llmlog.get_settings())
    except (ValueError, ImportError):
        return 0
    info = spool_info(directory)
    if info.records:
        click.echo(
            click.style("waiting ", fg="yellow")
            + f" spool: {fmt_int(info.records)} records wait in {directory}"
            " (written by the next process that logs here, or: llmlog spool replay)"
        )
    if info.dead_letters:
        click.echo(
            click.style("FAIL    ", fg="red", bold=True)
            + f" dead letters: {fmt_int(info.dead_letters)} record(s) the store refused, in "
            f"{directory / 'dead-letter.jsonl'}"
        )
    return info.dead_letters
