"""Your redaction rules: extra patterns, deny-terms, an allow-list and operators per type.

They come from a small TOML or JSON file named by ``LLMLOG_REDACT_RULES`` (or
``configure(redact_rules=...)``, which also takes a dict of the same shape), are
read and checked once, when the settings are resolved, and apply everywhere
llmlog redacts: the pipeline, ``llmlog redact`` and ``llmlog redact --db``.
An example, with every key optional::

    # redact.toml
    deny = ["Project Falcon", "Acme Corp"]        # always redacted, as DENY_TERM
    allow = ["support@example.com"]               # never redacted
    disable = ["IP_ADDRESS"]                      # built-in types not to look for
    enable = ["PERSON"]                           # opt-in types to look for too

    [rules]                                       # TYPE = regex (or a list of them)
    EMPLOYEE_ID = 'EMP-\\d{6}'
    TICKET = ['TCK-\\d+', 'INC\\d{7}']

    [operators]                                   # per type; the default for the
    EMAIL = "pseudonym"                           # others is LLMLOG_REDACT_OPERATOR
    CREDIT_CARD = "mask"
    EMPLOYEE_ID = "drop"

The JSON form has the same keys (``{"deny": [...], "rules": {"EMPLOYEE_ID":
"..."}}``). A problem (unreadable file, syntax error, unknown key or type, a
regex that does not compile or matches the empty string) is one line naming the
file and the key, raised as ``ValueError`` by :func:`load_rules`.

Rules are regular expressions run on every string of every record: keep them
linear (no nested quantifiers such as ``(a+)+``), since user rules are not
covered by the engine's linear-time guarantee.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import tomllib

from llmlog.redact.detectors import BUILTIN_TYPES, OPT_IN_TYPES
from llmlog.redact.engine import Redactor
from llmlog.redact.operators import OPERATOR_NAMES

__all__ = ["DEFAULT_OPERATORS", "RULE_KEYS", "RedactRules", "load_rules"]

RULE_KEYS: tuple[str, ...] = ("rules", "deny", "allow", "operators", "disable", "enable")
"""The keys a rules file may have."""

DEFAULT_OPERATORS: tuple[str, ...] = ("placeholder", "pseudonym", "mask")
"""What ``LLMLOG_REDACT_OPERATOR`` may name (``drop`` only per type, in a rules file)."""

OperatorSpec = str | Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class RedactRules:
    """Checked user rules, ready to build a :class:`~llmlog.redact.Redactor` from.

    Attributes:
        rules: extra detectors as ``(TYPE, regex)`` pairs.
        deny: terms always redacted as ``DENY_TERM``.
        allow: values never redacted.
        operators: ``(TYPE, operator)`` pairs; an operator is a name
            (``placeholder``, ``pseudonym``, ``mask``, ``drop``) or, from
            ``configure()`` only, a function ``fn(value, type) -> str``.
        disable: built-in types not to detect.
        enable: opt-in types to detect too (``PERSON``).
        source: where they came from (the file's path, or ``<dict>``).

    .. versionadded:: 0.1
    """

    rules: tuple[tuple[str, str], ...] = ()
    deny: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    operators: tuple[tuple[str, OperatorSpec], ...] = ()
    disable: tuple[str, ...] = ()
    enable: tuple[str, ...] = ()
    source: str = "<dict>"

    def redactor(
        self, *, pseudonym_key: bytes | str | None = None, operator: str | None = None
    ) -> Redactor:
        """Return a Redactor applying these rules.

        Args:
            pseudonym_key: the HMAC key for pseudonyms (``LLMLOG_REDACT_KEY``).
            operator: the default operator for types without their own
                (``LLMLOG_REDACT_OPERATOR``; ``None`` means ``placeholder``).

        Raises:
            ValueError: the rules do not fit together (a message naming the source).
        """
        return build_redactor(self, pseudonym_key=pseudonym_key, operator=operator)


def build_redactor(
    rules: RedactRules | None = None,
    *,
    pseudonym_key: bytes | str | None = None,
    operator: str | None = None,
    extra_rules: Sequence[tuple[str, str]] = (),
    deny: Sequence[str] = (),
    allow: Sequence[str] = (),
    operators: Mapping[str, OperatorSpec] | None = None,
    only: Sequence[str] | None = None,
) -> Redactor:
    """Return the Redactor for ``rules`` plus further options (the CLI's flags).

    ``extra_rules``, ``deny`` and ``allow`` add to the rules; ``operators``
    override theirs per type (``"*"`` sets the default, over ``operator``);
    ``only`` restricts detection to these built-in types.

    Raises:
        ValueError: an unknown operator or type, a bad regex (naming the source).
    """
    r = rules or RedactRules()
    if operator is not None and operator not in DEFAULT_OPERATORS:
        raise ValueError(
            f"the default operator must be one of {', '.join(DEFAULT_OPERATORS)}, got {operator!r}"
        )
    ops: dict[str, OperatorSpec] = {}
    if operator is not None:
        ops["*"] = operator
    ops.update(r.operators)
    ops.update(operators or {})
    types = (set(BUILTIN_TYPES if only is None else only) | set(r.enable)) - set(r.disable)
    try:
        return Redactor(
            pseudonym_key=pseudonym_key,
            operators=ops,
            rules=[*r.rules, *extra_rules],
            deny_terms=[*r.deny, *deny],
            allow=[*r.allow, *allow],
            types=None if types == set(BUILTIN_TYPES) else types,
        )
    except (TypeError, ValueError) as exc:
        where = f"{r.source}: " if rules is not None and r.source != "<dict>" else ""
        raise ValueError(f"{where}{_one_line(exc)}") from None


def load_rules(value: RedactRules | Mapping[str, Any] | str | os.PathLike[str]) -> RedactRules:
    """Read and check user rules from a TOML or JSON file, or from a dict of the same shape.

    Args:
        value: a path (``.toml``, or ``.json``; another extension is read as JSON
            when it starts with ``{``, else as TOML), a mapping with the keys of
            :data:`RULE_KEYS`, or rules already loaded (returned as they are).

    Returns:
        The rules; every regex compiled and every type and operator checked.

    Raises:
        ValueError: one line naming the file (or ``redact_rules``) and the problem.

    .. versionadded:: 0.1
    """
    if isinstance(value, RedactRules):
        return value
    if isinstance(value, Mapping):
        return _from_mapping(value, "<dict>")
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(
            f"expected a path to a TOML or JSON file or a dict, got {type(value).__name__}"
        )
    path = Path(value).expanduser()
    name = str(value)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{name}: cannot read the rules file ({exc.strerror or exc})") from None
    as_json = path.suffix.lower() == ".json" or (
        path.suffix.lower() != ".toml" and data.lstrip()[:1] == b"{"
    )
    try:
        parsed = orjson.loads(data) if as_json else tomllib.loads(data.decode("utf-8"))
    except (orjson.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        kind = "JSON" if as_json else "TOML"
        raise ValueError(f"{name}: not valid {kind} ({_one_line(exc)})") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{name}: expected a table of {', '.join(RULE_KEYS)} at the top level")
    return _from_mapping(parsed, name)


def _from_mapping(data: Mapping[str, Any], source: str) -> RedactRules:
    where = source if source != "<dict>" else "redact_rules"

    def fail(problem: str) -> ValueError:
        return ValueError(f"{where}: {problem}")

    unknown = [k for k in data if k not in RULE_KEYS]
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (known: {', '.join(RULE_KEYS)})")

    def strings(key: str) -> tuple[str, ...]:
        v = data.get(key, ())
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, (list, tuple)) or not all(isinstance(s, str) and s for s in v):
            raise fail(f"{key}: expected a list of non-empty strings")
        return tuple(v)

    rules: list[tuple[str, str]] = []
    raw_rules = data.get("rules", {})
    if not isinstance(raw_rules, Mapping):
        raise fail("rules: expected a table of TYPE = regex (or a list of regexes)")
    for type_, patterns in raw_rules.items():
        if isinstance(patterns, str):
            patterns = [patterns]
        if (
            not isinstance(patterns, (list, tuple))
            or not patterns
            or not all(isinstance(p, str) and p for p in patterns)
        ):
            raise fail(f"rules.{type_}: expected a regex or a list of regexes")
        rules.extend((str(type_), p) for p in patterns)

    raw_ops = data.get("operators", {})
    if not isinstance(raw_ops, Mapping):
        raise fail("operators: expected a table of TYPE = operator")
    ops: list[tuple[str, OperatorSpec]] = []
    for type_, op in raw_ops.items():
        if type_ == "*":
            raise fail(
                "operators: '*' is not a type here; the default operator is "
                "LLMLOG_REDACT_OPERATOR (configure(redact_operator=...))"
            )
        if not (callable(op) and source == "<dict>") and op not in OPERATOR_NAMES:
            raise fail(
                f"operators.{type_}: unknown operator {op!r}; use one of "
                f"{', '.join(OPERATOR_NAMES)}"
            )
        ops.append((str(type_), op))

    disable = strings("disable")
    bad = [t for t in disable if t not in BUILTIN_TYPES]
    if bad:
        raise fail(f"disable: unknown type {bad[0]!r}; built-in types: {', '.join(BUILTIN_TYPES)}")
    enable = strings("enable")
    bad = [t for t in enable if t not in OPT_IN_TYPES]
    if bad:
        raise fail(f"enable: unknown type {bad[0]!r}; opt-in types: {', '.join(OPT_IN_TYPES)}")

    out = RedactRules(
        rules=tuple(rules),
        deny=strings("deny"),
        allow=strings("allow"),
        operators=tuple(ops),
        disable=disable,
        enable=enable,
        source=source,
    )
    try:
        out.redactor(pseudonym_key=b"check only")  # compiles every regex, checks every type
    except ValueError as exc:
        msg = str(exc)
        prefix = f"{source}: "
        raise fail(msg[len(prefix) :] if msg.startswith(prefix) else msg) from None
    return out


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
