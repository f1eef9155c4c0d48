"""llmlog's OpenTelemetry spans read by a real GenAI backend: Arize Phoenix.

Phoenix cannot share the test environment (it pins ``anthropic<2``), so it gets
its own virtualenv, made once from the registry into ``LLMLOG_TEST_CACHE``
(default ``~/.cache/llmlog-tests``) and reused; the server runs on 127.0.0.1 for
the module and is stopped by its PID. Phoenix validates ``gen_ai.input.messages`` /
``gen_ai.output.messages`` against the conventions' schema and turns them into
its own message attributes (``llm.input_messages.*``): a message it shows is one
it accepted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmlog

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

from llmlog.sinks.otel import OTelSink

PHOENIX = "arize-phoenix==20.26.1"


def _phoenix_venv() -> Path:
    cache = Path(os.environ.get("LLMLOG_TEST_CACHE") or Path.home() / ".cache" / "llmlog-tests")
    venv = cache / PHOENIX.replace("==", "-")
    exe = venv / "bin" / "phoenix"
    if exe.exists():
        return exe
    cache.mkdir(parents=True, exist_ok=True)
    tmp = venv.with_suffix(".tmp")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(tmp)], check=True, timeout=300)
    out = subprocess.run(
        [str(tmp / "bin" / "pip"), "install", "-q", PHOENIX],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert out.returncode == 0, f"installing {PHOENIX} failed:\n{out.stderr[-3000:]}"
    tmp.rename(venv)  # venv scripts use absolute paths: re-point them
    for script in (venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            try:
                text = script.read_text()
            except UnicodeDecodeError:
                continue
            script.write_text(text.replace(str(tmp), str(venv)))
    return exe


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = _phoenix_venv()
    port, grpc = _free_port(), _free_port()
    env = {
        **os.environ,
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_WORKING_DIR": str(tmp_path_factory.mktemp("phoenix")),
    }
    log = tmp_path_factory.mktemp("phoenix-log") / "out.txt"
    with log.open("w") as out:
        proc = subprocess.Popen([str(exe), "serve"], env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, f"phoenix exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"phoenix did not start: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _spans(url: str, want: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(url + "/v1/projects/default/spans?limit=100", timeout=10) as r:
            spans = json.load(r)["data"]
        if len(spans) >= want or time.monotonic() > deadline:
            return spans
        time.sleep(0.3)


def test_phoenix_shows_prompt_answer_and_tool_calls(phoenix: str) -> None:
    """A model call with a tool round trip, a span around it: Phoenix shows the messages."""
    llmlog.configure(db="off", sinks=[OTelSink(OTLPSpanExporter(endpoint=phoenix + "/v1/traces"))])
    prompt = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather in Paris? mail me at jane.doe@example.com"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "wx", "arguments": '{"q": "Paris"}'}}
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]  # fmt: skip
    with llmlog.span("plan_trip", "invoke_agent"):
        llmlog.log_interaction(
            prompt,
            None,
            parsed_output="It is sunny in Paris.",
            model="gpt-4o",
            usage={"input_tokens": 10, "output_tokens": 5},
        )
    llmlog.flush(10)
    llmlog.reset()
    spans = {s["name"]: s for s in _spans(phoenix, 2)}
    llm = spans["chat gpt-4o"]["attributes"]
    assert llm["llm.input_messages.0.message.content"] == "be brief"
    assert llm["llm.input_messages.1.message.content"] == "weather in Paris? mail me at [EMAIL]"
    assert llm["llm.input_messages.2.message.tool_calls.0.tool_call.function.name"] == "wx"
    assert llm["llm.input_messages.3.message.tool_call_id"] == "c1"
    assert llm["llm.output_messages.0.message.content"] == "It is sunny in Paris."
    assert llm["llm.token_count.prompt"] == 10 and llm["llm.token_count.completion"] == 5
    assert (
        spans["chat gpt-4o"]["parent_id"] == spans["invoke_agent plan_trip"]["context"]["span_id"]
    )
