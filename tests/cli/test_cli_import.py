"""``llmlog import``: llmlog JSON lines and classic-snippet log files, idempotently."""

from __future__ import annotations

import gzip
import json
import logging
import time
import uuid
from pathlib import Path

import orjson
import pytest
from querydata import Run

import llmlog


def write_classic_log(path: Path, n: int, *, email: bool = False) -> list[str]:
    """Log ``n`` interactions exactly as the classic snippet does, into ``path``."""
    logger = logging.getLogger(f"app.{uuid.uuid4().hex}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    logger.addHandler(handler)
    ids = []
    try:
        logger.info("Starting the application")
        for i in range(n):
            rid = str(uuid.uuid4())
            messages = [
                {"role": "system", "content": "You are a helpful assistant."},
                {
                    "role": "user",
                    "content": f"Question {i}" + (" from jane.doe@example.com" if email else ""),
                },
            ]
            raw = {"choices": [{"message": {"role": "assistant", "content": f"Answer {i}"}}]}
            logger.info(
                json.dumps(
                    {
                        "event": "llm_interaction",
                        "request_id": rid,
                        "model": "gpt-3.5-turbo",
                        "prompt_messages": messages,
                        "llm_raw_response": raw,
                        "parsed_output": raw["choices"][0]["message"]["content"],
                        "timestamp": time.time(),
                    }
                )
            )
            ids.append(rid)
    finally:
        handler.close()
        logger.removeHandler(handler)
    return ids


def stored(run: Run, db: Path) -> list[dict[str, object]]:
    out = run("export", "-f", "jsonl", db=db).stdout
    return [orjson.loads(x) for x in out.splitlines()]


class TestImport:
    def test_classic_snippet_log(self, tmp_path: Path, run: Run) -> None:
        """A log written by the classic snippet imports with its fields and request ids."""
        llmlog.configure(db="off", processors=[])
        log = tmp_path / "llm_interactions.log"
        ids = write_classic_log(log, 3)
        db = tmp_path / "new.db"
        result = run("import", str(log), db=db)
        assert result.exit_code == 0
        assert result.stdout == (
            "imported 3 interaction(s) from 4 line(s)\n"
            "skipped 1 line(s) that are not llmlog records "
            "(1 no JSON object)\n"
        )
        recs = stored(run, db)
        assert [r["request_id"] for r in recs] == ids
        assert recs[0]["model"] == "gpt-3.5-turbo"
        assert recs[0]["provider"] == "openai"
        assert recs[0]["parsed_output"] == "Answer 0"
        assert recs[0]["prompt_messages"][1] == {"role": "user", "content": "Question 0"}

    def test_reimport_is_idempotent(self, tmp_path: Path, run: Run) -> None:
        """Importing the same file twice adds nothing the second time, and says so."""
        llmlog.configure(db="off", processors=[])
        log = tmp_path / "app.log"
        write_classic_log(log, 5)
        db = tmp_path / "new.db"
        run("import", str(log), db=db)
        again = run("import", str(log), str(log), db=db)
        assert again.stdout.splitlines()[0] == (
            "imported 0 interaction(s) from 12 line(s); 10 already in the store"
        )
        assert len(stored(run, db)) == 5

    def test_gzip_and_llmlog_jsonl_with_feedback(
        self, sample: dict[str, str], run: Run, tmp_path: Path
    ) -> None:
        """An export re-imports from a gzip file, feedback lines included."""
        records = run("export", "-f", "jsonl").stdout.encode()
        feedback = (
            b'{"event":"llm_feedback","request_id":"req-0001","score":5,'
            b'"comment":"ok","timestamp":1.5}\n'
        )
        gz = tmp_path / "dump.jsonl.gz"
        gz.write_bytes(gzip.compress(records + feedback))
        db = tmp_path / "copy.db"
        result = run("import", str(gz), db=db)
        assert result.stdout == ("imported 6 interaction(s) from 7 line(s); 1 feedback score(s)\n")
        assert stored(run, db) == stored(run, tmp_path / "llmlog.db")
        assert run("search", "--min-score", "5", db=db).stdout.count("\n") == 1
        assert "1 feedback" not in run("import", str(gz), db=db).stdout

    def test_malformed_lines_reported_rest_imported(self, tmp_path: Path, run: Run) -> None:
        """Malformed lines are listed with file:line on stderr; the others are imported."""
        llmlog.configure(db="off", processors=[])
        good = {
            "event": "llm_interaction",
            "request_id": "a",
            "prompt_messages": [],
            "parsed_output": "x",
            "timestamp": 1_700_000_000,
        }
        path = tmp_path / "mixed.jsonl"
        path.write_text(
            "\n".join(
                [
                    json.dumps(good),
                    '{"event": "llm_interaction", "prompt_messages": [',
                    "[1, 2, 3]",
                    "",
                    json.dumps({**good, "request_id": "b", "timestamp": None}),
                    json.dumps({**good, "request_id": "c"}),
                ]
            )
            + "\n"
        )
        result = run("import", str(path), db=tmp_path / "new.db")
        assert result.exit_code == 0
        assert result.stdout == "imported 2 interaction(s) from 6 line(s)\n"
        assert result.stderr == (
            "3 malformed line(s):\n"
            f"  {path}:2: invalid JSON (unexpected end of data)\n"
            f"  {path}:3: not a JSON object\n"
            f"  {path}:5: no timestamp\n"
        )

    def test_redaction_applies(self, tmp_path: Path, run: Run) -> None:
        """With the default processors, imported text is redacted before it is stored."""
        llmlog.configure(db="off")  # default processors: redaction on
        log = tmp_path / "app.log"
        write_classic_log(log, 2, email=True)
        db = tmp_path / "new.db"
        assert run("import", str(log), db=db).exit_code == 0
        recs = stored(run, db)
        text = json.dumps(recs)
        assert "jane.doe@example.com" not in text
        assert recs[0]["redaction"]

    def test_missing_timestamp_comes_from_the_log_prefix(self, tmp_path: Path, run: Run) -> None:
        """A record without a timestamp takes the logging prefix's time (local time)."""
        llmlog.configure(db="off", processors=[])
        path = tmp_path / "app.log"
        path.write_text(
            '2025-01-01 12:00:00,250 - app - INFO - {"event": "llm_interaction",'
            ' "prompt_messages": [{"role": "user", "content": "hi"}]}\n'
        )
        db = tmp_path / "new.db"
        run("import", str(path), db=db)
        [rec] = stored(run, db)
        assert rec["timestamp"] == time.mktime((2025, 1, 1, 12, 0, 0, 0, 0, -1)) + 0.25
        run("import", str(path), db=db)
        assert len(stored(run, db)) == 1  # the derived request id is stable

    def test_write_failure_is_one_line(
        self, tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If the store cannot be written, import stops with one line naming the cause."""
        from llmlog.store.sqlite.write import SQLiteSink

        def fail(self: SQLiteSink, batch: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(SQLiteSink, "write", fail)
        llmlog.configure(db="off", processors=[])
        log = tmp_path / "app.log"
        write_classic_log(log, 3)
        result = run("import", str(log), db=tmp_path / "new.db")
        assert result.exit_code == 1
        assert result.stderr.endswith(
            f"Error: cannot write to {tmp_path / 'new.db'}: OSError: disk full\n"
        )
