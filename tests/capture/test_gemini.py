"""The real ``google-genai`` SDK against the fake Gemini API (REST, SSE streams)."""

from __future__ import annotations

from typing import Any

import pytest
from fake_llm import FakeLLMServer, answer_text, usage_for

genai = pytest.importorskip("google.genai")
types = pytest.importorskip("google.genai.types")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def gm(server: FakeLLMServer) -> Any:
    return genai.Client(api_key="gm-key-4711", http_options=types.HttpOptions(base_url=server.url))


def test_generate_content(gm: Any, records: Any) -> None:
    """generate_content: the wire body and response; usage, cost, system instruction."""
    config = types.GenerateContentConfig(system_instruction="be brief", temperature=0.2)
    resp = gm.models.generate_content(model="gemini-2.5-flash", contents="hello gem", config=config)
    rec = records.one()
    assert resp.text == rec["parsed_output"] == answer_text("hello gem")
    assert (rec["provider"], rec["operation"], rec["model"]) == (
        "gcp.gemini",
        "chat",
        "gemini-2.5-flash",
    )
    assert rec["response_model"] == "gemini-2.5-flash-001"
    assert rec["prompt_messages"][0] == {"role": "system", "parts": [{"text": "be brief"}]}
    assert rec["prompt_messages"][1]["parts"] == [{"text": "hello gem"}]
    assert rec["params"] == {"generationConfig": {"temperature": 0.2}}
    inp, out = usage_for("hello gem", answer_text("hello gem"))
    assert (rec["usage"]["input_tokens"], rec["usage"]["output_tokens"]) == (inp, out)
    assert rec["usage"]["estimated"] is False
    assert rec["cost_usd"] == pytest.approx((inp * 0.3 + out * 2.5) / 1e6)
    assert rec["finish_reasons"] == ["STOP"]
    assert "gm-key-4711" not in str(rec)


def test_stream(gm: Any, records: Any) -> None:
    """generate_content_stream: chunks pass through; one record, folded, with TTFT."""
    chunks = list(
        gm.models.generate_content_stream(model="gemini-2.5-flash", contents="stream gem")
    )
    assert "".join(c.text for c in chunks) == answer_text("stream gem")
    rec = records.one()
    assert rec["parsed_output"] == answer_text("stream gem")
    assert rec["ttft_ms"] is not None and rec["ttft_ms"] <= rec["duration_ms"]
    assert rec["usage"]["estimated"] is False and rec["usage"]["output_tokens"] > 0
    assert rec["llm_raw_response"]["candidates"][0]["finishReason"] == "STOP"


async def test_async_and_async_stream(gm: Any, records: Any) -> None:
    """client.aio: plain and streamed calls are logged alike."""
    resp = await gm.aio.models.generate_content(model="gemini-2.5-flash", contents="async gem")
    pieces = [
        c.text
        async for c in await gm.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="astream gem"
        )
    ]
    assert resp.text == answer_text("async gem") and "".join(pieces) == answer_text("astream gem")
    records.refresh()
    assert [r["parsed_output"] for r in records] == [
        answer_text("async gem"),
        answer_text("astream gem"),
    ]
    assert records[1]["ttft_ms"] is not None


def test_chat_session(gm: Any, records: Any) -> None:
    """chats.create().send_message: each turn is one record with the history sent."""
    chat = gm.chats.create(model="gemini-2.5-flash")
    chat.send_message("first turn")
    chat.send_message("second turn")
    records.refresh()
    assert len(records) == 2
    assert len(records[1]["prompt_messages"]) == 3  # user, model, user
    assert records[1]["parsed_output"] == answer_text("second turn")


def test_automatic_function_calling(gm: Any, records: Any) -> None:
    """A Python tool run by the SDK: one record per model call, the tool call in the first."""

    def lookup(query: str) -> str:
        """Look something up."""
        return f"found {query}"

    config = types.GenerateContentConfig(tools=[lookup])
    resp = gm.models.generate_content(model="gemini-2.5-flash", contents="find cats", config=config)
    records.refresh()
    assert len(records) == 2
    first, second = records
    assert first["tool_calls"] == [
        {"id": None, "name": "lookup", "arguments": {"query": "find cats"}}
    ]
    assert second["trace_id"] and second["parsed_output"] == resp.text
    assert "functionResponse" in str(second["prompt_messages"])


def test_error_reraised(gm: Any, records: Any) -> None:
    """An API error is logged and reaches the app unchanged."""
    from google.genai import errors

    config = types.GenerateContentConfig(
        http_options=types.HttpOptions(headers={"x-fake-status": "429"})
    )
    with pytest.raises(errors.ClientError) as info:
        gm.models.generate_content(model="gemini-2.5-flash", contents="x", config=config)
    assert info.value.code == 429
    rec = records.one()
    assert rec["status"] == "error" and rec["error"]["type"] == "ClientError"


def test_embeddings(gm: Any, records: Any) -> None:
    """embed_content: vectors summarised, count and dimensions kept."""
    resp = gm.models.embed_content(model="gemini-embedding-001", contents=["a cat", "a dog"])
    assert len(resp.embeddings) == 2
    rec = records.one()
    assert rec["operation"] == "embeddings"
    assert rec["parsed_output"] == {"count": 2, "dimensions": 8}
    assert rec["prompt_messages"] == [
        {"role": "user", "content": "a cat"},
        {"role": "user", "content": "a dog"},
    ]
    assert "<8 floats>" in str(rec["llm_raw_response"])


def test_other_calls_pass_through(gm: Any, server: FakeLLMServer, records: Any) -> None:
    """Calls that are not model calls (countTokens here) are not logged."""
    assert gm.models.count_tokens(model="gemini-2.5-flash", contents="x").total_tokens > 0
    assert server.requests[-1][0].endswith(":countTokens")
    assert records.refresh() == []
