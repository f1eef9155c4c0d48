"""``llmlog export``: interactions out as JSON lines, CSV, Parquet or fine-tuning data."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from typing import IO, Any

import click
import orjson

from llmlog.cli._common import (
    Command,
    InputError,
    build_query,
    open_store,
    progress,
    query_options,
    stdout_bytes,
)
from llmlog.formats import FLAT_COLUMNS, ChatExamples, flat_row
from llmlog.store import Query, Store

__all__ = ["export"]

_FORMATS = ("jsonl", "csv", "parquet", "openai-chat")


def _records(
    store: Store, query: Query, limit: int | None, advance: Any
) -> Iterator[dict[str, Any]]:
    for n, rec in enumerate(store.iter_records(query, order="oldest"), 1):
        yield dict(rec)
        advance(1)
        if limit is not None and n >= limit:
            return


@click.command(
    "export",
    cls=Command,
    short_help="Export as JSON lines, CSV, Parquet or OpenAI fine-tuning data.",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(_FORMATS),
    required=True,
    help="jsonl (records), csv, parquet, or openai-chat (fine-tuning JSONL).",
)
@click.option(
    "--out",
    "-o",
    "out",
    default=None,
    metavar="FILE",
    help="Write here (default: stdout; parquet needs a file).",
)
@click.argument("text", required=False, metavar="[QUERY]")
@query_options
@click.option(
    "-n",
    "--limit",
    default=None,
    type=click.IntRange(min=1),
    help="At most this many interactions (oldest first).",
)
@click.pass_context
def export(
    ctx: click.Context,
    /,
    fmt: str,
    out: str | None,
    text: str | None,
    limit: int | None,
    **filters: Any,
) -> None:
    """Export matching interactions, oldest first.

    openai-chat writes {"messages": [...]} per line with the assistant's reply
    appended, for OpenAI fine-tuning: errors, non-chat calls and calls without
    a reply are skipped, duplicates are written once, and the counts of what
    was skipped and why are printed.

    \b
    Examples:
      llmlog export -f jsonl --since 7d -o week.jsonl
      llmlog export -f csv -m gpt-4o > gpt4o.csv
      llmlog export -f openai-chat --status ok --min-score 4 -o train.jsonl
      llmlog export -f parquet -o all.parquet
    """
    query = build_query(text, **filters)
    if fmt == "parquet":
        if not out:
            raise InputError("parquet export needs --out FILE")
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError(
                "parquet export needs pyarrow: pip install 'llmlog[parquet]'"
            ) from None
    with open_store(ctx) as store:
        total = None
        if limit is None and sys.stderr.isatty():
            total = store.count(query)
        try:
            with progress(total or limit, "exporting") as advance:
                recs = _records(store, query, limit, advance)
                if fmt == "parquet":
                    assert out is not None
                    n = _parquet(recs, out)
                    summary = f"exported {n:,} interaction(s) to {out}"
                else:
                    summary = _text_export(fmt, recs, out)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    click.echo(summary, err=True)


def _open_out(out: str | None) -> IO[bytes]:
    if not out or out == "-":
        return stdout_bytes()
    try:
        return open(out, "wb")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}") from None


def _text_export(fmt: str, recs: Iterator[dict[str, Any]], out: str | None) -> str:
    stream = _open_out(out)
    where = f" to {out}" if out and out != "-" else ""
    try:
        if fmt == "jsonl":
            n = 0
            for rec in recs:
                stream.write(orjson.dumps(rec) + b"\n")
                n += 1
            return f"exported {n:,} interaction(s){where}"
        if fmt == "csv":
            text = _TextOut(stream)
            writer = csv.DictWriter(text, fieldnames=FLAT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            n = 0
            for rec in recs:
                writer.writerow(flat_row(rec))
                n += 1
            return f"exported {n:,} interaction(s){where}"
        examples = ChatExamples()
        for rec in recs:
            ex = examples.add(rec)
            if ex is not None:
                stream.write(orjson.dumps(ex) + b"\n")
        msg = f"exported {examples.written:,} conversation(s){where}"
        skipped = sum(examples.skipped.values())
        if skipped:
            why = ", ".join(f"{n:,} {reason}" for reason, n in examples.skipped.most_common())
            msg += f"; skipped {skipped:,}: {why}"
        return msg
    finally:
        stream.flush()
        if out and out != "-":
            stream.close()


class _TextOut:
    """A minimal text writer over a binary stream, for the csv module."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def write(self, s: str) -> int:
        self._stream.write(s.encode())
        return len(s)


def _parquet(recs: Iterator[dict[str, Any]], out: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        "timestamp": pa.float64(),
        "duration_ms": pa.float64(),
        "ttft_ms": pa.float64(),
        "cost_usd": pa.float64(),
        "tokens_estimated": pa.bool_(),
    }
    for col in (
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cached_input_tokens",
        "reasoning_tokens",
    ):
        types[col] = pa.int64()
    schema = pa.schema([(c, types.get(c, pa.string())) for c in FLAT_COLUMNS])
    n = 0
    try:
        with pq.ParquetWriter(out, schema) as writer:
            rows: list[dict[str, Any]] = []
            for rec in recs:
                rows.append(flat_row(rec))
                if len(rows) >= 10_000:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    n += len(rows)
                    rows.clear()
            if rows or not n:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                n += len(rows)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc}") from None
    return n
