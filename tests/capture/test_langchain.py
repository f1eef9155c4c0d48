"""LangChain, run for real against the fake server: one run, one llmlog trace.

A small agent as a runnable: the model (``langchain_openai.ChatOpenAI``, so the call
goes through the ``openai`` SDK that ``instrument()`` captures) asks for a tool, the
tool runs, the model answers with its result. The store holds one trace: the runnable
as the root, both model calls and the tool (input and output) as its children, and a
retriever with its query and documents.
"""

from __future__ import annotations

from typing import Any

import pytest
from fake_llm import FakeLLMServer

import llmlog
from llmlog.store import open_store

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_openai")


def _agent(server: FakeLLMServer) -> Any:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.messages import HumanMessage
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.runnables import RunnableLambda
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    class Policies(BaseRetriever):
        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun
        ) -> list[Document]:
            return [Document(page_content="Refunds within 30 days.", metadata={"id": 7})]

    @tool
    def lookup_order(query: str) -> str:
        """Find an order's status."""
        return f"{query}: shipped"

    llm = ChatOpenAI(
        model="gpt-4o-mini", base_url=server.url + "/v1", api_key="sk-test", max_retries=0
    )

    def support_agent(question: str) -> str:
        docs = Policies().invoke(question)
        msgs: list[Any] = [HumanMessage(f"{question} ({docs[0].page_content})")]
        ai = llm.bind_tools([lookup_order]).invoke(msgs)
        msgs.append(ai)
        for call in ai.tool_calls:
            msgs.append(lookup_order.invoke(call))
        return str(llm.invoke(msgs).content)

    return RunnableLambda(support_agent).with_config(run_name="support_agent")


def test_a_runnable_is_one_trace(server: FakeLLMServer) -> None:
    llmlog.configure(db="runs.db")
    answer = _agent(server).invoke("where is order A1?")
    assert answer.startswith("echo: where is order A1?")
    assert llmlog.flush(10)
    with open_store("runs.db") as store:
        (summary,) = store.traces()
        tree = store.trace(summary.trace_id)
    shape = [(d, n.kind, n.name) for d, n in tree.walk()]
    assert shape == [
        (0, "invoke_workflow", "support_agent"),
        (1, "retrieval", "Policies"),
        (1, "chat", "gpt-4o-mini"),
        (1, "execute_tool", "lookup_order"),
        (1, "chat", "gpt-4o-mini"),
    ]
    nodes = [n for _, n in tree.walk()]
    assert nodes[1].record["input"] == {"query": "where is order A1?"}
    assert nodes[1].record["output"][0]["page_content"] == "Refunds within 30 days."
    tool = nodes[3]
    assert "shipped" in str(tool.record["output"])
    assert nodes[0].record["output"] == answer
    assert summary.model_calls == 2 and summary.tool_calls == 1
    assert tool.links["requested_by"] == nodes[2].span_id
    assert tool.links["result_to"] == nodes[4].span_id


def test_inside_an_llmlog_span_the_run_joins_it(server: FakeLLMServer) -> None:
    llmlog.configure(db="runs.db")
    with llmlog.trace("request") as root:
        _agent(server).invoke("where is order B2?")
    assert llmlog.flush(10)
    with open_store("runs.db") as store:
        tree = store.trace(root.trace_id)
    assert [(d, n.name) for d, n in tree.walk()][:2] == [(0, "request"), (1, "support_agent")]
