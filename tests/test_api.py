"""The manual API, used the way an application uses it, against a real SQLite store."""

from __future__ import annotations

import asyncio
import copy
import os
import threading

import pytest
from helpers import MESSAGES, RESPONSE, db_records

import llmlog


class TestLogInteraction:
    def test_record_lands_in_store_with_classic_fields(self) -> None:
        """A logged interaction is in ./llmlog.db with the classic snippet's field names."""
        rid = llmlog.log_interaction(MESSAGES, RESPONSE, parsed_output="Paris", model="gpt-4o-mini")
        assert llmlog.flush(10)
        [rec] = db_records()
        assert rec["event"] == "llm_interaction"
        assert rec["schema_version"] == 1
        assert rec["request_id"] == rid
        assert rec["model"] == "gpt-4o-mini"
        assert rec["prompt_messages"] == MESSAGES
        assert rec["llm_raw_response"] == RESPONSE
        assert rec["parsed_output"] == "Paris"
        assert isinstance(rec["timestamp"], float)

    def test_fields_are_derived_from_an_openai_response(self) -> None:
        """Usage, response model, finish reasons, provider and cost come from the raw response."""
        llmlog.log_interaction(MESSAGES, RESPONSE, model="gpt-4o-mini")
        llmlog.flush(10)
        [rec] = db_records()
        assert rec["provider"] == "openai"
        assert rec["response_model"] == "gpt-4o-mini-2024-07-18"
        assert rec["finish_reasons"] == ["stop"]
        assert rec["parsed_output"] == "The capital of France is Paris."
        assert rec["usage"] == {
            "input_tokens": 20,
            "output_tokens": 7,
            "total_tokens": 27,
            "cached_input_tokens": 4,
            "reasoning_tokens": None,
            "estimated": False,
        }
        # gpt-4o-mini: $0.15/M input, $0.075/M cached input, $0.60/M output
        assert rec["cost_usd"] == pytest.approx((16 * 0.15 + 4 * 0.075 + 7 * 0.6) / 1e6)

    def test_anthropic_response_usage_counts_cache_reads(self) -> None:
        """Anthropic usage: input tokens include cache reads and writes; text blocks are joined."""
        raw = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [
                {"type": "text", "text": "Hello"},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris"}},
            ],
            "stop_reason": "tool_use",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 5,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 0,
            },
        }
        llmlog.log_interaction([{"role": "user", "content": "hi"}], raw)
        llmlog.flush(10)
        [rec] = db_records()
        assert rec["provider"] == "anthropic"
        assert rec["model"] == "claude-sonnet-4-5"
        assert rec["parsed_output"] == "Hello"
        assert rec["tool_calls"] == [
            {"id": "t1", "name": "get_weather", "arguments": {"city": "Paris"}}
        ]
        assert rec["usage"]["input_tokens"] == 110
        assert rec["usage"]["cached_input_tokens"] == 100
        assert rec["usage"]["total_tokens"] == 115

    def test_extra_fields_set_record_fields_or_metadata(self) -> None:
        """Known record fields given as keywords set the field; unknown keys go to metadata."""
        llmlog.log_interaction(
            MESSAGES,
            None,
            parsed_output="x",
            model="m",
            provider="acme",
            session_id="s1",
            tags=["a"],
            customer="c42",
            duration_ms=12.5,
        )
        llmlog.flush(10)
        [rec] = db_records()
        assert rec["provider"] == "acme"
        assert rec["session_id"] == "s1"
        assert rec["tags"] == ["a"]
        assert rec["duration_ms"] == 12.5
        assert rec["metadata"] == {"customer": "c42"}

    def test_caller_request_id_is_kept(self) -> None:
        """A request id given by the caller is the record's id and the return value."""
        assert llmlog.log_interaction(MESSAGES, RESPONSE, request_id="my-id-1") == "my-id-1"
        llmlog.flush(10)
        assert db_records()[0]["request_id"] == "my-id-1"

    def test_messages_are_snapshotted_at_call_time(self) -> None:
        """Mutating the messages list after logging does not change the logged prompt."""
        msgs = copy.deepcopy(MESSAGES)
        llmlog.log_interaction(msgs, RESPONSE)
        msgs.append({"role": "assistant", "content": "later"})
        msgs[0]["content"] = "changed"
        llmlog.flush(10)
        assert db_records()[0]["prompt_messages"] == MESSAGES

    def test_usage_is_estimated_when_unknown(self) -> None:
        """Without usage from the provider, tokens are estimated and marked so."""
        llmlog.log_interaction(
            [{"role": "user", "content": "word " * 40}],
            None,
            parsed_output="short answer",
            model="gpt-4o",
        )
        llmlog.flush(10)
        usage = db_records()[0]["usage"]
        assert usage["estimated"] is True
        assert 40 <= usage["input_tokens"] <= 60
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]

    def test_unknown_model_has_null_cost(self) -> None:
        """An unknown model is never priced by guess."""
        llmlog.log_interaction(
            MESSAGES,
            None,
            parsed_output="x",
            model="my-local-llama",
            usage={"input_tokens": 5, "output_tokens": 5},
        )
        llmlog.flush(10)
        assert db_records()[0]["cost_usd"] is None

    def test_disabled_logs_nothing(self) -> None:
        """LLMLOG_DISABLED=1 turns logging into a no-op that still returns an id."""
        llmlog.configure(disabled=True)
        assert llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        assert not os.path.exists("llmlog.db") or db_records() == []

    def test_sample_rate_zero_logs_nothing(self) -> None:
        """sample_rate=0 drops every interaction and counts it as sampled out."""
        llmlog.configure(sample_rate=0.0)
        for _ in range(5):
            llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        assert llmlog.stats()["sampled_out"] == 5
        assert llmlog.stats()["processed"] == 0


class TestInteraction:
    def test_logs_duration_and_response(self) -> None:
        """The block's duration is logged with the response set inside it."""
        with llmlog.interaction(model="gpt-4o-mini", messages=MESSAGES) as it:
            it.set_response(RESPONSE, parsed="Paris")
        llmlog.flush(10)
        [rec] = db_records()
        assert rec["request_id"] == it.request_id
        assert rec["parsed_output"] == "Paris"
        assert rec["duration_ms"] >= 0
        assert rec["status"] == "ok"

    def test_exception_is_logged_and_reraised_unchanged(self) -> None:
        """An exception in the block is the same object the caller catches, and is logged."""
        err = TimeoutError("upstream timed out")
        with pytest.raises(TimeoutError) as info, llmlog.interaction(model="m", messages=MESSAGES):
            raise err
        assert info.value is err
        llmlog.flush(10)
        [rec] = db_records()
        assert rec["status"] == "error"
        assert rec["error"] == {
            "type": "TimeoutError",
            "message": "upstream timed out",
            "status_code": None,
        }

    def test_http_status_of_an_api_error_is_recorded(self) -> None:
        """An exception with a status_code (as SDK errors have) records it."""

        class RateLimitError(Exception):
            status_code = 429

        with pytest.raises(RateLimitError), llmlog.interaction(model="m", messages=MESSAGES):
            raise RateLimitError("slow down")
        llmlog.flush(10)
        assert db_records()[0]["error"]["status_code"] == 429

    def test_nested_interactions_share_a_trace(self) -> None:
        """An interaction inside another is its child span in the same trace."""
        with llmlog.interaction(model="outer", messages=MESSAGES) as outer:
            with llmlog.interaction(model="inner", messages=MESSAGES):
                pass
            outer.set_response(RESPONSE)
        llmlog.flush(10)
        recs = {r["model"]: r for r in db_records()}
        assert recs["inner"]["trace_id"] == recs["outer"]["trace_id"]
        assert recs["inner"]["parent_span_id"] == recs["outer"]["span_id"]
        assert recs["outer"]["parent_span_id"] is None
        assert len(recs["outer"]["trace_id"]) == 32 and len(recs["outer"]["span_id"]) == 16

    async def test_async_with(self) -> None:
        """``async with llmlog.interaction(...)`` logs like the sync form."""
        async with llmlog.interaction(model="m", messages=MESSAGES) as it:
            await asyncio.sleep(0)
            it.set_response(RESPONSE)
        llmlog.flush(10)
        assert db_records()[0]["request_id"] == it.request_id

    def test_first_token_sets_ttft(self) -> None:
        """first_token() records the time to first token."""
        with llmlog.interaction(model="m", messages=MESSAGES) as it:
            it.first_token()
            it.set_response(None, parsed="streamed")
        llmlog.flush(10)
        rec = db_records()[0]
        assert 0 <= rec["ttft_ms"] <= rec["duration_ms"]


class TestLogged:
    def test_sync_function(self) -> None:
        """@logged records the messages argument and a string return value as output."""

        @llmlog.logged(model="gpt-4o-mini", tags=["summarize"])
        def summarize(messages, temperature=0.2):
            return "a summary"

        assert summarize(MESSAGES) == "a summary"
        llmlog.flush(10)
        [rec] = db_records()
        assert rec["prompt_messages"] == MESSAGES
        assert rec["parsed_output"] == "a summary"
        assert rec["tags"] == ["summarize"]
        assert rec["metadata"]["function"].endswith("summarize")

    async def test_async_function_error(self) -> None:
        """@logged on a coroutine function logs its exception and re-raises it."""

        @llmlog.logged
        async def ask(prompt: str) -> dict:
            raise ConnectionError("down")

        with pytest.raises(ConnectionError):
            await ask("hi")
        llmlog.flush(10)
        [rec] = db_records()
        assert rec["status"] == "error"
        assert rec["prompt_messages"] == [{"role": "user", "content": "hi"}]

    def test_raw_dict_return_value(self) -> None:
        """A dict return value is the raw response; the output text is derived from it."""

        @llmlog.logged(model="gpt-4o-mini")
        def call(messages):
            return RESPONSE

        call(MESSAGES)
        llmlog.flush(10)
        assert db_records()[0]["parsed_output"] == "The capital of France is Paris."


class TestContext:
    def test_fields_attach_and_nest(self) -> None:
        """Nested contexts merge: inner values win, tags and metadata accumulate."""
        with llmlog.context(session_id="s1", user_id="u1", tags=["a"], metadata={"k": 1}):
            with llmlog.context(user_id="u2", tags=["b"], metadata={"j": 2}):
                llmlog.log_interaction(MESSAGES, RESPONSE, tags=["c"])
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        inside, outside = db_records()
        assert (inside["session_id"], inside["user_id"]) == ("s1", "u2")
        assert inside["tags"] == ["a", "b", "c"]
        assert inside["metadata"] == {"k": 1, "j": 2}
        assert outside["session_id"] is None and outside["tags"] == []

    def test_threads_are_isolated(self) -> None:
        """Each thread sees only its own context."""
        barrier = threading.Barrier(8)

        def work(i: int) -> None:
            with llmlog.context(session_id=f"s{i}"):
                barrier.wait()
                llmlog.log_interaction(MESSAGES, RESPONSE, metadata={"i": i})

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        llmlog.flush(10)
        recs = db_records()
        assert len(recs) == 8
        assert all(r["session_id"] == f"s{r['metadata']['i']}" for r in recs)

    async def test_asyncio_tasks_are_isolated(self) -> None:
        """Each asyncio task sees only its own context."""

        async def work(i: int) -> None:
            with llmlog.context(session_id=f"s{i}"):
                await asyncio.sleep(0.001 * (5 - i))
                llmlog.log_interaction(MESSAGES, RESPONSE, metadata={"i": i})

        await asyncio.gather(*(work(i) for i in range(5)))
        llmlog.flush(10)
        assert all(r["session_id"] == f"s{r['metadata']['i']}" for r in db_records())

    def test_string_tags_is_a_type_error(self) -> None:
        """tags must be a list: a bare string is a programming error caught at once."""
        with pytest.raises(TypeError), llmlog.context(tags="oops"):
            pass


class TestFeedback:
    def test_feedback_is_stored(self) -> None:
        """feedback() stores a score and comment for an interaction."""
        rid = llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.feedback(rid, 0.5, "ok-ish")
        llmlog.flush(10)
        import sqlite3

        rows = (
            sqlite3.connect("llmlog.db")
            .execute("SELECT request_id, score, comment FROM feedback")
            .fetchall()
        )
        assert rows == [(rid, 0.5, "ok-ish")]

    def test_non_numeric_score_warns_and_never_raises(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A bad score is reported on the llmlog logger, not raised into the app."""
        llmlog.feedback("x", "great")  # type: ignore[arg-type]
        assert "score must be a number" in caplog.text


class TestEdgeCases:
    def test_disabled_from_env_without_configure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """LLMLOG_DISABLED=1 alone (no configure call) logs nothing and creates no store."""
        monkeypatch.setenv("LLMLOG_DISABLED", "1")
        llmlog.log_interaction(MESSAGES, RESPONSE)
        with llmlog.interaction(model="m", messages=MESSAGES):
            pass
        llmlog.flush(10)
        assert not os.path.exists("llmlog.db")

    def test_embeddings_are_priced_on_input(self) -> None:
        """An embeddings response logged by hand has 0 output tokens and a cost."""
        raw = {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1] * 8}],
            "usage": {"prompt_tokens": 1000, "total_tokens": 1000},
        }
        llmlog.log_interaction(["hello"], raw, model="text-embedding-3-small")
        llmlog.flush(10)
        rec = db_records()[0]
        assert rec["operation"] == "embeddings"
        assert rec["parsed_output"] == {"count": 1, "dimensions": 8}
        assert rec["usage"]["output_tokens"] == 0
        assert rec["cost_usd"] == pytest.approx(1000 * 0.02 / 1e6)

    def test_tool_only_reply_estimates_output_tokens(self) -> None:
        """Without usage, a reply that is only a tool call still estimates output tokens."""
        llmlog.log_interaction(
            MESSAGES,
            None,
            tool_calls=[
                {"id": "c1", "name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}
            ],
        )
        llmlog.flush(10)
        usage = db_records()[0]["usage"]
        assert usage["estimated"] is True and usage["output_tokens"] > 3
