"""Reading a big store: a 1,000,000-interaction SQLite store and how fast the CLI answers.

Run by hand (it prints figures; nothing is asserted):

    python bench/store.py                  # generate bench/out/store-1000000.db once, then time
    python bench/store.py --n 100000       # a smaller store
    python bench/store.py --regen          # generate again
    python bench/store.py --write-readme   # also update this benchmark's section of README.md

Generation writes realistic interactions through the SQLite sink's own write
path (``SQLiteSink.write``: rows, FTS, tags and rollups in one transaction per
batch), in bulk, with one worker process building records while the main
process writes: 30 days of traffic with a daily cycle; eight models across
three providers with their prices and latencies; ~4-call sessions from ~20,000
users with a skewed distribution; prod/staging and feature tags; 2% errors
(429/500/timeouts); 35% of chats streamed (TTFT); 8% with tool calls; RAG
prompts with long context; history turns; text from a pool of phrases over a
6,000-word Zipf vocabulary; and rare words for full-text search
(``quokkaberry`` in one interaction, ``xylophonic`` in 10).

Then, on the warm store (median of ``--runs`` runs after one warm-up), each
operation is timed twice: through the query layer (``llmlog.store``, what the
web viewer calls) and as the CLI command run in-process (click parsing, opening
the store, the query, rendering; without the ~0.2 s of interpreter start-up, which
is shown separately as ``llmlog show`` in a subprocess):

  show            ``llmlog show ID`` for random ids
  search filtered ``llmlog search -m gpt-4o --since 24h`` (first page, 20 rows)
  full text       ``llmlog search quokkaberry`` / ``xylophonic`` (rare words)
  stats           ``llmlog stats`` all time, ``--by model``, ``--by tag``, ``--since 7d --by day``
  import          ``llmlog import`` of 50,000 llmlog JSON lines and of 50,000 classic-snippet
                  log lines into a fresh store, redaction on (the default) and off

and the store's size on disk per interaction is set against the JSON-lines size.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DAY = 86400.0

# (model, provider, weight, $ in / $ out per 1M tokens, median latency ms, max output tokens)
MODELS = [
    ("gpt-4o-mini", "openai", 30, 0.15, 0.60, 900, 600),
    ("gpt-4o", "openai", 14, 2.50, 10.0, 1800, 900),
    ("gpt-4.1-mini", "openai", 10, 0.40, 1.60, 1100, 700),
    ("o3-mini", "openai", 4, 1.10, 4.40, 6500, 1500),
    ("claude-sonnet-4-5", "anthropic", 12, 3.0, 15.0, 2400, 1000),
    ("claude-haiku-4-5", "anthropic", 10, 1.0, 5.0, 1000, 600),
    ("gemini-2.0-flash", "google", 8, 0.10, 0.40, 800, 600),
    ("text-embedding-3-small", "openai", 12, 0.02, 0.0, 120, 0),
]
FEATURES = [
    ("chat", 40),
    ("rag", 25),
    ("summarize", 12),
    ("extract", 10),
    ("classify", 8),
    ("agent", 5),
]
SYSTEMS = {
    "chat": "You are a helpful support assistant for ACME Corp. Answer briefly and politely, "
    "and never promise refunds that the returns policy does not allow.",
    "rag": "Answer the question using only the context passages below. Cite passages as [n]. "
    "If the answer is not in the context, say you do not know.",
    "summarize": "Summarize the following document in three bullet points for an executive "
    "audience. Keep each bullet under twenty words.",
    "extract": "Extract the invoice number, date, total amount and vendor name as JSON with "
    "the keys invoice_number, date, total and vendor.",
    "classify": "Classify the customer message into one of: billing, shipping, returns, "
    "technical, other. Answer with the label only.",
    "agent": "You are an agent that can look up orders and issue refunds with the tools "
    "provided. Think step by step and call a tool when you need data.",
}
ERRORS = [
    ("RateLimitError", "Rate limit reached for requests per minute", 429, 55),
    ("APITimeoutError", "Request timed out.", None, 20),
    ("InternalServerError", "The server had an error while processing your request", 500, 15),
    ("BadRequestError", "This model's maximum context length is 128000 tokens", 400, 10),
]
RARE = {"quokkaberry": 1, "xylophonic": 10}


def _cum(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


class Generator:
    """Build realistic records deterministically from a seed."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(1234)  # the vocabulary and phrase pools are the same in every worker
        letters = "etaoinshrdlcumwfgypbvkjxqz"
        lcum = _cum(
            [
                12,
                9,
                8,
                7.5,
                7,
                6.3,
                6.3,
                6,
                4.2,
                4,
                2.8,
                2.7,
                2.4,
                2.3,
                2,
                2,
                1.9,
                1.5,
                1,
                0.8,
                0.2,
                0.15,
                0.15,
                0.1,
                0.1,
                0.07,
            ]
        )
        vocab: set[str] = set()
        while len(vocab) < 6000:
            k = max(2, min(14, int(rng.lognormvariate(1.6, 0.4))))
            vocab.add("".join(rng.choices(letters, cum_weights=lcum, k=k)))
        words = sorted(vocab, key=lambda w: (len(w), w))
        wcum = _cum([1 / (i + 1) ** 1.05 for i in range(len(words))])
        self.top_words = words[:200]  # the most frequent first, for common-word searches

        def phrase(lo: float, sigma: float) -> str:
            n = max(3, int(rng.lognormvariate(lo, sigma)))
            text = " ".join(rng.choices(words, cum_weights=wcum, k=n))
            return text[0].upper() + text[1:] + rng.choice([".", "?", ".", "!"])

        self.questions = [phrase(2.8, 0.6) for _ in range(30_000)]
        self.answers = [phrase(3.9, 0.7) for _ in range(30_000)]
        self.passages = [phrase(4.6, 0.3) for _ in range(3_000)]
        self.rng = random.Random(seed)
        self.mcum = _cum([m[2] for m in MODELS])
        self.fcum = _cum([f[1] for f in FEATURES])
        self.ecum = _cum([e[3] for e in ERRORS])

    def record(self, i: int, ts: float, rare: str | None) -> dict[str, Any]:
        rng = self.rng
        model, provider, _, pin, pout, med, max_out = rng.choices(MODELS, cum_weights=self.mcum)[0]
        embed = max_out == 0
        feature = "embed" if embed else rng.choices(FEATURES, cum_weights=self.fcum)[0][0]
        session = f"s-{i // 4 + rng.randint(0, 40):07d}"
        heavy = int(rng.paretovariate(1.2) * 10) % 20_000  # a few users call a lot
        user = f"u-{zlib.crc32(session.encode()) % 20_000 if rng.random() < 0.7 else heavy:05d}"
        question = rng.choice(self.questions)
        if rare:
            question = f"{question[:-1]} {rare}{question[-1]}"
        if embed:
            messages: list[Any] = [question]
        else:
            user_text = question
            if feature == "rag":
                ctx = "\n".join(f"[{k + 1}] {rng.choice(self.passages)}" for k in range(3))
                user_text = f"Context:\n{ctx}\n\nQuestion: {question}"
            elif feature in ("summarize", "extract"):
                user_text = " ".join(rng.choice(self.passages) for _ in range(2))
            messages = [{"role": "system", "content": SYSTEMS[feature]}]
            if rng.random() < 0.25:
                messages += [
                    {"role": "user", "content": rng.choice(self.questions)},
                    {"role": "assistant", "content": rng.choice(self.answers)},
                ]
            messages.append({"role": "user", "content": user_text})
        error = None
        if rng.random() < 0.02:
            etype, emsg, code, _ = rng.choices(ERRORS, cum_weights=self.ecum)[0]
            error = {"type": etype, "message": emsg, "status_code": code}
        stream = not embed and error is None and rng.random() < 0.35
        duration = round(med * rng.lognormvariate(0, 0.55), 3)
        if error and error["type"] == "APITimeoutError":
            duration = 60_000.0 + rng.random() * 100
        in_tok = (
            sum(len(m["content"]) if isinstance(m, dict) else len(m) for m in messages) // 4 + 3
        )
        out_text = None if (embed or error) else rng.choice(self.answers)
        out_tok = 0 if out_text is None else min(max_out, len(out_text) // 4 + 1)
        tool_calls: list[Any] = []
        raw: Any = None
        parsed: Any = out_text
        rid = str(
            uuid.UUID(
                int=(int(ts * 1000) << 80)
                | (0x7 << 76)
                | ((i & 0xFFF) << 64)
                | (0b10 << 62)
                | rng.getrandbits(62)
            )
        )
        if error is None:
            if (feature == "agent" and rng.random() < 0.7) or rng.random() < 0.04:
                tool_calls = [
                    {
                        "id": f"call_{rng.getrandbits(48):012x}",
                        "name": "lookup_order",
                        "arguments": {"order_id": str(rng.randint(10_000, 99_999))},
                    }
                ]
            if embed:
                parsed = {"count": 1, "dimensions": 1536}
                raw = {
                    "object": "list",
                    "model": model,
                    "data": [{"index": 0, "object": "embedding"}],
                    "usage": {"prompt_tokens": in_tok, "total_tokens": in_tok},
                }
            elif provider == "anthropic":
                content: list[Any] = [{"type": "text", "text": out_text}]
                content += [
                    {
                        "type": "tool_use",
                        "id": tc["id"],
                        "name": tc["name"],
                        "input": tc["arguments"],
                    }
                    for tc in tool_calls
                ]
                raw = {
                    "id": f"msg_{rng.getrandbits(64):016x}",
                    "type": "message",
                    "role": "assistant",
                    "model": f"{model}-20250929",
                    "content": content,
                    "stop_reason": "tool_use" if tool_calls else "end_turn",
                    "usage": {"input_tokens": in_tok, "output_tokens": out_tok},
                }
            else:
                msg: dict[str, Any] = {"role": "assistant", "content": out_text}
                if tool_calls:
                    msg["tool_calls"] = [
                        {
                            "id": tc["id"],
                            "type": "function",
                            "function": {
                                "name": tc["name"],
                                "arguments": orjson.dumps(tc["arguments"]).decode(),
                            },
                        }
                        for tc in tool_calls
                    ]
                raw = {
                    "id": f"chatcmpl-{rng.getrandbits(64):016x}",
                    "object": "chat.completion",
                    "created": int(ts),
                    "model": f"{model}-2025-04-14",
                    "choices": [
                        {
                            "index": 0,
                            "message": msg,
                            "finish_reason": "tool_calls" if tool_calls else "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": in_tok,
                        "completion_tokens": out_tok,
                        "total_tokens": in_tok + out_tok,
                    },
                }
        cost = (
            None
            if provider == "google" or error
            else round((in_tok * pin + out_tok * pout) / 1e6, 10)
        )
        tags = ["prod" if rng.random() < 0.9 else "staging"] + ([feature] if not embed else [])
        return {
            "event": "llm_interaction",
            "schema_version": 1,
            "request_id": rid,
            "trace_id": f"{rng.getrandbits(128):032x}",
            "span_id": f"{rng.getrandbits(64):016x}",
            "parent_span_id": None,
            "timestamp": ts,
            "duration_ms": duration,
            "ttft_ms": round(duration * rng.uniform(0.08, 0.35), 3) if stream else None,
            "provider": provider,
            "operation": "embeddings" if embed else "chat",
            "model": model,
            "response_model": raw.get("model") if isinstance(raw, dict) else None,
            "params": {}
            if embed
            else {
                "temperature": rng.choice([0, 0.2, 0.7]),
                "max_tokens": max_out,
                "stream": stream,
            },
            "prompt_messages": messages,
            "llm_raw_response": raw,
            "parsed_output": parsed,
            "tool_calls": tool_calls,
            "finish_reasons": [] if error or embed else ["tool_calls" if tool_calls else "stop"],
            "usage": {
                "input_tokens": in_tok,
                "output_tokens": None if error else out_tok,
                "total_tokens": None if error else in_tok + out_tok,
                "cached_input_tokens": None,
                "reasoning_tokens": None,
                "estimated": False,
            },
            "cost_usd": cost,
            "status": "error" if error else "ok",
            "error": error,
            "session_id": None if embed else session,
            "user_id": user,
            "tags": tags,
            "metadata": {
                "feature": feature,
                "tenant": f"t{zlib.crc32(user.encode()) % 60}",
                "app_version": rng.choice(["1.4.2", "1.4.3", "1.5.0"]),
            },
            "app": {
                "service": "support-bot",
                "environment": "prod",
                "version": "1.5.0",
                "host": f"web-{rng.randint(1, 6)}",
                "pid": 4000 + rng.randint(0, 50),
            },
            "redaction": {},
        }


def timestamps(n: int, end: float, seed: int) -> list[float]:
    """Return ``n`` sorted start times over the 30 days before ``end``, with a daily cycle."""
    rng = random.Random(seed)
    start = end - 30 * DAY
    hours = int(30 * DAY // 3600)
    weights = [1.0 + 0.8 * math.sin((h % 24 - 9) / 24 * 2 * math.pi) for h in range(hours)]
    total = sum(weights)
    out: list[float] = []
    for h, w in enumerate(weights):
        k = round(n * w / total) if h < hours - 1 else n - len(out)
        base = start + h * 3600
        out.extend(sorted(base + rng.random() * 3600 for _ in range(max(0, k))))
    return out[:n]


def _build_chunk(args: tuple[int, int, list[float], dict[int, str]]) -> list[bytes]:
    seed, first, stamps, rare = args
    gen = _worker_gen(seed)
    gen.rng.seed(seed * 1_000_003 + first)
    return [
        orjson.dumps(gen.record(first + k, ts, rare.get(first + k))) for k, ts in enumerate(stamps)
    ]


_GEN: Generator | None = None


def _worker_gen(seed: int) -> Generator:
    global _GEN
    if _GEN is None:
        _GEN = Generator(seed)
    return _GEN


def generate(
    path: Path, n: int, *, seed: int = 7, chunk: int = 5000, jsonl: Path | None = None
) -> float:
    """Write ``n`` interactions to a new store at ``path``; return seconds taken."""
    from llmlog.sinks.base import Entry
    from llmlog.store.sqlite.write import SQLiteSink

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    end = time.time()
    stamps = timestamps(n, end, seed)
    rng = random.Random(seed)
    rare: dict[int, str] = {}
    for word, count in RARE.items():
        for i in rng.sample(range(n), count):
            rare[i] = word
    jobs = [
        (seed, i, stamps[i : i + chunk], {k: v for k, v in rare.items() if i <= k < i + chunk})
        for i in range(0, n, chunk)
    ]
    sink = SQLiteSink(path)
    out = open(jsonl, "wb") if jsonl else None  # noqa: SIM115
    t0 = time.perf_counter()
    done = 0
    with multiprocessing.get_context("fork").Pool(1) as pool:
        for lines in pool.imap(_build_chunk, jobs):
            sink.write([Entry(orjson.loads(line), line) for line in lines])
            if out is not None:
                out.write(b"\n".join(lines) + b"\n")
            done += len(lines)
            if done % 100_000 < chunk:
                rate = done / (time.perf_counter() - t0)
                print(f"  generated {done:,} / {n:,} ({rate:,.0f}/s)", file=sys.stderr)
    sink.close()
    if out is not None:
        out.close()
    return time.perf_counter() - t0


# -- timing --------------------------------------------------------------------------------------


def median_ms(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Return (median, max) of ``runs`` timed calls in ms, after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


def cli_call(db: Path, *args: str) -> Callable[[], object]:
    from click.testing import CliRunner

    from llmlog.cli import cli

    runner = CliRunner()

    def call() -> object:
        result = runner.invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
        if result.exit_code != 0:
            raise RuntimeError(f"llmlog {' '.join(args)} failed: {result.output}")
        return result

    return call


def cycle(values: list[str]) -> Iterator[str]:
    """Repeat ``values`` forever."""
    while True:
        yield from values


def evict(db: Path) -> None:
    """Drop the store's pages from the OS page cache (only this file's: others are untouched)."""
    for suffix in ("", "-wal", "-shm"):
        p = Path(f"{db}{suffix}")
        if p.exists():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


Row = tuple[str, str, float, float, float, str]


def bench_reads(db: Path, runs: int, common: str, commonest: str) -> list[Row]:
    """Time the read operations; return (operation, command, api ms, cli ms, cold ms, note)."""
    from llmlog.store import Query, Store, open_store

    conn = sqlite3.connect(db)
    top = conn.execute("SELECT max(id) FROM interactions").fetchone()[0]
    rng = random.Random(5)
    ids = [
        conn.execute(
            "SELECT request_id FROM interactions WHERE id = ?", (rng.randint(1, top),)
        ).fetchone()[0]
        for _ in range(runs + 8)
    ]
    conn.close()
    rows: list[Row] = []
    store = open_store(db)
    api_ids, cli_ids = cycle(ids), cycle(ids[::-1])

    def both(
        name: str,
        command: list[str],
        op: Callable[[Store], object],
        note: str = "",
        cli: Callable[[], object] | None = None,
    ) -> None:
        a, _ = median_ms(lambda: op(store), runs)
        c, _ = median_ms(cli or cli_call(db, *command), runs)
        cold = []
        for _ in range(3):
            evict(db)
            t0 = time.perf_counter()
            with open_store(db) as fresh:
                op(fresh)
            cold.append((time.perf_counter() - t0) * 1000)
        rows.append((name, "llmlog " + " ".join(command), a, c, statistics.median(cold), note))
        print(
            f"  {name:<28} api {a:8.1f} ms   cli {c:8.1f} ms   cold {rows[-1][4]:8.1f} ms",
            file=sys.stderr,
        )

    def show(s: Store, rid: str) -> object:
        return s.get(rid), s.feedback(rid)

    day, week = DAY, 7 * DAY
    both(
        "show by id",
        ["show", "ID"],
        lambda s: show(s, next(api_ids)),
        cli=lambda: cli_call(db, "show", next(cli_ids))(),
    )
    rows[-1] = (*rows[-1][:5], "random ids")
    both(
        "search model + 24h window",
        ["search", "-m", "gpt-4o", "--since", "24h"],
        lambda s: s.search(Query(models=("gpt-4o",), since=time.time() - day), limit=20),
        note="first page, 20 rows",
    )
    both(
        "search status=error 7d",
        ["search", "--status", "error", "--since", "7d"],
        lambda s: s.search(Query(status="error", since=time.time() - week), limit=20),
    )
    both(
        "full text, 1 match",
        ["search", "quokkaberry"],
        lambda s: s.search(Query(text="quokkaberry"), limit=20),
    )
    both(
        "full text, 10 matches",
        ["search", "xylophonic"],
        lambda s: s.search(Query(text="xylophonic"), limit=20),
    )
    both(
        "full text, common word",
        ["search", common],
        lambda s: s.search(Query(text=common), limit=20),
        note=f"{common!r} is in ~1 in 6 interactions",
    )
    both(
        "full text, commonest word",
        ["search", commonest],
        lambda s: s.search(Query(text=commonest), limit=20),
        note=f"{commonest!r} is in ~9 in 10 interactions",
    )
    both(
        "full text + model + 7d",
        ["search", common, "-m", "gpt-4o", "--since", "7d"],
        lambda s: s.search(
            Query(text=common, models=("gpt-4o",), since=time.time() - week), limit=20
        ),
    )
    both(
        "phrase of common words",
        ["search", f'"{commonest} {common}"'],
        lambda s: s.search(Query(text=f'"{commonest} {common}"'), limit=20),
        note="words from the index, phrase checked in the records",
    )
    both("stats, all time", ["stats"], lambda s: s.stats())
    both("stats --by model", ["stats", "--by", "model"], lambda s: s.stats(by="model"))
    both("stats --by tag", ["stats", "--by", "tag"], lambda s: s.stats(by="tag"))
    both(
        "stats --since 7d --by day",
        ["stats", "--since", "7d", "--by", "day"],
        lambda s: s.stats(Query(since=time.time() - week), bucket="day"),
    )
    both(
        "stats --since 24h -m gpt-4o",
        ["stats", "--since", "24h", "-m", "gpt-4o"],
        lambda s: s.stats(Query(since=time.time() - day, models=("gpt-4o",))),
    )
    both(
        "stats --user U",
        ["stats", "--user", "u-00042"],
        lambda s: s.stats(Query(user_id="u-00042")),
        note="no rollup: the user's rows",
    )
    both("tail -n 10", ["tail", "-n", "10"], lambda s: s.tail(limit=10))
    store.close()
    return rows


ImportRow = tuple[str, float, float, float, float]


def bench_import(n: int, runs: int, seed: int = 99) -> list[ImportRow]:
    """Time ``llmlog import`` of llmlog JSONL and classic-snippet logs.

    Returns (input, lines/s, file MB, main-thread CPU µs/line, writer-thread CPU µs/line).
    """
    import llmlog

    work = OUT / "import"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    jsonl = work / "records.jsonl"
    gen = Generator(seed)
    stamps = timestamps(n, time.time() - 40 * DAY, seed)
    with open(jsonl, "wb") as f:
        for i, ts in enumerate(stamps):
            f.write(orjson.dumps(gen.record(i, ts, None)) + b"\n")
    classic = work / "classic.log"
    with open(classic, "w") as text:
        for ts in stamps:
            q = gen.rng.choice(gen.questions)
            a = gen.rng.choice(gen.answers)
            msgs = [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": q},
            ]
            raw = {"choices": [{"message": {"role": "assistant", "content": a}}]}
            asctime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
            text.write(
                f"{asctime},{int(ts % 1 * 1000):03d} - __main__ - INFO - "
                + orjson.dumps(
                    {
                        "event": "llm_interaction",
                        "request_id": str(uuid.uuid4()),
                        "model": "gpt-3.5-turbo",
                        "prompt_messages": msgs,
                        "llm_raw_response": raw,
                        "parsed_output": a,
                        "timestamp": ts,
                    }
                ).decode()
                + "\n"
            )
    results = []
    from llmlog import writing as _writing

    writer_cpu = [0.0]
    plain_run = _writing.StoreWriter._run

    def timed_run(self: Any) -> None:  # the background writer's CPU time
        t0 = time.thread_time()
        plain_run(self)
        writer_cpu[0] += time.thread_time() - t0

    _writing.StoreWriter._run = timed_run  # type: ignore[method-assign]
    for label, path in (("llmlog JSON lines", jsonl), ("classic-snippet log", classic)):
        for redact in (True, False):
            rates, mains, writers = [], [], []
            for _ in range(runs):
                db = work / "import.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                llmlog.reset()
                os.environ["LLMLOG_REDACT"] = "1" if redact else "0"
                writer_cpu[0] = 0.0
                c0, t0 = time.thread_time(), time.perf_counter()
                cli_call(db, "import", str(path))()
                rates.append(n / (time.perf_counter() - t0))
                mains.append((time.thread_time() - c0) / n * 1e6)
                writers.append(writer_cpu[0] / n * 1e6)
            os.environ.pop("LLMLOG_REDACT", None)
            rate, main_us, writer_us = (statistics.median(x) for x in (rates, mains, writers))
            mb = path.stat().st_size / 1e6
            name = f"{label}, redaction {'on' if redact else 'off'}"
            results.append((name, rate, mb, main_us, writer_us))
            print(
                f"  import {name:<40} {rate:9,.0f} lines/s  (CPU/line: main {main_us:.0f} us,"
                f" writer {writer_us:.0f} us)",
                file=sys.stderr,
            )
    _writing.StoreWriter._run = plain_run  # type: ignore[method-assign]
    return results


def subprocess_show(db: Path, rid: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            [shutil.which("llmlog") or "llmlog", "--db", str(db), "show", rid],
            check=True,
            capture_output=True,
        )
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--regen", action="store_true")
    ap.add_argument("--import-n", type=int, default=50_000)
    ap.add_argument("--import-runs", type=int, default=3)
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    db = OUT / f"store-{args.n}.db"
    jsonl = OUT / f"store-{args.n}.jsonl"
    gen_s = None
    if args.regen or not db.exists():
        print(f"generating {args.n:,} interactions into {db}", file=sys.stderr)
        gen_s = generate(db, args.n, jsonl=jsonl)
        print(f"  done in {gen_s:.0f} s", file=sys.stderr)
    conn = sqlite3.connect(db)
    n = conn.execute("SELECT count(*) FROM interactions").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rid = conn.execute("SELECT request_id FROM interactions WHERE id = ?", (n // 2,)).fetchone()[0]
    conn.close()
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
    jsonl_size = jsonl.stat().st_size if jsonl.exists() else None
    print(
        f"store: {n:,} interactions, {size / 1e9:.2f} GB ({size / n:,.0f} B each); "
        f"JSON lines {jsonl_size / n if jsonl_size else float('nan'):,.0f} B each",
        file=sys.stderr,
    )
    top = Generator(0).top_words
    reads = bench_reads(db, args.runs, top[100], top[0])
    cold = subprocess_show(db, rid, 3)
    print(f"  llmlog show in a new process: {cold:.0f} ms", file=sys.stderr)
    imports = [] if args.skip_import else bench_import(args.import_n, args.import_runs)
    report = render(n, size, jsonl_size, gen_s, reads, cold, imports, args)
    print(report)
    if args.write_readme:
        write_readme(report)


def render(
    n: int,
    size: int,
    jsonl_size: int | None,
    gen_s: float | None,
    reads: list[Row],
    cold: float,
    imports: list[ImportRow],
    args: argparse.Namespace,
) -> str:
    import platform

    lines = [
        f"Store: {n:,} interactions, {size / 1e9:.2f} GB on disk = **{size / n:,.0f} bytes per "
        "interaction** (rows with the full record JSON, indexes, full-text index, tags, rollups)"
        + (
            f", against **{jsonl_size / n:,.0f} bytes** per interaction as JSON lines "
            f"({size / jsonl_size:.2f}x)"
            if jsonl_size
            else ""
        )
        + ".",
    ]
    if gen_s:
        lines.append(
            f"Generated in {gen_s:.0f} s ({n / gen_s:,.0f} interactions/s through "
            "`SQLiteSink.write`)."
        )
    lines += [
        "",
        f"Median of {args.runs} runs after a warm-up, warm page cache, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}. *query API* is the `llmlog.store` call; *CLI* is the "
        "command run in-process (parse, open the store, query, render) without interpreter "
        f"start-up (a whole `llmlog show` process takes {cold:.0f} ms, nearly all of it "
        "Python starting and importing); *cold* opens the store and runs the query after "
        "dropping the store file from the OS page cache (median of 3).",
        "",
        "| operation | command | query API | CLI | cold | target | note |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    targets = {
        "show by id": "< 50 ms",
        "search model + 24h window": "< 100 ms",
        "full text, 1 match": "< 300 ms",
        "full text, 10 matches": "< 300 ms",
        "stats, all time": "< 1 s",
        "stats --by model": "< 1 s",
    }
    for name, command, api, cli, cold_ms, note in reads:
        lines.append(
            f"| {name} | `{command}` | {api:,.1f} ms | {cli:,.1f} ms | "
            f"{cold_ms:,.0f} ms | {targets.get(name, '')} | {note} |"
        )
    if imports:
        lines += [
            "",
            f"`llmlog import` into a fresh store, {args.import_n:,} lines, median of "
            f"{args.import_runs} (target ≥ 20,000 lines/s). The main thread reads, parses and "
            "runs the pipeline's processing (record building, redaction); a second thread "
            "writes through `SQLiteSink` (SQLite releases the GIL, so the two overlap). "
            "Because the wall-clock rate depends on what else runs on the machine (load "
            f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end of this "
            "run), each thread's CPU time per line is shown too: with a core each, the "
            "rate is bounded by 1 / max(main, writer).",
            "",
            "| input | lines/s | main thread CPU/line | writer thread CPU/line | 1 / max | file |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, rate, mb, main_us, writer_us in imports:
            lines.append(
                f"| {name} | {rate:,.0f} | {main_us:.0f} µs | {writer_us:.0f} µs | "
                f"{1e6 / max(main_us, writer_us):,.0f}/s | {mb:.0f} MB |"
            )
    lines += [
        "",
        "How the reads stay fast, and where they would not:",
        "",
        "* `show` and filtered `search` walk an index (`request_id`; `(model, ts)`, "
        "`(status, ts)`, `ts`) with a keyset cursor: the cost is the page, not the store.",
        "* Full text reads the FTS5 index's matches newest row first, in growing chunks, "
        "and stops once one indexed lookup shows no unread row can be newer than the "
        "page's last; a rare and a very common word both cost a chunk or two. Phrases "
        "are checked in the matching records, so they cost a record parse per candidate.",
        "* `stats` reads the per-hour rollup for sums and the per-day (or per-hour) "
        "latency histograms, plus the rows of the partial hours at the window's edges; "
        "filters the rollup does not carry (user, session, metadata, scores, text, "
        "several tags) aggregate the matching rows, so their cost grows with the "
        "matches (a metadata filter parses each candidate's JSON).",
        "* Writes pay for the rollup: a batch is aggregated in Python and upserted "
        "in a few multi-row statements inside the sink's transaction.",
        "",
    ]
    if imports:
        by = {name: (main_us, writer_us) for name, _, _, main_us, writer_us in imports}
        rec_on = by.get("llmlog JSON lines, redaction on", (0.0, 0.0))
        rec_off = by.get("llmlog JSON lines, redaction off", (0.0, 0.0))
        cls_off = by.get("classic-snippet log, redaction off", (0.0, 0.0))
        best = max(r for _, r, _, _, _ in imports)
        verdict = "meets" if best >= 20_000 else "is below"
        lines += [
            f"Import {verdict} its target here. Its two halves were measured apart: the writer "
            "thread is `SQLiteSink.write` (the record with its indexes, full-text entry, tags "
            f"and rollups: {rec_off[1]:.0f} µs for a 2.3 KB llmlog record, {cls_off[1]:.0f} µs "
            "for a classic-snippet line), the main thread parsing plus the pipeline's "
            "processing, where redaction adds "
            f"{rec_on[0] - rec_off[0]:.0f} µs for a 2.3 KB record. With a core per thread the "
            "rate is bounded near the *1 / max* column. More than two threads would be needed "
            "beyond it: redaction in worker processes (it parallelises; the single writer then "
            f"bounds llmlog records near {1e6 / max(rec_off[1], 1):,.0f} lines/s), and a bulk "
            "path in the sink (e.g. building the full-text entries and secondary indexes after "
            "loading)."
        ]
    return "\n".join(lines)


BEGIN, END = "<!-- bench/store.py: begin -->", "<!-- bench/store.py: end -->"


def write_readme(report: str) -> None:
    """Replace this benchmark's section of bench/README.md (other sections are kept)."""
    path = HERE / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{BEGIN}\n## Reading a 1M-interaction store (`bench/store.py`)\n\n{report}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
