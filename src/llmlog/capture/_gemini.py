"""Google Gen AI SDK capture (``google-genai``): Gemini API and Vertex AI, sync and async.

Every call of the SDK (``client.models.generate_content``,
``generate_content_stream``, ``embed_content``, ``client.chats`` sessions,
``client.aio.*``, automatic function calling's repeated calls) reaches one of
four methods of its API client, with the wire path and the request body already
in the REST API's JSON (read for google-genai 3.6)::

    BaseApiClient.request(http_method, path, request_dict, http_options)
    BaseApiClient.request_streamed(...)          -> generator of HttpResponse
    BaseApiClient.async_request(...)             (async)
    BaseApiClient.async_request_streamed(...)    (async) -> async generator

Wrapping these gives one record per model call, the body exactly as sent and the
response exactly as received (``HttpResponse.body``, the REST JSON: camelCase
``candidates``, ``usageMetadata``, ``modelVersion``). Paths:

==========================  ============  ================================================
path ends with              operation     prompt_messages
==========================  ============  ================================================
``:generateContent``        ``chat``      ``systemInstruction`` (as ``role: system``) + ``contents``
``:streamGenerateContent``  ``chat``      the same; the SSE chunks are folded back into one response
``:embedContent``,          ``embeddings``  the ``content`` / ``requests[].content`` to embed
``:batchEmbedContents``
==========================  ============  ================================================

Other paths (files, caches, ``countTokens``, model listing) pass straight through.
The provider is ``gcp.gemini`` (Gemini API) or ``gcp.vertex_ai`` (Vertex AI), the
OpenTelemetry GenAI names.
"""

from __future__ import annotations

from typing import Any

import orjson

from llmlog.capture._assemble import _view
from llmlog.capture._methods import Method, MethodIntegration, Plan, summarize_vectors

__all__ = ["INTEGRATION", "GeminiAssembler"]


def _body(response: Any) -> dict[str, Any] | None:
    """The JSON body of an ``HttpResponse`` (the SDK keeps it as a string)."""
    body = getattr(response, "body", None)
    if isinstance(body, (str, bytes)) and body:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None
    return None


class _Candidate:
    __slots__ = ("calls", "finish", "role", "texts", "thoughts")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.thoughts: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.finish: Any = None
        self.role = "model"


class GeminiAssembler:
    """Rebuilds a ``generateContent`` response from the chunks of ``streamGenerateContent``.

    Each chunk is a whole ``GenerateContentResponse`` holding the next piece of
    each candidate's parts; the last ones carry ``finishReason`` and the final
    ``usageMetadata``.
    """

    def __init__(self) -> None:
        self.candidates: dict[int, _Candidate] = {}
        self.head: dict[str, Any] = {}
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        """Take one chunk: an ``HttpResponse`` whose body is the JSON, or a dict."""
        data = chunk if isinstance(chunk, dict) else _body(chunk)
        if data is None:
            return
        for key in ("modelVersion", "responseId", "createTime"):
            if key in data:
                self.head[key] = data[key]
        if data.get("usageMetadata") is not None:
            self.usage = data["usageMetadata"]
        for pos, cand in enumerate(data.get("candidates") or ()):
            c = _view(cand)
            idx = c.get("index")
            slot = idx if isinstance(idx, int) else pos
            acc = self.candidates.get(slot)
            if acc is None:
                acc = self.candidates[slot] = _Candidate()
            if c.get("finishReason"):
                acc.finish = c["finishReason"]
            content = c.get("content")
            if not isinstance(content, dict):
                continue
            acc.role = content.get("role") or acc.role
            for part in content.get("parts") or ():
                if not isinstance(part, dict):
                    continue
                if isinstance(part.get("text"), str):
                    (acc.thoughts if part.get("thought") else acc.texts).append(part["text"])
                if isinstance(part.get("functionCall"), dict):
                    acc.calls.append(part["functionCall"])

    def final_usage(self) -> bool:
        """Whether the provider's token counts arrived (they come with every chunk)."""
        return self.usage is not None

    def result(self) -> dict[str, Any]:
        """Return the response as ``generateContent`` gives it."""
        cands = []
        for idx, acc in sorted(self.candidates.items()):
            parts: list[dict[str, Any]] = []
            if acc.thoughts:
                parts.append({"text": "".join(acc.thoughts), "thought": True})
            if acc.texts:
                parts.append({"text": "".join(acc.texts)})
            parts.extend({"functionCall": fc} for fc in acc.calls)
            cand: dict[str, Any] = {"content": {"role": acc.role, "parts": parts}, "index": idx}
            if acc.finish is not None:
                cand["finishReason"] = acc.finish
            cands.append(cand)
        out: dict[str, Any] = {"candidates": cands}
        if self.usage is not None:
            out["usageMetadata"] = self.usage
        out.update(self.head)
        return out

    def outputs(self) -> list[str]:
        """Output text and tool arguments, for a token estimate."""
        out = ["".join(a.texts) for a in self.candidates.values()]
        out += [
            orjson.dumps(fc.get("args")).decode()
            for a in self.candidates.values()
            for fc in a.calls
        ]
        return out


def _model(path: str) -> str | None:
    head = path.split("?", 1)[0].rsplit(":", 1)[0]
    if "models/" in head:
        return head.rsplit("models/", 1)[1]
    return head or None


def _contents(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _chat_prompt(body: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    system = body.get("systemInstruction")
    if system:
        parts = system.get("parts") if isinstance(system, dict) else system
        out.append({"role": "system", "parts": parts})
    out.extend(_contents(body.get("contents")))
    return out


def _embed_prompt(body: dict[str, Any]) -> list[Any]:
    """One user message per text to embed (``requests[].content`` or ``content``)."""
    requests = body.get("requests")
    items = requests if isinstance(requests, list) else [body]
    out = []
    for r in items:
        content = r.get("content") if isinstance(r, dict) else None
        if isinstance(content, dict):
            out.append({"role": "user", "content": _part_text(content.get("parts"))})
    return out


def _part_text(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


def _convert(result: Any) -> dict[str, Any]:
    return {"llm_raw_response": _body(result)}


def _convert_embeddings(result: Any) -> dict[str, Any]:
    return {"llm_raw_response": summarize_vectors(_body(result))}


def _provider(client: Any) -> str:
    return "gcp.vertex_ai" if getattr(client, "vertexai", False) else "gcp.gemini"


_CHAT_KEYS = frozenset({"contents", "systemInstruction", "model", "_url", "_query"})
_EMBED_KEYS = frozenset({"contents", "content", "requests", "model", "_url", "_query"})


def _begin(
    client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], Plan] | None:
    method = kwargs.get("http_method", args[0] if args else None)
    path = kwargs.get("path", args[1] if len(args) > 1 else None)
    body = kwargs.get("request_dict", args[2] if len(args) > 2 else None)
    if str(method).lower() != "post" or not isinstance(path, str) or not isinstance(body, dict):
        return None
    verb = path.split("?", 1)[0].rsplit(":", 1)[-1]
    if verb in ("generateContent", "streamGenerateContent"):
        stream = verb == "streamGenerateContent"
        fields = {
            "provider": _provider(client),
            "operation": "chat",
            "model": _model(path),
            "params": {k: v for k, v in body.items() if k not in _CHAT_KEYS},
            "prompt_messages": _chat_prompt(body),
        }
        return fields, Plan(stream=stream, convert=_convert, assembler=GeminiAssembler)
    if verb in ("embedContent", "batchEmbedContents"):
        fields = {
            "provider": _provider(client),
            "operation": "embeddings",
            "model": _model(path),
            "params": {k: v for k, v in body.items() if k not in _EMBED_KEYS},
            "prompt_messages": _embed_prompt(body),
        }
        return fields, Plan(convert=_convert_embeddings)
    return None


INTEGRATION = MethodIntegration(
    "google_genai",
    "google.genai",
    tuple(
        Method("_api_client.BaseApiClient", name, _begin)
        for name in ("request", "request_streamed", "async_request", "async_request_streamed")
    ),
)
