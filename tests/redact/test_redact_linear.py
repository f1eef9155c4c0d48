"""Linear time: 1 MB of hostile input costs about ten times what 100 KB costs."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from llmlog.redact import Redactor

R = Redactor()

HOSTILE: dict[str, Callable[[int], str]] = {
    "digits": lambda n: "1" * n,
    "digits and spaces": lambda n: ("1 " * n)[:n],
    "card groups": lambda n: ("4111 " * n)[:n],
    "at signs": lambda n: "@" * n,
    "a@a@": lambda n: ("a@" * n)[:n],
    "labels": lambda n: ("a." * n)[:n],
    "brackets": lambda n: ("[(<{at}>)]" * n)[:n],
    "colons": lambda n: ("a:" * n)[:n],
    "hex colons": lambda n: ("ab12:" * n)[:n],
    "sk-": lambda n: ("sk-" * n)[:n],
    "BEGIN": lambda n: ("-----BEGIN PRIVATE KEY-----" * n)[:n],
    "eyJ": lambda n: ("eyJ." * n)[:n],
    "url creds": lambda n: ("://a:b" * n)[:n],
    "base64": lambda n: ("QUJD" * n)[:n],
}


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_linear_time(name: str) -> None:
    """1 MB of hostile input costs about 10x what 100 KB costs (bound: 25x), never quadratic."""
    make = HOSTILE[name]
    small, big = make(100_000), make(1_000_000)
    t_small = _best(lambda: R.redact_text(small), 3)
    t_big = _best(lambda: R.redact_text(big), 2)
    # a floor keeps timer noise on tiny absolute times from deciding the ratio
    ratio = t_big / max(t_small, 0.002)
    assert ratio < 25, f"{name}: 100 KB {t_small * 1e3:.1f} ms, 1 MB {t_big * 1e3:.1f} ms"


def _candidates(text: str) -> list[tuple[str, str]]:
    from llmlog.redact import detectors

    folded = text.encode().translate(detectors._BYTE_DIGIT_TO_ZERO)
    return [(text[s:e], kind) for s, e, kind in detectors._scan(folded)]


def test_number_runs_hold_seven_to_41_digits() -> None:
    """A run of digits and separators is a candidate from 7 digits on; one longer than 41
    digits ends at its 41st, and what follows a separator starts the next."""
    assert _candidates("id 123456 and 1234567") == [("1234567", "run")]
    assert _candidates("x 1 2 3 4 5 6") == []
    assert _candidates("x 1 2 3 4 5 6 7") == [("1 2 3 4 5 6 7", "run")]
    assert _candidates("ip 10.0.0.1") == [("10.0.0.1", "ip")]
    digits = "1234567890" * 5
    assert _candidates(digits) == [(digits[:41], "run")]  # the rest follows a digit
    groups = " ".join(["1234"] * 15)  # 60 digits
    first = groups[: 10 * 5 + 1]  # ten groups and the 41st digit
    # the rest of the eleventh group follows a digit; the last four groups are a run
    assert _candidates(groups) == [(first, "run"), (" ".join(["1234"] * 4), "run")]
