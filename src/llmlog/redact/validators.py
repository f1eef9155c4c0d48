"""Checks that turn a pattern match into a finding: checksums, registries, shapes.

A regular expression only says that something *looks like* a card number or an
IBAN; most digit runs in LLM traffic (timestamps, order numbers, decimals) look
like one too. Every built-in detector therefore confirms its candidates here,
with the check the data itself carries when it has one (Luhn, ISO 7064 mod-97,
the SSA's area rules, the ITU country codes, the IANA country-code TLDs) and
with conservative shape rules when it does not (phone groupings).

Every function here is pure, allocation-light and runs in time linear in its
input; none of them uses a regular expression that can backtrack.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import string
import zlib
from typing import Final

__all__ = [
    "card_issuer_ok",
    "country_code_len",
    "iban_length",
    "iban_ok",
    "ipv4_ok",
    "ipv6_ok",
    "jwt_ok",
    "left_ok",
    "looks_random",
    "luhn_ok",
    "ssn_ok",
    "tld_ok",
]

# -- Luhn (credit cards) --------------------------------------------------------------------------

# Luhn with bytes: every other digit from the right as its value, the others doubled (digit
# sum), each half one translate and one sum in C
_LUHN_PLAIN: Final = bytes.maketrans(b"0123456789", bytes(range(10)))
_LUHN_DOUBLED: Final = bytes.maketrans(b"0123456789", bytes([0, 2, 4, 6, 8, 1, 3, 5, 7, 9]))


def luhn_ok(digits: str) -> bool:
    """Return whether ``digits`` (only 0-9) passes the Luhn checksum.

    Args:
        digits: the number without separators.

    Returns:
        True when the mod-10 sum of the Luhn-weighted digits is zero.
    """
    b = digits.encode()
    return (
        sum(b[-1::-2].translate(_LUHN_PLAIN)) + sum(b[-2::-2].translate(_LUHN_DOUBLED))
    ) % 10 == 0


def card_issuer_ok(digits: str) -> bool:
    """Return whether ``digits`` starts with a known card network's IIN and has its length.

    Covers Visa, Mastercard (51-55 and 2221-2720), American Express, Discover,
    JCB, Diners Club, UnionPay, Maestro and Mir. A 13-19 digit run with a valid
    Luhn digit but no issuer prefix (order numbers, millisecond timestamps
    starting with 1) is not a card.

    Args:
        digits: the number without separators.
    """
    n = len(digits)
    if n < 13 or n > 19:
        return False
    d1 = digits[0]
    p2 = int(digits[:2])
    p4 = int(digits[:4])
    if d1 == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # Amex
        return n == 15
    if 2200 <= p4 <= 2204:  # Mir
        return n == 16
    if p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649:  # Discover
        return n >= 16
    if 3528 <= p4 <= 3589:  # JCB
        return n >= 16
    if 300 <= int(digits[:3]) <= 305 or p2 in (36, 38, 39):  # Diners
        return n >= 14
    if p2 == 62:  # UnionPay
        return n >= 16
    if p2 in (50, 56, 57, 58) or p4 in (6304, 6759, 6761, 6762, 6763):  # Maestro
        return n >= 13
    return False


# -- IBAN -----------------------------------------------------------------------------------------

_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BI": 27,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DJ": 27,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FK": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "LY": 25,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MN": 20,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NI": 28,
    "NL": 18,
    "NO": 15,
    "OM": 23,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "RU": 33,
    "SA": 24,
    "SC": 31,
    "SD": 18,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "SO": 23,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
    "YE": 30,
}


def iban_length(country: str) -> int:
    """Return the IBAN length registered for ``country`` (ISO 3166 alpha-2), or 0."""
    return _IBAN_LENGTHS.get(country, 0)


def iban_ok(iban: str) -> bool:
    """Return whether ``iban`` (no spaces, upper case) has its country's length and mod-97 = 1.

    Args:
        iban: the compact IBAN, e.g. ``"DE89370400440532013000"``.
    """
    if len(iban) != _IBAN_LENGTHS.get(iban[:2], -1) or not iban.isalnum() or not iban.isascii():
        return False
    if not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    # Letters count as 10..35; fold in chunks so the ints stay small.
    rem = 0
    for ch in moved:
        if ch.isdigit():
            rem = (rem * 10 + ord(ch) - 48) % 97
        else:
            v = ord(ch) - 55
            if v < 10 or v > 35:
                return False
            rem = (rem * 100 + v) % 97
    return rem == 1


# -- US SSN ---------------------------------------------------------------------------------------


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """Return whether the three parts form an SSN the SSA could have issued.

    Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.

    Args:
        area: three digits.
        group: two digits.
        serial: four digits.
    """
    if area == "000" or area == "666" or area[0] == "9":
        return False
    return group != "00" and serial != "0000"


# -- IP addresses ---------------------------------------------------------------------------------


def ipv4_ok(text: str) -> bool:
    """Return whether dotted ``text`` is a routable-looking IPv4 address worth redacting.

    Rejects octets above 255, octets with leading zeros (``01.02.03.04`` is a date or
    a version far more often than an address), and addresses that identify nobody:
    ``0.0.0.0``, loopback ``127.0.0.0/8``, broadcast and netmasks (``255.x``).

    Args:
        text: four dot-separated decimal groups.
    """
    parts = text.split(".")
    if len(parts) != 4:
        return False
    vals = []
    for p in parts:
        if not p or len(p) > 3 or (len(p) > 1 and p[0] == "0"):
            return False
        v = int(p)
        if v > 255:
            return False
        vals.append(v)
    first = vals[0]
    return not (first == 0 or first == 127 or first == 255)


def ipv6_ok(text: str) -> bool:
    """Return whether ``text`` is an IPv6 address (zone id allowed) that identifies a host.

    Rejects the unspecified ``::`` and loopback ``::1``. To keep code such as
    ``a[1::2]`` or ``dead::beef`` untouched, an address must contain a digit and
    either a hex letter or at least four non-empty groups (``2001:4860:4860::8888``).

    Args:
        text: the candidate, e.g. ``"fe80::1ff:fe23:4567:890a%eth0"``.
    """
    addr = text.split("%", 1)[0]
    # the cheap tests first: parsing with ipaddress costs more than all of them
    if not any(c.isdigit() for c in addr):
        return False
    groups = [g for g in re.split(r"[:.]", addr) if g]
    has_hex_letter = any(c in "abcdefABCDEF" for c in addr)
    if not (has_hex_letter or len(groups) >= 4):
        return False
    try:
        ip = ipaddress.IPv6Address(addr)
    except ValueError:
        return False
    return not (ip.is_unspecified or ip.is_loopback)


# -- phone country codes --------------------------------------------------------------------------

_CC1: Final = {"1", "7"}
_CC2: Final = {
    "20",
    "27",
    "30",
    "31",
    "32",
    "33",
    "34",
    "36",
    "39",
    "40",
    "41",
    "43",
    "44",
    "45",
    "46",
    "47",
    "48",
    "49",
    "51",
    "52",
    "53",
    "54",
    "55",
    "56",
    "57",
    "58",
    "60",
    "61",
    "62",
    "63",
    "64",
    "65",
    "66",
    "81",
    "82",
    "84",
    "86",
    "90",
    "91",
    "92",
    "93",
    "94",
    "95",
    "98",
}
_CC3: Final = (
    {
        "211",
        "212",
        "213",
        "216",
        "218",
        "290",
        "291",
        "297",
        "298",
        "299",
        "420",
        "421",
        "423",
        "670",
        "850",
        "852",
        "853",
        "855",
        "856",
        "880",
        "886",
        "992",
        "993",
        "994",
        "995",
        "996",
        "998",
    }
    | {str(n) for n in range(220, 270) if n != 259}
    | {str(n) for n in range(350, 360)}
    | {str(n) for n in range(370, 390) if n not in (384, 388)}
    | {str(n) for n in range(500, 510)}
    | {str(n) for n in range(590, 600)}
    | {str(n) for n in range(672, 693)}
    | {str(n) for n in range(960, 969)}
    | {str(n) for n in range(970, 978)}
)


def country_code_len(digits: str) -> int:
    """Return the length of the ITU calling code ``digits`` starts with, or 0 if none.

    Args:
        digits: an international number without ``+`` or ``00``.
    """
    if digits[:1] in _CC1:
        return 1
    if digits[:2] in _CC2:
        return 2
    if digits[:3] in _CC3:
        return 3
    return 0


# -- e-mail top-level domains ---------------------------------------------------------------------

# Country-code TLDs (IANA root zone): all two-letter TLDs are these, so ``icon@2x.js``
# is not an address while ``jane@corp.io`` is.
_CCTLDS: Final = frozenset(
    [
        "ac",
        "ad",
        "ae",
        "af",
        "ag",
        "ai",
        "al",
        "am",
        "ao",
        "aq",
        "ar",
        "as",
        "at",
        "au",
        "aw",
        "ax",
        "az",
        "ba",
        "bb",
        "bd",
        "be",
        "bf",
        "bg",
        "bh",
        "bi",
        "bj",
        "bm",
        "bn",
        "bo",
        "br",
        "bs",
        "bt",
        "bw",
        "by",
        "bz",
        "ca",
        "cc",
        "cd",
        "cf",
        "cg",
        "ch",
        "ci",
        "ck",
        "cl",
        "cm",
        "cn",
        "co",
        "cr",
        "cu",
        "cv",
        "cw",
        "cx",
        "cy",
        "cz",
        "de",
        "dj",
        "dk",
        "dm",
        "do",
        "dz",
        "ec",
        "ee",
        "eg",
        "er",
        "es",
        "et",
        "eu",
        "fi",
        "fj",
        "fk",
        "fm",
        "fo",
        "fr",
        "ga",
        "gb",
        "gd",
        "ge",
        "gf",
        "gg",
        "gh",
        "gi",
        "gl",
        "gm",
        "gn",
        "gp",
        "gq",
        "gr",
        "gs",
        "gt",
        "gu",
        "gw",
        "gy",
        "hk",
        "hm",
        "hn",
        "hr",
        "ht",
        "hu",
        "id",
        "ie",
        "il",
        "im",
        "in",
        "io",
        "iq",
        "ir",
        "is",
        "it",
        "je",
        "jm",
        "jo",
        "jp",
        "ke",
        "kg",
        "kh",
        "ki",
        "km",
        "kn",
        "kp",
        "kr",
        "kw",
        "ky",
        "kz",
        "la",
        "lb",
        "lc",
        "li",
        "lk",
        "lr",
        "ls",
        "lt",
        "lu",
        "lv",
        "ly",
        "ma",
        "mc",
        "md",
        "me",
        "mg",
        "mh",
        "mk",
        "ml",
        "mm",
        "mn",
        "mo",
        "mp",
        "mq",
        "mr",
        "ms",
        "mt",
        "mu",
        "mv",
        "mw",
        "mx",
        "my",
        "mz",
        "na",
        "nc",
        "ne",
        "nf",
        "ng",
        "ni",
        "nl",
        "no",
        "np",
        "nr",
        "nu",
        "nz",
        "om",
        "pa",
        "pe",
        "pf",
        "pg",
        "ph",
        "pk",
        "pl",
        "pm",
        "pn",
        "pr",
        "ps",
        "pt",
        "pw",
        "py",
        "qa",
        "re",
        "ro",
        "rs",
        "ru",
        "rw",
        "sa",
        "sb",
        "sc",
        "sd",
        "se",
        "sg",
        "sh",
        "si",
        "sk",
        "sl",
        "sm",
        "sn",
        "so",
        "sr",
        "ss",
        "st",
        "su",
        "sv",
        "sx",
        "sy",
        "sz",
        "tc",
        "td",
        "tf",
        "tg",
        "th",
        "tj",
        "tk",
        "tl",
        "tm",
        "tn",
        "to",
        "tr",
        "tt",
        "tv",
        "tw",
        "tz",
        "ua",
        "ug",
        "uk",
        "us",
        "uy",
        "uz",
        "va",
        "vc",
        "ve",
        "vg",
        "vi",
        "vn",
        "vu",
        "wf",
        "ws",
        "ye",
        "yt",
        "za",
        "zm",
        "zw",
    ]
)

# Generic TLDs seen in real addresses, plus the names private networks use for mail
# (``corp.local``). A longer unknown last label (``x@self.weight`` in NumPy code,
# ``logo@2x.png``) is not an address. Extend with Redactor(rules=...) if you need more.
_GTLDS: Final = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "mil",
        "int",
        "info",
        "biz",
        "name",
        "pro",
        "aero",
        "coop",
        "museum",
        "mobi",
        "asia",
        "tel",
        "travel",
        "jobs",
        "cat",
        "post",
        "xxx",
        "app",
        "dev",
        "ai",
        "io",
        "page",
        "web",
        "site",
        "online",
        "store",
        "shop",
        "tech",
        "xyz",
        "top",
        "club",
        "blog",
        "cloud",
        "email",
        "mail",
        "live",
        "life",
        "world",
        "today",
        "news",
        "media",
        "digital",
        "agency",
        "solutions",
        "services",
        "company",
        "group",
        "global",
        "network",
        "systems",
        "software",
        "support",
        "center",
        "academy",
        "consulting",
        "design",
        "studio",
        "photography",
        "photo",
        "art",
        "music",
        "video",
        "games",
        "fun",
        "space",
        "website",
        "host",
        "link",
        "click",
        "help",
        "one",
        "plus",
        "wiki",
        "zone",
        "city",
        "london",
        "nyc",
        "berlin",
        "paris",
        "tokyo",
        "amsterdam",
        "wien",
        "vegas",
        "miami",
        "boston",
        "africa",
        "law",
        "legal",
        "finance",
        "financial",
        "capital",
        "fund",
        "money",
        "bank",
        "insurance",
        "health",
        "care",
        "clinic",
        "dental",
        "doctor",
        "hospital",
        "university",
        "school",
        "college",
        "education",
        "institute",
        "science",
        "bio",
        "eco",
        "green",
        "energy",
        "solar",
        "auto",
        "car",
        "taxi",
        "tours",
        "holiday",
        "hotel",
        "restaurant",
        "cafe",
        "bar",
        "pizza",
        "food",
        "kitchen",
        "coffee",
        "wine",
        "beer",
        "fashion",
        "clothing",
        "shoes",
        "jewelry",
        "beauty",
        "hair",
        "fitness",
        "yoga",
        "golf",
        "football",
        "team",
        "run",
        "bike",
        "dog",
        "pet",
        "vet",
        "family",
        "kids",
        "love",
        "dating",
        "wedding",
        "community",
        "social",
        "chat",
        "google",
        "amazon",
        "apple",
        "microsoft",
        "aws",
        "inc",
        "llc",
        "ltd",
        "gmbh",
        "partners",
        "ventures",
        "works",
        "expert",
        "guru",
        "ninja",
        "rocks",
        "cool",
        "tips",
        "today",
        "ink",
        "pub",
        "red",
        "blue",
        "pink",
        "black",
        "gold",
        "land",
        "house",
        "homes",
        "estate",
        "properties",
        "realty",
        "build",
        "construction",
        "engineering",
        "engineer",
        "tools",
        "parts",
        "supply",
        "market",
        "marketing",
        "sale",
        "deals",
        "delivery",
        "express",
        "fit",
        "fyi",
        "gdn",
        "how",
        "icu",
        "kim",
        "lol",
        "men",
        "moe",
        "mom",
        "ovh",
        "pw",
        "run",
        "sex",
        "win",
        "wtf",
        "me",
        "swiss",
        "bayern",
        "nrw",
        "hamburg",
        "koeln",
        "quebec",
        "scot",
        "wales",
        "cymru",
        "eus",
        "gal",
        "barcelona",
        "madrid",
        "istanbul",
        "moscow",
        "kyoto",
        "nagoya",
        "osaka",
        "yokohama",
        "sydney",
        "melbourne",
        "local",
        "internal",
        "lan",
        "corp",
        "home",
        "intranet",
        "test",
        "example",
        "localdomain",
    ]
)

_FILE_EXTENSIONS: Final = frozenset(
    [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "bmp",
        "ico",
        "tif",
        "tiff",
        "heic",
        "pdf",
        "txt",
        "json",
        "yaml",
        "yml",
        "xml",
        "html",
        "htm",
        "css",
        "scss",
        "js",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "jsx",
        "map",
        "lock",
        "toml",
        "ini",
        "cfg",
        "conf",
        "log",
        "csv",
        "tsv",
        "md",
        "rst",
        "py",
        "pyc",
        "rb",
        "php",
        "java",
        "kt",
        "swift",
        "c",
        "h",
        "cpp",
        "hpp",
        "o",
        "so",
        "dll",
        "exe",
        "bin",
        "zip",
        "tar",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "whl",
        "egg",
        "jar",
        "war",
        "dmg",
        "iso",
        "sql",
        "db",
    ]
)


def tld_ok(tld: str) -> bool:
    """Return whether ``tld`` can end an e-mail domain.

    Non-ASCII (IDN) TLDs are accepted; ASCII ones must be a country-code TLD or a
    known generic one, and never a file extension.

    Args:
        tld: the last label of the domain.
    """
    if not tld.isascii():
        return tld.isalpha()
    t = tld.lower()
    if t in _FILE_EXTENSIONS:
        return False
    if len(t) == 2:
        return t in _CCTLDS
    return t in _GTLDS


# -- secrets --------------------------------------------------------------------------------------

_PLACEHOLDER_WORDS: Final = (
    "xxxx",
    "XXXX",
    "****",
    "....",
    "…",
    "<",
    ">",
    "{",
    "}",
    "$",
    "example",
    "EXAMPLE",
    "your",
    "YOUR",
    "Your",
    "placeholder",
    "PLACEHOLDER",
    "redacted",
    "REDACTED",
    "dummy",
    "DUMMY",
    "changeme",
    "CHANGEME",
    "insert",
    "INSERT",
    "replace",
    "REPLACE",
    "here",
    "HERE",
    "fake",
    "FAKE",
)


_PLACEHOLDER: Final = re.compile("|".join(re.escape(w) for w in _PLACEHOLDER_WORDS))
# the words in lower case: a body that holds none of them (most keys) needs no regex, which
# tries every word at every position
_PLACEHOLDER_LOWER: Final = tuple(sorted({w.lower() for w in _PLACEHOLDER_WORDS}))
_ASCII_DIGIT: Final = re.compile(r"[0-9]")


_BASE62: Final = {
    c: i for i, c in enumerate(string.digits + string.ascii_uppercase + string.ascii_lowercase)
}


def base62_crc32_ok(body: str) -> bool:
    """Return whether ``body`` carries its own checksum, as GitHub and npm tokens do.

    The tokens GitHub issues since 2021 (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``)
    and npm's (``npm_``) are the prefix, 30 random base62 characters and the CRC32 of
    those 30 in six base62 digits (``0-9A-Za-z``). A checksum that holds says the token
    is real whatever it looks like; one that does not may still be a token cut short or
    retyped.

    Args:
        body: the token without its prefix.
    """
    if len(body) != 36 or not body.isascii() or not body.isalnum():
        return False
    n = 0
    for c in body[30:]:
        n = n * 62 + _BASE62[c]
    return n == zlib.crc32(body[:30].encode("ascii"))


def _has_placeholder(body: str) -> bool:
    """Return whether ``body`` holds a placeholder word (:data:`_PLACEHOLDER_WORDS`, in one of
    its spellings): substring tests on the lower-cased body first, which rule out most keys,
    then the case-sensitive regex only when one of them hits."""
    low = body.lower()
    for w in _PLACEHOLDER_LOWER:
        if w in low:
            return _PLACEHOLDER.search(body) is not None
    return False


def looks_random(body: str, *, min_len: int = 16) -> bool:
    """Return whether ``body`` looks like generated key material rather than a placeholder.

    Real keys are long and varied (``sk-proj-4fT...``); placeholders are words,
    repeats or markers (``sk-...``, ``sk-xxxx``, ``YOUR_API_KEY``,
    ``sk-your-key-here``, ``AKIAIOSFODNN7EXAMPLE``).

    Args:
        body: the part of the token after its fixed prefix.
        min_len: the shortest body that can be a key.
    """
    if len(body) < min_len:
        return False
    if _has_placeholder(body):
        return False
    distinct = len(set(body))
    if distinct < 8 or distinct * 4 < min(len(body), 40):
        return False
    if body.isascii():  # every key body is: whole-string operations instead of a loop
        has_digit = _ASCII_DIGIT.search(body) is not None
        has_lower = body.upper() != body
        has_upper = body.lower() != body
        no_letters = not (has_lower or has_upper)
    else:
        has_digit = any(c.isdigit() for c in body)
        has_lower = any(c.islower() for c in body)
        has_upper = any(c.isupper() for c in body)
        no_letters = not any(c.isalpha() for c in body)
    if not has_digit and not (has_lower and has_upper):
        return False  # one-case words: "your-openai-api-key-goes-here"
    if has_digit and no_letters:
        return len(body) >= 24  # all digits: only long numeric secrets (Slack ids are digits)
    return True


def jwt_ok(header_b64: str) -> bool:
    """Return whether a JWT's first segment decodes to a JSON header with ``alg`` or ``typ``.

    Args:
        header_b64: the base64url text before the first dot.
    """
    pad = "=" * (-len(header_b64) % 4)
    try:
        raw = base64.urlsafe_b64decode(header_b64 + pad)
    except (ValueError, TypeError):
        return False
    return raw[:1] == b"{" and (b'"alg"' in raw or b'"typ"' in raw or b'"kid"' in raw)


TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def left_ok(text: str, i: int, chars: frozenset[str] = TOKEN_CHARS) -> bool:
    """Return whether a token may start at ``i``: not glued to the token before.

    ``\\n``, ``\\t`` and ``\\r`` written as two characters (escaped text pasted into
    a prompt) count as whitespace.
    """
    if i == 0:
        return True
    c = text[i - 1]
    if c not in chars:
        return True
    return c in "ntr" and i >= 2 and text[i - 2] == "\\"
