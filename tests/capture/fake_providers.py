"""The wire protocols of Gemini, Ollama, Bedrock and Cohere v2, for the fake server.

:mod:`fake_llm` routes these paths here (Mistral and Groq speak OpenAI's chat
protocol and are answered by the OpenAI handler):

* Gemini API: ``POST /v1beta/models/<m>:generateContent``,
  ``:streamGenerateContent?alt=sse`` (SSE of whole ``GenerateContentResponse``
  chunks), ``:batchEmbedContents``, ``:embedContent``; a ``functionCall`` part when
  ``tools`` are offered and the last content is not a ``functionResponse``.
* Ollama: ``POST /api/chat``, ``/api/generate`` (JSON, or NDJSON lines ending with
  ``done: true`` and the counts), ``/api/embed``; ``tool_calls`` when tools are
  offered and the last message is not a tool's.
* Bedrock runtime: ``POST /model/<id>/converse``, ``/converse-stream`` and
  ``/invoke-with-response-stream`` (AWS event-stream binary frames with CRCs),
  ``/invoke`` (the model family's own JSON: Anthropic, Nova, Titan, Llama).
* Cohere v2: ``POST /v2/chat`` (JSON, or SSE of typed events), ``/v2/embed``.

Answers follow :mod:`fake_llm`: ``"echo: " + <last user text>``, word pieces,
usage from :func:`fake_llm.usage_for`; ``x-fake-status`` makes an error in each
protocol's own error shape.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any
from urllib.parse import unquote

from fake_llm import answer_text, chunks_of, usage_for

__all__ = ["route"]

VECTOR = [0.25, -0.5, 0.125, 1.0, 0.0, 0.75, -0.25, 0.5]


def _texts(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if isinstance(parts, list):
        return " ".join(
            str(p.get("text", "")) for p in parts if isinstance(p, dict) and "text" in p
        )
    return ""


# -- Gemini -------------------------------------------------------------------------------------


def _gemini_user(contents: Any) -> tuple[str, bool]:
    """The last user text, and whether the last content is a function's response."""
    if not isinstance(contents, list) or not contents:
        return "", False
    last = contents[-1]
    parts = last.get("parts") or []
    if any(isinstance(p, dict) and "functionResponse" in p for p in parts):
        resp = next(p["functionResponse"] for p in parts if "functionResponse" in p)
        return json.dumps(resp.get("response")), True
    for c in reversed(contents):
        if c.get("role", "user") == "user":
            return _texts(c.get("parts")), False
    return "", False


def gemini(h: Any, path: str, body: dict[str, Any], status: str | None) -> None:
    model = path.rsplit("models/", 1)[-1].split(":", 1)[0]
    verb = path.rsplit(":", 1)[-1]
    if status:
        kind = "RESOURCE_EXHAUSTED" if status == "429" else "INTERNAL"
        h._json(
            int(status), {"error": {"code": int(status), "message": "fake error", "status": kind}}
        )
        return
    if verb == "countTokens":
        h._json(200, {"totalTokens": len(str(body).split())})
        return
    if verb in ("batchEmbedContents", "embedContent"):
        if verb == "embedContent":
            h._json(200, {"embedding": {"values": VECTOR}})
        else:
            h._json(200, {"embeddings": [{"values": VECTOR} for _ in body.get("requests") or []]})
        return
    prompt, after_tool = _gemini_user(body.get("contents"))
    tools = body.get("tools") or []
    decls = [d for t in tools for d in (t.get("functionDeclarations") or [])]
    text = answer_text(prompt)
    inp, out = usage_for(prompt, text)
    usage = {"promptTokenCount": inp, "candidatesTokenCount": out, "totalTokenCount": inp + out}
    head = {"modelVersion": model + "-001", "responseId": f"resp-{h.server.next_id()}"}
    if decls and not after_tool:
        call = {"name": decls[0]["name"], "args": {"query": prompt}}
        payload = {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"functionCall": call}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": usage,
            **head,
        }
        if verb == "streamGenerateContent":
            h._sse([(None, payload)])
        else:
            h._json(200, payload)
        return
    if verb == "generateContent":
        h._json(
            200,
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": usage,
                **head,
            },
        )
        return
    pieces = chunks_of(text)
    events: list[tuple[str | None, Any]] = []
    for i, piece in enumerate(pieces):
        cand: dict[str, Any] = {
            "content": {"role": "model", "parts": [{"text": piece}]},
            "index": 0,
        }
        last = i == len(pieces) - 1
        if last:
            cand["finishReason"] = "STOP"
        chunk = {
            "candidates": [cand],
            "usageMetadata": usage if last else {"promptTokenCount": inp, "totalTokenCount": inp},
            **head,
        }
        events.append((None, chunk))
    h._sse(events)


# -- Ollama -------------------------------------------------------------------------------------


def _ndjson(h: Any, lines: list[dict[str, Any]]) -> None:
    h.send_response(200)
    h.send_header("content-type", "application/x-ndjson")
    h.send_header("transfer-encoding", "chunked")
    h.end_headers()
    for line in lines:
        raw = json.dumps(line).encode() + b"\n"
        h.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
        h.wfile.flush()
    h.wfile.write(b"0\r\n\r\n")
    h.wfile.flush()


def ollama(h: Any, path: str, body: dict[str, Any], status: str | None) -> None:
    if status:
        h._json(int(status), {"error": "fake error"})
        return
    if path not in ("/api/chat", "/api/generate", "/api/embed"):
        h._json(404, {"error": f"no route {path}"})
        return
    model = body.get("model")
    counts = {
        "total_duration": 1000,
        "load_duration": 10,
        "prompt_eval_duration": 100,
        "eval_duration": 500,
    }
    if path == "/api/embed":
        inputs = body.get("input")
        n = len(inputs) if isinstance(inputs, list) else 1
        h._json(
            200, {"model": model, "embeddings": [VECTOR] * n, "prompt_eval_count": 3 * n, **counts}
        )
        return
    stamp = "2026-12-06T10:00:00.000000Z"
    if path == "/api/generate":
        prompt = str(body.get("prompt") or "")
        key = "response"
    else:
        msgs = body.get("messages") or []
        last = msgs[-1] if msgs else {}
        prompt = (
            str(last.get("content", "")) if last.get("role") != "tool" else str(last.get("content"))
        )
        if last.get("role") != "tool":
            prompt = next(
                (str(m.get("content", "")) for m in reversed(msgs) if m.get("role") == "user"), ""
            )
        key = "message"
    text = answer_text(prompt)
    inp, out = usage_for(prompt, text)
    tools = body.get("tools") or []
    after_tool = key == "message" and (body.get("messages") or [{}])[-1].get("role") == "tool"
    final = {
        "model": model,
        "created_at": stamp,
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": inp,
        "eval_count": out,
        **counts,
    }
    calls = None
    if tools and not after_tool and key == "message":
        calls = [
            {"function": {"name": tools[0]["function"]["name"], "arguments": {"query": prompt}}}
        ]
    if not body.get("stream", True):
        if key == "message":
            msg: dict[str, Any] = {"role": "assistant", "content": "" if calls else text}
            if calls:
                msg["tool_calls"] = calls
            h._json(200, {**final, "message": msg})
        else:
            h._json(200, {**final, "response": text, "context": [1, 2, 3]})
        return
    lines: list[dict[str, Any]] = []
    if calls:
        lines.append(
            {
                "model": model,
                "created_at": stamp,
                "message": {"role": "assistant", "content": "", "tool_calls": calls},
                "done": False,
            }
        )
    else:
        for piece in chunks_of(text):
            part: Any = {"role": "assistant", "content": piece} if key == "message" else piece
            lines.append({"model": model, "created_at": stamp, key: part, "done": False})
    end = {**final, key: {"role": "assistant", "content": ""} if key == "message" else ""}
    lines.append(end)
    _ndjson(h, lines)


# -- Bedrock ------------------------------------------------------------------------------------


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack("!B", len(n)) + n + b"\x07" + struct.pack("!H", len(v)) + v


def event_frame(event_type: str, payload: dict[str, Any]) -> bytes:
    """One AWS event-stream message (``application/vnd.amazon.eventstream``)."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", "event")
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack("!II", total, len(headers))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack("!I", zlib.crc32(message) & 0xFFFFFFFF)


def _event_stream(h: Any, frames: list[bytes]) -> None:
    h.send_response(200)
    h.send_header("content-type", "application/vnd.amazon.eventstream")
    h.send_header("transfer-encoding", "chunked")
    h.send_header("x-amzn-requestid", f"req-{h.server.next_id()}")
    h.end_headers()
    for frame in frames:
        h.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
        h.wfile.flush()
    h.wfile.write(b"0\r\n\r\n")
    h.wfile.flush()


def _converse_user(messages: Any) -> tuple[str, bool]:
    if not isinstance(messages, list) or not messages:
        return "", False
    content = messages[-1].get("content") or []
    for block in content:
        if isinstance(block, dict) and "toolResult" in block:
            return _texts(block["toolResult"].get("content")), True
    for m in reversed(messages):
        if m.get("role") == "user":
            return _texts(m.get("content")), False
    return "", False


def bedrock(h: Any, path: str, raw: bytes, status: str | None) -> None:
    parts = path.split("/")
    model, action = unquote(parts[2]), parts[3]
    if status:
        kind = "ThrottlingException" if status == "429" else "InternalServerException"
        data = json.dumps({"message": "fake error"}).encode()
        h.send_response(int(status))
        h.send_header("content-type", "application/json")
        h.send_header("x-amzn-errortype", kind)
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        return
    body = json.loads(raw) if raw else {}
    if action in ("converse", "converse-stream"):
        prompt, after_tool = _converse_user(body.get("messages"))
        text = answer_text(prompt)
        inp, out = usage_for(prompt, text)
        usage = {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out}
        tools = (body.get("toolConfig") or {}).get("tools") or []
        tool = tools[0]["toolSpec"]["name"] if tools and not after_tool else None
        if action == "converse":
            content: list[dict[str, Any]] = (
                [{"toolUse": {"toolUseId": "tooluse_1", "name": tool, "input": {"query": prompt}}}]
                if tool
                else [{"text": text}]
            )
            h._json(
                200,
                {
                    "output": {"message": {"role": "assistant", "content": content}},
                    "stopReason": "tool_use" if tool else "end_turn",
                    "usage": usage,
                    "metrics": {"latencyMs": 12},
                },
            )
            return
        frames = [event_frame("messageStart", {"role": "assistant"})]
        if tool:
            args = json.dumps({"query": prompt})
            frames.append(
                event_frame(
                    "contentBlockStart",
                    {
                        "contentBlockIndex": 0,
                        "start": {"toolUse": {"toolUseId": "tooluse_1", "name": tool}},
                    },
                )
            )
            half = len(args) // 2
            for piece in (args[:half], args[half:]):
                frames.append(
                    event_frame(
                        "contentBlockDelta",
                        {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}},
                    )
                )
        else:
            for piece in chunks_of(text):
                frames.append(
                    event_frame(
                        "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}}
                    )
                )
        frames.append(event_frame("contentBlockStop", {"contentBlockIndex": 0}))
        frames.append(
            event_frame("messageStop", {"stopReason": "tool_use" if tool else "end_turn"})
        )
        frames.append(event_frame("metadata", {"usage": usage, "metrics": {"latencyMs": 12}}))
        _event_stream(h, frames)
        return
    # invoke / invoke-with-response-stream: the model family's own body
    if "messages" in body and "anthropic_version" in body:
        prompt = (
            _texts(body["messages"][-1].get("content"))
            if isinstance(body["messages"][-1].get("content"), list)
            else str(body["messages"][-1].get("content"))
        )
        family = "anthropic"
    elif "messages" in body:
        prompt, _ = _converse_user(body["messages"])
        family = "nova"
    elif "inputText" in body:
        prompt, family = str(body["inputText"]), "titan"
    else:
        prompt, family = str(body.get("prompt", "")), "llama"
    if "embed" in model:
        h._json(200, {"embedding": VECTOR, "inputTextTokenCount": 3})
        return
    text = answer_text(prompt)
    inp, out = usage_for(prompt, text)
    if action == "invoke":
        if family == "anthropic":
            payload: dict[str, Any] = {
                "id": "msg_bdrk_1",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": inp, "output_tokens": out},
            }
        elif family == "nova":
            payload = {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out},
            }
        elif family == "titan":
            payload = {
                "inputTextTokenCount": inp,
                "results": [{"tokenCount": out, "outputText": text, "completionReason": "FINISH"}],
            }
        else:
            payload = {
                "generation": text,
                "prompt_token_count": inp,
                "generation_token_count": out,
                "stop_reason": "stop",
            }
        h._json(200, payload)
        return
    metrics = {
        "inputTokenCount": inp,
        "outputTokenCount": out,
        "invocationLatency": 20,
        "firstByteLatency": 5,
    }
    bodies: list[dict[str, Any]] = []
    if family == "anthropic":
        bodies.append(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_bdrk_1",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "usage": {"input_tokens": inp, "output_tokens": 1},
                },
            }
        )
        bodies.append(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        )
        bodies += [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
            for p in chunks_of(text)
        ]
        bodies.append({"type": "content_block_stop", "index": 0})
        bodies.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": out},
            }
        )
        bodies.append({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics})
    elif family == "titan":
        pieces = chunks_of(text)
        for i, p in enumerate(pieces):
            b: dict[str, Any] = {"outputText": p, "index": 0}
            if i == len(pieces) - 1:
                b["completionReason"] = "FINISH"
                b["amazon-bedrock-invocationMetrics"] = metrics
            bodies.append(b)
    else:
        pieces = chunks_of(text)
        for i, p in enumerate(pieces):
            b = {"generation": p, "stop_reason": None}
            if i == len(pieces) - 1:
                b["stop_reason"] = "stop"
                b["amazon-bedrock-invocationMetrics"] = metrics
            bodies.append(b)
    frames = [
        event_frame("chunk", {"bytes": base64.b64encode(json.dumps(b).encode()).decode()})
        for b in bodies
    ]
    _event_stream(h, frames)


# -- Cohere v2 ----------------------------------------------------------------------------------


def cohere(h: Any, path: str, body: dict[str, Any], status: str | None) -> None:
    if status:
        h._json(int(status), {"message": "fake error"})
        return
    n = h.server.next_id()
    if path.endswith("/v2/embed"):
        texts = body.get("texts") or []
        h._json(
            200,
            {
                "id": f"emb-{n}",
                "embeddings": {"float": [VECTOR for _ in texts]},
                "texts": texts,
                "meta": {
                    "api_version": {"version": "2"},
                    "billed_units": {"input_tokens": 2 * len(texts)},
                },
                "response_type": "embeddings_by_type",
            },
        )
        return
    msgs = body.get("messages") or []
    after_tool = bool(msgs) and msgs[-1].get("role") == "tool"
    if after_tool:
        content = msgs[-1].get("content")
        prompt = _texts(content) if isinstance(content, list) else str(content)
    else:
        prompt = next(
            (_texts(m.get("content")) for m in reversed(msgs) if m.get("role") == "user"), ""
        )
    text = answer_text(prompt)
    inp, out = usage_for(prompt, text)
    usage = {
        "billed_units": {"input_tokens": inp, "output_tokens": out},
        "tokens": {"input_tokens": inp + 5, "output_tokens": out},
    }
    tools = body.get("tools") or []
    tool = tools[0]["function"]["name"] if tools and not after_tool else None
    args = json.dumps({"query": prompt})
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant"}
        if tool:
            message["tool_plan"] = "I will call the tool."
            message["tool_calls"] = [
                {
                    "id": f"call_{n}",
                    "type": "function",
                    "function": {"name": tool, "arguments": args},
                }
            ]
        else:
            message["content"] = [{"type": "text", "text": text}]
        h._json(
            200,
            {
                "id": f"chat-{n}",
                "finish_reason": "TOOL_CALL" if tool else "COMPLETE",
                "message": message,
                "usage": usage,
            },
        )
        return
    events: list[tuple[str | None, Any]] = [
        (
            "message-start",
            {
                "type": "message-start",
                "id": f"chat-{n}",
                "delta": {
                    "message": {
                        "role": "assistant",
                        "content": [],
                        "tool_plan": "",
                        "tool_calls": [],
                        "citations": [],
                    }
                },
            },
        )
    ]
    if tool:
        events.append(
            (
                "tool-plan-delta",
                {
                    "type": "tool-plan-delta",
                    "delta": {"message": {"tool_plan": "I will call the tool."}},
                },
            )
        )
        events.append(
            (
                "tool-call-start",
                {
                    "type": "tool-call-start",
                    "index": 0,
                    "delta": {
                        "message": {
                            "tool_calls": {
                                "id": f"call_{n}",
                                "type": "function",
                                "function": {"name": tool, "arguments": ""},
                            }
                        }
                    },
                },
            )
        )
        half = len(args) // 2
        for piece in (args[:half], args[half:]):
            events.append(
                (
                    "tool-call-delta",
                    {
                        "type": "tool-call-delta",
                        "index": 0,
                        "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}},
                    },
                )
            )
        events.append(("tool-call-end", {"type": "tool-call-end", "index": 0}))
    else:
        events.append(
            (
                "content-start",
                {
                    "type": "content-start",
                    "index": 0,
                    "delta": {"message": {"content": {"type": "text", "text": ""}}},
                },
            )
        )
        for piece in chunks_of(text):
            events.append(
                (
                    "content-delta",
                    {
                        "type": "content-delta",
                        "index": 0,
                        "delta": {"message": {"content": {"text": piece}}},
                    },
                )
            )
        events.append(("content-end", {"type": "content-end", "index": 0}))
    events.append(
        (
            "message-end",
            {
                "type": "message-end",
                "delta": {"finish_reason": "TOOL_CALL" if tool else "COMPLETE", "usage": usage},
            },
        )
    )
    h._sse(events)


def route(h: Any, path: str, raw: bytes, body: dict[str, Any], status: str | None) -> bool:
    """Answer a request of one of these protocols; False when the path is not theirs."""
    if path.startswith("/v1beta/models/") or path.startswith("/v1/models/"):
        gemini(h, path, body, status)
    elif path.startswith("/api/"):
        ollama(h, path, body, status)
    elif path.startswith("/model/"):
        bedrock(h, path, raw, status)
    elif path.startswith("/v2/"):
        cohere(h, path, body, status)
    else:
        return False
    return True
