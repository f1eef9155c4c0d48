"""OTLP ingest rate: spans/s that ``llmlog collect`` takes in over OTLP/HTTP and writes to SQLite.

Run by hand (prints a table; nothing is asserted):

    python bench/otlp.py            # 20,000 spans per case
    python bench/otlp.py --quick    # 2,000

A real ``llmlog collect --otlp`` process (default settings: redaction on, SQLite
store in a temp dir) is fed by one client that POSTs ``ExportTraceServiceRequest``
batches of 512 spans (the OTel SDK's default batch), protobuf, the way an app's
``BatchSpanProcessor`` does, for three kinds of spans:

  genai      model-call spans with the current GenAI attributes and ~1 KB of messages
             (each becomes an interaction: redacted, priced, indexed)
  older      the same with the older indexed ``gen_ai.prompt.N.*`` attributes
  steps      other spans (tools, agent steps): llmlog spans

Figures: ``accepted/s`` (spans/s answered 200 by the receiver) and ``durable/s``
(spans/s from the first POST until every record is in the store, read back).
The baseline in the same run is the app-side cost of building and serializing the
same batches (``encode/s``), which the receiver cannot beat.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

BATCH = 512
MESSAGES = json.dumps(
    [
        {"role": "system", "parts": [{"type": "text", "content": "You help with orders. " * 20}]},
        {"role": "user", "parts": [{"type": "text", "content": "Where is order 4711? " * 10}]},
    ]
)
OUTPUT = json.dumps(
    [{"role": "assistant", "parts": [{"type": "text", "content": "It shipped. " * 20}],
      "finish_reason": "stop"}]
)  # fmt: skip


def _attrs(kind: str, i: int) -> dict[str, Any]:
    if kind == "genai":
        return {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 120 + i % 7,
            "gen_ai.usage.output_tokens": 40,
            "gen_ai.input.messages": MESSAGES,
            "gen_ai.output.messages": OUTPUT,
        }
    if kind == "older":
        return {
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.prompt_tokens": 120,
            "gen_ai.usage.completion_tokens": 40,
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "You help with orders. " * 20,
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Where is order 4711? " * 10,
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "It shipped. " * 20,
        }
    return {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "lookup",
        "gen_ai.tool.call.arguments": '{"order": 4711}',
        "gen_ai.tool.call.result": "shipped",
    }


def _batch(kind: str, start: int, n: int) -> bytes:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "bench-app"
    ss = rs.scope_spans.add()
    now = time.time_ns()
    for i in range(start, start + n):
        s = ss.spans.add()
        s.trace_id = (i // 8 + 1).to_bytes(16, "big")
        s.span_id = (i + 1).to_bytes(8, "big")
        s.name = "chat gpt-4o-mini" if kind != "steps" else "execute_tool lookup"
        s.start_time_unix_nano, s.end_time_unix_nano = now, now + 250_000_000
        for key, value in _attrs(kind, i).items():
            a = s.attributes.add()
            a.key = key
            if isinstance(value, int):
                a.value.int_value = value
            else:
                a.value.string_value = value
    return req.SerializeToString()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _count(db: Path, kind: str) -> int:
    try:
        with sqlite3.connect(db) as con:
            table = "spans" if kind == "steps" else "interactions"
            return int(con.execute(f"select count(*) from {table}").fetchone()[0])
    except sqlite3.Error:
        return 0


def run(kind: str, n: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="llo"))
    db = tmp / "bench.db"
    port = _free_port()
    env = {**os.environ, "LLMLOG_HOME": str(tmp / "h"), "LLMLOG_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmlog.cli", "collect", "--otlp", f"127.0.0.1:{port}"],
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1/traces"
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        t_enc = time.perf_counter()
        bodies = [_batch(kind, i, min(BATCH, n - i)) for i in range(0, n, BATCH)]
        enc = time.perf_counter() - t_enc
        t0 = time.perf_counter()
        for body in bodies:
            req = urllib.request.Request(
                url, data=body, headers={"Content-Type": "application/x-protobuf"}
            )
            with urllib.request.urlopen(req, timeout=120) as r:
                assert r.status == 200
        accepted = time.perf_counter() - t0
        while _count(db, kind) < n:
            time.sleep(0.05)
        durable = time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    return {
        "case": kind,
        "spans": n,
        "encode/s": n / enc,
        "accepted/s": n / accepted,
        "durable/s": n / durable,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 spans per case")
    ap.add_argument("-n", type=int, default=None)
    args = ap.parse_args()
    n = args.n or (2_000 if args.quick else 20_000)
    rows = [run(kind, n) for kind in ("genai", "older", "steps")]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, batches of {BATCH}")
    print(f"{'case':<8} {'spans':>7} {'encode/s':>10} {'accepted/s':>11} {'durable/s':>10}")
    for r in rows:
        print(
            f"{r['case']:<8} {r['spans']:>7} {r['encode/s']:>10,.0f} "
            f"{r['accepted/s']:>11,.0f} {r['durable/s']:>10,.0f}"
        )


if __name__ == "__main__":
    main()
