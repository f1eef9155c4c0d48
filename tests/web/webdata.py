"""The web viewer's test data, written through llmlog's public API (shared by tests and tools).

The store holds the demo's conversations plus a few hand-made interactions that
exercise the chat view (tool calls, tool results, content parts, markdown, an
error) and one whose prompt and reply carry XSS payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llmlog
from llmlog.demo import run_demo

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
"""Where tests save screenshots (git-ignored)."""

XSS = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>'
"""A payload that runs script if any view inserts logged text as HTML."""
XSS_REPLY = (
    "Here you go: " + XSS + "\n\n[click me](javascript:window.__xss=3) and "
    "<b onmouseover=alert(4)>bold</b>\n\n```html\n<script>alert(5)</script>\n```"
)


@dataclass(frozen=True)
class Sample:
    """The sample store and the request ids of its hand-made interactions."""

    db: Path
    xss: str
    tools: str
    error: str
    parts: str


def _chat(model: str, text: str, *, tool_call: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_call:
        message["tool_calls"] = [{"id": "call_w1", "type": "function", "function": tool_call}]
    return {
        "id": "chatcmpl-web",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_call else "stop"}
        ],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
    }


def write_sample(db: Path, *, demo: int = 60) -> Sample:
    """Fill ``db`` through the public API (demo conversations + hand-made cases)."""
    llmlog.configure(db=str(db))
    try:
        run_demo(demo)
        xss = llmlog.log_interaction(
            [
                {"role": "system", "content": "You are a <b>helpful</b> assistant."},
                {"role": "user", "content": "Render this for me: " + XSS},
            ],
            _chat("gpt-4o", XSS_REPLY),
            parsed_output=XSS_REPLY,
            model="gpt-4o",
            provider="openai",
            session_id="web-xss",
            tags=["xss"],
            duration_ms=321.0,
        )
        tools = llmlog.log_interaction(
            [
                {"role": "user", "content": "What's the weather in Paris?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_w0",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_w0", "content": '{"temp_c": 18}'},
            ],
            _chat("gpt-4o-mini", "It is **18 °C** in Paris.\n\n- sunny\n- light wind"),
            model="gpt-4o-mini",
            provider="openai",
            session_id="web-tools",
            tags=["tools"],
            duration_ms=812.0,
        )
        error = llmlog.log_interaction(
            [{"role": "user", "content": "Summarise the quarterly report"}],
            None,
            model="claude-sonnet-4-5",
            provider="anthropic",
            duration_ms=30_000.0,
            error={"type": "RateLimitError", "message": "slow down", "status_code": 429},
            session_id="web-tools",
            tags=["tools"],
        )
        parts = llmlog.log_interaction(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                    ],
                }
            ],
            _chat("gpt-4o", "A cat on a sofa."),
            model="gpt-4o",
            provider="openai",
            duration_ms=640.0,
        )
        llmlog.flush()
    finally:
        llmlog.reset()
    return Sample(db=db, xss=xss, tools=tools, error=error, parts=parts)


def log_one(db: Path, text: str) -> str:
    """Log one more interaction into ``db`` (as an app would) and return its id."""
    llmlog.configure(db=str(db))
    try:
        rid = llmlog.log_interaction(
            [{"role": "user", "content": text}],
            _chat("gpt-4o-mini", "Arrived."),
            model="gpt-4o-mini",
            provider="openai",
            duration_ms=55.0,
        )
        llmlog.flush()
    finally:
        llmlog.reset()
    return rid


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of ``page`` as a test artifact (``tests/artifacts/web-NAME.png``)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"web-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
