"""One pass over a text that says which detectors can find anything in it (optional).

Each detector is gated by something cheap it needs to see first (an ``@``, a key prefix,
seven digits close together, ``::``...). In pure Python that is one literal search or
regex per gate, a pass over the text each: some forty per text, a few microseconds each
on a 2 KB text, so on text without personal data they cost more than the detectors.
With the ``hyperscan`` package installed (``pip install 'llmlog[fast]'``), every gate
is compiled into one multi-pattern database and one scan answers them all
(``bench/README.md`` has the figures). :func:`scan` returns the tags of the gates that
fired, or None when hyperscan is not available (every detector then checks its own
gates, as before). Each pattern here is a superset of its detector's own gate, so the
prefilter can only skip a detector that would have found nothing.

``LLMLOG_NO_HYPERSCAN=1`` turns it off (for comparisons and tests).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable

__all__ = ["engine", "scan"]

_SEP = rb"[\x20\-/().\xc2\xa0\xe2\x80\x93]{0,3}"
_HEX = rb"[0-9A-Fa-f]{1,4}"

# (pattern, tag, case-insensitive); patterns are byte regexes over the text's UTF-8
_GATES: list[tuple[bytes, str, bool]] = [
    # numbers: seven digits close together (cards, phones, SSNs), an IPv4 shape, an IBAN start
    (rb"[0-9](?:" + _SEP + rb"[0-9]){6}", "numbers", False),
    (rb"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]", "numbers", False),
    (rb"[A-Z]{2}[0-9]{2}", "numbers", False),
    # e-mail: @ and its spellings
    (rb"@", "email", False),
    ("\uff20".encode(), "email", False),
    (rb"%40", "email", False),
    (rb"&#64;", "email", False),
    (rb" dot ", "email", True),
    (rb"at\s?[\])}>]", "email", True),
    # IPv6: "::" or seven colon-separated hex groups
    (rb"::", "ipv6", False),
    (rb":" + (_HEX + rb":") * 6, "ipv6", False),
    # the big providers' keys and the other secrets of detectors.find_secrets
    (rb"sk-", "secrets", False),
    (rb"xox[abposer]-", "secrets", False),
    (rb"-----BEGIN ", "secrets", False),
    (rb"k_(?:live|test)_", "secrets", False),
    (rb"gh[pousr]_", "secrets", False),
    (rb"github_pat_", "secrets", False),
    (rb"A(?:KIA|SIA|Iza)", "secrets", False),
    (rb"ecret", "secrets", True),
    (rb"eyJ", "secrets", False),
    (rb"earer", "secrets", False),
    (rb"://", "secrets", False),
]

_scan: Callable[[str], set[str]] | None = None
_ready = False
_lock = threading.Lock()


def _credential_gates() -> list[tuple[bytes, str, bool]]:
    from llmlog.redact.credentials import triggers

    return [(re.escape(lit.decode()).encode(), tag, ci) for lit, tag, ci in triggers()]


def _build() -> Callable[[str], set[str]] | None:
    if os.environ.get("LLMLOG_NO_HYPERSCAN"):
        return None
    try:
        import hyperscan  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    gates = _GATES + _credential_gates()
    db = hyperscan.Database()
    single, caseless = hyperscan.HS_FLAG_SINGLEMATCH, hyperscan.HS_FLAG_CASELESS
    db.compile(
        expressions=[pattern for pattern, _, _ in gates],
        ids=list(range(len(gates))),
        elements=len(gates),
        flags=[single | caseless if ci else single for _, _, ci in gates],
    )
    tags = [tag for _, tag, _ in gates]
    local = threading.local()

    def run(text: str) -> set[str]:
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = hyperscan.Scratch(db)
        found: set[str] = set()

        def hit(i: int, _from: int, _to: int, _flags: int, _ctx: object) -> None:
            found.add(tags[i])

        db.scan(text.encode("utf-8", "surrogatepass"), match_event_handler=hit, scratch=scratch)
        return found

    return run


def _get() -> Callable[[str], set[str]] | None:
    global _scan, _ready
    if not _ready:
        with _lock:
            if not _ready:
                _scan = _build()
                _ready = True
    return _scan


def scan(text: str) -> set[str] | None:
    """The tags of the gates that fire in ``text``, or None without hyperscan."""
    run = _scan if _ready else _get()
    return run(text) if run is not None else None


def engine() -> str:
    """``"hyperscan"`` or ``"python"``: how this process gates the detectors."""
    return "hyperscan" if _get() is not None else "python"
