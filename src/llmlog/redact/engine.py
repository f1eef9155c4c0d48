"""The redaction engine: run the detectors, settle overlaps, apply the operators.

:class:`Redactor` is built once (every pattern compiled, every operator
resolved, no I/O) and then called for each text or record. For one text it

1. skips the bodies of inline ``data:...;base64,`` URLs;
2. runs each enabled detector; each one first checks its cheap trigger (see
   :mod:`llmlog.redact.detectors`), so a text with nothing suspicious costs a
   few ``str`` searches and one scan over its digits;
3. adds the user's regex rules and deny-terms, drops allow-listed values;
4. merges overlapping findings into one span labelled with the more specific
   type (a JWT inside ``Bearer ...`` is a ``JWT``; a password inside a URL is
   ``URL_CREDENTIALS`` and not an e-mail address);
5. replaces each span with its type's operator.

The output of the built-in operators contains nothing the detectors find
again, so redaction is idempotent: redacting twice gives the same text.

For records (:meth:`Redactor.__call__`), each distinct long string is redacted
once per record, and the results for long strings are kept in a small bounded
cache keyed by their SHA-1 digest (:class:`_ResultCache`), because chat
applications send the same system prompt and the same earlier turns with every
call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from hashlib import sha1
from typing import Any, cast

from llmlog.redact import detectors as _d
from llmlog.redact.detectors import BUILTIN_TYPES, KNOWN_TYPES, Finding
from llmlog.redact.operators import (
    DROP,
    OPERATOR_NAMES,
    KeySource,
    Operator,
    make_pseudonym,
    mask,
    placeholder,
)
from llmlog.redact.walker import walk_record

__all__ = ["DENY_TERM", "Redactor"]

DENY_TERM = "DENY_TERM"
"""The type of values found by ``Redactor(deny_terms=...)``."""

_TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_DATA_B64 = re.compile(r"base64,[A-Za-z0-9+/=]{64,}")

# Overlapping findings merge into one span labelled with the higher-priority type.
_PRIORITY: dict[str, int] = {
    "PRIVATE_KEY": 100,
    "JWT": 90,
    "OPENAI_KEY": 85,
    "ANTHROPIC_KEY": 85,
    "AWS_ACCESS_KEY": 85,
    "GITHUB_TOKEN": 85,
    "SLACK_TOKEN": 85,
    "STRIPE_KEY": 85,
    "GOOGLE_API_KEY": 85,
    "AWS_SECRET_KEY": 80,
    "URL_CREDENTIALS": 75,
    "BEARER_TOKEN": 70,
    DENY_TERM: 60,
    "EMAIL": 50,
    "IBAN": 45,
    "CREDIT_CARD": 40,
    "US_SSN": 35,
    "PHONE": 30,
    "IP_ADDRESS": 20,
}
_RULE_PRIORITY = 65


def _trie_regex(terms: Sequence[str]) -> str:
    """Return one regex matching any of ``terms`` (lower case) as a whole word.

    The alternatives share prefixes (a trie), so a list of thousands of names
    costs about as much per character as a list of a few. A term that starts or
    ends with a letter or digit must not touch another one there; terms in
    scripts without spaces (CJK) match anywhere.
    """
    trie: dict[str, Any] = {}
    for term in terms:
        node = trie
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = True

    def word(ch: str) -> bool:
        return ch.isascii() and (ch.isalnum() or ch == "_")

    def build(node: dict[str, Any], last: str) -> str:
        alts = [re.escape(ch) + build(child, ch) for ch, child in sorted(node.items()) if ch]
        if "" in node:
            alts.append(r"(?![A-Za-z0-9_])" if word(last) else "")
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    roots = []
    for ch, child in sorted(trie.items()):
        lead = r"(?<![A-Za-z0-9_])" if word(ch) else ""
        roots.append(lead + re.escape(ch) + build(child, ch))
    return "|".join(roots)


class Redactor:
    """Find PII and secrets in text and records and replace them.

    Args:
        pseudonym_key: the HMAC key for ``pseudonym`` tokens; default: the
            deployment's key file, created on first use (see
            :mod:`llmlog.redact.operators`).
        operators: what replaces each type: ``"placeholder"`` (default),
            ``"pseudonym"``, ``"mask"``, ``"drop"`` or a function
            ``fn(value, type) -> str``. The key ``"*"`` sets the default for every
            type not listed.
        rules: extra detectors as ``(TYPE, regex)`` pairs, e.g.
            ``("EMPLOYEE_ID", r"\\bEMP-\\d{6}\\b")``. The type must be an upper-case
            identifier; the regex runs on every string (keep it linear: no nested
            quantifiers).
        deny_terms: exact terms to always redact as ``DENY_TERM`` (customer names,
            project code names), matched case-insensitively as whole words.
        allow: values never to redact, compared exactly and case-insensitively
            (your support address, a public IP).
        types: the built-in types to detect (default: all of
            :data:`~llmlog.redact.detectors.BUILTIN_TYPES`).

    Raises:
        ValueError: an unknown type or operator name, a bad rule.

    A Redactor holds no per-call state: one instance may be used from many
    threads. Its only shared state is the bounded cache of recent record
    strings' results (see :meth:`__call__`; at most about 2 million characters
    of redacted text, under a lock held for a dictionary update). Calls never
    block and never do I/O, except that the first ``pseudonym`` may create the
    key file.

    .. versionadded:: 0.1
    """

    __slots__ = (
        "_allow",
        "_allow_fold",
        "_builtin",
        "_cache",
        "_default_op",
        "_deny",
        "_deny_terms",
        "_keys",
        "_min_len",
        "_on",
        "_ops",
        "_rules",
    )

    def __init__(
        self,
        *,
        pseudonym_key: bytes | str | None = None,
        operators: Mapping[str, str | Callable[[str, str], str]] | None = None,
        rules: Sequence[tuple[str, str]] = (),
        deny_terms: Sequence[str] = (),
        allow: Sequence[str] = (),
        types: Collection[str] | None = None,
    ) -> None:
        if types is None:
            on = frozenset(BUILTIN_TYPES)
        else:
            if isinstance(types, str):
                raise TypeError("types must be a collection of type names, not a string")
            on = frozenset(types)
            unknown = on - set(KNOWN_TYPES)
            if unknown:
                raise ValueError(
                    f"unknown redaction type(s) {', '.join(sorted(unknown))}; "
                    f"known: {', '.join(KNOWN_TYPES)}"
                )
            if "PERSON" in on:
                from llmlog.redact.names import load_names

                try:
                    load_names()  # fail here, not on the first record
                except ImportError as exc:
                    raise ValueError(str(exc)) from None
        self._on = on
        self._builtin = bool(on)

        compiled: list[tuple[str, re.Pattern[str]]] = []
        user_rules: Sequence[object] = rules  # a user's list may hold anything: checked here
        for rule in user_rules:
            if not (isinstance(rule, tuple) and len(rule) == 2):
                raise ValueError(f"a rule is a (TYPE, regex) pair, got {rule!r}")
            name, pattern = rule
            if not isinstance(name, str) or not _TYPE_NAME.fullmatch(name):
                raise ValueError(
                    f"rule type must be an upper-case name like 'EMPLOYEE_ID', "
                    f"got {name!r} (rules are (TYPE, regex) pairs)"
                )
            try:
                rx = re.compile(pattern)
            except (re.error, TypeError) as exc:
                raise ValueError(f"rule {name}: bad regex {pattern!r}: {exc}") from None
            if rx.match("") is not None:
                raise ValueError(f"rule {name}: the regex {pattern!r} matches the empty string")
            compiled.append((name, rx))
        self._rules = tuple(compiled)

        terms = sorted({t.strip().lower() for t in deny_terms if t and t.strip()})
        self._deny_terms = tuple(terms)
        self._deny = re.compile(_trie_regex(terms), re.IGNORECASE) if terms else None
        self._allow = frozenset(allow)
        self._allow_fold = frozenset(a.casefold() for a in allow)

        self._keys = KeySource(pseudonym_key)
        known = set(KNOWN_TYPES) | {name for name, _ in compiled} | {DENY_TERM, "*"}
        ops: dict[str, Operator] = {}
        default: Operator = placeholder
        user_ops: Sequence[tuple[object, object]] = list((operators or {}).items())
        for type_, spec in user_ops:
            if not isinstance(type_, str) or type_ not in known:
                raise ValueError(
                    f"operators: unknown type {type_!r}; known: {', '.join(sorted(known))}"
                )
            op = self._operator(spec, type_)
            if type_ == "*":
                default = op
            else:
                ops[type_] = op
        self._ops = ops
        self._default_op = default
        shortest = min((len(t) for t in terms), default=6)
        self._min_len = 1 if compiled else min(6, shortest)
        self._cache = _ResultCache()

    def _operator(self, spec: object, type_: str) -> Operator:
        if callable(spec):
            return cast("Operator", spec)
        if spec == "placeholder":
            return placeholder
        if spec == "pseudonym":
            return make_pseudonym(self._keys)
        if spec == "mask":
            return mask
        if spec == "drop":
            return DROP
        raise ValueError(
            f"operators[{type_!r}]: unknown operator {spec!r}; use one of "
            f"{', '.join(OPERATOR_NAMES)} or a function (value, type) -> str"
        )

    @property
    def types(self) -> frozenset[str]:
        """The built-in types this Redactor detects."""
        return self._on

    # -- finding ---------------------------------------------------------------------------------

    def find(self, text: str) -> list[Finding]:
        """Return the spans to redact in ``text``: sorted, non-overlapping ``(start, end, type)``.

        Args:
            text: any text.
        """
        if len(text) < self._min_len:
            return []
        if len(text) > 70 and "base64," in text:  # a data: URL body has 64+ characters
            found: list[Finding] = []
            pos = 0
            for m in _DATA_B64.finditer(text):
                if m.start() > pos:
                    found.extend(
                        (s + pos, e + pos, t)
                        for s, e, t in self._find_raw(text[pos : m.start() + 7])
                    )
                pos = m.end()
            found.extend((s + pos, e + pos, t) for s, e, t in self._find_raw(text[pos:]))
        else:
            found = self._find_raw(text)
        if not found:
            return found
        if self._allow:
            allow, fold = self._allow, self._allow_fold
            found = [
                f
                for f in found
                if text[f[0] : f[1]] not in allow and text[f[0] : f[1]].casefold() not in fold
            ]
            if not found:
                return found
        return _resolve(found)

    def _find_raw(self, text: str) -> list[Finding]:
        out: list[Finding] = []
        on = self._on
        if self._builtin:
            _d.find_all(text, out, on)
        for name, rx in self._rules:
            for m in rx.finditer(text):
                if m.end() > m.start():
                    out.append((m.start(), m.end(), name))
        if self._deny is not None:
            terms = self._deny_terms
            if len(terms) > 16 or any(t in text.lower() for t in terms):
                for m in self._deny.finditer(text):
                    out.append((m.start(), m.end(), DENY_TERM))
        return out

    # -- replacing -------------------------------------------------------------------------------

    def _apply(self, text: str, spans: list[Finding], counts: dict[str, int]) -> tuple[str, bool]:
        parts: list[str] = []
        last = 0
        ops = self._ops
        default = self._default_op
        dropped = False
        for s, e, t in spans:
            counts[t] = counts.get(t, 0) + 1
            op = ops.get(t, default)
            if op is DROP:
                dropped = True
                continue
            rep = op(text[s:e], t)
            if not isinstance(rep, str):
                raise TypeError(f"the operator for {t} returned {type(rep).__name__}, not str")
            parts.append(text[last:s])
            parts.append(rep)
            last = e
        if dropped:
            return "", True
        parts.append(text[last:])
        return "".join(parts), False

    def _redact_one(self, text: str) -> _Result:
        """Redact one text for :meth:`__call__` (see :data:`_Result`)."""
        spans = self.find(text)
        if not spans:
            return (None, (), False, 0)
        c: dict[str, int] = {}
        new, was_dropped = self._apply(text, spans, c)
        return (new, tuple(c.items()), was_dropped, len(new))

    def redact_text_counts(self, text: str) -> tuple[str, dict[str, int]]:
        """Return ``text`` redacted and how many values of each type were replaced.

        Args:
            text: any text.

        Returns:
            The redacted text (``""`` if a ``drop`` type was found) and
            ``{type: count}``.
        """
        spans = self.find(text)
        if not spans:
            return text, {}
        counts: dict[str, int] = {}
        new, _ = self._apply(text, spans, counts)
        return new, counts

    def redact_text(self, text: str) -> str:
        """Return ``text`` with every detected value replaced.

        Args:
            text: any text.
        """
        spans = self.find(text)
        if not spans:
            return text
        new, _ = self._apply(text, spans, {})
        return new

    def __call__(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Redact every content string of the record ``rec`` in place and return it.

        Sets ``rec["redaction"]["counts"]`` to the number of values replaced per
        type (added to counts already there) and ``"dropped"`` to the number of
        strings emptied by a ``drop`` operator. Values are never recorded.

        A string that occurs several times in the record (the output text is in
        both ``llm_raw_response`` and ``parsed_output``) is redacted once, and a
        long string redacted in a recent record (a system prompt, the earlier
        turns of a conversation, which every call sends again) is not redacted
        again: the result is remembered under a SHA-1 digest of the text, so the
        cache keeps no original text. Operators should therefore be pure functions
        of the value and type, as the built-in ones are.

        Runs on the pipeline's writer thread; it may raise (a failing user
        operator), in which case the pipeline does not write the record.

        Args:
            rec: an interaction or feedback record (a plain dict).
        """
        counts: dict[str, int] = {}
        dropped = 0
        find = self.find
        apply = self._apply
        memo: dict[str, _Result] = {}
        cache = self._cache

        def fn(s: str) -> str:
            nonlocal dropped
            n = len(s)
            if n < _MEMO_MIN:
                spans = find(s)
                if not spans:
                    return s
                new, was_dropped = apply(s, spans, counts)
                if was_dropped:
                    dropped += 1
                return new
            hit = memo.get(s)
            if hit is None:
                key = None
                if n >= _CACHE_MIN:
                    key = sha1(s.encode("utf-8", "surrogatepass")).digest()
                    hit = cache.get(key)
                if hit is None:
                    hit = self._redact_one(s)
                    if key is not None:
                        cache.put(key, hit)
                memo[s] = hit
            new_s, found, was_dropped = hit[0], hit[1], hit[2]
            for k, v in found:
                counts[k] = counts.get(k, 0) + v
            if was_dropped:
                dropped += 1
            return s if new_s is None else new_s

        walk_record(rec, fn)
        red = rec.get("redaction")
        if not isinstance(red, dict):
            red = {}
        old = red.get("counts")
        if isinstance(old, dict):
            for k, v in old.items():
                if isinstance(v, int):
                    counts[k] = counts.get(k, 0) + v
        red["counts"] = dict(sorted(counts.items()))
        if dropped:
            red["dropped"] = int(red.get("dropped") or 0) + dropped
        rec["redaction"] = red
        return rec


_Result = tuple[str | None, tuple[tuple[str, int], ...], bool, int]
"""One text's redaction: the new text (None: unchanged), counts by type, whether a
``drop`` operator emptied it, and the new text's length (what the cache holds)."""

_MEMO_MIN = 64
"""Strings at least this long are redacted once per record, however often they occur."""
_CACHE_MIN = 256
"""Strings at least this long are remembered across records (by digest)."""
_CACHE_ENTRIES = 4096
_CACHE_CHARS = 2_000_000


class _ResultCache:
    """Recent long texts' redactions, by SHA-1 digest of the text: bounded, least recent out.

    It holds no original text: only digests, and the redacted texts, which hold
    nothing the Redactor finds. Safe to use from several threads.
    """

    __slots__ = ("_chars", "_data", "_lock")

    def __init__(self) -> None:
        self._data: dict[bytes, _Result] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: bytes) -> _Result | None:
        """Return the result stored under ``key`` (and mark it recently used), or None."""
        hit = self._data.get(key)
        if hit is not None:
            with self._lock:
                data = self._data
                if key in data:
                    data[key] = data.pop(key)
        return hit

    def put(self, key: bytes, value: _Result) -> None:
        """Store ``value`` under ``key``, evicting the least recently used beyond the bounds."""
        if value[3] > _CACHE_CHARS // 16:
            return  # a huge text: caching it would evict everything else
        with self._lock:
            data = self._data
            if key in data:
                return
            data[key] = value
            self._chars += value[3]
            while len(data) > _CACHE_ENTRIES or self._chars > _CACHE_CHARS:
                old = data.pop(next(iter(data)))
                self._chars -= old[3]


def _resolve(found: list[Finding]) -> list[Finding]:
    """Sort findings and merge overlaps into one span with the higher-priority type."""
    found.sort(key=lambda f: (f[0], -f[1]))
    prio = _PRIORITY
    out: list[Finding] = [found[0]]
    for s, e, t in found[1:]:
        ps, pe, pt = out[-1]
        if s < pe:
            if prio.get(t, _RULE_PRIORITY) > prio.get(pt, _RULE_PRIORITY):
                pt = t
            out[-1] = (ps, max(pe, e), pt)
        else:
            out.append((s, e, t))
    return out
