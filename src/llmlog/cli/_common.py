"""What every command shares: opening the store, filters, one-line errors, output.

* :class:`Command` makes every user error a one-line ``Error: ...`` with exit
  code 1 (CONTRACT.md), including click's own usage errors (which would exit 2
  and print the usage block), and turns a closed pipe (``| head``) into a quiet
  exit.
* :func:`open_store` reads ``--db`` / ``LLMLOG_DB`` / the configured default.
* :func:`query_options` adds the shared filters; :func:`build_query` turns them
  into a :class:`~llmlog.store.Query`.
* Output: rich tables and colour on a terminal, tab-separated plain text when
  piped, ``--json`` one record per line.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import click
import orjson

from llmlog.display import fmt_cost, fmt_int, fmt_ms
from llmlog.store import Query, Store, StoreError, StoreNotFoundError, parse_time
from llmlog.store import open_store as _open_store

__all__ = [
    "Command",
    "InputError",
    "build_query",
    "echo_records",
    "fmt_cost",
    "fmt_int",
    "fmt_ms",
    "local_time",
    "open_store",
    "progress",
    "query_options",
    "render_table",
    "shown_url",
    "stdout_is_tty",
    "store_url",
]

F = TypeVar("F", bound=Callable[..., Any])


class InputError(click.ClickException):
    """A usage or input error: printed as one ``Error: ...`` line, exit code 1."""

    exit_code = 1


class Command(click.Command):
    """A click command whose every user error is one line and exit code 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise InputError(exc.format_message().replace("\n", " ")) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            raise InputError(str(exc)) from None
        except sqlite3.DatabaseError as exc:  # locked for too long, corrupt, disk full...
            raise click.ClickException(f"store error: {exc}") from None
        except BrokenPipeError:
            # the reader went away (| head): stop quietly, like other Unix tools, and keep
            # the interpreter's final flush of stdout from failing again
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError, io.UnsupportedOperation):
                pass
            ctx.exit(0)


# -- the store -----------------------------------------------------------------------------------


def store_url(ctx: click.Context) -> str:
    """Return the store to use: ``--db``, else ``LLMLOG_DB``, else the configured default."""
    obj = ctx.find_root().obj
    url = obj.get("db") if isinstance(obj, dict) else None
    if not url:
        import llmlog

        url = llmlog.get_settings().db
    if url.lower() == "off":
        raise InputError("LLMLOG_DB is 'off', so there is no store to read: pass --db PATH")
    return str(url)


def shown_url(url: str) -> str:
    """Return a store URL fit to print: a password in it (``postgresql://u:pw@...``) masked."""
    parts = urlsplit(url)
    if "://" not in url or parts.password is None:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}"))


def open_store(ctx: click.Context) -> Store:
    """Open the store for reading, or fail with a one-line error naming the problem."""
    url = store_url(ctx)
    try:
        return _open_store(url)
    except StoreNotFoundError:
        raise InputError(
            f"no llmlog store at {shown_url(url)}: log something first (or run "
            "'llmlog demo'), or point --db / LLMLOG_DB at your store"
        ) from None
    except StoreError as exc:
        raise InputError(str(exc)) from None


# -- filters -------------------------------------------------------------------------------------


class TimeType(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """A point in time as people type it: ``2h``, ``30m``, ``7d``, ``2026-11-01``."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_time(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class MetaType(click.ParamType):  # type: ignore[type-arg]
    """A metadata filter: ``key=value``, or ``key`` alone for "has this key"."""

    name = "key=value"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str | None]:
        if isinstance(value, tuple):
            return cast(tuple[str, str | None], value)
        key, sep, val = str(value).partition("=")
        if not key.strip():
            self.fail(f"expected key=value, got {value!r}", param, ctx)
        return (key.strip(), val if sep else None)


TIME = TimeType()

_FILTERS = [
    click.option(
        "-m",
        "--model",
        "models",
        multiple=True,
        metavar="MODEL",
        help="Requested model (repeat for any of several).",
    ),
    click.option(
        "--provider",
        "providers",
        multiple=True,
        metavar="NAME",
        help="Provider: openai, anthropic, ... (repeat for any of several).",
    ),
    click.option(
        "--status",
        type=click.Choice(["ok", "error"]),
        default=None,
        help="Only calls that succeeded or failed.",
    ),
    click.option("--session", default=None, metavar="ID", help="Session id."),
    click.option("--user", default=None, metavar="ID", help="User id."),
    click.option(
        "--tag",
        "tags",
        multiple=True,
        metavar="TAG",
        help="Tag the interaction carries (repeat: all of them).",
    ),
    click.option(
        "--meta",
        "metadata",
        multiple=True,
        type=MetaType(),
        help="Metadata key=value, or key to require the key (repeatable).",
    ),
    click.option(
        "--min-score",
        type=float,
        default=None,
        metavar="N",
        help="Latest feedback score at least N.",
    ),
    click.option(
        "--max-score",
        type=float,
        default=None,
        metavar="N",
        help="Latest feedback score at most N.",
    ),
    click.option(
        "--since",
        type=TIME,
        default=None,
        help="From this time: 30m, 2h, 7d, today, 2026-11-01, 2026-11-01T14:00.",
    ),
    click.option("--until", type=TIME, default=None, help="Before this time (same forms)."),
]


def query_options(f: F) -> F:
    """Add the shared filter options (model, provider, status, session, user, tag, ...)."""
    for option in reversed(_FILTERS):
        f = option(f)
    return f


def build_query(text: str | None = None, **opts: Any) -> Query:
    """Return the Query for the shared filter options (as :func:`query_options` names them)."""
    try:
        return Query(
            text=text,
            since=opts.get("since"),
            until=opts.get("until"),
            models=tuple(opts.get("models") or ()),
            providers=tuple(opts.get("providers") or ()),
            status=opts.get("status"),
            session_id=opts.get("session"),
            user_id=opts.get("user"),
            tags=tuple(opts.get("tags") or ()),
            metadata=tuple(opts.get("metadata") or ()),
            min_score=opts.get("min_score"),
            max_score=opts.get("max_score"),
        )
    except ValueError as exc:
        raise InputError(f"invalid filter: {exc}") from None


# -- output --------------------------------------------------------------------------------------


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def stdout_is_tty() -> bool:
    """Return True when stdout is a terminal (rich output) rather than a pipe or file."""
    return _isatty(sys.stdout)


def stdin_is_tty() -> bool:
    """Return True when stdin is a terminal (a person can answer a prompt)."""
    return _isatty(sys.stdin)


def _stderr_is_tty() -> bool:
    return _isatty(sys.stderr)


def stdout_bytes() -> IO[bytes]:
    """Return stdout for writing bytes (after flushing what was written as text)."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        return cast(IO[bytes], _BytesToText(sys.stdout))
    return cast(IO[bytes], buffer)


class _BytesToText(io.RawIOBase):
    """Write bytes to a text stream (stdout replaced by something without ``buffer``)."""

    def __init__(self, text: IO[str]) -> None:
        super().__init__()
        self._text = text

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._text.write(bytes(b).decode())
        return len(b)

    def flush(self) -> None:
        self._text.flush()


def local_time(ts: float | None, *, seconds: bool = True) -> str:
    """Return ``ts`` in local time: ``2026-11-01 14:03:07``."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def echo_records(records: Sequence[Mapping[str, Any]] | Iterator[Mapping[str, Any]]) -> int:
    """Write records as JSON lines to stdout (the record format); return how many."""
    out = stdout_bytes()
    n = 0
    for rec in records:
        out.write(orjson.dumps(rec) + b"\n")
        n += 1
    out.flush()
    return n


_VALUE_STYLES = {"error": "red", "ok": "green"}


def render_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    styles: Mapping[str, str] | None = None,
    right: Sequence[str] = (),
    title: str | None = None,
    footer: Sequence[str] | None = None,
) -> None:
    """Print rows: a rich table on a terminal, tab-separated lines (no header) when piped.

    Cell text is never read as rich markup, so logged text prints as it is.

    Args:
        columns: column headers.
        rows: cell text, one sequence per row.
        styles: a rich style per column header (terminal only); the ``status``
            column is coloured by value.
        right: headers of the columns to right-align.
        title: a caption above the table (terminal only).
        footer: a last row set apart, such as totals (terminal only).
    """
    if not stdout_is_tty():
        for row in rows:
            click.echo("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    flex = "preview" in columns
    table = Table(
        title=title,
        box=None,
        header_style="bold",
        pad_edge=False,
        collapse_padding=True,
        title_justify="left",
        title_style="bold",
        show_footer=footer is not None,
        expand=flex,
    )
    for i, col in enumerate(columns):
        widest = max([len(col), *(len(r[i]) for r in rows), *([len(footer[i])] if footer else [])])
        table.add_column(
            col,
            justify="right" if col in right else "left",
            style=(styles or {}).get(col, ""),
            no_wrap=True,
            overflow="ellipsis",
            footer=Text(footer[i], style="bold") if footer else "",
            ratio=1 if col == "preview" else None,
            min_width=0 if col == "preview" else min(widest, 40),
        )
    for row in rows:
        table.add_row(
            *(
                Text(cell, style=_VALUE_STYLES.get(cell, "") if col == "status" else "")
                for col, cell in zip(columns, row, strict=False)
            )
        )
    Console(file=sys.stdout, highlight=False).print(table)


def hint(text: str) -> None:
    """Print a dim hint line to stderr (terminal only: never pollutes piped output)."""
    if _stderr_is_tty():
        click.secho(text, err=True, dim=True)


@contextlib.contextmanager
def progress(total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``: a progress bar on stderr when it is a terminal, else nothing."""
    if not _stderr_is_tty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
