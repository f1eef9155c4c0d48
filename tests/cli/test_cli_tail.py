"""``llmlog tail``: the latest interactions, and following new ones."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from querydata import BASE, Run, log_chat

import llmlog
from llmlog.cli import tail_cmd


class TestTail:
    def test_latest_in_write_order(self, sample: dict[str, str], run: Run) -> None:
        """Without -f, the last N written are printed, oldest of them first."""
        out = run("tail", "-n", "2").stdout
        assert [line.split("\t")[1] for line in out.splitlines()] == ["req-0005", "req-0006"]

    def test_follow_prints_new_interactions(
        self, sample: dict[str, str], run: Run, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """-f prints what is written after it started, until interrupted (exit 0)."""
        polls: list[float] = []

        def fake_sleep(seconds: float) -> None:
            polls.append(seconds)
            if len(polls) == 1:
                log_chat("req-0100", BASE + 30, user="late arrival", tags=["prod"])
                log_chat("req-0101", BASE + 31, model="gpt-4o", user="filtered out")
                assert llmlog.flush(10)
            elif len(polls) == 3:
                raise KeyboardInterrupt

        monkeypatch.setattr(tail_cmd.time, "sleep", fake_sleep)
        result = run("tail", "-f", "-n", "1", "--json", "-m", "gpt-4o-mini", "--interval", "0.1")
        assert result.exit_code == 0
        recs: list[dict[str, Any]] = [orjson.loads(x) for x in result.stdout.splitlines()]
        assert [r["request_id"] for r in recs] == ["req-0006", "req-0100"]
        assert polls == [0.1, 0.1, 0.1]
