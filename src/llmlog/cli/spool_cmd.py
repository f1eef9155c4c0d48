"""``llmlog spool``: records waiting on disk for a sink, and draining them.

While a store or exporter is down, its records wait in a spool folder (already
redacted); the next process that logs to it replays them. ``llmlog spool`` lists every
spool it can find (the store's, the JSON-lines file's, and the folders under the spool
root) with what waits there; ``llmlog spool replay`` writes them now.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from llmlog.cli._common import Command, InputError, fmt_int, shown_url, store_url

__all__ = ["spool"]


def _candidates(ctx: click.Context, dirs: tuple[str, ...]) -> list[Path]:
    import llmlog
    from llmlog.spool import spool_root, store_spool_dir

    settings = llmlog.get_settings()
    if dirs:
        return [Path(d).expanduser() for d in dirs]
    found: list[Path] = []
    with contextlib.suppress(InputError, ValueError, ImportError):
        found.append(store_spool_dir(store_url(ctx), settings))
    if settings.jsonl:
        from llmlog.sinks.jsonl import JsonlSink

        found.append(store_spool_dir(JsonlSink(settings.jsonl).url, settings))
    root = spool_root(settings)
    if root.is_dir():
        found += sorted(p for p in root.iterdir() if p.is_dir())
    unique: list[Path] = []
    for p in found:
        if p.resolve() not in {u.resolve() for u in unique}:
            unique.append(p)
    return unique


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _target_name(target: dict[str, Any]) -> str:
    url = target.get("url")
    return shown_url(url) if isinstance(url, str) else str(target.get("sink") or "unknown sink")


@click.group(
    "spool",
    invoke_without_command=True,
    short_help="Records waiting on disk for a sink; 'replay' drains them.",
)
@click.option(
    "--dir",
    "dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A spool folder to look at (repeatable); default: every spool llmlog can find.",
)
@click.pass_context
def spool(ctx: click.Context, /, dirs: tuple[str, ...]) -> None:
    """List the spools: folder, target, records waiting, their age, dead letters.

    A spool holds records (already redacted) that a store or exporter could not take
    yet; the next process that logs to it replays them, or run 'llmlog spool replay'.
    Dead letters are records a sink refused on their own (bad data); they are kept,
    never replayed.
    """
    ctx.ensure_object(dict)
    ctx.obj["spool_dirs"] = dirs
    if ctx.invoked_subcommand is not None:
        return
    from llmlog.spool import spool_info

    now = time.time()
    shown = 0
    for d in _candidates(ctx, dirs):
        info = spool_info(d)
        if not info.records and not info.dead_letters:
            continue
        shown += 1
        age = f", oldest {_age(now - info.oldest)} old" if info.oldest else ""
        click.echo(f"{d}")
        click.echo(f"  target        {_target_name(info.target)}")
        click.echo(
            f"  waiting       {fmt_int(info.records)} records ({fmt_int(info.bytes)} bytes{age})"
        )
        if info.dead_letters:
            click.echo(
                f"  dead letters  {fmt_int(info.dead_letters)} records in "
                f"{d / 'dead-letter.jsonl'} (refused by the sink; not replayed)"
            )
    if not shown:
        click.echo("no records waiting in any spool")
    else:
        click.echo("replay them now with: llmlog spool replay")


@spool.command("replay", cls=Command, short_help="Write the waiting records to their sinks now.")
@click.pass_context
def replay(ctx: click.Context, /) -> None:
    """Write every waiting record to its sink now (the store, JSON lines, OpenTelemetry).

    Records a sink refuses on their own go to its dead letters. A spool of a custom
    sink is replayed by the next process that configures that sink. Exits 1 when
    something could not be written.
    """
    import llmlog
    from llmlog.delivery import SinkWorker
    from llmlog.spool import Spool, spool_info

    settings = llmlog.get_settings()
    dirs = ctx.obj.get("spool_dirs", ()) if isinstance(ctx.obj, dict) else ()
    failed = 0
    replayed_any = False
    for d in _candidates(ctx, dirs):
        info = spool_info(d)
        if not info.records:
            continue
        name = _target_name(info.target)
        try:
            sink = _reopen(info.target)
        except (ValueError, ImportError) as exc:
            failed += 1
            click.echo(f"{d}: cannot replay {fmt_int(info.records)} records: {exc}", err=True)
            continue
        counts: Counter[str] = Counter()
        problems: list[str] = []

        def report(kind: str, message: str, *args: object, _p: list[str] = problems) -> None:
            _p.append(message % args)

        def count(key: str, n: int, _c: Counter[str] = counts) -> None:
            _c[key] += n

        def ignore(exc: BaseException) -> None:
            return None

        worker = SinkWorker(
            sink,
            Spool(d, max_bytes=settings.spool_max_bytes, target=info.target),
            count=count,
            report=report,
            on_error=ignore,
            batch_size=settings.batch_size,
            interval=settings.flush_interval,
            max_queued=settings.max_queue,
        )
        worker.replay(None, force=True)
        try:
            sink.close(10.0)
        except Exception as exc:
            problems.append(f"closing the sink failed: {type(exc).__name__}: {exc}")
        replayed_any = True
        left = spool_info(d).records
        dead = counts["dead_lettered"]
        line = f"{name}: replayed {fmt_int(counts['replayed'])} records"
        if dead:
            line += f"; {fmt_int(dead)} refused on their own went to the dead letters"
        click.echo(line)
        if left:
            failed += 1
            why = problems[-1] if problems else "the sink did not take them"
            click.echo(f"{d}: {fmt_int(left)} records still wait: {why}", err=True)
    if not replayed_any and not failed:
        click.echo("no records waiting in any spool")
    if failed:
        raise click.ClickException(f"{failed} spool(s) could not be fully replayed (see above)")


def _reopen(target: dict[str, Any]) -> Any:
    """Open the sink a spool waits for, from its TARGET (a URL, or an OpenTelemetry name)."""
    url = target.get("url")
    name = str(target.get("sink") or "")
    if isinstance(url, str):
        from llmlog.sinks import open_sink

        return open_sink(url)
    if name.startswith("otel:"):
        from llmlog.sinks.otel import OTelSink

        return OTelSink()
    raise ValueError(
        f"its target is {name or 'unknown'}, which only the app can reopen; it is replayed "
        "by the next process that logs to it"
    )
