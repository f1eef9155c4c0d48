"""Process deaths with a collector: what ``log_interaction`` returned for is in the store.

``llmlog collect`` runs as a sidecar for the test's store; the apps find it through the
socket in ``LLMLOG_HOME`` and hand each record over. These are the cases the in-process
writer cannot survive: ``os._exit``, ``SIGKILL``, ``SIGTERM`` with Python's default
handler, ``Pool.terminate()``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from faultkit import run_script, sqlite_ids, wait_until

import llmlog
from llmlog.cli import cli
from llmlog.collector import socket_path


class Sidecar:
    """``llmlog collect`` in a process of its own, stopped by its PID."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Sidecar:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llmlog.cli", "collect"],
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert wait_until(lambda: self.status() is not None, timeout=20), self.output()
        return self

    def status(self) -> dict[str, object] | None:
        result = CliRunner().invoke(cli, ["collect", "--status"])
        if result.exit_code != 0:
            return None
        return dict(line.split(None, 1) for line in result.output.strip().splitlines())

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(60)

    def output(self) -> str:
        if self.proc is None or self.proc.poll() is None:
            return ""
        out, err = self.proc.communicate()
        return out + err


@pytest.fixture()
def sidecar(tmp_path: Path) -> Iterator[Sidecar]:
    s = Sidecar(tmp_path).start()
    try:
        yield s
    finally:
        s.stop()


def _stored_after_stop(sidecar: Sidecar, expected: int) -> list[str]:
    """Stop the collector (it writes what it received), then read the store."""
    wait_until(lambda: len(sqlite_ids()) >= expected, timeout=30)
    sidecar.stop()
    return sqlite_ids()


class TestProcessDeaths:
    def test_os_exit_right_after_3000_calls(self, sidecar: Sidecar) -> None:
        """os._exit(0) right after 3,000 calls: 3,000 kept (0 without a collector)."""
        run_script(
            """
            ids = [llmlog.log_interaction(MSGS, RESP) for _ in range(3000)]
            assert llmlog.stats()["path"] == "collector", llmlog.stats()
            open("ids.txt", "w").write("\\n".join(ids))
            os._exit(0)
            """
        )
        ids = Path("ids.txt").read_text().split()
        assert sorted(_stored_after_stop(sidecar, 3000)) == sorted(ids)

    def test_sigkill_right_after_a_burst(self, sidecar: Sidecar) -> None:
        """SIGKILL right after 2,000 calls returned: all 2,000 kept."""
        proc = run_script(
            """
            import signal
            ids = [llmlog.log_interaction(MSGS, RESP) for _ in range(2000)]
            open("ids.txt", "w").write("\\n".join(ids))
            os.kill(os.getpid(), signal.SIGKILL)
            """,
            check=False,
        )
        assert proc.returncode == -signal.SIGKILL
        ids = Path("ids.txt").read_text().split()
        assert sorted(_stored_after_stop(sidecar, 2000)) == sorted(ids)

    def test_sigterm_with_the_default_handler(self, sidecar: Sidecar) -> None:
        """SIGTERM (how Docker, Kubernetes and systemd stop a process) after 1,000 calls."""
        proc = run_script(
            """
            import signal
            ids = [llmlog.log_interaction(MSGS, RESP) for _ in range(1000)]
            open("ids.txt", "w").write("\\n".join(ids))
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)
            """,
            check=False,
        )
        assert proc.returncode == -signal.SIGTERM
        ids = Path("ids.txt").read_text().split()
        assert sorted(_stored_after_stop(sidecar, 1000)) == sorted(ids)

    @pytest.mark.parametrize("method", ["fork", "spawn"])
    def test_pool_terminate(self, sidecar: Sidecar, method: str) -> None:
        """``with Pool(4)`` terminates its workers: every record they returned for is kept."""
        run_script(
            f"""
            import multiprocessing as mp
            def work(n):
                return [llmlog.log_interaction(MSGS, RESP) for _ in range(n)]
            if __name__ == "__main__":
                with mp.get_context("{method}").Pool(4) as pool:
                    ids = [i for chunk in pool.map(work, [250] * 8) for i in chunk]
                open("ids.txt", "w").write("\\n".join(ids))
            """,
            timeout=120,
        )
        ids = Path("ids.txt").read_text().split()
        assert len(ids) == 2000
        assert sorted(_stored_after_stop(sidecar, 2000)) == sorted(ids)


class TestCollectorLifecycle:
    def test_flush_waits_for_the_collector(self, sidecar: Sidecar) -> None:
        """flush() returns once the collector has written what this process handed it."""
        ids = [llmlog.log_interaction([{"role": "user", "content": "x"}], None) for _ in range(50)]
        assert llmlog.stats()["path"] == "collector"
        assert llmlog.flush(30)
        assert set(ids) <= set(sqlite_ids())

    def test_without_a_collector_the_app_writes_itself(self) -> None:
        """No collector: the in-process writer, and stats() says so and why."""
        llmlog.log_interaction([{"role": "user", "content": "x"}], None)
        st = llmlog.stats()
        assert st["path"] == "in-process"
        assert "no collector" in st["path_reason"]
        assert llmlog.flush(10)
        assert len(sqlite_ids()) == 1
        result = CliRunner().invoke(cli, ["collect", "--status"])
        assert result.exit_code == 1
        assert result.output.startswith("Error: no collector runs for")

    def test_custom_sinks_stay_in_process(self, sidecar: Sidecar) -> None:
        """A process with its own sinks or processors writes itself (they cannot cross)."""
        from llmlog.sinks.memory import MemorySink

        llmlog.configure(sinks=[MemorySink()])
        llmlog.log_interaction([{"role": "user", "content": "x"}], None)
        st = llmlog.stats()
        assert st["path"] == "in-process" and "custom sinks" in st["path_reason"]

    def test_a_second_collector_is_refused(self, sidecar: Sidecar) -> None:
        """One collector per store: a second one says so in one line and exits 1."""
        result = CliRunner().invoke(cli, ["collect"])
        assert result.exit_code == 1
        assert "a collector already runs for" in result.output

    def test_bad_frames_are_counted_not_fatal(self, sidecar: Sidecar) -> None:
        """Garbage on the socket is counted; the collector keeps serving."""
        path = socket_path(llmlog.get_settings().db)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(str(path))
        for junk in (b"", b"I", b"Ixxxxxxxxxxxxxxxxxxxxxxx", b"B{not json", os.urandom(500)):
            if junk:
                s.send(junk)
        s.close()
        rid = llmlog.log_interaction([{"role": "user", "content": "after junk"}], None)
        assert llmlog.flush(30)
        assert rid in sqlite_ids()
        st = sidecar.status()
        assert st is not None and int(str(st["bad_frames"])) >= 4

    def test_collector_killed_the_apps_fall_back(self, sidecar: Sidecar) -> None:
        """A collector killed mid-run: the app's next records take the in-process path."""
        first = llmlog.log_interaction([{"role": "user", "content": "to the collector"}], None)
        assert llmlog.flush(30)
        sidecar.stop(signal.SIGKILL)
        time.sleep(0.1)
        later = [llmlog.log_interaction([{"role": "user", "content": "x"}], None) for _ in range(5)]
        llmlog.flush(10)
        assert llmlog.stats()["path"] == "in-process"
        assert {first, *later} <= set(sqlite_ids())
        fresh = Sidecar(Path.cwd()).start()  # a new collector takes over the stale socket
        fresh.stop()
