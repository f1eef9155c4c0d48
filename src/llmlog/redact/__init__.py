"""Redaction: PII and secrets are removed from every record before it leaves the process.

On by default (``LLMLOG_REDACT=1``). The pipeline calls :func:`build_processors`
with the user's settings and runs the processors it returns on the background
writer thread, before any sink, spool file or log line sees the record.

Design, in one paragraph per concern (details in the submodules):

* **Detect, then validate** (:mod:`~llmlog.redact.detectors`,
  :mod:`~llmlog.redact.validators`). Patterns find candidates; checksums and
  registries confirm them (Luhn for cards, mod-97 for IBANs, SSA rules for SSNs,
  ITU country codes for international phones, IANA TLDs for e-mail), and shape
  and context rules keep order numbers, timestamps, versions, UUIDs, git remotes,
  ``pkg@1.2.3`` and placeholder keys (``sk-...``) untouched.
* **Fast path.** Every detector starts from a cheap trigger (a literal such as
  ``@``, ``sk-``, ``eyJ``, or one scan of the digits), so text with nothing
  suspicious costs a few string searches; a short string (a role, a tool name)
  with none of the characters any value needs skips the detectors at once; all
  patterns are compiled when the :class:`Redactor` is built. In a record, a
  string that occurs twice (the output in ``llm_raw_response`` and in
  ``parsed_output``) is scanned once, and a long string seen in a recent record
  (a system prompt, earlier turns of a conversation) is not scanned again: the
  Redactor remembers its result under a digest of the text, never the text.
* **Linear time.** No pattern can backtrack more than a constant amount per
  trigger, so hostile input (a megabyte of digits, spaces, ``@`` or brackets)
  costs time proportional to its length.
* **Structure-aware** (:mod:`~llmlog.redact.walker`). Every string value of the
  record is scanned except llmlog's own fields (ids, timestamps, model, usage,
  app); JSON inside strings (tool-call arguments) is parsed, redacted and
  re-serialised so it stays valid; only base64 payloads of binary data (a whole
  string, or a ``data:`` URL's body) are skipped, the text around them is scanned;
  dictionary keys are never changed.
* **Operators** (:mod:`~llmlog.redact.operators`): typed placeholder
  ``[EMAIL]`` (default), keyed pseudonym ``[EMAIL:7f3a9c]``, partial mask
  ``**** **** **** 4242``, drop, or your function.
* **Your rules** (:mod:`~llmlog.redact.rules`): extra regexes, deny-terms, an
  allow-list, disabled types and operators per type, from the TOML or JSON file
  named by ``LLMLOG_REDACT_RULES``; ``LLMLOG_REDACT_OPERATOR`` sets the default
  operator. The pipeline, ``llmlog redact`` and ``llmlog redact --db`` all apply them.

Example::

    from llmlog.redact import Redactor

    r = Redactor(operators={"EMAIL": "pseudonym", "CREDIT_CARD": "mask"},
                 rules=[("EMPLOYEE_ID", r"\\bEMP-\\d{6}\\b")], deny_terms=["Project Falcon"])
    r.redact_text("Mail jane@corp.com, card 4242 4242 4242 4242")
    # 'Mail [EMAIL:1c0d2e], card **** **** **** 4242'
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from llmlog.redact.content import CONTENT_MODES, ContentFilter
from llmlog.redact.detectors import BUILTIN_TYPES, PII_TYPES, SECRET_TYPES
from llmlog.redact.engine import DENY_TERM, Redactor
from llmlog.redact.rules import RedactRules, build_redactor, load_rules

__all__ = [
    "BUILTIN_TYPES",
    "CONTENT_MODES",
    "DENY_TERM",
    "PII_TYPES",
    "SECRET_TYPES",
    "ContentFilter",
    "RedactRules",
    "Redactor",
    "build_processors",
    "compiled",
    "default_redactor",
    "load_rules",
    "redact_text",
]

_default: Redactor | None = None
_default_lock = threading.Lock()


def compiled() -> bool:
    """Return whether the detectors run compiled (a wheel built with ``LLMLOG_COMPILE=1``,
    see ``hatch_build.py``) rather than as Python source."""
    from llmlog.redact import detectors

    return not str(detectors.__file__).endswith(".py")


def default_redactor() -> Redactor:
    """Return the shared Redactor with default settings, building it on first use."""
    global _default
    r = _default
    if r is None:
        with _default_lock:
            r = _default
            if r is None:
                r = _default = Redactor()
    return r


def redact_text(text: str) -> str:
    """Return ``text`` with PII and secrets replaced by typed placeholders such as ``[EMAIL]``.

    The same detection llmlog applies to records by default.

    Args:
        text: any text.

    .. versionadded:: 0.1
    """
    return default_redactor().redact_text(text)


def build_processors(
    *,
    redact: bool,
    redact_key: str | None,
    capture_content: str,
    rules: RedactRules | None = None,
    operator: str | None = None,
) -> list[Callable[[dict[str, Any]], dict[str, Any]]]:
    """Return the record processors for the user's settings, in the order they must run.

    Args:
        redact: whether to redact PII and secrets (``LLMLOG_REDACT``).
        redact_key: the HMAC key for pseudonyms and content hashes
            (``LLMLOG_REDACT_KEY``); ``None`` uses the deployment's key file.
        capture_content: ``"full"``, ``"metadata"`` or ``"off"``
            (``LLMLOG_CAPTURE_CONTENT``).
        rules: the user's rules, deny-terms, allow-list and operators per type
            (``LLMLOG_REDACT_RULES``, loaded by :func:`~llmlog.redact.rules.load_rules`).
        operator: the default operator, ``placeholder``, ``pseudonym`` or ``mask``
            (``LLMLOG_REDACT_OPERATOR``); ``None`` means ``placeholder``.

    Returns:
        The content filter (unless ``full``), then the :class:`Redactor` (if
        ``redact``). Each takes a record dict, changes it in place and returns it.

    Raises:
        ValueError: an unknown ``capture_content`` or ``operator``, rules that do
            not fit together.

    .. versionadded:: 0.1
    """
    if capture_content not in CONTENT_MODES:
        raise ValueError(
            f"capture_content must be one of {', '.join(CONTENT_MODES)}, got {capture_content!r}"
        )
    procs: list[Callable[[dict[str, Any]], dict[str, Any]]] = []
    if capture_content != "full":
        procs.append(ContentFilter(capture_content, key=redact_key))
    if redact:
        if rules is None and operator in (None, "placeholder"):
            procs.append(Redactor(pseudonym_key=redact_key))
        else:
            procs.append(build_redactor(rules, pseudonym_key=redact_key, operator=operator))
    return procs
