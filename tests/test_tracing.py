"""Agent runs as traces: spans through the public API, into both stores, out of the CLI.

``llmlog.span`` / ``trace`` / ``traced`` record the steps of a run; interactions logged
inside are their children (contextvars: threads and asyncio tasks each see their own
parent); the stores answer ``trace(id)`` as a tree and ``traces()`` as a list; ``llmlog
trace`` prints both.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import llmlog
from llmlog.cli import cli
from llmlog.sinks.memory import MemorySink
from llmlog.store import AmbiguousIdError, TraceNotFoundError, open_store

RESP: dict[str, Any] = {
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Shipped."}}],
    "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320},
}


def _call(text: str = "where is order A1?") -> str:
    return llmlog.log_interaction(
        [{"role": "user", "content": text}], RESP, model="gpt-4o-mini", duration_ms=50.0
    )


def _agent_run() -> str:
    """A run: a root, an agent step with a tool and a model call, a failing retrieval."""
    with llmlog.trace("answer_ticket", input={"ticket": 7}) as root:
        with llmlog.span("support_agent", kind="agent"):
            with llmlog.span("lookup_order", kind="tool", input={"order_id": "A1"}) as s:
                s.set_output({"status": "shipped"})
            _call()
        with pytest.raises(KeyError), llmlog.span("search_docs", kind="retriever"):
            raise KeyError("index missing")
        root.set_output("Your order has shipped.")
    return root.trace_id


class TestApi:
    def test_spans_nest_and_model_calls_are_children(self) -> None:
        sink = MemorySink()
        llmlog.configure(sinks=[sink], db="off")
        tid = _agent_run()
        assert llmlog.flush(10)
        by_name = {s["name"]: s for s in sink.spans}
        root, agent = by_name["answer_ticket"], by_name["support_agent"]
        tool, search = by_name["lookup_order"], by_name["search_docs"]
        assert {s["trace_id"] for s in sink.spans} == {tid}
        assert root["parent_span_id"] is None and root["kind"] == "invoke_workflow"
        assert agent["parent_span_id"] == root["span_id"] and agent["kind"] == "invoke_agent"
        assert tool["parent_span_id"] == agent["span_id"] and tool["kind"] == "execute_tool"
        assert tool["input"] == {"order_id": "A1"} and tool["output"] == {"status": "shipped"}
        assert search["kind"] == "retrieval" and search["status"] == "error"
        assert search["error"]["type"] == "KeyError"
        assert root["output"] == "Your order has shipped." and root["status"] == "ok"
        (call,) = sink.records
        assert call["trace_id"] == tid and call["parent_span_id"] == agent["span_id"]
        assert all(s["duration_ms"] >= 0 and s["event"] == "llm_span" for s in sink.spans)

    def test_a_trace_is_always_a_new_root(self) -> None:
        sink = MemorySink()
        llmlog.configure(sinks=[sink], db="off")
        with llmlog.span("outer") as outer, llmlog.trace("inner") as inner:
            pass
        assert inner.trace_id != outer.trace_id and inner.parent_span_id is None

    def test_traced_sync_and_async_record_arguments_result_and_errors(self) -> None:
        sink = MemorySink()
        llmlog.configure(sinks=[sink], db="off")

        @llmlog.traced(kind="tool")
        def add(a: int, b: int = 2) -> int:
            return a + b

        @llmlog.traced(kind="retrieval", name="fetch")
        async def fetch(q: str) -> list[str]:
            await asyncio.sleep(0)
            return [q.upper()]

        @llmlog.traced
        def fails() -> None:
            raise ValueError("bad input")

        assert add(1) == 3
        assert asyncio.run(fetch("x")) == ["X"]
        with pytest.raises(ValueError, match="bad input"):
            fails()
        assert llmlog.flush(10)
        spans = {s["name"]: s for s in sink.spans}
        assert spans["TestApi.test_traced_sync_and_async_record_arguments_result_and_errors."
                     "<locals>.add"]["input"] == {"a": 1}  # fmt: skip
        add_span = next(s for s in sink.spans if s["name"].endswith("add"))
        assert add_span["output"] == 3 and add_span["kind"] == "execute_tool"
        assert spans["fetch"]["output"] == ["X"] and spans["fetch"]["kind"] == "retrieval"
        failed = next(s for s in sink.spans if s["name"].endswith("fails"))
        assert failed["status"] == "error" and failed["error"]["message"] == "bad input"

    def test_threads_and_tasks_each_see_their_own_parent(self) -> None:
        sink = MemorySink()
        llmlog.configure(sinks=[sink], db="off")
        parents: dict[str, str] = {}

        def worker(i: int) -> None:
            with llmlog.span(f"thread-{i}") as s:
                parents[_call(f"t{i}")] = s.span_id

        async def task(i: int) -> None:
            with llmlog.span(f"task-{i}") as s:
                await asyncio.sleep(0.01)
                parents[_call(f"a{i}")] = s.span_id

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        async def main() -> None:
            await asyncio.gather(*(task(i) for i in range(8)))

        asyncio.run(main())
        assert llmlog.flush(10)
        assert len(sink.records) == 16
        for rec in sink.records:
            assert rec["parent_span_id"] == parents[rec["request_id"]]

    def test_span_content_is_redacted_and_follows_capture_content(self) -> None:
        sink = MemorySink()
        llmlog.configure(sinks=[sink], db="off", processors=None)
        with llmlog.span("email", kind="tool", input={"to": "bob@example.com"}) as s:
            s.set_output("sent to bob@example.com")
        assert llmlog.flush(10)
        (span,) = sink.spans
        assert span["input"] == {"to": "[EMAIL]"} and span["output"] == "sent to [EMAIL]"
        assert span["redaction"]["counts"] == {"EMAIL": 2}
        llmlog.reset()
        sink = MemorySink()
        llmlog.configure(sinks=[sink], db="off", capture_content="off")
        with llmlog.span("email", kind="tool", input={"to": "x"}) as s:
            s.set_output("y")
        assert llmlog.flush(10)
        assert sink.spans[0]["input"] is None and sink.spans[0]["output"] is None

    def test_an_unserializable_input_never_breaks_the_app(self) -> None:
        sink = MemorySink()
        llmlog.configure(sinks=[sink], db="off")
        with llmlog.span("odd", input=object()) as s:
            s.set_output({1, 2})
        assert llmlog.flush(10)
        assert sink.spans[0]["name"] == "odd"

    def test_spans_written_to_json_lines(self, tmp_path: Any) -> None:
        path = tmp_path / "out.jsonl"
        llmlog.configure(db="off", jsonl=str(path))
        tid = _agent_run()
        assert llmlog.flush(10)
        lines = [orjson.loads(x) for x in path.read_bytes().splitlines()]
        assert sorted(x["event"] for x in lines) == ["llm_interaction"] + ["llm_span"] * 4
        assert {x["trace_id"] for x in lines} == {tid}


class TestStores:
    def test_trace_tree_and_list(self, store_url: str) -> None:
        llmlog.configure(db=store_url)
        tid = _agent_run()
        other = _agent_run()
        _call("a call outside any span")  # a trace of its own, without spans: not listed
        assert llmlog.flush(30)
        with open_store(store_url) as store:
            tr = store.trace(tid)
            shape = [(d, n.kind, n.name) for d, n in tr.walk()]
            assert shape == [
                (0, "invoke_workflow", "answer_ticket"),
                (1, "invoke_agent", "support_agent"),
                (2, "execute_tool", "lookup_order"),
                (2, "chat", "gpt-4o-mini"),
                (1, "retrieval", "search_docs"),
            ]
            s = tr.summary
            assert (s.spans, s.model_calls, s.tool_calls, s.errors) == (4, 1, 1, 1)
            assert (s.input_tokens, s.output_tokens) == (300, 20)
            assert s.cost_usd is not None and s.cost_usd > 0
            assert tr.roots[0].input_tokens == 300  # rolled up the tree
            assert store.trace(tid[:10]).summary.trace_id == tid
            listed = store.traces()
            assert [t.trace_id for t in listed] == [other, tid]
            assert listed[1] == s
            assert [t.trace_id for t in store.traces(kind="retrieval", limit=1)] == [other]
            assert store.traces(since=s.start + 3600) == []
            with pytest.raises(TraceNotFoundError):
                store.trace("0" * 32)

    def test_prefixes(self, store_url: str) -> None:
        """A unique prefix of 8+ digits finds a trace; a shared one is refused by name."""
        llmlog.configure(db=store_url)
        for tail in ("1", "2"):
            llmlog.log_interaction([], None, trace_id="abcdef01" + tail * 24)
        llmlog.log_interaction([], None, trace_id="12345678" + "9" * 24)
        assert llmlog.flush(30)
        with open_store(store_url) as store:
            assert store.trace("123456789").summary.trace_id == "12345678" + "9" * 24
            with pytest.raises(AmbiguousIdError, match="more than one trace"):
                store.trace("abcdef01")
            assert store.trace("abcdef011").summary.model_calls == 1
            with pytest.raises(TraceNotFoundError):
                store.trace("abcdef03")


class TestToolLinks:
    def test_a_tool_links_to_the_call_that_asked_and_the_call_that_got_its_result(self) -> None:
        """By the tool_call_id attribute: the model call whose reply asked for it, and the
        next call whose prompt carries its result (OpenAI chat shape here)."""
        asking = {
            "object": "chat.completion",
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": None,
                "tool_calls": [{"id": "call_9", "type": "function", "function": {
                    "name": "lookup_order", "arguments": '{"id": "A1"}'}}]}}],
        }  # fmt: skip
        with llmlog.trace("run") as root:
            first = llmlog.log_interaction([{"role": "user", "content": "A1?"}], asking)
            with llmlog.span(
                "lookup_order", kind="tool", attributes={"tool_call_id": "call_9"}
            ) as s:
                s.set_output("shipped")
            second = llmlog.log_interaction(
                [{"role": "tool", "tool_call_id": "call_9", "content": "shipped"}], RESP
            )
        assert llmlog.flush(10)
        with open_store("llmlog.db") as store:
            tr = store.trace(root.trace_id)
        nodes = {n.record.get("request_id") or n.name: n for _, n in tr.walk()}
        tool = nodes["lookup_order"]
        assert tool.links == {
            "tool_call_id": "call_9",
            "requested_by": nodes[first].span_id,
            "result_to": nodes[second].span_id,
        }
        r = CliRunner().invoke(cli, ["trace", root.trace_id, "--json"])
        (line,) = [orjson.loads(x) for x in r.output.splitlines() if '"execute_tool"' in x]
        assert line["tool_call_id"] == "call_9"
        assert line["requested_by"] == nodes[first].span_id
        assert "[call_9]" in CliRunner().invoke(cli, ["trace", root.trace_id]).output


class TestCli:
    def test_trace_prints_the_tree_and_json(self) -> None:
        tid = _agent_run()
        assert llmlog.flush(10)
        r = CliRunner().invoke(cli, ["trace", tid[:12]])
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert lines[0].startswith(f"trace {tid}")
        assert "1 model call(s), 1 tool call(s), 320 tokens" in lines[0]
        assert lines[1].startswith("└─ invoke_workflow answer_ticket")
        assert any(line.startswith("   │  ├─ execute_tool lookup_order") for line in lines)
        assert any("retrieval search_docs" in x and "error KeyError" in x for x in lines)
        r = CliRunner().invoke(cli, ["trace", tid, "--json"])
        nodes = [orjson.loads(x) for x in r.output.splitlines()]
        assert [n["kind"] for n in nodes] == [
            "invoke_workflow",
            "invoke_agent",
            "execute_tool",
            "chat",
            "retrieval",
        ]
        assert nodes[2]["input"] == {"order_id": "A1"} and nodes[3]["request_id"]
        assert all(n["trace_id"] == tid and "parent_span_id" in n for n in nodes)

    def test_trace_lists_runs(self) -> None:
        tid = _agent_run()
        assert llmlog.flush(10)
        r = CliRunner().invoke(cli, ["trace"])
        assert r.exit_code == 0
        (row,) = r.output.splitlines()
        cells = row.split("\t")
        assert cells[0] == tid[:12] and cells[2] == "invoke_workflow answer_ticket"
        assert cells[4:7] == ["1", "1", "320"] and cells[-1] == "error"
        r = CliRunner().invoke(cli, ["trace", "--json", "--kind", "tool"])
        assert orjson.loads(r.output)["trace_id"] == tid

    def test_unknown_trace_is_one_line(self) -> None:
        _agent_run()
        assert llmlog.flush(10)
        r = CliRunner().invoke(cli, ["trace", "deadbeefdeadbeef"])
        assert r.exit_code == 1
        assert r.output == "Error: no trace 'deadbeefdeadbeef' in the store\n"
