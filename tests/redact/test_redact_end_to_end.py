"""Issue 3's acceptance: after logging the labelled corpus with the defaults, none of its PII
values appear anywhere: the SQLite file (and its WAL), the JSON-lines file, the spool, the
stdlib log output."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import llmlog
from llmlog.sinks.base import Entry
from llmlog.sinks.memory import MemorySink

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "corpus"))
from generate import generate  # noqa: E402


class DownSink(MemorySink):
    """A store that is always down, so everything it should get is spooled."""

    name = "down"

    def __init__(self, spool_dir: Path) -> None:
        super().__init__()
        self.spool_dir = spool_dir

    def write(self, batch: Sequence[Entry]) -> None:
        raise OSError("store unreachable")


def _forms(value: str) -> set[bytes]:
    """The ways a value can be written in a file: as UTF-8, and JSON-escaped."""
    escaped = json.dumps(value)[1:-1]
    return {value.encode(), escaped.encode(), json.dumps(value, ensure_ascii=False)[1:-1].encode()}


class TestCorpusLeavesNoTrace:
    def test_no_pii_value_anywhere(self, tmp_path: Path) -> None:
        """Every PII value of the corpus is absent from every file llmlog wrote."""
        corpus = [s for s in generate(800, seed=7) if s["spans"]]
        log_file = tmp_path / "app.log"
        handler = logging.FileHandler(log_file)
        handler.setFormatter(llmlog.JsonFormatter())
        logger = logging.getLogger("llmlog")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        llmlog.configure(
            db=str(tmp_path / "store.db"),
            jsonl=str(tmp_path / "llm.jsonl"),
            sinks=[DownSink(tmp_path / "spool")],
            raise_errors=False,
        )
        for s in corpus:  # defaults: redaction on, content captured (redacted)
            llmlog.log_interaction(
                [
                    {"role": "system", "content": "You are helpful."},
                    {"role": "user", "content": s["text"]},
                ],
                {"choices": [{"message": {"role": "assistant", "content": s["text"]}}]},
                metadata={"note": s["text"][:200]},
                model="gpt-4o-mini",
            )
        assert llmlog.flush(60)
        handler.close()
        assert llmlog.stats()["spooled"] == len(corpus)
        files = [
            tmp_path / "store.db",
            tmp_path / "llm.jsonl",
            log_file,
            *(tmp_path / "spool").rglob("*"),
        ]
        wal = tmp_path / "store.db-wal"
        if wal.exists():
            files.append(wal)
        blobs = {f.name: f.read_bytes() for f in files if f.is_file()}
        assert len(blobs) >= 4 and all(blobs.values())
        leaks = []
        for s in corpus:
            for start, end, kind in s["spans"]:
                value = s["text"][start:end]
                if len(value) < 6:
                    continue  # too short to tell from unrelated text
                for name, blob in blobs.items():
                    if any(form in blob for form in _forms(value)):
                        leaks.append((kind, value, name))
        assert leaks == []

    def test_redaction_is_the_default(self) -> None:
        """Without any configuration, a logged e-mail address is stored redacted."""
        llmlog.log_interaction(
            [{"role": "user", "content": "I am jane.doe@example.com"}], None, parsed_output="ok"
        )
        llmlog.flush(10)
        data = Path("llmlog.db").read_bytes() + (
            Path("llmlog.db-wal").read_bytes() if Path("llmlog.db-wal").exists() else b""
        )
        assert b"jane.doe@example.com" not in data
        assert b"[EMAIL]" in data


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
