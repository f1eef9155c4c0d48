"""Faults 6 and 8: redaction never fails open on some shapes; content is bounded.

Only a base64 payload itself is skipped by redaction (scanning megabytes of an image is
wasted time); everything else is scanned. A string longer than ``max_string`` is cut with a
visible marker that records its original size. A lone surrogate in a key keeps the rest.
"""

from __future__ import annotations

import base64
import os

import orjson
from faultkit import RESP, sqlite_ids

import llmlog
from llmlog.testing import capture_records

KEYS = [  # made-up keys in the real formats
    "sk-proj-u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJ",
    "sk-ant-api03-ihA-2O76UMFxFkM-R5Kjp1vRt_1fjORS-6ilI8ihN5KXSc7Tvo-hBKqFYY-kv5ZJr3J1TWDtkwtDD"
    "b_xHKas1VOqg6YYZAA",
    "AKIAZG6ZDMEN4KHVDGAJ",
]
EMAIL = "jane.roe@example.org"
CARD = "4111 1111 1111 1111"


def _stored_text(rec: dict) -> str:
    return orjson.dumps(rec).decode()


class TestRedactionDoesNotFailOpen:
    def test_keys_joined_by_newlines_in_a_long_base64ish_string(self) -> None:
        """Three API keys joined by newlines (256+ characters of base64's alphabet) are caught."""
        text = "\n".join(KEYS * 3)
        assert len(text) >= 256
        with capture_records() as recs:
            llmlog.log_interaction([{"role": "user", "content": text}], None)
        stored = _stored_text(recs[0])
        for key in KEYS:
            assert key not in stored

    def test_text_after_a_data_url_is_scanned(self) -> None:
        """A data: URL's payload is skipped, but the e-mail, card and key after it are not."""
        payload = base64.b64encode(os.urandom(3000)).decode()
        text = f"data:image/png;base64,{payload} then mail {EMAIL}, card {CARD}, key {KEYS[0]}"
        with capture_records() as recs:
            llmlog.log_interaction([{"role": "user", "content": text}], None)
        stored = _stored_text(recs[0])
        assert EMAIL not in stored and CARD not in stored and KEYS[0] not in stored
        assert payload in stored  # the image itself is kept as it was

    def test_base64_alphabet_text_is_scanned(self) -> None:
        """A long string made only of base64's alphabet (keys joined by '/') is scanned."""
        text = "/".join([KEYS[2]] * 20)
        assert len(text) >= 256
        with capture_records() as recs:
            llmlog.log_interaction([{"role": "user", "content": text}], None)
        assert KEYS[2] not in _stored_text(recs[0])

    def test_base64_of_text_is_not_skipped(self) -> None:
        """Base64 that decodes to text is not taken for a binary payload."""
        from llmlog.redact.walker import is_blob

        text = base64.b64encode(("password: hunter2 " * 200).encode()).decode()
        assert not is_blob(text)
        assert is_blob(base64.b64encode(os.urandom(3000)).decode())

    def test_binary_payload_is_kept_unscanned(self) -> None:
        """A whole-string base64 image is kept as it is (and not scanned: it is not text)."""
        payload = base64.b64encode(os.urandom(30_000)).decode()
        with capture_records() as recs:
            llmlog.log_interaction([{"role": "user", "content": payload}], None)
        assert recs[0]["prompt_messages"][0]["content"] == payload


class TestContentIsBounded:
    def test_huge_message_is_cut_with_a_marker_and_its_size(self) -> None:
        """A 20 MB message is cut to max_string with a marker naming the original size."""
        big = ("lorem ipsum dolor sit amet " * 800_000)[:20_000_000]
        rid = llmlog.log_interaction([{"role": "user", "content": big}], RESP)
        assert llmlog.flush(60)
        assert rid in sqlite_ids()
        import sqlite3

        db = sqlite3.connect("llmlog.db")
        (line,) = db.execute("SELECT record FROM interactions").fetchone()
        db.close()
        content = orjson.loads(line)["prompt_messages"][0]["content"]
        limit = llmlog.get_settings().max_string
        assert len(content) < limit + 200
        assert "20,000,000" in content and "truncated" in content
        assert llmlog.stats()["truncated"] == 1

    def test_limit_is_configurable(self) -> None:
        """max_string sets the limit; 0 turns it off."""
        with capture_records(max_string=1000) as recs:
            llmlog.log_interaction([{"role": "user", "content": "x" * 5000}], None)
        assert len(recs[0]["prompt_messages"][0]["content"]) < 1200
        with capture_records(max_string=0) as recs:
            llmlog.log_interaction([{"role": "user", "content": "x" * 5000}], None)
        assert recs[0]["prompt_messages"][0]["content"] == "x" * 5000

    def test_lone_surrogate_in_a_key_keeps_the_rest(self) -> None:
        """A lone surrogate in a dict key is replaced; the rest of the structure is kept."""
        msgs = [{"role": "user", "content": "hello there", "bad\ud800key": 1}]
        with capture_records() as recs:
            llmlog.log_interaction(msgs, None)
        m = recs[0]["prompt_messages"][0]
        assert m["role"] == "user" and m["content"] == "hello there"
        assert len(m) == 3
