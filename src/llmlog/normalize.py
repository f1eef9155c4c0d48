"""Build the full record from what the caller gave, on the writer thread.

This runs for every record on the writer thread, whose GIL time the app pays
for, so it is written for speed: the input is what ``orjson.loads`` returns,
hence ``isinstance(x, dict)`` rather than the much slower ABC check against
``Mapping``.

The caller's thread only snapshots the fields it was given. Everything that can
be derived is derived here, off the hot path: usage, response model, finish
reasons, tool calls and output text from a raw OpenAI (chat, completions,
responses, embeddings) or Anthropic response; token estimates when no usage is
known (marked ``estimated``); cost from the price table; context fields; the
``app`` block. Extra keyword fields that are not record fields go to
``metadata`` (CONTRACT.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from llmlog import shapes
from llmlog.coerce import INVALID_KEY, coerce_record, coerce_usage
from llmlog.extract import estimate_tokens, text_of
from llmlog.prices import PriceTable
from llmlog.record import (
    INTERACTION_EVENT,
    RECORD_FIELDS,
    SCHEMA_VERSION,
    AppInfo,
    ErrorInfo,
    Usage,
)

__all__ = [
    "HEAVY",
    "derive",
    "error_info",
    "finish_record",
    "normalize_usage",
]

_FIELDS = frozenset(RECORD_FIELDS)


def error_info(exc: BaseException) -> ErrorInfo:
    """Return the ``error`` field for an exception (type, message, HTTP status if any)."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = getattr(getattr(exc, "response", None), "status_code", None)
    if not isinstance(status, int):
        status = None
    try:
        message = str(exc)
    except Exception:
        message = f"<{type(exc).__name__}: str() failed>"
    return {"type": type(exc).__name__, "message": message, "status_code": status}


def _int(v: Any) -> int | None:
    if v is None:
        return None
    t = type(v)
    if t is int:
        return v  # type: ignore[no-any-return]
    if t is float and v.is_integer():
        return int(v)
    return None


def normalize_usage(raw: Mapping[str, Any] | None) -> Usage | None:
    """Return contract usage from OpenAI, Anthropic or llmlog naming; None if nothing known.

    Anthropic counts cache reads and writes apart from ``input_tokens``; they are
    added in, so ``input_tokens`` is always every token of the prompt.
    """
    if type(raw) is not dict:
        return None
    get = raw.get
    inp = get("prompt_tokens")
    out = get("completion_tokens")
    if type(inp) is int and type(out) is int:  # the common OpenAI shape, inline
        d = get("prompt_tokens_details")
        cached = d.get("cached_tokens") if type(d) is dict else None
        d = get("completion_tokens_details")
        reasoning = d.get("reasoning_tokens") if type(d) is dict else None
        return {
            "input_tokens": inp,
            "output_tokens": out,
            "total_tokens": inp + out,
            "cached_input_tokens": cached if type(cached) is int else None,
            "reasoning_tokens": reasoning if type(reasoning) is int else None,
            "estimated": get("estimated") is True,
        }
    if "prompt_tokens" in raw or "completion_tokens" in raw:  # OpenAI chat / completions
        inp = _int(get("prompt_tokens"))
        out = _int(get("completion_tokens"))
        d = get("prompt_tokens_details")
        cached = _int(d.get("cached_tokens")) if type(d) is dict else None
        d = get("completion_tokens_details")
        reasoning = _int(d.get("reasoning_tokens")) if type(d) is dict else None
    else:  # Anthropic, OpenAI Responses, llmlog's own names
        inp = _int(get("input_tokens"))
        out = _int(get("output_tokens"))
        cached = _int(get("cached_input_tokens"))
        reasoning = _int(get("reasoning_tokens"))
        d = get("input_tokens_details")
        if cached is None and type(d) is dict:
            cached = _int(d.get("cached_tokens"))
        d = get("output_tokens_details")
        if reasoning is None and type(d) is dict:
            reasoning = _int(d.get("reasoning_tokens"))
        if "cache_read_input_tokens" in raw or "cache_creation_input_tokens" in raw:
            cache_read = _int(get("cache_read_input_tokens"))
            if inp is not None and "cached_input_tokens" not in raw:
                inp += (cache_read or 0) + (_int(get("cache_creation_input_tokens")) or 0)
                cached = cache_read
    if inp is not None and out is not None:
        total: int | None = inp + out
    else:
        total = _int(get("total_tokens"))
        if inp is None and out is None and total is None:
            return None
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": total,
        "cached_input_tokens": cached,
        "reasoning_tokens": reasoning,
        "estimated": get("estimated") is True,
    }


def _tool_call(tid: Any, name: Any, args: Any) -> dict[str, Any]:
    if isinstance(args, str):
        try:
            parsed = orjson.loads(args)
            if isinstance(parsed, dict):
                args = parsed
        except orjson.JSONDecodeError:
            pass
    return {"id": tid, "name": name, "arguments": args}


def _from_raw(raw: dict[str, Any]) -> dict[str, Any]:
    """Derive record fields from a provider response dict (unknown shapes give nothing).

    Runs on the writer thread for every record whose raw response is a dict (the
    app pays for the writer's GIL time), so it is kept to dictionary lookups; the
    common OpenAI shape (one choice) comes first.
    """
    out: dict[str, Any] = {}
    get = raw.get
    model = get("model")
    if type(model) is str:
        out["response_model"] = model
    usage = get("usage")
    if usage is not None:
        u = normalize_usage(usage)
        if u is not None:
            out["usage"] = u
    choices = get("choices")
    if type(choices) is list and choices:  # OpenAI chat / completions
        out["provider"] = "openai"
        texts: list[str] = []
        finish: list[str] = []
        calls: list[dict[str, Any]] = []
        for ch in choices:
            if type(ch) is not dict:
                continue
            reason = ch.get("finish_reason")
            if reason:
                finish.append(str(reason))
            msg = ch.get("message")
            if type(msg) is dict:
                content = msg.get("content")
                if type(content) is str:
                    texts.append(content)
                tcs = msg.get("tool_calls")
                if tcs:
                    for tc in tcs:
                        if type(tc) is dict:
                            fn = tc.get("function") or {}
                            calls.append(
                                _tool_call(tc.get("id"), fn.get("name"), fn.get("arguments"))
                            )
                fc = msg.get("function_call")
                if type(fc) is dict:
                    calls.append(_tool_call(None, fc.get("name"), fc.get("arguments")))
            elif type(ch.get("text")) is str:
                texts.append(ch["text"])
        out["finish_reasons"] = finish
        out["tool_calls"] = calls
        if texts:
            out["parsed_output"] = texts[0] if len(texts) == 1 else texts
        return out
    content = get("content")
    if get("type") == "message" and type(content) is list:  # Anthropic
        out["provider"] = "anthropic"
        texts, calls = [], []
        for block in content:
            if type(block) is not dict:
                continue
            btype = block.get("type")
            if btype == "text":
                texts.append(str(block.get("text", "")))
            elif btype in ("tool_use", "server_tool_use"):
                calls.append(_tool_call(block.get("id"), block.get("name"), block.get("input")))
        if get("stop_reason"):
            out["finish_reasons"] = [str(raw["stop_reason"])]
        out["tool_calls"] = calls
        out["parsed_output"] = "".join(texts)
        return out
    output = get("output")
    if get("object") == "response" and type(output) is list:  # OpenAI Responses
        out["provider"] = "openai"
        texts, calls = [], []
        for item in output:
            if type(item) is not dict:
                continue
            itype = item.get("type")
            if itype == "message":
                for part in item.get("content") or ():
                    if type(part) is dict and part.get("type") == "output_text":
                        texts.append(str(part.get("text", "")))
            elif itype == "function_call":
                calls.append(
                    _tool_call(item.get("call_id"), item.get("name"), item.get("arguments"))
                )
        if get("status"):
            out["finish_reasons"] = [str(raw["status"])]
        out["tool_calls"] = calls
        out["parsed_output"] = "".join(texts)
        return out
    data = get("data")
    if get("object") == "list" and type(data) is list:  # embeddings
        dims = {
            len(d["embedding"])
            for d in data
            if type(d) is dict and type(d.get("embedding")) is list
        }
        out["parsed_output"] = {"count": len(data), "dimensions": max(dims) if dims else None}
        out["operation"] = "embeddings"
        u = out.get("usage")
        if u is not None and u["output_tokens"] is None and u["input_tokens"] is not None:
            u["output_tokens"] = 0  # embeddings produce no output tokens: priced on input
            u["total_tokens"] = u["input_tokens"]
        return out
    more = shapes.read(raw)  # Gemini, Ollama, Bedrock, Cohere, ...
    if more:
        u = more.pop("usage", None)
        if u is not None:
            u = normalize_usage(u)
            if u is not None:
                out["usage"] = u
        more.update(out)
        return more
    return out


def _provider_of(model: str | None) -> str | None:
    if not model:
        return None
    m = model.lower()
    if "/" in m:
        return m.split("/", 1)[0]
    if m.startswith(("gpt-", "o1", "o3", "o4", "text-embedding", "chatgpt", "davinci")):
        return "openai"
    if m.startswith("claude"):
        return "anthropic"
    if m.startswith("gemini"):
        return "google"
    if m.startswith(("mistral", "mixtral", "codestral")):
        return "mistral"
    return None


def derive(light: dict[str, Any], raw_json: bytes) -> Any:
    """Fill the light fields a raw response tells (writer thread); return the output it holds.

    Returns the output text (or embeddings summary) found in the response, or
    None; fields the caller gave are never overwritten.
    """
    if raw_json == b"null":
        return None
    raw = orjson.loads(raw_json)
    if type(raw) is not dict:
        return None
    found = _from_raw(raw)
    for key in found:
        if light.get(key) is None:
            light[key] = found[key]
    return found.get("parsed_output")


# -- the writer's half ---------------------------------------------------------------------------

HEAVY = ("prompt_messages", "llm_raw_response", "parsed_output")


_HEAVY_KEYS = frozenset(HEAVY)
_TEMPLATE: dict[str, Any] = dict.fromkeys(k for k in RECORD_FIELDS if k not in _HEAVY_KEYS)
_TEMPLATE.update(event=INTERACTION_EVENT, schema_version=SCHEMA_VERSION)


def finish_record(
    light: dict[str, Any],
    ctx: Mapping[str, Any] | None,
    *,
    prices: PriceTable,
    app: AppInfo,
    heavy: dict[str, Any] | None,
) -> tuple[dict[str, Any], list[str]]:
    """Return the complete record from the light fields, and the fields moved aside.

    Writer thread; kept lean. Every typed field is made to fit its type
    (:func:`llmlog.coerce.coerce_record`): a value that does not fit is kept under
    ``metadata["llmlog_invalid"]`` and its field name returned.

    Args:
        light: the caller's fields other than the three heavy ones: record
            fields given or derived, plus extra keys (which go to ``metadata``).
        ctx: the ``llmlog.context()`` in force at the call, or None.
        prices: the price table for ``cost_usd``.
        app: the ``app`` field.
        heavy: ``prompt_messages``, ``llm_raw_response`` and ``parsed_output`` as
            values, or None to leave them out (the pipeline then appends the
            caller's JSON of them to the encoded record as it is).
    """
    rec = _TEMPLATE.copy()
    extra = light.keys() - _FIELDS
    rec.update(light)
    if heavy is not None:
        rec.update(heavy)
    elif extra_heavy := _HEAVY_KEYS.intersection(light):
        for key in extra_heavy:
            del rec[key]
    rec["app"] = app
    rec["redaction"] = {}
    given_tags = rec["tags"]
    given_meta = rec["metadata"]
    if ctx or given_tags or extra or given_meta is not None:
        _merge_context(rec, light, ctx, given_tags, given_meta, extra)
    else:
        rec["tags"] = []
        rec["metadata"] = {}
    coerced = coerce_record(rec)
    if rec["provider"] is None:
        rec["provider"] = _provider_of(rec["model"] or rec["response_model"])
    if rec["model"] is None:
        rec["model"] = rec["response_model"]
    usage = rec["usage"]
    if type(usage) is not dict or len(usage) != 6 or "estimated" not in usage:
        usage = normalize_usage(usage)  # not yet in the contract's form
        if usage is None:
            usage = _estimated_usage(rec)
        rec["usage"] = usage
    coerced += coerce_usage(rec)
    if rec["cost_usd"] is None:
        rec["cost_usd"] = prices.cost(
            rec["response_model"] or rec["model"],
            usage["input_tokens"],
            usage["output_tokens"],
            usage["cached_input_tokens"],
        )
    return rec, coerced


def _merge_context(
    rec: dict[str, Any],
    light: dict[str, Any],
    ctx: Mapping[str, Any] | None,
    given_tags: Any,
    given_meta: Any,
    extra: set[str],
) -> None:
    tags: list[str] = []
    metadata: dict[str, Any] = {}
    if ctx:
        if rec["session_id"] is None:
            rec["session_id"] = ctx.get("session_id")
        if rec["user_id"] is None:
            rec["user_id"] = ctx.get("user_id")
        tags.extend(ctx.get("tags", ()))
        metadata.update(ctx.get("metadata", {}))
    if given_tags:
        if isinstance(given_tags, str):
            given_tags = [given_tags]
        elif not isinstance(given_tags, list):
            metadata.setdefault(INVALID_KEY, {})["tags"] = given_tags
            given_tags = ()
        for t in given_tags:
            if t is not None and str(t) not in tags:
                tags.append(str(t))
    if type(given_meta) is dict:
        metadata.update(given_meta)
    elif given_meta is not None:
        metadata["metadata"] = given_meta
    for key in extra:
        metadata[key] = light[key]
        del rec[key]
    rec["tags"] = tags
    rec["metadata"] = metadata


_NO_USAGE: Usage = {
    "input_tokens": None,
    "output_tokens": None,
    "total_tokens": None,
    "cached_input_tokens": None,
    "reasoning_tokens": None,
    "estimated": False,
}


def _estimated_usage(rec: dict[str, Any]) -> Usage:
    """Estimate usage from the text when the provider gave none (rare: parses the content)."""
    output = rec["parsed_output"]
    raw = rec["llm_raw_response"]
    if output is None and raw is None and not rec.get("tool_calls"):  # nothing came back
        return dict(_NO_USAGE)  # type: ignore[return-value]
    messages = rec["prompt_messages"]
    if not isinstance(messages, list):
        messages = [] if messages is None else [messages]
    prompt = sum(
        estimate_tokens(text_of(m.get("content") if isinstance(m, dict) else m)) for m in messages
    )
    out_tokens = (
        0
        if rec["operation"] == "embeddings"
        else estimate_tokens(output if isinstance(output, str) else text_of(output))
    )
    for call in rec.get("tool_calls") or ():  # a tool-only reply still costs output tokens
        if isinstance(call, dict):
            out_tokens += estimate_tokens(
                f"{call.get('name') or ''} {orjson.dumps(call.get('arguments')).decode()}"
            )
    return {
        "input_tokens": prompt,
        "output_tokens": out_tokens,
        "total_tokens": prompt + out_tokens,
        "cached_input_tokens": None,
        "reasoning_tokens": None,
        "estimated": True,
    }
