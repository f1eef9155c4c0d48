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
