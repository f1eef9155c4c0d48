"""The public API is typed: documented usage type-checks under mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import llmlog

ROOT = Path(__file__).resolve().parent.parent


class TestPublicTyping:
    def test_api_examples_type_check(self) -> None:
        """tests/typing/api.py, the documented usage, passes mypy --strict."""
        pytest.importorskip("mypy")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--strict",
                "--no-error-summary",
                "--cache-dir",
                str(ROOT / ".mypy_cache"),
                str(ROOT / "tests" / "typing" / "api.py"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def test_package_is_marked_typed(self) -> None:
        """The package ships py.typed so users' type checkers read its annotations."""
        assert (Path(llmlog.__file__).parent / "py.typed").exists()


class TestExportedMembers:
    def test_all_names_exist(self) -> None:
        """Every name in llmlog.__all__ is importable from llmlog."""
        for name in llmlog.__all__:
            assert getattr(llmlog, name) is not None, name

    def test_contract_api_is_public(self) -> None:
        """The calls of CONTRACT.md are all public names."""
        for name in (
            "configure",
            "instrument",
            "uninstrument",
            "log_interaction",
            "interaction",
            "logged",
            "context",
            "feedback",
            "flush",
            "shutdown",
            "redact_text",
        ):
            assert name in llmlog.__all__

    def test_import_does_no_io(self, tmp_path: Path) -> None:
        """Importing llmlog creates no file and starts no thread."""
        code = (
            "import threading, llmlog; assert threading.active_count() == 1, threading.enumerate()"
        )
        subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
        assert list(tmp_path.iterdir()) == []
