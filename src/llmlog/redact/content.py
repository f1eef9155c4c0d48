"""Content capture: keep the text (``full``), only its shape (``metadata``), or nothing (``off``).

``LLMLOG_CAPTURE_CONTENT=metadata`` is for deployments where no prompt or output
text may be stored at all, redacted or not. The record keeps its structure
(roles, content-part types, tool names, ids, finish reasons, usage) and every
content string becomes a stand-in such as ``[CONTENT len=1234 hash=1a2b3c4d5e6f7a8b]``:
the length in characters and a keyed HMAC-SHA256 prefix (the pseudonym key), so
identical prompts can still be grouped, while a short or guessable text (a bare
SSN) cannot be recovered by hashing candidates. ``off`` empties the content
fields. Both set ``rec["redaction"]["content"]`` to the mode.

Content fields are ``prompt_messages``, ``llm_raw_response``, ``parsed_output``,
``tool_calls`` and the content-like parameters (``system``, ``instructions``,
``input``, ``prompt``, ``messages``, ...). Error messages, metadata and feedback
comments are kept and go through redaction like everything else.
"""

from __future__ import annotations

from typing import Any

from llmlog.redact.operators import KeySource

__all__ = ["CONTENT_MODES", "ContentFilter"]

CONTENT_MODES: tuple[str, ...] = ("full", "metadata", "off")

_CONTENT_FIELDS = (
    "prompt_messages",
    "llm_raw_response",
    "parsed_output",
    "tool_calls",
    "input",  # a span's (llmlog.tracing)
    "output",
)
_EMPTY: dict[str, Any] = {
    "prompt_messages": [],
    "llm_raw_response": None,
    "parsed_output": None,
    "tool_calls": [],
    "input": None,
    "output": None,
}
_CONTENT_PARAMS = frozenset(
    [
        "system",
        "instructions",
        "input",
        "prompt",
        "messages",
        "contents",
        "content",
        "text",
        "suffix",
        "documents",
        "query",
    ]
)
# Values under these keys describe structure, not content, and are kept as they are.
_STRUCTURAL_KEYS = frozenset(
    [
        "role",
        "type",
        "id",
        "tool_call_id",
        "tool_use_id",
        "call_id",
        "name",
        "model",
        "object",
        "finish_reason",
        "stop_reason",
        "status",
        "index",
        "media_type",
        "mime_type",
        "detail",
        "format",
        "system_fingerprint",
        "service_tier",
        "stop_sequence",
    ]
)


class ContentFilter:
    """Processor for the ``metadata`` and ``off`` content capture modes.

    Args:
        mode: ``"metadata"`` or ``"off"``.
        key: the HMAC key for content hashes (default: the deployment's key
            file, read or created at the first record in ``metadata`` mode).

    Raises:
        ValueError: another mode.

    Runs on the pipeline's writer thread before redaction; it never raises for
    any JSON record.

    .. versionadded:: 0.1
    """

    __slots__ = ("_keys", "_mode")

    def __init__(self, mode: str, *, key: bytes | str | None = None) -> None:
        if mode not in ("metadata", "off"):
            raise ValueError(f"content mode must be 'metadata' or 'off', got {mode!r}")
        self._mode = mode
        self._keys = KeySource(key)

    @property
    def mode(self) -> str:
        """The content mode this filter applies."""
        return self._mode

    def stand_in(self, text: str) -> str:
        """Return the stand-in stored instead of ``text`` in ``metadata`` mode.

        Args:
            text: a content string.
        """
        digest = self._keys.digest("content\x00" + text)[:16]
        return f"[CONTENT len={len(text)} hash={digest}]"

    def _shape(self, value: Any) -> Any:
        """Replace every content string inside ``value`` (in place where possible)."""
        if isinstance(value, str):
            return self.stand_in(value) if value else value
        if not isinstance(value, (dict, list)):
            return value
        stack: list[dict[str, Any] | list[Any]] = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for k, v in node.items():
                    if isinstance(v, str):
                        if v and k not in _STRUCTURAL_KEYS:
                            node[k] = self.stand_in(v)
                    elif isinstance(v, (dict, list)):
                        stack.append(v)
            else:
                for i, v in enumerate(node):
                    if isinstance(v, str):
                        if v:
                            node[i] = self.stand_in(v)
                    elif isinstance(v, (dict, list)):
                        stack.append(v)
        return value

    def __call__(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Apply the mode to the record ``rec`` in place and return it.

        Args:
            rec: an interaction record; feedback records pass unchanged.
        """
        if rec.get("event") == "llm_feedback":
            return rec
        params = rec.get("params")
        if self._mode == "off":
            for name, empty in _EMPTY.items():
                if name in rec:
                    rec[name] = empty.copy() if isinstance(empty, list) else empty
            if isinstance(params, dict):
                for k in [k for k in params if k in _CONTENT_PARAMS]:
                    del params[k]
        else:
            for name in _CONTENT_FIELDS:
                v = rec.get(name)
                if v is not None:
                    rec[name] = self._shape(v)
            if isinstance(params, dict):
                for k, v in params.items():
                    if k in _CONTENT_PARAMS and v is not None:
                        params[k] = self._shape(v)
        red = rec.get("redaction")
        if not isinstance(red, dict):
            red = {}
        red["content"] = self._mode
        rec["redaction"] = red
        return rec
