"""Process lifecycles: exit without flush, os._exit, fork, multiprocessing, many writers.

Each case runs a real Python process, the way an app would run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import db_records

PRELUDE = """
import os, sys, llmlog
MSGS = [{"role": "user", "content": "hello"}]
RESP = {"object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
"""


def run(code: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


class TestExit:
    def test_normal_exit_without_flush_loses_nothing(self) -> None:
        """500 interactions logged by a script that never calls flush() are all stored."""
        run("""
            for i in range(500):
                llmlog.log_interaction(MSGS, RESP, metadata={"i": i})
        """)
        recs = db_records()
        assert sorted(r["metadata"]["i"] for r in recs) == list(range(500))

    def test_exit_by_unhandled_exception_still_writes(self) -> None:
        """An app that dies of an exception still gets its queued records written."""
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                PRELUDE
                + textwrap.dedent("""
            for i in range(50):
                llmlog.log_interaction(MSGS, RESP)
            raise SystemExit("boom")
        """),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1
        assert len(db_records()) == 50

    def test_os_exit_with_sync_durability_loses_nothing(self) -> None:
        """With durability=sync, even os._exit right after a burst loses nothing."""
        run("""
            llmlog.configure(durability="sync")
            for i in range(200):
                llmlog.log_interaction(MSGS, RESP)
            os._exit(0)
        """)
        assert len(db_records()) == 200

    def test_os_exit_loss_is_bounded_by_the_queue(self) -> None:
        """Without sync, os._exit loses at most what was still queued (the documented window)."""
        run("""
            for i in range(300):
                llmlog.log_interaction(MSGS, RESP)
            llmlog.flush()
            for i in range(100):
                llmlog.log_interaction(MSGS, RESP)
            os._exit(0)
        """)
        assert 300 <= len(db_records()) <= 400


class TestFork:
    def test_forked_child_interactions_land(self) -> None:
        """A child forked after logging started (gunicorn-style) writes its own records."""
        run("""
            llmlog.log_interaction(MSGS, RESP, metadata={"who": "parent-before"})
            pid = os.fork()
            if pid == 0:
                for i in range(100):
                    llmlog.log_interaction(MSGS, RESP, metadata={"who": "child"})
                sys.exit(0)
            llmlog.log_interaction(MSGS, RESP, metadata={"who": "parent-after"})
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
        """)
        who = [r["metadata"]["who"] for r in db_records()]
        assert who.count("child") == 100
        assert who.count("parent-before") == 1 and who.count("parent-after") == 1

    @pytest.mark.parametrize("method", ["fork", "spawn"])
    def test_multiprocessing_children_land(self, method: str) -> None:
        """Children started by multiprocessing (which end with os._exit) write everything."""
        Path("child.py").write_text(
            PRELUDE
            + textwrap.dedent("""
            def work(n):
                for i in range(n):
                    llmlog.log_interaction(MSGS, RESP, metadata={"pid": os.getpid()})
        """)
        )
        run(f"""
            import multiprocessing as mp
            sys.path.insert(0, os.getcwd())
            import child
            if __name__ == "__main__":
                llmlog.log_interaction(MSGS, RESP, metadata={{"pid": "parent"}})
                ctx = mp.get_context("{method}")
                procs = [ctx.Process(target=child.work, args=(150,)) for _ in range(3)]
                for p in procs: p.start()
                for p in procs: p.join()
                assert all(p.exitcode == 0 for p in procs)
        """)
        recs = db_records()
        assert len(recs) == 451
        assert len({r["metadata"]["pid"] for r in recs}) == 4

    def test_process_pool_workers_land(self) -> None:
        """ProcessPoolExecutor workers' interactions are written when the pool shuts down."""
        Path("child.py").write_text(
            PRELUDE
            + textwrap.dedent("""
            def work(i):
                llmlog.log_interaction(MSGS, RESP, metadata={"i": i})
                return i
        """)
        )
        run("""
            import concurrent.futures as cf
            sys.path.insert(0, os.getcwd())
            import child
            if __name__ == "__main__":
                with cf.ProcessPoolExecutor(2) as ex:
                    assert sorted(ex.map(child.work, range(200))) == list(range(200))
        """)
        assert sorted(r["metadata"]["i"] for r in db_records()) == list(range(200))


class TestManyWriters:
    def test_concurrent_processes_share_one_store(self) -> None:
        """Four processes writing one SQLite file at once: no errors, no loss, no duplicates."""
        script = PRELUDE + textwrap.dedent("""
            for i in range(400):
                llmlog.log_interaction(MSGS, RESP, metadata={"w": sys.argv[1], "i": i})
            llmlog.flush()
            print(llmlog.stats()["sink_errors"])
        """)
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(w)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for w in range(4)
        ]
        for p in procs:
            _out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        recs = db_records()
        assert len(recs) == 1600
        assert len({r["request_id"] for r in recs}) == 1600

    def test_records_spooled_by_a_dead_process_are_replayed_by_the_next(self) -> None:
        """A spool left by a process that could not write is replayed by a later one."""
        run("""
            import llmlog.store.sqlite.write as s
            # the store is unusable for this process: everything goes to the spool
            s.connect = lambda *a, **k: (_ for _ in ()).throw(OSError("disk gone"))
            llmlog.configure(raise_errors=False)
            for i in range(30):
                llmlog.log_interaction(MSGS, RESP)
        """)
        assert not Path("llmlog.db").exists()
        assert list(Path("llmlog.db-spool").glob("*.jsonl*"))
        run("""
            llmlog.log_interaction(MSGS, RESP)
            llmlog.flush()
        """)
        assert len(db_records()) == 31
