"""The SQLite store's schema and write path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from helpers import MESSAGES, RESPONSE, db_records

import llmlog
from llmlog.store.sqlite.schema import MIGRATIONS
from llmlog.store.sqlite.write import PAGE_SIZE, connect


class TestSchema:
    def test_blank_database(self, tmp_path: Path) -> None:
        """A new store has the documented tables, columns, WAL and large pages."""
        db = connect(tmp_path / "new.db")
        cols = [r[1] for r in db.execute("PRAGMA table_info(interactions)")]
        assert cols == [
            "id",
            "request_id",
            "ts",
            "provider",
            "operation",
            "model",
            "response_model",
            "status",
            "duration_ms",
            "ttft_ms",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cached_input_tokens",
            "reasoning_tokens",
            "tokens_estimated",
            "cost_usd",
            "session_id",
            "user_id",
            "trace_id",
            "error_type",
            "record",
        ]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {
            "interactions",
            "interaction_tags",
            "feedback",
            "interactions_fts",
            "_llmlog_migrations",
        } <= tables
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
        applied = [r[0] for r in db.execute("SELECT name FROM _llmlog_migrations ORDER BY rowid")]
        assert applied == [m.__name__ for m in MIGRATIONS]

    def test_migrations_are_idempotent(self, tmp_path: Path) -> None:
        """Opening a store again applies nothing twice."""
        connect(tmp_path / "s.db").close()
        db = connect(tmp_path / "s.db")
        n = db.execute("SELECT count(*) FROM _llmlog_migrations").fetchone()[0]
        assert n == len(MIGRATIONS)

    def test_not_a_database(self, tmp_path: Path) -> None:
        """A file that is not SQLite is an error naming it, at open time."""
        bad = tmp_path / "notes.db"
        bad.write_text("hello, this is not a database" * 100)
        try:
            connect(bad)
        except sqlite3.DatabaseError as exc:
            assert "not a database" in str(exc)
        else:  # pragma: no cover
            raise AssertionError("expected DatabaseError")


class TestWrites:
    def test_rows_tags_and_fts(self) -> None:
        """Columns, tags and the full-text index are written with the record."""
        llmlog.configure()
        llmlog.log_interaction(MESSAGES, RESPONSE, tags=["x", "y"], user_id="u1")
        llmlog.flush(10)
        db = sqlite3.connect("llmlog.db")
        assert db.execute(
            "SELECT model, status, input_tokens, user_id FROM interactions"
        ).fetchall() == [("gpt-4o-mini-2024-07-18", "ok", 20, "u1")]
        assert sorted(r[0] for r in db.execute("SELECT tag FROM interaction_tags")) == ["x", "y"]
        assert db.execute(
            "SELECT count(*) FROM interactions_fts WHERE interactions_fts MATCH 'paris'"
        ).fetchone() == (1,)

    def test_duplicate_request_ids_are_written_once(self) -> None:
        """A record replayed (same request id) is not stored twice, and its FTS row neither."""
        llmlog.configure()
        llmlog.log_interaction(MESSAGES, RESPONSE, request_id="same")
        llmlog.flush(10)
        llmlog.log_interaction(MESSAGES, RESPONSE, request_id="same")
        llmlog.flush(10)
        assert len(db_records()) == 1
        db = sqlite3.connect("llmlog.db")
        assert db.execute(
            "SELECT count(*) FROM interactions_fts WHERE interactions_fts MATCH 'paris'"
        ).fetchone() == (1,)

    def test_system_prompt_not_indexed_new_turn_is(self) -> None:
        """The index holds the new turn and the output, not the repeated system prompt."""
        llmlog.configure()
        msgs = [
            {"role": "system", "content": "zebra instructions"},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "second giraffe question"},
        ]
        llmlog.log_interaction(msgs, None, parsed_output="second answer")
        llmlog.flush(10)
        db = sqlite3.connect("llmlog.db")

        def hits(word: str) -> int:
            return db.execute(
                "SELECT count(*) FROM interactions_fts WHERE interactions_fts MATCH ?", (word,)
            ).fetchone()[0]

        assert hits("giraffe") == 1 and hits("second") == 1
        assert hits("zebra") == 0 and hits("first") == 0
