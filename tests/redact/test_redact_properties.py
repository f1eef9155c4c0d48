"""Properties (hypothesis): idempotence, and no original value left in the output."""

from __future__ import annotations

import os
import tempfile

import pytest

# keep hypothesis's cache out of the working tree
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "llmlog-hypothesis")
)
pytest.importorskip("hypothesis")  # not in the dev extra yet; the linear-time tests don't need it

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmlog.redact import Redactor

R = Redactor()

VALUES = st.sampled_from(
    [
        "jane.doe@corp.com",
        "wei@163.com",
        "+44 20 7946 0958",
        "(415) 555-0132",
        "030 901820",
        "4242 4242 4242 4242",
        "378282246310005",
        "DE89 3704 0044 0532 0130 00",
        "123-45-6789",
        "203.0.113.5",
        "fe80::1ff:fe23:4567:890a",
        "sk-proj-Ab3dE5fG7hI9jK1lM2nO4pQ6rS8tU0vWx",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "AKIA2E0A8F3B244C9986",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "postgres://admin:s3cr3tPw9@db.internal/app",
    ]
)
FILLER = st.text(
    alphabet=st.sampled_from(list("abc xyz,.;:-_/()[]{}\n\"'1234567890@#é中文")), max_size=40
)


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.tuples(FILLER, VALUES), min_size=1, max_size=4), FILLER)
def test_values_removed_and_idempotent(parts: list[tuple[str, str]], tail: str) -> None:
    """Values between arbitrary filler never survive, and redacting twice changes nothing.

    Each value is set off by "; " so that filler digits cannot join it into a longer
    number ("00 030 901820" is one eleven-digit run, and ambiguous even to a reader).
    """
    text = "".join(f"{pre}; {value} ;" for pre, value in parts) + tail
    once = R.redact_text(text)
    for _, value in parts:
        core = value.split("://")[-1].split("@")[0] if value.startswith("postgres") else value
        assert core not in once, (text, once)
    assert R.redact_text(once) == once


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_idempotent(text: str) -> None:
    """Any text: redaction never raises and is idempotent."""
    once = R.redact_text(text)
    assert R.redact_text(once) == once


@settings(max_examples=100, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 -./()+")), max_size=120))
def test_digit_soup(text: str) -> None:
    """Runs of digits and separators: never raises, always idempotent."""
    once = R.redact_text(text)
    assert R.redact_text(once) == once
