"""Fault 7: prompts are private data; every file llmlog creates is owner-only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import RecordingSink, log_many

import llmlog


@pytest.fixture(autouse=True)
def _umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


class TestFileModes:
    def test_store_wal_shm_and_jsonl_are_0600(self) -> None:
        """The SQLite file, its -wal and -shm, and the JSON-lines file are created 0600."""
        llmlog.configure(jsonl="out/llm.jsonl", db="data/llmlog.db")
        log_many(10)
        assert llmlog.flush(10)
        for name in ("data/llmlog.db", "data/llmlog.db-wal", "data/llmlog.db-shm", "out/llm.jsonl"):
            assert mode(Path(name)) == 0o600, name
        assert mode(Path("data")) == 0o700 and mode(Path("out")) == 0o700

    def test_spool_and_dead_letters_are_owner_only(self, tmp_path: Path) -> None:
        """Spool folders are 0700 and their files 0600, dead letters included."""
        spool = tmp_path / "a" / "spool"
        sink = RecordingSink(spool_dir=spool)
        sink.fail = True
        llmlog.configure(db="off", sinks=[sink])
        log_many(10)
        llmlog.log_interaction([{"role": "user", "content": "x"}], None, metadata={"poison": 1})
        llmlog.flush(5)
        assert mode(spool) == 0o700 and mode(spool.parent) == 0o700
        files = [f for f in spool.iterdir() if f.is_file()]
        assert files and all(mode(f) == 0o600 for f in files)
        sink.fail = False
        sink.reject = lambda rec: rec["metadata"].get("poison")
        llmlog.shutdown(5)
        dead = spool / "dead-letter.jsonl"
        assert dead.exists() and mode(dead) == 0o600

    def test_existing_files_keep_their_mode(self) -> None:
        """A store the user created with other permissions is left as it is."""
        Path("shared.db").touch(mode=0o640)
        os.chmod("shared.db", 0o640)
        llmlog.configure(db="shared.db")
        log_many(3)
        assert llmlog.flush(10)
        assert mode(Path("shared.db")) == 0o640
