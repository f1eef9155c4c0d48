"""The real ``cohere`` SDK (v2 API) against the fake server (JSON and SSE event streams)."""

from __future__ import annotations

from typing import Any

import pytest
from fake_llm import FakeLLMServer, answer_text

cohere = pytest.importorskip("cohere")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MSGS = [{"role": "user", "content": "hello co"}]
TOOLS = [
    {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
    }
]


@pytest.fixture
def co(server: FakeLLMServer) -> Any:
    return cohere.ClientV2(api_key="co-key-4711", base_url=server.url)


def test_chat(co: Any, records: Any) -> None:
    """chat(): omitted arguments left out of params; usage counts (floats on the wire)."""
    resp = co.chat(model="command-a-03-2025", messages=MSGS, temperature=0.3)
    rec = records.one()
    assert resp.message.content[0].text == rec["parsed_output"] == answer_text("hello co")
    assert (rec["provider"], rec["operation"], rec["model"]) == (
        "cohere",
        "chat",
        "command-a-03-2025",
    )
    assert rec["params"] == {"temperature": 0.3}
    assert (
        rec["usage"]["estimated"] is False
        and rec["usage"]["input_tokens"] == resp.usage.tokens.input_tokens
    )
    assert rec["finish_reasons"] == ["COMPLETE"] and rec["cost_usd"] is not None
    assert "co-key-4711" not in str(rec)


@pytest.mark.parametrize("tools", [None, TOOLS])
def test_chat_stream(co: Any, records: Any, tools: Any) -> None:
    """chat_stream(): typed events pass through; text or the streamed tool call folded."""
    kw = {"tools": tools} if tools else {}
    events = list(co.chat_stream(model="command-a-03-2025", messages=MSGS, **kw))
    assert events[-1].type == "message-end"
    rec = records.one()
    assert rec["ttft_ms"] is not None and rec["usage"]["estimated"] is False
    if tools:
        assert rec["tool_calls"] == [
            {"id": rec["tool_calls"][0]["id"], "name": "lookup", "arguments": {"query": "hello co"}}
        ]
        assert rec["llm_raw_response"]["message"]["tool_plan"] == "I will call the tool."
    else:
        assert rec["parsed_output"] == answer_text("hello co")


def test_tool_call_then_answer(co: Any, records: Any) -> None:
    first = co.chat(model="command-a-03-2025", messages=MSGS, tools=TOOLS)
    call = first.message.tool_calls[0]
    msgs = [
        *MSGS,
        {"role": "assistant", "tool_calls": [call], "tool_plan": first.message.tool_plan},
        {
            "role": "tool",
            "tool_call_id": call.id,
            "content": [{"type": "document", "document": {"data": "42"}}],
        },
    ]
    co.chat(model="command-a-03-2025", messages=msgs, tools=TOOLS)
    records.refresh()
    assert records[0]["tool_calls"][0]["name"] == "lookup"
    assert records[0]["finish_reasons"] == ["TOOL_CALL"]
    assert records[1]["parsed_output"].startswith("echo:")


async def test_async(server: FakeLLMServer, records: Any) -> None:
    ac = cohere.AsyncClientV2(api_key="k", base_url=server.url)
    await ac.chat(model="command-a-03-2025", messages=MSGS)
    async for _ in ac.chat_stream(model="command-a-03-2025", messages=MSGS):
        pass
    records.refresh()
    assert [r["parsed_output"] for r in records] == [answer_text("hello co")] * 2
    assert records[1]["ttft_ms"] is not None


def test_embed(co: Any, records: Any) -> None:
    co.embed(
        model="embed-v4.0",
        texts=["a", "b"],
        input_type="search_document",
        embedding_types=["float"],
    )
    rec = records.one()
    assert rec["operation"] == "embeddings" and rec["parsed_output"] == {
        "count": 2,
        "dimensions": 8,
    }
    assert rec["usage"]["input_tokens"] == 4 and rec["usage"]["output_tokens"] == 0


def test_error_reraised(co: Any, records: Any) -> None:
    from cohere.core.api_error import ApiError

    with pytest.raises(ApiError):
        co.chat(
            model="command-a-03-2025",
            messages=MSGS,
            request_options={"additional_headers": {"x-fake-status": "500"}, "max_retries": 0},
        )
    assert records.one()["status"] == "error"
