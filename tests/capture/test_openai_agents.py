"""The OpenAI Agents SDK, run for real against the fake server: one run, one llmlog trace.

``Runner.run_sync`` with a function tool makes two model calls (the first asks for the
tool, the second answers with its result) and runs the tool between them. With
``instrument()``, the store holds one trace: the workflow, the agent, the tool with its
input and output, and both model calls as the agent's children.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fake_llm import FakeLLMServer

import llmlog
from llmlog.cli import cli
from llmlog.store import open_store

agents = pytest.importorskip("agents")


@pytest.fixture
def agent_model(server: FakeLLMServer) -> Iterator[Any]:
    """An Agents SDK model on the fake server; the SDK's own exporter (to OpenAI) off."""
    import openai
    from agents import OpenAIResponsesModel, set_trace_processors

    from llmlog.capture._openai_agents import INTEGRATION

    client = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0)
    assert INTEGRATION.processor is not None  # added by instrument()
    set_trace_processors([INTEGRATION.processor])  # no export to api.openai.com from tests
    yield OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client)


def _run(agent_model: Any, question: str) -> Any:
    from agents import Agent, Runner, function_tool

    @function_tool
    def lookup_order(query: str) -> str:
        """Find an order's status."""
        return f"order status for {query!r}: shipped"

    agent = Agent(
        name="support",
        instructions="Answer with the order status.",
        tools=[lookup_order],
        model=agent_model,
    )
    return Runner.run_sync(agent, question)


def test_a_run_is_one_trace_with_the_tool_between_model_calls(agent_model: Any) -> None:
    llmlog.configure(db="runs.db")
    result = _run(agent_model, "where is order A1?")
    assert "shipped" in str(result.final_output)
    assert llmlog.flush(10)
    with open_store("runs.db") as store:
        (summary,) = store.traces()
        tree = store.trace(summary.trace_id)
    shape = [(d, n.kind, n.name) for d, n in tree.walk()]
    assert shape == [
        (0, "invoke_workflow", "Agent workflow"),
        (1, "task", "Agent workflow"),  # the SDK's own task span
        (2, "invoke_agent", "support"),
        (3, "task", "turn 1"),
        (4, "chat", "gpt-4o-mini"),
        (4, "execute_tool", "lookup_order"),
        (3, "task", "turn 2"),
        (4, "chat", "gpt-4o-mini"),
    ]
    nodes = [n for _, n in tree.walk()]
    tool = nodes[5]
    assert tool.record["input"] == {"query": "where is order A1?"}
    assert "shipped" in str(tool.record["output"])
    first, second = nodes[4], nodes[7]
    assert first.start <= tool.start <= second.start
    # the tool call the model asked for, and its result in the next call's input
    (call,) = first.record["tool_calls"]
    assert "lookup_order" in str(call)
    assert "shipped" in str(second.record["prompt_messages"])
    assert summary.model_calls == 2 and summary.tool_calls == 1 and summary.status == "ok"
    # linked both ways: the call that asked (by name and order), the call that got the result
    assert tool.links == {
        "tool_call_id": call["id"],
        "requested_by": first.span_id,
        "result_to": second.span_id,
    }
    assert summary.input_tokens > 0 and nodes[2].input_tokens == summary.input_tokens
    r = CliRunner().invoke(cli, ["--db", "runs.db", "trace", summary.trace_id])
    assert r.exit_code == 0, r.output
    assert "execute_tool lookup_order" in r.output and "invoke_agent support" in r.output


def test_uninstrument_stops_tracing_runs(agent_model: Any) -> None:
    llmlog.configure(db="runs.db")
    llmlog.uninstrument()
    _run(agent_model, "where is order B2?")
    assert llmlog.flush(10)
    llmlog.instrument()
    assert not Path("runs.db").exists()  # neither the run nor its model calls were logged
