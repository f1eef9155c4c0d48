"""The per-hour rollups: kept in step by the sink, backfilled by migration, exact after prune."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from querydata import BASE, HOUR, log_chat

import llmlog
from llmlog.store import Query, open_store
from llmlog.store.sqlite import rollup as _rollup
from llmlog.store.sqlite import write as sqlite_sink


def tables(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        hourly = [
            (*r[:-1], round(r[-1], 9))
            for r in db.execute(
                "SELECT tag, hour, provider, model, status, n, errors, duration_n,"
                " round(duration_sum, 6), ttft_n, round(ttft_sum, 6), input_tokens, output_tokens,"
                " total_tokens, cost_n, cost_usd FROM rollup_hourly ORDER BY 1, 2, 3, 4, 5"
            )
        ]
        latency = db.execute("SELECT * FROM rollup_latency ORDER BY 1, 2, 3, 4, 5, 6, 7").fetchall()
        latency += db.execute(
            "SELECT * FROM rollup_latency_daily ORDER BY 1, 2, 3, 4, 5, 6, 7"
        ).fetchall()
        return hourly, latency
    finally:
        db.close()


def rebuilt(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    _rollup.rebuild(db)
    db.execute("COMMIT")
    db.close()
    return tables(path)


def fill(path: Path) -> None:
    llmlog.configure(db=str(path), processors=[])
    for i in range(120):
        log_chat(
            f"r{i:03d}",
            BASE + i * 300,
            model=["gpt-4o", "gpt-4o-mini", None][i % 3],
            duration_ms=50 + i * 7.5,
            tags=[["a"], ["a", "b"], [], ["b", "b"]][i % 4],
            ttft_ms=10.0 if i % 5 == 0 else None,
            **(
                {"error": {"type": "E", "message": "x", "status_code": None}} if i % 11 == 0 else {}
            ),
        )
    assert llmlog.flush(10)


class TestBuckets:
    @pytest.mark.parametrize(
        "ms", [0.1, 0.37, 1.0, 12.5, 99.9, 812.0, 4_321.0, 61_000.0, 3_600_000.0]
    )
    def test_midpoint_within_bound(self, ms: float) -> None:
        """The value reported for a latency's bucket is within 4.4% of it."""
        assert _rollup.bucket_value(_rollup.bucket_of(ms)) == pytest.approx(ms, rel=0.0443)

    def test_tiny_and_invalid_values_share_bucket_zero(self) -> None:
        """Zero, negatives and NaN fall in bucket 0 instead of failing."""
        assert {_rollup.bucket_of(v) for v in (0.0, -5.0, float("nan"), 0.05)} == {0}


class TestMaintenance:
    def test_sink_positions_match_its_columns(self) -> None:
        """The rollup reads the sink's INSERT tuples at the positions of its columns."""
        columns = sqlite_sink._COLUMNS
        assert tuple(columns[i] for i in _rollup._INSERT_POSITIONS) == _rollup.FACT_COLUMNS
        assert re.fullmatch(r"[a-z_]+(, [a-z_]+)*", ", ".join(columns))

    def test_sink_keeps_rollups_equal_to_a_rebuild(self, tmp_path: Path) -> None:
        """What the sink maintains batch by batch equals a recomputation from the rows."""
        fill(tmp_path / "s.db")
        assert tables(tmp_path / "s.db") == rebuilt(tmp_path / "s.db")
        hourly, _ = tables(tmp_path / "s.db")
        assert sum(r[5] for r in hourly if r[0] == "") == 120  # type: ignore[misc]
        assert sum(r[5] for r in hourly if r[0] == "b") == 60  # type: ignore[misc]

    def test_migration_backfills_an_older_store(self, tmp_path: Path) -> None:
        """A store from before the rollups gets them, computed from its rows, when opened."""
        path = tmp_path / "s.db"
        fill(path)
        llmlog.reset()
        expected = tables(path)
        db = sqlite3.connect(path)
        db.execute("DROP TABLE rollup_hourly")
        db.execute("DROP TABLE rollup_latency")
        db.execute("DROP TABLE rollup_latency_daily")
        db.execute(
            "DELETE FROM _llmlog_migrations WHERE name IN ('m002_rollups', 'm003_daily_latency')"
        )
        db.commit()
        db.close()
        with open_store(path) as store:
            assert store.count() == 120
        assert tables(path) == expected

    def test_daily_migration_sums_the_hourly_histograms(self, tmp_path: Path) -> None:
        """m003 fills the daily histograms from the hourly ones, as the sink would have."""
        path = tmp_path / "s.db"
        fill(path)
        llmlog.reset()
        expected = tables(path)
        db = sqlite3.connect(path)
        db.execute("DROP TABLE rollup_latency_daily")
        db.execute("DELETE FROM _llmlog_migrations WHERE name = 'm003_daily_latency'")
        db.commit()
        db.close()
        open_store(path).close()
        assert tables(path) == expected

    def test_prune_subtracts_exactly(self, tmp_path: Path) -> None:
        """After prune, the rollups equal a recomputation from the remaining rows."""
        path = tmp_path / "s.db"
        fill(path)
        with open_store(path) as store:
            result = store.prune(BASE + 4.5 * HOUR)
            assert result.interactions == 54
            assert store.count() == 66 == store.count(Query(since=0))
        after = tables(path)
        assert after == rebuilt(path)
        assert min(r[1] for r in after[0]) == int((BASE + 4 * HOUR) // 3600)  # type: ignore
