"""Bad input: one line naming the problem, exit code 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from querydata import Run

CASES = [
    (
        ("search", "--since", "yesterdayish"),
        "Invalid value for '--since': 'yesterdayish' is not a time",
    ),
    (("search", "--status", "maybe"), "Invalid value for '--status'"),
    (("search", "--meta", "=x"), "Invalid value for '--meta': expected key=value"),
    (("search", "--since", "1h", "--until", "2h"), "invalid filter: since must be earlier"),
    (("search", "--cursor", "garbage!"), "invalid cursor"),
    (("search", "!!!"), "has no words to search for"),
    (("search", "--nope"), "No such option '--nope'"),
    (("export", "--format", "xml"), "Invalid value for '--format' / '-f': 'xml' is not one of"),
    (("export", "--format", "parquet"), "parquet export needs --out FILE"),
    (("show", "req-9999"), "no interaction with request id 'req-9999'"),
    (("show",), "Missing argument 'REQUEST_ID'"),
    (("import", "missing.jsonl"), "File 'missing.jsonl' does not exist"),
    (("feedback", "req-0001", "--score", "nan"), "--score must be a finite number"),
    (("feedback", "req-0001", "--score", "high"), "Invalid value for '--score' / '-s'"),
    (("prune", "--older-than", "soon", "--yes"), "Invalid value for '--older-than'"),
    (("stats", "--by", "colour"), "Invalid value for '--by'"),
    (("tail", "-n", "-3"), "Invalid value for '-n' / '--lines'"),
]


class TestBadInput:
    @pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
    def test_one_line_and_exit_1(
        self, sample: dict[str, str], run: Run, args: tuple[str, ...], message: str
    ) -> None:
        """A bad option, value or id is reported on one line, with exit code 1."""
        result = run(*args)
        assert result.exit_code == 1
        assert "Traceback" not in result.output
        assert result.stderr.startswith("Error: ")
        assert result.stderr.count("\n") == 1
        assert message in result.stderr

    @pytest.mark.parametrize(
        "command",
        ["search", "stats", "tail", "verify", "export -f jsonl", "show x", "prune --older-than 1d"],
    )
    def test_missing_store(self, run: Run, tmp_path: Path, command: str) -> None:
        """A store that does not exist is named in a one-line error, for every command."""
        result = run(*command.split(), db=tmp_path / "nowhere.db")
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: no llmlog store at {tmp_path / 'nowhere.db'}: log "
            "something first (or run 'llmlog demo'), or point --db / "
            "LLMLOG_DB at your store\n"
        )

    @pytest.mark.parametrize("content", [b"hello, I am a text file\n" * 100, b"\x00" * 4096])
    def test_not_a_database(self, run: Run, tmp_path: Path, content: bytes) -> None:
        """A file that is not an SQLite database is refused without touching it."""
        path = tmp_path / "notes.txt"
        path.write_bytes(content)
        for command in (["search"], ["import", str(path)]):
            result = run(*command, db=path)
            assert result.exit_code == 1
            assert result.stderr.startswith(f"Error: {path} is not an llmlog store")
        assert path.read_bytes() == content

    def test_another_apps_database(self, run: Run, tmp_path: Path) -> None:
        """An SQLite database without llmlog's tables is refused, not migrated."""
        import sqlite3

        path = tmp_path / "app.db"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE users (id INTEGER)")
        db.commit()
        db.close()
        result = run("stats", db=path)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: {path} is not an llmlog store (an SQLite database without llmlog's tables)\n"
        )
