"""The real ``ollama`` client against the fake Ollama server (JSON and NDJSON streams)."""

from __future__ import annotations

from typing import Any

import pytest
from fake_llm import FakeLLMServer, answer_text, usage_for

ollama = pytest.importorskip("ollama")

MSGS = [{"role": "user", "content": "hello llama"}]


@pytest.fixture
def ol(server: FakeLLMServer) -> Any:
    return ollama.Client(host=server.url)


def test_chat(ol: Any, records: Any) -> None:
    """chat(): the wire body, the answer and Ollama's own token counts."""
    resp = ol.chat(model="llama3.2", messages=MSGS, options={"temperature": 0.1})
    rec = records.one()
    assert resp.message.content == rec["parsed_output"] == answer_text("hello llama")
    assert (rec["provider"], rec["operation"], rec["model"]) == ("ollama", "chat", "llama3.2")
    assert rec["prompt_messages"] == MSGS
    assert rec["params"]["options"] == {"temperature": 0.1}
    inp, out = usage_for("hello llama", answer_text("hello llama"))
    assert (rec["usage"]["input_tokens"], rec["usage"]["output_tokens"]) == (inp, out)
    assert rec["usage"]["estimated"] is False
    assert rec["finish_reasons"] == ["stop"]


def test_stream(ol: Any, records: Any) -> None:
    """chat(stream=True): NDJSON parts pass through; one record with TTFT and counts."""
    parts = list(ol.chat(model="llama3.2", messages=MSGS, stream=True))
    assert "".join(p.message.content for p in parts) == answer_text("hello llama")
    rec = records.one()
    assert rec["parsed_output"] == answer_text("hello llama")
    assert rec["ttft_ms"] is not None and rec["usage"]["estimated"] is False
    assert rec["llm_raw_response"]["done"] is True


def test_stream_abandoned(ol: Any, records: Any) -> None:
    """A stream the app stops reading is logged with what it read."""
    stream = ol.chat(model="llama3.2", messages=MSGS, stream=True)
    first = next(stream)
    stream.close()
    rec = records.one()
    assert rec["parsed_output"] == first.message.content


async def test_async_chat_and_stream(server: FakeLLMServer, records: Any) -> None:
    """AsyncClient: plain and streamed calls."""
    client = ollama.AsyncClient(host=server.url)
    resp = await client.chat(model="llama3.2", messages=MSGS)
    parts = [p async for p in await client.chat(model="llama3.2", messages=MSGS, stream=True)]
    assert resp.message.content == "".join(p.message.content for p in parts)
    records.refresh()
    assert len(records) == 2 and records[1]["ttft_ms"] is not None
    assert {r["parsed_output"] for r in records} == {answer_text("hello llama")}


def test_tool_calls(ol: Any, records: Any) -> None:
    """Tools offered: the model's tool call is recorded, then the answer to its result."""
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    first = ol.chat(model="llama3.2", messages=MSGS, tools=tools)
    call = first.message.tool_calls[0]
    msgs = [
        *MSGS,
        first.message,
        {"role": "tool", "content": "42", "tool_name": call.function.name},
    ]
    ol.chat(model="llama3.2", messages=msgs, tools=tools)
    records.refresh()
    assert records[0]["tool_calls"] == [
        {"id": None, "name": "lookup", "arguments": {"query": "hello llama"}}
    ]
    assert records[1]["parsed_output"] == answer_text("42")


def test_generate_and_embed(ol: Any, records: Any) -> None:
    """generate() is a text completion; embed() an embeddings call, vectors summarised."""
    ol.generate(model="llama3.2", prompt="complete me", system="be terse")
    ol.embed(model="nomic-embed-text", input=["a", "b"])
    records.refresh()
    gen, emb = records
    assert gen["operation"] == "text_completion"
    assert gen["prompt_messages"] == [
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": "complete me"},
    ]
    assert gen["parsed_output"] == answer_text("complete me")
    assert emb["operation"] == "embeddings"
    assert emb["parsed_output"] == {"count": 2, "dimensions": 8}
    assert emb["llm_raw_response"]["embeddings"] == ["<8 floats>", "<8 floats>"]


def test_error_reraised(server: FakeLLMServer, records: Any) -> None:
    """An HTTP error is logged and reaches the app as Ollama's ResponseError."""
    client = ollama.Client(host=server.url, headers={"x-fake-status": "500"})
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="llama3.2", messages=MSGS)
    assert info.value.status_code == 500
    rec = records.one()
    assert rec["status"] == "error" and rec["error"]["type"] == "ResponseError"


def test_other_calls_pass_through(ol: Any, server: FakeLLMServer, records: Any) -> None:
    """Model management (``/api/show``) is not logged."""
    with pytest.raises(ollama.ResponseError):
        ol.show("llama3.2")  # the fake answers 404
    assert records.refresh() == []
