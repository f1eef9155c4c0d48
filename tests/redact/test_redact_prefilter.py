"""The hyperscan prefilter only skips detectors that would have found nothing.

The same texts are redacted with the prefilter (one hyperscan scan decides which
detectors run) and without it (each detector checks its own gates): the findings must
be identical, on llmlog's generated corpus (PII of every type, hard negatives, PII-free
text in many genres) and on hand-picked edge cases.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from llmlog.redact import BUILTIN_TYPES, prefilter
from llmlog.redact.engine import Redactor

pytest.importorskip("hyperscan")
# read at import: the tests' environment drops LLMLOG_ variables
EXPECT_COMPILED = os.environ.get("LLMLOG_TEST_COMPILED") == "1"
sys.path.insert(0, str(Path(__file__).parents[2] / "bench" / "corpus"))

EDGE = [
    "mail jane\uff20corp.com or jane%40corp.com or jane&#64;corp.com",
    "jane [at] corp [dot] com and JANE (AT) CORP (DOT) COM and jane at corp dot com",
    "fe80::1%eth0 and 2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "card 4111\u00a01111\u00a01111\u00a01111 and 4111\u20131111\u20131111\u20131111",
    "IBAN DE89370400440532013000 and 10.0.0.1",
    "Authorization: Basic YWRtaW46czNjcjN0IQ== and password: hunter2",
    "postgres://app:Tr0ub4dor@db:5432/x and Bearer abcdefghijklmnop1234",
    "short",
    "",
]


def _without_prefilter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefilter, "_scan", None)
    monkeypatch.setattr(prefilter, "_ready", True)


def test_hyperscan_is_used_here() -> None:
    assert prefilter.engine() == "hyperscan"


def test_compiled_says_which_build_runs() -> None:
    """The source install runs the .py files; CI runs these tests a second time against a
    wheel built with LLMLOG_COMPILE=1 (and LLMLOG_TEST_COMPILED=1), where every module the
    build compiles is a C extension."""
    import importlib
    import re

    from llmlog.redact import compiled

    expected = EXPECT_COMPILED
    assert compiled() is expected
    hook = (Path(__file__).parents[2] / "hatch_build.py").read_text()
    modules = re.findall(r'"(llmlog/[a-z_/]+)\.py"', hook)  # its MODULES
    assert len(modules) >= 3
    for path in modules:
        module = importlib.import_module(path.replace("/", "."))
        assert str(module.__file__).endswith(".py") is not expected, module.__file__


@pytest.mark.parametrize("types", [None, [*BUILTIN_TYPES, "PERSON"]])
def test_same_findings_with_and_without(monkeypatch: pytest.MonkeyPatch, types: object) -> None:
    from generate import generate

    texts = [r["text"] for r in generate(600, 4242)] + EDGE
    fast = Redactor(types=types)  # type: ignore[arg-type]
    with_prefilter = [fast.find(t) for t in texts]
    _without_prefilter(monkeypatch)
    slow = Redactor(types=types)  # type: ignore[arg-type]
    assert [slow.find(t) for t in texts] == with_prefilter


def _fuzz_texts(seed: int, n: int) -> list[str]:
    """Random text made of the pieces numbers are made of: digits, their separators,
    dots, letters, currency signs, non-ASCII characters and phone or card words."""
    import random

    r = random.Random(seed)
    pieces = [
        *"0123456789" * 6,
        " ", "-", "/", "(", ")", ".", ".", "+", ":", "\u00a0", "\u2013", "\n", "x",
        "A", "DE", "GB", "€", "£", "é", "电话", "tel ", "card ", "ssn ", "v", "ip ",
        "192.168.", "10.0.0.", "1.2.3.4", "2024-03-15", "12:30", "#", "$", "\\n",
    ]  # fmt: skip
    return ["".join(r.choices(pieces, k=r.randint(5, 300))) for _ in range(n)]


def test_number_offsets_find_what_the_scan_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The prefilter reports where numbers can start; trying the detector's pattern there
    only finds what scanning the whole text finds (random texts dense in numbers)."""
    from generate import generate

    texts = _fuzz_texts(7, 4000) + [r["text"] for r in generate(1200, 11)]
    fast = Redactor()
    with_prefilter = [fast.find(t) for t in texts]
    assert sum(map(len, with_prefilter)) > 1000  # the fuzz does hold numbers
    _without_prefilter(monkeypatch)
    slow = Redactor()
    assert [slow.find(t) for t in texts] == with_prefilter


def test_every_number_start_is_reported() -> None:
    """Every offset where the number detector's pattern matches (scanning the whole text)
    is reported by the scan: dates and times of every shape, separators of every kind, and
    the shapes the scan leaves out ("2024-03-15T10:30", "2024-03-15 12:30") next to the
    ones it must keep ("2024-03-15 415 555 0132", "2024-03-1 5", "2024-03-155")."""
    import random

    from llmlog.redact import detectors

    r = random.Random(3)
    pieces = [
        *"0123456789" * 6,
        " ", "-", "/", "(", ")", ".", ":", "\u00a0", "\u2013", "\n", "T", "x", "#", "$",
        "2024-03-15", "2024/03/15", "2024.03.1", "15.03.2024", "3/5/2024", " 1:", " 12:",
        "12:30", "--", " (", ") ", "\\n", "\u00e9",
    ]  # fmt: skip
    reported = matched = 0
    for _ in range(6000):
        text = "".join(r.choices(pieces, k=r.randint(5, 120)))
        tags = prefilter.scan(text)
        if tags is None:
            continue
        folded = text.encode("utf-8", "surrogatepass").translate(detectors._BYTE_DIGIT_TO_ZERO)
        firsts = set()
        for b in tags.get(prefilter.NUMBERS, []):
            while b < len(folded) and folded[b] != ord("0"):
                b += 1
            firsts.add(b)
        reported += len(firsts)
        for start, _end, _kind in detectors._scan(folded):
            matched += 1
            assert start in firsts, text
    assert matched > 10_000 and reported > matched  # the fuzz holds numbers and dates


def test_iso_dates_and_times_are_not_reported() -> None:
    """A log line's timestamp is no number candidate (the scan's point); a date followed
    by more digits is."""
    for text in ("2024-03-15T10:30:02.881Z WARN", "at 2024-03-15 10:30:01 done", "on 2024-03-15."):
        assert prefilter.NUMBERS not in (prefilter.scan(text) or {}), text
    for text in ("2024-03-15 415 555 0132", "id 2024-03-155", "2024-03-1 5"):
        assert prefilter.scan(text)[prefilter.NUMBERS], text  # type: ignore[index]


def test_every_tag_has_its_detector() -> None:
    """find_all calls a detector only when one of its tags fired: every tag the scan can
    report must belong to a detector, or its findings would be skipped."""
    from llmlog.redact import detectors
    from llmlog.redact.credentials import CREDENTIAL_TAGS

    reported = {tag for _, tag, _ in prefilter._GATES + prefilter._credential_gates()}
    reported |= {prefilter._cue_gate()[1], prefilter.NUMBERS}
    known = detectors.SECRET_TAGS | detectors.EMAIL_TAGS | CREDENTIAL_TAGS | detectors.OTHER_TAGS
    assert reported <= known, reported - known
    assert not detectors.SECRET_TAGS & detectors.EMAIL_TAGS


def test_too_many_number_candidates_fall_back() -> None:
    """A megabyte of digits would cost a report per digit: the scan gives up (None) and
    the detectors scan for themselves."""
    assert prefilter.scan("1 " * 50_000) is None
    tags = prefilter.scan("call 415 555 0132 now")
    assert tags is not None and tags[prefilter.NUMBERS]


def test_names_cue_gate_skips_only_texts_without_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """With PERSON on, the prefilter's cue gate lets a text without a cue skip the names
    detector unless a capitalised word is a known first name: the same findings as the
    pure-Python path, on random texts of cues, names, titles and white space of any script."""
    import random

    pytest.importorskip("faker")
    r = random.Random(11)
    pieces = [
        "Hi", "hi", "Dear", "Ms.", "Dr", "Thanks,", "my name is", "I'm", "customer", "best",
        " ", " ", "\u00a0", "\u3000", "\u2009", ",", ":", ".", "\n", "\\n", "é", "the", "call",
        "Ávila", "Maria", "Smith", "Zorblax", "Sierra Leone", "19127", "Lake", "Street", "and",
        "Python", "Monday", "x", "42",
    ]  # fmt: skip
    texts = ["".join(r.choices(pieces, k=r.randint(2, 40))) for _ in range(3000)]
    types = [*BUILTIN_TYPES, "PERSON"]
    fast = Redactor(types=types)
    with_prefilter = [fast.find(t) for t in texts]
    assert sum(1 for f in with_prefilter for s in f if s[2] == "PERSON") > 500
    _without_prefilter(monkeypatch)
    slow = Redactor(types=types)
    assert [slow.find(t) for t in texts] == with_prefilter
