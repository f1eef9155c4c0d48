"""``llmlog collect``: the local collector in the foreground, and ``--status``."""

from __future__ import annotations

import click

from llmlog.cli._common import Command, store_url

__all__ = ["collect"]


@click.command(
    "collect", cls=Command, short_help="Run the store's collector in the foreground (--status)."
)
@click.option(
    "--status", is_flag=True, help="Say whether a collector runs for the store, and its counters."
)
@click.pass_context
def collect(ctx: click.Context, /, status: bool) -> None:
    """Run the local collector for the store: apps on this machine hand it their records.

    While it runs, every process that logs to this store (same LLMLOG_DB) hands each
    record to it over a Unix socket in LLMLOG_HOME, and a record so handed survives the
    app being killed. The collector writes with its own settings (redaction, JSON
    lines, OpenTelemetry: set them in its environment). Stop it with Ctrl-C or SIGTERM:
    it writes what it received first. For a sidecar, a container or systemd.
    """
    import dataclasses
    import os

    import llmlog
    from llmlog.collector import Collector, Handoff, socket_path

    url = store_url(ctx)
    path = socket_path(url)
    if status:
        reply = Handoff(path).request(b"S", 5.0)
        if reply is None:
            raise click.ClickException(f"no collector runs for {url} (socket {path})")
        for key, value in reply.items():
            click.echo(f"{key:14} {value}")
        return
    settings = dataclasses.replace(llmlog.get_settings(), db=url)
    collector = Collector(settings, path)
    if not collector.claim():
        raise click.ClickException(f"a collector already runs for {url} (socket {path})")
    click.echo(f"collecting for {url} on {path} (pid {os.getpid()}); Ctrl-C to stop", err=True)
    collector.serve()
    click.echo("collector stopped; everything received was written", err=True)
