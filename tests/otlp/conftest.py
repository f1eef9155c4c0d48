"""Fixtures for OTLP ingest: ``llmlog collect`` as a real process, apps exporting to it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "capture"))

from fake_llm import FakeLLMServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Collect:
    """A running ``llmlog collect`` with OTLP on ``url``, writing the SQLite store ``db``."""

    proc: subprocess.Popen[str]
    url: str
    db: Path
    env: dict[str, str]

    def stop(self) -> str:
        """SIGTERM (it writes what it received first); return its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _out, err = self.proc.communicate(timeout=60)
        return err

    def records(self) -> list[dict]:
        from llmlog.store import open_store

        with open_store(str(self.db)) as store:
            return list(reversed(store.search(limit=1000).records))

    def status(self) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "llmlog.cli", "collect", "--status"],
            env=self.env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return out.stdout


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    srv = FakeLLMServer().start()
    yield srv
    srv.stop()


@pytest.fixture()
def collect(tmp_path: Path) -> Iterator[Collect]:
    """``llmlog collect --otlp 127.0.0.1:<free port>`` on a fresh store, stopped after."""
    home = Path(tempfile.mkdtemp(prefix="llo"))
    db = tmp_path / "otlp.db"
    env = {**os.environ, "LLMLOG_HOME": str(home), "LLMLOG_DB": str(db), "LLMLOG_COLLECTOR": "auto"}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmlog.cli", "collect", "--otlp", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"llmlog collect exited: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.05)
    c = Collect(proc, f"http://127.0.0.1:{port}", db, env)
    try:
        yield c
    finally:
        c.stop()
        shutil.rmtree(home, ignore_errors=True)
