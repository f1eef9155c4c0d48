"""``llmlog serve``: the local web viewer (see :mod:`llmlog.web` for its security model)."""

from __future__ import annotations

import contextlib
import errno
import sys
import webbrowser

import click

from llmlog.cli._common import Command, InputError, open_store, store_url

__all__ = ["serve"]


@click.command("serve", cls=Command)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but a loopback address requires the "
    "access token printed at start.",
)
@click.option(
    "--port",
    "-p",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--open/--no-open",
    "open_browser",
    default=False,
    show_default=True,
    help="Open the viewer in your web browser.",
)
@click.pass_context
def serve(ctx: click.Context, /, host: str, port: int, open_browser: bool) -> None:
    """Browse, search, chart and score your interactions in a web browser.

    Listens on 127.0.0.1 (this machine only) unless --host says otherwise; its
    only write to the store is feedback (thumbs up/down and a comment).
    """
    url = store_url(ctx)
    with open_store(ctx):  # fail now, with one line, if there is no store there
        pass
    try:
        from llmlog.web import Server
    except ImportError as exc:
        raise click.ClickException(
            f"the web viewer needs extra packages ({exc.name or exc}): pip install 'llmlog[web]'"
        ) from None
    try:
        server = Server(url, host=host, port=port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                f"port {port} is in use on {host}: pass --port with another "
                "port (or --port 0 for any free one)"
            ) from None
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"llmlog viewer for {url}")
    click.echo(f"  {server.url}")
    if server.token:
        click.secho(
            f"Listening on {host}, reachable from other machines: open the address "
            "above (it carries the access token); without the token every request "
            "is refused.",
            err=True,
            fg="yellow",
        )
    click.echo("Press Ctrl+C to stop.", err=True)
    sys.stdout.flush()
    if open_browser:
        webbrowser.open(server.url)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn handles SIGINT itself
        server.run()
