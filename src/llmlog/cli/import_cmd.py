"""``llmlog import``: load llmlog JSON lines and classic-snippet log files into the store."""

from __future__ import annotations

import dataclasses
import gzip
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

import click
import orjson

from llmlog.cli._common import Command, InputError, open_store, progress, store_url
from llmlog.exceptions import ConfigError
from llmlog.formats import parse_line
from llmlog.store import StoreError, StoreNotFoundError
from llmlog.store import open_store as open_store_url
from llmlog.writing import StoreWriter, user_processors

__all__ = ["import_"]

_SHOW = 20  # malformed lines listed one by one; the rest are counted


def _open(name: str) -> tuple[IO[bytes], IO[bytes], int]:
    """Return (lines stream, raw stream for progress, size) for a file, gzip or not, or stdin."""
    if name == "-":
        raw: IO[bytes] = sys.stdin.buffer
        size = 0
    else:
        try:
            raw = open(name, "rb")  # noqa: SIM115 - closed by the caller
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror}") from None
        size = Path(name).stat().st_size
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw)), raw, size
    return raw, raw, size


def _lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, bytes]]:
    try:
        yield from enumerate(stream, 1)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot read {name}: {exc}") from None


@click.command(
    "import",
    cls=Command,
    short_help="Import llmlog JSON lines and classic-snippet log files (gzip too).",
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True)
)
@click.option(
    "--batch-size",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Interactions written per transaction.",
)
@click.pass_context
def import_(ctx: click.Context, /, files: tuple[str, ...], batch_size: int) -> None:
    """Import interactions from FILE... (- for stdin); gzip is detected.

    Reads llmlog's JSON lines and log files written by the classic logging
    snippet, whose lines carry a prefix such as "2025-01-01 12:00:00,123 - app -
    INFO - " before the JSON object. Importing twice adds nothing twice (keyed
    by request id; a record without one gets an id derived from its content).
    Redaction and your other processors apply, as when logging. Malformed lines
    are reported with file and line number; everything else is imported.
    """
    import llmlog
    from llmlog.pipeline import FEEDBACK, Pipeline

    url = store_url(ctx)
    try:
        with open_store_url(url) as existing:  # refuses a file that is not an llmlog store
            before = existing.count()
    except StoreNotFoundError:
        before = 0  # the sink creates it
    except StoreError as exc:
        raise InputError(str(exc)) from None
    settings = dataclasses.replace(llmlog.get_settings(), durability="sync", on_full="drop")
    try:
        sink = StoreWriter(url, background=True)
        processors = user_processors(settings)
    except (ConfigError, StoreError) as exc:
        raise InputError(str(exc)) from None
    pipeline = Pipeline(settings, [sink], processors)
    counts: Counter[str] = Counter()
    malformed: list[str] = []
    others: Counter[str] = Counter()
    batch: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []

    def write_batch() -> None:
        if batch:
            counts["processed"] += pipeline.write_many(batch)
            batch.clear()
            sink.raise_if_failed()

    total = 0 if "-" in files else sum(Path(f).stat().st_size for f in files)
    try:
        with progress(total or None, "importing") as advance:
            for name in files:
                stream, raw, _ = _open(name)
                seen = 0
                try:
                    for lineno, line in _lines(stream, name):
                        parsed = parse_line(line)
                        kind = parsed.kind
                        counts["lines"] += 1
                        if kind == "interaction":
                            assert parsed.fields is not None
                            batch.append(parsed.fields)
                            counts["interactions"] += 1
                            if len(batch) >= batch_size:
                                write_batch()
                                pos = raw.tell() if raw.seekable() else 0
                                advance(pos - seen)
                                seen = pos
                        elif kind == "feedback":
                            assert parsed.fields is not None
                            feedback.append(parsed.fields)
                        elif kind == "malformed":
                            counts["malformed"] += 1
                            if len(malformed) < _SHOW:
                                malformed.append(f"{name}:{lineno}: {parsed.reason}")
                        elif kind == "other":
                            others[parsed.reason] += 1
                    write_batch()
                    advance((raw.tell() if raw.seekable() else 0) - seen)
                finally:
                    if stream is not raw:
                        stream.close()
                    if name != "-":
                        raw.close()
            if feedback:
                sink.flush()  # the interactions first: feedback is checked against the store
                sink.raise_if_failed()
                counts["feedback"] = _import_feedback(url, pipeline, feedback, FEEDBACK)
    finally:
        pipeline.close(30.0)
    sink.raise_if_failed()
    with open_store(ctx) as store:
        added = store.count() - before
    counts["refused"] = sink.refused
    _report(counts, added, malformed, others)
    if sink.refused:
        click.echo(
            f"{sink.refused:,} record(s) refused by the store ({sink.refusal}); "
            "they were not imported",
            err=True,
        )


def _import_feedback(url: str, pipeline: Any, items: list[dict[str, Any]], kind: int) -> int:
    """Write the feedback not already stored (same request id, time and score); return how many."""
    unique = list({(f["request_id"], f["timestamp"], f["score"]): f for f in items}.values())
    try:
        with open_store_url(url) as store:
            new = [
                f
                for f in unique
                if not store.has_feedback(f["request_id"], f["timestamp"], f["score"])
            ]
    except StoreNotFoundError:
        new = unique
    for f in new:
        pipeline.submit(kind, orjson.dumps(f), None)
    return len(new)


def _report(counts: Counter[str], added: int, malformed: list[str], others: Counter[str]) -> None:
    found = counts["interactions"]
    dropped = found - counts["processed"]
    dupes = max(0, counts["processed"] - counts["refused"] - added)
    parts = [f"imported {added:,} interaction(s) from {counts['lines']:,} line(s)"]
    if dupes:
        parts.append(f"{dupes:,} already in the store")
    if dropped:
        parts.append(f"{dropped:,} dropped by processors")
    if counts["feedback"]:
        parts.append(f"{counts['feedback']:,} feedback score(s)")
    click.echo("; ".join(parts))
    if others:
        skipped = sum(others.values())
        why = ", ".join(f"{n:,} {reason}" for reason, n in others.most_common())
        click.echo(f"skipped {skipped:,} line(s) that are not llmlog records ({why})")
    n_bad = counts["malformed"]
    if n_bad:
        click.echo(f"{n_bad:,} malformed line(s):", err=True)
        for item in malformed:
            click.echo(f"  {item}", err=True)
        if n_bad > len(malformed):
            click.echo(f"  ... and {n_bad - len(malformed):,} more", err=True)
