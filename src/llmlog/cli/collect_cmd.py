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

    Apps start a collector on demand (it exits when no app has been connected for
    LLMLOG_COLLECTOR_IDLE seconds); this runs one in the foreground instead, for a
    sidecar, a container or systemd. Apps logging to the same store (LLMLOG_DB) with
    the same settings (redaction, JSON lines, OpenTelemetry: set them in its
    environment as in theirs) hand each record to it over a Unix socket in
    LLMLOG_HOME, and a record so handed survives the app being killed. Stop it with
    Ctrl-C or SIGTERM: it writes what it received first.
    """
    import dataclasses
    import os

    import llmlog
    from llmlog.collector.handoff import running
    from llmlog.collector.launch import MAX_SOCKET_PATH, settings_blob, socket_path
    from llmlog.collector.server import Collector

    url = store_url(ctx)
    if status:
        replies = running(url)
        if not replies:
            raise click.ClickException(f"no collector runs for {url}")
        for i, reply in enumerate(replies):
            if i:
                click.echo()
            for key, value in reply.items():
                click.echo(f"{key:14} {value}")
        return
    settings = dataclasses.replace(llmlog.get_settings(), db=url)
    try:
        path = socket_path(url, settings_blob(settings))
    except ValueError as exc:
        raise click.ClickException(f"cannot run a collector: {exc}") from None
    if len(str(path)) > MAX_SOCKET_PATH:
        raise click.ClickException(
            f"the collector's socket path is too long for a Unix socket ({path}); "
            "set LLMLOG_HOME to a shorter folder"
        )
    collector = Collector(settings, path)
    try:
        claimed = collector.claim()
    except OSError as exc:
        raise click.ClickException(f"cannot listen at {path}: {exc.strerror or exc}") from None
    if not claimed:
        raise click.ClickException(f"a collector already runs for {url} (socket {path})")
    click.echo(f"collecting for {url} on {path} (pid {os.getpid()}); Ctrl-C to stop", err=True)
    collector.serve()
    click.echo("collector stopped; everything received was written", err=True)
