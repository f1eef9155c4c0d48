"""The real ``mistralai`` SDK against the fake server (Mistral's API is OpenAI's chat shape)."""

from __future__ import annotations

from typing import Any

import pytest
from fake_llm import FakeLLMServer, answer_text

mistral_client = pytest.importorskip("mistralai.client")

MSGS = [{"role": "user", "content": "hello mis"}]


@pytest.fixture
def mi(server: FakeLLMServer) -> Any:
    return mistral_client.Mistral(api_key="mi-key-4711", server_url=server.url)


def test_complete(mi: Any, records: Any) -> None:
    """chat.complete(): params without the SDK's Unset markers, usage, cost."""
    resp = mi.chat.complete(model="mistral-large-latest", messages=MSGS, temperature=0.2)
    rec = records.one()
    assert resp.choices[0].message.content == rec["parsed_output"] == answer_text("hello mis")
    assert (rec["provider"], rec["operation"], rec["model"]) == (
        "mistral_ai",
        "chat",
        "mistral-large-latest",
    )
    assert rec["prompt_messages"] == MSGS
    assert rec["params"] == {"temperature": 0.2}
    assert rec["usage"]["estimated"] is False and rec["cost_usd"] is not None
    assert "mi-key-4711" not in str(rec)


def test_stream(mi: Any, records: Any) -> None:
    """chat.stream(): events pass through, folded by the OpenAI chat assembler."""
    with mi.chat.stream(model="mistral-small-latest", messages=MSGS) as events:
        text = "".join(e.data.choices[0].delta.content or "" for e in events)
    assert text == answer_text("hello mis")
    rec = records.one()
    assert rec["parsed_output"] == text and rec["ttft_ms"] is not None


async def test_async(mi: Any, records: Any) -> None:
    """complete_async() and stream_async()."""
    await mi.chat.complete_async(model="mistral-large-latest", messages=MSGS)
    events = await mi.chat.stream_async(model="mistral-large-latest", messages=MSGS)
    async for _ in events:
        pass
    records.refresh()
    assert [r["parsed_output"] for r in records] == [answer_text("hello mis")] * 2


def test_tools_and_embeddings(mi: Any, records: Any) -> None:
    """A tool call; embeddings.create() with vectors summarised."""
    tools = [
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    mi.chat.complete(model="mistral-large-latest", messages=MSGS, tools=tools)
    mi.embeddings.create(model="mistral-embed", inputs=["a", "b"])
    records.refresh()
    call, emb = records
    assert call["tool_calls"] == [
        {"id": call["tool_calls"][0]["id"], "name": "lookup", "arguments": {"query": "hello mis"}}
    ]
    assert emb["operation"] == "embeddings" and emb["parsed_output"] == {
        "count": 2,
        "dimensions": 8,
    }


def test_error_reraised(mi: Any, records: Any) -> None:
    from mistralai.client import errors

    with pytest.raises(errors.SDKError):
        mi.chat.complete(
            model="mistral-large-latest", messages=MSGS, http_headers={"x-fake-status": "500"}
        )
    rec = records.one()
    assert rec["status"] == "error"
