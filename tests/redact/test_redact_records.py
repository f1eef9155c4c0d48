"""Records: which fields are redacted, structure-aware JSON, counts, content modes."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import orjson
import pytest

from llmlog.redact import ContentFilter, Redactor, build_processors, redact_text

KEY = "sk-proj-Ab3dE5fG7hI9jK1lM2nO4pQ6rS8tU0vWx"
PNG = "iVBORw0KGgoAAAANSUhEUgAA" * 40


def record() -> dict[str, Any]:
    """An interaction record in the shape the pipeline builds (decoded from JSON)."""
    return {
        "event": "llm_interaction",
        "schema_version": 1,
        "request_id": "0190c0de-0000-7000-8000-000000000001",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "timestamp": 1712345678.5,
        "duration_ms": 812.0,
        "provider": "openai",
        "operation": "chat",
        "model": "gpt-4o",
        "response_model": "gpt-4o-2024-08-06",
        "params": {
            "temperature": 0.2,
            "stop": ["\n\nUser:"],
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "lookup", "description": "find a customer by e-mail"},
                }
            ],
        },
        "prompt_messages": [
            {"role": "system", "content": "You help jane@corp.com's team."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Call me on +44 20 7946 0958"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "lookup",
                            "arguments": json.dumps(
                                {
                                    "email": "john@corp.com",
                                    "limit": 5,
                                    "nested": {"card": "4242 4242 4242 4242"},
                                }
                            ),
                        },
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": "found: IBAN DE89370400440532013000",
            },
        ],
        "llm_raw_response": {
            "id": "chatcmpl-9abc",
            "created": 1712345678,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"Your key {KEY} leaked"},
                    "finish_reason": "stop",
                }
            ],
        },
        "parsed_output": {"answer": "SSN 123-45-6789", "score": 0.9},
        "tool_calls": [
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "send", "arguments": '{"to": "ops@corp.com"}'},
            }
        ],
        "finish_reasons": ["stop"],
        "usage": {"input_tokens": 4155550132, "output_tokens": 12, "total_tokens": 4155550144},
        "cost_usd": 0.01,
        "status": "error",
        "error": {"type": "APIError", "message": "bad request from 10.0.0.12", "status_code": 400},
        "session_id": "sess-42",
        "user_id": "jane@corp.com",
        "tags": ["vip", "owner:john@corp.com"],
        "metadata": {"customer phone": "+1 415 555 0132", "n": 3},
        "app": {"service": "api", "host": "10.0.0.5", "pid": 123},
        "redaction": {},
    }


class TestRedactorOnRecords:
    def test_every_content_field(self) -> None:
        """All content strings are redacted, in every shape the record has."""
        rec = Redactor()(record())
        s = orjson.dumps(rec).decode()
        for value in (
            "jane@corp.com",
            "john@corp.com",
            "7946 0958",
            "4242 4242",
            "DE8937040",
            KEY,
            "123-45-6789",
            "ops@corp.com",
            "10.0.0.12",
            "555 0132",
        ):
            assert value not in s, value
        msgs = rec["prompt_messages"]
        assert msgs[0]["content"] == "You help [EMAIL]'s team."
        assert msgs[1]["content"][0]["text"] == "Call me on [PHONE]"
        assert rec["user_id"] == "[EMAIL]"
        assert rec["tags"] == ["vip", "owner:[EMAIL]"]
        assert rec["error"]["message"] == "bad request from [IP_ADDRESS]"

    def test_tool_arguments_stay_valid_json(self) -> None:
        """JSON inside strings is redacted structurally and stays parseable."""
        rec = Redactor()(record())
        args = json.loads(rec["prompt_messages"][2]["tool_calls"][0]["function"]["arguments"])
        assert args == {"email": "[EMAIL]", "limit": 5, "nested": {"card": "[CREDIT_CARD]"}}
        assert json.loads(rec["tool_calls"][0]["function"]["arguments"]) == {"to": "[EMAIL]"}

    def test_llmlog_fields_untouched(self) -> None:
        """Ids, timestamps, models, usage, app info and numbers are never changed."""
        before = record()
        rec = Redactor()(copy.deepcopy(before))
        for key in (
            "request_id",
            "trace_id",
            "span_id",
            "timestamp",
            "duration_ms",
            "model",
            "response_model",
            "usage",
            "cost_usd",
            "app",
            "finish_reasons",
            "status",
            "session_id",
        ):
            assert rec[key] == before[key], key
        assert rec["llm_raw_response"]["created"] == 1712345678
        assert rec["params"]["temperature"] == 0.2

    def test_keys_are_not_redacted(self) -> None:
        """Dictionary keys stay as they are; only values are redacted."""
        rec = record()
        rec["metadata"] = {"jane@corp.com": "jane@corp.com"}
        Redactor()(rec)
        assert rec["metadata"] == {"jane@corp.com": "[EMAIL]"}

    def test_images_are_skipped(self) -> None:
        """data: URLs and base64 blobs are left alone (not scanned)."""
        rec = Redactor()(record())
        assert rec["prompt_messages"][1]["content"][1]["image_url"]["url"].endswith(PNG)

    def test_counts_never_values(self) -> None:
        """redaction.counts holds counts by type; no value appears in the redaction field."""
        rec = Redactor()(record())
        counts = rec["redaction"]["counts"]
        assert counts["EMAIL"] == 5
        assert counts["PHONE"] == 2
        assert counts["CREDIT_CARD"] == 1 and counts["US_SSN"] == 1
        assert counts["OPENAI_KEY"] == 1 and counts["IBAN"] == 1 and counts["IP_ADDRESS"] == 1
        assert "@" not in json.dumps(rec["redaction"])

    def test_idempotent_and_counts_accumulate_only_new(self) -> None:
        """Redacting a redacted record changes nothing and adds no counts."""
        r = Redactor()
        once = r(record())
        snapshot = copy.deepcopy(once)
        twice = r(once)
        assert twice == snapshot

    def test_feedback_comment(self) -> None:
        """A feedback record's comment is redacted; its score and ids are not."""
        rec = {
            "event": "llm_feedback",
            "request_id": "abc",
            "score": 1.0,
            "comment": "wrong, my number is +44 20 7946 0958",
            "redaction": {},
        }
        Redactor()(rec)
        assert rec["comment"] == "wrong, my number is [PHONE]"
        assert rec["score"] == 1.0 and rec["redaction"] == {"counts": {"PHONE": 1}}

    def test_drop_empties_only_the_field(self) -> None:
        """A 'drop' operator empties the string that held the value and counts it."""
        rec = record()
        Redactor(operators={"OPENAI_KEY": "drop"})(rec)
        assert rec["llm_raw_response"]["choices"][0]["message"]["content"] == ""
        assert rec["redaction"]["dropped"] == 1
        assert rec["prompt_messages"][0]["content"] == "You help [EMAIL]'s team."

    def test_deep_nesting_does_not_recurse(self) -> None:
        """A response nested thousands of levels deep is walked without RecursionError."""
        deep: Any = "jane@corp.com"
        for _ in range(5000):
            deep = [deep]
        rec = {"event": "llm_interaction", "llm_raw_response": deep, "redaction": {}}
        Redactor()(rec)
        inner = rec["llm_raw_response"]
        for _ in range(5000):
            inner = inner[0]
        assert inner == "[EMAIL]"


class TestContentModes:
    def test_metadata_mode(self) -> None:
        """Only structure, lengths and keyed hashes remain; roles and tool names stay."""
        cf = ContentFilter("metadata", key="k")
        rec = cf(record())
        s = orjson.dumps(rec).decode()
        assert "Call me" not in s and "jane@corp.com's team" not in s and "leaked" not in s
        content = rec["prompt_messages"][0]["content"]
        assert re.fullmatch(r"\[CONTENT len=\d+ hash=[0-9a-f]{16}\]", content)
        assert rec["prompt_messages"][0]["role"] == "system"
        assert rec["prompt_messages"][2]["tool_calls"][0]["function"]["name"] == "lookup"
        assert rec["redaction"]["content"] == "metadata"
        # the same text gives the same stand-in, so identical prompts can be grouped
        assert cf.stand_in("hello") == cf.stand_in("hello") != cf.stand_in("hello!")

    def test_off_mode(self) -> None:
        """Content fields are emptied."""
        rec = ContentFilter("off")(record())
        assert rec["prompt_messages"] == [] and rec["tool_calls"] == []
        assert rec["llm_raw_response"] is None and rec["parsed_output"] is None
        assert rec["redaction"]["content"] == "off"
        assert rec["model"] == "gpt-4o"

    def test_params_content_keys(self) -> None:
        """Content-like params (system, instructions, input) follow the mode."""
        rec = record()
        rec["params"]["system"] = "secret system prompt"
        rec["params"]["instructions"] = "secret instructions"
        ContentFilter("metadata", key="k")(rec)
        assert rec["params"]["system"].startswith("[CONTENT len=20 ")
        assert rec["params"]["temperature"] == 0.2
        rec2 = record()
        rec2["params"]["system"] = "secret"
        ContentFilter("off")(rec2)
        assert "system" not in rec2["params"]

    def test_bad_mode(self) -> None:
        """Only metadata and off are content filters."""
        with pytest.raises(ValueError):
            ContentFilter("full")


class TestBuildProcessors:
    @pytest.mark.parametrize(
        ("redact", "mode", "kinds"),
        [
            (True, "full", [Redactor]),
            (False, "full", []),
            (True, "metadata", [ContentFilter, Redactor]),
            (False, "off", [ContentFilter]),
        ],
    )
    def test_order(self, redact: bool, mode: str, kinds: list[type]) -> None:
        """Content filter first (unless full), then the Redactor (if redact)."""
        procs = build_processors(redact=redact, redact_key="k", capture_content=mode)
        assert [type(p) for p in procs] == kinds

    def test_pipeline_chain(self) -> None:
        """Metadata mode then redaction: counts and content mode both recorded."""
        rec = record()
        for proc in build_processors(redact=True, redact_key="k", capture_content="metadata"):
            rec = proc(rec)
        assert rec["redaction"]["content"] == "metadata"
        assert rec["user_id"] == "[EMAIL]"
        assert "counts" in rec["redaction"]

    def test_bad_mode(self) -> None:
        """An unknown capture mode is a ValueError."""
        with pytest.raises(ValueError, match="capture_content"):
            build_processors(redact=True, redact_key=None, capture_content="some")


def test_module_level_redact_text() -> None:
    """llmlog.redact.redact_text uses a shared default Redactor."""
    assert redact_text("mail jane@corp.com") == "mail [EMAIL]"
    import llmlog

    assert llmlog.redact_text("mail jane@corp.com") == "mail [EMAIL]"
