"""pydantic-ai, run for real against the fake server: one agent run, one llmlog trace.

An Agent with one tool (an ``OpenAIChatModel`` on the fake server): the model asks for the
tool, the tool runs, the model answers. With ``instrument()``, the store holds one trace:
the agent run, each model request with the call it made (captured through ``openai``),
and the tool with its arguments and result, in order.
"""

from __future__ import annotations

from typing import Any

import pytest
from fake_llm import FakeLLMServer

import llmlog
from llmlog.store import open_store

pytest.importorskip("pydantic_ai")
pytest.importorskip("opentelemetry.sdk")


def _agent(server: FakeLLMServer) -> Any:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(base_url=server.url + "/v1", api_key="sk-test")
    agent = Agent(OpenAIChatModel("gpt-4o-mini", provider=provider), name="support")

    @agent.tool_plain
    def lookup_order(query: str) -> str:
        """Find an order's status."""
        return f"{query}: shipped"

    return agent


def test_an_agent_run_is_one_trace(server: FakeLLMServer) -> None:
    llmlog.configure(db="runs.db")
    result = _agent(server).run_sync("where is order A1?")
    assert result.output == "echo: where is order A1?: shipped"
    assert llmlog.flush(10)
    with open_store("runs.db") as store:
        (summary,) = store.traces()
        tree = store.trace(summary.trace_id)
    shape = [(d, n.kind, n.name, n.model_call) for d, n in tree.walk()]
    assert shape == [
        (0, "invoke_agent", "support", False),
        (1, "chat", "gpt-4o-mini", False),  # pydantic-ai's model request
        (2, "chat", "gpt-4o-mini", True),  # the call it made, captured through openai
        (1, "execute_tool", "lookup_order", False),
        (1, "chat", "gpt-4o-mini", False),
        (2, "chat", "gpt-4o-mini", True),
    ]
    nodes = [n for _, n in tree.walk()]
    assert nodes[0].record["output"] == result.output
    tool = nodes[3]
    assert tool.record["input"] == {"query": "where is order A1?"}
    assert tool.record["output"] == "where is order A1?: shipped"
    assert nodes[2].start <= tool.start <= nodes[5].start
    assert summary.model_calls == 2 and summary.tool_calls == 1 and summary.status == "ok"
    # pydantic-ai names the tool call (gen_ai.tool.call.id): linked both ways by id
    (asked,) = nodes[2].record["tool_calls"]
    assert tool.links == {
        "tool_call_id": asked["id"],
        "requested_by": nodes[2].span_id,
        "result_to": nodes[5].span_id,
    }


def test_uninstrument_stops_tracing_runs(server: FakeLLMServer) -> None:
    llmlog.configure(db="runs.db")
    llmlog.uninstrument()
    try:
        _agent(server).run_sync("where is order B2?")
    finally:
        llmlog.instrument()
    assert llmlog.flush(10)
    from pathlib import Path

    assert not Path("runs.db").exists()
