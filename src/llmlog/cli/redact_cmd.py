"""``llmlog redact``: redact a file or stdin to stdout, or scrub a whole store in place.

``llmlog redact [FILE]``: each line that is a JSON object or array is parsed and
every string value in it is redacted (keys untouched), so the output line is
valid JSON again; an llmlog record also gets its ``redaction`` counts updated.
Any other line is redacted as text. Lines where nothing is found are written
back byte for byte. A one-line summary of what was replaced goes to stderr.

``llmlog redact --db [URL|PATH]``: rewrites every record of the store (the
global ``--db``/``LLMLOG_DB`` when no value is given) through the redaction
rules in force, for example after a rule was added, with
:meth:`~llmlog.store.Store.rewrite`: in short transactions while the app keeps
logging, idempotent (a second run changes nothing), and with the old values
purged from the files. ``--dry-run`` only reports what would change.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

import click
import orjson

from llmlog.cli._common import Command, InputError, open_store, progress, stdin_is_tty

if TYPE_CHECKING:
    from llmlog.redact import Redactor
    from llmlog.store import Store
    from llmlog.store.model import RewriteResult

__all__ = ["redact"]

_RECORD_EVENTS = ("llm_interaction", "llm_feedback")


def _parse_pairs(values: tuple[str, ...], option: str) -> list[tuple[str, str]]:
    pairs = []
    for v in values:
        name, sep, rest = v.partition("=")
        if not sep or not name or not rest:
            raise InputError(f"{option} expects TYPE=VALUE, got {v!r}")
        pairs.append((name.strip(), rest))
    return pairs


_SETTINGS_ENV = ("LLMLOG_REDACT_RULES", "LLMLOG_REDACT_OPERATOR")


def _redactor(
    *,
    rules_file: str | None,
    key: str | None,
    rules: tuple[str, ...],
    deny: tuple[str, ...],
    allow: tuple[str, ...],
    only: str | None,
    operators: tuple[str, ...],
) -> Redactor:
    """Build the Redactor of the deployment's settings plus the command's options."""
    from llmlog.config import resolve_settings
    from llmlog.redact.rules import build_redactor

    # Only the redaction variables: a bad unrelated one must not stop a redaction, and a bad
    # rules file must stop it (strict), not fall back to no rules.
    env = {k: os.environ[k] for k in _SETTINGS_ENV if k in os.environ}
    try:
        settings = resolve_settings(
            {"redact_rules": rules_file} if rules_file else {}, strict=True, environ=env
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    types = [t.strip() for t in only.split(",") if t.strip()] if only else None
    try:
        return build_redactor(
            settings.redact_rules,
            pseudonym_key=key,
            operator=settings.redact_operator,
            extra_rules=_parse_pairs(rules, "--rule"),
            deny=deny,
            allow=allow,
            operators=dict(_parse_pairs(operators, "--operator")),
            only=types,
        )
    except (ValueError, TypeError) as exc:
        raise InputError(str(exc)) from None


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    yield from stream


@click.command(
    "redact", cls=Command, short_help="Redact a file or stdin, or scrub a whole store (--db)."
)
@click.argument("file", required=False, metavar="[FILE]")
@click.option(
    "--db",
    "db",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[URL|PATH]",
    help="Scrub this store in place instead (no value: the global --db / LLMLOG_DB).",
)
@click.option("--dry-run", is_flag=True, help="With --db: only report what would change.")
@click.option("--yes", "-y", is_flag=True, help="With --db: do not ask for confirmation.")
@click.option(
    "-r",
    "--rule",
    "rules",
    multiple=True,
    metavar="TYPE=REGEX",
    help="Also redact matches of REGEX as TYPE (repeatable).",
)
@click.option(
    "--deny",
    "deny",
    multiple=True,
    metavar="TERM",
    help="Always redact TERM, case-insensitively as a whole word (repeatable).",
)
@click.option(
    "--allow", "allow", multiple=True, metavar="VALUE", help="Never redact VALUE (repeatable)."
)
@click.option(
    "--only",
    "only",
    default=None,
    metavar="TYPES",
    help="Comma-separated built-in types to detect (default: all).",
)
@click.option(
    "-o",
    "--operator",
    "operators",
    multiple=True,
    metavar="TYPE=OP",
    help="placeholder, pseudonym, mask or drop for TYPE ('*' for all; repeatable).",
)
@click.option(
    "--rules-file",
    default=None,
    metavar="FILE",
    help="TOML or JSON file of rules, deny-terms, allow-list and operators "
    "[env LLMLOG_REDACT_RULES].",
)
@click.option(
    "--key",
    envvar="LLMLOG_REDACT_KEY",
    default=None,
    metavar="KEY",
    help="Key for pseudonyms [env LLMLOG_REDACT_KEY; default: the key file].",
)
@click.pass_context
def redact(
    ctx: click.Context,
    /,
    file: str | None,
    db: str | None,
    dry_run: bool,
    yes: bool,
    rules: tuple[str, ...],
    deny: tuple[str, ...],
    allow: tuple[str, ...],
    only: str | None,
    operators: tuple[str, ...],
    rules_file: str | None,
    key: str | None,
) -> None:
    """Redact PII and secrets from FILE (or stdin) to stdout, or scrub a store with --db.

    JSON lines stay valid JSON: the strings inside each object are redacted and
    the keys are kept. Other lines are redacted as text. A summary of what was
    replaced is printed to stderr.

    The redaction settings of the deployment apply (LLMLOG_REDACT_RULES,
    LLMLOG_REDACT_OPERATOR, LLMLOG_REDACT_KEY); the options add to them.

    With --db, every stored interaction and feedback record is rewritten through
    the current rules (say, after adding one), with its search index, in small
    transactions while the app keeps logging; old values are purged from the
    file. Running it again changes nothing.
    """
    if db is None and (dry_run or yes):
        raise InputError("--dry-run and --yes apply to scrubbing a store: add --db")
    if db is not None and file is not None:
        raise InputError("give FILE to redact a file, or --db to scrub a store, not both")
    from llmlog.redact.walker import walk_value

    redactor = _redactor(
        rules_file=rules_file,
        key=key,
        rules=rules,
        deny=deny,
        allow=allow,
        only=only,
        operators=operators,
    )

    if db is not None:
        if db:
            ctx.find_root().ensure_object(dict)["db"] = db
        with open_store(ctx) as store:
            _scrub(store, redactor, dry_run=dry_run, yes=yes)
        return

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
            ending = raw[len(body) :]
            new_body = _redact_line(body, redactor, count, totals, walk_value)
            if new_body is None:
                out.write(raw)
            else:
                n_changed += 1
                out.write(new_body + ending)
    except OSError as exc:
        raise click.ClickException(
            f"cannot read {file or 'stdin'}: {exc.strerror or exc}"
        ) from None
    finally:
        if close:
            source.close()
        out.flush()

    total = sum(totals.values())
    if total:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))
        click.echo(
            f"redacted {total} value{'s' if total != 1 else ''} in {n_changed} of "
            f"{n_lines} line{'s' if n_lines != 1 else ''}: {detail}",
            err=True,
        )
    else:
        click.echo(f"redacted nothing in {n_lines} line{'s' if n_lines != 1 else ''}", err=True)


def _redact_line(
    body: bytes,
    redactor: Redactor,
    count: Callable[[str], str],
    totals: dict[str, int],
    walk_value: Callable[[Any, Callable[[str], str]], tuple[Any, bool]],
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


def _scrub(store: Store, redactor: Redactor, *, dry_run: bool, yes: bool) -> None:
    """Rewrite every record of ``store`` through ``redactor`` and report what changed."""
    n = store.count()
    if not dry_run and not yes:
        if not stdin_is_tty():
            raise InputError(
                f"refusing to rewrite the {n:,} interaction(s) in {store.url} "
                "without confirmation: pass --yes (or --dry-run to see what "
                "would change)"
            )
        click.confirm(
            f"Rewrite the {n:,} interaction(s) in {store.url} through the current redaction rules?",
            abort=True,
        )

    def transform(rec: dict[str, Any]) -> dict[str, Any] | None:
        before = _counts(rec)
        redactor(rec)
        after = _counts(rec)
        return rec if any(v > before.get(k, 0) for k, v in after.items()) else None

    with progress(n, "scrubbing") as advance:
        result = store.rewrite(transform, dry_run=dry_run, progress=advance)
    click.echo(_summary(result, store.url, dry_run=dry_run))
    if not dry_run and not result.purged:
        if store.url.startswith(("postgresql://", "postgres://")):
            click.echo(
                "note: PostgreSQL keeps the old row versions until VACUUM reuses their "
                "space, and in its write-ahead log, replicas and backups; VACUUM FULL "
                "on the llmlog tables rewrites the table files now (it locks them)",
                err=True,
            )
        else:
            click.echo(
                f"note: another connection kept {store.url}'s write-ahead log busy: "
                "old versions of the changed records stay in its -wal file until the "
                "next checkpoint; run this again when the app is idle to purge them",
                err=True,
            )


def _summary(result: RewriteResult, url: str, *, dry_run: bool) -> str:
    """Return the one-line report of a scrub."""

    def of(changed: int, total: int, noun: str) -> str:
        return f"{changed:,} of {total:,} {noun}{'s' if total != 1 else ''}"

    what = (
        f"{of(result.changed, result.interactions, 'interaction')} and "
        f"{of(result.feedback_changed, result.feedback, 'feedback record')}"
    )
    if not result.changed and not result.feedback_changed:
        return (
            f"nothing to scrub in {url}: {result.interactions:,} interaction(s) and "
            f"{result.feedback:,} feedback record(s) are clean under the current rules"
        )
    total = sum(result.counts.values())
    detail = ", ".join(
        f"{k} {v}" for k, v in sorted(result.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    verb = "would scrub" if dry_run else "scrubbed"
    return f"{verb} {what} in {url}: {total:,} value{'s' if total != 1 else ''} ({detail})"


def _counts(rec: dict[str, Any]) -> dict[str, int]:
    red = rec.get("redaction")
    counts = red.get("counts") if isinstance(red, dict) else None
    if not isinstance(counts, dict):
        return {}
    return {k: v for k, v in counts.items() if isinstance(v, int)}
