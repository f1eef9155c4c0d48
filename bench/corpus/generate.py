# ruff: noqa: RUF001
"""Seeded generator of a labelled corpus of LLM prompt/output snippets for the redaction bench.

Every sample is a dict ``{"id", "text", "spans", "kind", "carrier", "lang"}`` where
``spans`` lists the gold PII/secret spans as ``[start, end, TYPE]`` and ``kind`` is

* ``pii``: realistic text with 1-5 values at known spans (plus hard negatives);
* ``clean``: realistic text with no PII at all, but with the numbers, ids, dates,
  versions, hashes and code that real LLM traffic is full of;
* ``hardneg``: text built around the hard negatives of issue 3 (invalid-Luhn runs,
  order/tracking numbers, epoch timestamps, decimals, UUIDs, SHAs, git remotes,
  ``pkg@1.2.3``, versions, OIDs, ISBNs, public and placeholder keys, arithmetic).

Values are generated, never copied: cards pass Luhn for their network, IBANs get
real mod-97 check digits, SSNs follow the SSA rules, phones follow each country's
numbering plan. Formats and contexts vary on purpose (prose in seven languages,
CJK without spaces, JSON, code, stack traces, logs, CSV, .env files, curl
commands) because a corpus written by the author of the detectors is easy to
overfit; ``bench/README.md`` says what this corpus cannot tell you.

Run ``python bench/corpus/generate.py [N] [SEED]`` to write
``bench/out/corpus.jsonl``; ``bench/redaction.py`` calls :func:`generate` directly.
"""

from __future__ import annotations

import base64
import json
import random
import string
import sys
from pathlib import Path
from typing import Any

__all__ = ["generate"]

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"

# =================================================================================================
# the builder: text with labelled spans
# =================================================================================================


class B:
    """Accumulates text and records the span of every labelled value."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.n = 0
        self.spans: list[list[Any]] = []

    def gap(self, r: random.Random) -> B:
        """Separate the next chunk from the last one the way people do (space or newline)."""
        last = self.parts[-1][-1:] if self.parts else " "
        if not last.isspace() and last not in "\u3002\uff01\uff1f":
            self.t(r.choice([" ", "\n", "\n", " "]))
        return self

    def t(self, s: str) -> B:
        self.parts.append(s)
        self.n += len(s)
        return self

    def v(self, value: tuple[str, str] | tuple[str, str, int, int]) -> B:
        """Add a labelled value: (text, TYPE) or (text, TYPE, span_start, span_end)."""
        text, typ = value[0], value[1]
        if len(value) == 4:
            a, b = value[2], value[3]  # type: ignore[misc]
        else:
            a, b = 0, len(text)
        self.spans.append([self.n + a, self.n + b, typ])
        return self.t(text)

    def text(self) -> str:
        return "".join(self.parts)


# =================================================================================================
# names and words
# =================================================================================================

FIRST = [
    "jane",
    "john",
    "maria",
    "wei",
    "yuki",
    "ahmed",
    "olga",
    "lukas",
    "sofia",
    "raj",
    "fatima",
    "chen",
    "emma",
    "noah",
    "liam",
    "ana",
    "pierre",
    "giulia",
    "kenji",
    "amara",
    "mateo",
    "ingrid",
    "priya",
    "diego",
    "hana",
    "omar",
    "chloe",
    "ivan",
    "mei",
    "tomas",
]
LAST = [
    "doe",
    "smith",
    "garcia",
    "zhang",
    "tanaka",
    "hassan",
    "petrova",
    "muller",
    "rossi",
    "patel",
    "kowalski",
    "nguyen",
    "silva",
    "okafor",
    "dubois",
    "jensen",
    "kim",
    "lopez",
    "novak",
    "haddad",
    "schmidt",
    "moreau",
    "sato",
    "ivanova",
    "costa",
    "brown",
    "wang",
]
COMPANIES = [
    "acme",
    "globex",
    "initech",
    "umbrella-corp",
    "northwind",
    "contoso",
    "fabrikam",
    "hooli",
    "piedpiper",
    "vandelay",
    "wayne-ent",
    "stark-ind",
    "tyrell",
    "cyberdyne",
    "soylent",
    "wonka",
    "gringotts",
    "oceanic",
    "dunder-mifflin",
    "massive-dynamic",
]
TLDS = [
    "com",
    "com",
    "com",
    "io",
    "co.uk",
    "de",
    "fr",
    "com.br",
    "co.jp",
    "ai",
    "org",
    "net",
    "edu",
    "dev",
    "app",
    "ch",
    "nl",
    "in",
    "cn",
    "ru",
    "es",
    "it",
    "se",
    "com.au",
    "ca",
    "tech",
    "gov",
    "pl",
    "kr",
    "mx",
]
WEBMAIL = [
    "gmail.com",
    "yahoo.co.jp",
    "outlook.com",
    "qq.com",
    "163.com",
    "mail.ru",
    "web.de",
    "gmx.net",
    "proton.me",
    "icloud.com",
    "hotmail.fr",
    "yandex.ru",
    "naver.com",
    "libero.it",
    "orange.fr",
    "t-online.de",
    "fastmail.com",
]
IDN_DOMAINS = [
    "müller-bau.de",
    "bücher.at",
    "пример.рф",
    "société-générale.fr",
    "café.com",
    "例子.中国",
    "テスト.jp",
]


def full_name(r: random.Random) -> str:
    return f"{r.choice(FIRST).title()} {r.choice(LAST).title()}"


# =================================================================================================
# value generators: each returns (text, TYPE) or (text, TYPE, a, b) when only part is the value
# =================================================================================================


def email(r: random.Random, *, form: str | None = None) -> tuple[str, ...]:
    f, la = r.choice(FIRST), r.choice(LAST)
    local = r.choice(
        [
            f"{f}.{la}",
            f"{f}{la}",
            f"{f[0]}{la}",
            f"{f}_{la}",
            f"{f}.{la}{r.randint(1, 99)}",
            f"{f}+{r.choice(['news', 'work', 'llm', 'test'])}",
            f"{la}.{f}{r.randint(70, 99)}",
            f"{f}-{la}",
            f"{f}",
            str(r.randint(10000000, 2999999999)),
            f"{f[0]}.{la}",
        ]
    )
    roll = r.random()
    if roll < 0.55:
        domain = f"{r.choice(COMPANIES)}.{r.choice(TLDS)}"
    elif roll < 0.85:
        domain = r.choice(WEBMAIL)
    elif roll < 0.93:
        domain = (
            f"{r.choice(['mail', 'eu', 'corp', 'us-east', 'dept'])}.{r.choice(COMPANIES)}."
            f"{r.choice(TLDS)}"
        )
    else:
        domain = r.choice(IDN_DOMAINS)
    if r.random() < 0.08:
        local, domain = local.title(), domain.title() if domain.isascii() else domain
    form = form or r.choices(["plain", "encoded", "obf", "entity"], [0.86, 0.06, 0.07, 0.01])[0]
    if form == "encoded":
        return (f"{local}%40{domain}", "EMAIL")
    if form == "obf":
        at = r.choice([" [at] ", "[at]", " (at) ", "(at)", " {at} ", " [AT] ", " <at> "])
        if r.random() < 0.6:
            dot = r.choice([" [dot] ", "[dot]", " (dot) ", "(dot)", " [DOT] "])
            domain = domain.replace(".", dot)
        return (f"{local}{at}{domain}", "EMAIL")
    if form == "entity":
        return (f"{local}&#64;{domain}", "EMAIL")
    return (f"{local}@{domain}", "EMAIL")


def _d(r: random.Random, n: int) -> str:
    return "".join(r.choice(string.digits) for _ in range(n))


def _nanp(r: random.Random) -> tuple[str, str, str]:
    area = str(r.randint(2, 9)) + str(r.randint(0, 8)) + str(r.randint(0, 9))
    if area[1:] == "11":
        area = area[0] + "12"
    exch = str(r.randint(2, 9)) + _d(r, 2)
    return area, exch, _d(r, 4)


def phone(r: random.Random, *, bare_ok: bool = False) -> tuple[str, ...]:
    """A phone number of one of 17 countries in one of its usual written forms."""
    c = r.choice(
        [
            "US",
            "US",
            "US",
            "UK",
            "DE",
            "FR",
            "JP",
            "CN",
            "IN",
            "AU",
            "BR",
            "ES",
            "IT",
            "NL",
            "RU",
            "MX",
            "KR",
            "SG",
            "ZA",
        ]
    )
    if c == "US":
        a, e, n = _nanp(r)
        forms = [
            f"({a}) {e}-{n}",
            f"{a}-{e}-{n}",
            f"{a}.{e}.{n}",
            f"{a} {e} {n}",
            f"+1 {a} {e} {n}",
            f"+1 ({a}) {e}-{n}",
            f"+1-{a}-{e}-{n}",
            f"1-{r.choice(['800', '888', '877'])}-{e}-{n}",
            f"+1{a}{e}{n}",
            f"+1.{a}.{e}.{n}",
        ]
        if bare_ok:
            forms.append(f"{a}{e}{n}")
    elif c == "UK":
        london = f"20 {r.randint(3, 8)}{_d(r, 3)} {_d(r, 4)}"
        mob = f"7{r.randint(400, 999)} {_d(r, 6)}"
        forms = [
            f"+44 {london}",
            f"0{london}",
            f"+44 {mob}",
            f"0{mob}",
            f"+44 (0){london}",
            f"+44 (0) {mob}",
        ]
    elif c == "DE":
        city = r.choice(["30", "40", "89", "69", "221", "711"])
        sub = _d(r, r.choice([6, 7, 8]))
        mob = f"1{r.choice(['51', '52', '60', '70', '76'])} {_d(r, 8)}"
        forms = [
            f"+49 {city} {sub}",
            f"0{city} {sub}",
            f"0{city}/{sub}",
            f"+49 (0){city} {sub}",
            f"+49 {mob}",
            f"0{mob}",
            f"+49-{city}-{sub}",
        ]
    elif c == "FR":
        p = [f"{r.randint(1, 9)}"] + [_d(r, 2) for _ in range(4)]
        forms = [
            "+33 " + " ".join(p),
            "0" + " ".join(p),
            "0" + ".".join(p),
            "0" + "-".join(p),
            "+33 (0)" + " ".join(p),
        ]
    elif c == "JP":
        forms = [
            f"+81 3-{_d(r, 4)}-{_d(r, 4)}",
            f"03-{_d(r, 4)}-{_d(r, 4)}",
            f"090-{_d(r, 4)}-{_d(r, 4)}",
            f"+81 90 {_d(r, 4)} {_d(r, 4)}",
            f"06-{_d(r, 4)}-{_d(r, 4)}",
        ]
    elif c == "CN":
        m = f"1{r.choice('3456789')}{_d(r, 1)}"
        forms = [
            f"+86 {m} {_d(r, 4)} {_d(r, 4)}",
            f"{m} {_d(r, 4)} {_d(r, 4)}",
            f"+86 10 {_d(r, 4)} {_d(r, 4)}",
            f"010-{_d(r, 8)}",
            f"+86-{m}{_d(r, 8)}",
        ]
        if bare_ok:
            forms.append(f"{m}{_d(r, 8)}")
    elif c == "IN":
        m = f"{r.choice('6789')}{_d(r, 4)}"
        forms = [
            f"+91 {m} {_d(r, 5)}",
            f"0{m} {_d(r, 5)}",
            f"+91-{m}{_d(r, 5)}",
            f"+91 {m}-{_d(r, 5)}",
        ]
    elif c == "AU":
        forms = [
            f"+61 2 {_d(r, 4)} {_d(r, 4)}",
            f"(02) {_d(r, 4)} {_d(r, 4)}",
            f"04{_d(r, 2)} {_d(r, 3)} {_d(r, 3)}",
            f"+61 4{_d(r, 2)} {_d(r, 3)} {_d(r, 3)}",
        ]
    elif c == "BR":
        forms = [
            f"+55 11 9{_d(r, 4)}-{_d(r, 4)}",
            f"(11) 9{_d(r, 4)}-{_d(r, 4)}",
            f"+55 (21) 9{_d(r, 4)}-{_d(r, 4)}",
        ]
    elif c == "ES":
        forms = [
            f"+34 9{_d(r, 2)} {_d(r, 3)} {_d(r, 3)}",
            f"+34 6{_d(r, 2)} {_d(r, 2)} {_d(r, 2)} {_d(r, 2)}",
            f"+34 6{_d(r, 8)}",
        ]
    elif c == "IT":
        forms = [
            f"+39 06 {_d(r, 4)} {_d(r, 4)}",
            f"06 {_d(r, 4)} {_d(r, 4)}",
            f"+39 3{_d(r, 2)} {_d(r, 3)} {_d(r, 4)}",
            f"02 {_d(r, 8)}",
        ]
    elif c == "NL":
        forms = [
            f"+31 20 {_d(r, 3)} {_d(r, 4)}",
            f"020 {_d(r, 3)} {_d(r, 4)}",
            f"+31 6 {_d(r, 8)}",
            f"06-{_d(r, 8)}",
        ]
    elif c == "RU":
        forms = [
            f"+7 495 {_d(r, 3)}-{_d(r, 2)}-{_d(r, 2)}",
            f"+7 (9{_d(r, 2)}) {_d(r, 3)}-{_d(r, 2)}-{_d(r, 2)}",
            f"+7 9{_d(r, 2)} {_d(r, 3)} {_d(r, 2)} {_d(r, 2)}",
        ]
    elif c == "MX":
        forms = [
            f"+52 55 {_d(r, 4)} {_d(r, 4)}",
            f"+52 1 55 {_d(r, 4)} {_d(r, 4)}",
            f"+52-33-{_d(r, 4)}-{_d(r, 4)}",
        ]
    elif c == "KR":
        forms = [
            f"+82 2-{_d(r, 3)}-{_d(r, 4)}",
            f"010-{_d(r, 4)}-{_d(r, 4)}",
            f"+82 10 {_d(r, 4)} {_d(r, 4)}",
            f"02-{_d(r, 4)}-{_d(r, 4)}",
        ]
    elif c == "SG":
        forms = [f"+65 6{_d(r, 3)} {_d(r, 4)}", f"+65 9{_d(r, 3)} {_d(r, 4)}"]
    else:  # ZA
        forms = [
            f"+27 21 {_d(r, 3)} {_d(r, 4)}",
            f"021 {_d(r, 3)} {_d(r, 4)}",
            f"+27 82 {_d(r, 3)} {_d(r, 4)}",
            f"082 {_d(r, 3)} {_d(r, 4)}",
        ]
    return (r.choice(forms), "PHONE")


def _luhn_complete(prefix: str, length: int, r: random.Random) -> str:
    body = prefix + _d(r, length - len(prefix) - 1)
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def card_number(r: random.Random, *, valid: bool = True) -> tuple[str, str]:
    """Return (digits, network)."""
    net = r.choice(
        [
            "visa",
            "visa",
            "visa",
            "mc",
            "mc2",
            "amex",
            "discover",
            "jcb",
            "diners",
            "unionpay",
            "visa13",
        ]
    )
    prefix, length = {
        "visa": ("4", 16),
        "visa13": ("4", 13),
        "mc": (str(r.randint(51, 55)), 16),
        "mc2": (str(r.randint(2221, 2720)), 16),
        "amex": (r.choice(["34", "37"]), 15),
        "discover": (r.choice(["6011", "65", str(r.randint(644, 649))]), 16),
        "jcb": (str(r.randint(3528, 3589)), 16),
        "diners": (r.choice(["36", "38", "300"]), 14),
        "unionpay": ("62", 16),
    }[net]
    num = _luhn_complete(prefix, length, r)
    if not valid:
        num = num[:-1] + str((int(num[-1]) + r.randint(1, 9)) % 10)
    return num, net


def fmt_card(num: str, sep: str) -> str:
    if len(num) == 15:
        return f"{num[:4]}{sep}{num[4:10]}{sep}{num[10:]}"
    if len(num) == 14:
        return f"{num[:4]}{sep}{num[4:10]}{sep}{num[10:]}"
    return sep.join(num[i : i + 4] for i in range(0, len(num), 4))


def credit_card(r: random.Random) -> tuple[str, ...]:
    num, _ = card_number(r)
    sep = r.choices([" ", "-", ""], [0.5, 0.25, 0.25])[0]
    return (fmt_card(num, sep), "CREDIT_CARD")


def _iban_check(country: str, bban: str) -> str:
    s = bban + country + "00"
    n = int("".join(str(int(c, 36)) for c in s))
    return f"{98 - n % 97:02d}"


IBAN_SPECS = {  # country: BBAN made of (kind, count) blocks; L=upper letter, D=digit
    "DE": [("D", 18)],
    "GB": [("L", 4), ("D", 14)],
    "FR": [("D", 23)],
    "ES": [("D", 20)],
    "IT": [("L", 1), ("D", 22)],
    "NL": [("L", 4), ("D", 10)],
    "BE": [("D", 12)],
    "CH": [("D", 17)],
    "AT": [("D", 16)],
    "PL": [("D", 24)],
    "SE": [("D", 20)],
    "NO": [("D", 11)],
    "DK": [("D", 14)],
    "IE": [("L", 4), ("D", 14)],
    "PT": [("D", 21)],
    "FI": [("D", 14)],
    "LU": [("D", 16)],
    "CZ": [("D", 20)],
}


def iban_value(r: random.Random, *, valid: bool = True) -> str:
    country = r.choice(list(IBAN_SPECS))
    bban = "".join(
        "".join(r.choice(string.ascii_uppercase if k == "L" else string.digits) for _ in range(n))
        for k, n in IBAN_SPECS[country]
    )
    check = _iban_check(country, bban)
    if not valid:
        good = int(check)
        while int(check) % 97 == good % 97:  # 01 and 98 are the same check value
            check = f"{r.randint(0, 99):02d}"
    return country + check + bban


def iban(r: random.Random) -> tuple[str, ...]:
    v = iban_value(r)
    if r.random() < 0.6:
        v = " ".join(v[i : i + 4] for i in range(0, len(v), 4))
    return (v, "IBAN")


def ssn_parts(r: random.Random) -> tuple[str, str, str]:
    while True:
        area = r.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}", f"{r.randint(1, 99):02d}", f"{r.randint(1, 9999):04d}"


def ssn(r: random.Random) -> tuple[str, ...]:
    a, g, s = ssn_parts(r)
    return (r.choices([f"{a}-{g}-{s}", f"{a} {g} {s}"], [0.88, 0.12])[0], "US_SSN")


def ipv4_value(r: random.Random) -> str:
    kind = r.random()
    if kind < 0.3:
        return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    if kind < 0.5:
        return f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}"
    if kind < 0.6:
        return f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    first = r.choice([r.randint(1, 126), r.randint(128, 223)])
    return f"{first}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _h(r: random.Random, lo: int = 1, hi: int = 4) -> str:
    return (
        "".join(r.choice("0123456789abcdef") for _ in range(r.randint(lo, hi))).lstrip("0") or "0"
    )


def ipv6_value(r: random.Random) -> str:
    k = r.choice(
        [
            "full",
            "compressed",
            "compressed",
            "linklocal",
            "linklocal_zone",
            "mapped",
            "upper",
            "dns",
        ]
    )
    if k == "full":
        return ":".join(f"{r.randint(0, 65535):04x}" for _ in range(8))
    if k == "compressed":
        head = ":".join(_h(r, 3, 4) for _ in range(r.randint(2, 3)))
        tail = ":".join(_h(r) for _ in range(r.randint(1, 3)))
        return (
            f"{r.choice(['2001:db8', '2a00:1450', '2606:4700', '2001:4860'])}:"
            f"{head.split(':', 1)[-1]}::{tail}"
        )
    if k == "linklocal":
        return f"fe80::{_h(r, 3, 4)}:{_h(r, 2, 2)}ff:fe{_h(r, 2, 2)}:{_h(r, 3, 4)}"
    if k == "linklocal_zone":
        return f"fe80::{_h(r, 3, 4)}:{_h(r, 3, 4)}%{r.choice(['eth0', 'en0', 'wlan0', '2'])}"
    if k == "mapped":
        return f"::ffff:{ipv4_value(r)}"
    if k == "upper":
        return f"2001:DB8:{_h(r, 4, 4).upper()}::{_h(r, 2, 4).upper()}"
    return r.choice(["2001:4860:4860::8888", "2606:4700:4700::1111", "2620:fe::fe"])


def ip(r: random.Random) -> tuple[str, ...]:
    return (ipv4_value(r) if r.random() < 0.62 else ipv6_value(r), "IP_ADDRESS")


def rs(r: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(r.choice(alphabet) for _ in range(n))


def openai_key(r: random.Random) -> tuple[str, ...]:
    k = r.random()
    if k < 0.35:
        v = f"sk-{rs(r, 20)}T3BlbkFJ{rs(r, 20)}"
    elif k < 0.85:
        v = f"sk-proj-{rs(r, r.choice([48, 74, 156]), URLSAFE)}"
    else:
        v = f"sk-{r.choice(['svcacct', 'admin'])}-{rs(r, 64, URLSAFE)}"
    return (v, "OPENAI_KEY")


def anthropic_key(r: random.Random) -> tuple[str, ...]:
    return (
        f"sk-ant-{r.choice(['api03', 'api03', 'admin01'])}-{rs(r, 93, URLSAFE)}AA",
        "ANTHROPIC_KEY",
    )


def aws_access(r: random.Random) -> str:
    return r.choice(["AKIA", "AKIA", "ASIA"]) + rs(r, 16, string.ascii_uppercase + "234567")


def aws_secret(r: random.Random) -> str:
    while True:
        v = rs(r, 40, B64)
        if any(c.islower() for c in v) and any(c.isupper() for c in v):
            return v


def github_token(r: random.Random) -> tuple[str, ...]:
    if r.random() < 0.25:
        return (f"github_pat_{rs(r, 22)}_{rs(r, 59)}", "GITHUB_TOKEN")
    return (f"{r.choice(['ghp', 'ghp', 'gho', 'ghs', 'ghu'])}_{rs(r, 36)}", "GITHUB_TOKEN")


def slack_token(r: random.Random) -> tuple[str, ...]:
    p = r.choice(["xoxb", "xoxp", "xoxa", "xoxe"])
    return (f"{p}-{_d(r, 12)}-{_d(r, 13)}-{rs(r, 24)}", "SLACK_TOKEN")


def stripe_key(r: random.Random) -> tuple[str, ...]:
    p = r.choice(["sk_live_", "sk_live_", "rk_live_", "sk_test_"])
    return (p + rs(r, r.choice([24, 34, 99])), "STRIPE_KEY")


def google_key(r: random.Random) -> tuple[str, ...]:
    return ("AIza" + rs(r, 35, URLSAFE), "GOOGLE_API_KEY")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(r: random.Random) -> tuple[str, ...]:
    alg = r.choice(["HS256", "RS256", "ES256"])
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        header["kid"] = rs(r, 16)
    payload = {
        "sub": str(r.randint(10**5, 10**9)),
        "iat": r.randint(1_600_000_000, 1_750_000_000),
        "exp": r.randint(1_750_000_000, 1_800_000_000),
        "scope": r.choice(["read", "read write", "admin"]),
    }
    sig = rs(r, {"HS256": 43, "RS256": 342, "ES256": 86}[alg], URLSAFE)
    return (
        f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}.{sig}",
        "JWT",
    )


def pem_key(r: random.Random, *, escaped: bool = False) -> tuple[str, ...]:
    label = r.choice(
        [
            "RSA PRIVATE KEY",
            "PRIVATE KEY",
            "EC PRIVATE KEY",
            "OPENSSH PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
        ]
    )
    lines = [rs(r, 64, B64) for _ in range(r.randint(4, 20))] + [
        rs(r, r.randint(8, 60), B64) + "=="
    ]
    nl = "\\n" if escaped else "\n"
    v = f"-----BEGIN {label}-----{nl}" + nl.join(lines) + f"{nl}-----END {label}-----"
    return (v, "PRIVATE_KEY")


def bearer_value(r: random.Random) -> tuple[str, ...]:
    k = r.random()
    if k < 0.5:
        return (rs(r, r.choice([32, 40, 64]), ALNUM), "BEARER_TOKEN")
    if k < 0.8:
        return ("ya29." + rs(r, 120, URLSAFE), "BEARER_TOKEN")
    return (rs(r, 24, ALNUM) + "." + rs(r, 30, URLSAFE), "BEARER_TOKEN")


def url_credentials(r: random.Random) -> tuple[str, ...]:
    """A connection URL; the label covers ``user:password``."""
    user = r.choice(
        [
            "app",
            "admin",
            "root",
            "svc_orders",
            "etl",
            f"{r.choice(FIRST)}",
            "deploy",
            "postgres",
            "analytics_ro",
        ]
    )
    pw = r.choice(
        [
            rs(r, 16),
            rs(r, 12) + "!",
            "hunter" + _d(r, 2),
            rs(r, 8) + "%40" + rs(r, 6),
            "Tr0ub4dor&3",
            rs(r, 24, URLSAFE),
        ]
    )
    host = r.choice(
        [
            "db.internal",
            "localhost",
            f"{r.choice(COMPANIES)}-prod.cluster-{rs(r, 12).lower()}.eu-west-1.rds.amazonaws.com",
            "cache",
            "mq.svc",
            "cluster0.ab1cd.mongodb.net",
            "github.com",
        ]
    )
    scheme, tail = r.choice(
        [
            ("postgresql", ":5432/app"),
            ("postgres", "/orders"),
            ("mysql", ":3306/shop"),
            ("redis", ":6379/0"),
            ("amqp", ":5672//"),
            ("mongodb+srv", "/test?retryWrites=true"),
            ("https", "/org/repo.git"),
        ]
    )
    if scheme == "redis" and r.random() < 0.5:
        user = ""
    head = f"{scheme}://"
    cred = f"{user}:{pw}"
    v = f"{head}{cred}@{host}{tail}"
    return (v, "URL_CREDENTIALS", len(head), len(head) + len(cred))


# =================================================================================================
# hard negatives: must stay untouched
# =================================================================================================


def uuid_(r: random.Random) -> str:
    h = rs(r, 32, "0123456789abcdef")
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{r.choice('89ab')}{h[17:20]}-{h[20:]}"


def sha(r: random.Random, n: int = 40) -> str:
    return rs(r, n, "0123456789abcdef")


def hard_negative(r: random.Random) -> str:
    k = r.randrange(40)
    if k == 0:
        num, _ = card_number(r, valid=False)
        return fmt_card(num, r.choice([" ", "-", ""]))
    if k == 1:
        return f"Order #{_d(r, 3)}-{_d(r, 7)}-{_d(r, 7)}"
    if k == 2:
        return f"order {r.choice(['ORD', 'SO', 'PO'])}-2024{_d(r, 4)}-{_d(r, 5)}"
    if k == 3:
        return f"Invoice No. {r.choice(['INV-2024-', '2024/', 'F'])}{_d(r, 6)}"
    if k == 4:
        return r.choice(
            [
                f"tracking number 1Z{rs(r, 6, string.ascii_uppercase + string.digits)}{_d(r, 10)}",
                f"USPS 9400 1{_d(r, 3)} {_d(r, 4)} {_d(r, 4)} {_d(r, 4)} {_d(r, 2)}",
                f"FedEx tracking {_d(r, 12)}",
            ]
        )
    if k == 5:
        return f"timestamp={r.randint(1_500_000_000, 1_800_000_000)}"
    if k == 6:
        return f'"ts": {r.randint(1_500_000_000_000, 1_800_000_000_000)}'
    if k == 7:
        return r.choice(
            [
                "3.141592653589793",
                f"0.000{_d(r, 9)}",
                f"{_d(r, 5)}.{_d(r, 7)}",
                f"-122.{_d(r, 7)}, 37.{_d(r, 7)}",
                f"1.{_d(r, 15)}e-07",
            ]
        )
    if k == 8:
        return uuid_(r)
    if k == 9:
        return r.choice([f"commit {sha(r)}", f"at {sha(r, 7)}", f"sha256:{sha(r, 64)}"])
    if k == 10:
        return r.choice(
            [
                "git@github.com:org/repo.git",
                "git@gitlab.com:group/sub/project.git",
                "ssh://git@github.com/acme/infra.git",
                "git@bitbucket.org:team/app",
            ]
        )
    if k == 11:
        return r.choice(
            [
                "pkg@1.2.3",
                "@scope/pkg@^2.0.1",
                "lodash@4.17.21",
                "react-dom@18.2.0",
                "npm i @babel/core@7.24.0",
                "pip install torch==2.2.1",
                "python@3.11",
                "node@20.11.1",
            ]
        )
    if k == 12:
        return r.choice(
            [
                "v2.10.4-beta.1",
                "version 1.2.3",
                "Windows 10.0.19045.3930",
                "version 4.2.1.0",
                "build 20240315.3",
                "Chrome/120.0.0.0",
                "release 2024.03.15",
                "v10.0.0.1",
            ]
        )
    if k == 13:
        return r.choice(
            [
                "OID 1.2.840.113549.1.1.11",
                "2.16.840.1.101.3.4.2.1",
                "OID 2.5.4.3",
                "1.3.6.1.4.1.311.21.8",
            ]
        )
    if k == 14:
        return r.choice(
            [
                "ISBN 978-3-16-148410-0",
                "ISBN 0-306-40615-2",
                "ISBN-13: 9780306406157",
                "ISBN 978-0-13-468599-1",
            ]
        )
    if k == 15:
        return f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{rs(r, 200, B64)} deploy@ci-runner"
    if k == 16:
        body = "\n".join(rs(r, 64, B64) for _ in range(4))
        lab = r.choice(["PUBLIC KEY", "CERTIFICATE", "RSA PUBLIC KEY"])
        return f"-----BEGIN {lab}-----\n{body}\n-----END {lab}-----"
    if k == 17:
        return r.choice(
            [
                "sk-...",
                "sk-xxxx",
                "sk-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                "sk-your-api-key-here",
                "OPENAI_API_KEY=<your key>",
                "sk-proj-...",
                "sk-ant-...",
                "sk_test_XXXXXXXXXXXXXXXXXXXXXXXX",
            ]
        )
    if k == 18:
        return r.choice(
            [
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                "xoxb-your-token",
                "AIzaSy-your-google-api-key-goes-here12",
            ]
        )
    if k == 19:
        return r.choice(
            [
                "Authorization: Bearer <token>",
                "Authorization: Bearer $TOKEN",
                "-H 'Authorization: Bearer YOUR_ACCESS_TOKEN'",
                "Bearer ${API_TOKEN}",
                "the bearer authentication scheme",
            ]
        )
    if k == 20:
        return r.choice(
            [
                "postgres://user:password@localhost:5432/db",
                "mysql://root:<password>@127.0.0.1/app",
                "redis://:${REDIS_PASSWORD}@cache:6379",
                "postgresql://USER:PASS@HOST/DB",
            ]
        )
    if k == 21:
        a, b = r.randint(1000, 99999), r.randint(1000, 99999)
        return r.choice(
            [
                f"{a} * {b} = {a * b}",
                "2^31 - 1 = 2147483647",
                f"({a} + {b}) * 90 = {(a + b) * 90}",
                f"{a * b} / {b} = {a}",
                "1 + 2 + 3 + 4 + 5 + 6 + 7 = 28",
            ]
        )
    if k == 22:
        return r.choice(
            [
                "2024-03-15T10:30:00Z",
                "15.03.2024 10:30",
                "03/15/2024",
                f"2024-0{r.randint(1, 9)}-1{r.randint(0, 9)} 1{r.randint(0, 9)}:"
                f"{r.randint(10, 59)}:{r.randint(10, 59)}.{_d(r, 6)}",
            ]
        )
    if k == 23:
        return r.choice(
            ["$1,234,567.89", "€ 1 234 567,89", "¥123456789", "USD 12,500,000", "1 234 567 tokens"]
        )
    if k == 24:
        return r.choice(
            [
                "icon@2x.png",
                "logo@3x.jpg",
                "y = x@self.weight",
                "out = a@W.T",
                "@app.route('/v1/chat')",
                "@jane_doe",
                "user@localhost",
                "jane@laptop:~$ ls",
                "docker pull nginx@sha256:" + sha(r, 64),
            ]
        )
    if k == 25:
        return r.choice(
            [
                "std::vector<int>",
                "a[1::2]",
                "arr[::3]",
                "00:1a:2b:3c:4d:5e",
                "10:30:45",
                "Foo::Bar::baz()",
                "a::before",
                "x[10::100]",
            ]
        )
    if k == 26:
        return r.choice(["000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"])
    if k == 27:
        return iban_value(r, valid=False)
    if k == 28:
        return r.choice(
            [
                "ZIP 94105-1234",
                "port 8080",
                "PID 1234567",
                "HTTP/1.1 200 OK",
                "ISO 9001:2015",
                "RFC 7231",
                "0.0.0.0:8000",
                "127.0.0.1",
            ]
        )
    if k == 29:
        return r.choice(
            [
                f"account id {_d(r, 12)}",
                f"ref {_d(r, 4)} {_d(r, 4)} {_d(r, 4)}",
                f"customer {_d(r, 10)}",
                f"SKU {_d(r, 13)}",
                f"ticket #{_d(r, 8)}",
            ]
        )
    if k == 30:
        return f"matrix row: {' '.join(str(r.randint(0, 99)) for _ in range(12))}"
    if k == 31:
        return "pk_live_" + rs(r, 24)
    if k == 32:
        return f"arn:aws:iam::{_d(r, 12)}:role/deploy"
    if k == 33:
        return f"k8s cpu 250m memory {r.randint(128, 4096)}Mi replicas {r.randint(1, 9)}"
    if k == 34:
        return f"#{rs(r, 6, '0123456789abcdef')} rgba(12, 34, 56, 0.5)"
    if k == 35:
        return f"lat/long 48.{_d(r, 6)}, 2.{_d(r, 6)}"
    if k == 36:
        return "netmask 255.255.255.0 gateway 0.0.0.0"
    if k == 37:
        return f"doi:10.{_d(r, 4)}/{_d(r, 7)}"
    if k == 38:
        return r.choice(
            [
                f"{r.randint(10, 99)} {r.randint(100, 999)} {r.randint(100, 999)}",
                f"between {r.randint(1000, 9999)} and {r.randint(1000, 9999)}",
            ]
        )
    return "eyJhbGciOiJub25lIn0 (a truncated header only)"


# =================================================================================================
# filler: realistic PII-free text in several genres and languages
# =================================================================================================

EN = [
    "Can you summarize the attached document in three bullet points?",
    "The model returned an error when processing the request, so I retried with a lower "
    "temperature.",
    "Here is a refactored version of the function that avoids the extra allocation.",
    "The latency p95 went from 812 ms to 430 ms after enabling the cache.",
    "Please translate the following paragraph into French and keep the formatting.",
    "We processed 12,450 records in 3.2 seconds on a single core.",
    "According to the 2023 annual report, revenue grew 14% year over year.",
    "I think the bug is in the pagination logic: the offset is applied twice.",
    "Sure! Below is a Python script that reads the CSV and prints the totals per region.",
    "The test suite has 1,284 tests and takes about 41 seconds on CI.",
    "Step 3: run the migration, then restart the workers one at a time.",
    "The meeting is moved to Thursday at 10:30; the agenda is unchanged.",
    "Use a context manager so the file is closed even when an exception is raised.",
    "This approach is O(n log n) because of the sort; a heap would make it O(n log k).",
    "Our SLA promises 99.9% availability, which is about 43 minutes of downtime a month.",
    "The dataset has 3 columns and 48,213 rows, with 2.1% missing values.",
    "Set max_tokens to 512 and top_p to 0.9 for shorter, more focused answers.",
    "The second paragraph repeats the first one; consider merging them.",
]
DE = [
    "Bitte fassen Sie das Dokument in drei Sätzen zusammen.",
    "Die Lieferung kommt voraussichtlich am 15.03.2024 an.",
    "Der Fehler tritt nur auf, wenn mehr als 1.000 Einträge geladen werden.",
]
FR = [
    "Pouvez-vous résumer ce texte en trois points ?",
    "La réunion est reportée à jeudi à 10 h 30.",
    "Le modèle a traité 12 450 requêtes en 3,2 secondes.",
]
ES = [
    "¿Puedes resumir este documento en tres frases?",
    "El pedido llegará el 15 de marzo de 2024.",
    "La función devuelve un error cuando la lista está vacía.",
]
ZH = [
    "请帮我总结这份文档的主要内容。",
    "模型在2024年3月的测试中准确率达到了95.3%。",
    "这个函数在列表为空时会抛出异常，请修复。",
    "我们的系统每天处理大约12000个请求。",
]
JA = [
    "この文書を三つの要点にまとめてください。",
    "テストは2024年3月15日に実施されました。",
    "この関数はリストが空のときにエラーを返します。",
]
RU = ["Пожалуйста, кратко изложите этот документ.", "Тесты заняли 41 секунду на сервере CI."]
KO = ["이 문서를 세 문장으로 요약해 주세요.", "테스트는 2024년 3월 15일에 실행되었습니다."]
LANGS = {"en": EN, "de": DE, "fr": FR, "es": ES, "zh": ZH, "ja": JA, "ru": RU, "ko": KO}

CODE = [
    'def handler(event, context):\n    """Process a batch of 128 records."""\n    for i, rec in '
    'enumerate(event["Records"]):\n        body = json.loads(rec["body"])\n        total += '
    'float(body["amount"]) * 1.075\n    return {"statusCode": 200, "processed": i + 1}\n',
    "const res = await fetch(`${API}/v1/items?page=${page}&limit=50`);\nif (!res.ok) throw "
    "new Error(`HTTP ${res.status}`);\nconst items = await res.json();\n",
    "SELECT user_id, COUNT(*) AS n\nFROM events\nWHERE created_at >= '2024-01-01'\nGROUP BY "
    "user_id\nHAVING COUNT(*) > 10\nORDER BY n DESC\nLIMIT 100;\n",
    "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 3\n  template:\n    spec:\n"
    "      containers:\n        - name: api\n          image: registry.example.org/api:1.14.2\n"
    "          resources:\n            limits: {cpu: 500m, memory: 512Mi}\n",
    "for f in logs/*.gz; do\n  zcat \"$f\" | grep -c ERROR\ndone | awk '{s+=$1} END {print s}'\n",
    "fn parse(input: &str) -> Result<Vec<u32>, ParseIntError> {\n    input.split(',').map(|s| "
    "s.trim().parse::<u32>()).collect()\n}\n",
    "import numpy as np\nx = np.linspace(0, 1, 1000)\ny = np.sin(2 * np.pi * 5 * x) + 0.1 * "
    "np.random.randn(1000)\nprint(y[:10], y.mean(), y.std())\n",
    "#include <vector>\nint main() {\n  std::vector<int> v{1, 2, 3};\n  for (auto x : v) std::"
    "cout << x << std::endl;\n  return 0;\n}\n",
    "@dataclass(frozen=True)\nclass Settings:\n    timeout: float = 30.0\n    retries: int = 3\n"
    "    base_url: str = 'https://api.example.org/v2'\n",
]
TRACES = [
    'Traceback (most recent call last):\n  File "/usr/lib/python3.11/site-packages/httpx/'
    '_client.py", line 1015, in send\n    response = self._send_handling_auth(request)\n  '
    'File "/app/src/service/api.py", line 88, in call_model\n    raise RuntimeError(f"upstream '
    'returned {resp.status_code}")\nRuntimeError: upstream returned 503\n',
    'java.lang.NullPointerException: Cannot invoke "String.length()"\n\tat com.acme.orders.'
    "OrderService.validate(OrderService.java:142)\n\tat com.acme.orders.OrderController."
    "create(OrderController.java:57)\n\tat java.base/java.lang.Thread.run(Thread.java:1583)\n",
    "TypeError: Cannot read properties of undefined (reading 'map')\n    at renderList (webpack:"
    "///./src/components/List.tsx:23:18)\n    at App (http://localhost:3000/static/js/main."
    "chunk.js:1042:7)\n",
]
LOGS = [
    "2024-03-15 10:30:01.123 INFO  [worker-3] batch 8812 done in 412 ms (1,024 rows)\n",
    "2024-03-15T10:30:02.881Z WARN retrying request 3/5 after 429 (backoff 1.6 s)\n",
    '[15/Mar/2024:10:30:03 +0000] "GET /api/v1/health HTTP/1.1" 200 17 "-" "kube-probe/1.29"\n',
    "Mar 15 10:30:04 node-7 kernel: [812345.678901] eth0: link up, 1000 Mbps, full duplex\n",
    'level=info ts=2024-03-15T10:30:05.001Z caller=main.go:214 msg="compaction done" '
    "blocks=12 duration=3.41s\n",
]
JSONS = [
    '{"id": "chatcmpl-9abc", "object": "chat.completion", "created": 1712345678, "model": '
    '"gpt-4o-2024-08-06", "usage": {"prompt_tokens": 1523, "completion_tokens": 212}}\n',
    '{"items": [{"sku": "A-1042", "qty": 2, "price": 19.99}, {"sku": "B-7", "qty": 1, '
    '"price": 5.5}], "currency": "EUR", "total": 45.48}\n',
    '{"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Done."}], '
    '"stop_reason": "end_turn", "usage": {"input_tokens": 812, "output_tokens": 64}}\n',
]


def filler(r: random.Random, lang: str, genre: str) -> str:
    if genre == "code":
        return r.choice(CODE)
    if genre == "trace":
        return r.choice(TRACES)
    if genre == "log":
        return "".join(r.choice(LOGS) for _ in range(r.randint(1, 4)))
    if genre == "json":
        return r.choice(JSONS)
    sents = LANGS[lang]
    sep = "" if lang in ("zh", "ja") else " "
    return sep.join(r.choice(sents) for _ in range(r.randint(1, 3))) + "\n"


# =================================================================================================
# carriers: how values sit in text
# =================================================================================================

PII_GENS = [email, phone, credit_card, iban, ssn, ip]
SECRET_GENS = [openai_key, anthropic_key, github_token, slack_token, stripe_key, google_key, jwt]


def ctx_sentence(r: random.Random, b: B, lang: str) -> None:
    """One sentence with one or two values, in the language's own words, no spaces in CJK."""
    kind = r.choice(["email", "phone", "phone", "card", "iban", "ssn", "ip", "mixed", "secret"])
    name = full_name(r)
    if lang == "zh":
        if kind in ("email", "mixed"):
            b.t(r.choice(["请发邮件到", "联系人邮箱：", "我的邮箱是"])).v(email(r, form="plain"))
            b.t(r.choice(["，谢谢。", "。", "或者"]))
        if kind in ("phone", "mixed"):
            b.t(r.choice(["手机", "电话：", "请拨打", "联系电话"])).v(phone(r, bare_ok=True))
            b.t("。")
        if kind == "card":
            b.t("我的信用卡号是").v(credit_card(r)).t("，有效期到12/27。")
        if kind in ("iban", "ssn", "ip", "secret"):
            b.t("服务器地址是").v(ip(r)).t("，端口8080。")
        return
    if lang == "ja":
        if kind in ("email", "mixed", "card", "iban"):
            b.t("お問い合わせは").v(email(r, form="plain")).t("までご連絡ください。")
        if kind in ("phone", "mixed", "ssn", "ip", "secret"):
            b.t(r.choice(["電話番号は", "携帯："])).v(phone(r)).t("です。")
        return
    if lang == "ko":
        b.t("연락처는 ").v(phone(r)).t("입니다. 이메일: ").v(email(r, form="plain")).t("\n")
        return
    if lang == "ru":
        b.t("Мой телефон ").v(phone(r)).t(", почта ").v(email(r, form="plain")).t(".\n")
        return
    if lang == "de":
        b.t(f"Bitte überweisen Sie an {name}, IBAN ").v(iban(r)).t(
            r.choice([", Verwendungszweck Rechnung 2024-117.", ". Telefon: "])
        )
        if b.parts[-1].endswith("Telefon: "):
            b.v(phone(r)).t(".")
        b.t("\n")
        return
    if lang == "fr":
        b.t(f"Vous pouvez joindre {name} au ").v(phone(r)).t(" ou par courriel à ")
        b.v(email(r)).t(".\n")
        return
    if lang == "es":
        b.t("Mi teléfono es ").v(phone(r)).t(" y mi correo ").v(email(r)).t(".\n")
        return
    # English
    if kind == "email":
        b.t(
            r.choice(
                [
                    f"Please forward this to {name} <",
                    "Contact: ",
                    "reach out at ",
                    "Send the report to ",
                    "cc: ",
                    "mailto:",
                    "email=",
                ]
            )
        )
        b.v(email(r))
        b.t(r.choice([">", ".", " by Friday.", " when you can.", "\n", ", thanks!", " "]))
    elif kind == "phone":
        b.t(
            r.choice(
                [
                    f"{name} can be reached at ",
                    "Call me at ",
                    "Phone: ",
                    "tel: ",
                    "My mobile is ",
                    "WhatsApp ",
                    "Fax ",
                    f"{name}, ",
                    "Support line: ",
                    "ring the front desk on ",
                ]
            )
        )
        b.v(phone(r, bare_ok=True))
        b.t(r.choice([".", " after 5pm.", " (cell)", "\n", ", ext. 42", " or email us."]))
    elif kind == "card":
        b.t(
            r.choice(
                [
                    "My card number is ",
                    "card: ",
                    "Charge it to ",
                    "cc_number=",
                    "The customer paid with ",
                ]
            )
        )
        b.v(credit_card(r))
        b.t(r.choice([" exp 12/27 cvv 123.", ", expires 08/26.", "\n", " (Visa)."]))
    elif kind == "iban":
        b.t(r.choice(["Wire the refund to IBAN ", "IBAN: ", "account ", "Bank details: "]))
        b.v(iban(r))
        b.t(r.choice([" (BIC DEUTDEFF).", "\n", ", reference INV-2024-0042.", "."]))
    elif kind == "ssn":
        b.t(r.choice(["SSN: ", "Social Security number ", "ssn=", "Her SSN is "]))
        b.v(ssn(r))
        b.t(r.choice([".", "\n", " and DOB 1985-04-12."]))
    elif kind == "ip":
        b.t(
            r.choice(
                [
                    "The request came from ",
                    "client ",
                    "Connecting to ",
                    "host ",
                    "X-Forwarded-For: ",
                    "ssh ubuntu@",
                    "ping ",
                ]
            )
        )
        if r.random() < 0.2:
            v4 = ipv4_value(r)
            b.t("http://").v((v4, "IP_ADDRESS")).t(":8443/health refused")
        elif r.random() < 0.1:
            b.t("https://[").v((ipv6_value(r).split("%")[0], "IP_ADDRESS")).t("]:8443/ refused")
        else:
            b.v(ip(r))
        b.t(r.choice([" and timed out.", "\n", " port 22", " refused", "."]))
    elif kind == "mixed":
        b.t(f"{name}\n").v(email(r)).t("\n").v(phone(r)).t("\n")
    else:
        gen = r.choice(SECRET_GENS)
        b.t(
            r.choice(
                [
                    "I accidentally pasted my key: ",
                    "token = ",
                    "Use this key ",
                    "API_KEY=",
                    "here: ",
                ]
            )
        )
        b.v(gen(r)).t(r.choice(["\n", " - is that a problem?", ".", " "]))


def block_with_values(r: random.Random, b: B) -> None:
    """A structured block (JSON, .env, curl, code, CSV, log, trace) with values inside."""
    k = r.choice(
        [
            "json",
            "env",
            "curl",
            "python",
            "csv",
            "log",
            "aws",
            "pem",
            "conn",
            "trace",
            "vcard",
            "yaml",
            "http",
            "jwt",
            "markdown",
        ]
    )
    if k == "json":
        b.t('{"customer": {"name": "' + full_name(r) + '", "email": "').v(email(r, form="plain"))
        b.t('", "phone": "').v(phone(r, bare_ok=True)).t(
            '", "card_last4": "4242"},\n "billing": {"iban": "'
        ).v(iban(r))
        b.t('", "amount": 129.9, "created": 1712345678}}\n')
    elif k == "env":
        b.t("OPENAI_API_KEY=").v(openai_key(r)).t("\nDATABASE_URL=").v(url_credentials(r))
        b.t("\nLOG_LEVEL=info\nWORKERS=4\n")
        if r.random() < 0.5:
            b.t("ANTHROPIC_API_KEY=").v(anthropic_key(r)).t("\n")
        if r.random() < 0.5:
            b.t("STRIPE_SECRET_KEY=").v(stripe_key(r)).t("\n")
    elif k == "curl":
        b.t('curl -s https://api.example.org/v1/chat \\\n  -H "Authorization: Bearer ')
        v = bearer_value(r) if r.random() < 0.7 else r.choice([openai_key, jwt])(r)
        b.v(v).t(
            '" \\\n  -H "Content-Type: application/json" \\\n  -d \'{"model": "gpt-4o", '
            '"max_tokens": 256}\'\n'
        )
    elif k == "python":
        gen = r.choice(SECRET_GENS)
        b.t('import os\nclient = Client(\n    api_key="').v(gen(r)).t('",\n    timeout=30,\n)\n')
        if r.random() < 0.4:
            b.t('slack = WebClient(token="').v(slack_token(r)).t('")\n')
    elif k == "csv":
        b.t("name,email,phone,ssn\n")
        for _ in range(r.randint(1, 4)):
            b.t(full_name(r) + ",").v(email(r, form="plain")).t(",").v(phone(r)).t(",")
            b.v(ssn(r)).t("\n")
    elif k == "log":
        b.t("2024-03-15 10:31:07.412 INFO request from ").v(ip(r)).t(" user=")
        b.v(email(r, form="plain")).t(" status=200 duration=38ms\n")
        b.t("[15/Mar/2024:10:31:08 +0000] ").v(("" + ipv4_value(r), "IP_ADDRESS"))
        b.t(' "POST /v1/login HTTP/1.1" 401 0\n')
    elif k == "aws":
        ak = aws_access(r)
        form = r.choice(["ini", "env", "json"])
        if form == "ini":
            b.t("[default]\naws_access_key_id = ").v((ak, "AWS_ACCESS_KEY"))
            b.t("\naws_secret_access_key = ").v((aws_secret(r), "AWS_SECRET_KEY"))
            b.t("\nregion = eu-west-1\n")
        elif form == "env":
            b.t("export AWS_ACCESS_KEY_ID=").v((ak, "AWS_ACCESS_KEY"))
            b.t("\nexport AWS_SECRET_ACCESS_KEY=").v((aws_secret(r), "AWS_SECRET_KEY")).t("\n")
        else:
            b.t('{"AccessKeyId": "').v((ak, "AWS_ACCESS_KEY")).t('", "SecretAccessKey": "')
            b.v((aws_secret(r), "AWS_SECRET_KEY")).t('", "Expiration": "2024-03-15T12:00:00Z"}\n')
    elif k == "pem":
        escaped = r.random() < 0.35
        if escaped:
            b.t('{"type": "service_account", "project_id": "demo-123", "private_key": "')
            b.v(pem_key(r, escaped=True)).t('\\n", "client_id": "1122334455"}\n')
        else:
            b.t("Here is the key I use for the deploy box:\n").v(pem_key(r)).t("\n")
    elif k == "conn":
        b.t(r.choice(['engine = create_engine("', "DSN: ", "conn_str = '", "url: "]))
        b.v(url_credentials(r)).t(r.choice(['")\n', "\n", "'\n"]))
    elif k == "trace":
        b.t(
            'Traceback (most recent call last):\n  File "/app/billing.py", line 42, in charge\n'
            "    stripe.Charge.create(amount=1999, source=card)\nstripe.error.CardError: Your "
            "card was declined. card="
        ).v(credit_card(r)).t(" customer=")
        b.v(email(r, form="plain")).t("\n")
    elif k == "vcard":
        b.t(f"BEGIN:VCARD\nFN:{full_name(r)}\nTEL;TYPE=CELL:").v(phone(r)).t("\nEMAIL:")
        b.v(email(r, form="plain")).t("\nEND:VCARD\n")
    elif k == "yaml":
        b.t("smtp:\n  host: smtp.").t(r.choice(COMPANIES)).t(".com\n  user: ")
        b.v(email(r, form="plain")).t("\n  password_env: SMTP_PASSWORD\ngithub:\n  token: ")
        b.v(github_token(r)).t("\n")
    elif k == "http":
        b.t("GET /v1/me HTTP/1.1\nHost: api.example.org\nAuthorization: Bearer ")
        b.v(jwt(r) if r.random() < 0.5 else bearer_value(r)).t("\nX-Real-IP: ")
        b.v(ip(r)).t("\n\n")
    elif k == "jwt":
        b.t("The session cookie is ").v(jwt(r)).t("; it expires in an hour.\n")
    else:
        b.t("| name | email | phone |\n|---|---|---|\n")
        for _ in range(r.randint(1, 3)):
            b.t(f"| {full_name(r)} | ").v(email(r, form="plain")).t(" | ").v(phone(r)).t(" |\n")


# =================================================================================================
# samples
# =================================================================================================


def _target_len(r: random.Random) -> int:
    # log-uniform between 50 B and 8 KB
    return int(50 * (8000 / 50) ** r.random())


def _pad(r: random.Random, b: B, lang: str, target: int, *, negs: float) -> None:
    genres = ["prose", "prose", "prose", "code", "json", "log", "trace"]
    guard = 0
    while b.n < target and guard < 200:
        guard += 1
        g = r.choice(genres)
        flang = lang if g == "prose" else "en"
        b.gap(r).t(filler(r, flang, g))
        if r.random() < negs:
            b.gap(r).t(hard_negative(r) + (" " if r.random() < 0.5 else "\n"))


def sample(r: random.Random, kind: str) -> dict[str, Any]:
    b = B()
    lang = r.choices(list(LANGS), [0.55, 0.08, 0.07, 0.06, 0.1, 0.06, 0.04, 0.04])[0]
    target = _target_len(r)
    carrier = "prose"
    if kind == "pii":
        lead = r.random() < 0.5
        if lead:
            b.t(filler(r, lang, "prose"))
        n_vals = r.choices([1, 2, 3], [0.5, 0.3, 0.2])[0]
        for _ in range(n_vals):
            b.gap(r)
            if r.random() < 0.55:
                ctx_sentence(r, b, lang)
            else:
                carrier = "structured"
                block_with_values(r, b)
            if r.random() < 0.4:
                b.gap(r).t(hard_negative(r) + "\n")
        _pad(r, b, lang, target, negs=0.3)
    elif kind == "hardneg":
        carrier = "hardneg"
        for _ in range(r.randint(2, 6)):
            b.t(r.choice(["See ", "Note: ", "", "- ", "ref: ", "The value ", ""]))
            b.t(hard_negative(r))
            b.t(r.choice([".\n", " is fine.\n", "\n", "; ", " "]))
        _pad(r, b, lang, min(target, 1500), negs=0.5)
    else:
        carrier = "clean"
        _pad(r, b, lang, target, negs=0.15)
    text = b.text()
    if len(text.encode()) > 8192:  # keep every sample within 8 KB: cut at the last line break
        cut = text.rfind("\n", 0, 6000)
        if cut > 0 and all(s[1] <= cut for s in b.spans):
            text = text[: cut + 1]
    return {
        "text": text,
        "spans": [s for s in b.spans if s[1] <= len(text)],
        "kind": kind,
        "carrier": carrier,
        "lang": lang,
    }


def generate(n: int = 2400, seed: int = 20240315) -> list[dict[str, Any]]:
    """Return ``n`` labelled samples: 55% with PII, 30% clean, 15% hard negatives.

    Args:
        n: how many samples.
        seed: the random seed; the same seed gives the same corpus.
    """
    r = random.Random(seed)
    out = []
    for i in range(n):
        kind = r.choices(["pii", "clean", "hardneg"], [0.55, 0.30, 0.15])[0]
        s = sample(r, kind)
        s["id"] = i
        out.append(s)
    return out


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 2400
    seed = int(argv[2]) if len(argv) > 2 else 20240315
    out = Path(__file__).resolve().parent.parent / "out" / "corpus.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for s in generate(n, seed):
            fh.write(json.dumps(s, ensure_ascii=False) + "\n")
    print(f"wrote {n} samples to {out}")


if __name__ == "__main__":
    main(sys.argv)
