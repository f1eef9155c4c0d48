"""A labelled corpus llmlog did not write: presidio-evaluator's templates, Faker's values.

Microsoft's presidio-evaluator (MIT) ships ``templates.txt``: 209 sentences of the kind
people send to assistants and support desks, with placeholders such as
``{{credit_card_number}}``, ``{{person}}``, ``{{email}}``. Its own generator fills them
with Faker; so does this one. Nothing of it is copied into this repository: the wheel is
downloaded from PyPI into a cache folder on first use (``pip download --no-deps``) and
the templates are read from it; the values come from the ``faker`` package (the
``bench`` extra), seeded, in several locales.

Each row is ``{"text", "spans": [(start, end, TYPE)], "kind"}``: ``TYPE`` is one of
llmlog's types (``EMAIL``, ``PHONE``, ``CREDIT_CARD``, ``IBAN``, ``US_SSN``,
``IP_ADDRESS``), ``PERSON`` for names, or ``OTHER`` for the remaining personal data of the
templates (addresses, cities, dates, organisations...), which llmlog does not detect and
which is not scored, but whose characters do not count as false alarms either.
``kind`` is ``pii`` (at least one scored value), ``clean`` (no placeholder at all) or
``other``.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

__all__ = ["WHEEL", "build", "templates"]

WHEEL = "presidio-evaluator==0.3.2"
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")

_TYPES = {
    "email": "EMAIL",
    "phone_number": "PHONE",
    "credit_card_number": "CREDIT_CARD",
    "iban": "IBAN",
    "ssn": "US_SSN",
    "ip_address": "IP_ADDRESS",
    **dict.fromkeys(
        [
            "person",
            "name",
            "first_name",
            "last_name",
            "name_male",
            "name_female",
            "first_name_male",
            "first_name_female",
            "first_name_nonbinary",
            "last_name_male",
            "last_name_female",
        ],
        "PERSON",
    ),
}
_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "en_CA", "en_AU"]


def _cache() -> Path:
    root = os.environ.get("LLMLOG_BENCH_CACHE") or Path.home() / ".cache" / "llmlog-bench"
    return Path(root)


def templates() -> list[str]:
    """The templates, read from the presidio-evaluator wheel (downloaded once)."""
    folder = _cache() / "presidio-evaluator"
    wheels = sorted(folder.glob("presidio_evaluator-*.whl"))
    if not wheels:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(folder), WHEEL],
            check=True,
        )
        wheels = sorted(folder.glob("presidio_evaluator-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as z:
        raw = z.read("presidio_evaluator/data_generator/raw_data/templates.txt")
    text = raw.decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _value(fake: Any, name: str) -> str:
    special = {
        "person": fake.name,
        "name": fake.name,
        "ip_address": fake.ipv4,
        "organization": fake.company,
        "nationality": lambda: fake.country(),
        "nation_woman": lambda: fake.country(),
        "nation_plural": lambda: fake.country(),
        "us_driver_license": lambda: fake.bothify("?#######").upper(),
        "address": lambda: fake.address().replace("\n", ", "),
        "first_name_nonbinary": fake.first_name,
        "date_time": lambda: str(fake.date_time()),
        "date_of_birth": lambda: str(fake.date_of_birth()),
        "ssn": lambda: fake.ssn() if fake.locales[0] == "en_US" else fake.bothify("###-##-####"),
    }
    fn = special.get(name) or getattr(fake, name, None)
    return str(fn()) if callable(fn) else fake.word()


def build(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` rows from random templates, filled with Faker values (seeded)."""
    from faker import Faker

    fakers = {loc: Faker(loc) for loc in _LOCALES}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed + i)
    r = random.Random(seed)
    tpl = templates()
    rows = []
    for _ in range(n):
        template = r.choice(tpl)
        fake = fakers["en_US"] if r.random() < 0.5 else fakers[r.choice(_LOCALES)]
        out: list[str] = []
        spans: list[tuple[int, int, str]] = []
        pos = 0
        at = 0
        for m in _PLACEHOLDER.finditer(template):
            out.append(template[at : m.start()])
            pos += m.start() - at
            value = _value(fake, m.group(1))
            out.append(value)
            spans.append((pos, pos + len(value), _TYPES.get(m.group(1), "OTHER")))
            pos += len(value)
            at = m.end()
        out.append(template[at:])
        scored = any(t != "OTHER" for _, _, t in spans)
        kind = "pii" if scored else "clean" if not spans else "other"
        rows.append({"text": "".join(out), "spans": spans, "kind": kind})
    return rows
