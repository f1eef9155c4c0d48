"""The PostgreSQL store, against a real server (CI starts one; see .ci/services)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from helpers import MESSAGES, RESPONSE

import llmlog

psycopg = pytest.importorskip("psycopg")

DSN = os.environ.get("LLMLOG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def rows(url: str, query: str) -> list[tuple]:
    conninfo, schema = url.split("?schema=")
    with psycopg.connect(conninfo) as db:
        return db.execute(query.replace("{s}", f'"{schema}"')).fetchall()


class TestPostgresSink:
    def test_records_land_with_columns_and_jsonb(self, pg_url: str) -> None:
        """A logged interaction is a row with its columns and the record as JSONB."""
        llmlog.configure(db=pg_url)
        rid = llmlog.log_interaction(
            MESSAGES, RESPONSE, model="gpt-4o-mini", tags=["a", "b"], session_id="s1"
        )
        assert llmlog.flush(10)
        [(got, model, status, inp, tags, session, record)] = rows(
            pg_url,
            "SELECT request_id, model, status, input_tokens, tags, session_id, record "
            "FROM {s}.interactions",
        )
        assert (got, model, status, inp, tags, session) == (
            rid,
            "gpt-4o-mini",
            "ok",
            20,
            ["a", "b"],
            "s1",
        )
        assert record["prompt_messages"] == MESSAGES
        assert record["llm_raw_response"] == RESPONSE
        assert record["request_id"] == rid

    def test_full_text_and_migrations(self, pg_url: str) -> None:
        """The tsvector finds words of the prompt; migrations are recorded once."""
        llmlog.configure(db=pg_url)
        llmlog.log_interaction(
            [{"role": "user", "content": "Where is my refund?"}],
            None,
            parsed_output="It is on its way.",
        )
        llmlog.log_interaction([{"role": "user", "content": "Hello"}], None, parsed_output="Hi")
        assert llmlog.flush(10)
        found = rows(
            pg_url,
            "SELECT record->>'parsed_output' FROM {s}.interactions "
            "WHERE search @@ to_tsquery('simple', 'refund')",
        )
        assert found == [("It is on its way.",)]
        assert rows(pg_url, "SELECT name FROM {s}._llmlog_migrations ORDER BY name") == [
            ("m001_initial",),
            ("m002_reader_indexes",),
            ("m003_feedback_id",),
            ("m004_spans",),
        ]

    def test_duplicates_are_ignored_and_feedback_stored(self, pg_url: str) -> None:
        """The same request id twice is one row; feedback lands in its table."""
        llmlog.configure(db=pg_url)
        llmlog.log_interaction(MESSAGES, RESPONSE, request_id="dup-1")
        llmlog.log_interaction(MESSAGES, RESPONSE, request_id="dup-1")
        llmlog.feedback("dup-1", 0.5, "fine")
        assert llmlog.flush(10)
        assert rows(pg_url, "SELECT count(*) FROM {s}.interactions") == [(1,)]
        assert rows(pg_url, "SELECT request_id, score, comment FROM {s}.feedback") == [
            ("dup-1", 0.5, "fine")
        ]

    def test_nul_characters_do_not_block_the_store(self, pg_url: str) -> None:
        """NUL characters (which PostgreSQL refuses) are replaced, and the record lands."""
        llmlog.configure(db=pg_url)
        llmlog.log_interaction(
            [{"role": "user", "content": "bad\x00byte"}],
            None,
            parsed_output="ok\x00",
            session_id="s\x00",
        )
        assert llmlog.flush(10)
        [(content, session)] = rows(
            pg_url,
            "SELECT record->'prompt_messages'->0->>'content', session_id FROM {s}.interactions",
        )
        assert content == "bad\ufffdbyte" and session == "s\ufffd"

    def test_unreachable_server_spools_and_never_raises(self, tmp_path) -> None:
        """A store that cannot be reached costs the app nothing: records wait in the spool."""
        llmlog.configure(
            db="postgresql://postgres@127.0.0.1:1/none",
            raise_errors=False,
            spool_dir=str(tmp_path / "spool"),
        )
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(30)
        assert llmlog.stats()["spooled"] == 1
        assert list((tmp_path / "spool").rglob("*.jsonl*"))

    def test_many_processes_share_one_store(self, pg_url: str) -> None:
        """Three processes writing the same PostgreSQL store at once: all rows, no errors."""
        script = textwrap.dedent(f"""
            import sys, llmlog
            llmlog.configure(db={pg_url!r})
            for i in range(300):
                llmlog.log_interaction([{{"role": "user", "content": "hi"}}], None,
                                       parsed_output="x", metadata={{"w": sys.argv[1]}})
            llmlog.flush()
            assert llmlog.stats()["sink_errors"] == 0, llmlog.stats()
        """)
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(w)], stderr=subprocess.PIPE, text=True
            )
            for w in range(3)
        ]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        assert rows(
            pg_url, "SELECT count(*), count(DISTINCT request_id) FROM {s}.interactions"
        ) == [(900, 900)]
