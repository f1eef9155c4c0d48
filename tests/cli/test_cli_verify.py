"""``llmlog verify``: integrity checks, and repair of what can be rebuilt."""

from __future__ import annotations

import sqlite3

from querydata import Run


class TestVerify:
    def test_healthy_store(self, sample: dict[str, str], run: Run) -> None:
        """Every check passes on a store written by llmlog, and the counts are printed."""
        result = run("verify")
        assert result.exit_code == 0
        lines = result.stdout.splitlines()
        assert [line.split()[0] for line in lines[:-1]] == ["ok"] * 6
        assert lines[-1] == (
            "counts   6 interactions, 8 tags, 3 feedback, 6 fts documents, 0 orphan feedback"
        )

    def test_detects_and_repairs_index_and_rollups(self, sample: dict[str, str], run: Run) -> None:
        """A row missing from the index and a wrong rollup fail; --repair rebuilds them."""
        db = sqlite3.connect("llmlog.db")
        db.execute(
            "INSERT INTO interactions_fts (interactions_fts, rowid, text)"
            " VALUES ('delete-all', NULL, NULL)"
        )
        db.execute("UPDATE rollup_hourly SET n = n + 1 WHERE tag = ''")
        db.commit()
        db.close()
        broken = run("verify")
        assert broken.exit_code == 1
        assert "FAIL     full-text index: 6 interaction(s) missing from the index" in broken.stdout
        assert "FAIL     rollups:" in broken.stdout
        assert broken.stderr.startswith("Error: the store has problems")
        repaired = run("verify", "--repair")
        assert repaired.exit_code == 0
        assert "repaired full-text index" in repaired.stdout
        assert run("verify").exit_code == 0
        assert "req-0002" in run("search", "refund").stdout

    def test_detects_unreadable_records(self, sample: dict[str, str], run: Run) -> None:
        """A record that is not JSON is reported with its row and request id."""
        db = sqlite3.connect("llmlog.db")
        db.execute("UPDATE interactions SET record = '{broken' WHERE request_id = 'req-0003'")
        db.commit()
        db.close()
        result = run("verify")
        assert result.exit_code == 1
        assert (
            "FAIL     records parse: 1 bad record(s): row 3 (req-0003): not JSON" in result.stdout
        )
