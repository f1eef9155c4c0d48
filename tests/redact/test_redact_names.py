"""``PERSON``: opt-in personal names (names lists from Faker, context cues, an allow list)."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmlog
from llmlog.redact import BUILTIN_TYPES, load_rules, redact_text
from llmlog.redact.engine import Redactor
from llmlog.testing import capture_records

pytest.importorskip("faker")

WITH_NAMES = Redactor(types=[*BUILTIN_TYPES, "PERSON"])


def test_off_by_default() -> None:
    assert "PERSON" not in BUILTIN_TYPES
    assert redact_text("My name is Kerri Middleton.") == "My name is Kerri Middleton."


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My name is Kerri Middleton.", "Kerri Middleton"),
        ("Hi Zorblax, your order shipped.", "Zorblax"),  # any word after a cue
        ("Please ask Dr. Okonkwo about it", "Okonkwo"),
        ("we need to add Claude Schmitt as guardian", "Claude Schmitt"),  # first + last
        ("Please add Angela as a contact", "Angela"),  # a first name alone
        ("Thanks,\nMaria", "Maria"),
        ("customer Lena Kostolzin says the app crashes", "Lena Kostolzin"),
        ("Alice, Angela and Maria joined the call", "Angela"),  # first names: people
        ("Kind regards\\nMichelle Wilson\\n", "Michelle Wilson"),  # escaped breaks
    ],
)
def test_names_found(text: str, name: str) -> None:
    out = WITH_NAMES.redact_text(text)
    assert name not in out and "[PERSON]" in out, out


@pytest.mark.parametrize(
    "text",
    [
        "I was in Paris last April.",
        "Will you call me back?",
        "Mar 12 10:00:01 host sshd[42]: session opened",
        "Ask Claude to summarise the thread",
        "The Python Software Foundation",
        "New York is big",
        "Hello, I'm fine thanks",
        "Amazon Nova and Meta Llama models",
        # streets, towns and companies made of names
        "Please return to 7414 Nicole Stravenue, New Logan",
        "His office is at 19127 Jacob Tunnel, West Emily",
        "Lake Erica is lovely in spring",
        "Meet me at Via Stefania, 743",
        "The restaurant is at 93, rue Pénélope Fernandez",
        "Looking to support Glenn and Sons this year",
        "The contract went to Reynolds, Lane and Lewis last week",
        "Invoice from Clayton Ltd\\n729 Kim Junction",
        "I am Nigeria but I live in Sierra Leone",
        # capitalised pieces of tokens and base64
        "key ABAAABAQrrMR6Dkd9kAAwpRVlKarlDASelA4NsC and lZprXtlBYicJ8TzhMQjV4z7d",
    ],
)
def test_not_names(text: str) -> None:
    assert WITH_NAMES.redact_text(text) == text


def test_possessive_keeps_the_s() -> None:
    assert WITH_NAMES.redact_text("It is Raymond's car") == "It is [PERSON]'s car"


def test_enabled_by_a_rules_file(tmp_path: Path) -> None:
    f = tmp_path / "redact.toml"
    f.write_text('enable = ["PERSON"]\n')
    with capture_records(redact_rules=str(f)) as recs:
        llmlog.log_interaction(
            [{"role": "user", "content": "My name is Priya Sharma"}], None, parsed_output="ok"
        )
    assert recs[0]["prompt_messages"][0]["content"] == "My name is [PERSON]"


def test_unknown_opt_in_type_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "redact.toml"
    f.write_text('enable = ["EMAIL"]\n')
    with pytest.raises(ValueError, match=r"enable: unknown type 'EMAIL'; opt-in types: PERSON"):
        load_rules(str(f))
