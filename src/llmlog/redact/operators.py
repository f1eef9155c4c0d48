"""What a detected value is replaced with: placeholder, pseudonym, mask, drop, or your function.

An operator is a callable ``op(value, type) -> str``. The built-in ones are named
by strings in ``Redactor(operators={"EMAIL": "pseudonym", ...})``:

``placeholder`` (the default)
    ``[EMAIL]``: the type in brackets.
``pseudonym``
    ``[EMAIL:7f3a9c]``: the type and the first six hex digits of a keyed
    HMAC-SHA256 of the normalised value (``Jane@Corp.com``, ``jane%40corp.com`` and
    ``jane [at] corp [dot] com`` give the same token). Tokens are stable across
    records, processes and restarts of one deployment, so "same user" joins keep
    working, and cannot be reversed or recomputed without the key. Six hex digits
    are meant for reading, not as unique ids: among 4,000 distinct values of one
    type expect about one collision.
``mask``
    keep a little, hide the rest: ``**** **** **** 4242``, ``j***@corp.com``,
    ``***-**-6789``, ``sk-p****1a2b``, ``192.168.*.*``.
``drop``
    remove the whole text (in a record: the whole string field) that contained
    the value, because even its surroundings are too sensitive to keep.

The pseudonym key is ``pseudonym_key`` when given (``LLMLOG_REDACT_KEY`` in the
pipeline); otherwise a random key is created on first use and kept in
``redact.key`` in llmlog's home (``$LLMLOG_HOME``, else ``~/.local/state/llmlog``),
mode 0600, so
every process of the deployment shares it. Nothing touches the disk until a
pseudonym (or a content hash) is actually computed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

__all__ = [
    "DROP",
    "OPERATOR_NAMES",
    "KeySource",
    "Operator",
    "key_path",
    "mask",
    "normalize",
    "placeholder",
]

_log = logging.getLogger(__name__)

Operator = Callable[[str, str], str]
"""A replacement function: ``op(value, type) -> replacement``."""

OPERATOR_NAMES: tuple[str, ...] = ("placeholder", "pseudonym", "mask", "drop")
PSEUDONYM_HEX = 6


def placeholder(value: str, type_: str) -> str:
    """Return ``[TYPE]``.

    Args:
        value: the detected value (unused).
        type_: its type, e.g. ``"EMAIL"``.
    """
    return f"[{type_}]"


def _drop(value: str, type_: str) -> str:
    return ""


DROP: Operator = _drop
"""The ``drop`` operator; the engine recognises it by identity."""


# -- normalisation for pseudonyms -----------------------------------------------------------------

_OBF_AT = re.compile(r"\s*[\[({<]\s*at\s*[\])}>]\s*", re.IGNORECASE)
_OBF_DOT = re.compile(r"\s*[\[({<]\s*dot\s*[\])}>]\s*", re.IGNORECASE)
_NON_DIGITS = re.compile(r"[^0-9]")


def normalize(value: str, type_: str) -> str:
    """Return the canonical form of ``value`` so that spellings of one value match.

    E-mail: decoded, de-obfuscated, lower case. Phone: digits only, without a
    ``00``/``1`` prefix. Card and SSN: digits. IBAN: upper case without spaces.
    IP: the canonical address. Anything else: unchanged.

    Args:
        value: the detected value.
        type_: its type.
    """
    if type_ == "EMAIL":
        v = unquote(value).replace("&#64;", "@").replace("\uff20", "@")
        v = _OBF_AT.sub("@", v)
        v = _OBF_DOT.sub(".", v)
        return v.strip().lower()
    if type_ == "PHONE":
        d = _NON_DIGITS.sub("", value)
        if d.startswith("00"):
            d = d[2:]
        if len(d) == 11 and d[0] == "1":
            d = d[1:]
        return d
    if type_ in ("CREDIT_CARD", "US_SSN"):
        return _NON_DIGITS.sub("", value)
    if type_ == "IBAN":
        return value.replace(" ", "").upper()
    if type_ == "IP_ADDRESS":
        try:
            return str(ipaddress.ip_address(value.split("%", 1)[0]))
        except ValueError:
            return value
    return value


# -- the key --------------------------------------------------------------------------------------


def key_path() -> Path:
    """Return where the generated pseudonym key lives: ``redact.key`` in llmlog's home.

    That is ``$LLMLOG_HOME``, else ``~/.local/state/llmlog`` (``llmlog._fs.home_dir``).
    A key created by an earlier release in ``~/.config/llmlog/redact.key`` is still used
    when llmlog's home has none, so existing pseudonyms keep their values.
    """
    from llmlog._fs import home_dir

    path = home_dir() / "redact.key"
    if not os.environ.get("LLMLOG_HOME") and not path.exists():
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        legacy = Path(base) / "llmlog" / "redact.key"
        if legacy.exists():
            return legacy
    return path


_file_keys: dict[str, bytes] = {}
_file_lock = threading.Lock()


def _load_or_create(path: Path) -> bytes:
    """Return the key stored at ``path``, creating it (0600) if it does not exist."""
    cache_key = str(path)
    with _file_lock:
        cached = _file_keys.get(cache_key)
        if cached is not None:
            return cached
        key: bytes | None = None
        try:
            for _attempt in range(2):
                try:
                    key = path.read_bytes().strip()
                    if len(key) >= 16:
                        break
                    raise OSError(f"key file {path} is shorter than 16 bytes")
                except FileNotFoundError:
                    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    try:
                        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    except FileExistsError:
                        continue  # another process won the race: read its key
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(os.urandom(32).hex().encode("ascii") + b"\n")
            else:
                key = None
        except OSError as exc:
            _log.warning(
                "llmlog: cannot use the pseudonym key file (%s); pseudonyms of this "
                "process will not match other processes'. Set LLMLOG_REDACT_KEY.",
                exc,
            )
            key = None
        if key is None:
            key = os.urandom(32)
        _file_keys[cache_key] = key
        return key


class KeySource:
    """The HMAC key for pseudonyms and content hashes, resolved on first use.

    Args:
        key: an explicit key; ``None`` means the deployment's key file.

    Thread-safe; the first call may create the key file, later calls are free.
    """

    __slots__ = ("_explicit", "_key")

    def __init__(self, key: bytes | str | None = None) -> None:
        if isinstance(key, str):
            key = key.encode("utf-8")
        if key is not None and not key:
            raise ValueError("pseudonym_key must not be empty")
        self._explicit = key
        self._key: bytes | None = key

    def get(self) -> bytes:
        """Return the key bytes, loading or creating the key file the first time."""
        k = self._key
        if k is None:
            k = self._key = _load_or_create(key_path())
        return k

    def digest(self, data: str) -> str:
        """Return the hex HMAC-SHA256 of ``data`` under this key."""
        return hmac.new(
            self.get(), data.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()


def make_pseudonym(keys: KeySource) -> Operator:
    """Return the ``pseudonym`` operator bound to ``keys``."""

    def pseudonym(value: str, type_: str) -> str:
        token = keys.digest(f"{type_}\x00{normalize(value, type_)}")[:PSEUDONYM_HEX]
        return f"[{type_}:{token}]"

    return pseudonym


# -- partial masks --------------------------------------------------------------------------------

_MASK_DIGITS_TYPES = frozenset(["CREDIT_CARD", "PHONE", "US_SSN", "IBAN"])


def _mask_keep_last(value: str, keep: int) -> str:
    total = sum(c.isalnum() for c in value)
    out = []
    seen = 0
    for c in value:
        if c.isalnum():
            seen += 1
            out.append(c if seen > total - keep else "*")
        else:
            out.append(c)
    return "".join(out)


def mask(value: str, type_: str) -> str:
    """Return ``value`` partly hidden, keeping what people use to recognise it.

    Cards, phones, SSNs and IBANs keep their last four digits and their
    separators; e-mail keeps the first letter and the domain; IPv4 the first two
    octets and IPv6 the first group; URL credentials their user name; keys and
    tokens their first and last four characters; private keys and anything
    short are hidden entirely.

    Args:
        value: the detected value.
        type_: its type.
    """
    if type_ in _MASK_DIGITS_TYPES:
        return _mask_keep_last(value, 4)
    if type_ == "EMAIL":
        at = value.rfind("@")
        if at > 0:
            return value[0] + "***" + value[at:]
        return "***"
    if type_ == "IP_ADDRESS":
        if "." in value and ":" not in value:
            a, b, *_ = value.split(".")
            return f"{a}.{b}.*.*"
        return value.split(":", 1)[0] + ":****"
    if type_ == "PRIVATE_KEY":
        return "[PRIVATE_KEY]"
    if type_ == "URL_CREDENTIALS":
        return value.split(":", 1)[0] + ":****"
    if len(value) >= 16:
        return value[:4] + "****" + value[-4:]
    return "*" * len(value)
