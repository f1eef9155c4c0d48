"""``llmlog prune``: delete old interactions with everything that belongs to them."""

from __future__ import annotations

from querydata import BASE, HOUR, Run

from llmlog.store import Query, open_store


class TestPrune:
    def test_deletes_rows_tags_feedback_and_index_entries(
        self, sample: dict[str, str], run: Run
    ) -> None:
        """Old interactions go with their tags, feedback and full-text entries."""
        cutoff = str(int(BASE + 2 * HOUR))
        result = run("prune", "--older-than", cutoff, "--yes")
        assert result.exit_code == 0
        assert result.stdout.startswith("deleted 3 interaction(s) older than ")
        assert result.stdout.endswith(", 5 tag(s), 3 feedback score(s)\n")
        assert run("search", "refund").stdout == ""
        assert [x.split("\t")[1] for x in run("search", "France").stdout.splitlines()] == [
            "req-0006"
        ]
        assert run("verify").exit_code == 0
        with open_store("llmlog.db") as store:
            [row] = store.stats()
            assert row.count == 3
            assert {r.group: r.count for r in store.stats(by="tag")} == {"prod": 2, "geo": 1}
            assert store.count(Query(min_score=0)) == 0

    def test_dry_run_and_confirmation(self, sample: dict[str, str], run: Run) -> None:
        """--dry-run only counts; without --yes and no terminal it refuses."""
        assert run("prune", "--older-than", "1h", "--dry-run").stdout.startswith(
            "6 interaction(s) older than "
        )
        refused = run("prune", "--older-than", "1h")
        assert refused.exit_code == 1
        assert refused.stderr == (
            "Error: refusing to delete 6 interaction(s) without confirmation: pass --yes\n"
        )
        with open_store("llmlog.db") as store:
            assert store.count() == 6
