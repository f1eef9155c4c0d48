"""What logging an interaction costs the app: llmlog against the classic snippet, in one run.

Run by hand (it prints a table; nothing is asserted):

    python bench/overhead.py            # full run, a few minutes
    python bench/overhead.py --quick    # smaller N, for a smoke check

Every candidate runs in a fresh subprocess on the same ~2 KB chat interaction
(system + user message, an OpenAI chat.completion dict with usage, parsed text):

  classic       logger.info(json.dumps({...})) to a FileHandler, synchronous
  classic+queue the same behind QueueHandler / QueueListener
  orjson-file   orjson.dumps appended to a buffered file (a near-limit baseline)
  llmlog-sqlite llmlog to SQLite (FTS index kept current), in-process writer
                (collector="off"), redaction off / on
  llmlog-jsonl  llmlog to JSON lines only (LLMLOG_DB=off), in-process, redaction off / on
  llmlog-collector  llmlog to SQLite through the collector the first call starts (the
                DEFAULT configuration with +redact; it redacts and writes), redaction off / on

Figures per candidate:
  caller p50/p99  time inside the logging call on the app's thread (µs)
  app-thread      (wall time of an app loop that logs - the same loop logging
                  nothing) / N (µs): includes the GIL time a background writer
                  takes from the app, which the caller figure hides. The app loop
                  does ~50 µs of pure-Python work per interaction, like a real app
                  building requests and handling responses.
  durable rate    interactions/s from the first call until all are written and
                  flushed, for a burst with no app work in between
  loss            records missing after a normal exit without flush(), after
                  os._exit(0) right after a burst, after SIGTERM (default handler)
                  right after 1,000 calls, and of the calls that had returned when
                  SIGKILL came 0.3 s into a burst of 50,000
  RSS growth      peak resident memory growth for bursts of 20,000 and 200,000
  first call      the first logging call of a fresh process, after import and
                  configure() (ms; for llmlog-collector no collector runs yet: it
                  starts one)
  8 workers       8 processes logging N/8 each into one store at once: aggregate
                  durable rate, and records lost
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful assistant for ACME Corp. Answer concisely "
        "and cite the relevant section of the returns policy when it applies. " * 3,
    },
    {
        "role": "user",
        "content": "Hi, I ordered a blender last week (order 88231) and it arrived "
        "broken. Can I get a refund or a replacement? What is your policy on damaged items? " * 3,
    },
]
PARSED = (
    "I'm sorry to hear that. Under section 4.2 of our returns policy, damaged items can be "
    "refunded or replaced within 30 days of delivery. " * 3
)
RESPONSE = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1732636800,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": PARSED},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 120, "completion_tokens": 60, "total_tokens": 180},
    "system_fingerprint": "fp_44709d6fcb",
}
MODEL = "gpt-4o-mini"
APP_WORK = 420  # iterations of the fake app work: about 50 µs on this machine

CANDIDATES = [
    "classic",
    "classic+queue",
    "orjson-file",
    "llmlog-sqlite",
    "llmlog-sqlite+redact",
    "llmlog-jsonl",
    "llmlog-jsonl+redact",
    "llmlog-collector",
    "llmlog-collector+redact",
]


# -- the child: one candidate, one mode ----------------------------------------------------------


def app_work() -> int:
    x = 0
    for i in range(APP_WORK):
        x += i * i
    return x


def setup(candidate: str, d: Path) -> tuple[Any, Any]:
    """Return (log_one, finish) for a candidate writing under ``d``."""
    if candidate.startswith("classic"):
        import logging
        import logging.handlers

        logger = logging.getLogger("classic")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        fh = logging.FileHandler(d / "classic.log")
        fh.setFormatter(logging.Formatter("%(message)s"))
        listener = None
        if candidate == "classic+queue":
            import queue

            q: queue.Queue[Any] = queue.Queue()
            listener = logging.handlers.QueueListener(q, fh)
            listener.start()
            logger.addHandler(logging.handlers.QueueHandler(q))
        else:
            logger.addHandler(fh)

        def log_one() -> None:
            logger.info(
                json.dumps(
                    {
                        "event": "llm_interaction",
                        "request_id": str(uuid.uuid4()),
                        "model": MODEL,
                        "prompt_messages": MESSAGES,
                        "llm_raw_response": RESPONSE,
                        "parsed_output": PARSED,
                        "timestamp": time.time(),
                    }
                )
            )

        def finish() -> None:
            if listener is not None:
                listener.stop()  # drains the queue
                listener.start()
            fh.flush()

        return log_one, finish
    if candidate == "orjson-file":
        import orjson

        f = open(d / "orjson.jsonl", "ab", buffering=1 << 16)  # noqa: SIM115

        def log_one() -> None:
            f.write(
                orjson.dumps(
                    {
                        "event": "llm_interaction",
                        "request_id": str(uuid.uuid4()),
                        "model": MODEL,
                        "prompt_messages": MESSAGES,
                        "llm_raw_response": RESPONSE,
                        "parsed_output": PARSED,
                        "timestamp": time.time(),
                    }
                )
                + b"\n"
            )

        def finish() -> None:
            f.flush()

        return log_one, finish
    import llmlog

    redact = candidate.endswith("+redact")
    if candidate.startswith("llmlog-collector"):
        llmlog.configure(db=str(d / "llmlog.db"), redact=redact)  # collector on demand
    elif candidate.startswith("llmlog-sqlite"):
        llmlog.configure(db=str(d / "llmlog.db"), redact=redact, collector="off")
    else:
        llmlog.configure(
            db="off",
            jsonl=str(d / "llmlog.jsonl"),
            redact=redact,
            jsonl_max_bytes=0,
            collector="off",
        )

    def log_one() -> None:
        llmlog.log_interaction(MESSAGES, RESPONSE, parsed_output=PARSED, model=MODEL)

    def finish() -> None:
        llmlog.flush()

    return log_one, finish


def count_records(candidate: str, d: Path) -> int:
    if candidate.startswith("classic"):
        p = d / "classic.log"
    elif candidate == "orjson-file":
        p = d / "orjson.jsonl"
    elif candidate.startswith(("llmlog-sqlite", "llmlog-collector")):
        p = d / "llmlog.db"
        if not p.exists():
            return 0
        db = sqlite3.connect(p)
        try:
            return int(db.execute("SELECT count(*) FROM interactions").fetchone()[0])
        finally:
            db.close()
    else:
        p = d / "llmlog.jsonl"
    if not p.exists():
        return 0
    with open(p, "rb") as f:
        return sum(1 for _ in f)


def _worker(candidate: str, n: int, d: str) -> None:
    log_one, finish = setup(candidate, Path(d))
    for _ in range(n):
        log_one()
    finish()


def child(candidate: str, mode: str, n: int, d: Path) -> dict[str, Any]:
    if mode == "first":
        t_import = time.perf_counter()
        log_one, finish = setup(candidate, d)
        t0 = time.perf_counter()
        log_one()
        first = time.perf_counter() - t0
        t1 = time.perf_counter()
        log_one()
        second = time.perf_counter() - t1
        finish()
        return {"first_ms": first * 1000, "second_us": second * 1e6, "setup_s": t0 - t_import}
    if mode == "workers8":
        import multiprocessing as mp

        t0 = time.perf_counter()
        procs = [
            mp.get_context("spawn").Process(target=_worker, args=(candidate, n // 8, str(d)))
            for _ in range(8)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        return {"rate": (n // 8) * 8 / (time.perf_counter() - t0)}
    log_one, finish = setup(candidate, d)
    for _ in range(200):  # warm up: imports, first connection, caches
        log_one()
    finish()
    if mode == "app":
        t0 = time.perf_counter()
        for _ in range(n):
            app_work()
        base = time.perf_counter() - t0
        samples = []
        pc = time.perf_counter_ns
        t0 = time.perf_counter()
        for _ in range(n):
            app_work()
            a = pc()
            log_one()
            samples.append(pc() - a)
        loop = time.perf_counter() - t0
        finish()
        samples.sort()
        return {
            "caller_p50": samples[n // 2] / 1000,
            "caller_p99": samples[int(n * 0.99)] / 1000,
            "loop_s": loop,
            "base_s": base,
        }
    if mode == "rate":
        t0 = time.perf_counter()
        for _ in range(n):
            log_one()
        finish()
        return {"rate": n / (time.perf_counter() - t0)}
    if mode == "rss":
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(n):
            log_one()
        finish()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {"rss_mb": (after - before) / 1024}
    if mode == "exit":
        for _ in range(n):
            log_one()
        return {}  # normal interpreter exit, no flush
    if mode == "osexit":
        for _ in range(n):
            log_one()
        sys.stdout.flush()
        os._exit(0)
    if mode == "sigterm":  # Python's default handler, as Docker, Kubernetes, systemd stop it
        for _ in range(n):
            log_one()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    if mode == "sigkill":  # killed 0.3 s into a burst of n; the count of calls that returned
        import mmap
        import struct
        import threading

        fd = os.open(d / "returned", os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, 8)
        counter = mmap.mmap(fd, 8)
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGKILL)).start()
        for i in range(n):
            log_one()
            struct.pack_into("q", counter, 0, i + 1)
        time.sleep(30)
    raise SystemExit(f"unknown mode {mode}")


# -- the parent: run every candidate, print the table --------------------------------------------


def run_child(candidate: str, mode: str, n: int) -> tuple[dict[str, Any], int]:
    d = Path(tempfile.mkdtemp(prefix="llmlog-bench-"))
    env = {**os.environ, "LLMLOG_HOME": str(d / "home")}
    env.pop("LLMLOG_RAISE_ERRORS", None)
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", candidate, mode, str(n), str(d)],
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
        )
        killed = {"sigterm": -signal.SIGTERM, "sigkill": -signal.SIGKILL}.get(mode, 0)
        if proc.returncode != killed:
            raise RuntimeError(f"{candidate}/{mode} failed:\n{proc.stderr}")
        out = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
        if mode == "sigkill":
            out["returned"] = int.from_bytes((d / "returned").read_bytes()[:8], "little")
        pids = _collector_pids(d / "home")
        if pids:
            out["collector_rss_mb"] = max(_peak_rss_mb(pid) for pid in pids)
        for pid in pids:  # SIGTERM: it writes everything it received, then exits
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            while Path(f"/proc/{pid}/task").exists() and _state(pid) != "Z":
                time.sleep(0.05)
        warmup = 0 if mode in ("first", "workers8") else 200
        return out, count_records(candidate, d) - warmup
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _collector_pids(home: Path) -> list[int]:
    """The collectors started for a run (on demand, by its first call)."""
    from llmlog.collector.handoff import running

    return [int(reply["pid"]) for reply in running(folder=home / "collector")]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return "Z"


def _peak_rss_mb(pid: int) -> float:
    """Return a process's peak resident memory (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller N (smoke check)")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    ap.add_argument("--only", nargs="*", help="candidates to run")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        cand, mode, n, d = args.child
        print(json.dumps(child(cand, mode, int(n), Path(d))))
        return
    n_app = 5_000 if args.quick else 20_000
    bursts = (2_000, 20_000) if args.quick else (20_000, 200_000)
    runs = 1 if args.quick else args.runs
    cands = args.only or CANDIDATES
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; N={n_app} per app loop, "
        f"median of {runs} run(s); bursts {bursts}"
    )
    results: dict[str, dict[str, Any]] = {}
    for cand in cands:
        r: dict[str, Any] = {}
        apps = [run_child(cand, "app", n_app)[0] for _ in range(runs)]
        r["caller_p50"] = statistics.median(a["caller_p50"] for a in apps)
        r["caller_p99"] = statistics.median(a["caller_p99"] for a in apps)
        r["app_us"] = statistics.median((a["loop_s"] - a["base_s"]) / n_app * 1e6 for a in apps)
        r["rate"] = statistics.median(
            run_child(cand, "rate", n_app)[0]["rate"] for _ in range(runs)
        )
        _, got = run_child(cand, "exit", 500)
        r["loss_exit"] = 500 - got
        _, got = run_child(cand, "osexit", 5_000)
        r["loss_osexit"] = 5_000 - got
        _, got = run_child(cand, "sigterm", 1_000)
        r["loss_sigterm"] = 1_000 - got
        out, got = run_child(cand, "sigkill", 50_000)
        r["loss_sigkill"] = f"{out['returned'] - got}/{out['returned']}"
        firsts = [run_child(cand, "first", 0)[0] for _ in range(max(runs, 3))]
        r["first_ms"] = statistics.median(f["first_ms"] for f in firsts)
        out, got = run_child(cand, "workers8", n_app * 2)
        r["rate8"] = out["rate"]
        r["lost8"] = (n_app * 2 // 8) * 8 - got
        for b in bursts:
            out, got = run_child(cand, "rss", b)
            r[f"rss_{b}"] = out["rss_mb"]
            r[f"lost_{b}"] = b - got
            if "collector_rss_mb" in out:
                r["collector_rss"] = max(r.get("collector_rss", 0.0), out["collector_rss_mb"])
        results[cand] = r
        print(f"  done {cand}", file=sys.stderr)
    base = results.get("classic")
    hdr = (
        f"{'candidate':22} {'caller p50':>10} {'p99':>7} {'x(a)':>5} {'app-thread':>10} "
        f"{'x(a)':>5} {'durable/s':>10} {'x(a)':>5} {'lost exit':>9} {'lost _exit':>10} "
        + " ".join(f"{'RSS+' + str(b // 1000) + 'k':>8} {'lost':>5}" for b in bursts)
    )
    print(hdr)
    for cand, r in results.items():

        def ratio(key: str, r: dict[str, Any] = r) -> str:
            return f"{r[key] / base[key]:.2f}" if base and base[key] else "  -"

        print(
            f"{cand:22} {r['caller_p50']:>8.2f}µs {r['caller_p99']:>6.1f} {ratio('caller_p50'):>5}"
            f" {r['app_us']:>8.2f}µs {ratio('app_us'):>5} {r['rate']:>10,.0f}"
            f" {ratio('rate'):>5} {r['loss_exit']:>9} {r['loss_osexit']:>10} "
            + " ".join(f"{r[f'rss_{b}']:>6.1f}MB {r[f'lost_{b}']:>5}" for b in bursts)
        )
    print(f"\n{'candidate':22} {'lost at SIGTERM':>15} {'lost at SIGKILL mid-burst':>26}")
    for cand, r in results.items():
        print(f"{cand:22} {r['loss_sigterm']:>10} of 1000 {r['loss_sigkill']:>26}")
    print(f"\n{'candidate':22} {'first call':>10} {'8 workers/s':>12} {'x(a)':>5} {'lost':>5}")
    for cand, r in results.items():
        x8 = f"{r['rate8'] / base['rate8']:.2f}" if base else "  -"
        print(f"{cand:22} {r['first_ms']:>8.2f}ms {r['rate8']:>12,.0f} {x8:>5} {r['lost8']:>5}")
    for cand, r in results.items():
        if "collector_rss" in r:
            print(f"{cand}: the collector's peak RSS {r['collector_rss']:.1f} MB")


if __name__ == "__main__":
    main()
