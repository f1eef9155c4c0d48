"""Settings: resolved once, from an explicit argument, then ``LLMLOG_*``, then the default.

Every field of :class:`Settings` names its environment variable in its metadata,
so the table in the README, the resolution code and the error messages all come
from one place. ``configure()`` raises ``ConfigError`` (a ``ValueError``) naming the option or the
variable for a bad value; the implicit resolution that happens when an app logs
without calling ``configure()`` never raises: it warns on the ``llmlog`` logger
and uses the default for that one value.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmlog.exceptions import ConfigError

if TYPE_CHECKING:
    from llmlog.redact.rules import RedactRules

__all__ = ["Settings", "resolve_settings"]

_log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _env(name: str, doc: str, default: Any = None, **kw: Any) -> Any:
    return field(default=default, metadata={"env": name, "doc": doc}, **kw)


@dataclass(frozen=True)
class Settings:
    """Every option of :func:`llmlog.configure`, with its environment variable."""

    db: str = _env(
        "LLMLOG_DB",
        "store the CLI and viewer read: a path, sqlite:///path, postgresql://..., or off",
        "llmlog.db",
    )
    jsonl: str | None = _env("LLMLOG_JSONL", "also append JSON lines to this file")
    jsonl_max_bytes: int = _env(
        "LLMLOG_JSONL_MAX_BYTES",
        "rotate the JSON-lines file at this size (0 = never)",
        100 * 1024 * 1024,
    )
    jsonl_backups: int = _env("LLMLOG_JSONL_BACKUPS", "rotated JSON-lines files to keep", 5)
    otel: bool = _env("LLMLOG_OTEL", "also export OpenTelemetry GenAI spans", False)
    otel_content: str = _env(
        "LLMLOG_OTEL_CONTENT",
        "what the OpenTelemetry export gets of the (redacted) content, whatever the store "
        "keeps: full, metadata (lengths and hashes only) or off",
        "full",
    )
    disabled: bool = _env("LLMLOG_DISABLED", "log nothing at all", False)
    redact: bool = _env("LLMLOG_REDACT", "redact PII and secrets before anything is written", True)
    redact_key: str | None = _env(
        "LLMLOG_REDACT_KEY",
        "secret key for consistent pseudonyms "
        "(HMAC); when unset, a key file is created in LLMLOG_HOME "
        "the first time a pseudonym is made",
    )
    redact_rules: RedactRules | None = _env(  # noqa: RUF009 - a field(), like the others
        "LLMLOG_REDACT_RULES",
        "TOML or JSON file of extra redaction rules (TYPE = regex), "
        "deny-terms, an allow-list, types to disable and operators per type, read and checked "
        "once (configure() also takes a dict of the same shape; see llmlog.redact.rules)",
    )
    redact_operator: str = _env(
        "LLMLOG_REDACT_OPERATOR",
        "what replaces a detected value of "
        "a type without its own operator: placeholder ([EMAIL]), "
        "pseudonym ([EMAIL:7f3a9c], keyed) or mask (j***@corp.com)",
        "placeholder",
    )
    capture_content: str = _env(
        "LLMLOG_CAPTURE_CONTENT",
        "full (redacted text), metadata (lengths and hashes only) or off (no content fields)",
        "full",
    )
    sample_rate: float = _env("LLMLOG_SAMPLE_RATE", "fraction of interactions to log (0..1)", 1.0)
    max_queue: int = _env("LLMLOG_MAX_QUEUE", "interactions held in memory before spilling", 10_000)
    batch_size: int = _env("LLMLOG_BATCH_SIZE", "interactions written per batch", 512)
    flush_interval: float = _env("LLMLOG_FLUSH_INTERVAL", "seconds between background writes", 0.2)
    on_full: str = _env(
        "LLMLOG_ON_FULL",
        "when the queue is full or a sink is down: spool "
        "(to disk, replayed later) or drop (counted)",
        "spool",
    )
    durability: str = _env(
        "LLMLOG_DURABILITY",
        "async (background writer) or sync (written before the call returns)",
        "async",
    )
    spool_dir: str | None = _env(
        "LLMLOG_SPOOL_DIR", "where records wait while a sink is down (default: beside the store)"
    )
    spool_max_bytes: int = _env(
        "LLMLOG_SPOOL_MAX_BYTES",
        "the most one sink's spool holds on disk; past it records are dropped, counted and "
        "reported (0 = no limit)",
        1024**3,
    )
    max_string: int = _env(
        "LLMLOG_MAX_STRING",
        "longest string kept in a record, in characters; a longer one is cut with a marker "
        "naming its original size (0 = no limit)",
        256 * 1024,
    )
    exit_timeout: float = _env("LLMLOG_EXIT_TIMEOUT", "seconds to finish writing at exit", 30.0)
    collector: str = _env(
        "LLMLOG_COLLECTOR",
        "auto (hand records to a local collector process that owns the store, started on "
        "demand) or off (always write in this process)",
        "auto",
    )
    collector_idle: float = _env(
        "LLMLOG_COLLECTOR_IDLE",
        "seconds a collector started on demand stays with no app connected (0: forever)",
        60.0,
    )
    service: str | None = _env(
        "LLMLOG_SERVICE", "service name in each record's app field (default: OTEL_SERVICE_NAME)"
    )
    environment: str | None = _env("LLMLOG_ENVIRONMENT", "deployment environment in app field")
    version: str | None = _env("LLMLOG_VERSION", "application version in app field")
    prices: str | None = _env(
        "LLMLOG_PRICES", "JSON file of extra model prices (USD per 1M tokens)"
    )
    console: bool = _env(
        "LLMLOG_CONSOLE", "print a one-line summary of each interaction to stderr", False
    )
    raise_errors: bool = _env(
        "LLMLOG_RAISE_ERRORS", "re-raise llmlog's own errors (tests only)", False
    )
    processors: Sequence[Callable[..., Any]] | None = field(
        default=None,
        metadata={"doc": "record processors run before the sinks (default: redaction)"},
    )
    sinks: Sequence[Any] = field(default=(), metadata={"doc": "extra sink objects"})
    price_table: Mapping[str, Mapping[str, float]] | None = field(
        default=None,
        metadata={
            "doc": "extra model prices, {model: {input, output, cached_input}} in USD per 1M tokens"
        },
    )


_CHOICES = {
    "capture_content": ("full", "metadata", "off"),
    "otel_content": ("full", "metadata", "off"),
    "on_full": ("spool", "drop"),
    "durability": ("async", "sync"),
    "collector": ("auto", "off"),
    "redact_operator": ("placeholder", "pseudonym", "mask"),
}


def _parse(f: dataclasses.Field[Any], raw: Any, source: str) -> Any:
    """Convert ``raw`` to the type of field ``f``; raise ConfigError naming ``source``."""
    name = f.name
    default = f.default
    if name in ("processors", "sinks", "price_table"):
        return raw
    if name == "redact_rules":  # read and checked here, once: a bad file fails configure()
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        from llmlog.redact.rules import load_rules

        try:
            return load_rules(raw.strip() if isinstance(raw, str) else raw)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{source}: expected a boolean (1/0, true/false, on/off), got {raw!r}")
    if isinstance(default, int):
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: expected an integer, got {raw!r}") from None
        if value < 0 or (value == 0 and name in ("max_queue", "batch_size")):
            raise ConfigError(f"{source}: must be positive, got {raw!r}")
        return value
    if isinstance(default, float):
        try:
            value_f = float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: expected a number, got {raw!r}") from None
        if value_f != value_f or value_f < 0:
            raise ConfigError(f"{source}: must be a non-negative number, got {raw!r}")
        if name == "sample_rate" and value_f > 1:
            raise ConfigError(f"{source}: must be between 0 and 1, got {raw!r}")
        return value_f
    if raw is None:
        return None
    text = str(raw).strip()
    if name in _CHOICES:
        text = text.lower()
        if text not in _CHOICES[name]:
            raise ConfigError(f"{source}: expected one of {', '.join(_CHOICES[name])}, got {raw!r}")
    if name == "db" and not text:
        raise ConfigError(f"{source}: must not be empty (use 'off' for no store)")
    return text or None


def resolve_settings(
    options: Mapping[str, Any], *, strict: bool, environ: Mapping[str, str] | None = None
) -> Settings:
    """Return Settings from explicit ``options``, then ``LLMLOG_*`` env vars, then defaults.

    Args:
        options: keyword arguments given to ``configure()``.
        strict: raise ``ConfigError`` for a bad env value (``configure()``); when
            false, warn and use the default instead (implicit configuration at
            the first log call, which must never raise into the app).
        environ: the environment (``os.environ`` by default).

    Raises:
        TypeError: an unknown option.
        ConfigError: a bad option value, or (strict) a bad env value (a ValueError).
    """
    env = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = set(options) - set(fields)
    if unknown:
        raise TypeError(
            f"configure() got unknown option(s): {', '.join(sorted(unknown))}; "
            f"known options: {', '.join(fields)}"
        )
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name in options:
            values[name] = _parse(f, options[name], f"configure({name}=...)")
            continue
        var = f.metadata.get("env")
        if var and var in env:
            try:
                values[name] = _parse(f, env[var], var)
            except ValueError as exc:
                if strict:
                    raise
                _log.warning("llmlog: %s; using the default %r", exc, f.default)
    if "service" not in values and env.get("OTEL_SERVICE_NAME"):
        values["service"] = env["OTEL_SERVICE_NAME"]
    return Settings(**values)


def settings_table() -> list[tuple[str, str, str, str]]:
    """Return (option, env var, default, meaning) rows for the documentation."""
    rows = []
    for f in dataclasses.fields(Settings):
        default = f.default if f.default is not dataclasses.MISSING else ""
        rows.append((f.name, f.metadata.get("env", ""), repr(default), f.metadata["doc"]))
    return rows
