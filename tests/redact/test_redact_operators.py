"""Operators and the pseudonym key: placeholder, pseudonym, mask, drop, user functions."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from llmlog.redact import Redactor
from llmlog.redact.operators import KeySource, key_path, mask, normalize

TEXT = "Mail Jane.Doe@Corp.com or call +44 20 7946 0958, card 4242 4242 4242 4242."


class TestPlaceholder:
    def test_default(self) -> None:
        """The default replaces each value with its type in brackets."""
        assert Redactor().redact_text(TEXT) == ("Mail [EMAIL] or call [PHONE], card [CREDIT_CARD].")

    def test_counts(self) -> None:
        """redact_text_counts reports how many values of each type were replaced."""
        _, counts = Redactor().redact_text_counts(TEXT + " jane@corp.com")
        assert counts == {"EMAIL": 2, "PHONE": 1, "CREDIT_CARD": 1}

    def test_nothing_found_returns_the_same_object(self) -> None:
        """Text without findings comes back unchanged (the very same string)."""
        text = "nothing to see here, version 1.2.3, order 1712345678"
        assert Redactor().redact_text(text) is text


class TestPseudonym:
    def test_format_and_consistency(self) -> None:
        """The same value gives the same token; spellings of one address agree."""
        r = Redactor(pseudonym_key="k1", operators={"*": "pseudonym"})
        a = r.redact_text("jane@corp.com")
        assert re.fullmatch(r"\[EMAIL:[0-9a-f]{6}\]", a)
        assert r.redact_text("JANE@corp.COM") == a
        assert r.redact_text("jane%40corp.com") == a
        assert r.redact_text("jane [at] corp [dot] com") == a
        assert r.redact_text("john@corp.com") != a

    def test_stable_across_instances_and_keys(self) -> None:
        """Tokens depend on the key only: same key, same token; other key, other token."""
        a = Redactor(pseudonym_key=b"k1", operators={"EMAIL": "pseudonym"})
        b = Redactor(pseudonym_key="k1", operators={"EMAIL": "pseudonym"})
        c = Redactor(pseudonym_key="k2", operators={"EMAIL": "pseudonym"})
        assert a.redact_text("jane@corp.com") == b.redact_text("jane@corp.com")
        assert a.redact_text("jane@corp.com") != c.redact_text("jane@corp.com")

    def test_phone_spellings_agree(self) -> None:
        """A NANP number with or without +1 and punctuation gives one token."""
        r = Redactor(pseudonym_key="k", operators={"PHONE": "pseudonym"})
        assert r.redact_text("(415) 555-0132") == r.redact_text("+1 415 555 0132")

    def test_key_file_created_lazily_with_0600(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No I/O until a pseudonym is computed; then a 0600 key file is created and reused."""
        monkeypatch.setenv("LLMLOG_HOME", str(tmp_path / "home"))
        path = key_path()
        assert path == tmp_path / "home" / "redact.key"
        r = Redactor(operators={"EMAIL": "pseudonym"})
        r.redact_text("no values here")
        assert not path.exists()
        first = r.redact_text("jane@corp.com")
        assert path.exists()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        again = Redactor(operators={"EMAIL": "pseudonym"}).redact_text("jane@corp.com")
        assert again == first

    def test_placeholder_never_creates_a_key(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The default operator never touches the disk."""
        monkeypatch.setenv("LLMLOG_HOME", str(tmp_path / "home2"))
        Redactor().redact_text(TEXT)
        assert not (tmp_path / "home2").exists()

    def test_unreadable_key_falls_back(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A key path that cannot be created warns and uses a per-process key."""
        blocker = tmp_path / "file"
        blocker.write_text("x")
        monkeypatch.setenv("LLMLOG_HOME", str(blocker / "sub"))
        out = KeySource().digest("x")
        assert len(out) == 64

    def test_empty_key_rejected(self) -> None:
        """An empty explicit key is a configuration error."""
        with pytest.raises(ValueError):
            Redactor(pseudonym_key="")


class TestMask:
    @pytest.mark.parametrize(
        ("value", "type_", "masked"),
        [
            ("4242 4242 4242 4242", "CREDIT_CARD", "**** **** **** 4242"),
            ("4242-4242-4242-4242", "CREDIT_CARD", "****-****-****-4242"),
            ("123-45-6789", "US_SSN", "***-**-6789"),
            ("+44 20 7946 0958", "PHONE", "+** ** **** 0958"),
            ("jane@corp.com", "EMAIL", "j***@corp.com"),
            ("192.168.1.10", "IP_ADDRESS", "192.168.*.*"),
            ("2001:db8::1", "IP_ADDRESS", "2001:****"),
            ("sk-proj-Ab3dE5fG7hI9jK1lM2nO4", "OPENAI_KEY", "sk-p****2nO4"),
            ("admin:hunter2", "URL_CREDENTIALS", "admin:****"),
            ("short", "DENY_TERM", "*****"),
        ],
    )
    def test_forms(self, value: str, type_: str, masked: str) -> None:
        """Each type keeps what people recognise it by and nothing more."""
        assert mask(value, type_) == masked

    def test_mask_in_text_is_idempotent(self) -> None:
        """A masked text is not redacted again."""
        r = Redactor(operators={"*": "mask"})
        once = r.redact_text(TEXT + " ip 10.1.2.3 and fe80::1ff:fe23:4567:890a")
        assert r.redact_text(once) == once


class TestDropAndFunctions:
    def test_drop_empties_the_text(self) -> None:
        """A 'drop' type found anywhere empties the whole text."""
        r = Redactor(operators={"PRIVATE_KEY": "drop"})
        assert r.redact_text("nothing secret") == "nothing secret"
        pem = (
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
            "-----END PRIVATE KEY-----"
        )
        assert r.redact_text(f"my key:\n{pem}\nthanks") == ""

    def test_user_function(self) -> None:
        """A function receives (value, type) and returns the replacement."""
        seen = []

        def op(value: str, type_: str) -> str:
            seen.append((value, type_))
            return f"<{type_.lower()}>"

        r = Redactor(operators={"EMAIL": op})
        assert r.redact_text("jane@corp.com +44 20 7946 0958") == "<email> [PHONE]"
        assert seen == [("jane@corp.com", "EMAIL")]

    def test_user_function_must_return_str(self) -> None:
        """A function returning something else is an error, not a silent leak."""
        r = Redactor(operators={"EMAIL": lambda v, t: None})  # type: ignore[arg-type,return-value]
        with pytest.raises(TypeError):
            r.redact_text("jane@corp.com")

    @pytest.mark.parametrize(
        "ops", [{"EMAIL": "hash"}, {"E-MAIL": "mask"}, {5: "mask"}, {"EMAIL": 5}, {"EMAIL": None}]
    )
    def test_bad_operator_config(self, ops: dict[str, str]) -> None:
        """Unknown operator names and unknown types, also of the wrong type, fail at
        construction with a ValueError (in the compiled build too)."""
        with pytest.raises(ValueError):
            Redactor(operators=ops)


class TestRulesDenyAllow:
    def test_rules(self) -> None:
        """Extra (TYPE, regex) rules add detectors."""
        r = Redactor(rules=[("EMPLOYEE_ID", r"\bEMP-\d{6}\b")])
        assert r.redact_text("ask EMP-123456 or EMP-12") == "ask [EMPLOYEE_ID] or EMP-12"

    @pytest.mark.parametrize(
        "rule", [("employee", r"x"), ("X", r"("), ("X", r"a*"), ("EMP", 3), (3, "x"), "X", None]
    )
    def test_bad_rules(self, rule: tuple[str, str]) -> None:
        """Lower-case names, bad regexes and empty-matching regexes are rejected."""
        with pytest.raises(ValueError):
            Redactor(rules=[rule])

    def test_deny_terms(self) -> None:
        """Deny-terms match case-insensitively as whole words, also inside CJK text."""
        r = Redactor(deny_terms=["Acme Corp", "Project Falcon", "张伟"])
        out = r.redact_text(
            "ACME corp signed; project falcon ships; 联系张伟先生; Acme Corporation"
        )
        assert out == "[DENY_TERM] signed; [DENY_TERM] ships; 联系[DENY_TERM]先生; Acme Corporation"

    def test_many_deny_terms(self) -> None:
        """Thousands of terms share one trie regex."""
        terms = [f"customer{i:04d}" for i in range(3000)]
        r = Redactor(deny_terms=terms)
        assert r.redact_text("see customer0042 and customer9999") == (
            "see [DENY_TERM] and customer9999"
        )

    def test_allow(self) -> None:
        """Allow-listed values are never redacted."""
        r = Redactor(allow=["support@corp.com", "8.8.8.8"])
        assert r.redact_text("support@corp.com SUPPORT@corp.com jane@corp.com 8.8.8.8 8.8.4.4") == (
            "support@corp.com SUPPORT@corp.com [EMAIL] 8.8.8.8 [IP_ADDRESS]"
        )


def test_normalize() -> None:
    """Normalisation used for pseudonyms."""
    assert normalize("Jane%40Corp.com", "EMAIL") == "jane@corp.com"
    assert normalize("+1 (415) 555-0132", "PHONE") == "4155550132"
    assert normalize("de89 3704 0044 0532 0130 00", "IBAN") == "DE89370400440532013000"
    assert normalize("2001:DB8:0::1", "IP_ADDRESS") == "2001:db8::1"
