"""``llmlog feedback``: score a logged interaction from the command line."""

from __future__ import annotations

from querydata import Run

from llmlog.store import open_store


class TestFeedback:
    def test_score_and_comment_are_stored(self, sample: dict[str, str], run: Run) -> None:
        """The score becomes the interaction's latest, and show lists it."""
        result = run("feedback", "req-0004", "--score", "3", "--comment", "meh")
        assert result.exit_code == 0
        assert result.stdout == "scored req-0004: 3 (meh)\n"
        with open_store("llmlog.db") as store:
            assert store.latest_scores(["req-0004"]) == {"req-0004": 3.0}
            [fb] = store.feedback("req-0004")
        assert fb["comment"] == "meh"
        assert 'feedback  3  "meh"' in run("show", "req-0004").stdout

    def test_unknown_request_id(self, sample: dict[str, str], run: Run) -> None:
        """Scoring an id that is not in the store fails with one line and exit code 1."""
        result = run("feedback", "req-9", "--score", "1")
        assert result.exit_code == 1
        assert result.stderr == "Error: no interaction with request id 'req-9'\n"
