"""``llmlog demo``: the main job end to end, offline, in a few seconds."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["demo"]


@click.command("demo")
@click.option(
    "-n",
    "--count",
    default=200,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Calls to make.",
)
@click.option(
    "--latency",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 100),
    help="Scale of the simulated model latency (0: none).",
)
@click.pass_context
def demo(ctx: click.Context, count: int, latency: float) -> None:
    """Call a built-in offline model ~200 times and log every call to ./llmlog.db.

    No network and no API key: a deterministic offline model answers (with
    streaming, tool calls, a few errors and some prompts containing PII, which
    is redacted before it is stored). Then try `llmlog stats` or `llmlog serve`.
    """
    import llmlog
    from llmlog.demo import OfflineModel, run_demo

    db = ctx.obj.get("db") if ctx.obj else None
    try:
        settings = llmlog.configure(**({"db": db} if db else {}))
    except (TypeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if settings.db.lower() == "off":
        raise click.ClickException("the demo needs a store: unset LLMLOG_DB=off or pass --db")
    model = OfflineModel(latency=latency)
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("calling the offline model", total=count)
            summary = run_demo(count, model=model, progress=lambda n: bar.advance(task, n))
    else:
        summary = run_demo(count, model=model)
    llmlog.flush()
    stats = llmlog.stats()
    llmlog.shutdown()
    where = settings.db if "://" in settings.db else str(Path(settings.db).resolve())
    click.echo(f"Logged {summary.count} interactions to {where}")
    click.echo(
        f"  errors: {summary.errors}   tokens: {summary.tokens:,}   "
        f"latency p50 {summary.percentile(50):.0f} ms, "
        f"p95 {summary.percentile(95):.0f} ms"
    )
    if stats.get("dropped") or stats.get("errors"):
        click.echo(
            f"  llmlog problems: {stats['dropped']} dropped, {stats['errors']} errors", err=True
        )
    click.echo("\nNext:")
    click.echo("  llmlog stats --by model     cost, tokens and latency per model")
    click.echo("  llmlog search refund        full-text search over prompts and outputs")
    click.echo("  llmlog tail                 the latest interactions")
    click.echo("  llmlog serve                browse them in your web browser")
