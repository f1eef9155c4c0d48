"""The ``llmlog`` command line: thin commands over the query layer.

Each command lives in its own module of this package and is registered on the
group below, in the order ``llmlog --help`` lists them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

__all__ = ["cli", "main"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# (module, command attribute) in help order; each module defines one click command.
_COMMANDS: list[tuple[str, str]] = [
    ("demo_cmd", "demo"),
    ("search_cmd", "search"),
    ("show_cmd", "show"),
    ("trace_cmd", "trace"),
    ("tail_cmd", "tail"),
    ("stats_cmd", "stats"),
    ("export_cmd", "export"),
    ("import_cmd", "import_"),
    ("feedback_cmd", "feedback"),
    ("serve_cmd", "serve"),
    ("prune_cmd", "prune"),
    ("verify_cmd", "verify"),
    ("spool_cmd", "spool"),
    ("collect_cmd", "collect"),
    ("redact_cmd", "redact"),
]


class Group(click.Group):
    """The root group: every user error is one ``Error:`` line and exit code 1 (CONTRACT.md).

    click itself exits 2 and prints the usage block for usage errors (an unknown
    command or option, a bad value); here every command, whatever its class,
    reports them as one line naming the problem, with exit code 1.
    """

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            rv = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else (prog_name or "llmlog")
            message = " ".join(exc.format_message().split())
            click.echo(f"Error: {message} (see '{where} --help')", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        if not standalone_mode:
            return rv
        sys.exit(0)


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@click.option(
    "--db",
    "db",
    envvar="LLMLOG_DB",
    default=None,
    metavar="URL|PATH",
    help="Store to read: a path, sqlite:///path or postgresql://... "
    "[env LLMLOG_DB; default ./llmlog.db]",
)
@click.version_option(package_name="llmlog", prog_name="llmlog")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Log every LLM call your app makes, then search, inspect and export them."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    if ctx.invoked_subcommand is None:
        from llmlog.cli._overview import overview

        overview(ctx)


for _module, _attr in _COMMANDS:
    cli.add_command(getattr(importlib.import_module(f"llmlog.cli.{_module}"), _attr))


def main() -> None:
    """Run the CLI (the ``llmlog`` console script)."""
    cli(prog_name="llmlog")
