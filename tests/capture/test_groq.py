"""The real ``groq`` SDK (Stainless-generated, OpenAI's API under ``/openai/v1``)."""

from __future__ import annotations

from typing import Any

import pytest
from fake_llm import FakeLLMServer, answer_text

groq = pytest.importorskip("groq")

MSGS = [{"role": "user", "content": "hello groq"}]


@pytest.fixture
def gq(server: FakeLLMServer) -> Any:
    with groq.Groq(api_key="gsk-4711", base_url=server.url, max_retries=0) as c:
        yield c


def test_chat_and_stream(gq: Any, server: FakeLLMServer, records: Any) -> None:
    gq.chat.completions.create(model="llama-3.3-70b-versatile", messages=MSGS)
    chunks = list(
        gq.chat.completions.create(model="llama-3.3-70b-versatile", messages=MSGS, stream=True)
    )
    assert server.requests[-1][0] == "/openai/v1/chat/completions"
    assert chunks
    records.refresh()
    assert [r["provider"] for r in records] == ["groq", "groq"]
    assert [r["parsed_output"] for r in records] == [answer_text("hello groq")] * 2
    assert records[0]["cost_usd"] is not None and records[1]["ttft_ms"] is not None
    assert "gsk-4711" not in str(list(records))


async def test_async(server: FakeLLMServer, records: Any) -> None:
    async with groq.AsyncGroq(api_key="k", base_url=server.url, max_retries=0) as c:
        await c.chat.completions.create(model="llama-3.1-8b-instant", messages=MSGS)
    assert records.one()["provider"] == "groq"


def test_error_reraised(gq: Any, records: Any) -> None:
    with pytest.raises(groq.RateLimitError):
        gq.chat.completions.create(
            model="llama-3.3-70b-versatile", messages=MSGS, extra_headers={"x-fake-status": "429"}
        )
    assert records.one()["status"] == "error"
