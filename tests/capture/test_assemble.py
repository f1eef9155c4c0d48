"""The stream assemblers, driven directly with the providers' chunk shapes (as dicts)."""

from __future__ import annotations

import json
from typing import Any

from llmlog.capture._assemble import (
    AnthropicMessagesAssembler,
    OpenAIChatAssembler,
    OpenAICompletionAssembler,
    OpenAIResponsesAssembler,
)
from llmlog.normalize import _from_raw


def _chunk(
    delta: dict[str, Any], finish: str | None = None, index: int = 0, **head: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        **head,
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


class TestOpenAIChatAssembler:
    def test_text_is_joined_in_the_non_streaming_shape(self) -> None:
        """Content deltas become one assistant message; head fields and finish reason kept."""
        asm = OpenAIChatAssembler()
        asm.add(_chunk({"role": "assistant", "content": ""}, system_fingerprint="fp_1"))
        for piece in ("Hel", "lo", " world"):
            asm.add(_chunk({"content": piece}))
        asm.add(_chunk({}, "stop"))
        raw = asm.result()
        assert raw == {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_1",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {"role": "assistant", "content": "Hello world"},
                }
            ],
        }
        assert not asm.final_usage()
        assert asm.outputs() == ["Hello world"]

    def test_tool_call_deltas_are_merged_by_index(self) -> None:
        """Two parallel tool calls whose argument fragments interleave are rebuilt whole."""
        asm = OpenAIChatAssembler()
        asm.add(
            _chunk(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "weather", "arguments": ""},
                        }
                    ],
                }
            )
        )
        asm.add(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}))
        asm.add(
            _chunk(
                {
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "call_b",
                            "type": "function",
                            "function": {"name": "time", "arguments": "{}"},
                        }
                    ]
                }
            )
        )
        asm.add(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}))
        asm.add(_chunk({}, "tool_calls"))
        msg = asm.result()["choices"][0]["message"]
        assert msg["content"] is None
        assert msg["tool_calls"] == [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            },
            {"id": "call_b", "type": "function", "function": {"name": "time", "arguments": "{}"}},
        ]
        derived = _from_raw(asm.result())
        assert derived["tool_calls"][0] == {
            "id": "call_a",
            "name": "weather",
            "arguments": {"city": "Paris"},
        }
        assert derived["finish_reasons"] == ["tool_calls"]

    def test_usage_chunk_and_several_choices(self) -> None:
        """The include_usage chunk (empty choices) gives usage; n>1 choices stay apart."""
        asm = OpenAIChatAssembler()
        asm.add(_chunk({"content": "a"}, index=0))
        asm.add(_chunk({"content": "b"}, index=1))
        asm.add(_chunk({"content": "c"}, "stop", index=0))
        asm.add(_chunk({}, "length", index=1))
        asm.add(
            {
                "id": "chatcmpl-1",
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            }
        )
        raw = asm.result()
        assert [c["message"]["content"] for c in raw["choices"]] == ["ac", "b"]
        assert [c["finish_reason"] for c in raw["choices"]] == ["stop", "length"]
        assert raw["usage"]["completion_tokens"] == 3
        assert asm.final_usage()

    def test_partial_stream_gives_partial_response(self) -> None:
        """A stream cut before its finish chunk still yields the text received."""
        asm = OpenAIChatAssembler()
        asm.add(_chunk({"role": "assistant", "content": "Par"}))
        raw = asm.result()
        assert raw["choices"][0]["message"]["content"] == "Par"
        assert raw["choices"][0]["finish_reason"] is None
        assert "usage" not in raw


class TestOpenAICompletionAssembler:
    def test_text_completion_chunks(self) -> None:
        """Legacy completion chunks become one text_completion."""
        asm = OpenAICompletionAssembler()
        for t in ("once", " upon"):
            asm.add(
                {
                    "id": "cmpl-1",
                    "created": 1,
                    "model": "gpt-3.5-turbo-instruct",
                    "choices": [{"index": 0, "text": t, "finish_reason": None}],
                }
            )
        asm.add({"id": "cmpl-1", "choices": [{"index": 0, "text": "", "finish_reason": "length"}]})
        raw = asm.result()
        assert raw["object"] == "text_completion"
        assert raw["choices"] == [
            {"index": 0, "text": "once upon", "finish_reason": "length", "logprobs": None}
        ]
        assert _from_raw(raw)["parsed_output"] == "once upon"


class TestOpenAIResponsesAssembler:
    def test_completed_event_is_the_response(self) -> None:
        """When response.completed arrives, its response is the record's raw response."""
        final = {
            "id": "resp_1",
            "object": "response",
            "status": "completed",
            "output": [],
            "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        }
        asm = OpenAIResponsesAssembler()
        asm.add({"type": "response.created", "response": {**final, "status": "in_progress"}})
        asm.add({"type": "response.completed", "response": final})
        assert asm.result() == final
        assert asm.final_usage()

    def test_partial_response_is_rebuilt_from_deltas(self) -> None:
        """Without a final event, text and function-call argument deltas are rebuilt."""
        asm = OpenAIResponsesAssembler()
        asm.add(
            {
                "type": "response.created",
                "response": {
                    "id": "resp_1",
                    "object": "response",
                    "status": "in_progress",
                    "output": [],
                    "model": "gpt-4.1",
                },
            }
        )
        asm.add(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"type": "message", "id": "msg_1", "role": "assistant", "content": []},
            }
        )
        asm.add(
            {
                "type": "response.output_text.delta",
                "output_index": 0,
                "content_index": 0,
                "delta": "Hi",
            }
        )
        asm.add(
            {
                "type": "response.output_text.delta",
                "output_index": 0,
                "content_index": 0,
                "delta": " there",
            }
        )
        asm.add(
            {
                "type": "response.output_item.added",
                "output_index": 1,
                "item": {"type": "function_call", "call_id": "c1", "name": "f", "arguments": ""},
            }
        )
        asm.add(
            {
                "type": "response.function_call_arguments.delta",
                "output_index": 1,
                "delta": '{"a": 1',
            }
        )
        raw = asm.result()
        assert raw["status"] == "in_progress"
        assert raw["output"][0]["content"] == [
            {"type": "output_text", "text": "Hi there", "annotations": []}
        ]
        assert raw["output"][1]["arguments"] == '{"a": 1'
        assert _from_raw(raw)["parsed_output"] == "Hi there"
        assert asm.outputs() == ["Hi there", '{"a": 1']
        assert not asm.final_usage()


def _anthropic_events(text: str, args: str) -> list[dict[str, Any]]:
    half = len(args) // 2
    return [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 4},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "hmm"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "sig"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": text[:3]},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": text[3:]},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": args[:half]},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": args[half:]},
        },
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 25},
        },
        {"type": "message_stop"},
    ]


class TestAnthropicMessagesAssembler:
    def test_blocks_and_final_usage(self) -> None:
        """Thinking, text and tool_use blocks are rebuilt; usage comes from message_delta."""
        args = json.dumps({"city": "Paris", "days": 3})
        asm = AnthropicMessagesAssembler()
        for e in _anthropic_events("Let me look.", args):
            asm.add(e)
        raw = asm.result()
        assert raw["content"] == [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "Let me look."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get",
                "input": {"city": "Paris", "days": 3},
            },
        ]
        assert raw["stop_reason"] == "tool_use"
        assert raw["usage"] == {
            "input_tokens": 10,
            "output_tokens": 25,
            "cache_read_input_tokens": 4,
        }
        assert asm.final_usage()
        derived = _from_raw(raw)
        assert derived["parsed_output"] == "Let me look."
        assert derived["tool_calls"] == [
            {"id": "toolu_1", "name": "get", "arguments": {"city": "Paris", "days": 3}}
        ]

    def test_cut_stream_keeps_partial_tool_input(self) -> None:
        """A stream cut inside tool input keeps the JSON fragment and has no final usage."""
        args = json.dumps({"city": "Paris"})
        asm = AnthropicMessagesAssembler()
        for e in _anthropic_events("Hello", args)[:11]:
            asm.add(e)
        raw = asm.result()
        assert raw["content"][1]["text"] == "Hello"
        assert raw["content"][2]["input"] == args[: len(args) // 2]
        assert raw.get("stop_reason") is None
        assert not asm.final_usage()
