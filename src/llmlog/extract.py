"""The human text inside records: message contents, outputs, and what the full-text index holds.

Used by the writer (token estimates), the stores' full-text index, the CLI, the viewer
and exports: one definition of "the text of" a message, an output, an interaction.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["estimate_tokens", "search_text", "text_of"]


def estimate_tokens(text: str) -> int:
    """Estimate the token count of ``text`` (about 4 ASCII chars per token, CJK 1 per char)."""
    if not text:
        return 0
    ascii_chars = len(text.encode("ascii", "ignore"))
    other = len(text) - ascii_chars
    return max(1, round(ascii_chars / 4 + other * 0.8))


def text_of(value: Any) -> str:
    """Return the human text inside a message content, content-part list or output value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(t for t in (text_of(v) for v in value) if t)
    if isinstance(value, dict):
        for key in ("text", "content", "output_text", "input_text"):
            v = value.get(key)
            if isinstance(v, (str, list)):
                return text_of(v)
        return ""
    return ""


def search_text(messages: Any, output: Any, tool_calls: Any, error: Any) -> str:
    """Return the text the full-text index holds for one interaction.

    What is new in the interaction: the user and tool messages after the last
    assistant reply (earlier turns were indexed with the interactions that
    introduced them; system prompts, repeated on every call, are not indexed),
    the output text, tool calls and the error.
    """
    parts: list[str] = []
    if isinstance(messages, list):
        start = 0
        for i in range(len(messages) - 1, -1, -1):
            m = messages[i]
            if isinstance(m, dict) and m.get("role") == "assistant":
                start = i + 1
                break
        for m in messages[start:]:
            if isinstance(m, dict):
                if m.get("role") in ("system", "developer"):
                    continue
                parts.append(text_of(m.get("content")))
            elif isinstance(m, str):
                parts.append(m)
    parts.append(output if isinstance(output, str) else text_of(output))
    for tc in tool_calls or ():
        if isinstance(tc, dict):
            parts.append(f"{tc.get('name') or ''} {orjson.dumps(tc.get('arguments')).decode()}")
    if isinstance(error, dict):
        parts.append(f"{error.get('type', '')} {error.get('message', '')}")
    return "\n".join(p for p in parts if p)
