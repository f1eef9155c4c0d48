"""The real ``openai`` SDK, sync and async, against the fake server: one exact record per call."""

from __future__ import annotations

import gc
import json
from typing import Any

import openai
import pydantic
import pytest
from differential import adifferential, differential
from fake_llm import FakeLLMServer, answer_text, usage_for

import llmlog
from llmlog.context import SUPPRESS

MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look something up",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]


def _text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


class TestChatCompletions:
    def test_create_fills_the_record(self, oa: Any, records: Any) -> None:
        """A plain create() gives one record with request, response, usage, cost and timing."""
        resp = oa.chat.completions.create(
            model="gpt-4o-mini",
            messages=MSGS,
            temperature=0.3,
            max_tokens=50,
            top_p=0.9,
            stop=["\n\n"],
        )
        rec = records.one()
        assert rec["provider"] == "openai"
        assert rec["operation"] == "chat"
        assert rec["model"] == "gpt-4o-mini"
        assert rec["response_model"] == "gpt-4o-mini-2024-07-18"
        assert rec["params"] == {
            "temperature": 0.3,
            "max_tokens": 50,
            "top_p": 0.9,
            "stop": ["\n\n"],
        }
        assert rec["prompt_messages"] == MSGS
        assert rec["parsed_output"] == resp.choices[0].message.content == "echo: hello there"
        assert rec["llm_raw_response"]["id"] == resp.id
        assert rec["llm_raw_response"]["choices"][0]["message"]["content"] == "echo: hello there"
        inp, out = usage_for("hello there", "echo: hello there")
        assert rec["usage"] == {
            "input_tokens": inp,
            "output_tokens": out,
            "total_tokens": inp + out,
            "cached_input_tokens": 2,
            "reasoning_tokens": 1,
            "estimated": False,
        }
        expected_cost = ((inp - 2) * 0.15 + 2 * 0.075 + out * 0.6) / 1e6
        assert rec["cost_usd"] == pytest.approx(expected_cost)
        assert rec["finish_reasons"] == ["stop"]
        assert rec["status"] == "ok" and rec["error"] is None
        assert rec["duration_ms"] > 0 and rec["ttft_ms"] is None
        assert rec["trace_id"] and rec["span_id"]
        assert rec["metadata"] == {"server_address": "127.0.0.1"}

    def test_tool_calls(self, oa: Any, records: Any) -> None:
        """Tools offered go to params; the tool call requested is in tool_calls."""
        resp = oa.chat.completions.create(
            model="gpt-4o-mini", messages=MSGS, tools=TOOLS, tool_choice="auto"
        )
        rec = records.one()
        call = resp.choices[0].message.tool_calls[0]
        assert rec["params"]["tools"] == TOOLS
        assert rec["params"]["tool_choice"] == "auto"
        assert rec["tool_calls"] == [
            {"id": call.id, "name": "lookup", "arguments": {"query": "hello there"}}
        ]
        assert rec["finish_reasons"] == ["tool_calls"]

    def test_stream_with_usage(self, oa: Any, records: Any) -> None:
        """include_usage: the rebuilt response carries the provider's usage, not an estimate."""
        stream = oa.chat.completions.create(
            model="gpt-4o-mini", messages=MSGS, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
        rec = records.one()
        raw = rec["llm_raw_response"]
        assert raw["object"] == "chat.completion"
        assert raw["id"] == chunks[0].id
        assert rec["parsed_output"] == _text(chunks) == "echo: hello there"
        assert rec["params"] == {"stream": True, "stream_options": {"include_usage": True}}
        assert rec["usage"]["estimated"] is False
        assert rec["usage"]["input_tokens"] == usage_for("hello there", "")[0]
        assert rec["usage"]["cached_input_tokens"] == 2
        assert rec["finish_reasons"] == ["stop"]
        assert 0 < rec["ttft_ms"] <= rec["duration_ms"]

    def test_stream_without_usage_is_estimated(self, oa: Any, records: Any) -> None:
        """Without include_usage the tokens are estimated and marked so."""
        chunks = list(oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True))
        rec = records.one()
        assert rec["parsed_output"] == _text(chunks)
        assert rec["usage"]["estimated"] is True
        assert rec["usage"]["output_tokens"] > 0 and rec["usage"]["input_tokens"] > 0
        assert rec["cost_usd"] is not None

    def test_stream_tool_call_deltas(self, oa: Any, records: Any) -> None:
        """Streamed tool-call argument fragments are reassembled into the call."""
        chunks = list(
            oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS, tools=TOOLS, stream=True)
        )
        rec = records.one()
        app_args = "".join(
            c.choices[0].delta.tool_calls[0].function.arguments
            for c in chunks
            if c.choices and c.choices[0].delta.tool_calls
        )
        assert json.loads(app_args) == {"query": "hello there"}
        assert rec["tool_calls"] == [
            {
                "id": chunks[0].choices[0].delta.tool_calls[0].id,
                "name": "lookup",
                "arguments": {"query": "hello there"},
            }
        ]
        assert rec["finish_reasons"] == ["tool_calls"]
        assert rec["usage"]["estimated"] is True
        assert rec["usage"]["output_tokens"] >= 5  # the arguments count as output

    def test_chunks_pass_through_unchanged(self, oa: Any, records: Any) -> None:
        """The app gets the SDK's own stream and chunk objects (isinstance, attributes)."""
        stream = oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
        assert isinstance(stream, openai.Stream)
        assert stream.response.status_code == 200
        first = next(stream)
        assert type(first).__name__ == "ChatCompletionChunk"
        assert first.choices[0].delta.role == "assistant"
        rest = list(stream)
        assert _text([first, *rest]) == "echo: hello there"

    def test_parse_structured_output(self, oa: Any, records: Any) -> None:
        """chat.completions.parse(): parsed_output is the parsed object."""

        class Answer(pydantic.BaseModel):
            answer: str

        resp = oa.chat.completions.parse(model="gpt-4o-mini", messages=MSGS, response_format=Answer)
        assert resp.choices[0].message.parsed == Answer(answer="hello there")
        rec = records.one()
        assert rec["parsed_output"] == {"answer": "hello there"}
        # the raw response is the JSON as received, not the SDK's parsed object
        assert "parsed" not in rec["llm_raw_response"]["choices"][0]["message"]
        assert rec["params"]["response_format"]["type"] == "json_schema"
        assert rec["params"]["response_format"]["json_schema"]["name"] == "Answer"

    def test_parse_failure_is_the_calls_error(self, oa: Any, records: Any) -> None:
        """When the SDK's parsing raises, the app gets that error and so does the record."""

        class Other(pydantic.BaseModel):
            other: int

        out = differential(
            lambda: oa.chat.completions.parse(
                model="gpt-4o-mini", messages=MSGS, response_format=Other
            )
        )
        assert out.exc is not None
        rec = records.one()
        assert rec["status"] == "error"
        assert rec["error"]["type"] == out.error_type

    def test_chat_completions_stream_helper(self, oa: Any, records: Any) -> None:
        """The chat.completions.stream() helper iterates our stream: one record."""
        with oa.chat.completions.stream(model="gpt-4o-mini", messages=MSGS) as s:
            final = s.get_final_completion()
        rec = records.one()
        assert rec["parsed_output"] == final.choices[0].message.content == "echo: hello there"


class TestErrors:
    @pytest.mark.parametrize("status", [429, 500])
    def test_api_error_is_logged_and_reraised_unchanged(
        self, oa: Any, records: Any, status: int
    ) -> None:
        """An API error reaches the app as without llmlog; the record has type and status."""
        out = differential(
            lambda: oa.chat.completions.create(
                model="gpt-4o-mini", messages=MSGS, extra_headers={"x-fake-status": str(status)}
            )
        )
        assert isinstance(out.exc, openai.APIStatusError)
        rec = records.one()
        assert rec["status"] == "error"
        assert rec["error"] == {
            "type": out.error_type,
            "message": str(out.exc),
            "status_code": status,
        }
        assert rec["llm_raw_response"] is None
        assert rec["usage"]["input_tokens"] is None and rec["cost_usd"] is None

    def test_retries_are_one_record(self, server: FakeLLMServer, records: Any) -> None:
        """An SDK-internal retry (500 then 200) is one record, status ok."""
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=2)
        before = len(server.requests)
        resp = client.chat.completions.create(
            model="gpt-4o-mini", messages=MSGS, extra_headers={"x-fake-fail-first": "500"}
        )
        assert len(server.requests) - before == 2
        rec = records.one()
        assert rec["status"] == "ok"
        assert rec["parsed_output"] == resp.choices[0].message.content

    def test_timeout(self, oa: Any, records: Any) -> None:
        """A request timeout: the app gets what it gets without llmlog; logged by type."""
        out = differential(
            lambda: oa.chat.completions.create(
                model="gpt-4o-mini",
                messages=MSGS,
                timeout=0.05,
                extra_headers={"x-fake-delay-ms": "100"},
            )
        )
        assert out.exc is not None
        rec = records.one()
        assert rec["status"] == "error"
        assert rec["error"]["type"] == out.error_type
        assert rec["duration_ms"] >= 45

    def test_connection_error(self, records: Any) -> None:
        """A refused connection: as without llmlog for the app; logged with no status."""
        client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0)
        out = differential(
            lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        )
        assert out.exc is not None
        rec = records.one()
        assert rec["error"]["type"] == out.error_type
        assert rec["error"]["status_code"] is None

    def test_stream_cut_midway(self, oa: Any, records: Any) -> None:
        """A stream cut mid-body: chunks and error as without llmlog; the partial text logged."""
        out = differential(
            lambda: oa.chat.completions.create(
                model="gpt-4o-mini", messages=MSGS, stream=True, extra_headers={"x-fake-cut": "3"}
            ),
            consume=True,
        )
        assert out.exc is not None
        rec = records.one()
        assert rec["status"] == "error"
        assert rec["error"]["type"] == out.error_type
        assert rec["parsed_output"] == _text(out.items) == "echo: hello"
        assert rec["finish_reasons"] == []
        assert rec["usage"]["estimated"] is True


class TestStreamLifecycle:
    def _stream(self, oa: Any) -> Any:
        return oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)

    def test_break_then_close(self, oa: Any, records: Any) -> None:
        """Breaking out early and closing logs the partial output once, status ok."""
        stream = self._stream(oa)
        got = []
        for chunk in stream:
            got.append(chunk)
            if len(got) == 2:
                break
        assert records.refresh() == []  # nothing logged while the app holds the stream
        stream.close()
        stream.close()
        rec = records.one()
        assert rec["parsed_output"] == _text(got) == "echo:"
        assert rec["status"] == "ok"

    def test_context_manager_exit(self, oa: Any, records: Any) -> None:
        """Leaving ``with stream:`` early logs once."""
        with self._stream(oa) as stream:
            next(stream)
        rec = records.one()
        assert rec["parsed_output"] == ""

    def test_abandoned_stream_is_logged_when_collected(self, oa: Any, records: Any) -> None:
        """A stream dropped half-read is logged when garbage-collected."""
        stream = self._stream(oa)
        next(stream)
        next(stream)
        del stream
        gc.collect()
        rec = records.one()
        assert rec["parsed_output"] == "echo:"

    def test_exhausted_then_closed_is_one_record(self, oa: Any, records: Any) -> None:
        """Exhaustion logs; a later close() or GC does not log again."""
        with self._stream(oa) as stream:
            list(stream)
        del stream
        gc.collect()
        assert len(records.refresh()) == 1

    def test_long_stream_is_assembled_in_batches(self, oa: Any, records: Any) -> None:
        """A stream of a few hundred chunks (several assembly batches) is rebuilt whole."""
        words = " ".join(f"w{i}" for i in range(300))
        chunks = list(
            oa.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": words}], stream=True
            )
        )
        assert len(chunks) > 300
        rec = records.one()
        assert rec["parsed_output"] == _text(chunks) == answer_text(words)

    def test_prompt_is_what_was_sent(self, oa: Any, records: Any) -> None:
        """The app changing its messages while it reads the stream does not change the record."""
        msgs = [dict(m) for m in MSGS]
        stream = oa.chat.completions.create(model="gpt-4o-mini", messages=msgs, stream=True)
        for chunk in stream:
            msgs.append({"role": "assistant", "content": chunk.choices[0].delta.content})
            msgs[1]["content"] = "changed"
        rec = records.one()
        assert rec["prompt_messages"] == MSGS

    def test_slow_first_chunk_sets_ttft(self, oa: Any, records: Any) -> None:
        """ttft_ms covers the wait for the first chunk; duration runs to the end."""
        list(
            oa.chat.completions.create(
                model="gpt-4o-mini",
                messages=MSGS,
                stream=True,
                extra_headers={"x-fake-delay-ms": "100", "x-fake-chunk-delay-ms": "5"},
            )
        )
        rec = records.one()
        assert rec["ttft_ms"] >= 95
        assert rec["duration_ms"] >= rec["ttft_ms"] + 15


class TestOtherEndpoints:
    def test_responses_create(self, oa: Any, records: Any) -> None:
        """responses.create: instructions + input as the prompt, output text parsed."""
        resp = oa.responses.create(
            model="gpt-4.1", instructions="Be brief.", input="hi there", temperature=0.5
        )
        rec = records.one()
        assert rec["operation"] == "chat"
        assert rec["prompt_messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi there"},
        ]
        assert rec["params"] == {"temperature": 0.5}
        assert rec["parsed_output"] == resp.output_text == "echo: hi there"
        assert rec["llm_raw_response"]["object"] == "response"
        assert rec["usage"]["estimated"] is False
        assert rec["cost_usd"] is not None

    def test_responses_stream(self, oa: Any, records: Any) -> None:
        """responses.create(stream=True): the record holds the completed response."""
        events = list(oa.responses.create(model="gpt-4.1", input="hi there", stream=True))
        rec = records.one()
        assert events[-1].type == "response.completed"
        assert rec["llm_raw_response"]["id"] == events[-1].response.id
        assert rec["parsed_output"] == "echo: hi there"
        assert rec["usage"]["estimated"] is False
        assert rec["ttft_ms"] is not None

    def test_responses_stream_function_call_cut(self, oa: Any, records: Any) -> None:
        """A Responses stream cut mid-way: as without llmlog; partial call arguments logged."""
        tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
        res = differential(
            lambda: oa.responses.create(
                model="gpt-4.1",
                input="hi",
                tools=tools,
                stream=True,
                extra_headers={"x-fake-cut": "5"},
            ),
            consume=True,
        )
        assert res.exc is not None
        rec = records.one()
        assert rec["status"] == "error"
        assert rec["error"]["type"] == res.error_type
        out = rec["llm_raw_response"]["output"][0]
        assert out["type"] == "function_call" and out["arguments"]
        assert rec["usage"]["estimated"] is True

    def test_responses_stream_helper(self, oa: Any, records: Any) -> None:
        """The responses.stream() helper: one record with the final text."""
        with oa.responses.stream(model="gpt-4.1", input="hi there") as s:
            final = s.get_final_response()
        rec = records.one()
        assert rec["parsed_output"] == final.output_text

    def test_embeddings_summarised(self, oa: Any, records: Any) -> None:
        """Embeddings: vectors are not stored, parsed_output is count and dimensions."""
        resp = oa.embeddings.create(
            model="text-embedding-3-small", input=["a b", "c"], dimensions=16
        )
        assert len(resp.data[0].embedding) == 16
        rec = records.one()
        assert rec["operation"] == "embeddings"
        assert rec["parsed_output"] == {"count": 2, "dimensions": 16}
        assert rec["llm_raw_response"]["data"][0]["embedding"] == "<16 floats>"
        assert rec["prompt_messages"] == [
            {"role": "user", "content": "a b"},
            {"role": "user", "content": "c"},
        ]
        assert rec["usage"]["input_tokens"] == 3 and rec["usage"]["output_tokens"] == 0
        assert rec["cost_usd"] == pytest.approx(3 * 0.02 / 1e6)
        assert len(json.dumps(rec)) < 3000

    def test_embeddings_float_format(self, oa: Any, records: Any) -> None:
        """encoding_format='float' responses are summarised the same way."""
        oa.embeddings.create(model="text-embedding-3-small", input="x", encoding_format="float")
        rec = records.one()
        assert rec["parsed_output"] == {"count": 1, "dimensions": 8}

    def test_text_completion(self, oa: Any, records: Any) -> None:
        """The legacy completions endpoint, plain and streamed."""
        oa.completions.create(model="gpt-3.5-turbo-instruct", prompt="once upon")
        text = "".join(
            c.choices[0].text
            for c in oa.completions.create(
                model="gpt-3.5-turbo-instruct", prompt="a time", stream=True
            )
        )
        recs = records.refresh()
        assert [r["operation"] for r in recs] == ["text_completion", "text_completion"]
        assert recs[0]["parsed_output"] == "echo: once upon"
        assert recs[0]["prompt_messages"] == [{"role": "user", "content": "once upon"}]
        u = recs[0]["usage"]
        assert recs[0]["cost_usd"] == pytest.approx(
            (u["input_tokens"] * 1.5 + u["output_tokens"] * 2.0) / 1e6
        )
        assert recs[1]["parsed_output"] == text == "echo: a time"

    def test_non_llm_endpoints_pass_through(self, oa: Any, records: Any) -> None:
        """Calls that are not LLM calls (here a 404 on models.list) are not logged."""
        out = differential(lambda: oa.models.list())
        assert isinstance(out.exc, openai.APIStatusError) and out.exc.status_code == 404
        assert records.refresh() == []


class TestRawResponses:
    def test_with_raw_response(self, oa: Any, records: Any) -> None:
        """with_raw_response: the app gets the raw wrapper; the record has the JSON body."""
        raw = oa.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSGS)
        assert raw.headers["x-request-id"].startswith("req_")
        rec = records.one()
        completion = raw.parse()
        assert rec["parsed_output"] == completion.choices[0].message.content
        assert rec["llm_raw_response"]["id"] == completion.id
        assert rec["usage"]["cached_input_tokens"] == 2

    def test_with_raw_response_stream(self, oa: Any, records: Any) -> None:
        """with_raw_response + stream=True: the stream from parse() is captured."""
        raw = oa.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MSGS, stream=True
        )
        stream = raw.parse()
        assert raw.parse() is stream
        text = _text(list(stream))
        rec = records.one()
        assert rec["parsed_output"] == text == "echo: hello there"

    def test_with_streaming_response(self, oa: Any, records: Any) -> None:
        """with_streaming_response: logged when the app parses the body."""
        with oa.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MSGS
        ) as resp:
            completion = resp.parse()
        rec = records.one()
        assert rec["parsed_output"] == completion.choices[0].message.content


class TestClients:
    def test_azure(self, server: FakeLLMServer, records: Any) -> None:
        """AzureOpenAI: deployment URLs, provider azure.ai.openai."""
        client = openai.AzureOpenAI(
            azure_endpoint=server.url, api_key="k", api_version="2024-10-21", max_retries=0
        )
        resp = client.chat.completions.create(model="my-deployment", messages=MSGS)
        path = server.requests[-1][0]
        assert path == "/openai/deployments/my-deployment/chat/completions"
        rec = records.one()
        assert rec["provider"] == "azure.ai.openai"
        assert rec["model"] == "my-deployment"
        assert rec["parsed_output"] == resp.choices[0].message.content

    def test_suppressed_calls_are_not_logged(self, oa: Any, records: Any) -> None:
        """Calls made while llmlog's SUPPRESS flag is set (its own I/O) are skipped."""
        token = SUPPRESS.set(True)
        try:
            oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        finally:
            SUPPRESS.reset(token)
        assert records.refresh() == []

    def test_nested_under_an_interaction(self, oa: Any, records: Any) -> None:
        """An SDK call inside llmlog.interaction() is its child span."""
        with llmlog.interaction(model="agent", messages=[]) as it:
            oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
            it.set_response({"done": True})
        inner, outer = records.refresh()
        assert inner["model"] == "gpt-4o-mini" and outer["model"] == "agent"
        assert inner["trace_id"] == outer["trace_id"]
        assert inner["parent_span_id"] == outer["span_id"]

    def test_joins_the_active_opentelemetry_span(self, oa: Any, records: Any) -> None:
        """An SDK call inside an app's OTel span records that span as its parent."""
        sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
        tracer = sdk_trace.TracerProvider().get_tracer("app")
        with tracer.start_as_current_span("handle-request") as span:
            oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        ctx = span.get_span_context()
        rec = records.one()
        assert rec["trace_id"] == format(ctx.trace_id, "032x")
        assert rec["parent_span_id"] == format(ctx.span_id, "016x")

    def test_uninstrumented_calls_are_not_logged(self, oa: Any, records: Any) -> None:
        """After uninstrument() the SDK is back to normal."""
        llmlog.uninstrument()
        oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        assert records.refresh() == []


class TestAsync:
    async def test_create_and_stream(self, aoa: Any, records: Any) -> None:
        """Async create and async stream, with include_usage."""
        resp = await aoa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        stream = await aoa.chat.completions.create(
            model="gpt-4o-mini", messages=MSGS, stream=True, stream_options={"include_usage": True}
        )
        assert isinstance(stream, openai.AsyncStream)
        chunks = [c async for c in stream]
        plain, streamed = records.refresh()
        assert plain["parsed_output"] == resp.choices[0].message.content
        assert streamed["parsed_output"] == _text(chunks) == answer_text("hello there")
        assert streamed["usage"]["estimated"] is False
        assert streamed["ttft_ms"] is not None

    async def test_error(self, aoa: Any, records: Any) -> None:
        """Async API errors reach the app as without llmlog and are logged."""
        out = await adifferential(
            lambda: aoa.chat.completions.create(
                model="gpt-4o-mini", messages=MSGS, extra_headers={"x-fake-status": "429"}
            )
        )
        assert isinstance(out.exc, openai.APIStatusError)
        rec = records.one()
        assert rec["error"]["status_code"] == 429
        assert rec["error"]["type"] == out.error_type

    async def test_stream_cut_and_close(self, aoa: Any, records: Any) -> None:
        """Async: a cut stream is an error record (the app sees what it would without llmlog);
        an early close is a partial record."""
        out = await adifferential(
            lambda: aoa.chat.completions.create(
                model="gpt-4o-mini", messages=MSGS, stream=True, extra_headers={"x-fake-cut": "3"}
            ),
            consume=True,
        )
        assert out.exc is not None
        stream = await aoa.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
        async with stream:
            await stream.__anext__()
            await stream.__anext__()
        cut, closed = records.refresh()
        assert cut["status"] == "error" and cut["parsed_output"] == "echo: hello"
        assert cut["error"]["type"] == out.error_type
        assert closed["status"] == "ok" and closed["parsed_output"] == "echo:"

    async def test_abandoned_async_stream(self, aoa: Any, records: Any) -> None:
        """An async stream dropped half-read is logged when collected."""
        stream = await aoa.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
        await stream.__anext__()
        await stream.__anext__()
        del stream
        gc.collect()
        rec = records.one()
        assert rec["parsed_output"] == "echo:" and rec["status"] == "ok"

    async def test_with_streaming_response_stream(self, aoa: Any, records: Any) -> None:
        """Async with_streaming_response + stream=True: the parsed stream is captured."""
        async with aoa.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MSGS, stream=True
        ) as resp:
            chunks = [c async for c in await resp.parse()]
        rec = records.one()
        assert rec["parsed_output"] == _text(chunks) == "echo: hello there"

    async def test_responses_and_embeddings(self, aoa: Any, records: Any) -> None:
        """Async responses (streamed) and embeddings."""
        events = [
            e async for e in await aoa.responses.create(model="gpt-4.1", input="yo", stream=True)
        ]
        await aoa.embeddings.create(model="text-embedding-3-small", input="x")
        resp_rec, emb_rec = records.refresh()
        assert resp_rec["parsed_output"] == events[-1].response.output_text
        assert emb_rec["parsed_output"] == {"count": 1, "dimensions": 8}

    async def test_with_raw_response_stream(self, aoa: Any, records: Any) -> None:
        """Async with_raw_response + stream."""
        raw = await aoa.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MSGS, stream=True
        )
        chunks = [c async for c in raw.parse()]
        rec = records.one()
        assert rec["parsed_output"] == _text(chunks)
