"""The shortcuts that make redaction fast give exactly what the plain way gives."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from typing import Any

import orjson
import pytest

from llmlog.redact import Redactor, engine
from llmlog.redact import detectors as d

ON = frozenset(d.BUILTIN_TYPES)
SAMPLES = [
    "mail jane@corp.com",
    "call +44 20 7946 0958 now",
    "card 4242 4242 4242 4242",
    "SSN 123-45-6789",
    "IBAN DE89 3704 0044 0532 0130 00",
    "from 10.0.0.12",
    "fe80::1ff:fe23:4567:890a%eth0",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "key sk-proj-Ab3dE5fG7hI9jK1lM2nO4pQ6rS8tU0vWx",
    "AKIA52NNRQUYTVWJPGFP",
    "jane [at] corp [dot] com",
    "jane%40corp.com",
    "jane&#64;corp.com",
    "Authorization: Bearer x9Y8z7W6v5U4t3S2r1Q0p9O8",
    "postgres://admin:Sup3rS3cret@db.internal/app",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "Tel. 030 901820",
    "phone 4155550132",
    "std::vector<int> v; a[1::2]",
    "assistant",
    "v1.4.2 at 12:30",
    "order 4111111111111112",
    "(415) 555-0132",
    "\u7535\u8bdd\uff1a138 0013 8000",
]


def plain(text: str) -> list[tuple[int, int, str]]:
    """The findings of every detector run without any shortcut, resolved."""
    out: list[tuple[int, int, str]] = []
    for finder in (d.find_secrets, d.find_email, d.find_numbers, d.find_ipv6):
        finder(text, out, ON)
    return engine._resolve(out) if out else []


class TestShortcuts:
    @pytest.mark.parametrize("text", SAMPLES)
    def test_short_text_prefilter(self, text: str) -> None:
        """A short text is skipped only when no detector would find anything in it."""
        assert Redactor().find(text) == plain(text)

    def test_prefilter_and_plain_agree_on_slices(self) -> None:
        """Every slice of the samples gives the same findings with and without the shortcuts."""
        r = Redactor()
        joined = " | ".join(SAMPLES)
        for size in (5, 9, 17, 33, 63):
            for i in range(0, len(joined) - size, 3):
                piece = joined[i : i + size]
                # (texts shorter than six characters are never scanned, shortcut or not)
                assert r.find(piece) == (plain(piece) if size >= 6 else []), piece

    def test_iban_digit_groups_are_not_classified(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Skipping the number runs inside an IBAN changes no finding."""
        texts = [
            "IBAN DE89 3704 0044 0532 0130 00 and card 4242 4242 4242 4242",
            "pay FR14 2004 1010 0505 0001 3M02 606, tel 0612345678 (cell)",
            "GB82 WEST 1234 5698 7654 32 4155550132",
        ]
        fast = [plain(t) for t in texts]
        monkeypatch.setattr(d, "_inside", lambda s, e, spans: False)
        assert [plain(t) for t in texts] == fast
        assert any(t == "IBAN" for f in fast for _, _, t in f)

    def test_same_result_whatever_the_hash_seed(self) -> None:
        """A run with separators that all differ is split the same way in every process."""
        code = (
            "from llmlog.redact import redact_text; "
            "print(redact_text('7 (812) 123-4567'), redact_text('5 (21) 90509-1078 y'))"
        )
        outs = {
            subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONHASHSEED": seed},
                check=True,
            ).stdout
            for seed in ("1", "2", "3", "4")
        }
        assert outs == {"7 [PHONE] 5 [PHONE] y\n"}

    def test_allow_list_that_removes_everything(self) -> None:
        """When the allow-list removes every finding, nothing is redacted (no error)."""
        assert Redactor(allow=["jane@corp.com"]).redact_text("mail jane@corp.com") == (
            "mail jane@corp.com"
        )


LONG = "Please call me back about the contract, " * 8  # > 256 characters


def chat(user: str, answer: str) -> dict[str, Any]:
    return {
        "event": "llm_interaction",
        "request_id": "r",
        "model": "m",
        "redaction": {},
        "prompt_messages": [{"role": "system", "content": LONG}, {"role": "user", "content": user}],
        "llm_raw_response": {"choices": [{"message": {"content": answer}}]},
        "parsed_output": answer,
    }


class TestRecordCache:
    def test_duplicates_in_a_record_count_each_time(self) -> None:
        """The output text in the raw response and parsed_output is redacted once, counted twice."""
        answer = LONG + " Mail jane@corp.com."
        rec = Redactor()(chat("hi", answer))
        assert rec["parsed_output"] == LONG + " Mail [EMAIL]."
        assert rec["llm_raw_response"]["choices"][0]["message"]["content"] == rec["parsed_output"]
        assert rec["redaction"]["counts"] == {"EMAIL": 2}

    def test_later_records_get_the_same_result(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A long text seen in an earlier record is not scanned again; the result is the same."""
        r = Redactor()
        first = r(chat(LONG + " jane@corp.com", "ok"))
        scanned: list[str] = []
        real = Redactor._redact_one

        def spy(self: Redactor, text: str) -> Any:
            scanned.append(text)
            return real(self, text)

        monkeypatch.setattr(Redactor, "_redact_one", spy)
        second = r(chat(LONG + " jane@corp.com", "ok"))
        assert orjson.dumps(first) == orjson.dumps(second)
        assert scanned == []  # the system prompt and the user text came from the cache
        assert second["redaction"]["counts"] == {"EMAIL": 1}

    def test_cache_holds_no_original_text(self) -> None:
        """The cache keeps digests and redacted text, never the values it found."""
        r = Redactor()
        r(chat(LONG + " card 4242 4242 4242 4242 for jane@corp.com", "ok"))
        dump = repr(r._cache._data)
        assert r._cache._data and "jane@corp.com" not in dump and "4242 4242" not in dump

    def test_cache_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Beyond its bound the least recently used results go."""
        monkeypatch.setattr(engine, "_CACHE_ENTRIES", 3)
        r = Redactor()
        for i in range(6):
            r(chat(LONG + str(i), "ok"))
        assert len(r._cache._data) == 3

    def test_drop_operator_through_the_cache(self) -> None:
        """A dropped string is dropped again from the cache, and counted each time."""
        r = Redactor(operators={"EMAIL": "drop"})
        recs = [r(chat(LONG + " jane@corp.com", "ok")) for _ in range(2)]
        for rec in recs:
            assert rec["prompt_messages"][1]["content"] == ""
            assert rec["redaction"] == {"counts": {"EMAIL": 1}, "dropped": 1}

    def test_records_match_text_redaction(self) -> None:
        """Record redaction with its shortcuts equals redacting each string on its own."""
        r = Redactor()
        texts = [LONG + s for s in SAMPLES] + SAMPLES
        for t in texts:
            rec = r(copy.deepcopy(chat(t, t)))
            assert rec["parsed_output"] == Redactor().redact_text(t)
            assert (
                json.loads(orjson.dumps(rec))["prompt_messages"][1]["content"]
                == (rec["parsed_output"])
            )
