"""Faults 4 and 5: a fork in the middle of a write, and a full disk.

A child forked while the parent's writer is inside an SQLite transaction must still be able
to write (it never uses a connection, or a lock state, from before the fork). A full disk
never merges a torn line with the next record, the counters say what happened, and writing
resumes fully when space comes back.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from faultkit import MSGS, RESP, run_script, sqlite_ids

import llmlog


class TestForkDuringAWrite:
    def test_child_forked_inside_a_transaction_can_write(self) -> None:
        """Fork while the parent's writer holds an SQLite write transaction: the child writes."""
        run_script(
            """
            import threading
            from llmlog.store.sqlite import write as s
            original = s.SQLiteSink._insert_interactions
            inside = threading.Event()
            def slow(db, entries):
                original(db, entries)
                inside.set()
                time.sleep(0.5)  # still inside the transaction, before COMMIT
            s.SQLiteSink._insert_interactions = staticmethod(slow)
            llmlog.log_interaction(MSGS, RESP)
            assert inside.wait(10)
            pid = os.fork()
            if pid == 0:
                s.SQLiteSink._insert_interactions = staticmethod(original)
                ids = [llmlog.log_interaction(MSGS, RESP) for _ in range(103)]
                ok = llmlog.flush(20)
                open("child.txt", "w").write("\\n".join(ids))
                os._exit(0 if ok else 3)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, status
            """,
            timeout=90,
        )
        child = Path("child.txt").read_text().split()
        assert len(child) == 103
        assert set(child) <= set(sqlite_ids())
        assert len(sqlite_ids()) == 104

    def test_eight_forked_workers_all_write(self) -> None:
        """8 workers forked while the parent logs: every record of every worker is stored."""
        run_script(
            """
            import multiprocessing as mp
            def work(n):
                return [llmlog.log_interaction(MSGS, RESP) for _ in range(n)]
            for _ in range(300):
                llmlog.log_interaction(MSGS, RESP)
            ctx = mp.get_context("fork")
            procs = []
            for i in range(8):
                llmlog.log_interaction(MSGS, RESP)
                p = ctx.Process(target=work, args=(200,))
                p.start()
                procs.append(p)
            for p in procs:
                p.join(60)
                assert p.exitcode == 0
            """,
            timeout=120,
        )
        assert len(sqlite_ids()) == 300 + 8 + 8 * 200


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for the test (a disk that can really fill up)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs for the disk-full tests: {proc.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs (needs root): {proc.stderr.strip()}")
    try:
        yield disk
    finally:
        llmlog.reset()
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until ``leave`` bytes are free; return the filler file."""
    filler = disk / "filler"
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as f:
        try:
            f.write(b"\0" * max(0, free - leave))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


class TestDiskFull:
    def test_jsonl_lines_never_merge_and_counters_match(self, small_disk: Path) -> None:
        """ENOSPC mid-line: the torn line is removed, later lines are whole, counts add up."""
        path = small_disk / "llm.jsonl"
        llmlog.configure(db="off", jsonl=str(path), spool_dir=str(small_disk / "spool"))
        warm = [llmlog.log_interaction(MSGS, RESP) for _ in range(10)]
        assert llmlog.flush(10)
        filler = fill(small_disk, 60_000)
        during = [
            llmlog.log_interaction(MSGS, RESP, metadata={"pad": "x" * 900}) for _ in range(400)
        ]
        llmlog.flush(10)
        filler.unlink()
        after = [llmlog.log_interaction(MSGS, RESP) for _ in range(100)]
        llmlog.shutdown(30)
        lines = path.read_bytes().splitlines()
        recs = [orjson.loads(ln) for ln in lines]  # every line is one whole record
        got = [r["request_id"] for r in recs]
        assert len(got) == len(set(got))
        st = llmlog.stats()
        assert set(warm) <= set(got) and set(after) <= set(got)
        assert len(got) + st["dropped"] == len(warm) + len(during) + len(after)

    def test_sqlite_resumes_fully_after_space_returns(self, small_disk: Path) -> None:
        """SQLite on a full disk: what could not be written or spooled is counted; after
        space returns, every new record is written and the spool drains."""
        db = small_disk / "llmlog.db"
        llmlog.configure(db=str(db))
        warm = [llmlog.log_interaction(MSGS, RESP) for _ in range(10)]
        assert llmlog.flush(10)
        filler = fill(small_disk, 30_000)
        during = [
            llmlog.log_interaction(MSGS, RESP, metadata={"pad": "x" * 900}) for _ in range(300)
        ]
        llmlog.flush(10)
        filler.unlink()
        after = [llmlog.log_interaction(MSGS, RESP) for _ in range(100)]
        llmlog.shutdown(30)
        got = sqlite_ids(db)
        assert len(got) == len(set(got))
        assert set(warm) <= set(got) and set(after) <= set(got)
        st = llmlog.stats()
        assert len(got) + st["dropped"] == len(warm) + len(during) + len(after)
