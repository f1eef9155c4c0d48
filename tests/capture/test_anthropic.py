"""The real ``anthropic`` SDK, sync and async, against the fake server."""

from __future__ import annotations

import gc
from typing import Any

import anthropic
import pydantic
import pytest
from differential import adifferential, differential
from fake_llm import answer_text, usage_for

MSGS = [{"role": "user", "content": "hi claude"}]
TOOLS = [
    {
        "name": "lookup",
        "description": "Look something up",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
    }
]
MODEL = "claude-haiku-4-5"


def _text(events: list[Any]) -> str:
    return "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )


class TestMessages:
    def test_create_fills_the_record(self, an: Any, records: Any) -> None:
        """messages.create: system prompt leads the messages; usage includes cache reads."""
        msg = an.messages.create(
            model=MODEL, max_tokens=64, system="Be brief.", messages=MSGS, stop_sequences=["###"]
        )
        rec = records.one()
        assert rec["provider"] == "anthropic"
        assert rec["operation"] == "chat"
        assert rec["model"] == MODEL
        assert rec["prompt_messages"] == [{"role": "system", "content": "Be brief."}, *MSGS]
        assert rec["params"] == {"max_tokens": 64, "stop_sequences": ["###"]}
        assert rec["parsed_output"] == msg.content[0].text == "echo: hi claude"
        assert rec["llm_raw_response"]["id"] == msg.id
        inp, out = usage_for("hi claude", "echo: hi claude")
        assert rec["usage"] == {
            "input_tokens": inp + 3,
            "output_tokens": out,
            "total_tokens": inp + 3 + out,
            "cached_input_tokens": 3,
            "reasoning_tokens": None,
            "estimated": False,
        }
        assert rec["cost_usd"] == pytest.approx((inp * 1.0 + 3 * 0.1 + out * 5.0) / 1e6)
        assert rec["finish_reasons"] == ["end_turn"]
        assert rec["status"] == "ok"

    def test_tool_use(self, an: Any, records: Any) -> None:
        """Tool use: tools go to params, the tool_use block to tool_calls."""
        msg = an.messages.create(model=MODEL, max_tokens=64, messages=MSGS, tools=TOOLS)
        rec = records.one()
        assert rec["params"]["tools"] == TOOLS
        assert rec["tool_calls"] == [
            {"id": msg.content[1].id, "name": "lookup", "arguments": {"query": "hi claude"}}
        ]
        assert rec["finish_reasons"] == ["tool_use"]

    def test_stream_true(self, an: Any, records: Any) -> None:
        """create(stream=True): the raw events pass through; usage from message_delta."""
        stream = an.messages.create(model=MODEL, max_tokens=64, messages=MSGS, stream=True)
        assert isinstance(stream, anthropic.Stream)
        events = list(stream)
        rec = records.one()
        assert rec["parsed_output"] == _text(events) == answer_text("hi claude")
        raw = rec["llm_raw_response"]
        assert raw["type"] == "message" and raw["id"] == events[0].message.id
        assert raw["stop_reason"] == "end_turn"
        assert rec["usage"]["output_tokens"] == events[-2].usage.output_tokens
        assert rec["usage"]["estimated"] is False
        assert rec["ttft_ms"] is not None

    def test_stream_helper_with_tools(self, an: Any, records: Any) -> None:
        """messages.stream(): text_stream and get_final_message work; one record."""
        with an.messages.stream(model=MODEL, max_tokens=64, messages=MSGS, tools=TOOLS) as s:
            text = "".join(s.text_stream)
            final = s.get_final_message()
        rec = records.one()
        assert rec["parsed_output"] == text == final.content[0].text
        assert rec["tool_calls"] == [
            {"id": final.content[1].id, "name": "lookup", "arguments": {"query": "hi claude"}}
        ]
        assert rec["llm_raw_response"]["content"] == [
            b.model_dump(mode="json", exclude_none=True) for b in final.content
        ]
        assert rec["params"]["stream"] is True

    def test_stream_helper_closed_early(self, an: Any, records: Any) -> None:
        """Leaving the messages.stream() block before the end logs the partial text."""
        with an.messages.stream(model=MODEL, max_tokens=64, messages=MSGS) as s:
            for event in s:
                if event.type == "text":
                    break
        rec = records.one()
        assert rec["parsed_output"] == "echo:"
        assert rec["usage"]["estimated"] is True
        assert rec["usage"]["input_tokens"] == usage_for("hi claude", "")[0] + 3

    def test_parse(self, an: Any, records: Any) -> None:
        """messages.parse() with a model that does not fit the reply raises; logged as error."""

        class Out(pydantic.BaseModel):
            answer: str

        with pytest.raises(Exception) as info:
            an.messages.parse(model=MODEL, max_tokens=64, messages=MSGS, output_format=Out)
        rec = records.one()
        assert rec["status"] == "error"
        assert rec["error"]["type"] == type(info.value).__name__

    def test_with_raw_response(self, an: Any, records: Any) -> None:
        """with_raw_response: the JSON body is logged."""
        raw = an.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=MSGS)
        rec = records.one()
        assert rec["parsed_output"] == raw.parse().content[0].text


class TestErrors:
    @pytest.mark.parametrize("status", [429, 500])
    def test_api_errors(self, an: Any, records: Any, status: int) -> None:
        """API errors: the app gets what it gets without llmlog; logged with type and status."""
        out = differential(
            lambda: an.messages.create(
                model=MODEL,
                max_tokens=64,
                messages=MSGS,
                extra_headers={"x-fake-status": str(status)},
            )
        )
        assert isinstance(out.exc, anthropic.APIStatusError)
        rec = records.one()
        assert rec["error"] == {
            "type": out.error_type,
            "message": str(out.exc),
            "status_code": status,
        }

    def test_timeout(self, an: Any, records: Any) -> None:
        """A request timeout: the same exception as without llmlog, logged by its type."""
        out = differential(
            lambda: an.messages.create(
                model=MODEL,
                max_tokens=64,
                messages=MSGS,
                timeout=0.05,
                extra_headers={"x-fake-delay-ms": "100"},
            )
        )
        assert out.exc is not None
        assert records.one()["error"]["type"] == out.error_type

    def test_stream_cut_midway(self, an: Any, records: Any) -> None:
        """A cut stream: the events and the exception are as without llmlog; partial text logged."""
        out = differential(
            lambda: an.messages.create(
                model=MODEL,
                max_tokens=64,
                messages=MSGS,
                stream=True,
                extra_headers={"x-fake-cut": "5"},
            ),
            consume=True,
        )
        assert out.exc is not None
        rec = records.one()
        assert rec["status"] == "error"
        assert rec["error"]["type"] == out.error_type
        assert rec["parsed_output"] == _text(out.items) == "echo: hi"
        assert rec["usage"]["estimated"] is True

    def test_abandoned_stream(self, an: Any, records: Any) -> None:
        """A dropped stream is logged when collected."""
        stream = an.messages.create(model=MODEL, max_tokens=64, messages=MSGS, stream=True)
        for _ in range(4):  # message_start, content_block_start, two text deltas
            next(stream)
        del stream
        gc.collect()
        rec = records.one()
        assert rec["parsed_output"] == "echo: hi"


class TestAsync:
    async def test_create_stream_and_helper(self, aan: Any, records: Any) -> None:
        """Async create, create(stream=True) and the messages.stream() helper."""
        msg = await aan.messages.create(model=MODEL, max_tokens=64, system="sys", messages=MSGS)
        events = [
            e
            async for e in await aan.messages.create(
                model=MODEL, max_tokens=64, messages=MSGS, stream=True
            )
        ]
        async with aan.messages.stream(model=MODEL, max_tokens=64, messages=MSGS, tools=TOOLS) as s:
            final = await s.get_final_message()
        plain, streamed, helper = records.refresh()
        assert plain["parsed_output"] == msg.content[0].text
        assert plain["prompt_messages"][0] == {"role": "system", "content": "sys"}
        assert streamed["parsed_output"] == _text(events)
        assert helper["tool_calls"][0]["id"] == final.content[1].id

    async def test_error(self, aan: Any, records: Any) -> None:
        """Async API errors reach the app as without llmlog and are logged."""
        out = await adifferential(
            lambda: aan.messages.create(
                model=MODEL, max_tokens=64, messages=MSGS, extra_headers={"x-fake-status": "429"}
            )
        )
        assert isinstance(out.exc, anthropic.APIStatusError)
        rec = records.one()
        assert rec["error"]["status_code"] == 429
        assert rec["error"]["type"] == out.error_type

    async def test_cut_stream(self, aan: Any, records: Any) -> None:
        """Async cut stream: as without llmlog for the app; partial output, status error."""
        out = await adifferential(
            lambda: aan.messages.create(
                model=MODEL,
                max_tokens=64,
                messages=MSGS,
                stream=True,
                extra_headers={"x-fake-cut": "5"},
            ),
            consume=True,
        )
        assert out.exc is not None
        rec = records.one()
        assert rec["status"] == "error" and rec["parsed_output"] == _text(out.items) == "echo: hi"
        assert rec["error"]["type"] == out.error_type
