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
@click.option(
    "--otlp",
    "otlp_address",
    default="127.0.0.1:4318",
    show_default=True,
    metavar="[HOST:]PORT",
    help="Also take OpenTelemetry (OTLP/HTTP, /v1/traces and /v1/logs) here.",
)
@click.option("--no-otlp", is_flag=True, help="Do not listen for OTLP.")
@click.pass_context
def collect(ctx: click.Context, /, status: bool, otlp_address: str, no_otlp: bool) -> None:
    """Run the local collector for the store: apps on this machine hand it their records.

    Apps start a collector on demand (it exits when no app has been connected for
    LLMLOG_COLLECTOR_IDLE seconds); this runs one in the foreground instead, for a
    sidecar, a container or systemd. Apps logging to the same store (LLMLOG_DB) with
    the same settings (redaction, JSON lines, OpenTelemetry: set them in its
    environment as in theirs) hand each record to it over a Unix socket in
    LLMLOG_HOME, and a record so handed survives the app being killed. Stop it with
    Ctrl-C or SIGTERM: it writes what it received first.

    It also listens for OpenTelemetry over HTTP (OTLP, protobuf or JSON) on
    127.0.0.1:4318, the standard port: an app instrumented only with OpenTelemetry
    (the GenAI instrumentations, OpenLLMetry, OpenInference) or a coding agent
    (Claude Code, Codex) sending there lands in the store, model calls as
    interactions and the other spans as the steps of their trace.
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
    address = None
    if not no_otlp:
        from llmlog.collector.otlp import OTLPReceiver, parse_address

        try:
            address = parse_address(otlp_address)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--otlp") from None
    collector = Collector(settings, path)
    try:
        claimed = collector.claim()
    except OSError as exc:
        raise click.ClickException(f"cannot listen at {path}: {exc.strerror or exc}") from None
    if not claimed:
        raise click.ClickException(f"a collector already runs for {url} (socket {path})")
    receiver = None
    if address is not None:
        host, port = address
        try:
            receiver = OTLPReceiver(host, port)
        except OSError as exc:
            collector.close()
            raise click.ClickException(
                f"cannot listen for OTLP on {host}:{port}: {exc.strerror or exc} "
                "(--otlp HOST:PORT to choose another, --no-otlp to go without)"
            ) from None
        collector.otlp = receiver
    where = f" and OTLP http://{receiver.address[0]}:{receiver.address[1]}" if receiver else ""
    click.echo(
        f"collecting for {url} on {path}{where} (pid {os.getpid()}); Ctrl-C to stop", err=True
    )
    collector.serve()
    click.echo("collector stopped; everything received was written", err=True)
