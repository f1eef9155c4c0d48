"""A fake LLM provider on 127.0.0.1 speaking the OpenAI and Anthropic wire protocols.

One HTTP/1.1 server (stdlib ``ThreadingHTTPServer``, keep-alive, chunked SSE)
answers the paths the real SDKs call:

* ``POST .../chat/completions`` (OpenAI, Azure ``/openai/deployments/<d>/...``,
  any OpenAI-compatible ``base_url``): JSON, or SSE chunks with ``[DONE]``;
  tool-call deltas when ``tools`` are offered (text once the last message is a tool's result); a usage chunk when
  ``stream_options.include_usage``; ``{"answer": <prompt>}`` as the text when a
  ``json_schema`` response format is asked for.
* ``POST .../completions``, ``.../responses`` (typed SSE events; a function call when
  tools are offered, then text once the input ends with the call's output),
  ``.../embeddings`` (float or base64 vectors).
* ``POST /v1/messages`` (Anthropic): JSON, or the ``message_start`` ...
  ``message_stop`` event stream, with ``tool_use`` blocks and input JSON deltas.

Gemini, Ollama, Bedrock and Cohere v2 are answered by :mod:`fake_providers`.

Answers are deterministic so a test can check each record against its own call:
the text is ``"echo: " + <last user text>`` split into word chunks, tool
arguments are ``{"query": <last user text>}``, and usage is derived from word
counts (:func:`usage_for`).

Behaviour is chosen per request with headers (the SDKs pass ``extra_headers``):

``x-fake-status``      ``429`` or ``500``: an API error (with ``retry-after-ms: 1``).
``x-fake-fail-first``  an error status for the first attempt only (``x-stainless-retry-count: 0``).
``x-fake-cut``         stream only N events, then drop the connection mid-body.
``x-fake-delay-ms``    wait before the response headers.
``x-fake-chunk-delay-ms`` wait between stream events.
``x-fake-no-usage``    omit usage from a JSON response.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeLLMServer", "answer_text", "usage_for", "user_text"]

CREATED = 1_732_636_800


def user_text(messages: Any) -> str:
    """Return the text of the last user message (OpenAI or Anthropic shape, or a string)."""
    if isinstance(messages, str):
        return messages
    if not isinstance(messages, list):
        return ""
    for m in reversed(messages):
        if not isinstance(m, dict) or m.get("role", "user") != "user":
            continue
        content = m.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def answer_text(prompt: str) -> str:
    """Return the reply the fake model gives to ``prompt``."""
    return f"echo: {prompt}"


def chunks_of(text: str) -> list[str]:
    """Split a reply into stream pieces: words with their leading space."""
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


def usage_for(prompt: str, output: str) -> tuple[int, int]:
    """Return (input, output) token counts the fake model reports."""
    return len(prompt.split()) + 7, len(output.split()) + 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing -------------------------------------------------------------------------------

    def _read_body(self) -> dict[str, Any]:
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        self.raw_body = raw
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", f"req_{self.server.next_id()}")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, Any]]) -> None:
        cut = self.headers.get("x-fake-cut")
        limit = int(cut) if cut else None
        delay = float(self.headers.get("x-fake-chunk-delay-ms") or 0) / 1000
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-request-id", f"req_{self.server.next_id()}")
        self.end_headers()
        for i, (name, data) in enumerate(events):
            if limit is not None and i >= limit:
                # Drop the connection mid-body: no terminating chunk.
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if delay and i:
                time.sleep(delay)
            text = data if isinstance(data, str) else json.dumps(data)
            block = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
            raw = block.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- dispatch -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        body = self._read_body()
        path = self.path.split("?", 1)[0].rstrip("/")
        self.server.record(path, dict(self.headers), body)
        delay = self.headers.get("x-fake-delay-ms")
        if delay:
            time.sleep(float(delay) / 1000)
        status = self.headers.get("x-fake-status")
        first = self.headers.get("x-fake-fail-first")
        if first and self.headers.get("x-stainless-retry-count", "0") == "0":
            status = first
        import fake_providers  # it imports this module's helpers

        if fake_providers.route(self, path, self.raw_body, body, status):
            return
        anthropic = path.endswith("/v1/messages")
        if status:
            self._error(int(status), anthropic)
            return
        if path.endswith("/chat/completions"):
            self._chat(body)
        elif path.endswith("/responses"):
            self._responses(body)
        elif path.endswith("/completions"):
            self._completions(body)
        elif path.endswith("/embeddings"):
            self._embeddings(body)
        elif anthropic:
            self._messages(body)
        else:
            self._json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})

    def _error(self, status: int, anthropic: bool) -> None:
        kind = "rate_limit_error" if status == 429 else "api_error"
        message = "Rate limit reached, slow down" if status == 429 else "The server had an error"
        payload: dict[str, Any] = (
            {"type": "error", "error": {"type": kind, "message": message}}
            if anthropic
            else {"error": {"message": message, "type": kind, "code": None, "param": None}}
        )
        self._json(status, payload, {"retry-after-ms": "1"})

    # -- OpenAI ---------------------------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> None:
        n = self.server.next_id()
        prompt = user_text(body.get("messages"))
        text = answer_text(prompt)
        if (body.get("response_format") or {}).get("type") == "json_schema":
            text = json.dumps({"answer": prompt})  # structured outputs: valid JSON
        model = str(body.get("model")) + "-2024-07-18"
        tools = body.get("tools") or []
        msgs = body.get("messages")
        # a tool's result just came back (an agent's second turn): answer in text
        after_tool = isinstance(msgs, list) and bool(msgs) and msgs[-1].get("role") == "tool"
        tool_name = tools[0]["function"]["name"] if tools and not after_tool else None
        if after_tool:
            text = answer_text(str(msgs[-1].get("content")))
        args = json.dumps({"query": prompt})
        inp, out = usage_for(prompt, args if tool_name else text)
        usage = {
            "prompt_tokens": inp,
            "completion_tokens": out,
            "total_tokens": inp + out,
            "prompt_tokens_details": {"cached_tokens": 2, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 1, "audio_tokens": 0},
        }
        head = {
            "id": f"chatcmpl-{n}",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
            if tool_name:
                message["content"] = None
                message["tool_calls"] = [
                    {
                        "id": f"call_{n}",
                        "type": "function",
                        "function": {"name": tool_name, "arguments": args},
                    }
                ]
            payload = {
                **head,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": "tool_calls" if tool_name else "stop",
                    }
                ],
                "usage": usage,
            }
            if self.headers.get("x-fake-no-usage"):
                del payload["usage"]
            self._json(200, payload)
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            c = {
                **head,
                "object": "chat.completion.chunk",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                c["usage"] = None
            return c

        events: list[tuple[str | None, Any]] = []
        if tool_name:
            events.append(
                (
                    None,
                    chunk(
                        {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": f"call_{n}",
                                    "type": "function",
                                    "function": {"name": tool_name, "arguments": ""},
                                }
                            ],
                        }
                    ),
                )
            )
            third = max(1, len(args) // 3)
            for piece in (args[:third], args[third : 2 * third], args[2 * third :]):
                events.append(
                    (None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
                )
            events.append((None, chunk({}, "tool_calls")))
        else:
            events.append((None, chunk({"role": "assistant", "content": "", "refusal": None})))
            events.extend((None, chunk({"content": piece})) for piece in chunks_of(text))
            events.append((None, chunk({}, "stop")))
        if include_usage:
            events.append(
                (None, {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
            )
        events.append((None, "[DONE]"))
        self._sse(events)

    def _completions(self, body: dict[str, Any]) -> None:
        n = self.server.next_id()
        prompt = body.get("prompt")
        prompt = prompt if isinstance(prompt, str) else " ".join(map(str, prompt or []))
        text = answer_text(prompt)
        inp, out = usage_for(prompt, text)
        head = {
            "id": f"cmpl-{n}",
            "object": "text_completion",
            "created": CREATED,
            "model": str(body.get("model")),
        }
        usage = {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}
        if not body.get("stream"):
            self._json(
                200,
                {
                    **head,
                    "choices": [
                        {"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}
                    ],
                    "usage": usage,
                },
            )
            return
        events: list[tuple[str | None, Any]] = [
            (
                None,
                {
                    **head,
                    "choices": [{"text": p, "index": 0, "logprobs": None, "finish_reason": None}],
                },
            )
            for p in chunks_of(text)
        ]
        events.append(
            (
                None,
                {
                    **head,
                    "choices": [
                        {"text": "", "index": 0, "logprobs": None, "finish_reason": "stop"}
                    ],
                },
            )
        )
        events.append((None, "[DONE]"))
        self._sse(events)

    def _embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input", body.get("inputs"))  # "inputs": Mistral
        items = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dims = int(body.get("dimensions") or 8)
        data = []
        for i in range(len(items)):
            vec = [round((i + 1) * 0.01 + j * 0.001, 6) for j in range(dims)]
            emb: Any = vec
            if body.get("encoding_format") == "base64":
                emb = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(len(str(x).split()) for x in items)
        self._json(
            200,
            {
                "id": f"emb-{self.server.next_id()}",
                "object": "list",
                "data": data,
                "model": str(body.get("model")),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _responses(self, body: dict[str, Any]) -> None:
        n = self.server.next_id()
        inp = body.get("input")
        prompt = inp if isinstance(inp, str) else user_text(inp)
        text = answer_text(prompt)
        tools = body.get("tools") or []
        # a tool's result just came back (an agent's second turn): answer in text
        after_tool = (
            isinstance(inp, list)
            and bool(inp)
            and isinstance(inp[-1], dict)
            and inp[-1].get("type") == "function_call_output"
        )
        tool_name = tools[0].get("name") if tools and not after_tool else None
        if after_tool:
            text = answer_text(str(inp[-1].get("output")))
        args = json.dumps({"query": prompt})
        i_tok, o_tok = usage_for(prompt, args if tool_name else text)
        model = str(body.get("model")) + "-2025-04-14"
        item: dict[str, Any]
        if tool_name:
            item = {
                "type": "function_call",
                "id": f"fc_{n}",
                "call_id": f"call_{n}",
                "name": tool_name,
                "arguments": args,
                "status": "completed",
            }
        else:
            item = {
                "type": "message",
                "id": f"msg_{n}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        base = {
            "id": f"resp_{n}",
            "object": "response",
            "created_at": CREATED,
            "model": model,
            "instructions": body.get("instructions"),
            "tools": tools,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "metadata": {},
            "temperature": body.get("temperature"),
            "top_p": None,
            "error": None,
            "incomplete_details": None,
        }
        usage = {
            "input_tokens": i_tok,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": o_tok,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": i_tok + o_tok,
        }
        final = {**base, "status": "completed", "output": [item], "usage": usage}
        if not body.get("stream"):
            self._json(200, final)
            return
        seq = iter(range(1000))
        start = {**base, "status": "in_progress", "output": [], "usage": None}
        events: list[tuple[str | None, Any]] = [
            (
                "response.created",
                {"type": "response.created", "sequence_number": next(seq), "response": start},
            ),
            (
                "response.in_progress",
                {"type": "response.in_progress", "sequence_number": next(seq), "response": start},
            ),
        ]
        if tool_name:
            added = {**item, "arguments": "", "status": "in_progress"}
            events.append(
                (
                    "response.output_item.added",
                    {
                        "type": "response.output_item.added",
                        "sequence_number": next(seq),
                        "output_index": 0,
                        "item": added,
                    },
                )
            )
            third = max(1, len(args) // 3)
            for piece in (args[:third], args[third : 2 * third], args[2 * third :]):
                events.append(
                    (
                        "response.function_call_arguments.delta",
                        {
                            "type": "response.function_call_arguments.delta",
                            "sequence_number": next(seq),
                            "item_id": item["id"],
                            "output_index": 0,
                            "delta": piece,
                        },
                    )
                )
        else:
            added = {**item, "status": "in_progress", "content": []}
            events.append(
                (
                    "response.output_item.added",
                    {
                        "type": "response.output_item.added",
                        "sequence_number": next(seq),
                        "output_index": 0,
                        "item": added,
                    },
                )
            )
            events.append(
                (
                    "response.content_part.added",
                    {
                        "type": "response.content_part.added",
                        "sequence_number": next(seq),
                        "item_id": item["id"],
                        "output_index": 0,
                        "content_index": 0,
                        "part": {"type": "output_text", "text": "", "annotations": []},
                    },
                )
            )
            for piece in chunks_of(text):
                events.append(
                    (
                        "response.output_text.delta",
                        {
                            "type": "response.output_text.delta",
                            "sequence_number": next(seq),
                            "item_id": item["id"],
                            "output_index": 0,
                            "content_index": 0,
                            "delta": piece,
                            "logprobs": [],
                        },
                    )
                )
            events.append(
                (
                    "response.output_text.done",
                    {
                        "type": "response.output_text.done",
                        "sequence_number": next(seq),
                        "item_id": item["id"],
                        "output_index": 0,
                        "content_index": 0,
                        "text": text,
                        "logprobs": [],
                    },
                )
            )
        events.append(
            (
                "response.output_item.done",
                {
                    "type": "response.output_item.done",
                    "sequence_number": next(seq),
                    "output_index": 0,
                    "item": item,
                },
            )
        )
        events.append(
            (
                "response.completed",
                {"type": "response.completed", "sequence_number": next(seq), "response": final},
            )
        )
        self._sse(events)

    # -- Anthropic ------------------------------------------------------------------------------

    def _messages(self, body: dict[str, Any]) -> None:
        n = self.server.next_id()
        prompt = user_text(body.get("messages"))
        text = answer_text(prompt)
        tools = body.get("tools") or []
        tool_name = tools[0].get("name") if tools else None
        args = json.dumps({"query": prompt})
        inp, out = usage_for(prompt, text + (" " + args if tool_name else ""))
        model = str(body.get("model"))
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        if tool_name:
            content.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{n}",
                    "name": tool_name,
                    "input": {"query": prompt},
                }
            )
        stop = "tool_use" if tool_name else "end_turn"
        usage = {
            "input_tokens": inp,
            "output_tokens": out,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 3,
        }
        if not body.get("stream"):
            self._json(
                200,
                {
                    "id": f"msg_{n}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": content,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": usage,
                },
            )
            return
        events: list[tuple[str | None, Any]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": f"msg_{n}",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {**usage, "output_tokens": 1},
                    },
                },
            )
        ]
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        events.append(("ping", {"type": "ping"}))
        for piece in chunks_of(text):
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        if tool_name:
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": 1,
                        "content_block": {
                            "type": "tool_use",
                            "id": f"toolu_{n}",
                            "name": tool_name,
                            "input": {},
                        },
                    },
                )
            )
            third = max(1, len(args) // 3)
            for piece in (args[:third], args[third : 2 * third], args[2 * third :]):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": 1,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
                )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": 1}))
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": out},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        self._sse(events)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512  # many concurrent clients connect at once

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._lock = threading.Lock()
        self._n = 0
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients drop idle sockets
            super().handle_error(request, client_address)

    def next_id(self) -> int:
        with self._lock:
            self._n += 1
            return self._n

    def record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append((path, headers, body))


class FakeLLMServer:
    """The fake provider, serving from a background thread until :meth:`stop`."""

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-llm-server",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The ephemeral port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
        """Every request received: (path, headers, JSON body)."""
        return self._server.requests

    def start(self) -> FakeLLMServer:
        """Start serving; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


if __name__ == "__main__":  # serve until interrupted (the bench runs it in a subprocess)
    import sys

    srv = FakeLLMServer().start()
    print(srv.port, flush=True)
    try:
        sys.stdin.read()
    finally:
        srv.stop()
