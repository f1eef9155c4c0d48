"""Ollama capture: ``ollama.Client`` / ``AsyncClient`` (and the module-level ``ollama.chat``).

Every API call of the ``ollama`` package goes through one private method of
each client, ``_request(cls, method, path, *, json=<body>, stream=<bool>)``
(read for ollama 0.6): the public ``chat``, ``generate``, ``embed`` and
``embeddings`` build the wire body and pass it there, so wrapping ``_request``
records exactly what was sent. Paths that are not model calls (``/api/pull``,
``/api/tags``, ...) pass straight through.

=====================  ==============  =====================================
path                   operation       prompt_messages
=====================  ==============  =====================================
``/api/chat``          ``chat``        ``messages``
``/api/generate``      ``text_completion``  ``system`` + ``prompt``
``/api/embed``         ``embeddings``  ``input``
``/api/embeddings``    ``embeddings``  ``prompt``
=====================  ==============  =====================================

Streams are NDJSON: ``stream=True`` returns a generator (an async generator for
``AsyncClient``) of response objects whose ``message.content`` / ``response``
are pieces, the last with ``done=True`` and the token counts
(``prompt_eval_count``, ``eval_count``), which :class:`OllamaAssembler` folds
back into one response.
"""

from __future__ import annotations

from typing import Any

from llmlog.capture._assemble import _view
from llmlog.capture._call import to_dict
from llmlog.capture._methods import Method, MethodIntegration, Plan, summarize_vectors

__all__ = ["INTEGRATION", "OllamaAssembler"]

_OPERATIONS = {
    "/api/chat": "chat",
    "/api/generate": "text_completion",
    "/api/embed": "embeddings",
    "/api/embeddings": "embeddings",
}
_LOCAL = frozenset({"127.0.0.1", "localhost", "0.0.0.0", "::1"})


class OllamaAssembler:
    """Rebuilds an Ollama chat or generate response from its NDJSON stream."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.thinking: list[str] = []
        self.tool_calls: list[Any] = []
        self.last: dict[str, Any] = {}
        self.chat = False

    def add(self, chunk: Any) -> None:
        """Take one streamed response object (or dict)."""
        v = _view(chunk)
        msg = v.get("message")
        if msg is not None:
            self.chat = True
            m = _view(msg)
            if m.get("content"):
                self.pieces.append(m["content"])
            if m.get("thinking"):
                self.thinking.append(m["thinking"])
            if m.get("tool_calls"):
                self.tool_calls.extend(to_dict(tc) for tc in m["tool_calls"])
        elif v.get("response"):
            self.pieces.append(v["response"])
        if v.get("done"):
            self.last = to_dict(chunk) if not isinstance(chunk, dict) else dict(chunk)

    def final_usage(self) -> bool:
        """Whether the final chunk (with the token counts) has arrived."""
        return "eval_count" in self.last

    def result(self) -> dict[str, Any]:
        """Return the response as a non-streamed call gives it."""
        out = dict(self.last)
        text = "".join(self.pieces)
        if self.chat:
            msg: dict[str, Any] = {"role": "assistant", "content": text}
            if self.thinking:
                msg["thinking"] = "".join(self.thinking)
            if self.tool_calls:
                msg["tool_calls"] = self.tool_calls
            out["message"] = msg
        else:
            out["response"] = text
        out.setdefault("done", False)
        return out

    def outputs(self) -> list[str]:
        """The output text, for a token estimate."""
        return ["".join(self.pieces)]


def _prompt(path: str, body: dict[str, Any]) -> Any:
    if path == "/api/chat":
        return body.get("messages")
    if path == "/api/generate":
        msgs = []
        if body.get("system"):
            msgs.append({"role": "system", "content": body["system"]})
        msgs.append({"role": "user", "content": body.get("prompt") or ""})
        return msgs
    inp = body.get("input", body.get("prompt"))
    items = inp if isinstance(inp, list) else [inp]
    return [{"role": "user", "content": x} for x in items]


def _embeddings(result: Any) -> dict[str, Any]:
    return {"llm_raw_response": summarize_vectors(to_dict(result))}


def _server(client: Any) -> str | None:
    host = getattr(getattr(getattr(client, "_client", None), "base_url", None), "host", None)
    return host if isinstance(host, str) and host not in _LOCAL else None


def _begin(
    client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], Plan] | None:
    method, path = (args[1], args[2]) if len(args) >= 3 else (None, None)
    operation = _OPERATIONS.get(path) if isinstance(path, str) else None
    body = kwargs.get("json")
    if operation is None or str(method).upper() != "POST" or not isinstance(body, dict):
        return None
    assert isinstance(path, str)
    model = body.get("model")
    exclude = {"model", "messages", "prompt", "system", "input", "stream"}
    fields: dict[str, Any] = {
        "provider": "ollama",
        "operation": operation,
        "model": model if isinstance(model, str) else None,
        "params": {k: v for k, v in body.items() if k not in exclude},
        "prompt_messages": _prompt(path, body),
    }
    host = _server(client)
    if host:
        fields["metadata"] = {"server_address": host}
    if operation == "embeddings":
        return fields, Plan(convert=_embeddings)
    return fields, Plan(stream=bool(kwargs.get("stream")), assembler=OllamaAssembler)


INTEGRATION = MethodIntegration(
    "ollama",
    "ollama",
    (Method("Client", "_request", _begin), Method("AsyncClient", "_request", _begin)),
)
