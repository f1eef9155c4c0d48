"""The hyperscan prefilter only skips detectors that would have found nothing.

The same texts are redacted with the prefilter (one hyperscan scan decides which
detectors run) and without it (each detector checks its own gates): the findings must
be identical, on llmlog's generated corpus (PII of every type, hard negatives, PII-free
text in many genres) and on hand-picked edge cases.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llmlog.redact import BUILTIN_TYPES, prefilter
from llmlog.redact.engine import Redactor

pytest.importorskip("hyperscan")
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


@pytest.mark.parametrize("types", [None, [*BUILTIN_TYPES, "PERSON"]])
def test_same_findings_with_and_without(monkeypatch: pytest.MonkeyPatch, types: object) -> None:
    from generate import generate

    texts = [r["text"] for r in generate(600, 4242)] + EDGE
    fast = Redactor(types=types)  # type: ignore[arg-type]
    with_prefilter = [fast.find(t) for t in texts]
    _without_prefilter(monkeypatch)
    slow = Redactor(types=types)  # type: ignore[arg-type]
    assert [slow.find(t) for t in texts] == with_prefilter
