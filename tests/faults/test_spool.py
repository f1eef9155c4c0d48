"""Faults 2 and 9: the spool holds each record once, within a size limit, and drains.

While a sink is down its records wait on disk (already redacted). Replays that fail must not
copy the spool; a size limit bounds it (what does not fit is counted as dropped and reported);
at exit one replay is tried within the exit budget; ``llmlog spool`` shows every spool and
``llmlog spool replay`` drains it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from faultkit import RecordingSink, log_many, run_script, spool_lines, sqlite_ids

import llmlog
from llmlog.cli import cli


def _replay_attempts(sink: RecordingSink, n: int, timeout: float = 60) -> None:
    """Let the writer retry a down sink ``n`` more times (it backs off 0.5 s, 1 s, 2 s, ...)."""
    target = sink.writes + n
    deadline = time.monotonic() + timeout
    while sink.writes < target and time.monotonic() < deadline:
        llmlog.flush(1)
        time.sleep(0.1)
    assert sink.writes >= target, f"only {sink.writes} writes"


class TestSpoolHoldsEachRecordOnce:
    def test_failed_replays_do_not_copy_the_spool(self, tmp_path: Path) -> None:
        """2,180 records, several failed replays: the spool holds exactly 2,180 lines."""
        spool = tmp_path / "spool"
        sink = RecordingSink(spool_dir=spool)
        sink.fail = True
        llmlog.configure(db="off", sinks=[sink])
        ids = log_many(2180)
        llmlog.flush(10)
        _replay_attempts(sink, 3)
        waiting = spool_lines(spool)
        assert sorted(r["request_id"] for r in waiting) == sorted(ids)
        sink.fail = False
        llmlog.shutdown(30)
        assert sorted(sink.ids) == sorted(ids)
        assert spool_lines(spool) == []

    def test_size_limit_counts_and_reports_what_does_not_fit(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Past spool_max_bytes, records are dropped: counted, reported, never silently."""
        spool = tmp_path / "spool"
        sink = RecordingSink(spool_dir=spool)
        sink.fail = True
        llmlog.configure(db="off", sinks=[sink], spool_max_bytes=200_000)
        with caplog.at_level(logging.WARNING, logger="llmlog"):
            ids = log_many(1000)
            llmlog.flush(10)
        kept = len(spool_lines(spool))
        st = llmlog.stats()
        assert 0 < kept < 1000
        assert st["dropped"] == 1000 - kept
        assert sum(f.stat().st_size for f in spool.iterdir() if f.is_file()) <= 200_000
        assert any("spool" in r.getMessage() and "full" in r.getMessage() for r in caplog.records)
        sink.fail = False
        llmlog.shutdown(10)
        assert len(sink.ids) == kept and set(sink.ids) <= set(ids)


class TestFeedbackIsIdempotent:
    def test_replayed_feedback_is_stored_once_sqlite(self) -> None:
        """The same feedback line written twice (a replay after a crash) is one row."""
        from llmlog.store.sqlite.write import SQLiteSink

        rid = llmlog.log_interaction([{"role": "user", "content": "hi"}], None)
        llmlog.feedback(rid, 1.0, "good")
        llmlog.feedback(rid, 0.0, "changed my mind")  # a second, distinct feedback: kept
        llmlog.shutdown()
        spool_copy = [
            r for r in _feedback_lines("llmlog.db")
        ]  # the stored feedback records, as they would be replayed
        sink = SQLiteSink("llmlog.db")
        from llmlog.sinks.base import Entry

        sink.write([Entry(orjson.loads(line), line) for line in spool_copy])
        sink.close()
        assert len(_feedback_lines("llmlog.db")) == 2

    def test_replayed_feedback_is_stored_once_postgres(self, pg_url: str) -> None:
        """PostgreSQL: feedback replayed after an outage is stored once per feedback call."""
        from faultkit import pg_rows

        from llmlog.sinks.base import Entry
        from llmlog.store.postgres.write import PostgresSink

        llmlog.configure(db=pg_url)
        rid = llmlog.log_interaction([{"role": "user", "content": "hi"}], None)
        for i in range(30):
            llmlog.feedback(rid, float(i % 2), f"note {i}")
        llmlog.shutdown()
        lines = [r[0] for r in pg_rows(pg_url, "SELECT record::text FROM {s}.feedback")]
        assert len(lines) == 30
        sink = PostgresSink(pg_url)
        sink.write([Entry(orjson.loads(x), x.encode()) for x in lines])
        sink.close()
        assert pg_rows(pg_url, "SELECT count(*) FROM {s}.feedback") == [(30,)]


def _feedback_lines(path: str) -> list[bytes]:
    db = sqlite3.connect(path)
    try:
        return [r[0].encode() for r in db.execute("SELECT record FROM feedback")]
    finally:
        db.close()


class TestDrainingAfterAnOutage:
    def test_exit_replays_despite_backoff(self, tmp_path: Path) -> None:
        """A sink back up by exit time gets everything at close, even while in backoff."""
        sink = RecordingSink(spool_dir=tmp_path / "spool")
        sink.fail = True
        llmlog.configure(db="off", sinks=[sink])
        ids = log_many(3000)
        llmlog.flush(10)
        sink.fail = False  # back, but the writer would not retry for a while (backoff)
        llmlog.shutdown(10)
        assert sorted(sink.ids) == sorted(ids)
        assert spool_lines(tmp_path / "spool") == []

    def test_spool_cli_lists_and_replays_a_stranded_sqlite_spool(self) -> None:
        """SQLite locked by another process past exit: the records wait in the spool;
        ``llmlog spool`` shows it; ``llmlog spool replay`` drains it into the store."""
        run_script("llmlog.log_interaction(MSGS, RESP)\n")  # create the store
        locker = sqlite3.connect("llmlog.db", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            t0 = time.monotonic()
            run_script(
                """
                llmlog.configure(exit_timeout=2)
                ids = [llmlog.log_interaction(MSGS, RESP) for _ in range(100)]
                open("ids.txt", "w").write("\\n".join(ids))
                """
            )
            assert time.monotonic() - t0 < 20  # the exit budget, not the 30 s busy timeout
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        ids = Path("ids.txt").read_text().split()
        assert not set(ids) & set(sqlite_ids())
        listing = CliRunner().invoke(cli, ["spool"])
        assert listing.exit_code == 0, listing.output
        assert "llmlog.db-spool" in listing.output and "100 records" in listing.output
        assert "sqlite:" in listing.output
        drained = CliRunner().invoke(cli, ["spool", "replay"])
        assert drained.exit_code == 0, drained.output
        assert "100" in drained.output
        assert set(ids) <= set(sqlite_ids())
        again = CliRunner().invoke(cli, ["spool"])
        assert "no records waiting" in again.output

    def test_spool_warning_names_the_path_and_the_command(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """When records are left in a spool at exit, the warning says where and what to run."""
        sink = RecordingSink(spool_dir=tmp_path / "spool")
        sink.fail = True
        llmlog.configure(db="off", sinks=[sink])
        log_many(10)
        with caplog.at_level(logging.WARNING, logger="llmlog"):
            llmlog.shutdown(2)
        text = " ".join(r.getMessage() for r in caplog.records)
        assert str(tmp_path / "spool") in text and "llmlog spool replay" in text


@pytest.fixture(autouse=True)
def _no_stray_state(monkeypatch: Any) -> None:
    monkeypatch.delenv("LLMLOG_SPOOL_DIR", raising=False)
