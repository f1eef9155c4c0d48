"""Take the README's screenshots of the web viewer (list.png, detail.png in this folder).

    python docs/screenshots/take.py

Fills a fresh store in a temporary folder through llmlog's public API (the
demo's conversations plus one support conversation with a tool call), starts
the viewer on 127.0.0.1, and photographs it with Debian's Chromium through
Playwright (``apt-get install chromium``; nothing is downloaded).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import llmlog
from llmlog.demo import run_demo
from llmlog.web import Server

HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SYSTEM = "You are the support assistant of ACME Corp. Be brief and friendly."
ANSWER = """Good news: order **#4417** was delivered on Monday, so it is inside the 30-day window.

I have started the return:

1. Print the label from the email I just sent.
2. Drop the parcel at any post office.
3. The refund of **$129.00** reaches your card 3-5 days after we receive it.

Return id: `RMA-20931`"""


def _openai(text: str | None, *, calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-doc",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
        "usage": {"prompt_tokens": 412, "completion_tokens": 96, "total_tokens": 508},
    }


def fill(db: Path) -> str:
    """Write the screenshot data; return the id of the interaction to show in detail."""
    llmlog.configure(db=str(db))
    try:
        run_demo(200)
        call = {
            "id": "call_7Qx",
            "type": "function",
            "function": {"name": "lookup_order", "arguments": '{"order_id": "4417"}'},
        }
        history: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": "Hi! The blender from order 4417 is not what I expected."
                " Can I still send it back?",
            },
        ]
        with llmlog.context(session_id="support-4417", user_id="user-42", tags=["prod"]):
            llmlog.log_interaction(
                history, _openai(None, calls=[call]), model="gpt-4o", duration_ms=912.0
            )
            history += [
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {
                    "role": "tool",
                    "tool_call_id": "call_7Qx",
                    "content": '{"status": "delivered", "delivered_at": "2026-11-23", '
                    '"total": 129.0}',
                },
            ]
            rid = llmlog.log_interaction(
                history,
                _openai(ANSWER),
                parsed_output=ANSWER,
                model="gpt-4o",
                duration_ms=1840.0,
                ttft_ms=310.0,
                params={"temperature": 0.3, "max_tokens": 400},
            )
        llmlog.feedback(rid, 1.0, "clear steps, correct policy")
        llmlog.flush()
    finally:
        llmlog.reset()
    return rid


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "llmlog.db"
        rid = fill(db)
        server = Server(str(db), port=0)
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(
                    viewport={"width": 1400, "height": 860}, device_scale_factor=1
                )
                base = server.url.rstrip("/")
                page.goto(base + "/")
                page.wait_for_selector("tr[data-rid]")
                page.screenshot(path=str(HERE / "list.png"))
                page.set_viewport_size({"width": 1400, "height": 1200})
                page.goto(base + f"/i/{rid}")
                page.wait_for_selector("article.turn.reply")
                page.screenshot(path=str(HERE / "detail.png"))
                page.goto(base + "/dashboard?since=24h")
                page.wait_for_selector("svg.chart rect.bar")
                page.screenshot(path=str(HERE / "dashboard.png"), full_page=True)
                browser.close()
        finally:
            server.stop()
    print(f"wrote {HERE / 'list.png'}, {HERE / 'detail.png'} and {HERE / 'dashboard.png'}")


if __name__ == "__main__":
    main()
