"""Fault 1: one bad record must never stop a store.

Bad values are coerced or moved aside before any sink sees them; a batch a sink still
rejects is split until the record that fails alone is found; that record goes to a
dead-letter file (already redacted), is counted and is shown by ``llmlog verify``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from faultkit import MSGS, RESP, RecordingSink, log_many, pg_rows, sqlite_ids

import llmlog
from llmlog.cli import cli
from llmlog.testing import capture_records

BAD_FIELDS: list[dict[str, Any]] = [
    {"timestamp": None},
    {"timestamp": "yesterday"},
    {"timestamp": float("nan")},
    {"timestamp": float("inf")},
    {"session_id": {"a": 1}},
    {"user_id": [1, 2]},
    {"ttft_ms": "fast"},
    {"cost_usd": "free"},
    {"duration_ms": 2**64},
    {"usage": {"input_tokens": 2**63, "output_tokens": 1}},
    {"usage": {"prompt_tokens": -(2**70), "completion_tokens": "many"}},
    {"status": ["ok"]},
    {"provider": {"name": "openai"}},
    {"tags": {"not": "a list"}},
    {"error": "just a string"},
    {"request_id": 12345},
]


class TestBadValuesAreCoerced:
    @pytest.mark.parametrize("bad", BAD_FIELDS, ids=lambda b: f"{next(iter(b))}={b!r}"[:60])
    def test_store_keeps_everything_around_one_bad_record(self, bad: dict[str, Any]) -> None:
        """1,200 good records around one with a bad value all land, and so does the bad one."""
        before = log_many(600)
        rid = llmlog.log_interaction(MSGS, RESP, **bad)
        after = log_many(600)
        assert llmlog.flush(30)
        stored = sqlite_ids()
        assert sorted(stored) == sorted([*before, str(rid), *after])
        assert llmlog.stats()["dead_lettered"] == 0

    def test_bad_value_is_kept_aside_in_metadata(self) -> None:
        """The value that did not fit its field is kept (as text) under metadata.llmlog_invalid."""
        with capture_records() as recs:
            llmlog.log_interaction(MSGS, RESP, session_id={"a": 1}, ttft_ms="fast")
        rec = recs[0]
        assert rec["session_id"] is None and rec["ttft_ms"] is None
        assert rec["metadata"]["llmlog_invalid"] == {"session_id": {"a": 1}, "ttft_ms": "fast"}

    def test_convertible_values_are_converted(self) -> None:
        """Numbers given as text, an int user id and a float token count are converted."""
        with capture_records() as recs:
            llmlog.log_interaction(
                MSGS,
                None,
                user_id=42,
                duration_ms="12.5",
                timestamp="1732636800",
                usage={"input_tokens": 3.0, "output_tokens": 2},
            )
        rec = recs[0]
        assert rec["user_id"] == "42"
        assert rec["duration_ms"] == 12.5
        assert rec["timestamp"] == 1732636800.0
        assert rec["usage"]["input_tokens"] == 3 and rec["usage"]["total_tokens"] == 5
        assert "llmlog_invalid" not in rec["metadata"]

    def test_coercion_warns_once_a_minute(self, caplog: pytest.LogCaptureFixture) -> None:
        """Each coercion is counted; the warning is rate-limited."""
        with caplog.at_level(logging.WARNING, logger="llmlog"):
            for _ in range(5):
                llmlog.log_interaction(MSGS, RESP, ttft_ms="fast")
            llmlog.flush()
        assert llmlog.stats()["coerced"] == 5
        warnings = [r for r in caplog.records if "ttft_ms" in r.getMessage()]
        assert len(warnings) == 1


class TestRejectedRecordsAreIsolated:
    def test_batch_is_split_and_the_bad_record_dead_lettered(self, tmp_path: Path) -> None:
        """A sink refusing one record in 1,000 gets the 999; the one goes to the dead letters."""
        sink = RecordingSink(spool_dir=tmp_path / "spool")
        sink.reject = lambda rec: rec["metadata"].get("poison")
        llmlog.configure(db="off", sinks=[sink], batch_size=1000)
        good = log_many(500)
        bad = llmlog.log_interaction(MSGS, RESP, metadata={"poison": True, "email": "a@b.example"})
        good += log_many(499)
        assert llmlog.flush(30)
        assert sorted(sink.ids) == sorted(good)
        st = llmlog.stats()
        assert st["dead_lettered"] == 1
        dead = (tmp_path / "spool" / "dead-letter.jsonl").read_bytes().splitlines()
        assert len(dead) == 1
        entry = orjson.loads(dead[0])
        assert entry["record"]["request_id"] == bad
        assert "destination refused" in entry["error"]
        assert "a@b.example" not in dead[0].decode()  # written after redaction

    def test_several_bad_records_at_the_start_of_a_batch(self, tmp_path: Path) -> None:
        """Refusals of data in the first halves do not make the sink look down: the good
        records of the batch are written, the bad ones dead-lettered (none left waiting)."""
        sink = RecordingSink(spool_dir=tmp_path / "spool")
        sink.reject = lambda rec: rec["metadata"].get("poison")
        llmlog.configure(db="off", sinks=[sink], batch_size=1000)
        bad = [llmlog.log_interaction(MSGS, RESP, metadata={"poison": True}) for _ in range(3)]
        good = log_many(5)
        bad.append(llmlog.log_interaction(MSGS, RESP, metadata={"poison": True}))
        llmlog.shutdown(30)
        assert sorted(sink.ids) == sorted(good)
        assert llmlog.stats()["dead_lettered"] == len(bad)

    def test_a_down_sink_is_not_mistaken_for_bad_data(self, tmp_path: Path) -> None:
        """When every write fails, nothing is dead-lettered: it all waits in the spool."""
        sink = RecordingSink(spool_dir=tmp_path / "spool")
        sink.fail = True
        llmlog.configure(db="off", sinks=[sink])
        ids = log_many(300)
        llmlog.flush(10)
        assert llmlog.stats()["dead_lettered"] == 0
        assert sink.writes <= 10  # a down sink is not hammered by the splitting
        sink.fail = False
        llmlog.shutdown(10)
        assert sorted(set(sink.ids)) == sorted(ids)

    def test_verify_shows_dead_letters(self, tmp_path: Path, monkeypatch: Any) -> None:
        """``llmlog verify`` reports the store's dead letters with their path (exit 1)."""
        from llmlog.store.sqlite.write import SQLiteSink

        original = SQLiteSink._insert_interactions

        def refuse(db: Any, entries: dict[str, Any]) -> None:
            if any((e.get("metadata") or {}).get("poison") for e in entries.values()):
                raise ValueError("refused")
            original(db, entries)

        monkeypatch.setattr(SQLiteSink, "_insert_interactions", staticmethod(refuse))
        good = log_many(20)
        llmlog.log_interaction(MSGS, RESP, metadata={"poison": True})
        assert llmlog.flush(10)
        llmlog.shutdown()
        assert sorted(sqlite_ids()) == sorted(good)
        result = CliRunner().invoke(cli, ["verify"])
        assert result.exit_code == 1
        assert "dead letters" in result.output
        assert "1 record" in result.output and "llmlog.db-spool" in result.output


class TestPostgres:
    def test_huge_prompt_of_distinct_words_does_not_stop_the_store(self, pg_url: str) -> None:
        """A 2.2 MB prompt of 200k distinct words (too long for a tsvector) never blocks others."""
        llmlog.configure(db=pg_url)
        before = log_many(100)
        words = " ".join(f"w{i:06d}x" for i in range(200_000))
        big = llmlog.log_interaction([{"role": "user", "content": words}], RESP)
        after = log_many(100)
        assert llmlog.flush(60)
        stored = [r[0] for r in pg_rows(pg_url, "SELECT request_id FROM {s}.interactions")]
        assert sorted(stored) == sorted([*before, big, *after])


class TestImportRefusals:
    def test_import_reports_records_the_store_refuses(self, monkeypatch: Any) -> None:
        """``llmlog import``: a line the store refuses is counted and named; the rest land."""
        from llmlog.store.sqlite.write import SQLiteSink

        original = SQLiteSink._insert_interactions

        def refuse(db: Any, entries: dict[str, Any]) -> None:
            if any((e.get("metadata") or {}).get("poison") for e in entries.values()):
                raise ValueError("refused")
            original(db, entries)

        monkeypatch.setattr(SQLiteSink, "_insert_interactions", staticmethod(refuse))
        lines = [
            orjson.dumps(
                {
                    "event": "llm_interaction",
                    "request_id": f"r{i}",
                    "timestamp": 1732636800.0 + i,
                    "prompt_messages": MSGS,
                    "metadata": {"poison": i == 3},
                }
            )
            for i in range(10)
        ]
        Path("in.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        result = CliRunner().invoke(cli, ["import", "in.jsonl"])
        assert result.exit_code == 0, result.output
        assert "imported 9 interaction(s)" in result.output
        assert "1 record(s) refused by the store" in result.output
        assert sorted(sqlite_ids()) == sorted(f"r{i}" for i in range(10) if i != 3)
