"""Credentials beyond the big providers: token families, credential assignments, secrets in YAML.

Two types, each on by default:

``API_KEY``
    A token whose format is known by its prefix (the families that widely used
    secret scanners cover; formats read from the providers' documentation):
    GitLab (``glpat-``, ``gldt-``, ``glrt-``, ``glcbt-``, ``glptt-``, ``glft-``,
    ``glimt-``, ``glagent-``, ``gloas-``), Hugging Face (``hf_``, ``api_org_``),
    npm (``npm_``), SendGrid (``SG.x.y``), PyPI (``pypi-AgEIcHlwaS5vcmc``), Shopify
    (``shpat_``, ``shpca_``, ``shppa_``, ``shpss_``), Twilio (``SK`` + 32 hex),
    Mailgun (``key-`` + 32 hex), Mailchimp (32 hex + ``-us12``), DigitalOcean
    (``dop_v1_``, ``doo_v1_``, ``dor_v1_``), Databricks (``dapi``), Doppler
    (``dp.pt.``, ``dp.st.``, ...), Linear (``lin_api_``), Notion (``ntn_``,
    ``secret_``), Postman (``PMAK-``), New Relic (``NRAK-``, ``NRJS-``...), Sentry
    (``sntrys_``, ``sntryu_``), Grafana (``glsa_``, ``glc_``), HashiCorp Vault
    (``hvs.``, ``hvb.``), age (``AGE-SECRET-KEY-1``), Telegram bot tokens, Square
    (``sq0atp-``, ``sq0csp-``, ``EAAA``), Mapbox (``sk.eyJ``), Dropbox (``sl.``),
    Replicate (``r8_``), Groq (``gsk_``), Perplexity (``pplx-``), xAI (``xai-``),
    Atlassian (``ATATT``), Heroku (``HRKU-``), Google OAuth client secrets
    (``GOCSPX-``), Azure storage account keys (``AccountKey=``), Slack and Discord
    webhook URLs. Every token must also look generated (not ``glpat-xxxxxxxx``), unless
    it carries a checksum that holds (npm's CRC32, as GitHub's).
``CREDENTIAL``
    A value given to a credential by name: ``password: ...``, ``api_key=...``,
    ``"client_secret": "..."``, ``x-api-key: ...``, ``Authorization: Basic ...`` (when
    the base64 holds ``user:password``), and the values of a Kubernetes ``Secret``'s
    ``data:`` / ``stringData:`` block. The low-false-positive rule: a password-like
    name takes any value that is not a placeholder, a type, a variable or a call
    (``password: str``, ``${DB_PASSWORD}``, ``get_password()``, ``"****"`` stay); a
    key-, token- or secret-like name takes only a value that looks generated.

Like every detector, each one is gated by a cheap literal search and linear in its
input.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection
from typing import Final

from llmlog.redact.validators import base62_crc32_ok, looks_random
from llmlog.redact.validators import left_ok as _left_ok

__all__ = ["CREDENTIAL_TAGS", "CREDENTIAL_TYPES", "find_credentials", "triggers"]

CREDENTIAL_TYPES: tuple[str, ...] = ("API_KEY", "CREDENTIAL")

Finding = tuple[int, int, str]

# -- token families ------------------------------------------------------------------------------

# (prefix, body pattern, shortest random body): the prefix ends with the trigger character
# ("-", "_" or "."), so one search for the trigger and a look behind finds every family.
_FAMILIES: tuple[tuple[str, str, int], ...] = (
    ("glpat-", r"[A-Za-z0-9_\-]{20,}", 20),
    ("gldt-", r"[A-Za-z0-9_\-]{20,}", 20),
    ("glrt-", r"[A-Za-z0-9_\-]{20,}", 20),
    ("glcbt-", r"[A-Za-z0-9_\-]{20,}", 20),
    ("glptt-", r"[A-Za-z0-9_\-]{20,}", 20),
    ("glft-", r"[A-Za-z0-9_\-]{20,}", 20),
    ("glimt-", r"[A-Za-z0-9_\-]{25,}", 20),
    ("glagent-", r"[A-Za-z0-9_\-]{50,}", 20),
    ("gloas-", r"[A-Za-z0-9_\-]{64}", 20),
    ("hf_", r"[A-Za-z]{34}", 20),
    ("api_org_", r"[A-Za-z]{34}", 20),
    ("npm_", r"[A-Za-z0-9]{36}", 20),
    ("SG.", r"[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}", 20),
    ("pypi-", r"AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}", 20),
    ("shpat_", r"[a-fA-F0-9]{32}", 16),
    ("shpca_", r"[a-fA-F0-9]{32}", 16),
    ("shppa_", r"[a-fA-F0-9]{32}", 16),
    ("shpss_", r"[a-fA-F0-9]{32}", 16),
    ("key-", r"[0-9a-f]{32}", 16),
    ("dop_v1_", r"[a-f0-9]{64}", 16),
    ("doo_v1_", r"[a-f0-9]{64}", 16),
    ("dor_v1_", r"[a-f0-9]{64}", 16),
    ("dp.pt.", r"[A-Za-z0-9]{43}", 20),
    ("dp.st.", r"(?:[a-z0-9\-_]{2,35}\.)?[A-Za-z0-9]{40,44}", 20),
    ("dp.sa.", r"[A-Za-z0-9]{40,44}", 20),
    ("dp.ct.", r"[A-Za-z0-9]{40,44}", 20),
    ("dp.scim.", r"[A-Za-z0-9]{40,44}", 20),
    ("dp.audit.", r"[A-Za-z0-9]{40,44}", 20),
    ("lin_api_", r"[A-Za-z0-9]{40}", 20),
    ("ntn_", r"[A-Za-z0-9]{40,50}", 20),
    ("secret_", r"[A-Za-z0-9]{43}", 20),
    ("PMAK-", r"[a-f0-9]{24}-[a-f0-9]{34}", 20),
    ("NRAK-", r"[A-Z0-9]{27}", 16),
    ("NRJS-", r"[a-f0-9]{19}", 12),
    ("NRII-", r"[A-Za-z0-9_\-]{32}", 16),
    ("sntrys_", r"eyJ[A-Za-z0-9+/=_\-]{60,}", 20),
    ("sntryu_", r"[a-f0-9]{64}", 20),
    ("glsa_", r"[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}", 20),
    ("glc_", r"eyJ[A-Za-z0-9+/=_\-]{40,}", 20),
    ("hvs.", r"[A-Za-z0-9_\-]{90,}", 20),
    ("hvb.", r"[A-Za-z0-9_\-]{90,}", 20),
    ("AGE-SECRET-KEY-", r"1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", 20),
    ("sq0atp-", r"[A-Za-z0-9_\-]{22}", 16),
    ("sq0csp-", r"[A-Za-z0-9_\-]{43}", 20),
    ("sk.", r"eyJ[A-Za-z0-9_\-]{50,}\.[A-Za-z0-9_\-]{20,}", 20),
    ("sl.", r"[A-Za-z0-9_\-=]{130,}", 20),
    ("r8_", r"[A-Za-z0-9]{37}", 20),
    ("gsk_", r"[A-Za-z0-9]{52}", 20),
    ("pplx-", r"[A-Za-z0-9]{48}", 20),
    ("xai-", r"[A-Za-z0-9]{60,100}", 20),
    ("HRKU-", r"[A-Za-z0-9_\-]{30,}", 20),
    ("GOCSPX-", r"[A-Za-z0-9_\-]{28}", 16),
)
_BY_PREFIX: Final = {p: (re.compile(body), n) for p, body, n in _FAMILIES}
_TRIGGERS: Final = {c: tuple(p for p in _BY_PREFIX if p[-1] == c) for c in "-_."}
# one gate per trigger character: a pattern that starts with a literal is searched with a
# fast single-character scan, and only at a trigger are the prefixes looked behind
_GATES: Final = {
    c: re.compile(
        re.escape(c)
        # the last character before the trigger first: one class test rejects most hyphens,
        # underscores and dots of ordinary text before any prefix is looked at
        + "(?<=["
        + re.escape(
            "".join(
                sorted({p[-2] for p in prefixes} | ({"0123456789abcdef"} if c == "-" else set()))
            )
        )
        + "]"
        + re.escape(c)
        + ")(?:"
        + "|".join(f"(?<={re.escape(p)})" for p in sorted(prefixes, key=len, reverse=True))
        + (r"|(?<=[0-9a-f]{32}-)(?=us[0-9])" if c == "-" else "")
        + ")"
    )
    for c, prefixes in _TRIGGERS.items()
}
_END: Final = re.compile(r"(?![A-Za-z0-9_\-])")
_MAILCHIMP: Final = re.compile(r"us[0-9]{1,2}(?![A-Za-z0-9])")
# families without a trigger character, each behind its own literal search
_TWILIO: Final = re.compile(r"SK[0-9a-fA-F]{32}(?![A-Za-z0-9])")
_DATABRICKS: Final = re.compile(r"dapi[a-f0-9]{32}(?:-[0-9])?(?![A-Za-z0-9])")
_ATLASSIAN: Final = re.compile(r"ATATT3[A-Za-z0-9_\-=]{186}")
_SQUARE_EAAA: Final = re.compile(r"EAAA[A-Za-z0-9_\-]{60}(?![A-Za-z0-9_\-])")
_AZURE_KEY: Final = re.compile(r"AccountKey=(?P<v>[A-Za-z0-9+/]{86}==)")
_TELEGRAM: Final = re.compile(r"(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_\-]{33}(?![A-Za-z0-9_\-])")
_WEBHOOK: Final = re.compile(
    r"https://(?:hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9+/]{40,}"
    r"|hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}"
    r"|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,})"
)


def _families(text: str, out: list[Finding]) -> None:
    for c, gate in _GATES.items():
        if c in text:
            for g in gate.finditer(text):
                _family_at(text, g.start(), out)


def _family_at(text: str, t: int, out: list[Finding]) -> None:
    """The token whose prefix ends with the trigger character at ``t``, if any."""
    mc = _MAILCHIMP.match(text, t + 1) if text[t] == "-" else None
    if mc is not None:
        s = t - 32
        if _left_ok(text, s) and looks_random(text[s:t], min_len=16):
            out.append((s, mc.end(), "API_KEY"))
        return
    for prefix in _TRIGGERS[text[t]]:
        s = t + 1 - len(prefix)
        if s < 0 or not text.startswith(prefix, s) or not _left_ok(text, s):
            continue
        body_rx, shortest = _BY_PREFIX[prefix]
        m = body_rx.match(text, t + 1)
        if m is None or (_END.match(text, m.end()) is None and prefix[-1] != "."):
            continue
        body = m.group()
        if (prefix == "npm_" and base62_crc32_ok(body)) or looks_random(
            body.replace("-", "").replace("_", ""), min_len=shortest
        ):
            out.append((s, m.end(), "API_KEY"))
        return


def _others(text: str, out: list[Finding]) -> None:
    for word, rx in (
        ("SK", _TWILIO),
        ("dapi", _DATABRICKS),
        ("ATATT3", _ATLASSIAN),
        ("EAAA", _SQUARE_EAAA),
    ):
        if word in text:
            for m in rx.finditer(text):
                if _left_ok(text, m.start()) and looks_random(m.group()[len(word) :], min_len=16):
                    out.append((m.start(), m.end(), "API_KEY"))
    if "AccountKey=" in text:
        for m in _AZURE_KEY.finditer(text):
            out.append((m.start("v"), m.end("v"), "API_KEY"))
    if ":AA" in text:
        for m in _TELEGRAM.finditer(text):
            out.append((m.start(), m.end(), "API_KEY"))
    if "hooks" in text:
        for m in _WEBHOOK.finditer(text):
            out.append((m.start(), m.end(), "API_KEY"))


# -- credential assignments ----------------------------------------------------------------------

# A credential name (with any prefix or suffix of name characters), optional quotes, a
# separator, optional quotes, the value. Matched at each occurrence of a name word.
_ASSIGN: Final = re.compile(
    r"(?:[_.\-][A-Za-z0-9_.\-]{0,30})?[\"']?[ \t]*(?:=>|:=|[:=])[ \t]*"
    r"(?P<q>[\"'`]?)(?P<v>[^\s\"'`,;&<>(){}\[\]]{1,256})"
)
# Anchor words searched in the lower-cased text (few, so few passes), and what must
# complete them into a credential name: ``pass`` + ``word``/``wd``/``phrase``, ``key``
# after ``api``/``access``/``private``/``auth``/``secret``/``x-api``... A name glued to a
# longer word ("passenger", "tokenizer", "secretary", "monkey") is not one.
_ANCHORS: Final = ("pass", "pwd", "secret", "token", "key", "credential")
_PASS_TAIL: Final = re.compile(r"word|wd|phrase")
_KEY_HEADS: Final = (
    "api",
    "api_",
    "api-",
    "access_",
    "access-",
    "accesskey",
    "private_",
    "private-",
    "auth_",
    "auth-",
    "secret_",
    "secret-",
    "client_",
    "client-",
    "master_",
    "signing_",
    "encryption_",
)
_PASSWORD_LIKE: Final = frozenset({"password"})
_NOT_VALUES: Final = frozenset(
    [
        "str",
        "string",
        "int",
        "integer",
        "bool",
        "boolean",
        "none",
        "null",
        "nil",
        "undefined",
        "true",
        "false",
        "required",
        "optional",
        "any",
        "object",
        "text",
        "varchar",
        "char",
        "bytes",
        "secret",
        "password",
        "passwd",
        "token",
        "key",
        "value",
        "values",
        "hidden",
        "redacted",
        "removed",
        "masked",
        "empty",
        "changeme",
        "example",
        "sample",
        "dummy",
        "test",
        "placeholder",
        "your",
        "yours",
        "env",
        "environ",
        "process",
        "config",
        "settings",
        "input",
        "prompt",
        "getpass",
        "default",
    ]
)
_PLACEHOLDER_STARTS: Final = ("your", "my_", "<", "$", "%", "{", "*", "xxx")
_PROSE: Final = re.compile(r" [A-Za-z]")
_BASIC: Final = re.compile(r"(?i:basic)[ \t]+(?P<v>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])")


def _value_ok(name: str, value: str, quoted: bool) -> bool:
    v = value.strip(".")
    low = v.lower()
    if len(v) < 4 or low in _NOT_VALUES or low.startswith(_PLACEHOLDER_STARTS):
        return False
    if set(v) <= set("*x.•#-_"):
        return False
    if v.isupper() and "_" in v:  # DB_PASSWORD: an environment variable's name
        return False
    if not quoted and "." in v and all(part.isidentifier() for part in v.split(".")):
        return False  # settings.password, os.environ: a reference, not a value
    if name in _PASSWORD_LIKE:
        # anything but a variable name (password = user_password)
        return quoted or not (v.isidentifier() and v.islower() and "_" in v)
    return looks_random(v, min_len=12)


def _name_at(low: str, i: int, word: str) -> tuple[str, int] | None:
    """The credential name an anchor word at ``i`` belongs to: (kind, end of the word)."""
    j = i + len(word)
    if word == "pass":
        m = _PASS_TAIL.match(low, j)
        if m is None:
            return None
        j = m.end()
        kind = "password"
    elif word == "pwd":
        kind = "password"
    elif word == "key":
        if not low[max(0, i - 11) : i].endswith(_KEY_HEADS):
            return None
        kind = "key"
    else:
        kind = word
        if i > 0 and low[i - 1].isalpha() and word != "credential":
            return None  # glued to a word before it: "mytoken", "topsecret"
    if j < len(low) and low[j] == "s":
        j += 1  # plural: credentials, tokens
    if j < len(low) and low[j].isalpha():
        return None  # glued to a longer word: passwordless, tokenizer, secretary, keyboard
    return kind, j


def _assignments(
    text: str, low: str, out: list[Finding], anchors: Collection[str] = _ANCHORS
) -> None:
    seen: set[int] = set()
    for word in anchors:
        i = low.find(word)
        while i >= 0:
            named = _name_at(low, i, word)
            if named is not None:
                kind, j = named
                m = _ASSIGN.match(text, j)
                if m is not None and m.start("v") not in seen:
                    quoted = bool(m.group("q"))
                    # "your password: click the link below" is a sentence, not an assignment
                    prose = not quoted and m.group("v").isalpha() and _PROSE.match(text, m.end())
                    if not prose and _value_ok(kind, m.group("v"), quoted):
                        seen.add(m.start("v"))
                        out.append((m.start("v"), m.end("v"), "CREDENTIAL"))
            i = low.find(word, i + len(word))


def _basic_auth(text: str, out: list[Finding]) -> None:
    for m in _BASIC.finditer(text):
        v = m.group("v")
        try:
            raw = base64.b64decode(v + "=" * (-len(v) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        user, sep, pw = raw.partition(b":")
        if sep and pw and user and raw.isascii() and raw.decode().isprintable():
            out.append((m.start("v"), m.end("v"), "CREDENTIAL"))


_K8S_KIND: Final = re.compile(r"kind:[ \t]*[\"']?Secret[\"']?[ \t]*$", re.MULTILINE)
_K8S_DATA: Final = re.compile(r"^(?P<ind>[ \t]*)(?:data|stringData):[ \t]*$", re.MULTILINE)
_K8S_ITEM: Final = re.compile(
    r"(?P<ind>[ \t]+)[A-Za-z0-9_.\-]+:[ \t]*(?P<q>[\"']?)(?P<v>[^\s\"'#]+)"
)


def _k8s_secret(text: str, out: list[Finding]) -> None:
    if _K8S_KIND.search(text) is None:
        return
    for block in _K8S_DATA.finditer(text):
        base = len(block.group("ind"))
        pos = block.end() + 1
        while pos < len(text):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            line = text[pos:end]
            if line.strip():
                m = _K8S_ITEM.match(text, pos, end)
                if m is None or len(m.group("ind")) <= base:
                    break
                out.append((m.start("v"), m.end("v"), "CREDENTIAL"))
            pos = end + 1


# -- gates -------------------------------------------------------------------------------------

# Which sub-detectors a text needs, as tags: "family", "other", "basic", "k8s", and the
# credential-name anchor words that occur ("pass", "token"...; "*" for all of them). The
# hyperscan prefilter (llmlog.redact.prefilter) compiles these triggers with the other
# detectors' and passes the tags that fired; without it, a few literal searches decide.
_OTHER_WORDS: Final = ("SK", "dapi", "ATATT3", "EAAA", "AccountKey=", ":AA", "hooks")


# For the prefilter, each gate is as close to what its detector needs as a regex without
# look-arounds gets: a credential name is only worth a look with a separator and a value
# long enough to pass _value_ok after it (four characters for a password, twelve for the
# rest, which must look generated), so "input_tokens": 812 and api_key=None pass by.
_SEPARATOR: Final = rb"s?(?:[_.\-][A-Za-z0-9_.\-]{0,30})?[\"']?[ \t]*[:=][=>]?[ \t]*[\"'`]?"
_VALUE_BYTE: Final = rb"[^\s\"'`,;&<>(){}\[\]]"
_ANCHOR_GATES: Final = {
    "pass": rb"pass(?:word|wd|phrase)" + _SEPARATOR + _VALUE_BYTE + rb"{4}",
    "pwd": rb"pwd" + _SEPARATOR + _VALUE_BYTE + rb"{4}",
    "secret": rb"secret" + _SEPARATOR + _VALUE_BYTE + rb"{12}",
    "token": rb"token" + _SEPARATOR + _VALUE_BYTE + rb"{12}",
    "key": rb"key" + _SEPARATOR + _VALUE_BYTE + rb"{12}",
    "credential": rb"credential" + _SEPARATOR + _VALUE_BYTE + rb"{12}",
}
_OTHER_GATES: Final = (
    rb"SK[0-9a-fA-F]{32}",
    rb"dapi[a-f0-9]{32}",
    rb"ATATT3",
    rb"EAAA[A-Za-z0-9_\-]{60}",
    rb"AccountKey=",
    rb"[0-9]:AA",
    rb"hooks",
)


def triggers() -> list[tuple[bytes, str, bool]]:
    """(byte regex, tag, case-insensitive) for every trigger of these detectors.

    Each regex matches wherever its detector can find something (a superset), so a text
    it does not match needs no look from that detector.
    """
    out = [(re.escape(p).encode(), "family", False) for p in _BY_PREFIX]
    out.append((rb"[0-9a-f]{32}-us[0-9]", "family", False))  # Mailchimp's data-centre suffix
    out += [(rx, "other", False) for rx in _OTHER_GATES]
    out += [(rx, w, True) for w, rx in _ANCHOR_GATES.items()]
    out.append((rb"basic[ \t]+[A-Za-z0-9+/]{8}", "basic", True))
    out.append((b"Secret", "k8s", False))
    return out


CREDENTIAL_TAGS: Final = frozenset(tag for _, tag, _ in triggers())
"""The prefilter's tags :func:`find_credentials` acts on."""


def _python_gates(text: str) -> set[str]:
    found = {"family", "*"}  # the family gates and the anchor finds are searches themselves
    if any(w in text for w in _OTHER_WORDS):
        found.add("other")
    if "asic" in text or "ASIC" in text:
        found.add("basic")
    if "Secret" in text:
        found.add("k8s")
    return found


def find_credentials(
    text: str, out: list[Finding], on: Collection[str], tags: Collection[str] | None = None
) -> None:
    """Find prefixed tokens (``API_KEY``) and named credential values (``CREDENTIAL``).

    Args:
        text: the text to scan.
        out: findings are appended here.
        on: the enabled types.
        tags: the gates that fired in the prefilter's scan (None: check them here).
    """
    needed = _python_gates(text) if tags is None else tags
    if "API_KEY" in on:
        if "family" in needed:
            _families(text, out)
        if "other" in needed:
            _others(text, out)
    if "CREDENTIAL" in on:
        if "=" in text or ":" in text:
            words = _ANCHORS if "*" in needed else [w for w in _ANCHORS if w in needed]
            if words:
                _assignments(text, text.lower(), out, words)
        if "basic" in needed:
            _basic_auth(text, out)
        if "k8s" in needed:
            _k8s_secret(text, out)
