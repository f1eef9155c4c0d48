"""Response shapes of the providers beyond OpenAI and Anthropic: record fields from a raw dict.

:func:`llmlog.normalize.derive` reads the OpenAI (chat, completions, Responses,
embeddings) and Anthropic shapes itself, first, since they are most records;
every other dict goes through :func:`read`, which recognises:

=====================  ==============================================================
shape                  told by
=====================  ==============================================================
Gemini                 ``candidates`` / ``usageMetadata`` (wire camelCase, or snake_case)
Gemini embeddings      ``embeddings: [{"values": ...}]`` or ``embedding: {"values"}``
Ollama chat/generate   ``done`` with ``message`` or ``response``
Ollama embed           ``embeddings: [[...]]``
Bedrock Converse       ``output.message`` (also Amazon Nova's ``invoke_model`` body)
Bedrock model bodies   Titan ``results[].outputText``, Llama ``generation``,
                       Mistral ``outputs[].text``
Cohere v2 chat         ``message`` (role ``assistant``) with ``finish_reason``
Cohere v2 embed        ``embeddings: {"float": ...}``
=====================  ==============================================================

Each reader returns the fields it can tell (``usage`` in llmlog's names,
``parsed_output``, ``tool_calls`` as ``{id, name, arguments}``,
``finish_reasons``, ``response_model``, ``operation`` for embeddings); an
unknown shape gives nothing. Plain dictionary lookups only: this runs on the
writer thread.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["read"]


def _int(v: Any) -> int | None:
    """An integer count; a whole float (Cohere types its counts as floats) is one too."""
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    return None


def _usage(
    inp: Any, out: Any, cached: Any = None, reasoning: Any = None, total: Any = None
) -> dict[str, Any] | None:
    i, o = _int(inp), _int(out)
    if i is None and o is None and _int(total) is None:
        return None
    u: dict[str, Any] = {"input_tokens": i, "output_tokens": o}
    if _int(cached) is not None:
        u["cached_input_tokens"] = _int(cached)
    if _int(reasoning) is not None:
        u["reasoning_tokens"] = _int(reasoning)
    if i is None or o is None:
        u["total_tokens"] = _int(total)
    return u


def _args(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value


def _call(tid: Any, name: Any, args: Any) -> dict[str, Any]:
    return {"id": tid, "name": name, "arguments": _args(args)}


def _text(texts: list[str]) -> str | list[str] | None:
    if not texts:
        return None
    return texts[0] if len(texts) == 1 else texts


def _gemini(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    get = raw.get
    meta = get("usageMetadata") or get("usage_metadata")
    if type(meta) is dict:
        m = meta.get
        cand = _int(m("candidatesTokenCount", m("candidates_token_count")))
        thoughts = _int(m("thoughtsTokenCount", m("thoughts_token_count")))
        output = None if cand is None and thoughts is None else (cand or 0) + (thoughts or 0)
        u = _usage(
            m("promptTokenCount", m("prompt_token_count")),
            output,
            m("cachedContentTokenCount", m("cached_content_token_count")),
            thoughts,
            m("totalTokenCount", m("total_token_count")),
        )
        if u is not None:
            out["usage"] = u
    model = get("modelVersion") or get("model_version")
    if type(model) is str:
        out["response_model"] = model
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    finish: list[str] = []
    for cand_ in get("candidates") or ():
        if type(cand_) is not dict:
            continue
        reason = cand_.get("finishReason") or cand_.get("finish_reason")
        if reason:
            finish.append(str(reason))
        content = cand_.get("content")
        parts = content.get("parts") if type(content) is dict else None
        pieces: list[str] = []
        for part in parts or ():
            if type(part) is not dict:
                continue
            if part.get("thought"):
                continue
            if type(part.get("text")) is str:
                pieces.append(part["text"])
            fc = part.get("functionCall") or part.get("function_call")
            if type(fc) is dict:
                calls.append(_call(fc.get("id"), fc.get("name"), fc.get("args")))
        if pieces:
            texts.append("".join(pieces))
    out["finish_reasons"] = finish
    out["tool_calls"] = calls
    text = _text(texts)
    if text is not None:
        out["parsed_output"] = text
    return out


def _dim(vector: Any) -> int | None:
    """Length of a vector, or of one capture summarised as ``"<768 floats>"``."""
    if type(vector) is list:
        return len(vector)
    if type(vector) is str and vector.startswith("<") and vector.endswith(" floats>"):
        n = vector[1:-8]
        return int(n) if n.isdigit() else None
    return None


def _dims(vectors: Any) -> int | None:
    dims = [d for d in map(_dim, vectors) if d is not None] if type(vectors) is list else []
    return max(dims) if dims else None


def _embeddings(count: int, dims: int | None, inp: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operation": "embeddings",
        "parsed_output": {"count": count, "dimensions": dims},
    }
    if _int(inp) is not None:
        out["usage"] = {"input_tokens": _int(inp), "output_tokens": 0}
    return out


def _ollama(raw: dict[str, Any]) -> dict[str, Any]:
    get = raw.get
    out: dict[str, Any] = {}
    u = _usage(get("prompt_eval_count"), get("eval_count"))
    if u is not None:
        out["usage"] = u
    if type(get("model")) is str:
        out["response_model"] = raw["model"]
    if get("done_reason"):
        out["finish_reasons"] = [str(raw["done_reason"])]
    msg = get("message")
    calls: list[dict[str, Any]] = []
    if type(msg) is dict:
        text = msg.get("content")
        for tc in msg.get("tool_calls") or ():
            fn = tc.get("function") if type(tc) is dict else None
            if type(fn) is dict:
                calls.append(_call(tc.get("id"), fn.get("name"), fn.get("arguments")))
    else:
        text = get("response")
    out["tool_calls"] = calls
    if type(text) is str:
        out["parsed_output"] = text
    return out


def _converse(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    usage = raw.get("usage")
    if type(usage) is dict:
        u = _usage(
            usage.get("inputTokens"),
            usage.get("outputTokens"),
            usage.get("cacheReadInputTokens"),
            total=usage.get("totalTokens"),
        )
        if u is not None:
            cached = _int(usage.get("cacheReadInputTokens")) or 0
            written = _int(usage.get("cacheWriteInputTokens")) or 0
            if u["input_tokens"] is not None and (cached or written):
                u["input_tokens"] += cached + written  # counted apart, as Anthropic does
            out["usage"] = u
    if raw.get("stopReason"):
        out["finish_reasons"] = [str(raw["stopReason"])]
    message = raw["output"]["message"]
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or ():
        if type(block) is not dict:
            continue
        if type(block.get("text")) is str:
            texts.append(block["text"])
        use = block.get("toolUse")
        if type(use) is dict:
            calls.append(_call(use.get("toolUseId"), use.get("name"), use.get("input")))
    out["tool_calls"] = calls
    out["parsed_output"] = "".join(texts)
    return out


def _cohere(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    usage = raw.get("usage")
    if type(usage) is dict:
        tokens = usage.get("tokens") or usage.get("billed_units")
        if type(tokens) is dict:
            u = _usage(tokens.get("input_tokens"), tokens.get("output_tokens"))
            if u is not None:
                out["usage"] = u
    if raw.get("finish_reason"):
        out["finish_reasons"] = [str(raw["finish_reason"])]
    msg = raw["message"]
    texts = [
        str(c.get("text", ""))
        for c in msg.get("content") or ()
        if type(c) is dict and c.get("type") == "text"
    ]
    calls: list[dict[str, Any]] = []
    for tc in msg.get("tool_calls") or ():
        fn = tc.get("function") if type(tc) is dict else None
        if type(fn) is dict:
            calls.append(_call(tc.get("id"), fn.get("name"), fn.get("arguments")))
    out["tool_calls"] = calls
    out["parsed_output"] = "".join(texts)
    return out


def _bedrock_body(raw: dict[str, Any]) -> dict[str, Any]:
    get = raw.get
    results = get("results")
    if type(results) is list:  # Amazon Titan text
        texts = [str(r.get("outputText", "")) for r in results if type(r) is dict]
        out: dict[str, Any] = {"parsed_output": "".join(texts), "tool_calls": []}
        produced = sum(_int(r.get("tokenCount")) or 0 for r in results if type(r) is dict)
        u = _usage(get("inputTextTokenCount"), produced)
        if u is not None:
            out["usage"] = u
        reasons = [str(r["completionReason"]) for r in results if r.get("completionReason")]
        out["finish_reasons"] = reasons
        return out
    if type(get("generation")) is str:  # Meta Llama
        out = {"parsed_output": raw["generation"], "tool_calls": []}
        u = _usage(get("prompt_token_count"), get("generation_token_count"))
        if u is not None:
            out["usage"] = u
        if get("stop_reason"):
            out["finish_reasons"] = [str(raw["stop_reason"])]
        return out
    outputs = get("outputs") or []  # Mistral text completion
    texts = [str(o.get("text", "")) for o in outputs if type(o) is dict]
    out = {"parsed_output": "".join(texts), "tool_calls": []}
    out["finish_reasons"] = [str(o["stop_reason"]) for o in outputs if o.get("stop_reason")]
    return out


def read(raw: dict[str, Any]) -> dict[str, Any]:
    """Return the record fields a provider response tells; {} for an unknown shape."""
    get = raw.get
    if "candidates" in raw or "usageMetadata" in raw or "usage_metadata" in raw:
        return _gemini(raw)
    if "done" in raw and (type(get("message")) is dict or type(get("response")) is str):
        return _ollama(raw)
    output = get("output")
    if type(output) is dict and type(output.get("message")) is dict:
        return _converse(raw)
    message = get("message")
    if type(message) is dict and message.get("role") == "assistant" and "finish_reason" in raw:
        return _cohere(raw)
    embeddings = get("embeddings")
    if type(embeddings) is list:
        if embeddings and type(embeddings[0]) is dict:  # Gemini
            vectors = [e.get("values") for e in embeddings if type(e) is dict]
            return _embeddings(len(embeddings), _dims(vectors))
        return _embeddings(len(embeddings), _dims(embeddings), get("prompt_eval_count"))  # Ollama
    if type(embeddings) is dict:  # Cohere v2: vectors per type
        vectors = next((v for v in embeddings.values() if type(v) is list), [])
        meta = get("meta")
        units = meta.get("billed_units") if type(meta) is dict else None
        inp = units.get("input_tokens") if type(units) is dict else None
        return _embeddings(len(vectors), _dims(vectors), inp)
    embedding = get("embedding")
    if type(embedding) is dict and "values" in embedding:  # Gemini, one
        return _embeddings(1, _dim(embedding["values"]))
    if _dim(embedding) is not None:  # Ollama's /api/embeddings, Titan embeddings
        return _embeddings(1, _dim(embedding), get("inputTextTokenCount"))
    if type(get("results")) is list or type(get("generation")) is str:
        return _bedrock_body(raw)
    if type(get("outputs")) is list:
        return _bedrock_body(raw)
    return {}
