"""Public-API examples that must type-check under ``mypy --strict`` (see test_typing.py)."""

from __future__ import annotations

import logging
from typing import Any

import llmlog
from llmlog.testing import capture_records

messages: list[dict[str, str]] = [{"role": "user", "content": "hi"}]
raw: dict[str, Any] = {"choices": [{"message": {"role": "assistant", "content": "hello"}}]}

request_id: str = llmlog.log_interaction(
    messages, raw, parsed_output="hello", model="gpt-4o-mini", session_id="s1", tags=["t"]
)
llmlog.feedback(request_id, 1.0, comment="good")

with llmlog.context(session_id="s1", user_id="u9", tags=["checkout"], metadata={"k": 1}):
    with llmlog.interaction(model="gpt-4o-mini", messages=messages) as it:
        it.set_response(raw, parsed="hello")
        it.first_token()


@llmlog.logged(model="gpt-4o-mini")
def summarize(messages: list[dict[str, str]]) -> str:
    return "summary"


@llmlog.logged
async def ask(prompt: str) -> str:
    return "answer"


summary: str = summarize(messages)
settings = llmlog.configure(db="off", jsonl="llm.jsonl", redact=True, sample_rate=0.5)
db: str = settings.db
ok: bool = llmlog.flush(timeout=1.0)
counters: dict[str, Any] = llmlog.stats()
clean: str = llmlog.redact_text("mail jane@example.com")
handler = logging.StreamHandler()
handler.setFormatter(llmlog.JsonFormatter())
logging.getLogger("app").addHandler(llmlog.LLMLogHandler())

with capture_records() as records:
    llmlog.log_interaction(messages, raw)
first: dict[str, Any] = records[0]
llmlog.shutdown()
