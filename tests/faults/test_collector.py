"""Process deaths with a collector: what ``log_interaction`` returned for is in the store.

The apps find the store's collector through the socket in ``LLMLOG_HOME`` and hand each
record over; the first app that logs starts one (on demand), or ``llmlog collect`` runs
as a sidecar. These are the cases the in-process writer cannot survive: ``os._exit``,
``SIGKILL``, ``SIGTERM`` with Python's default handler, ``Pool.terminate()``, recycled
Celery and gunicorn workers, a collector killed mid-run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from faultkit import collector_pids, gone, run_script, sqlite_ids, wait_until

import llmlog
from llmlog.cli import cli
from llmlog.collector.launch import collector_dir, settings_blob, socket_path
from llmlog.store import open_store

MSGS_X = [{"role": "user", "content": "x"}]


pytestmark = pytest.mark.usefixtures("collector_on")


class Sidecar:
    """``llmlog collect`` in a process of its own, stopped by its PID."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Sidecar:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llmlog.cli", "collect", "--otlp", "127.0.0.1:0"],
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


def _stored(expected: int) -> list[str]:
    """Wait for an on-demand collector to write ``expected`` records; return the store's ids."""
    wait_until(lambda: len(sqlite_ids()) >= expected, timeout=60)
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

    def test_collector_off_writes_in_process(self) -> None:
        """collector='off': the in-process writer, and stats() says so and why."""
        llmlog.configure(collector="off")
        llmlog.log_interaction([{"role": "user", "content": "x"}], None)
        st = llmlog.stats()
        assert st["path"] == "in-process"
        assert st["path_reason"] == "collector='off'"
        assert llmlog.flush(10)
        assert len(sqlite_ids()) == 1
        result = CliRunner().invoke(cli, ["collect", "--status"])
        assert result.exit_code == 1
        assert result.output.startswith("Error: no collector runs for")

    def test_when_no_collector_can_start_the_app_writes_itself(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """LLMLOG_HOME unusable (here a file): in-process, and stats() says why."""
        blocked = Path(os.environ["LLMLOG_HOME"]) / "f"
        blocked.write_text("")
        monkeypatch.setenv("LLMLOG_HOME", str(blocked))
        llmlog.reset()
        ids = [llmlog.log_interaction([{"role": "user", "content": "x"}], None) for _ in range(3)]
        st = llmlog.stats()
        assert st["path"] == "in-process"
        assert st["path_reason"].startswith("could not start a collector: cannot create")
        assert llmlog.flush(10)
        assert sorted(sqlite_ids()) == sorted(ids)

    def test_custom_sinks_stay_in_process(self, sidecar: Sidecar) -> None:
        """A process with its own sinks or processors writes itself (they cannot cross)."""
        from llmlog.sinks.memory import MemorySink

        llmlog.configure(sinks=[MemorySink()])
        llmlog.log_interaction([{"role": "user", "content": "x"}], None)
        st = llmlog.stats()
        assert st["path"] == "in-process" and "custom sinks" in st["path_reason"]

    def test_collect_with_an_unusable_home_says_so_in_one_line(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``llmlog collect`` where no socket can be made: one line naming it, exit 1."""
        blocked = Path(os.environ["LLMLOG_HOME"]) / "f"
        blocked.write_text("")
        monkeypatch.setenv("LLMLOG_HOME", str(blocked))
        result = CliRunner().invoke(cli, ["collect"])
        assert result.exit_code == 1
        assert result.output.startswith("Error: cannot listen at ")
        assert len(result.output.strip().splitlines()) == 1
        monkeypatch.setenv("LLMLOG_HOME", "/tmp/" + "d" * 120)
        result = CliRunner().invoke(cli, ["collect"])
        assert result.exit_code == 1
        assert "too long for a Unix socket" in result.output

    def test_a_second_collector_is_refused(self, sidecar: Sidecar) -> None:
        """One collector per store: a second one says so in one line and exits 1."""
        result = CliRunner().invoke(cli, ["collect"])
        assert result.exit_code == 1
        assert "a collector already runs for" in result.output

    def test_bad_frames_are_counted_not_fatal(self, sidecar: Sidecar) -> None:
        """Garbage on the socket is counted; the collector keeps serving."""
        settings = llmlog.get_settings()
        path = socket_path(settings.db, settings_blob(settings))
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

    def test_collector_killed_the_next_record_starts_another(self, sidecar: Sidecar) -> None:
        """A collector killed mid-run: the app's next record starts a new one; nothing lost."""
        first = llmlog.log_interaction([{"role": "user", "content": "to the collector"}], None)
        assert llmlog.flush(30)
        sidecar.stop(signal.SIGKILL)
        later = [llmlog.log_interaction([{"role": "user", "content": "x"}], None) for _ in range(5)]
        assert llmlog.flush(30)
        assert llmlog.stats()["path"] == "collector"
        assert {first, *later} <= set(sqlite_ids())
        (pid,) = collector_pids()
        assert sidecar.proc is not None and pid != sidecar.proc.pid


class TestOnDemand:
    def test_the_first_process_starts_one(self) -> None:
        """No collector runs: the first call starts one without waiting for it, and
        os._exit(0) right after 3,000 calls keeps all 3,000."""
        run_script(
            """
            t0 = time.perf_counter()
            ids = [llmlog.log_interaction(MSGS, RESP)]
            first_ms = (time.perf_counter() - t0) * 1000
            assert llmlog.stats()["path"] == "collector", llmlog.stats()
            ids += [llmlog.log_interaction(MSGS, RESP) for _ in range(2999)]
            open("ids.txt", "w").write("\\n".join(ids))
            print(f"first call {first_ms:.2f} ms")
            os._exit(0)
            """
        )
        ids = Path("ids.txt").read_text().split()
        assert sorted(_stored(3000)) == sorted(ids)
        assert len(collector_pids()) == 1

    def test_it_exits_when_idle(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """collector_idle seconds after its last app left, the collector exits; the
        records are written and its socket is gone."""
        run_script(
            """
            ids = [llmlog.log_interaction(MSGS, RESP) for _ in range(20)]
            open("ids.txt", "w").write("\\n".join(ids))
            """,
            env={"LLMLOG_COLLECTOR_IDLE": "0.5"},
        )
        ids = Path("ids.txt").read_text().split()
        assert wait_until(lambda: not list(collector_dir().glob("*.sock")), timeout=30)
        assert sorted(sqlite_ids()) == sorted(ids)
        # and the next app starts a fresh one
        rid = llmlog.log_interaction(MSGS_X, None)
        assert llmlog.flush(30) and rid in sqlite_ids()
        assert llmlog.stats()["path"] == "collector"

    def test_killed_it_is_restarted_by_the_next_record(self) -> None:
        """SIGKILL the collector: the next record starts another; nothing flushed is lost."""
        first = [llmlog.log_interaction(MSGS_X, None) for _ in range(10)]
        assert llmlog.flush(30)
        (old,) = collector_pids()
        os.kill(old, signal.SIGKILL)
        # all of it: its threads outlive the main one (a zombie) for a moment, and what is
        # sent to it meanwhile is lost with it (the documented window)
        gone(old)
        later = [llmlog.log_interaction(MSGS_X, None) for _ in range(100)]
        assert llmlog.flush(30)
        (new,) = collector_pids()
        assert new != old
        assert sorted(sqlite_ids()) == sorted(first + later)

    def test_apps_with_other_settings_get_their_own(self) -> None:
        """Same store, redaction on in one app and off in another: two collectors, each
        writing as its app configured."""
        code = """
            rid = llmlog.log_interaction([{"role": "user", "content": "mail bob@example.com"}], None)
            assert llmlog.flush(30)
            print(rid)
            """
        on = run_script(code).stdout.strip()
        off = run_script(code, env={"LLMLOG_REDACT": "0"}).stdout.strip()
        assert len(collector_pids()) == 2
        with open_store("llmlog.db") as store:
            assert "[EMAIL]" in str(store.get(on)["prompt_messages"])
            assert "bob@example.com" in str(store.get(off)["prompt_messages"])

    def test_many_apps_starting_at_once_share_one(self) -> None:
        """Four processes log their first record at the same moment: one collector."""
        run_script(
            """
            import multiprocessing as mp
            def work(n):
                ids = [llmlog.log_interaction(MSGS, RESP) for _ in range(n)]
                assert llmlog.flush(30)
                return ids
            if __name__ == "__main__":
                with mp.get_context("spawn").Pool(4) as pool:
                    ids = [i for chunk in pool.map(work, [200] * 4, chunksize=1) for i in chunk]
                open("ids.txt", "w").write("\\n".join(ids))
            """
        )
        ids = Path("ids.txt").read_text().split()
        assert sorted(_stored(800)) == sorted(ids)
        assert len(collector_pids()) == 1

    def test_spans_go_through_the_collector(self) -> None:
        """A run's spans and model calls, handed over, then os._exit: the whole trace kept."""
        run_script(
            """
            with llmlog.trace("run") as root:
                with llmlog.span("lookup", kind="tool", input={"id": 1}) as s:
                    s.set_output("found")
                llmlog.log_interaction(MSGS, RESP)
            assert llmlog.stats()["path"] == "collector", llmlog.stats()
            open("tid.txt", "w").write(root.trace_id)
            os._exit(0)
            """
        )
        tid = Path("tid.txt").read_text()
        assert wait_until(lambda: len(sqlite_ids()) == 1, timeout=60)

        def whole() -> bool:
            try:
                with open_store("llmlog.db") as store:
                    return store.trace(tid).summary.spans == 2
            except LookupError:
                return False

        assert wait_until(whole, timeout=60)
        with open_store("llmlog.db") as store:
            shape = [(d, n.kind, n.name) for d, n in store.trace(tid).walk()]
        assert shape == [
            (0, "invoke_workflow", "run"),
            (1, "execute_tool", "lookup"),
            (1, "chat", "gpt-4o-mini"),
        ]

    def test_fork_after_the_first_record(self) -> None:
        """A child forked after the parent logged hands its records over on its own
        connection, even when it ends with os._exit."""
        run_script(
            """
            ids = [llmlog.log_interaction(MSGS, RESP) for _ in range(10)]
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                child = [llmlog.log_interaction(MSGS, RESP) for _ in range(500)]
                os.write(w, "\\n".join(child).encode() + b"\\n")
                os._exit(0)
            os.waitpid(pid, 0)
            os.close(w)
            ids += os.read(r, 1 << 20).decode().split()
            open("ids.txt", "w").write("\\n".join(ids))
            """
        )
        ids = Path("ids.txt").read_text().split()
        assert len(ids) == 510
        assert sorted(_stored(510)) == sorted(ids)
