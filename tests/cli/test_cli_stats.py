"""``llmlog stats``: counts, error rate, latency percentiles, tokens and cost."""

from __future__ import annotations

from typing import Any

import orjson
from querydata import Run


def rows(out: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.splitlines()]


class TestStats:
    def test_totals(self, sample: dict[str, str], run: Run) -> None:
        """All-time stats count every interaction, its errors, tokens and cost."""
        [row] = rows(run("stats", "--json").stdout)
        assert row["count"] == 6
        assert row["errors"] == 1
        assert row["error_rate"] == 1 / 6
        assert row["latency_p50_ms"] == 120  # exact (nearest rank): few rows are aggregated as rows
        assert row["latency_p99_ms"] == 30_000
        assert row["ttft_count"] == 1 and row["ttft_p50_ms"] == 50
        assert row["input_tokens"] == 83 and row["output_tokens"] == 20
        assert row["cost_count"] == 5  # the embedding call is priced on its input tokens
        assert abs(row["cost_usd"] - (0.000157 + 3 * 0.02 / 1e6)) < 1e-9
        assert row["approximate"] is False

    def test_by_model_largest_first(self, sample: dict[str, str], run: Run) -> None:
        """--by model gives one row per model, the busiest first."""
        out = run("stats", "--by", "model").stdout
        table = [line.split("\t") for line in out.splitlines()]
        assert [r[0] for r in table] == [
            "gpt-4o",
            "gpt-4o-mini",
            "claude-haiku-4-5",
            "text-embedding-3-small",
        ]
        assert table[0][1:4] == ["2", "1", "50.0%"]

    def test_by_tag_and_provider(self, sample: dict[str, str], run: Run) -> None:
        """--by tag counts an interaction once per tag; --by provider groups by provider."""
        by_tag = {
            r["group"]: r["count"] for r in rows(run("stats", "--by", "tag", "--json").stdout)
        }
        assert by_tag == {"prod": 4, "geo": 2, "support": 1, "staging": 1}
        by_provider = {
            r["group"]: r["count"] for r in rows(run("stats", "--by", "provider", "--json").stdout)
        }
        assert by_provider == {"openai": 5, "anthropic": 1}

    def test_by_day_with_filters(self, sample: dict[str, str], run: Run) -> None:
        """--by day buckets by local day; filters narrow what is counted."""
        days = rows(run("stats", "--by", "day", "--model", "gpt-4o-mini", "--json").stdout)
        assert sum(d["count"] for d in days) == 2
        assert all(len(d["period"]) == 10 for d in days)
        assert days == sorted(days, key=lambda d: d["bucket"])

    def test_empty_selection(self, sample: dict[str, str], run: Run) -> None:
        """Stats over nothing are zeros, not an error."""
        [row] = rows(run("stats", "--json", "--tag", "nope").stdout)
        assert row["count"] == 0 and row["latency_p50_ms"] is None
