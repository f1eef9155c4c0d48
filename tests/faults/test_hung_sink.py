"""Fault 3: a slow or hung sink never delays another sink or the exit beyond exit_timeout.

What the hung sink did not take waits in its spool.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import HungSink, log_many, run_script, spool_lines, sqlite_ids, wait_until

import llmlog


class TestHungSink:
    def test_healthy_sink_beside_a_hung_one_gets_everything(self, tmp_path: Path) -> None:
        """30,000 records: SQLite gets all of them while the other sink never returns."""
        hung = HungSink(tmp_path / "hung-spool")
        try:
            llmlog.configure(sinks=[hung], exit_timeout=2)
            ids = log_many(30_000)
            assert wait_until(lambda: len(sqlite_ids()) == 30_000, timeout=60)
            assert sorted(sqlite_ids()) == sorted(ids)
            t0 = time.monotonic()
            assert llmlog.flush(1) is False  # the hung sink cannot be flushed: said, not hidden
            assert time.monotonic() - t0 < 3
        finally:
            hung.release.set()

    def test_close_returns_within_exit_timeout_and_spools_the_rest(self, tmp_path: Path) -> None:
        """close() gives up on the hung sink at the deadline; its records wait in its spool."""
        hung = HungSink(tmp_path / "hung-spool")
        try:
            llmlog.configure(db="off", sinks=[hung], exit_timeout=1)
            ids = log_many(2000)
            assert hung.entered.wait(10)
            t0 = time.monotonic()
            llmlog.shutdown(1)
            assert time.monotonic() - t0 < 2.5
            waiting = {r["request_id"] for r in spool_lines(tmp_path / "hung-spool")}
            assert waiting == set(ids)  # the batch inside the hung write included
        finally:
            hung.release.set()

    def test_process_with_a_hung_sink_exits_in_time(self) -> None:
        """A real process whose sink hangs exits within exit_timeout, SQLite complete."""
        t0 = time.monotonic()
        run_script(
            """
            import threading
            class Hung:
                name = "hung"
                spool_dir = "hung-spool"
                def write(self, batch): threading.Event().wait()
                def flush(self, timeout=None): pass
                def close(self, timeout=None): pass
            llmlog.configure(sinks=[Hung()], exit_timeout=2)
            for _ in range(1000):
                llmlog.log_interaction(MSGS, RESP)
            """
        )
        assert time.monotonic() - t0 < 12
        assert len(sqlite_ids()) == 1000
        assert len(spool_lines(Path("hung-spool"))) == 1000


@pytest.fixture()
def black_hole() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    for c in conns:
        c.close()
    srv.close()


class TestBlackHoledOtlp:
    def test_exit_within_budget_with_a_black_holed_collector(self, black_hole: int) -> None:
        """OTLP export to an endpoint that never answers: exit takes exit_timeout, not 10 s+."""
        pytest.importorskip("opentelemetry.sdk")
        t0 = time.monotonic()
        run_script(
            """
            llmlog.configure(otel=True, exit_timeout=3)
            for _ in range(200):
                llmlog.log_interaction(MSGS, RESP)
            """,
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{black_hole}",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "30",
            },
        )
        elapsed = time.monotonic() - t0
        assert elapsed < 3 + 4, f"exit took {elapsed:.1f}s"
        assert len(sqlite_ids()) == 200
