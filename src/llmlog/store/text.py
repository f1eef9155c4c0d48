"""Turn what a user types into a full-text query the index can answer.

The index (FTS5, ``detail=none``) knows which words each interaction holds but
not where, so it answers "every word occurs" and prefixes (``pay*``). A phrase
(``"credit card"``, or a word the tokenizer splits, like ``gpt-4o``) is answered
by matching its words in the index, then checking the phrase in the text of the
matching interactions (:meth:`TextQuery.matches`). The user's input never
reaches FTS5 as syntax: every word is quoted, so no input is a syntax error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmlog.extract import search_text

__all__ = ["TextQuery", "compile_text", "record_text"]

_TOKEN = re.compile(r"[^\W_]+")  # letters and digits, as FTS5's unicode61 tokenizer splits
_PART = re.compile(r'"([^"]*)"?|(\S+)')


def _normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_TOKEN.findall(stripped.casefold()))


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A compiled full-text query.

    Attributes:
        match: the FTS5 ``MATCH`` expression (every word, quoted).
        phrases: normalised phrases to check in each candidate's text, as
            ``(phrase, is_prefix)``; empty when the index answers exactly.
    """

    match: str
    phrases: tuple[tuple[str, bool], ...]

    def matches(self, text: str) -> bool:
        """Return True when every phrase occurs in ``text`` (word-aligned, any case)."""
        if not self.phrases:
            return True
        norm = f" {_normalize(text)} "
        return all((f" {p}" if prefix else f" {p} ") in norm for p, prefix in self.phrases)


def compile_text(text: str) -> TextQuery:
    """Compile user search text into a :class:`TextQuery`.

    Raises:
        ValueError: the text holds no word to search for.
    """
    terms: list[str] = []
    phrases: list[tuple[str, bool]] = []
    for m in _PART.finditer(text):
        quoted, word = m.group(1), m.group(2)
        raw = quoted if quoted is not None else word
        prefix = quoted is None and raw.endswith("*") and len(raw) > 1
        tokens = _TOKEN.findall(raw)
        if not tokens:
            continue
        for i, tok in enumerate(tokens):
            star = "*" if prefix and i == len(tokens) - 1 else ""
            term = f'"{tok}"{star}'
            if term not in terms:
                terms.append(term)
        if len(tokens) > 1:
            phrases.append((_normalize(" ".join(tokens)), prefix))
    if not terms:
        raise ValueError(f"search text {text!r} has no words to search for")
    return TextQuery(" ".join(terms), tuple(phrases))


def record_text(rec: Mapping[str, Any]) -> str:
    """Return the text the full-text index holds for a record (what the sink indexed)."""
    return search_text(
        rec.get("prompt_messages"),
        rec.get("parsed_output"),
        rec.get("tool_calls"),
        rec.get("error"),
    )
