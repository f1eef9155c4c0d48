"""Rebuild the non-streaming response from the chunks of a stream.

A stream's record holds the response "as if it had not been streamed": the same
shape as the provider's non-streaming response (``chat.completion``, ``message``,
``response``, ``text_completion``), so the pipeline derives text, tool calls,
finish reasons and usage from it exactly as for a plain call, and ``jq`` queries
work on both. Never a list of chunks.

Each assembler takes chunks one at a time (``add``, on the thread that reads the
stream: only attribute reads and list appends, no string concatenation) and
builds the response at the end (``result``), also from a stream that was cut or
closed early (partial output). Chunks may be SDK objects (attribute access) or
plain dicts (LiteLLM, tests): :func:`_get` reads both.

The shapes follow the providers' documented streaming protocols:

* OpenAI chat: ``choices[i].delta`` with ``content``, ``refusal``,
  ``tool_calls[j]`` (``index``, ``id``, ``function.name``, ``function.arguments``
  fragments), ``finish_reason``; a final chunk with empty ``choices`` and
  ``usage`` when ``stream_options={"include_usage": True}``.
* OpenAI Responses: typed events; ``response.completed`` / ``failed`` /
  ``incomplete`` carry the whole response, the deltas rebuild a partial one.
* Anthropic: ``message_start``, ``content_block_start`` / ``_delta`` / ``_stop``
  (``text_delta``, ``input_json_delta``, ``thinking_delta``, ``signature_delta``,
  ``citations_delta``), ``message_delta`` (stop reason, final usage),
  ``message_stop``.
"""

from __future__ import annotations

from typing import Any

import orjson

from llmlog.capture._call import field_names, to_dict

__all__ = [
    "AnthropicMessagesAssembler",
    "OpenAIChatAssembler",
    "OpenAICompletionAssembler",
    "OpenAIResponsesAssembler",
]


class _Attrs:
    """A read-only mapping view of an object's attributes (for non-pydantic chunks)."""

    __slots__ = ("_obj",)

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self._obj, name, default)


def _view(obj: Any) -> Any:
    """Return something with ``.get(name)`` that reads the fields of a chunk.

    A pydantic model (every SDK type) keeps its field values in ``__dict__`` and
    unknown wire fields (``reasoning_content`` from a compatible server) in
    ``__pydantic_extra__``: plain dict lookups, where ``getattr`` on an absent
    field would raise and catch an AttributeError inside pydantic (microseconds
    per chunk).
    """
    if type(obj) is dict:
        return obj
    if obj is None:
        return _EMPTY
    if field_names(type(obj)) is not None:
        d = obj.__dict__
        extra = obj.__pydantic_extra__
        return {**d, **extra} if extra else d
    return _Attrs(obj)


_EMPTY: dict[str, Any] = {}


def _get(obj: Any, name: str) -> Any:
    return _view(obj).get(name)


_HEAD_KEYS = ("id", "created", "model", "system_fingerprint", "service_tier")


def _update_head(head: dict[str, Any], chunk: Any) -> None:
    if len(head) == len(_HEAD_KEYS):
        return
    for key in _HEAD_KEYS:
        if key not in head:
            v = chunk.get(key)
            if v is not None:
                head[key] = v


class _ToolCall:
    __slots__ = ("args", "id", "name", "type")

    def __init__(self) -> None:
        self.id: Any = None
        self.type: Any = None
        self.name: Any = None
        self.args: list[str] = []


class _Choice:
    __slots__ = (
        "content",
        "finish",
        "function_call",
        "logprobs",
        "reasoning",
        "refusal",
        "role",
        "tools",
    )

    def __init__(self) -> None:
        self.role: Any = None
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.reasoning: list[str] = []
        self.tools: dict[int, _ToolCall] = {}
        self.function_call: _ToolCall | None = None
        self.finish: Any = None
        self.logprobs: list[Any] = []


class OpenAIChatAssembler:
    """Rebuild a ``chat.completion`` from ``chat.completion.chunk`` objects.

    Also serves LiteLLM (whose chunks have the same shape) and OpenAI-compatible
    servers (``reasoning_content`` deltas are kept).
    """

    def __init__(self) -> None:
        self.head: dict[str, Any] = {}
        self.usage: Any = None
        self.choices: dict[int, _Choice] = {}

    def add(self, chunk: Any) -> None:
        """Take one chunk."""
        v = _view(chunk)
        _update_head(self.head, v)
        usage = v.get("usage")
        if usage:
            self.usage = usage
        for ch in v.get("choices") or ():
            cv = _view(ch)
            idx = cv.get("index") or 0
            c = self.choices.get(idx)
            if c is None:
                c = self.choices[idx] = _Choice()
            delta = cv.get("delta")
            if delta is not None:
                d = _view(delta)
                role = d.get("role")
                if role:
                    c.role = role
                text = d.get("content")
                if text:
                    c.content.append(text)
                refusal = d.get("refusal")
                if refusal:
                    c.refusal.append(refusal)
                reasoning = d.get("reasoning_content")
                if reasoning:
                    c.reasoning.append(reasoning)
                tool_calls = d.get("tool_calls")
                if tool_calls:
                    for pos, tc in enumerate(tool_calls):
                        self._tool_delta(c, tc, pos)
                fc = d.get("function_call")
                if fc:
                    if c.function_call is None:
                        c.function_call = _ToolCall()
                    self._function_delta(c.function_call, fc)
            finish = cv.get("finish_reason")
            if finish:
                c.finish = finish
            logprobs = cv.get("logprobs")
            if logprobs:
                content = _get(logprobs, "content")
                if content:
                    c.logprobs.extend(content)

    @staticmethod
    def _tool_delta(c: _Choice, tc: Any, pos: int) -> None:
        t = _view(tc)
        i = t.get("index")
        if not isinstance(i, int):
            i = pos
        call = c.tools.get(i)
        if call is None:
            call = c.tools[i] = _ToolCall()
        tid = t.get("id")
        if tid:
            call.id = tid
        typ = t.get("type")
        if typ:
            call.type = typ
        fn = t.get("function")
        if fn is not None:
            OpenAIChatAssembler._function_delta(call, fn)

    @staticmethod
    def _function_delta(call: _ToolCall, fn: Any) -> None:
        f = _view(fn)
        name = f.get("name")
        if name and not call.name:
            call.name = name
        args = f.get("arguments")
        if args:
            call.args.append(args)

    def final_usage(self) -> bool:
        """Whether the provider sent usage (only with ``include_usage``)."""
        return bool(self.usage)

    def result(self) -> dict[str, Any]:
        """Return the ``chat.completion`` rebuilt so far."""
        head = self.head
        choices = []
        for idx in sorted(self.choices):
            c = self.choices[idx]
            msg: dict[str, Any] = {
                "role": c.role or "assistant",
                "content": "".join(c.content) if c.content else (None if c.tools else ""),
            }
            if c.refusal:
                msg["refusal"] = "".join(c.refusal)
            if c.reasoning:
                msg["reasoning_content"] = "".join(c.reasoning)
            if c.tools:
                msg["tool_calls"] = [
                    {
                        "id": t.id,
                        "type": t.type or "function",
                        "function": {"name": t.name, "arguments": "".join(t.args)},
                    }
                    for _, t in sorted(c.tools.items())
                ]
            if c.function_call is not None:
                msg["function_call"] = {
                    "name": c.function_call.name,
                    "arguments": "".join(c.function_call.args),
                }
            choices.append(
                {
                    "index": idx,
                    "message": msg,
                    "finish_reason": c.finish,
                    "logprobs": {"content": [to_dict(x) for x in c.logprobs]}
                    if c.logprobs
                    else None,
                }
            )
        out: dict[str, Any] = {
            "id": head.get("id"),
            "object": "chat.completion",
            "created": head.get("created"),
            "model": head.get("model"),
            "choices": choices,
        }
        for key in ("system_fingerprint", "service_tier"):
            if key in head:
                out[key] = head[key]
        if self.usage:
            out["usage"] = to_dict(self.usage)
        return out

    def outputs(self) -> list[str]:
        """Return the output text and tool arguments of every choice."""
        out: list[str] = []
        for c in self.choices.values():
            out.append("".join(c.content))
            out.extend("".join(t.args) for t in c.tools.values())
            if c.function_call is not None:
                out.append("".join(c.function_call.args))
        return out


class OpenAICompletionAssembler:
    """Rebuild a ``text_completion`` from the chunks of a legacy completions stream."""

    def __init__(self) -> None:
        self.head: dict[str, Any] = {}
        self.usage: Any = None
        self.texts: dict[int, list[str]] = {}
        self.finish: dict[int, Any] = {}

    def add(self, chunk: Any) -> None:
        """Take one chunk."""
        v = _view(chunk)
        _update_head(self.head, v)
        usage = v.get("usage")
        if usage:
            self.usage = usage
        for ch in v.get("choices") or ():
            cv = _view(ch)
            idx = cv.get("index") or 0
            parts = self.texts.setdefault(idx, [])
            text = cv.get("text")
            if text:
                parts.append(text)
            finish = cv.get("finish_reason")
            if finish:
                self.finish[idx] = finish

    def final_usage(self) -> bool:
        """Whether the provider sent usage."""
        return bool(self.usage)

    def result(self) -> dict[str, Any]:
        """Return the ``text_completion`` rebuilt so far."""
        head = self.head
        out: dict[str, Any] = {
            "id": head.get("id"),
            "object": "text_completion",
            "created": head.get("created"),
            "model": head.get("model"),
            "choices": [
                {
                    "index": i,
                    "text": "".join(p),
                    "finish_reason": self.finish.get(i),
                    "logprobs": None,
                }
                for i, p in sorted(self.texts.items())
            ],
        }
        if "system_fingerprint" in head:
            out["system_fingerprint"] = head["system_fingerprint"]
        if self.usage:
            out["usage"] = to_dict(self.usage)
        return out

    def outputs(self) -> list[str]:
        """Return the output text of every choice."""
        return ["".join(p) for p in self.texts.values()]


_RESPONSE_FINAL = frozenset({"response.completed", "response.failed", "response.incomplete"})
_RESPONSE_SNAPSHOT = frozenset({"response.created", "response.in_progress", "response.queued"})


class OpenAIResponsesAssembler:
    """Rebuild a ``response`` from the events of a Responses API stream."""

    def __init__(self) -> None:
        self.final: Any = None
        self.snapshot: Any = None
        self.items: dict[int, Any] = {}
        self.done: set[int] = set()
        self.text: dict[tuple[int, int], list[str]] = {}
        self.args: dict[int, list[str]] = {}

    def add(self, event: Any) -> None:
        """Take one event."""
        e = _view(event)
        t = e.get("type")
        if t == "response.output_text.delta":
            key = (e.get("output_index") or 0, e.get("content_index") or 0)
            parts = self.text.get(key)
            if parts is None:
                parts = self.text[key] = []
            parts.append(e.get("delta") or "")
        elif t == "response.function_call_arguments.delta":
            self.args.setdefault(e.get("output_index") or 0, []).append(e.get("delta") or "")
        elif t == "response.output_item.added":
            self.items[e.get("output_index") or 0] = e.get("item")
        elif t == "response.output_item.done":
            idx = e.get("output_index") or 0
            self.items[idx] = e.get("item")
            self.done.add(idx)
        elif t in _RESPONSE_FINAL:
            self.final = e.get("response")
        elif t in _RESPONSE_SNAPSHOT:
            self.snapshot = e.get("response")

    def final_usage(self) -> bool:
        """Whether the final response (which carries usage) arrived."""
        return self.final is not None and bool(_get(self.final, "usage"))

    def result(self) -> dict[str, Any]:
        """Return the final response, or one rebuilt from the events so far."""
        if self.final is not None:
            return dict(to_dict(self.final))
        base = dict(to_dict(self.snapshot) or {})
        base.setdefault("object", "response")
        output = []
        for idx in sorted(self.items):
            item = dict(to_dict(self.items[idx]) or {})
            if idx not in self.done:
                if item.get("type") == "message":
                    item["content"] = [
                        {"type": "output_text", "text": "".join(parts), "annotations": []}
                        for (oi, _), parts in sorted(self.text.items())
                        if oi == idx
                    ]
                elif item.get("type") == "function_call":
                    item["arguments"] = "".join(self.args.get(idx, ()))
            output.append(item)
        base["output"] = output
        return base

    def outputs(self) -> list[str]:
        """Return the output text and function-call arguments."""
        out: list[str] = []
        for item in self.result().get("output") or ():
            if not isinstance(item, dict):
                continue
            if item.get("type") == "message":
                out.extend(
                    str(p.get("text", "")) for p in item.get("content") or () if isinstance(p, dict)
                )
            elif item.get("type") == "function_call":
                out.append(str(item.get("arguments") or ""))
        return out


class _Block:
    __slots__ = ("citations", "parts", "signature", "start")

    def __init__(self, start: Any) -> None:
        self.start = start
        self.parts: list[str] = []
        self.signature: Any = None
        self.citations: list[Any] = []

    def build(self) -> dict[str, Any]:
        block = dict(to_dict(self.start) or {})
        typ = block.get("type")
        joined = "".join(self.parts)
        if typ == "text":
            block["text"] = (block.get("text") or "") + joined
            if self.citations:
                block["citations"] = [to_dict(c) for c in self.citations]
        elif typ == "thinking":
            block["thinking"] = (block.get("thinking") or "") + joined
            if self.signature is not None:
                block["signature"] = self.signature
        elif self.parts:  # tool_use, server_tool_use, mcp_tool_use: JSON input fragments
            try:
                block["input"] = orjson.loads(joined)
            except orjson.JSONDecodeError:
                block["input"] = joined  # cut mid-way: keep what arrived
        return block


class AnthropicMessagesAssembler:
    """Rebuild a ``message`` from the events of an Anthropic Messages stream."""

    def __init__(self) -> None:
        self.message: Any = None
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, _Block] = {}
        self.stop_reason: Any = None
        self.stop_sequence: Any = None
        self.got_delta = False

    def add(self, event: Any) -> None:
        """Take one event."""
        e = _view(event)
        t = e.get("type")
        if t == "content_block_delta":
            idx = e.get("index") or 0
            block = self.blocks.get(idx)
            if block is None:
                block = self.blocks[idx] = _Block({"type": "text", "text": ""})
            d = _view(e.get("delta"))
            dt = d.get("type")
            if dt == "text_delta":
                block.parts.append(d.get("text") or "")
            elif dt == "input_json_delta":
                block.parts.append(d.get("partial_json") or "")
            elif dt == "thinking_delta":
                block.parts.append(d.get("thinking") or "")
            elif dt == "signature_delta":
                block.signature = d.get("signature")
            elif dt == "citations_delta":
                block.citations.append(d.get("citation"))
        elif t == "content_block_start":
            self.blocks[e.get("index") or 0] = _Block(e.get("content_block"))
        elif t == "message_start":
            self.message = e.get("message")
            self._merge_usage(_get(self.message, "usage"))
        elif t == "message_delta":
            self.got_delta = True
            d = _view(e.get("delta"))
            self.stop_reason = d.get("stop_reason") or self.stop_reason
            self.stop_sequence = d.get("stop_sequence") or self.stop_sequence
            self._merge_usage(e.get("usage"))

    def _merge_usage(self, usage: Any) -> None:
        if usage:
            for key, value in (to_dict(usage) or {}).items():
                if value is not None:
                    self.usage[key] = value

    def final_usage(self) -> bool:
        """Whether the final usage (in ``message_delta``) arrived."""
        return self.got_delta and bool(self.usage)

    def result(self) -> dict[str, Any]:
        """Return the ``message`` rebuilt so far."""
        msg = dict(to_dict(self.message) or {"type": "message", "role": "assistant"})
        msg["content"] = [self.blocks[i].build() for i in sorted(self.blocks)]
        if self.stop_reason is not None:
            msg["stop_reason"] = self.stop_reason
        if self.stop_sequence is not None:
            msg["stop_sequence"] = self.stop_sequence
        if self.usage:
            msg["usage"] = dict(self.usage)
        return msg

    def outputs(self) -> list[str]:
        """Return the text, thinking and tool input of every block."""
        return ["".join(b.parts) for b in self.blocks.values()]
