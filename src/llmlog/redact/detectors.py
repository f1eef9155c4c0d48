"""Built-in detectors: where PII and secrets are, as ``(start, end, type)`` findings.

Each detector is a function ``find_x(text, out, on)`` that appends findings for
the types in ``on`` to ``out``. They share three rules that keep them fast and
safe on hostile input:

* **Trigger, then confirm.** A detector first looks for something cheap and
  rare that every value of its type must contain: an ``@``, the literal prefix of
  a key (``sk-``, ``ghp_``, ``AKIA``, ``eyJ``), a ``::``, a run of at least seven
  digits. CPython's ``re`` searches a pattern that starts with a literal with a
  tight ``memchr``-style loop, and ``str in str`` is a two-way search, so text
  without triggers costs well under a nanosecond per character per detector.
  Only around a trigger does a detector run its full pattern and then its
  validator (:mod:`llmlog.redact.validators`).
* **Digits are found once.** Phones, cards, SSNs and IPv4 addresses all start
  at a digit, so one scan finds all their candidates: the text's UTF-8 bytes
  with every digit mapped to ``0`` (``bytes.translate``, over 1 GB/s) let the
  scan use the literal-prefix search instead of a character-class loop, and a
  digit that follows a digit fails on the first test, so each number costs one
  attempt, whose first test (six digits or separators next) is a single tight
  loop of the regex engine where most numbers of prose, code and logs fail.
  Candidates are read back from the original text (for non-ASCII text byte
  offsets are converted once, in order). IBANs are found the same way in a
  copy where every capital letter is ``A`` (``AA00``), and first, so that the
  digit groups of an IBAN are not classified again as a number.
* **No backtracking blow-ups.** Every quantifier that can repeat is either
  bounded (``{1,64}``) or followed by something its class cannot match, and
  every pattern that can fail after a long match starts with a boundary check
  so that it is tried once per token, not once per character. Work per trigger
  is bounded by a constant, so each detector is linear in the input, including
  1 MB of digits, spaces, ``@`` or brackets (``tests/redact`` checks the ratio).

Phone numbers have no checksum, so their rules are about shape and context:
a number written internationally (``+44 20 7946 0958``, ``0044 ...``) needs a
valid ITU country code and 8-15 digits; a national number needs its country's
usual grouping (``(415) 555-0132``, ``020 7946 0958``, ``06 12 34 56 78``,
``03-1234-5678``, ``138 0013 8000``); a bare run of digits (``4155550132``) is a
phone only with a phone word next to it (``phone``, ``tel``, ``call``, ``电话``,
``(cell)`` after it). Words such as ``order``, ``invoice``, ``id``, ``ISBN``
veto ambiguous shapes when they are closer than any phone word. Epoch
timestamps, dates, decimals, version strings and OIDs are excluded by shape.

Detectors never see dictionary keys or whole base64 blobs; the record walker
(:mod:`llmlog.redact.walker`) decides what text to hand them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import Final

from llmlog.redact import prefilter
from llmlog.redact.credentials import CREDENTIAL_TAGS, CREDENTIAL_TYPES, find_credentials
from llmlog.redact.names import find_names
from llmlog.redact.validators import (
    base62_crc32_ok,
    card_issuer_ok,
    country_code_len,
    iban_length,
    iban_ok,
    ipv4_ok,
    ipv6_ok,
    jwt_ok,
    looks_random,
    luhn_ok,
    ssn_ok,
    tld_ok,
)
from llmlog.redact.validators import left_ok as _left_ok

__all__ = [
    "BUILTIN_TYPES",
    "EMAIL_TAGS",
    "KNOWN_TYPES",
    "OPT_IN_TYPES",
    "OTHER_TAGS",
    "PII_TYPES",
    "SECRET_TAGS",
    "SECRET_TYPES",
    "Finder",
    "Finding",
    "find_all",
    "find_email",
    "find_ipv6",
    "find_numbers",
    "find_secrets",
]

Finding = tuple[int, int, str]
"""One detected value: ``(start, end, type)`` in the scanned text."""

Finder = Callable[[str, list[Finding], Collection[str]], None]
"""A detector: appends the findings of the enabled types to the list."""

PII_TYPES: tuple[str, ...] = (
    "EMAIL",
    "PHONE",
    "CREDIT_CARD",
    "IBAN",
    "US_SSN",
    "IP_ADDRESS",
)
SECRET_TYPES: tuple[str, ...] = (
    "OPENAI_KEY",
    "ANTHROPIC_KEY",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "GITHUB_TOKEN",
    "SLACK_TOKEN",
    "STRIPE_KEY",
    "GOOGLE_API_KEY",
    "JWT",
    "PRIVATE_KEY",
    "BEARER_TOKEN",
    "URL_CREDENTIALS",
    *CREDENTIAL_TYPES,
)
BUILTIN_TYPES: tuple[str, ...] = PII_TYPES + SECRET_TYPES
"""Every type the built-in detectors report by default."""
OPT_IN_TYPES: tuple[str, ...] = ("PERSON",)
"""Built-in types that are off unless asked for (``enable`` in a rules file)."""
KNOWN_TYPES: tuple[str, ...] = BUILTIN_TYPES + OPT_IN_TYPES

_ALNUM_ASCII: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


# =================================================================================================
# numbers: CREDIT_CARD, US_SSN, PHONE, IBAN and IPv4 from one scan over the digits
# =================================================================================================

# The text is scanned as UTF-8 bytes with every digit mapped to "0": bytes.translate has
# no per-call setup (str.translate builds a cache per call, which dominates on short
# texts), and for ASCII text byte offsets are character offsets. The pattern starts
# with a literal, so the regex engine jumps from digit to digit; a digit right after a
# digit, or a number without six more digits close behind it, fails on the first tests.
# Those run at the start of every number in the text, so they are written for the
# engine's cheapest operations: a single-character class repeated (one tight loop) rather
# than a repeated group (an engine frame per repetition), unrolled and possessive.
_SIX_MORE: Final = rb"(?:[\x20\-/().\xc2\xa0\xe2\x80\x93]{0,3}+0)" * 6
_NUM: Final = re.compile(
    rb"""
0(?<!00)
# cheap tests first: six digits or separators next (one tight loop, where most numbers
# fail), then six more digits close by, or the shape of an IPv4 address
(?=[\x20\-/().\xc2\xa0\xe2\x80\x930]{6})
(?="""
    + _SIX_MORE
    + rb"""|0{0,2}+\.0{1,3}+\.0{1,3}+\.0)
(?:(?<![A-Za-z_.\-#$]0)|(?<=\\[ntr]0))
(?<!\xc2[\xa3\xa5]0)(?<!\xe2\x82\xac0)   # after a currency sign
(?:(?<![A-Za-z0-9_)]\+0)|(?<=\\[ntr]\+0))
(?:
    # IPv4 (a lone slash before it is a path or a version: Chrome/120.0.0.0)
    (?P<ip>(?:(?<!/0)|(?<=//0))
           0{0,2}\.0{1,3}\.0{1,3}\.0{1,3}(?!0|\.0|[A-Za-z_]))
  |
    # anything else with at least seven digits, except a date (and time) or a decimal
    (?!(?:0{3}[-/.]00[-/.]00|0?[-/.]0{1,2}[-/.]0{4})
       (?:[T\x20]0{1,2}:|(?!0|[-/.\x20]0)))
    (?!0*\.0+(?!0|[-/.\x20(]0|\.))
    (?<![/@]0)
    # the rest of the run: digits, each group after a separator (one to three of them, or a
    # dot); a group per repetition, not a digit, as a digit per repetition costs an engine
    # frame each. The run holds 7 to 41 digits: _candidate counts them and cuts a longer
    # one (bounded here so that a megabyte of digits costs no more than 41 at a time).
    (?P<run>0{0,40}+(?:(?:(?:[\x20\-/()]|\xc2\xa0|\xe2\x80\x93){1,3}+|\.)0{1,41}+){0,40}+)
)
""",
    re.VERBOSE,
)
_RUN_DIGITS_MAX: Final = 41
_FORTY_ONE_DIGITS: Final = re.compile(rb"(?:[^0]*+0){41}")
# IBAN candidates: two capitals and two digits ("AA00" in the same copy, where every
# capital letter is "A" too)
_IBAN_TRIGGER: Final = re.compile(rb"AA00(?<![A-Za-z0-9]AA00)")
_BYTE_DIGIT_TO_ZERO: Final = bytes.maketrans(
    b"123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"000000000AAAAAAAAAAAAAAAAAAAAAAAAAA"
)
_SPLIT: Final = re.compile(r"([^0-9]+)")

# Context words: the closest one before a number decides an ambiguous case. Words are
# looked up in sets (a 40-character window has a handful of them); scripts written without
# spaces are searched as substrings.
_CTX_PHONE_WORDS: Final = frozenset(
    [
        "phone",
        "phones",
        "tel",
        "tele",
        "telephone",
        "mobile",
        "mob",
        "mobil",
        "cell",
        "cellphone",
        "call",
        "calls",
        "called",
        "calling",
        "fax",
        "whatsapp",
        "sms",
        "text",
        "contact",
        "dial",
        "hotline",
        "line",
        "ph",
        "tlf",
        "tfn",
        "reach",
        "reached",
        "ring",
        "telefon",
        "telefonnummer",
        "téléphone",
        "teléfono",
        "telefono",
        "telefone",
        "portable",
        "handy",
        "móvil",
        "movil",
        "celular",
        "número",
        "numero",
        "numéro",
        "nummer",
        "rufnummer",
        "tél",
        "тел",
        "телефон",
        "моб",
        "мобильный",
    ]
)
_CTX_NOT_PHONE_WORDS: Final = frozenset(
    [
        "order",
        "orders",
        "invoice",
        "inv",
        "tracking",
        "track",
        "shipment",
        "parcel",
        "package",
        "ticket",
        "account",
        "acct",
        "ref",
        "usps",
        "ups",
        "fedex",
        "dhl",
        "reference",
        "id",
        "ids",
        "isbn",
        "issn",
        "sku",
        "serial",
        "transaction",
        "txn",
        "po",
        "case",
        "batch",
        "lot",
        "part",
        "build",
        "version",
        "timestamp",
        "epoch",
        "ts",
        "doi",
        "pid",
        "uid",
        "gid",
        "pr",
        "issue",
        "commit",
        "item",
        "product",
        "customer",
        "policy",
        "claim",
        "ext",
        "extension",
        "bestellung",
        "rechnung",
        "commande",
        "facture",
        "pedido",
        "factura",
        "заказ",
        "счет",
    ]
)
_CTX_PHONE_CJK: Final = (
    "\u7535\u8bdd",
    "\u624b\u673a",
    "\u62e8\u6253",
    "\u81f4\u7535",
    "\u8054\u7cfb",
    "\u96fb\u8a71",
    "\u643a\u5e2f",
    "\uc5f0\ub77d",
    "\uc804\ud654",
    "\ud734\ub300\ud3f0",
)
_CTX_NOT_PHONE_CJK: Final = (
    "\u8ba2\u5355",
    "\u6ce8\u6587",
    "\u5355\u53f7",
    "\u7f16\u53f7",
    "\uc8fc\ubb38",
)
_CTX_CARD_WORDS: Final = frozenset(
    [
        "card",
        "cards",
        "credit",
        "debit",
        "visa",
        "mastercard",
        "amex",
        "discover",
        "jcb",
        "paid",
        "pay",
        "payment",
        "charge",
        "charged",
        "cc",
        "pan",
        "kreditkarte",
        "karte",
        "carte",
        "tarjeta",
        "cartão",
        "carta",
    ]
)
_CTX_CARD_CJK: Final = ("\u30ab\u30fc\u30c9", "\u4fe1\u7528\u5361", "\u5361\u53f7", "\uce74\ub4dc")
_WORD: Final = re.compile(r"[^\W\d_]+")
_PLACEHOLDER: Final = re.compile(r"\[[a-z_]+(?::[0-9a-f]{6})?\]")
_CTX_SSN: Final = re.compile(r"ssn|social security|soc\.? ?sec|ss#|ss no|\btin\b|taxpayer")
_CTX_VERSION: Final = re.compile(
    r"(?:version|\bver\.?|\bv|release|build|firmware|\bfw|sdk|\brev\.?|revision|oid|"
    r"python|node|chrome|firefox|safari|edge|opera|java|==|>=|<=|~=|\^|"
    r"(?:upgrad|updat|downgrad|bump|pinn|roll)(?:e|ed|ing)?\s+(?:it\s+)?(?:to|from)|"
    r"\binstall(?:ed)?|\bpatch(?:ed)?|[0-9]+(?:\.[0-9]+){2,}\s+(?:to|->|\u2192))\s*[:=]?\s*$"
)


# the last character of every alternative of _CTX_VERSION (before its "\s*[:=]?\s*$")
_CTX_VERSION_LAST: Final = frozenset("nr.vedwkxia=^omlh>\u2192")


def _version_before(text: str, s: int) -> bool:
    """Return whether a version cue ends just before ``s`` (``version 1.2.3.4``, ``v``).

    Most addresses have none: the window's last character (before trailing spaces and one
    ``:`` or ``=``) ends no cue, which a set lookup says without running the regex.
    """
    window = text[max(0, s - 24) : s].lower()
    w = window.rstrip()
    if not w:
        return False
    last = w[-1]
    if last not in _CTX_VERSION_LAST:
        if last not in ":=":
            return False
        w = w[:-1].rstrip()
        if not w or w[-1] not in _CTX_VERSION_LAST:
            return False
    return _CTX_VERSION.search(window) is not None


_BOUNDARY: Final = re.compile(r"[\n\u3002\uff1b;!?\uff01\uff1f|]|\.\s")
_ABBREV: Final = ("tel", "ph", "no", "nr", "t\u00e9l", "tlf", "mob", "fax", "num", "ext")
# words that name a phone only as a label ("Desk: ...", "Office:" on the line above)
_CTX_LABEL_WORDS: Final = frozenset(["desk", "direct", "office", "home", "work", "landline"])
_LABEL: Final = re.compile(r"([a-z]+)[ \t]*:\s*$")


def _context(
    text: str,
    start: int,
    pos_words: frozenset[str] = _CTX_PHONE_WORDS,
    pos_cjk: tuple[str, ...] = _CTX_PHONE_CJK,
) -> int:
    """Return +1 (phone words), -1 (id/order words) or 0 for the words just before ``start``.

    Only the current sentence counts: the window stops at a line break or a sentence end
    (``Tel. 030 ...`` keeps its abbreviation). The closest keyword wins.
    """
    window = text[max(0, start - 40) : start].lower()
    if "[" in window:  # our own placeholders ("[PHONE]") are not context
        window = _PLACEHOLDER.sub(" ", window)
    if "\\" in window:  # escaped breaks, as in JSON or a template ("...\\nFax: 2415...")
        window = window.replace("\\n", " \n").replace("\\r", "  ").replace("\\t", "  ")
    if window.isascii():  # the common case, kept cheap: a few rfinds and set lookups
        cut = (
            max(
                window.rfind("\n"),
                window.rfind(";"),
                window.rfind("!"),
                window.rfind("?"),
                window.rfind("|"),
            )
            + 1
        )
        if pos_words is _CTX_PHONE_WORDS and window.endswith((":", ": ", ":\n", ":\t")):
            label = _LABEL.search(window)
            if label is not None and label.group(1) in _CTX_LABEL_WORDS:
                return 1  # "Desk: 0115 496 0265", "Direct:\n+44 ..."
        if cut and window[cut - 1] == "\n" and not window[cut:].strip():
            above = window[: cut - 1].rstrip()
            if above.endswith(":"):  # a label on the line above: "Phone:\n415 555 0132"
                cut = above.rfind("\n") + 1
        d = window.rfind(". ")
        while d >= cut and window[:d].endswith(_ABBREV):
            d = window.rfind(". ", 0, d)
        if d >= cut:
            cut = d + 2
        words: list[str] = _WORD.findall(window, cut)
        if pos_words.isdisjoint(words) and _CTX_NOT_PHONE_WORDS.isdisjoint(words):
            return 0
        for w in reversed(words):
            if w in pos_words:
                return 1
            if w in _CTX_NOT_PHONE_WORDS:
                return -1
        return 0
    cut = 0
    for m in _BOUNDARY.finditer(window):
        if m.group()[0] == "." and window[: m.start()].endswith(_ABBREV):
            continue
        cut = m.end()
    if cut:
        window = window[cut:]
    best = -1
    verdict = 0
    if not window.isascii():
        for k in pos_cjk:
            i = window.rfind(k)
            if i >= 0 and i + len(k) > best:
                best, verdict = i + len(k), 1
        for k in _CTX_NOT_PHONE_CJK:
            i = window.rfind(k)
            if i >= 0 and i + len(k) > best:
                best, verdict = i + len(k), -1
    for m in _WORD.finditer(window):
        w = m.group()
        if m.end() > best:
            if w in pos_words:
                best, verdict = m.end(), 1
            elif w in _CTX_NOT_PHONE_WORDS:
                best, verdict = m.end(), -1
    return verdict


_POST_PHONE: Final = re.compile(
    r"[ \t]*[(\[]?(?:cell|mobile|mob|home|work|office|fax|tel|phone|"
    r"whatsapp|landline)\b",
    re.IGNORECASE,
)
_DATE_START: Final = re.compile(
    r"(?:[0-9]{1,2}[./-][0-9]{1,2}[./-](?:19|20)[0-9]{2}|"
    r"(?:19|20)[0-9]{2}[./-][0-9]{1,2}[./-][0-9]{1,2})(?![0-9])"
)


def _post_context(text: str, end: int) -> bool:
    """Return whether a phone label follows the number: ``415 555 0132 (cell)``."""
    return _POST_PHONE.match(text, end, end + 20) is not None


def _card_ok(groups: list[str], seps: list[str]) -> bool:
    digits = "".join(groups)
    n = len(digits)
    if n < 13 or n > 19 or not card_issuer_ok(digits):
        return False
    ng = len(groups)
    if ng > 1:
        sep = seps[0]
        if sep not in (" ", "-", ".", "\u00a0") or seps.count(sep) != ng - 1:
            return False
        lens = [len(g) for g in groups]
        if not (
            (lens[:-1].count(4) == ng - 1 and 1 <= lens[-1] <= 4) or lens in ([4, 6, 5], [4, 6, 4])
        ):
            return False
    return luhn_ok(digits)


def _ssn_shape(groups: list[str], seps: list[str]) -> bool:
    return (
        len(groups) == 3
        and len(groups[0]) == 3
        and len(groups[1]) == 2
        and len(groups[2]) == 4
        and seps[0] == seps[1]
        and seps[0] in ("-", " ")
    )


_PHONE_SEPS: Final = frozenset(
    ["-", ".", " ", "/", ") ", ")", " (", "(", ")-", " - ", "\u00a0", "\u2013", " / ", "-(", ") - "]
)


def _phone_ok(
    groups: list[str], seps: list[str], plus: bool, paren: bool, ctx: Callable[[], int], run: str
) -> bool:
    """Decide whether digit groups form a phone number (see the module docstring of tests)."""
    for s in seps:
        if s not in _PHONE_SEPS:
            return False
    digits = "".join(groups)
    n = len(digits)
    if n < 7 or n > 18:
        return False  # every shape below has 7 to 15 digits (18 with "00" and a "(0)")
    ng = len(groups)
    dots = ng > 1 and seps.count(".") == ng - 1
    if ng == 2 and dots:
        return False  # a decimal number
    intl = plus
    if not intl and digits.startswith("00") and n >= 10 and ng >= 2:
        if ctx() < 0:
            return False
        intl = True
        digits = digits[2:]
        n -= 2
    if intl:
        cc = country_code_len(digits)
        if not cc:
            return False
        for i in range(1, ng - 1):
            if groups[i] == "0" and seps[i - 1].endswith("(") and seps[i].startswith(")"):
                n -= 1  # "+44 (0)20 ...": the trunk zero in parentheses is not dialled
                break
        if digits[0] == "1":
            return n == 11
        return 8 <= n <= 15
    lens = [len(g) for g in groups]
    thousands = (
        ng >= 2
        and lens[0] <= 3
        and lens.count(3) - (lens[0] == 3) == ng - 1
        and (dots or seps.count(" ") == ng - 1)
    )
    if thousands:  # "912 345 678" is a number unless a phone word says otherwise
        return 9 <= n <= 12 and ctx() > 0
    c: int | None = None
    # North American Numbering Plan: (NXX) NXX-XXXX, optional leading 1
    if ng == 4 and groups[0] == "1":
        g, glens = groups[1:], lens[1:]
    else:
        g, glens = groups, lens
    if glens == [3, 3, 4] and g[0][0] not in "01" and g[1][0] not in "01" and g[0][1:] != "11":
        c = ctx()
        return c >= 0
    # national numbers with a trunk 0: 020 7946 0958, 030 901820, 06 12 34 56 78, 03-1234-5678
    if (
        digits[0] == "0"
        and digits[1:2] != "0"
        and 9 <= n <= 12
        and ng >= 2
        and lens[0] <= 6
        and min(lens) >= 2
    ):
        c = ctx()
        return c >= 0
    # Chinese mobile: 138 0013 8000, 138-0013-8000
    if lens == [3, 4, 4] and digits[0] == "1" and digits[1] in "3456789":
        c = ctx()
        return c >= 0
    # area code in parentheses: (11) 91234-5678
    if paren and 2 <= lens[0] <= 4 and ng >= 2 and 8 <= n <= 12 and min(lens) >= 2:
        c = ctx()
        return c >= 0
    # anything else only with a phone word right before it, and never a date
    if 7 <= n <= 15 and (ng == 1 or min(lens) >= 2) and not _DATE_START.match(run):
        c = ctx()
        return c > 0
    return False


def _classify(
    text: str,
    groups: list[str],
    seps: list[str],
    plus: bool,
    paren: bool,
    start: int,
    on: Collection[str],
    end: int,
    contexts: dict[int, int] | None = None,
) -> str | None:
    """Return the type of the digit groups at ``text[start:end]``, or None.

    ``contexts`` caches :func:`_context` by start position across the calls for
    the parts of one run.
    """
    ctx_cache: list[int] = []

    def ctx() -> int:
        if not ctx_cache:
            if contexts is None:
                c = _context(text, start)
            else:
                c = contexts.get(start, 2)
                if c == 2:
                    c = contexts[start] = _context(text, start)
            if c == 0 and _post_context(text, end):
                c = 1
            ctx_cache.append(c)
        return ctx_cache[0]

    ng = len(groups)
    if (
        "CREDIT_CARD" in on
        and not plus
        and _card_ok(groups, seps)
        and (ng > 1 or _context(text, start, _CTX_CARD_WORDS, _CTX_CARD_CJK) >= 0)
    ):
        return "CREDIT_CARD"
    if "US_SSN" in on and not plus:
        if _ssn_shape(groups, seps):
            if ssn_ok(groups[0], groups[1], groups[2]):
                return "US_SSN"
            return None
        if ng == 1 and len(groups[0]) == 9:
            d = groups[0]
            window = text[max(0, start - 32) : start].lower()
            if _CTX_SSN.search(window) and ssn_ok(d[:3], d[3:5], d[5:]):
                return "US_SSN"
    if "PHONE" in on and _phone_ok(groups, seps, plus, paren, ctx, text[start:end]):
        return "PHONE"
    return None


def _plus_ok(text: str, i: int) -> bool:
    """Return whether the ``+`` at ``i`` can start a phone number: nothing of a word or
    an expression before it (``a+1234567``), except an escaped break (``\\n+44 ...``)."""
    if i < 1 or text[i - 1] not in _ALNUM_ASCII:
        return True
    return i >= 2 and text[i - 2] == "\\" and text[i - 1] in "ntr"


def _bare_run(text: str, s: int, e: int, on: Collection[str], out: list[Finding]) -> None:
    """Classify a run of digits without separators (the common case in JSON and logs)."""
    n = e - s
    k = s
    plus = k > 0 and text[k - 1] == "+" and _plus_ok(text, k - 1)
    if plus:
        k -= 1
    if (
        not plus
        and 12 <= n <= 19
        and "CREDIT_CARD" in on
        and luhn_ok(text[s:e])
        and _context(text, k, _CTX_CARD_WORDS, _CTX_CARD_CJK) > 0
    ):
        # a Luhn-valid number right after "card", "cc", "paid with": a card whatever its
        # issuer (12-digit Maestro, JCB ranges newer than the table)
        out.append((k, e, "CREDIT_CARD"))
        return
    if not plus and text[s] == "1" and n in (10, 13):
        return  # epoch seconds or milliseconds; no national number has this shape
    if not plus and n < 13 and n != 9:
        if "PHONE" not in on:
            return
        c = _context(text, k)
        if c == 0 and _post_context(text, e):
            c = 1
        # a phone only with a phone word next to it, or a Chinese mobile number (1[3-9]x 8 digits)
        if c > 0 or (c == 0 and n == 11 and text[s] == "1" and text[s + 1] in "3456789"):
            out.append((k, e, "PHONE"))
        return
    digits = text[s:e]
    kind = _classify(text, [digits], [], plus, False, k, on, e)
    if kind is not None:
        out.append((k, e, kind))


def _split_run(text: str, s: int, e: int, on: Collection[str], out: list[Finding]) -> None:
    """Classify the digit run ``text[s:e]``, splitting it where it joins several values."""
    if e < len(text) and text[e] in _ALNUM_ASCII and text[e] not in "xX":
        return  # glued to letters after it: an identifier, a unit, a hash
    run = text[s:e]
    if run.isdigit():
        _bare_run(text, s, e, on, out)
        return
    parts = _SPLIT.split(run)  # the run starts and ends with a digit: group, sep, group, ...
    groups = parts[0::2]
    seps = parts[1::2]
    ng = len(groups)
    if ng > 8 and len(max(groups, key=len)) <= 2:
        return  # a row of small numbers ("12 5 88 3 41 ..."), never a phone or a card
    if ng > 5 and seps.count(".") == ng - 1:
        return  # an OID or a long version (1.3.6.1.4.1.311), never a phone or a card
    # a "+" or "(" just before the run belongs to it
    k = s
    paren = plus = False
    if k > 0 and text[k - 1] == "(":
        paren = True
        k -= 1
    if k > 0 and text[k - 1] == "+" and _plus_ok(text, k - 1):
        plus = True
        k -= 1
    # no type has fewer than 7 or more than 19 digits (cards 13-19, SSNs 9, phones 7-15
    # and a prefix), so such a run or part of one is not classified at all
    total = len(run) - sum(map(len, seps))
    contexts: dict[int, int] = {}
    if total <= 19:
        kind = _classify(text, groups, seps, plus, paren, k, on, e, contexts)
        if kind is not None:
            out.append((k, e, kind))
            return
    n = ng
    if n < 2 or n > 16:
        return
    cum = [0]
    for g in groups:
        cum.append(cum[-1] + len(g))
    spans = []
    pos = s
    for i, g in enumerate(groups):
        end = pos + len(g)
        spans.append((pos, end))
        if i < n - 1:
            pos = end + len(seps[i])
    # Several values in one run ("4111 1111 1111 1111 12/25", "415-555-0132 / 415-555-0199").
    # A value may end at any space or slash; it may start only at the run's start or after a
    # separator unlike the run's usual one, so that no card or phone is carved out of the
    # middle of a longer number written in uniform groups (a USPS tracking number).
    # (the separator used more than once and most often, the first such in a tie: a set
    # here would make the choice depend on the process's string hash seed)
    usual: str | None = max(seps, key=seps.count)
    if seps.count(usual) < 2:
        usual = None
    ends = sorted(
        {i + 1 for i, sp in enumerate(seps) if " " in sp or "/" in sp or "\u00a0" in sp} | {n}
    )
    starts = [0] + [
        i + 1
        for i, sp in enumerate(seps)
        if (" " in sp or "\u00a0" in sp) and (sp != usual or "/" in sp or sp.count(" ") >= 2)
    ]
    covered = 0
    for i in starts:
        if i < covered:
            continue
        for j in reversed(ends):
            if j <= i or j - i > 8 or (i == 0 and j == n) or not 7 <= cum[j] - cum[i] <= 19:
                continue
            st = spans[i][0]
            sub_paren = (i > 0 and seps[i - 1].endswith("(")) or (paren and i == 0)
            kind = _classify(
                text,
                groups[i:j],
                seps[i : j - 1],
                plus and i == 0,
                sub_paren,
                st,
                on,
                spans[j - 1][1],
                contexts,
            )
            if kind is not None:
                if i == 0:
                    st = k
                elif sub_paren:
                    st -= 1
                out.append((st, spans[j - 1][1], kind))
                covered = j
                break


def _iban(text: str, s: int, out: list[Finding]) -> None:
    start = s - 2
    country = text[start:s]
    want = iban_length(country)
    if not want:
        return
    chars: list[str] = []
    i = start
    n = len(text)
    while i < n and len(chars) < want:
        c = text[i]
        if c in _ALNUM_ASCII:
            chars.append(c)
        elif c not in " -" or i + 1 >= n or text[i + 1] not in _ALNUM_ASCII:
            break  # single spaces or dashes between groups only
        i += 1
    if len(chars) != want or (i < n and text[i] in _ALNUM_ASCII):
        return
    if iban_ok("".join(chars)):
        out.append((start, i, "IBAN"))


def find_numbers(
    text: str,
    out: list[Finding],
    on: Collection[str],
    starts: list[int] | None = None,
    iban: bool = True,
    raw: bytes | None = None,
) -> None:
    """Find CREDIT_CARD, US_SSN, PHONE, IBAN and IPv4 IP_ADDRESS values.

    Args:
        text: the text to scan.
        out: findings are appended here.
        on: the enabled types.
        starts: byte offsets (in the text's UTF-8) of every number that can be one of
            these values, or of the character before it, as the prefilter reports them
            (None: scan the whole text).
        iban: False when the prefilter saw no IBAN start.
        raw: the text's UTF-8 (``surrogatepass``), when the caller has it already.
    """
    ascii_ = text.isascii()
    if raw is None:
        raw = text.encode("utf-8", "surrogatepass")
    folded = raw.translate(_BYTE_DIGIT_TO_ZERO)
    # IBANs first: the digit groups of an IBAN are a number run too, and one that costs
    # many classifications before it is rejected; a run inside an IBAN found here would
    # only merge into it, so it is skipped.
    # (loops of search() rather than finditer(): most texts have no match, and a failed
    # search costs a third of creating the finditer scanner)
    ibans: list[Finding] = []
    if iban and "IBAN" in on:
        h = _IBAN_TRIGGER.search(folded)
        while h is not None:
            bs = h.start()
            s = bs if ascii_ else len(raw[:bs].decode("utf-8", "surrogatepass"))
            _iban(text, s + 2, ibans)
            h = _IBAN_TRIGGER.search(folded, h.end())
        out.extend(ibans)
    matches = _scan(folded) if starts is None else _matches_at(folded, sorted(set(starts)))
    last_b = last_c = 0
    for bs, be, kind in matches:
        if ascii_:
            s, e = bs, be
        else:  # byte offsets -> character offsets, decoding each stretch of the text once
            s = last_c + len(raw[last_b:bs].decode("utf-8", "surrogatepass"))
            e = s + len(raw[bs:be].decode("utf-8", "surrogatepass"))
            last_b, last_c = be, e
        if not (ibans and _inside(s, e, ibans)):
            n = len(out)
            _number(text, s, e, kind, on, out)
            if len(out) > n and out[-1][2] == "PHONE" and out[-1][1] < len(text):
                _extension(text, out)


Candidate = tuple[int, int, str]
"""A number candidate: byte offsets in the folded text and the pattern's group (``run``,
``ip``)."""


def _candidate(folded: bytes, mb: re.Match[bytes]) -> Candidate | None:
    """The candidate ``mb`` matched, or None: a run of fewer than 7 digits is none, and
    one of more than 41 ends at its 41st (the rest starts a candidate of its own)."""
    bs, be = mb.span()
    kind = mb.lastgroup or "run"
    if kind == "run":
        digits = folded.count(48, bs, be)  # b"0": every digit, folded
        if digits < 7:
            return None
        if digits > _RUN_DIGITS_MAX:
            cut = _FORTY_ONE_DIGITS.match(folded, bs)
            if cut is not None:  # always: the run holds them
                be = cut.end()
    return bs, be, kind


def _scan(folded: bytes) -> Iterator[Candidate]:
    """The number candidates of the whole text, in order."""
    search = _NUM.search
    mb = search(folded)
    while mb is not None:
        c = _candidate(folded, mb)
        if c is None:
            mb = search(folded, mb.start() + 1)
        else:
            yield c
            mb = search(folded, c[1])


def _matches_at(folded: bytes, starts: list[int]) -> Iterator[Candidate]:
    """The number candidates at the given byte offsets only (sorted): the same as
    :func:`_scan`, which can only match at such an offset (a match at one offset ends
    before the next is tried, as a scan resumes after a match)."""
    match = _NUM.match
    done = 0
    for b in starts:
        while folded[b] != 48:  # what comes before the first digit ("0" after folding)
            b += 1
        if b < done:
            continue
        mb = match(folded, b)
        if mb is not None:
            c = _candidate(folded, mb)
            if c is not None:
                done = c[1]
                yield c


# an extension written after a phone number: "x204", " ext. 12", " extension 5"
_EXTENSION: Final = re.compile(
    r"(?:[ \t]?[xX]|[ \t]?(?i:ext|extension)\.?[ \t]?)[0-9]{1,6}(?![0-9A-Za-z])"
)


def _extension(text: str, out: list[Finding]) -> None:
    """Extend the last finding (a phone) over the extension written after it."""
    s, e, t = out[-1]
    m = _EXTENSION.match(text, e)
    if m is not None:
        out[-1] = (s, m.end(), t)


def _inside(s: int, e: int, spans: list[Finding]) -> bool:
    return any(a <= s and e <= b for a, b, _ in spans)


def _number(
    text: str, s: int, e: int, kind: str | None, on: Collection[str], out: list[Finding]
) -> None:
    if kind == "run":
        _split_run(text, s, e, on, out)
    elif (
        kind == "ip" and "IP_ADDRESS" in on and ipv4_ok(text[s:e]) and not _version_before(text, s)
    ):
        out.append((s, e, "IP_ADDRESS"))


# =================================================================================================
# EMAIL
# =================================================================================================

_IDN: Final = (
    "\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0900-\u0dff\u0e00-\u0eff"
    "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
)
_LOCAL_CLASS: Final = "A-Za-z0-9._%+\\-\u00c0-\u024f"
_LOCAL_REV: Final = re.compile(f"[{_LOCAL_CLASS}]{{1,64}}")
_LBL: Final = f"[A-Za-z0-9{_IDN}](?:[A-Za-z0-9{_IDN}\\-]{{0,61}}[A-Za-z0-9{_IDN}])?"
_DOT: Final = r"(?:\.|\s?[\[({<]\s?(?:dot|DOT|Dot)\s?[\])}>]\s?)"
_DOMAIN: Final = re.compile(
    f"(?:{_LBL}{_DOT}){{1,8}}(?P<tld>[A-Za-z]{{2,24}}(?![A-Za-z0-9_\\-])|[{_IDN}]{{2,24}})"
)
# an "@" between a local-part character and a domain label that has a dot after it
_AT_PLAIN: Final = re.compile(
    f"@(?<=[{_LOCAL_CLASS}]@)(?=[A-Za-z0-9{_IDN}\\-]{{1,63}}(?:\\.|\\s?[\\[({{<]))"
)
_AT_OBF: Final = re.compile(r"at\s?[\])}>]")
_AT_OBF_UP: Final = re.compile(r"AT\s?[\])}>]")
_PCT: Final = re.compile(r"%(?![2][Bb])[0-9A-Fa-f]{2}")
_OPEN: Final = "[({<"


def _email_at(text: str, at_s: int, at_e: int, encoded: bool, out: list[Finding]) -> int:
    """Confirm an address around the at-sign token ``text[at_s:at_e]``; return its end or 0."""
    lo = max(0, at_s - 64)
    rev = text[lo:at_s][::-1]
    m = _LOCAL_REV.match(rev)
    if m is None:
        return 0
    ls = at_s - m.end()
    # an apostrophe between letters belongs to the name: sean.o'brien@corp.ie
    while ls >= 2 and text[ls - 1] == "'" and text[ls - 2].isalpha() and at_s - ls < 64:
        more = _LOCAL_REV.match(text[max(0, ls - 64) : ls - 1][::-1])
        if more is None:
            break
        ls -= 1 + more.end()
    # trim what cannot start a local part
    while ls < at_s and text[ls] in ".-+":
        ls += 1
    if encoded and "%" in text[ls:at_s]:
        escapes = list(_PCT.finditer(text, ls, at_s))  # "email%3Djane%40corp.com"
        if escapes:
            ls = escapes[-1].end()
    if ls < at_s and text[ls] in "ntr" and ls > 0 and text[ls - 1] == "\\":
        ls += 1
    if ls >= at_s or not any(c.isalnum() for c in text[ls:at_s]):
        return 0
    dm = _DOMAIN.match(text, at_e)
    if dm is None:
        return 0
    end = dm.end()
    if not tld_ok(dm.group("tld")):
        # "jane@corp.com.Thanks": retry without the last labels
        labels = dm.group().split(".")
        end = 0
        for i in range(len(labels) - 1, 1, -1):
            if tld_ok(labels[i - 1]) and labels[i - 1].isalpha():
                end = at_e + len(".".join(labels[:i]))
                break
        if not end:
            return 0
    n = len(text)
    # git@github.com:org/repo, user@host:~$ (scp-style remote or shell prompt)
    if end + 1 < n and text[end] == ":" and (text[end + 1].isalnum() or text[end + 1] in "~/._-"):
        return 0
    # the user part of a URL: ssh://git@host/..., scheme://user:password@host (URL_CREDENTIALS)
    if ls >= 1 and text[ls - 1] in ":/":
        j = text.rfind("://", max(0, ls - 200), ls)
        if j >= 0:
            seg = text[j + 3 : ls]
            if "/" not in seg and not any(c.isspace() or c in "\"'<>" for c in seg):
                return 0
    out.append((ls, end, "EMAIL"))
    return end


def _email_gates(text: str) -> set[str]:
    """The prefilter's e-mail tags (see :mod:`llmlog.redact.prefilter`), found in Python."""
    tags = set()
    if "@" in text:
        tags.add("email@")
    if "\uff20" in text:
        tags.add("email\uff20")
    if "%" in text:
        tags.add("email%40")
    if "&" in text:
        tags.add("email&#64;")
    if " dot " in text or " DOT " in text:
        tags.add("email dot")
    if "(" in text or "[" in text or "{" in text or "<" in text:
        tags.add("email[at]")
    return tags


def find_email(
    text: str, out: list[Finding], on: Collection[str], tags: Collection[str] | None = None
) -> None:
    """Find EMAIL addresses: plain, full-width at sign, ``%40``, ``&#64;``, ``[at]``/``(dot)``.

    Args:
        text: the text to scan.
        out: findings are appended here.
        on: the enabled types.
        tags: the prefilter's tags for this text (None: find them here).
    """
    if tags is None:
        tags = _email_gates(text)
    if "email@" in tags:
        done = 0
        for m in _AT_PLAIN.finditer(text):
            s = m.start()
            if s < done:
                continue
            done = _email_at(text, s, s + 1, False, out) or done
    if "email\uff20" in tags:
        i = text.find("\uff20")
        while i >= 0:
            _email_at(text, i, i + 1, False, out)
            i = text.find("\uff20", i + 1)
    if "email%40" in tags:
        i = text.find("%40")
        while i >= 0:
            _email_at(text, i, i + 3, True, out)
            i = text.find("%40", i + 3)
    if "email&#64;" in tags:
        i = text.find("&#64;")
        while i >= 0:
            _email_at(text, i, i + 5, False, out)
            i = text.find("&#64;", i + 5)
    if "email dot" in tags:
        _email_spelled(text, out)
    # "[at]", "(AT)", ...: without an opening bracket there is nothing to find
    if "email[at]" in tags:
        for rx in (_AT_OBF, _AT_OBF_UP) if "AT" in text else (_AT_OBF,):
            hit = rx.search(text)
            while hit is not None:
                q, e = hit.span()
                hit = rx.search(text, e)
                _email_obfuscated(text, q, e, out)


# "jane.doe at corp dot com": an address spelled out with words, ending in a real TLD
_SPELLED: Final = re.compile(
    r"(?<![\w.@])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63})[ \t]+(?:at|AT)[ \t]+"
    r"(?P<domain>[A-Za-z0-9][A-Za-z0-9\-]{0,62}(?:[ \t]+(?:dot|DOT)[ \t]+[A-Za-z0-9\-]{1,63}){1,4})"
    r"(?![\w@])"
)
# words that come before "at" in a sentence, not as the local part of an address
_NOT_LOCAL_WORDS: Final = (
    "look looks looked looking stare stared point pointed aim aimed laugh laughed smile "
    "me him her us them it this that these those you home work school here there "
    "back once least most all best first last is are was were be been being am "
    "meet meeting arrive arrived live lives lived stay stayed born based located "
    "available open closed start starts end ends left right good bad great"
)
_NOT_LOCAL: Final = frozenset(_NOT_LOCAL_WORDS.split())


def _email_spelled(text: str, out: list[Finding]) -> None:
    for m in _SPELLED.finditer(text):
        local = m.group("local")
        if local.lower() in _NOT_LOCAL:
            continue
        labels = re.split(r"[ \t]+(?:dot|DOT)[ \t]+", m.group("domain"))
        if tld_ok(labels[-1]) and not labels[-1].isdigit():
            out.append((m.start(), m.end(), "EMAIL"))


def _email_obfuscated(text: str, q: int, e: int, out: list[Finding]) -> None:
    """Confirm an address around ``at]`` at ``text[q:e]`` (an opening bracket before it)."""
    o = q - 1
    if o >= 0 and text[o].isspace():
        o -= 1
    if o < 0 or text[o] not in _OPEN:
        return
    if o > 0 and text[o - 1].isspace():
        o -= 1
    if e < len(text) and text[e] == " ":
        e += 1
    _email_at(text, o, e, False, out)


# =================================================================================================
# IPv6
# =================================================================================================

# "::" followed by a group or a boundary, or a full address (a four-digit group and six more)
_V6_TRIGGER: Final = re.compile(
    r":(?::(?:[0-9A-Fa-f]{1,4}(?![0-9A-Za-z_])|(?![0-9A-Za-z_]))"
    r"|(?<=[0-9A-Fa-f]{4}:)(?=(?:[0-9A-Fa-f]{1,4}:){6}[0-9A-Fa-f]))"
)
_V6_HINT: Final = re.compile(
    r":(?=:(?:[0-9A-Fa-f]{1,4}(?![0-9A-Za-z_])|(?![0-9A-Za-z_]))|" + r"[0-9A-Fa-f]{1,4}+:" * 6 + ")"
)
_V6_CHARS: Final = frozenset("0123456789abcdefABCDEF:.")
_V6: Final = re.compile(
    r"(?<![0-9A-Za-z_:.])"
    r"(?:"
    r"(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"  # full
    r"|(?:[0-9A-Fa-f]{1,4}:){6}(?:[0-9]{1,3}\.){3}[0-9]{1,3}"  # full, IPv4 tail
    r"|(?=[0-9A-Fa-f:]{0,39}::)"  # compressed: must contain "::"
    r"(?:[0-9A-Fa-f]{1,4}:|:){1,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{1,4}|:)"
    r")"
    r"(?:%[0-9A-Za-z_.\-]{1,15})?"
    r"(?![0-9A-Za-z_:])"
)


def find_ipv6(text: str, out: list[Finding], on: Collection[str]) -> None:
    """Find IPv6 IP_ADDRESS values: full, compressed, link-local with zone, IPv4-mapped.

    Args:
        text: the text to scan.
        out: findings are appended here.
        on: the enabled types.
    """
    # every IPv6 address has "::" or seven colons between hex groups (one pass of a regex
    # that only looks at colons; no colon at all is one memchr away)
    if ":" not in text or _V6_HINT.search(text) is None:
        return
    done = 0
    n = len(text)
    for t in _V6_TRIGGER.finditer(text):
        q = t.start()
        if q < done:
            continue
        # An address is a stretch of hex digits, colons and dots that nothing of the kind
        # precedes, so the only one that can hold the colon at q starts where the stretch
        # through q starts: one match there (an address starting before q - 40 is too long).
        lo = max(done, q - 40)
        p = q
        while p > lo and text[p - 1] in _V6_CHARS:
            p -= 1
        m = _V6.match(text, p, min(n, q + 50))
        if m is not None and q < m.end():
            s, e = m.start(), m.end()
            # a bracketed slice a[10::20] is code, not an address
            if ipv6_ok(text[s:e]):
                out.append((s, e, "IP_ADDRESS"))
            done = e


# =================================================================================================
# secrets
# =================================================================================================

# gates: one literal-prefix search decides whether the detectors behind it run at all
_DASH_GATE: Final = re.compile(r"-(?:(?<=sk-)|(?<=xox[abposer]-)|----BEGIN )")
_UNDERSCORE_GATE: Final = re.compile(
    r"_(?:(?<=[rs]k_)(?:live|test)_|(?<=gh[pousr]_)|(?<=github_)pat_)"
)
_SK: Final = re.compile(r"sk-[A-Za-z0-9_\-]{16,}")
_SK_ANT: Final = re.compile(r"ant-(?:api|admin|sid|oat)[0-9]{2}-")
_SK_SUB: Final = re.compile(r"(?:proj|svcacct|admin|None|live)-")
_STRIPE: Final = re.compile(r"k_(?:live|test)_[A-Za-z0-9]{10,}")
_GH: Final = re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}")
_GH_PAT: Final = re.compile(r"github_pat_[A-Za-z0-9_]{30,}")
_XOX: Final = re.compile(r"xox[abposer]-[A-Za-z0-9\-]{10,}")
_A_KEYS: Final = re.compile(r"A(?:[KS]IA[A-Z0-9]{16}|Iza[0-9A-Za-z_\-]{35})(?![A-Za-z0-9_\-])")
_AWS_SECRET: Final = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_SECRET_KW: Final = re.compile(
    r"(?i:[_\-\s]?access[_\-\s]?key|[_\-\s]?key)(?i:[_\-\s]?id)?[\"']?\s*[:=]>?\s*[\"']?"
    r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)
_JWT: Final = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.ey[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*")
_PEM_BEGIN: Final = re.compile(r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END: Final = re.compile(r"-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY: Final = re.compile(
    r"(?:(?:\s|\\[nr])*(?:[A-Za-z\-]+: [^\n]*\n)?(?:\s|\\[nr])*[A-Za-z0-9+/=]{16,})*"
)
_BEARER: Final = re.compile(r"earer(?:\s+|%20)(?P<tok>[A-Za-z0-9\-._~+/]{8,}=*)")
_URL_CRED: Final = re.compile(
    r"://(?P<user>[^\s:/@?#\"'<>\\\[\]]{0,128}):(?P<pw>[^\s/?#\"'<>\\]{1,256})@"
    r"(?=[A-Za-z0-9\[])"
)
_PW_PLACEHOLDERS: Final = frozenset(
    [
        "password",
        "pass",
        "passwd",
        "pwd",
        "pw",
        "secret",
        "changeme",
        "mypassword",
        "yourpassword",
        "your_password",
        "your-password",
        "user",
        "username",
        "pass123",
        "token",
        "apikey",
        "api_key",
    ]
)


def _pw_is_placeholder(pw: str) -> bool:
    p = pw.lower()
    if p in _PW_PLACEHOLDERS or p.strip("*x.") == "" or pw[:1] in "$<{%[*":
        return True
    return pw.isupper() and "_" in pw  # $DB_PASSWORD written without the $


def _aws_secret_near(text: str, s: int, e: int, out: list[Finding]) -> None:
    """Find the secret access key written next to the access key id at ``text[s:e]``."""
    for m in _AWS_SECRET.finditer(text, max(0, s - 160), min(len(text), e + 240)):
        v = m.group()
        before = text[max(0, m.start() - 12) : m.start()].lower()
        if "bearer" in before or "token" in before:
            continue  # a 40-character bearer token that happens to sit nearby
        if _aws_secret_value_ok(v):
            out.append((m.start(), m.end(), "AWS_SECRET_KEY"))


def _aws_secret_value_ok(v: str) -> bool:
    if "EXAMPLE" in v:
        return False
    has_l = any(c.islower() for c in v)
    has_u = any(c.isupper() for c in v)
    has_d = any(c.isdigit() or c in "/+" for c in v)
    return has_l and has_u and has_d and looks_random(v, min_len=40)


def _secret_gates(text: str) -> set[str]:
    """The prefilter's secret tags (see :mod:`llmlog.redact.prefilter`), found in Python."""
    tags = set()
    if "-" in text and _DASH_GATE.search(text) is not None:
        if "sk-" in text:
            tags.add("sk-")
        if "xox" in text:
            tags.add("xox")
        if "-----BEGIN " in text:
            tags.add("pem")
    if "_" in text and _UNDERSCORE_GATE.search(text) is not None:
        tags.add("github")
        if "k_live_" in text or "k_test_" in text:
            tags.add("stripe")
    if "A" in text:
        tags.add("AKIA")
    if "ecret" in text or "ECRET" in text:
        tags.add("aws secret")
    if "eyJ" in text:
        tags.add("jwt")
    if "earer" in text:
        tags.add("bearer")
    if "@" in text and "://" in text:
        tags.add("url")
    return tags


def find_secrets(
    text: str, out: list[Finding], on: Collection[str], tags: Collection[str] | None = None
) -> None:
    """Find API keys, tokens, private keys and credentials in URLs.

    Args:
        text: the text to scan.
        out: findings are appended here.
        on: the enabled types.
        tags: the prefilter's tags for this text (None: find them here).
    """
    if tags is None:
        tags = _secret_gates(text)
    if "sk-" in tags and ("OPENAI_KEY" in on or "ANTHROPIC_KEY" in on):
        for m in _SK.finditer(text):
            s = m.start()
            if not _left_ok(text, s):
                continue
            body = m.group()[3:]
            a = _SK_ANT.match(body)
            if body.startswith("ant-"):
                rest = body[a.end() :] if a else body[4:]
                if "ANTHROPIC_KEY" in on and looks_random(rest, min_len=20):
                    out.append((s, m.end(), "ANTHROPIC_KEY"))
                continue
            sub = _SK_SUB.match(body)
            rest = body[sub.end() :] if sub else body
            if "OPENAI_KEY" in on and looks_random(rest, min_len=20):
                out.append((s, m.end(), "OPENAI_KEY"))
    if "xox" in tags and "SLACK_TOKEN" in on:
        for m in _XOX.finditer(text):
            if _left_ok(text, m.start()) and looks_random(
                m.group()[5:].replace("-", ""), min_len=16
            ):
                out.append((m.start(), m.end(), "SLACK_TOKEN"))
    if "pem" in tags and "PRIVATE_KEY" in on:
        _find_pem(text, out)
    if "STRIPE_KEY" in on and "stripe" in tags:
        for m in _STRIPE.finditer(text):
            s = m.start() - 1
            if (
                s >= 0
                and text[s] in "rs"
                and _left_ok(text, s)
                and looks_random(m.group()[7:], min_len=10)
            ):
                out.append((s, m.end(), "STRIPE_KEY"))
    if "GITHUB_TOKEN" in on and "github" in tags:
        for rx, skip in ((_GH, 4), (_GH_PAT, 11)):
            for m in rx.finditer(text):
                body = m.group()[skip:]
                if _left_ok(text, m.start()) and (
                    base62_crc32_ok(body) or looks_random(body, min_len=20)
                ):
                    out.append((m.start(), m.end(), "GITHUB_TOKEN"))
    if "AKIA" in tags and (
        "AWS_ACCESS_KEY" in on or "GOOGLE_API_KEY" in on or "AWS_SECRET_KEY" in on
    ):
        key = _A_KEYS.search(text)
        while key is not None:
            s, e = key.start(), key.end()
            v = key.group()
            key = _A_KEYS.search(text, e)
            if not _left_ok(text, s):
                continue
            if v[1] == "I":
                if "GOOGLE_API_KEY" in on and looks_random(v[4:], min_len=30):
                    out.append((s, e, "GOOGLE_API_KEY"))
            elif "EXAMPLE" not in v and len(set(v[4:])) >= 6:
                if "AWS_ACCESS_KEY" in on:
                    out.append((s, e, "AWS_ACCESS_KEY"))
                if "AWS_SECRET_KEY" in on:
                    _aws_secret_near(text, s, e, out)
    if "AWS_SECRET_KEY" in on and "aws secret" in tags:
        for word in ("ecret", "ECRET"):
            i = text.find(word)
            while i >= 0:
                kw = _AWS_SECRET_KW.match(text, i + 5)
                if kw is not None:
                    head = text[max(0, i - 12) : i + 5].lower()
                    if ("aws" in head or "access" in kw.group().lower()) and _aws_secret_value_ok(
                        kw.group("v")
                    ):
                        out.append((kw.start("v"), kw.end("v"), "AWS_SECRET_KEY"))
                i = text.find(word, i + 5)
    if "jwt" in tags and "JWT" in on:
        for m in _JWT.finditer(text):
            v = m.group()
            if _left_ok(text, m.start()) and jwt_ok(v[: v.index(".")]):
                out.append((m.start(), m.end(), "JWT"))
    if "bearer" in tags and "BEARER_TOKEN" in on:
        for m in _BEARER.finditer(text):
            s = m.start() - 1
            if s < 0 or text[s] not in "Bb" or not _left_ok(text, s, _ALNUM_ASCII):
                continue
            tok = m.group("tok")
            if looks_random(tok.rstrip("="), min_len=12) and not (
                tok.isupper() or tok.startswith(("sk-...", "YOUR"))
            ):
                out.append((m.start("tok"), m.end("tok"), "BEARER_TOKEN"))
    if "URL_CREDENTIALS" in on and "url" in tags:
        for m in _URL_CRED.finditer(text):
            pw = m.group("pw")
            if not _pw_is_placeholder(pw):
                out.append(
                    (
                        m.start("user") if m.group("user") else m.start("pw"),
                        m.end("pw"),
                        "URL_CREDENTIALS",
                    )
                )


# =================================================================================================
# all of them
# =================================================================================================

_NUMBER_TYPES: Final = frozenset(["CREDIT_CARD", "US_SSN", "PHONE", "IBAN", "IP_ADDRESS"])
_SECRET_SET: Final = frozenset(SECRET_TYPES)


# Something every value of every built-in type contains: a digit, "@", ":", a key prefix,
# "at"/"AT" of "[at]"... A short string without any (a role, a tool name, a short
# instruction) skips the detectors with one regex test.
_MAYBE: Final = re.compile(r"[0-9@:=%&_\-J\uff20]|A(?:KIA|SIA|Iza)|earer|ecret|ECRET|at|AT")
_SHORT: Final = 64


# the prefilter's tags each detector acts on (a detector none of whose tags fired would find
# nothing, so it is not called; tests/redact/test_redact_prefilter.py checks that every tag
# the prefilter can report is in one of these)
SECRET_TAGS: Final = frozenset(
    ["sk-", "xox", "pem", "stripe", "github", "AKIA", "aws secret", "jwt", "bearer", "url"]
)
EMAIL_TAGS: Final = frozenset(
    ["email@", "email\uff20", "email%40", "email&#64;", "email dot", "email[at]"]
)
OTHER_TAGS: Final = frozenset([prefilter.NUMBERS, "iban", "ipv6", "cue"])


def find_all(text: str, out: list[Finding], on: Collection[str]) -> None:
    """Run every built-in detector of an enabled type on ``text``.

    With hyperscan installed, one scan of every gate (:mod:`llmlog.redact.prefilter`)
    says which detectors can find anything; without it each checks its own gates.

    Args:
        text: the text to scan.
        out: findings are appended here.
        on: the enabled types.
    """
    person = "PERSON" in on
    if len(text) < _SHORT and _MAYBE.search(text) is None:
        if person:
            find_names(text, out, on)
        return
    raw = text.encode("utf-8", "surrogatepass")  # for the scan and the number detector
    tags = prefilter.scan(text, person, raw)
    if person:
        find_names(text, out, on, tags)
    if tags is None:
        if not _SECRET_SET.isdisjoint(on):
            find_secrets(text, out, on)
            find_credentials(text, out, on)
        if "EMAIL" in on:
            find_email(text, out, on)
        if not _NUMBER_TYPES.isdisjoint(on):
            find_numbers(text, out, on, raw=raw)
        if "IP_ADDRESS" in on:
            find_ipv6(text, out, on)
        return
    if not tags:
        return
    if not _SECRET_SET.isdisjoint(on):
        if not SECRET_TAGS.isdisjoint(tags):
            find_secrets(text, out, on, tags)
        if not CREDENTIAL_TAGS.isdisjoint(tags):
            find_credentials(text, out, on, tags)
    if "EMAIL" in on and not EMAIL_TAGS.isdisjoint(tags):
        find_email(text, out, on, tags)
    if not _NUMBER_TYPES.isdisjoint(on):
        starts = tags.get(prefilter.NUMBERS)
        if starts is not None:
            find_numbers(text, out, on, starts, "iban" in tags, raw)
        elif "iban" in tags and "IBAN" in on:
            find_numbers(text, out, on, [], True, raw)
    if "ipv6" in tags and "IP_ADDRESS" in on:
        find_ipv6(text, out, on)


def _find_pem(text: str, out: list[Finding]) -> None:
    covered = 0
    no_end_after = len(text) + 1
    for m in _PEM_BEGIN.finditer(text):
        s = m.start()
        if s < covered:
            continue
        end_m = _PEM_END.search(text, m.end()) if m.end() < no_end_after else None
        if end_m is not None:
            e = end_m.end()
        else:
            no_end_after = min(no_end_after, m.end())
            body = _PEM_BODY.match(text, m.end())
            e = body.end() if body else m.end()
        out.append((s, e, "PRIVATE_KEY"))
        covered = e
