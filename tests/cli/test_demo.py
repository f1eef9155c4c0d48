"""``llmlog demo``: the main job end to end, offline."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from llmlog.cli import cli


class TestDemo:
    def test_fills_the_store_and_says_what_next(self, tmp_path: Path) -> None:
        """The demo logs ~200 interactions with sessions, errors and feedback, PII redacted."""
        result = CliRunner().invoke(cli, ["demo", "--latency", "0.1"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "Logged 200 interactions" in result.output
        assert "llmlog stats" in result.output and "llmlog serve" in result.output
        db = sqlite3.connect(tmp_path / "llmlog.db")
        n, errors, sessions, models = db.execute(
            "SELECT count(*), sum(status = 'error'), count(DISTINCT session_id),"
            " count(DISTINCT model) FROM interactions"
        ).fetchone()
        assert n == 200 and errors > 0 and sessions > 10 and models >= 4
        assert db.execute("SELECT count(*) FROM feedback").fetchone()[0] > 0
        records = "\n".join(r[0] for r in db.execute("SELECT record FROM interactions"))
        assert "jane.doe@example.com" not in records
        assert "4111 1111 1111 1111" not in records
        assert "[EMAIL]" in records

    def test_deterministic(self, tmp_path: Path) -> None:
        """Two demo runs produce the same prompts and outputs."""
        outs = []
        for name in ("a.db", "b.db"):
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "llmlog.cli",
                    "--db",
                    name,
                    "demo",
                    "-n",
                    "30",
                    "--latency",
                    "0",
                ],
                capture_output=True,
                cwd=tmp_path,
            )
            assert run.returncode == 0, (run.stdout + run.stderr).decode(errors="replace")[-3000:]
            db = sqlite3.connect(tmp_path / name)
            outs.append(
                sorted(
                    r[0]
                    for r in db.execute(
                        "SELECT json_extract(record, '$.parsed_output') FROM interactions"
                    )
                )
            )
        assert outs[0] == outs[1]

    def test_bad_option_is_one_line_error(self) -> None:
        """A bad option value is one Error line with exit code 1, not a traceback."""
        result = CliRunner().invoke(cli, ["demo", "-n", "0"])
        assert result.exit_code == 1
        assert "Traceback" not in result.output
        assert [ln for ln in result.output.splitlines() if ln.strip()] == [
            "Error: Invalid value for '-n' / '--count': 0 is not in the range 1<=x<=100000. "
            "(see 'cli demo --help')"
        ]
