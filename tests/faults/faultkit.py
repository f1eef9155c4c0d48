"""Helpers for the fault-injection suite: test data, sinks that fail on cue, store readers."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

import llmlog
from llmlog.collector.handoff import running
from llmlog.sinks.base import Entry

MSGS = [{"role": "user", "content": "What is the capital of France?"}]
RESP: dict[str, Any] = {
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Paris."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
}

CALL_BOUND_S = 2.0
"""No logging call may take longer than this, whatever the fault. Loose on purpose: it
catches a call that waits on a sink (a hang), not a slowdown (bench/ measures those)."""

PG_DSN = os.environ.get("LLMLOG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def log_many(n: int, **fields: Any) -> list[str]:
    """Log ``n`` interactions; assert each call returned fast; return their request ids."""
    ids = []
    slowest = 0.0
    for _ in range(n):
        t0 = time.perf_counter()
        ids.append(llmlog.log_interaction(MSGS, RESP, model="gpt-4o-mini", **fields))
        slowest = max(slowest, time.perf_counter() - t0)
    assert slowest < CALL_BOUND_S, f"a logging call took {slowest:.3f}s"
    return ids


def sqlite_ids(path: str | Path = "llmlog.db") -> list[str]:
    """Return the request ids stored in an SQLite store (duplicates kept, to catch them)."""
    if not Path(path).exists():
        return []
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT request_id FROM interactions")]
    except sqlite3.OperationalError:  # created, not yet migrated
        return []
    finally:
        db.close()


def spool_lines(directory: Path) -> list[dict[str, Any]]:
    """Return every record waiting in a spool directory (all its files)."""
    out = []
    if not directory.exists():
        return out
    for f in sorted(directory.iterdir()):
        if f.name.endswith((".jsonl", ".jsonl.claimed")):
            out += [orjson.loads(ln) for ln in f.read_bytes().splitlines() if ln.strip()]
    return out


def wait_until(check: Any, timeout: float = 20.0, interval: float = 0.05) -> bool:
    """Poll ``check()`` until it is true or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return bool(value)
        time.sleep(interval)


class RecordingSink:
    """A sink that keeps what it was given and fails as told.

    ``fail`` makes every write raise ``ConnectionError`` (the destination is down);
    ``reject`` is a predicate on a record that makes a batch containing it raise
    ``ValueError`` (the destination refuses that record, as a store refuses bad data).
    """

    def __init__(self, name: str = "recording", spool_dir: Path | None = None) -> None:
        self.name = name
        if spool_dir is not None:
            self.spool_dir = spool_dir
        self.fail = False
        self.reject: Any = None
        self.ids: list[str] = []
        self.feedback: list[dict[str, Any]] = []
        self.writes = 0
        self._lock = threading.Lock()

    def write(self, batch: Sequence[Entry]) -> None:
        with self._lock:
            self.writes += 1
            if self.fail:
                raise ConnectionError("destination down")
            if self.reject is not None and any(self.reject(e.rec) for e in batch):
                raise ValueError("destination refused a record")
            for e in batch:
                if e.get("event") == "llm_feedback":
                    self.feedback.append(e.rec)
                else:
                    self.ids.append(e.get("request_id"))

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


class HungSink:
    """A sink whose ``write`` never returns (until the test releases it)."""

    name = "hung"

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = spool_dir
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, batch: Sequence[Entry]) -> None:
        self.entered.set()
        self.release.wait()

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


PRELUDE = """
import os, sys, time, llmlog
MSGS = [{"role": "user", "content": "hello"}]
RESP = {"object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
"""


def run_script(
    code: str, *, timeout: float = 120, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (after :data:`PRELUDE`) as a script in a fresh process, in the test's folder.

    The script is a file (``app.py``), so ``multiprocessing`` with spawn can import it.
    """
    script = Path(f"app_{uuid.uuid4().hex[:8]}.py")
    script.write_text(PRELUDE + textwrap.dedent(code))
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def pg_rows(url: str, query: str) -> list[tuple[Any, ...]]:
    """Run ``query`` against the store's schema (``{s}`` stands for it)."""
    import psycopg

    conninfo, schema = url.split("?schema=")
    with psycopg.connect(conninfo) as db:
        return db.execute(query.replace("{s}", f'"{schema}"')).fetchall()


def collector_pids() -> list[int]:
    """The PIDs of the collectors that answer in this test's LLMLOG_HOME."""
    return [int(reply["pid"]) for reply in running()]


def with_signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def gone(pid: int) -> None:
    """Wait until process ``pid`` has ended, every thread of it."""
    try:
        os.waitpid(pid, 0)  # started by this process (on demand)
    except ChildProcessError:
        assert wait_until(lambda: not Path(f"/proc/{pid}/task").exists(), timeout=30)
