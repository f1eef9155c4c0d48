"""The sample store the query-layer and CLI tests share, written through the public API."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

import llmlog

Run = Callable[..., Result]
"""``run(*args, db=None, input=None)``: the CLI runner fixture of ``tests/cli``."""

HOUR = 3600.0
# whole hours, so tests can place interactions inside or across rollup hours
BASE = (int(time.time() // HOUR) - 48) * HOUR


def chat_response(
    model: str,
    reply: str,
    *,
    prompt_tokens: int = 20,
    completion_tokens: int = 5,
    tool_call: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return an OpenAI chat completion as the SDK returns it (as a dict)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply}
    if tool_call:
        message["tool_calls"] = [{"id": "call_1", "type": "function", "function": tool_call}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_call else "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def log_chat(
    rid: str,
    ts: float,
    *,
    model: str = "gpt-4o-mini",
    user: str = "Hello there",
    reply: str = "Hi!",
    duration_ms: float = 100.0,
    **fields: Any,
) -> str:
    """Log one chat interaction with a fixed request id and time."""
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": user}]
    tool_call = fields.pop("tool_call", None)
    response = fields.pop("response", None) or chat_response(model, reply, tool_call=tool_call)
    return llmlog.log_interaction(
        messages,
        response,
        model=model,
        request_id=rid,
        timestamp=ts,
        duration_ms=duration_ms,
        **fields,
    )


def build_sample(path: str | Path = "llmlog.db") -> dict[str, str]:
    """Write the sample store (processors off) and return its request ids by name.

    The store stays configured afterwards, so commands that write (import,
    feedback) use the same settings; the autouse fixture resets llmlog.
    """
    llmlog.configure(db=str(path), processors=[])
    ids = {
        "paris": log_chat(
            "req-0001",
            BASE + 10,
            user="What is the capital of France?",
            reply="The capital of France is Paris.",
            duration_ms=120,
            session_id="s-1",
            user_id="u-1",
            tags=["prod", "geo"],
            metadata={"tenant": "acme", "tier": 2, "beta": True},
        ),
        "refund": log_chat(
            "req-0002",
            BASE + 20,
            model="gpt-4o",
            user="I want a refund for order 42",
            reply="Sure, I have started the refund.",
            duration_ms=900,
            session_id="s-1",
            user_id="u-1",
            tags=["prod", "support"],
            tool_call={"name": "refund_order", "arguments": '{"order": 42}'},
        ),
        "error": llmlog.log_interaction(
            [{"role": "user", "content": "Summarise the quarterly report"}],
            None,
            model="gpt-4o",
            request_id="req-0003",
            timestamp=BASE + HOUR + 5,
            duration_ms=30_000,
            error={"type": "RateLimitError", "message": "slow down", "status_code": 429},
            session_id="s-2",
            user_id="u-2",
            tags=["staging"],
        ),
        "stream": log_chat(
            "req-0004",
            BASE + 2 * HOUR + 5,
            model="claude-haiku-4-5",
            user="Tell me a joke about penguins",
            reply="Why don't penguins fly? They're not pilots.",
            duration_ms=400,
            ttft_ms=50,
            provider="anthropic",
            user_id="u-2",
            tags=["prod"],
        ),
        "embed": llmlog.log_interaction(
            ["embed this text"],
            {
                "object": "list",
                "model": "text-embedding-3-small",
                "data": [{"embedding": [0.1, 0.2]}],
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            },
            model="text-embedding-3-small",
            request_id="req-0005",
            timestamp=BASE + 3 * HOUR,
            duration_ms=30,
        ),
        "paris2": log_chat(
            "req-0006",
            BASE + 24 * HOUR,
            user="What is the capital of France?",
            reply="The capital of France is Paris.",
            duration_ms=80,
            session_id="s-3",
            tags=["prod", "geo"],
        ),
    }
    llmlog.feedback("req-0001", 5, "spot on")
    llmlog.feedback("req-0002", 2)
    llmlog.feedback("req-0002", 4, "better after a second look")
    assert llmlog.flush(10)
    return ids


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def normalise(text: str) -> str:
    """Replace UUIDs and local timestamps, which differ per run."""
    return _TIME.sub("<TIME>", _UUID.sub("<ID>", text))
