"""``llmlog show``: one interaction as a readable conversation."""

from __future__ import annotations

import orjson
from querydata import BASE, Run, log_chat, normalise

import llmlog


class TestShow:
    def test_conversation_with_tool_call_tokens_cost_and_feedback(
        self, sample: dict[str, str], run: Run
    ) -> None:
        """The header, every message, the reply with its tool call, and feedback are shown."""
        result = run("show", "req-0002")
        assert result.exit_code == 0
        out = normalise(result.stdout)
        lines = [line.rstrip() for line in out.splitlines()]
        assert lines[:6] == [
            "request   req-0002",
            "time      <TIME>   duration 900ms",
            "model     gpt-4o (openai, chat)",
            "status    ok",
            "tokens    20 in · 5 out · 25 total",
            "cost      $0.0001",
        ]
        assert "context   session s-1   user u-1   tags prod, support" in lines
        text = "\n".join(lines)
        assert "── system ─" in text and "You are terse." in text
        assert "── user ─" in text and "I want a refund for order 42" in text
        assert "── assistant (reply) ─" in text
        assert 'Sure, I have started the refund.\n→ refund_order({"order":42})' in text
        assert "feedback  2   <TIME>" in lines
        assert 'feedback  4  "better after a second look"   <TIME>' in lines

    def test_error_and_ttft(self, sample: dict[str, str], run: Run) -> None:
        """A failed call shows its error; a stream shows its time to first token."""
        assert "status    error: RateLimitError 429: slow down" in run("show", "req-0003").stdout
        assert "first token 50ms" in run("show", "req-0004").stdout

    def test_unique_prefix(self, sample: dict[str, str], run: Run) -> None:
        """A unique prefix of the request id is enough; an ambiguous one is an error."""
        rid = log_chat(None, BASE + 5, user="prefix me")  # type: ignore[arg-type]
        assert llmlog.flush(10)
        result = run("show", rid[:-6], "--json")
        assert orjson.loads(result.stdout)["request_id"] == rid
        result = run("show", "req-000")
        assert result.exit_code == 1
        assert result.stderr == (
            "Error: request id prefix 'req-000' matches several "
            "interactions (req-0001, req-0002, ...): give more of the id\n"
        )

    def test_json_is_the_record(self, sample: dict[str, str], run: Run) -> None:
        """--json prints the stored record as one line."""
        out = run("show", "req-0001", "--json").stdout
        assert out.count("\n") == 1
        rec = orjson.loads(out)
        assert rec["request_id"] == "req-0001"
        assert rec["parsed_output"] == "The capital of France is Paris."
