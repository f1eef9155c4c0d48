"""The real ``litellm`` against the fake server (OpenAI and Anthropic protocols)."""

from __future__ import annotations

from typing import Any

import pytest
from differential import differential
from fake_llm import FakeLLMServer, answer_text

litellm = pytest.importorskip("litellm")

# LiteLLM's own import-time and pydantic warnings are not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

KEY = "sk-litellm-secret-4711"

MSGS = [{"role": "user", "content": "hello lite"}]


def _kw(server: FakeLLMServer, provider: str) -> dict[str, Any]:
    if provider == "openai":
        return {"model": "openai/gpt-4o-mini", "api_base": server.url + "/v1", "api_key": KEY}
    return {
        "model": "anthropic/claude-haiku-4-5",
        "api_base": server.url,
        "api_key": KEY,
        "max_tokens": 50,
    }


def _text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
class TestCompletion:
    def test_completion(self, server: FakeLLMServer, records: Any, provider: str) -> None:
        """completion(): one record (not one more from the openai SDK underneath)."""
        before = len(server.requests)
        resp = litellm.completion(messages=MSGS, temperature=0.1, **_kw(server, provider))
        assert len(server.requests) == before + 1
        rec = records.one()
        assert rec["provider"] == provider
        assert rec["model"] == _kw(server, provider)["model"]
        assert rec["prompt_messages"] == MSGS
        assert rec["parsed_output"] == resp.choices[0].message.content == answer_text("hello lite")
        assert rec["params"]["temperature"] == 0.1
        assert "api_key" not in rec["params"] and KEY not in str(rec)
        assert rec["usage"]["estimated"] is False and rec["usage"]["input_tokens"] > 0
        assert rec["cost_usd"] is not None
        assert rec["finish_reasons"] == ["stop"]

    def test_stream(self, server: FakeLLMServer, records: Any, provider: str) -> None:
        """completion(stream=True): chunks pass through; one record with the full text."""
        chunks = list(
            litellm.completion(
                messages=MSGS,
                stream=True,
                stream_options={"include_usage": True},
                **_kw(server, provider),
            )
        )
        rec = records.one()
        assert rec["parsed_output"] == _text(chunks) == answer_text("hello lite")
        assert rec["usage"]["estimated"] is False
        assert rec["ttft_ms"] is not None

    def test_stream_without_usage(self, server: FakeLLMServer, records: Any, provider: str) -> None:
        """Without include_usage, LiteLLM streams carry no usage: estimated."""
        chunks = list(litellm.completion(messages=MSGS, stream=True, **_kw(server, provider)))
        rec = records.one()
        assert rec["parsed_output"] == _text(chunks)
        assert rec["usage"]["estimated"] is True

    async def test_acompletion(self, server: FakeLLMServer, records: Any, provider: str) -> None:
        """acompletion(), plain and streamed."""
        resp = await litellm.acompletion(messages=MSGS, **_kw(server, provider))
        stream = await litellm.acompletion(messages=MSGS, stream=True, **_kw(server, provider))
        chunks = [c async for c in stream]
        plain, streamed = records.refresh()
        assert plain["parsed_output"] == resp.choices[0].message.content
        assert streamed["parsed_output"] == _text(chunks) == answer_text("hello lite")

    def test_rate_limit(self, server: FakeLLMServer, records: Any, provider: str) -> None:
        """A 429 reaches the app as it would without llmlog, and is one error record."""
        out = differential(
            lambda: litellm.completion(
                messages=MSGS,
                max_retries=0,
                extra_headers={"x-fake-status": "429"},
                **_kw(server, provider),
            )
        )
        assert getattr(out.exc, "status_code", None) == 429
        rec = records.one()
        assert rec["status"] == "error"
        assert rec["error"]["type"] == out.error_type
        assert rec["error"]["status_code"] == 429
        assert rec["error"]["message"] == str(out.exc)


def test_tool_calls(server: FakeLLMServer, records: Any) -> None:
    """Tool calls through LiteLLM (Anthropic protocol, streamed) are reassembled."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
            },
        }
    ]
    chunks = list(
        litellm.completion(messages=MSGS, tools=tools, stream=True, **_kw(server, "anthropic"))
    )
    rec = records.one()
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or ())]
    assert calls and rec["tool_calls"][0]["name"] == "lookup"
    assert rec["tool_calls"][0]["arguments"] == {"query": "hello lite"}
    assert rec["params"]["tools"] == tools
