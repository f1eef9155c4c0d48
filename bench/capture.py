"""What ``llmlog.instrument()`` adds to an SDK call, instrumented vs plain, in one run.

Run by hand (prints a table; nothing is asserted):

    python bench/capture.py            # full run, about a minute
    python bench/capture.py --quick    # smaller N, a smoke check

Two set-ups, with the real SDKs (sync clients):

  server     the fake provider of ``tests/capture/fake_llm.py`` on 127.0.0.1, in its
             own process (so it does not share the GIL with the app): a real
             HTTP/1.1 round trip, JSON, SSE, NDJSON or AWS event streams. Every SDK
             llmlog captures: openai, anthropic, google-genai, boto3 bedrock-runtime,
             ollama, mistralai, cohere (v2), groq; plain and streamed
  in-process openai and anthropic over ``httpx2.MockTransport`` (no socket): the
             round trip is only the SDK's own CPU work, so any capture cost shows

For each, plain and instrumented calls alternate in blocks of 50 (so drift and
warm-up hit both alike), and the figures are:

  p50 / p99        call latency as the app sees it (µs): for a stream, from the
                   call until the last chunk has been read
  added p50        instrumented p50 - plain p50, and as % of the plain p50
  cpu added        the same for the app thread's CPU time per call
                   (``time.thread_time``): what the app thread itself spends,
                   unaffected by other processes competing for the CPUs
  ttft p50         time to the first chunk seen by the app (streams), both modes

``--pipeline default`` (the default) runs llmlog as an app gets it (background
writer, SQLite store in a temp dir, redaction on), so the figures include the GIL
time its writer thread takes from the app; ``--pipeline deferred`` holds the
writer back until the end, which leaves what capture itself adds on the app's
thread (wrapping, span, conversion to a dict, the caller's snapshot and hand-off).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "capture"))

import anthropic  # noqa: E402
import httpx2  # noqa: E402
import openai  # noqa: E402

import llmlog  # noqa: E402
from llmlog.sinks.memory import MemorySink  # noqa: E402

SYSTEM = (
    "You are a helpful assistant for ACME Corp. Answer concisely and cite the relevant "
    "section of the returns policy when it applies. "
) * 12
USER = "Can I return a pair of shoes I bought 20 days ago if I wore them once outside?"
OA_MSGS = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
AN_MSGS = [{"role": "user", "content": USER}]
BLOCK = 50


def _start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "capture" / "fake_llm.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


def _mock_transport() -> httpx2.MockTransport:
    """An in-process transport answering like the fake server (same payloads)."""
    from fake_llm import answer_text, chunks_of

    text = answer_text(USER)

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/v1/messages"):
            return _anthropic_response(body, text, chunks_of)
        return _openai_response(body, text, chunks_of)

    return httpx2.MockTransport(handler)


def _sse(events: list[tuple[str | None, Any]]) -> bytes:
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {name}\n" if name else "") + f"data: {payload}\n\n")
    return "".join(out).encode()


def _openai_response(body: dict[str, Any], text: str, chunks_of: Any) -> httpx2.Response:
    head = {
        "id": "chatcmpl-1",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp",
    }
    usage = {"prompt_tokens": 420, "completion_tokens": 20, "total_tokens": 440}
    if not body.get("stream"):
        return httpx2.Response(
            200,
            json={
                **head,
                "object": "chat.completion",
                "usage": usage,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {"role": "assistant", "content": text},
                    }
                ],
            },
        )
    ev: list[tuple[str | None, Any]] = [
        (
            None,
            {
                **head,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}],
            },
        )
        for p in chunks_of(text)
    ]
    ev.append((None, {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}))
    ev.append((None, "[DONE]"))
    return httpx2.Response(200, content=_sse(ev), headers={"content-type": "text/event-stream"})


def _anthropic_response(body: dict[str, Any], text: str, chunks_of: Any) -> httpx2.Response:
    usage = {"input_tokens": 30, "output_tokens": 20}
    if not body.get("stream"):
        return httpx2.Response(
            200,
            json={
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            },
        )
    ev: list[tuple[str | None, Any]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {**usage, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    ev += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in chunks_of(text)
    ]
    ev += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 20},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return httpx2.Response(200, content=_sse(ev), headers={"content-type": "text/event-stream"})


def _cases(oa: Any, an: Any) -> dict[str, Callable[[], float | None]]:
    """Each case makes one call and returns the time to its first chunk (streams)."""

    def oa_plain() -> None:
        oa.chat.completions.create(model="gpt-4o-mini", messages=OA_MSGS, temperature=0)

    def oa_stream() -> float:
        t0 = time.perf_counter()
        s = oa.chat.completions.create(
            model="gpt-4o-mini",
            messages=OA_MSGS,
            stream=True,
            stream_options={"include_usage": True},
        )
        next(s)
        first = time.perf_counter() - t0
        for _ in s:
            pass
        return first

    def an_plain() -> None:
        an.messages.create(
            model="claude-haiku-4-5", max_tokens=200, system=SYSTEM, messages=AN_MSGS
        )

    def an_stream() -> float:
        t0 = time.perf_counter()
        s = an.messages.create(
            model="claude-haiku-4-5", max_tokens=200, system=SYSTEM, messages=AN_MSGS, stream=True
        )
        next(s)
        first = time.perf_counter() - t0
        for _ in s:
            pass
        return first

    return {
        "openai chat": oa_plain,
        "openai chat stream": oa_stream,
        "anthropic messages": an_plain,
        "anthropic messages stream": an_stream,
    }


def _timed_stream(make: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    it = iter(make())
    next(it)
    first = time.perf_counter() - t0
    for _ in it:
        pass
    return first


def _more_cases(url: str) -> dict[str, Callable[[], float | None]]:
    """The other SDKs against the fake server (each SDK's own wire protocol)."""
    import boto3
    import cohere
    import groq
    import ollama
    from botocore.config import Config
    from google import genai
    from google.genai import types
    from mistralai.client import Mistral

    gm = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=url))
    br = boto3.client(
        "bedrock-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        config=Config(retries={"max_attempts": 1}),
    )
    ol = ollama.Client(host=url)
    mi = Mistral(api_key="k", server_url=url)
    co = cohere.ClientV2(api_key="k", base_url=url)
    gq = groq.Groq(api_key="k", base_url=url, max_retries=0)
    conv = [{"role": "user", "content": [{"text": USER}]}]
    system = [{"text": SYSTEM}]
    return {
        "gemini generate_content": lambda: (
            gm.models.generate_content(
                model="gemini-2.5-flash", contents=USER, config={"system_instruction": SYSTEM}
            )
            and None
        ),
        "gemini stream": lambda: _timed_stream(
            lambda: gm.models.generate_content_stream(
                model="gemini-2.5-flash", contents=USER, config={"system_instruction": SYSTEM}
            )
        ),
        "bedrock converse": lambda: (
            br.converse(modelId="amazon.nova-lite-v1:0", messages=conv, system=system) and None
        ),
        "bedrock converse_stream": lambda: _timed_stream(
            lambda: br.converse_stream(
                modelId="amazon.nova-lite-v1:0", messages=conv, system=system
            )["stream"]
        ),
        "ollama chat": lambda: ol.chat(model="llama3.2", messages=OA_MSGS) and None,
        "ollama chat stream": lambda: _timed_stream(
            lambda: ol.chat(model="llama3.2", messages=OA_MSGS, stream=True)
        ),
        "mistral complete": lambda: (
            mi.chat.complete(model="mistral-small-latest", messages=OA_MSGS) and None
        ),
        "mistral stream": lambda: _timed_stream(
            lambda: mi.chat.stream(model="mistral-small-latest", messages=OA_MSGS)
        ),
        "cohere chat": lambda: co.chat(model="command-r", messages=OA_MSGS) and None,
        "cohere chat_stream": lambda: _timed_stream(
            lambda: co.chat_stream(model="command-r", messages=OA_MSGS)
        ),
        "groq chat": lambda: (
            gq.chat.completions.create(model="llama-3.1-8b-instant", messages=OA_MSGS) and None
        ),
        "groq chat stream": lambda: _timed_stream(
            lambda: gq.chat.completions.create(
                model="llama-3.1-8b-instant", messages=OA_MSGS, stream=True
            )
        ),
    }


def _measure(call: Callable[[], float | None], n: int) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {
        m: {"lat": [], "ttft": [], "cpu": []} for m in ("plain", "instrumented")
    }
    for _ in range(10):  # warm-up, both modes
        for mode in ("plain", "instrumented"):
            (llmlog.instrument if mode == "instrumented" else llmlog.uninstrument)()
            call()
    rounds = max(1, n // BLOCK)
    for r in range(rounds):
        order = ("plain", "instrumented") if r % 2 == 0 else ("instrumented", "plain")
        for mode in order:
            (llmlog.instrument if mode == "instrumented" else llmlog.uninstrument)()
            lat, ttft, cpu = out[mode]["lat"], out[mode]["ttft"], out[mode]["cpu"]
            for _ in range(BLOCK):
                c0 = time.thread_time()
                t0 = time.perf_counter()
                first = call()
                lat.append(time.perf_counter() - t0)
                cpu.append(time.thread_time() - c0)
                if first is not None:
                    ttft.append(first)
    llmlog.uninstrument()
    return out


def _breakdown(oa: Any) -> dict[str, float]:
    """Time the pieces of one captured non-streaming call in a hot loop (µs each).

    The same pieces cost two to three times as much between the SDK's own work
    (cold caches), which is what the end-to-end figures show.
    """
    from llmlog import api
    from llmlog.capture import _openai, _stainless
    from llmlog.context import new_span

    seen: dict[str, Any] = {}
    begin = _stainless._begin

    def spy(spec: Any, client: Any, args: Any, kwargs: Any) -> Any:
        seen.update(spec=spec, client=client, args=args, kwargs=kwargs)
        return begin(spec, client, args, kwargs)

    llmlog.instrument()
    _stainless._begin = spy
    try:
        raw = oa.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=OA_MSGS)
    finally:
        _stainless._begin = begin
        llmlog.uninstrument()
    content = raw.http_response.content
    resp = raw.parse()
    spec, client, args, kwargs = seen["spec"], seen["client"], seen["args"], seen["kwargs"]

    def timed(fn: Callable[[], Any], n: int = 20000) -> float:
        for _ in range(200):
            fn()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n * 1e6

    def request_side() -> None:
        req = begin(spec, client, args, kwargs)
        assert req is not None
        req.call.leave()

    fields = {
        "provider": "openai",
        "operation": "chat",
        "model": "gpt-4o-mini",
        "params": {"temperature": 0},
        "prompt_messages": OA_MSGS,
        "llm_raw_response": _openai._convert_chat(resp, None)["llm_raw_response"],
        "timestamp": 1.0,
        "trace_id": "a" * 32,
        "span_id": "b" * 16,
        "parent_span_id": None,
        "duration_ms": 1.0,
        "metadata": {"server_address": "127.0.0.1"},
    }
    return {
        "request side (_begin: read options, params, prompt, span)": timed(request_side),
        "  of which new_span() (core)": timed(new_span),
        "response as received (JSON decode)": timed(
            lambda: _openai._convert_chat(resp, _stainless._loads(content))
        ),
        "  vs SDK object -> dict (the fallback)": timed(lambda: _openai._convert_chat(resp, None)),
        "hand-off llmlog.api.submit() (core)": timed(lambda: api.submit(dict(fields)), 5000),
    }


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1e6


def _report(setup: str, name: str, data: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    p, i = data["plain"], data["instrumented"]
    row = {
        "setup": setup,
        "case": name,
        "n": len(p["lat"]),
        "plain_p50": _pct(p["lat"], 0.5),
        "plain_p99": _pct(p["lat"], 0.99),
        "instr_p50": _pct(i["lat"], 0.5),
        "instr_p99": _pct(i["lat"], 0.99),
    }
    row["added_p50"] = row["instr_p50"] - row["plain_p50"]
    row["added_p99"] = row["instr_p99"] - row["plain_p99"]
    row["added_pct"] = 100 * row["added_p50"] / row["plain_p50"]
    row["cpu_added_p50"] = _pct(i["cpu"], 0.5) - _pct(p["cpu"], 0.5)
    if p["ttft"]:
        row["ttft_plain_p50"] = _pct(p["ttft"], 0.5)
        row["ttft_instr_p50"] = _pct(i["ttft"], 0.5)
        row["ttft_added_p50"] = row["ttft_instr_p50"] - row["ttft_plain_p50"]
    return row


def _print(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'setup':<10} {'case':<26} {'n':>5} {'plain p50':>10} {'p99':>8} "
        f"{'instr p50':>10} {'p99':>8} {'added p50':>10} {'%':>6} {'added p99':>10} "
        f"{'cpu added':>9} {'ttft plain':>10} {'ttft instr':>10}"
    )
    for r in rows:
        ttft = (
            f"{r['ttft_plain_p50']:>10.0f} {r['ttft_instr_p50']:>10.0f}"
            if "ttft_plain_p50" in r
            else f"{'-':>10} {'-':>10}"
        )
        print(
            f"{r['setup']:<10} {r['case']:<26} {r['n']:>5} {r['plain_p50']:>10.0f} "
            f"{r['plain_p99']:>8.0f} {r['instr_p50']:>10.0f} {r['instr_p99']:>8.0f} "
            f"{r['added_p50']:>+10.1f} {r['added_pct']:>+5.1f}% {r['added_p99']:>+10.0f} "
            f"{r['cpu_added_p50']:>+9.1f} {ttft}"
        )
    print(
        "(µs; 'added' = instrumented - plain, wall clock; 'cpu added' = the same for the "
        "app thread's CPU time, which other processes on the machine do not inflate; "
        "ttft = time to first chunk, p50)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="N=200 per mode instead of 1000")
    ap.add_argument("-n", type=int, default=None, help="calls per mode and case")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    ap.add_argument(
        "--only-openai-anthropic",
        action="store_true",
        help="leave out the other SDKs (Gemini, Bedrock, Ollama, Mistral, Cohere, Groq)",
    )
    ap.add_argument(
        "--pipeline",
        choices=["default", "deferred"],
        default="default",
        help="default: llmlog's defaults (SQLite, redaction, background "
        "writer); deferred: the writer waits until the end, so only capture "
        "and the caller's hand-off are measured",
    )
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        metavar="MS",
        help="sys.setswitchinterval() in ms (Python's default is 5)",
    )
    args = ap.parse_args()
    n = args.n or (200 if args.quick else 1000)

    tmp = tempfile.mkdtemp(prefix="llmlog-bench-")
    os.environ["LLMLOG_HOME"] = tmp
    if args.pipeline == "deferred":
        # Capture and the caller's hand-off only: the writer does not run until the end.
        llmlog.configure(
            db="off",
            processors=[],
            sinks=[MemorySink()],
            batch_size=10**7,
            flush_interval=10**6,
            max_queue=10**7,
        )
    else:
        llmlog.configure(db=str(Path(tmp) / "llmlog.db"))
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval / 1000)
    proc, url = _start_server()
    rows: list[dict[str, Any]] = []
    try:
        setups = {
            "server": (
                openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0),
                anthropic.Anthropic(base_url=url, api_key="k", max_retries=0),
            ),
            "in-process": (
                openai.OpenAI(
                    base_url="http://mock/v1",
                    api_key="k",
                    max_retries=0,
                    http_client=httpx2.Client(transport=_mock_transport()),
                ),
                anthropic.Anthropic(
                    base_url="http://mock",
                    api_key="k",
                    max_retries=0,
                    http_client=httpx2.Client(transport=_mock_transport()),
                ),
            ),
        }
        for setup, (oa, an) in setups.items():
            cases = _cases(oa, an)
            if setup == "server" and not args.only_openai_anthropic:
                cases.update(_more_cases(url))
            for name, call in cases.items():
                rows.append(_report(setup, name, _measure(call, n)))
                print(f"  done: {setup} / {name}", file=sys.stderr)
        breakdown = _breakdown(setups["in-process"][0]) if args.pipeline == "deferred" else {}
        llmlog.flush()
        stats = llmlog.stats()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
    print(
        f"python {sys.version.split()[0]}, openai {openai.__version__}, anthropic "
        f"{anthropic.__version__}, {os.cpu_count()} CPUs; n={n} calls per mode and case; "
        f"pipeline={args.pipeline}, switch interval {sys.getswitchinterval() * 1000:g} ms"
    )
    _print(rows)
    print(
        f"llmlog: {stats['processed']} records written, {stats['errors']} errors, "
        f"{stats['dropped']} dropped"
    )
    if breakdown:
        print("\nhot-loop cost of the pieces of one captured call (µs):")
        for name, us in breakdown.items():
            print(f"  {name:<58} {us:6.1f}")
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
