"""Record formats in and out of the store: export rows, fine-tuning examples, import lines.

Nothing here touches a database, so every front end (CLI, web viewer, Python)
converts records the same way.

Export:
    * :data:`FLAT_COLUMNS` / :func:`flat_row`: one flat row per interaction for
      CSV and Parquet (nested fields as JSON text).
    * :class:`ChatExamples`: OpenAI chat fine-tuning examples
      (``{"messages": [..., assistant reply]}``), deduplicated, counting what was
      skipped and why.

Import:
    * :func:`parse_line`: one line of llmlog JSON lines, or of a log file written
      by the classic snippet (``2025-01-01 12:00:00,123 - app - INFO - {json}``).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from llmlog.extract import text_of

__all__ = [
    "FLAT_COLUMNS",
    "ChatExamples",
    "ParsedLine",
    "flat_row",
    "iso_time",
    "parse_line",
    "preview",
]

FLAT_COLUMNS: tuple[str, ...] = (
    "time",
    "timestamp",
    "request_id",
    "provider",
    "operation",
    "model",
    "response_model",
    "status",
    "duration_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
    "tokens_estimated",
    "cost_usd",
    "session_id",
    "user_id",
    "tags",
    "error_type",
    "error_message",
    "prompt",
    "output",
    "tool_calls",
    "prompt_messages",
    "params",
    "metadata",
    "trace_id",
    "span_id",
)
"""The columns of a CSV or Parquet export, in order."""


def iso_time(ts: float | None) -> str | None:
    """Return ``ts`` as ISO 8601 in local time with its UTC offset (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="milliseconds")


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value).decode()


def _last_user_text(messages: Any) -> str:
    if isinstance(messages, list):
        for m in reversed(messages):
            if isinstance(m, Mapping) and m.get("role") == "user":
                return text_of(m.get("content"))
        if messages and isinstance(messages[-1], Mapping):
            return text_of(messages[-1].get("content"))
    return ""


def output_text(rec: Mapping[str, Any]) -> str:
    """Return the record's output as text (structured outputs as JSON)."""
    out = rec.get("parsed_output")
    if out is None:
        return ""
    if isinstance(out, str):
        return out
    text = text_of(out)
    return text or orjson.dumps(out).decode()


def preview(rec: Mapping[str, Any], width: int = 80) -> str:
    """Return a one-line preview: the last user message, then the output (``→``)."""
    prompt = " ".join(_last_user_text(rec.get("prompt_messages")).split())
    out = " ".join(output_text(rec).split())
    err = rec.get("error")
    if not out and isinstance(err, Mapping):
        out = f"{err.get('type')}: {err.get('message')}"
    text = f"{prompt} → {out}" if prompt and out else prompt or out
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def flat_row(rec: Mapping[str, Any]) -> dict[str, Any]:
    """Return one flat row (:data:`FLAT_COLUMNS`) for CSV or Parquet."""
    usage = rec.get("usage") if isinstance(rec.get("usage"), Mapping) else {}
    assert isinstance(usage, Mapping)
    err = rec.get("error") if isinstance(rec.get("error"), Mapping) else None
    tags = rec.get("tags") or []
    return {
        "time": iso_time(rec.get("timestamp")),
        "timestamp": rec.get("timestamp"),
        "request_id": rec.get("request_id"),
        "provider": rec.get("provider"),
        "operation": rec.get("operation"),
        "model": rec.get("model"),
        "response_model": rec.get("response_model"),
        "status": rec.get("status"),
        "duration_ms": rec.get("duration_ms"),
        "ttft_ms": rec.get("ttft_ms"),
        "input_tokens": usage.get("input_tokens"),
        "output_tokens": usage.get("output_tokens"),
        "total_tokens": usage.get("total_tokens"),
        "cached_input_tokens": usage.get("cached_input_tokens"),
        "reasoning_tokens": usage.get("reasoning_tokens"),
        "tokens_estimated": bool(usage.get("estimated", False)),
        "cost_usd": rec.get("cost_usd"),
        "session_id": rec.get("session_id"),
        "user_id": rec.get("user_id"),
        "tags": ",".join(str(t) for t in tags) if isinstance(tags, list) else str(tags),
        "error_type": err.get("type") if err else None,
        "error_message": err.get("message") if err else None,
        "prompt": _last_user_text(rec.get("prompt_messages")),
        "output": output_text(rec),
        "tool_calls": _json(rec.get("tool_calls") or None),
        "prompt_messages": _json(rec.get("prompt_messages")),
        "params": _json(rec.get("params") or None),
        "metadata": _json(rec.get("metadata") or None),
        "trace_id": rec.get("trace_id"),
        "span_id": rec.get("span_id"),
    }


# -- fine-tuning examples ------------------------------------------------------------------------

_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


class _Skip(Exception):
    pass


def _content(value: Any) -> Any:
    """Return message content OpenAI fine-tuning accepts: text, or text/image parts."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append({"type": "text", "text": part})
            elif isinstance(part, Mapping) and part.get("type") in (
                "text",
                "input_text",
                "output_text",
            ):
                parts.append({"type": "text", "text": str(part.get("text", ""))})
            elif isinstance(part, Mapping) and part.get("type") == "image_url":
                parts.append(dict(part))
            else:
                raise _Skip("non-text content")
        if all(p["type"] == "text" for p in parts):
            return "\n".join(p["text"] for p in parts)
        return parts
    raise _Skip("non-text content")


def _tool_call(tc: Mapping[str, Any]) -> dict[str, Any]:
    fn = tc.get("function") if isinstance(tc.get("function"), Mapping) else None
    name = fn.get("name") if fn else tc.get("name")
    args = fn.get("arguments") if fn else tc.get("arguments")
    if not isinstance(args, str):
        args = orjson.dumps(args if args is not None else {}).decode()
    return {"id": tc.get("id"), "type": "function", "function": {"name": name, "arguments": args}}


def _message(m: Any) -> dict[str, Any]:
    if not isinstance(m, Mapping) or m.get("role") not in _ROLES:
        raise _Skip("unsupported message")
    out: dict[str, Any] = {"role": m["role"], "content": _content(m.get("content"))}
    if m.get("name"):
        out["name"] = m["name"]
    if m.get("tool_calls"):
        out["tool_calls"] = [_tool_call(tc) for tc in m["tool_calls"] if isinstance(tc, Mapping)]
    if m.get("tool_call_id"):
        out["tool_call_id"] = m["tool_call_id"]
    if out["content"] is None and not out.get("tool_calls"):
        raise _Skip("message without content")
    return out


def chat_example(rec: Mapping[str, Any]) -> dict[str, Any]:
    """Return the fine-tuning example for one record.

    Raises:
        ValueError: the record cannot be an example; the message is the reason.
    """
    try:
        if rec.get("status") == "error":
            raise _Skip("error")
        if rec.get("operation") not in (None, "chat"):
            raise _Skip(f"not a chat ({rec.get('operation')})")
        prompt = rec.get("prompt_messages")
        if not isinstance(prompt, list) or not prompt:
            raise _Skip("no prompt messages")
        messages = [_message(m) for m in prompt]
        params = rec.get("params")
        system = params.get("system") if isinstance(params, Mapping) else None
        if system and not any(m["role"] in ("system", "developer") for m in messages):
            messages.insert(0, {"role": "system", "content": _content(system)})
        reply: dict[str, Any] = {"role": "assistant"}
        out = rec.get("parsed_output")
        text = (
            out
            if isinstance(out, str)
            else (None if out is None else text_of(out) or orjson.dumps(out).decode())
        )
        calls = [_tool_call(tc) for tc in rec.get("tool_calls") or () if isinstance(tc, Mapping)]
        if not text and not calls:
            raise _Skip("no assistant reply")
        reply["content"] = text or None
        if calls:
            reply["tool_calls"] = calls
        messages.append(reply)
    except _Skip as skip:
        raise ValueError(str(skip)) from None
    return {"messages": messages}


@dataclass
class ChatExamples:
    """Turn records into deduplicated fine-tuning examples, counting the skipped by reason.

    Example::

        examples = ChatExamples()
        for rec in store.iter_records(Query(status="ok", min_score=4)):
            ex = examples.add(rec)
            if ex is not None:
                out.write(orjson.dumps(ex) + b"\\n")
        print(examples.written, dict(examples.skipped))

    .. versionadded:: 0.1
    """

    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    _seen: set[bytes] = field(default_factory=set, repr=False)

    def add(self, rec: Mapping[str, Any]) -> dict[str, Any] | None:
        """Return the example for ``rec``, or None if it is skipped (and counted)."""
        try:
            ex = chat_example(rec)
        except ValueError as why:
            self.skipped[str(why)] += 1
            return None
        digest = hashlib.blake2b(
            orjson.dumps(ex, option=orjson.OPT_SORT_KEYS), digest_size=16
        ).digest()
        if digest in self._seen:
            self.skipped["duplicate"] += 1
            return None
        self._seen.add(digest)
        self.written += 1
        return ex


# -- import --------------------------------------------------------------------------------------

_PREFIX_TIME = re.compile(rb"^\s*(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:[,.](\d{1,6}))?")
_ID_NAMESPACE = uuid.UUID("6f2b0f5e-3a7c-4c59-9a43-3b1f1e0c9d21")


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """What one import line holds.

    Attributes:
        kind: ``interaction``, ``feedback``, ``blank`` (nothing to do), ``other``
            (a line without a JSON object, or a JSON event that is not llmlog's:
            skipped), or ``malformed`` (looks like a record but is not usable).
        fields: the record fields to write (interaction or feedback).
        reason: why a line is ``malformed`` or ``other``.
    """

    kind: str
    fields: dict[str, Any] | None = None
    reason: str = ""


def _prefix_time(line: bytes) -> float | None:
    m = _PREFIX_TIME.match(line)
    if not m:
        return None
    frac = (m.group(3) or b"0").decode()
    try:
        dt = datetime.fromisoformat(f"{m.group(1).decode()}T{m.group(2).decode()}")
    except ValueError:
        return None
    return float(dt.timestamp() + int(frac) / 10 ** len(frac))


def _timestamp(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        v = float(value)
        return v / 1000 if v > 1e11 else v  # milliseconds since the epoch
    if isinstance(value, str):
        s = value.strip()
        try:
            return _timestamp(float(s))
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s).timestamp()
        except ValueError:
            return None
    return None


_CONTENT_KEYS = ("prompt_messages", "llm_raw_response", "parsed_output", "messages")


def parse_line(line: bytes) -> ParsedLine:
    """Parse one import line: llmlog JSON, or a classic-snippet log line with a prefix.

    A line may carry any prefix before its JSON object (such as ``2025-01-01
    12:00:00,123 - app - INFO - ``); a timestamp at the start of the prefix
    (local time, as ``logging`` writes ``asctime``) stands in for a missing
    ``timestamp``. An interaction without a ``request_id`` gets one derived
    from its content, so importing it twice does not duplicate it.
    """
    text = line.strip()
    if not text:
        return ParsedLine("blank")
    start = text.find(b"{")
    if start < 0:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            return ParsedLine("other", reason="no JSON object")
        return ParsedLine("malformed", reason="not a JSON object")
    try:
        obj = orjson.loads(text[start:])
    except orjson.JSONDecodeError as exc:
        return ParsedLine("malformed", reason=f"invalid JSON ({str(exc).split(':')[0]})")
    if not isinstance(obj, dict):
        return ParsedLine("malformed", reason="not a JSON object")
    event = obj.get("event")
    if event == "llm_feedback":
        rid, score, ts = obj.get("request_id"), obj.get("score"), _timestamp(obj.get("timestamp"))
        if (
            not isinstance(rid, str)
            or isinstance(score, bool)
            or not isinstance(score, (int, float))
        ):
            return ParsedLine("malformed", reason="feedback without request_id or score")
        if ts is None:
            ts = _prefix_time(text[:start])
        if ts is None:
            return ParsedLine("malformed", reason="feedback without timestamp")
        return ParsedLine(
            "feedback",
            {
                "request_id": rid,
                "score": float(score),
                "comment": obj.get("comment"),
                "timestamp": ts,
            },
        )
    if event not in (None, "llm_interaction"):
        return ParsedLine("other", reason=f"event {event!r}")
    if not any(k in obj for k in _CONTENT_KEYS):
        if event is None:
            return ParsedLine("other", reason="not an llm interaction")
        return ParsedLine("malformed", reason="no prompt_messages, response or output")
    if "messages" in obj and "prompt_messages" not in obj:
        obj["prompt_messages"] = obj.pop("messages")
    ts = _timestamp(obj.get("timestamp"))
    if ts is None:
        ts = _prefix_time(text[:start])
    if ts is None:
        return ParsedLine("malformed", reason="no timestamp")
    rid = obj.get("request_id")
    if rid is None or rid == "":
        digest = hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()
        rid = str(uuid.uuid5(_ID_NAMESPACE, digest))
    elif not isinstance(rid, (str, int)):
        return ParsedLine("malformed", reason="request_id is not a string")
    obj["request_id"] = str(rid)
    obj["timestamp"] = ts
    obj["event"] = "llm_interaction"
    return ParsedLine("interaction", obj)
