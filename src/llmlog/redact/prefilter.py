"""One pass over a text that says which detectors can find anything in it (optional).

Each detector is gated by something cheap it needs to see first (an ``@``, a key prefix,
seven digits close together, ``::``...). In pure Python that is one literal search or
regex per gate, a pass over the text each: some forty per text, a few microseconds each
on a 2 KB text, so on text without personal data they cost more than the detectors.
With the ``hyperscan`` package installed (``pip install 'llmlog[fast]'``), every gate
is compiled into one multi-pattern database and one scan answers them all
(``bench/README.md`` has the figures). :func:`scan` returns the tags of the gates that
fired, or None when hyperscan is not available (every detector then checks its own
gates, as before). Each pattern here matches wherever its detector can find something
(as close to the detector's own pattern as a regex without look-arounds gets), so the
prefilter can only skip a detector that would have found nothing. Tags name sub-detectors
where that pays: each secret family, each spelling of ``@``.

Numbers get more than a tag. Their detector's own scan (a regex tried at every digit)
is the one gate that costs time on digit-heavy text (logs, JSON), so the scan also
reports where a number candidate can start: every digit that the detector's look-behind
allows to start one, with six more digits close behind it, and every IPv4 shape, except
an ISO date that the detector would reject there (a timestamp, one per line of a log).
:func:`llmlog.redact.detectors.find_numbers` then tries its pattern at those offsets
only. Each report costs a Python call, so on text where they would outnumber one per
32 bytes (``1 1 1 ...``) the scan stops and :func:`scan` returns None: the
pure-Python path, linear either way.

``LLMLOG_NO_HYPERSCAN=1`` turns it off (for comparisons and tests).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from typing import cast

__all__ = ["NUMBERS", "Tags", "engine", "scan"]

_SEP = rb"[\x20\-/().\xc2\xa0\xe2\x80\x93]{0,3}"
_HEX = rb"[0-9A-Fa-f]{1,4}"

# Where a number candidate can start (reported with its start offset): a digit that does not
# follow a digit, with six more close behind it (cards, phones, SSNs), or an IPv4 shape. The
# separators are those of the detector's own pattern (detectors._NUM), so every offset where
# that pattern can match is reported. Each pattern starts with what comes before the
# number's first digit (the start of the text, a character that is not a letter, a digit or
# one of "_.-#$", or an escaped "\\n"), so a run is reported once, not per digit, and not
# at all after a letter ("gpt-4o-2024-08-06", "ab12345678").
_BEFORE_NUMBER = rb"(?:^|[^0-9A-Za-z_.\-#$]|\\[ntr])"  # as detectors._NUM looks behind
_D = rb"[0-9]"
_C = rb"[\x20\-/().\xc2\xa0\xe2\x80\x93]"  # one byte of a separator (_SEP: up to three)
_DATE_SEP = rb"[\-/.]"
_NOT_DATE_SEP = rb"(?:[\x20()\xc2\xa0\xe2\x80\x93]|" + _C + rb"{2,3})"
_TAIL = rb"(?:[^0-9]|$)"  # a digit group ends


def _more(k: int) -> bytes:
    """``k`` more digits, each after up to three separator bytes."""
    return (_SEP + _D) * k


def _group_then(k: int, digits: int) -> bytes:
    """A digit group of ``k`` digits followed by a separator and the rest of seven digits
    (``digits`` of them come before the group), or by the group's end if it makes seven."""
    if digits + k >= 7:
        return _D * k + _TAIL
    return _D * k + _C + rb"{1,3}" + _D + _more(6 - digits - k)


# An ISO date (and time) is where the detector's pattern most often fails, at a cost per
# date (logs hold one per line): "2024-03-15T10:30", "2024-03-15 10:30", and a date followed
# by anything but more digits, are never numbers. So seven digits are reported in every
# shape but those: a first group that cannot start such a date, a date that breaks off
# ("2024-03-1 ..."), or a date that goes on as the detector lets it (more digits, a
# separator and a digit, a space and digits that are not a time). (The other date shapes,
# "15.03.2024", would triple the cost of the scan for what they save.)
_DATE_GOES_ON = rb"(?:[0-9]|[\-/.][0-9]| [0-9](?:[^0-9:]|$)| [0-9]{2}(?:[^:]|$))"
_NUMBER_SHAPES: list[bytes] = [
    # the first group cannot start the date: one to three digits (then at least four more,
    # a few more reports than seven exactly, for a cheaper scan), or five or more
    b"(?:" + _D + b"{1,3}" + _C + b"{1,3}" + _D + _more(3) + b"|" + _D * 5 + _more(2) + b")",
    # four digits, then a separator no date has, or a month or a day that breaks off, or
    # a date that goes on (one pattern with the four digits in front: as six patterns
    # they would double the cost of the scan)
    _D * 4
    + b"(?:"
    + b"|".join(
        [
            _NOT_DATE_SEP + _D + _more(2),
            _DATE_SEP + _group_then(1, 4),
            _DATE_SEP + _D * 3,
            _DATE_SEP + _D * 2 + _NOT_DATE_SEP + _D,
            _DATE_SEP + _D * 2 + _DATE_SEP + _D + _TAIL,
            _DATE_SEP + _D * 2 + _DATE_SEP + _D * 2 + _DATE_GOES_ON,
        ]
    )
    + b")",
]
_NUMBER_STARTS: list[bytes] = [_BEFORE_NUMBER + shape for shape in _NUMBER_SHAPES] + [
    _BEFORE_NUMBER + rb"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]"
]
NUMBERS = "numbers"
"""The tag of the number gates: :func:`scan` returns their start offsets under it."""

# (pattern, tag, case-insensitive); patterns are byte regexes over the text's UTF-8
_GATES: list[tuple[bytes, str, bool]] = [
    # an IBAN: a country code, check digits and eleven more letters or digits at least (the
    # shortest IBAN has 15), a space or a dash between any two
    (rb"[A-Z]{2}[0-9]{2}(?:[ \-]?[0-9A-Za-z]){11}", "iban", False),
    # e-mail: an "@" after a local-part character or a UTF-8 continuation byte (not a
    # decorator, not "a @ b"; a class after the "@" too would double this gate's cost),
    # the other spellings of "@", "[at]"
    # (as two patterns, "\w@" and the rest: as one class hyperscan scans it slower, 2 µs
    # per 2 KB of text with keys and addresses)
    (rb"\w@", "email@", False),
    (rb"[.%+\-\x80-\xbf]@", "email@", False),
    ("\uff20".encode(), "email\uff20", False),
    (rb"%40", "email%40", False),
    (rb"&#64;", "email&#64;", False),
    (rb" dot ", "email dot", True),
    (rb"[\[({<][^A-Za-z0-9]{0,3}at[^A-Za-z0-9]{0,3}[\])}>]", "email[at]", True),
    # IPv6: "::" in a stretch of hex digits and colons that starts where an address can
    # ("std::vector" does not), or seven colon-separated groups
    (rb"(?:^|[^0-9A-Za-z_:.])[0-9A-Fa-f:]{0,39}::", "ipv6", False),
    # (from the last hex digit of the first group: as ":" and six groups hyperscan scans
    # it 1 µs per 2 KB slower)
    (rb"[0-9A-Fa-f]:" + (_HEX + rb":") * 5, "ipv6", False),
    # the big providers' keys and the other secrets of detectors.find_secrets
    (rb"sk-", "sk-", False),
    (rb"xox[abposer]-", "xox", False),
    (rb"-----BEGIN ", "pem", False),
    (rb"k_(?:live|test)_", "stripe", False),
    (rb"gh[pousr]_", "github", False),
    (rb"github_pat_", "github", False),
    (rb"A(?:KIA|SIA|Iza)", "AKIA", False),
    (rb"ecret", "aws secret", True),
    (rb"eyJ", "jwt", False),
    (rb"earer", "bearer", False),
    # user:password@ in a URL
    (rb"://[^\s:/@?#\"'<>\\\[\]]*:[^\s/?#\"'<>\\]+@", "url", False),
]


def _cue_gate() -> tuple[bytes, str, bool]:
    """A cue of a personal name (names._CUE) and a capital after it, "Dear Ms. Ávila": the
    phrase after a word boundary, then anything but a letter or digit (its "," or ":", a
    title's ".", white space of any script), then the name's first byte. Only in the
    database of redactors with PERSON on: it costs the others time."""
    from llmlog.redact.names import _CUES, _TITLES

    phrases = b"|".join(re.escape(c).encode() for c in (*_CUES, *_TITLES))
    return (rb"\b(?i:" + phrases + rb")[^A-Za-z0-9]{1,24}[A-Z\xc3]", "cue", False)


Tags = dict[str, list[int]]
"""What fired: each gate's tag; under :data:`NUMBERS` the byte offsets where numbers can
start (in the order found, with repeats), under every other tag an empty list."""

_scan: Callable[[str, bytes | None], Tags | None] | None = None
_ready = False
_scan_names: Callable[[str, bytes | None], Tags | None] | None = None
_names_ready = False
_lock = threading.Lock()


def _credential_gates() -> list[tuple[bytes, str, bool]]:
    from llmlog.redact.credentials import triggers

    return triggers()


def _build(names: bool = False) -> Callable[[str, bytes | None], Tags | None] | None:
    if os.environ.get("LLMLOG_NO_HYPERSCAN"):
        return None
    try:
        import hyperscan  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    gates = _GATES + _credential_gates() + ([_cue_gate()] if names else [])
    single, caseless = hyperscan.HS_FLAG_SINGLEMATCH, hyperscan.HS_FLAG_CASELESS
    n_pos = len(_NUMBER_STARTS)
    db = hyperscan.Database()
    db.compile(
        expressions=_NUMBER_STARTS + [pattern for pattern, _, _ in gates],
        ids=list(range(n_pos + len(gates))),
        elements=n_pos + len(gates),
        flags=[hyperscan.HS_FLAG_SOM_LEFTMOST] * n_pos
        + [single | caseless if ci else single for _, _, ci in gates],
    )
    tags = [NUMBERS] * n_pos + [tag for _, tag, _ in gates]
    terminated = hyperscan.ScanTerminated
    local = threading.local()

    empty: list[int] = []  # never changed: every tag but NUMBERS shares it

    # defined once (not per scan): what a scan collects comes in as the context,
    # (tags found, number starts, the most starts worth reporting)
    def hit(i: int, start: int, _to: int, _flags: int, context: object) -> bool:
        ctx = cast("tuple[Tags, list[int], int]", context)
        if i < n_pos:
            starts = ctx[1]
            starts.append(start)
            return len(starts) > ctx[2]  # True stops the scan
        ctx[0][tags[i]] = empty
        return False

    def run(text: str, raw: bytes | None) -> Tags | None:
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = hyperscan.Scratch(db)
        if raw is None:
            raw = text.encode("utf-8", "surrogatepass")
        found: Tags = {}
        starts: list[int] = []
        try:
            db.scan(
                raw,
                match_event_handler=hit,
                context=(found, starts, 64 + len(raw) // 32),
                scratch=scratch,
            )
        except terminated:
            return None  # too many number candidates: let each detector scan for itself
        if starts:
            found[NUMBERS] = starts
        return found

    return run


def _get() -> Callable[[str, bytes | None], Tags | None] | None:
    global _scan, _ready
    if not _ready:
        with _lock:
            if not _ready:
                _scan = _build()
                _ready = True
    return _scan


def _get_names() -> Callable[[str, bytes | None], Tags | None] | None:
    global _scan_names, _names_ready
    if _get() is None:
        return None
    if not _names_ready:
        with _lock:
            if not _names_ready:
                _scan_names = _build(names=True)
                _names_ready = True
    return _scan_names


def scan(text: str, names: bool = False, raw: bytes | None = None) -> Tags | None:
    """The gates that fire in ``text`` (see :data:`Tags`), or None: hyperscan is not
    available, or the text has too many number candidates for the scan to pay.

    ``names``: also the gate of a personal name's cue (tag ``"cue"``), for ``PERSON``.
    ``raw``: the text's UTF-8 (``surrogatepass``), when the caller has it already.
    """
    if names:
        run = _scan_names if _names_ready and _scan is not None else _get_names()
    else:
        run = _scan if _ready else _get()
    return run(text, raw) if run is not None else None


def engine() -> str:
    """``"hyperscan"`` or ``"python"``: how this process gates the detectors."""
    return "hyperscan" if _get() is not None else "python"
