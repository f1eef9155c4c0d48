"""A bare ``llmlog``: the latest interactions and the commands to go further."""

from __future__ import annotations

from pathlib import Path

from querydata import Run


class TestOverview:
    def test_latest_interactions_and_next_commands(self, sample: dict[str, str], run: Run) -> None:
        """With a store, it lists the latest interactions, then what to run next."""
        result = run()
        assert result.exit_code == 0
        lines = result.stdout.splitlines()
        assert [line.split("\t")[1] for line in lines[:6]] == [
            "req-0006",
            "req-0005",
            "req-0004",
            "req-0003",
            "req-0002",
            "req-0001",
        ]
        assert "Go further:" in lines
        assert any(line.strip().startswith("llmlog show ID") for line in lines)

    def test_without_a_store(self, run: Run, tmp_path: Path) -> None:
        """Without a store, it says how to get one and prints the help; exit 0."""
        result = run(db=tmp_path / "none.db")
        assert result.exit_code == 0
        assert result.stdout.startswith(f"No llmlog store at {tmp_path / 'none.db'} yet")
        assert "Commands:" in result.stdout
