"""``llmlog search``: filters, full text, output formats."""

from __future__ import annotations

import orjson
from querydata import BASE, HOUR, Run, normalise


def ids(out: str) -> list[str]:
    return [line.split("\t")[1] for line in out.splitlines()]


class TestSearch:
    def test_piped_output_is_tab_separated_newest_first(
        self, sample: dict[str, str], run: Run
    ) -> None:
        """Piped, each interaction is one tab-separated line, newest first."""
        result = run("search", "-n", "3")
        assert result.exit_code == 0
        assert normalise(result.stdout).splitlines() == [
            "<TIME>\treq-0006\tgpt-4o-mini\tok\t80ms\t25\t$0.000006\t"
            "What is the capital of France? → The capital of France is Paris.",
            "<TIME>\treq-0005\ttext-embedding-3-small\tok\t30ms\t3\t$6.0e-08\t"
            '{"count":1,"dimensions":2}',
            "<TIME>\treq-0004\tclaude-haiku-4-5\tok\t400ms\t25\t$0.000045\t"
            "Tell me a joke about penguins → Why don't penguins fly? They're not pilots.",
        ]

    def test_json_is_one_record_per_line(self, sample: dict[str, str], run: Run) -> None:
        """--json prints each matching record, in the record format, on its own line."""
        result = run("search", "--json", "-m", "gpt-4o")
        recs = [orjson.loads(line) for line in result.stdout.splitlines()]
        assert [r["request_id"] for r in recs] == ["req-0003", "req-0002"]
        assert recs[1]["event"] == "llm_interaction"
        assert recs[1]["tool_calls"][0]["name"] == "refund_order"

    def test_filters_combine(self, sample: dict[str, str], run: Run) -> None:
        """Model, status, user, session, tag, metadata and provider filters all apply."""
        assert ids(run("search", "--status", "error").stdout) == ["req-0003"]
        assert ids(run("search", "--user", "u-1").stdout) == ["req-0002", "req-0001"]
        assert ids(run("search", "--session", "s-1", "-m", "gpt-4o").stdout) == ["req-0002"]
        assert ids(run("search", "--tag", "prod", "--tag", "geo").stdout) == [
            "req-0006",
            "req-0001",
        ]
        assert ids(run("search", "--meta", "tenant=acme").stdout) == ["req-0001"]
        assert ids(run("search", "--meta", "tier=2", "--meta", "beta=true").stdout) == ["req-0001"]
        assert ids(run("search", "--provider", "anthropic").stdout) == ["req-0004"]

    def test_time_window(self, sample: dict[str, str], run: Run) -> None:
        """--since and --until bound the interactions' start time."""
        assert ids(run("search", "--since", "25h").stdout) == ["req-0006"]
        since, until = str(int(BASE + HOUR)), str(int(BASE + 3 * HOUR + 1))
        assert ids(run("search", "--since", since, "--until", until).stdout) == [
            "req-0005",
            "req-0004",
            "req-0003",
        ]

    def test_full_text_words_phrases_and_prefixes(self, sample: dict[str, str], run: Run) -> None:
        """Words must all occur, quoted phrases in order, and word* matches a prefix."""
        assert ids(run("search", "refund order").stdout) == ["req-0002"]
        assert ids(run("search", '"capital of France"').stdout) == ["req-0006", "req-0001"]
        assert ids(run("search", '"France of capital"').stdout) == []
        assert ids(run("search", "pengu*").stdout) == ["req-0004"]
        assert ids(run("search", "RateLimitError").stdout) == ["req-0003"]

    def test_min_score_uses_the_latest_feedback(self, sample: dict[str, str], run: Run) -> None:
        """--min-score keeps interactions whose latest feedback score is high enough."""
        assert ids(run("search", "--min-score", "4").stdout) == ["req-0002", "req-0001"]
        assert ids(run("search", "--min-score", "5").stdout) == ["req-0001"]
        assert ids(run("search", "--max-score", "4.5").stdout) == ["req-0002"]

    def test_nothing_matches(self, sample: dict[str, str], run: Run) -> None:
        """No match prints nothing on stdout, says so on stderr, and exits 0."""
        result = run("search", "zebra")
        assert result.exit_code == 0
        assert result.stdout == ""
        assert "no interactions match" in result.stderr

    def test_cursor_continues_a_page(self, sample: dict[str, str], run: Run) -> None:
        """--cursor continues after the page it came from."""
        from llmlog.store import open_store

        with open_store("llmlog.db") as store:
            cursor = store.search(limit=4).next_cursor
        assert cursor is not None
        assert ids(run("search", "-n", "4", "--cursor", cursor).stdout) == ["req-0002", "req-0001"]
