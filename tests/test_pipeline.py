"""The pipeline never hurts the app and never loses a record silently."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import MESSAGES, RESPONSE, db_records

import llmlog
import llmlog.record
from llmlog.sinks import Entry
from llmlog.sinks.memory import MemorySink


class FlakySink(MemorySink):
    """A sink that fails until told to recover."""

    name = "flaky"

    def __init__(self, spool_dir: Path) -> None:
        super().__init__()
        self.spool_dir = spool_dir
        self.failing = True
        self.attempts = 0

    def write(self, batch: Sequence[Entry]) -> None:
        self.attempts += 1
        if self.failing:
            raise OSError(28, "No space left on device")
        super().write(batch)


class TestFailingSink:
    def test_failure_never_reaches_the_app_and_is_reported(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A sink that raises costs the app nothing; it is counted and reported at WARNING."""
        sink = FlakySink(tmp_path / "spool")
        llmlog.configure(db="off", sinks=[sink], redact=False, raise_errors=False)
        for _ in range(3):
            llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        stats = llmlog.stats()
        assert stats["sink_errors"] >= 1
        assert stats["spooled"] == 3
        assert any(
            r.levelno == logging.WARNING and "sink flaky failed" in r.getMessage()
            for r in caplog.records
        )

    def test_spooled_records_are_replayed_when_the_sink_recovers(self, tmp_path: Path) -> None:
        """Records that waited in the spool reach the sink once it works again, none lost."""
        sink = FlakySink(tmp_path / "spool")
        llmlog.configure(db="off", sinks=[sink], redact=False, raise_errors=False)
        ids = [llmlog.log_interaction(MESSAGES, RESPONSE) for _ in range(20)]
        llmlog.flush(10)
        assert sink.records == []
        assert list((tmp_path / "spool").glob("*.jsonl"))
        sink.failing = False
        from llmlog import api

        api._pipeline._workers[0].down_until = 0.0  # skip the backoff wait
        llmlog.flush(10)
        assert sorted(r["request_id"] for r in sink.records) == sorted(ids)
        assert not list((tmp_path / "spool").glob("*.jsonl*"))

    def test_other_sinks_keep_working(self, tmp_path: Path) -> None:
        """One broken sink does not stop the SQLite store from receiving records."""
        llmlog.configure(sinks=[FlakySink(tmp_path / "spool")], redact=False, raise_errors=False)
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        assert len(db_records()) == 1

    def test_locked_database_spools_then_replays(self, tmp_path: Path) -> None:
        """A store locked by another process is waited for off the app's thread, then written."""
        import sqlite3

        from llmlog.store.sqlite import write as sqlite_sink

        llmlog.configure(redact=False, raise_errors=False)
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        old = sqlite_sink.BUSY_TIMEOUT_MS
        blocker = sqlite3.connect("llmlog.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            from llmlog import api

            api._pipeline._workers[0].sink._db.execute("PRAGMA busy_timeout = 50")
            llmlog.log_interaction(MESSAGES, RESPONSE)
            llmlog.flush(10)
            assert llmlog.stats()["spooled"] == 1
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
            sqlite_sink.BUSY_TIMEOUT_MS = old
        from llmlog import api

        api._pipeline._workers[0].down_until = 0.0
        llmlog.flush(10)
        assert len(db_records()) == 2


class TestOverflow:
    def test_full_queue_spills_to_spool_and_loses_nothing(self) -> None:
        """With a tiny queue, a burst overflows to disk and every record still lands."""
        llmlog.configure(max_queue=10, batch_size=5, redact=False)
        ids = {llmlog.log_interaction(MESSAGES, RESPONSE) for _ in range(500)}
        llmlog.flush(30)
        assert {r["request_id"] for r in db_records()} == ids
        assert llmlog.stats()["dropped"] == 0

    def test_drop_policy_counts_drops(self, caplog: pytest.LogCaptureFixture) -> None:
        """on_full=drop drops what does not fit, counts it and reports it."""
        llmlog.configure(
            max_queue=5, on_full="drop", redact=False, flush_interval=5.0, batch_size=1000
        )
        for _ in range(50):
            llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        stats = llmlog.stats()
        assert stats["dropped"] >= 40
        assert len(db_records()) + stats["dropped"] == 50
        assert "dropped an interaction" in caplog.text


class TestProcessors:
    def test_processor_changes_the_record(self) -> None:
        """A processor's returned record is what every sink gets."""

        def tag(rec: dict) -> dict:
            rec["tags"] = [*rec["tags"], "processed"]
            return rec

        llmlog.configure(processors=[tag])
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        assert db_records()[0]["tags"] == ["processed"]

    def test_drop_record_filters(self) -> None:
        """Raising DropRecord drops the record and counts it as filtered, not as an error."""

        def drop_errors(rec: dict) -> dict:
            if rec["status"] == "error":
                raise llmlog.DropRecord
            return rec

        llmlog.configure(processors=[drop_errors])
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.log_interaction(MESSAGES, None, error=RuntimeError("x"))
        llmlog.flush(10)
        assert len(db_records()) == 1
        assert llmlog.stats()["filtered"] == 1
        assert llmlog.stats()["errors"] == 0

    def test_failing_processor_never_writes_unprocessed(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """If a processor (e.g. redaction) fails, the record is dropped, counted and reported."""

        def broken(rec: dict) -> dict:
            raise RuntimeError("bug")

        llmlog.configure(processors=[broken], raise_errors=False)
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        assert not Path("llmlog.db").exists() or db_records() == []
        assert llmlog.stats()["dropped"] == 1
        assert "never written unprocessed" in caplog.text

    def test_raise_errors_surfaces_contained_errors_in_flush(self) -> None:
        """With LLMLOG_RAISE_ERRORS=1 (tests), a contained error is re-raised by flush()."""

        def broken(rec: dict) -> dict:
            raise RuntimeError("bug")

        llmlog.configure(processors=[broken])
        llmlog.log_interaction(MESSAGES, RESPONSE)
        with pytest.raises(RuntimeError, match="bug"):
            llmlog.flush(10)


class TestSyncDurability:
    def test_record_is_written_before_the_call_returns(self) -> None:
        """durability=sync writes the record on the caller's thread."""
        llmlog.configure(durability="sync", redact=False)
        llmlog.log_interaction(MESSAGES, RESPONSE)
        assert len(db_records()) == 1


class TestEncoding:
    """The JSON line every sink writes and the record dict they read are the same record."""

    @pytest.mark.parametrize("processors", [[], [lambda rec: rec]])
    @pytest.mark.parametrize("parsed", ["given", None])
    def test_line_equals_record(self, processors: list, parsed: str | None) -> None:
        """Whether the heavy fields are appended as the caller encoded them or re-encoded."""
        import orjson

        sink = MemorySink()
        llmlog.configure(db="off", sinks=[sink], processors=processors)
        llmlog.log_interaction(
            MESSAGES,
            RESPONSE,
            parsed_output=parsed,
            model="gpt-4o-mini",
            metadata={"k": [1, 2]},
            customer="c1",
        )
        llmlog.flush(10)
        [rec], [line] = sink.records, sink.lines
        assert orjson.loads(line) == rec
        assert set(rec) == set(llmlog.record.RECORD_FIELDS)
        assert rec["prompt_messages"] == MESSAGES
        assert rec["llm_raw_response"] == RESPONSE
        assert rec["parsed_output"] == (parsed or "The capital of France is Paris.")
        assert rec["metadata"] == {"k": [1, 2], "customer": "c1"}

    def test_entry_parses_only_what_is_asked(self) -> None:
        """Entry.get parses one heavy field from the line without touching the others."""
        seen: list[Entry] = []

        class Peek(MemorySink):
            def write(self, batch):
                seen.extend(batch)

        llmlog.configure(db="off", sinks=[Peek()], processors=[])
        llmlog.log_interaction(MESSAGES, RESPONSE, parsed_output="x")
        llmlog.flush(10)
        [e] = seen
        assert "prompt_messages" not in e._rec
        assert e.get("prompt_messages") == MESSAGES
        assert "llm_raw_response" not in e._rec
        assert e.rec["llm_raw_response"] == RESPONSE
