"""Traces: what a span costs the caller, and reading traces from a large store.

Run by hand (it prints figures; nothing is asserted):

    python bench/traces.py              # 100,000 traces (a few minutes to build)
    python bench/traces.py --quick      # 10,000 traces

1. Caller cost, in one process, median of 5 runs of N calls each, against the same
   baselines in the same run: ``log_interaction`` of a 2 KB chat, and the classic
   snippet (``logger.info(json.dumps(...))`` to a file). A span is ``with
   llmlog.span("lookup_order", kind="tool", input=args) as s: s.set_output(result)``
   (enter + exit); ``@traced`` is the decorator form. In-process writer, redaction off,
   so the figure is the caller's own work.
2. Reads: a store of T traces, each a run of 6 spans (workflow, agent, 2 tools,
   retrieval, guardrail) and 2 model calls, written through the SQLite write path;
   then the time of ``store.traces(limit=50)`` (the CLI's and viewer's first page),
   ``store.trace(id)`` for a recent and an old trace, and ``store.trace(id)`` for one
   run of 500 spans; then the viewer's pages for them (server time, through its ASGI app).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import llmlog
from llmlog.encoding import Entry
from llmlog.record import new_request_id, new_span_id, new_trace_id

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant for ACME Corp. " * 12},
    {"role": "user", "content": "Where is my order A-1042? It was due on Monday. " * 6},
]
RESPONSE: dict[str, Any] = {
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Shipped. " * 40}}],
    "usage": {"prompt_tokens": 420, "completion_tokens": 90, "total_tokens": 510},
}


def _per_call(fn: Any, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def caller_costs(n: int, d: Path) -> dict[str, float]:
    llmlog.configure(db=str(d / "caller.db"), redact=False, collector="off", max_queue=10**7)
    logger = logging.getLogger("classic")
    logger.propagate = False
    fh = logging.FileHandler(d / "classic.log")
    logger.addHandler(fh)
    logger.setLevel(logging.INFO)
    args = {"order_id": "A-1042", "fields": ["status", "eta"]}

    def classic() -> None:
        logger.info(
            json.dumps(
                {
                    "event": "llm_interaction",
                    "request_id": str(uuid.uuid4()),
                    "model": "gpt-4o-mini",
                    "prompt_messages": MESSAGES,
                    "llm_raw_response": RESPONSE,
                    "timestamp": time.time(),
                }
            )
        )

    def interaction() -> None:
        llmlog.log_interaction(MESSAGES, RESPONSE, model="gpt-4o-mini")

    def span() -> None:
        with llmlog.span("lookup_order", kind="tool", input=args) as s:
            s.set_output({"status": "shipped", "eta": "2026-12-08"})

    @llmlog.traced(kind="tool")
    def lookup_order(order_id: str, fields: list[str]) -> dict[str, str]:
        return {"status": "shipped"}

    def traced() -> None:
        lookup_order("A-1042", ["status", "eta"])

    out: dict[str, list[float]] = {"classic": [], "log_interaction": [], "span": [], "traced": []}
    fns = {"classic": classic, "log_interaction": interaction, "span": span, "traced": traced}
    for _ in range(5):
        for name, fn in fns.items():
            out[name].append(_per_call(fn, n))
            llmlog.flush()  # each candidate starts with an idle writer
    llmlog.shutdown()
    return {k: statistics.median(v) for k, v in out.items()}


def build_store(path: Path, traces: int) -> list[str]:
    """Write ``traces`` runs through the SQLite write path; return their trace ids."""
    from llmlog._serialize import dumps
    from llmlog.store.sqlite.write import SQLiteSink

    sink = SQLiteSink(str(path))
    ids: list[str] = []
    t0 = time.time() - traces * 2.0
    batch: list[Entry] = []
    for i in range(traces):
        tid = new_trace_id()
        ids.append(tid)
        start = t0 + i * 2.0
        root, agent = new_span_id(), new_span_id()
        steps = [
            (root, None, "invoke_workflow", "answer_ticket", 0.0, 1800.0),
            (agent, root, "invoke_agent", "support", 0.01, 1750.0),
            (new_span_id(), agent, "retrieval", "search_docs", 0.02, 80.0),
            (new_span_id(), agent, "execute_tool", "lookup_order", 0.5, 40.0),
            (new_span_id(), agent, "execute_tool", "refund_policy", 0.6, 30.0),
            (new_span_id(), agent, "guardrail", "pii_check", 1.7, 5.0),
        ]
        for sid, parent, kind, name, off, dur in steps:
            rec = {
                "event": "llm_span",
                "schema_version": 1,
                "trace_id": tid,
                "span_id": sid,
                "parent_span_id": parent,
                "kind": kind,
                "name": name,
                "timestamp": start + off,
                "duration_ms": dur,
                "status": "ok",
                "error": None,
                "attributes": {},
                "input": {"order_id": f"A-{i}"},
                "output": {"status": "shipped"},
                "redaction": {},
            }
            batch.append(Entry(rec, dumps(rec)))
        for k in range(2):
            rec = {
                "event": "llm_interaction",
                "schema_version": 1,
                "request_id": new_request_id(),
                "trace_id": tid,
                "span_id": new_span_id(),
                "parent_span_id": agent,
                "timestamp": start + 0.1 + k,
                "duration_ms": 400.0,
                "provider": "openai",
                "operation": "chat",
                "model": "gpt-4o-mini",
                "status": "ok",
                "prompt_messages": MESSAGES,
                "llm_raw_response": RESPONSE,
                "parsed_output": "Shipped.",
                "usage": {"input_tokens": 420, "output_tokens": 90, "total_tokens": 510},
                "cost_usd": 0.000117,
                "redaction": {},
            }
            batch.append(Entry(rec, dumps(rec)))
        if len(batch) >= 4000:
            sink.write(batch)
            batch = []
    if batch:
        sink.write(batch)
    sink.close()
    return ids


def big_trace(path: Path, spans: int) -> str:
    """Add one run of ``spans`` spans (a workflow of agent steps and tools); return its id."""
    from llmlog._serialize import dumps
    from llmlog.store.sqlite.write import SQLiteSink

    sink = SQLiteSink(str(path))
    tid, root = new_trace_id(), new_span_id()
    start = time.time()
    batch = []
    parent = root
    for i in range(spans):
        sid = root if i == 0 else new_span_id()
        kind = "invoke_workflow" if i == 0 else ("invoke_agent" if i % 10 == 1 else "execute_tool")
        rec = {
            "event": "llm_span",
            "schema_version": 1,
            "trace_id": tid,
            "span_id": sid,
            "parent_span_id": None if i == 0 else parent,
            "kind": kind,
            "name": f"step {i}",
            "timestamp": start + i * 0.01,
            "duration_ms": 5.0,
            "status": "ok",
            "error": None,
            "attributes": {},
            "input": {"i": i},
            "output": None,
            "redaction": {},
        }
        if kind == "invoke_agent":
            parent = sid
        batch.append(Entry(rec, dumps(rec)))
    sink.write(batch)
    sink.close()
    return tid


def _ms(fn: Any, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10,000 traces, fewer calls")
    args = ap.parse_args()
    n_calls = 2_000 if args.quick else 10_000
    n_traces = 10_000 if args.quick else 100_000
    d = Path(tempfile.mkdtemp(prefix="llmlog-bench-traces-"))
    os.environ["LLMLOG_HOME"] = str(d / "home")
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
        costs = caller_costs(n_calls, d)
        base = costs["classic"]
        print(f"\ncaller cost per call (median of 5 x {n_calls:,}), in-process, redaction off")
        for name, us in costs.items():
            print(f"  {name:16} {us:8.2f} µs   {us / base:5.2f}x classic")
        store = d / "traces.db"
        t0 = time.perf_counter()
        ids = build_store(store, n_traces)
        built = time.perf_counter() - t0
        big = big_trace(store, 500)
        size = store.stat().st_size / 1e6
        print(
            f"\nstore: {n_traces:,} traces ({n_traces * 6:,} spans, {n_traces * 2:,} model "
            f"calls), {size:,.0f} MB, written in {built:.1f} s"
        )
        from llmlog.store import open_store

        with open_store(store) as st:
            print(f"  traces(limit=50), first page   {_ms(lambda: st.traces(limit=50)):8.1f} ms")
            print(f"  trace(recent id)               {_ms(lambda: st.trace(ids[-1])):8.1f} ms")
            print(f"  trace(oldest id)               {_ms(lambda: st.trace(ids[0])):8.1f} ms")
            print(f"  trace(500-span run)            {_ms(lambda: st.trace(big)):8.1f} ms")
            print(f"  trace(prefix of 10 digits)     {_ms(lambda: st.trace(ids[5][:10])):8.1f} ms")
            found = len(st.traces(kind="guardrail", limit=50))
            took = _ms(lambda: st.traces(kind="guardrail"))
            print(f"  traces(kind=guardrail)         {took:8.1f} ms ({found} found)")
        from starlette.testclient import TestClient

        from llmlog.web import create_app

        with TestClient(create_app(str(store)), base_url="http://127.0.0.1") as web:
            for label, path in (
                ("viewer /traces", "/traces?since=all"),
                ("viewer /t/<8-node run>", f"/t/{ids[-1]}"),
                ("viewer /t/<500-span run>", f"/t/{big}"),
            ):
                assert web.get(path).status_code == 200
                took = _ms(lambda path=path: web.get(path))
                size = len(web.get(path).content) / 1000
                print(f"  {label:30} {took:8.1f} ms ({size:,.0f} KB of HTML)")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
