"""The ``llmlog`` command line: thin commands over the query layer.

Each command lives in its own module of this package and is registered on the
group below, in the order ``llmlog --help`` lists them.
"""

from __future__ import annotations

import importlib

import click

__all__ = ["cli", "main"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# (module, command attribute) in help order; each module defines one click command.
_COMMANDS: list[tuple[str, str]] = [
    ("demo_cmd", "demo"),
    ("search_cmd", "search"),
    ("show_cmd", "show"),
    ("tail_cmd", "tail"),
    ("stats_cmd", "stats"),
    ("export_cmd", "export"),
    ("import_cmd", "import_"),
    ("feedback_cmd", "feedback"),
    ("prune_cmd", "prune"),
    ("verify_cmd", "verify"),
    ("redact_cmd", "redact"),
]


@click.group(context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@click.option("--db", "db", envvar="LLMLOG_DB", default=None, metavar="URL|PATH",
              help="Store to read: a path, sqlite:///path or postgresql://... "
                   "[env LLMLOG_DB; default ./llmlog.db]")
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
