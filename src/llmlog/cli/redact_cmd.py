"""``llmlog redact [FILE]``: redact text or JSON lines from a file or stdin to stdout.

Each line that is a JSON object or array is parsed and every string value in it
is redacted (keys untouched), so the output line is valid JSON again; an llmlog
record also gets its ``redaction`` counts updated. Any other line is redacted as
text. Lines where nothing is found are written back byte for byte. A one-line
summary of what was replaced goes to stderr.

Scrubbing an existing store (``--db``) is not available yet.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

import click
import orjson

if TYPE_CHECKING:
    from llmlog.redact import Redactor

__all__ = ["redact"]

_RECORD_EVENTS = ("llm_interaction", "llm_feedback")


def _parse_pairs(values: tuple[str, ...], option: str) -> list[tuple[str, str]]:
    pairs = []
    for v in values:
        name, sep, rest = v.partition("=")
        if not sep or not name or not rest:
            raise click.ClickException(f"{option} expects TYPE=VALUE, got {v!r}")
        pairs.append((name.strip(), rest))
    return pairs


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    yield from stream


@click.command("redact")
@click.argument("file", required=False, metavar="[FILE]")
@click.option("-r", "--rule", "rules", multiple=True, metavar="TYPE=REGEX",
              help="Also redact matches of REGEX as TYPE (repeatable).")
@click.option("--deny", "deny", multiple=True, metavar="TERM",
              help="Always redact TERM, case-insensitively as a whole word (repeatable).")
@click.option("--allow", "allow", multiple=True, metavar="VALUE",
              help="Never redact VALUE (repeatable).")
@click.option("--only", "only", default=None, metavar="TYPES",
              help="Comma-separated built-in types to detect (default: all).")
@click.option("-o", "--operator", "operators", multiple=True, metavar="TYPE=OP",
              help="placeholder, pseudonym, mask or drop for TYPE ('*' for all; repeatable).")
@click.option("--key", envvar="LLMLOG_REDACT_KEY", default=None, metavar="KEY",
              help="Key for pseudonyms [env LLMLOG_REDACT_KEY; default: the key file].")
def redact(file: str | None, rules: tuple[str, ...], deny: tuple[str, ...],
           allow: tuple[str, ...], only: str | None, operators: tuple[str, ...],
           key: str | None) -> None:
    """Redact PII and secrets from FILE (or stdin) to stdout.

    JSON lines stay valid JSON: the strings inside each object are redacted and
    the keys are kept. Other lines are redacted as text. A summary of what was
    replaced is printed to stderr.
    """
    from llmlog.redact import Redactor
    from llmlog.redact.walker import walk_value

    types = [t.strip() for t in only.split(",") if t.strip()] if only else None
    try:
        redactor = Redactor(pseudonym_key=key, rules=_parse_pairs(rules, "--rule"),
                            deny_terms=list(deny), allow=list(allow), types=types,
                            operators=dict(_parse_pairs(operators, "--operator")))
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None

    if file is None or file == "-":
        source: IO[bytes] = sys.stdin.buffer
        close = False
    else:
        try:
            source = open(file, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None
        close = True

    out = sys.stdout.buffer
    totals: dict[str, int] = {}
    n_lines = n_changed = 0

    def count(s: str) -> str:
        new, counts = redactor.redact_text_counts(s)
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
        return new

    try:
        for raw in _lines(source):
            n_lines += 1
            body = raw.rstrip(b"\r\n")
            ending = raw[len(body):]
            new_body = _redact_line(body, redactor, count, totals, walk_value)
            if new_body is None:
                out.write(raw)
            else:
                n_changed += 1
                out.write(new_body + ending)
    except OSError as exc:
        raise click.ClickException(f"cannot read {file or 'stdin'}: "
                                   f"{exc.strerror or exc}") from None
    finally:
        if close:
            source.close()
        out.flush()

    total = sum(totals.values())
    if total:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))
        click.echo(f"redacted {total} value{'s' if total != 1 else ''} in {n_changed} of "
                   f"{n_lines} line{'s' if n_lines != 1 else ''}: {detail}", err=True)
    else:
        click.echo(f"redacted nothing in {n_lines} line{'s' if n_lines != 1 else ''}", err=True)


def _redact_line(body: bytes, redactor: Redactor, count: Callable[[str], str],
                 totals: dict[str, int],
                 walk_value: Callable[[Any, Callable[[str], str]], tuple[Any, bool]]
                 ) -> bytes | None:
    """Return the redacted line, or None when nothing in it changed."""
    text = body.decode("utf-8", "surrogateescape")
    if text.lstrip()[:1] in ("{", "["):
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict) and value.get("event") in _RECORD_EVENTS:
            before = _counts(value)
            redactor(value)
            changed = False
            for k, v in _counts(value).items():
                delta = v - before.get(k, 0)
                if delta > 0:
                    totals[k] = totals.get(k, 0) + delta
                    changed = True
            return orjson.dumps(value) if changed else None
        if isinstance(value, (dict, list)):
            value, changed = walk_value(value, count)
            return orjson.dumps(value) if changed else None
    new = count(text)
    if new == text:
        return None
    return new.encode("utf-8", "surrogateescape")


def _counts(rec: dict[str, Any]) -> dict[str, int]:
    red = rec.get("redaction")
    counts = red.get("counts") if isinstance(red, dict) else None
    if not isinstance(counts, dict):
        return {}
    return {k: v for k, v in counts.items() if isinstance(v, int)}
