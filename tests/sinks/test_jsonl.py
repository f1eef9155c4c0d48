"""JSON lines: one record per line with the classic field names, size-based rotation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from helpers import MESSAGES, RESPONSE

import llmlog

CLASSIC = (
    "event",
    "request_id",
    "model",
    "prompt_messages",
    "llm_raw_response",
    "parsed_output",
    "timestamp",
)


class TestJsonl:
    def test_one_record_per_line_with_classic_fields(self, tmp_path: Path) -> None:
        """Each line parses alone and carries the classic snippet's field names."""
        out = tmp_path / "llm.jsonl"
        llmlog.configure(db="off", jsonl=str(out))
        for i in range(3):
            llmlog.log_interaction(MESSAGES, RESPONSE, model="gpt-4o-mini", metadata={"i": i})
        llmlog.flush(10)
        lines = out.read_text().splitlines()
        assert len(lines) == 3
        for i, line in enumerate(lines):
            rec = json.loads(line)
            assert all(k in rec for k in CLASSIC)
            assert rec["event"] == "llm_interaction" and rec["metadata"] == {"i": i}

    def test_rotation_by_size_keeps_backups(self, tmp_path: Path) -> None:
        """Past max_bytes the file rotates to .1, .2, ...; nothing is lost within the backups."""
        out = tmp_path / "llm.jsonl"
        llmlog.configure(
            db="off", jsonl=str(out), jsonl_max_bytes=20_000, jsonl_backups=50, batch_size=4
        )
        n = 60
        for i in range(n):
            llmlog.log_interaction(MESSAGES, RESPONSE, metadata={"i": i})
            if i % 4 == 3:
                llmlog.flush(10)
        llmlog.flush(10)
        files = sorted(tmp_path.glob("llm.jsonl*"))
        assert len(files) > 2
        seen = [
            json.loads(line)["metadata"]["i"] for f in files for line in f.read_text().splitlines()
        ]
        assert sorted(seen) == list(range(n))
        assert all(f.stat().st_size < 20_000 + 5 * 3_000 for f in files)

    def test_backups_limit(self, tmp_path: Path) -> None:
        """Only the configured number of rotated files is kept."""
        out = tmp_path / "llm.jsonl"
        llmlog.configure(
            db="off", jsonl=str(out), jsonl_max_bytes=5_000, jsonl_backups=2, batch_size=1
        )
        for _ in range(30):
            llmlog.log_interaction(MESSAGES, RESPONSE)
            llmlog.flush(10)
        assert sorted(p.name for p in tmp_path.glob("llm.jsonl*")) == [
            "llm.jsonl",
            "llm.jsonl.1",
            "llm.jsonl.2",
        ]

    def test_processes_appending_one_file_never_interleave(self, tmp_path: Path) -> None:
        """Three processes appending to one file produce only whole, valid lines."""
        out = tmp_path / "shared.jsonl"
        script = textwrap.dedent(f"""
            import llmlog
            llmlog.configure(db="off", jsonl={str(out)!r}, jsonl_max_bytes=0)
            for i in range(300):
                llmlog.log_interaction([{{"role": "user", "content": "x" * 3000}}], None,
                                       parsed_output="y")
        """)
        procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
        assert all(p.wait(timeout=120) == 0 for p in procs)
        lines = out.read_text().splitlines()
        assert len(lines) == 900
        assert all(json.loads(line)["parsed_output"] == "y" for line in lines)
