"""The query layer: filters, pagination, aggregates and formats, against real SQLite stores."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest
from querydata import BASE, HOUR, build_sample, log_chat

import llmlog
from llmlog.formats import ChatExamples, chat_example, parse_line
from llmlog.store import (
    AmbiguousIdError,
    InteractionNotFoundError,
    Query,
    StatsRow,
    open_store,
    parse_duration,
    parse_time,
)
from llmlog.store.sqlite import stats as sqlite_backend

NOW = 1_800_000_000.0


class TestParseTime:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("30m", NOW - 1800),
            ("2h", NOW - 7200),
            ("7d", NOW - 7 * 86400),
            ("1w", NOW - 7 * 86400),
            ("90s", NOW - 90),
            ("1.5h", NOW - 5400),
            ("now", NOW),
            ("1767225600", 1767225600.0),
            ("2026-01-01T00:00:00Z", 1767225600.0),
            ("2026-01-01T01:00:00+01:00", 1767225600.0),
        ],
    )
    def test_forms(self, text: str, expected: float) -> None:
        """Durations count back from now; ISO times with an offset and epochs are absolute."""
        assert parse_time(text, now=NOW) == expected

    def test_dates_are_local_midnight(self) -> None:
        """A bare date, today and yesterday mean local midnight."""
        assert parse_time("2026-11-01") == datetime(2026, 11, 1).timestamp()
        today = datetime.fromtimestamp(NOW).replace(hour=0, minute=0, second=0, microsecond=0)
        assert parse_time("today", now=NOW) == today.timestamp()
        assert parse_time("yesterday", now=NOW) < today.timestamp()

    @pytest.mark.parametrize("text", ["", "2x", "soon", "12", "-3h", "2026-13-01"])
    def test_rejects_with_a_hint(self, text: str) -> None:
        """Anything else is a ValueError that says what is accepted."""
        with pytest.raises(ValueError, match="is not a time: use a duration like"):
            parse_time(text, now=NOW)

    def test_duration(self) -> None:
        """parse_duration accepts only durations."""
        assert parse_duration("30d") == 30 * 86400
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration("2026-01-01")


class TestQuery:
    def test_parse_from_user_strings(self) -> None:
        """Query.parse takes what users type and normalises it."""
        q = Query.parse(
            text="refund",
            since="2h",
            model=["gpt-4o"],
            tag=["a", "b"],
            meta=["tenant=acme", "beta"],
            min_score="4",
            now=NOW,
        )
        assert q == Query(
            text="refund",
            since=NOW - 7200,
            models=("gpt-4o",),
            tags=("a", "b"),
            metadata=(("tenant", "acme"), ("beta", None)),
            min_score=4.0,
        )
        assert Query().is_empty() and not q.is_empty()

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"status": "bad"}, "status: expected 'ok' or 'error'"),
            ({"since": 2.0, "until": 1.0}, "since must be earlier than until"),
            ({"min_score": float("nan")}, "min_score: expected a number"),
            ({"metadata": (('a"b', "x"),)}, "metadata: invalid key"),
            ({"models": ("",)}, "model: expected non-empty strings"),
        ],
    )
    def test_invalid_filters(self, kwargs: dict[str, object], message: str) -> None:
        """Invalid filter values raise ValueError naming the filter."""
        with pytest.raises(ValueError, match=message):
            Query(**kwargs)  # type: ignore[arg-type]

    def test_parse_names_the_bad_option(self) -> None:
        """Query.parse errors name the option the value was given for."""
        with pytest.raises(ValueError, match=r"^since: 'x' is not a time"):
            Query.parse(since="x")
        with pytest.raises(ValueError, match=r"^max_score: expected a number"):
            Query.parse(max_score="high")


class TestSearch:
    def test_keyset_pages_are_stable_while_writing(self, tmp_path: Path) -> None:
        """Paging with the cursor sees every interaction once, even as new ones arrive."""
        llmlog.configure(db=str(tmp_path / "s.db"), processors=[])
        for i in range(25):
            log_chat(f"r{i:03d}", BASE + i // 2)  # pairs share a timestamp: ties by row
        assert llmlog.flush(10)
        seen: list[str] = []
        with open_store(tmp_path / "s.db") as store:
            page = store.search(limit=10)
            seen += [r["request_id"] for r in page.records]
            log_chat("new-1", BASE + 100)
            assert llmlog.flush(10)
            while page.next_cursor:
                page = store.search(limit=10, cursor=page.next_cursor)
                seen += [r["request_id"] for r in page.records]
            assert seen == sorted(seen, key=lambda r: (int(r[1:]) // 2, int(r[1:])), reverse=True)
            assert len(seen) == 25
            oldest = [r["request_id"] for r in store.iter_records(batch_size=7)]
            assert oldest[:3] == ["r000", "r001", "r002"] and oldest[-1] == "new-1"

    def test_phrase_filter_fills_pages(self, tmp_path: Path) -> None:
        """A phrase that most word matches fail still returns full pages, newest first."""
        llmlog.configure(db=str(tmp_path / "s.db"), processors=[])
        for i in range(60):
            text = "order the blue car" if i % 3 == 0 else "blue order car the"
            log_chat(f"r{i:03d}", BASE + i, user=text)
        assert llmlog.flush(10)
        with open_store(tmp_path / "s.db") as store:
            q = Query(text='"the blue car"')
            page = store.search(q, limit=5)
            assert [r["request_id"] for r in page.records] == [
                "r057",
                "r054",
                "r051",
                "r048",
                "r045",
            ]
            assert store.count(q) == 20
            assert store.stats(q)[0].count == 20
            assert len(store.search(q, limit=5, cursor=page.next_cursor).records) == 5

    @pytest.mark.parametrize("shuffled", [False, True])
    def test_full_text_pages_match_a_full_sort(self, tmp_path: Path, shuffled: bool) -> None:
        """Full-text pages equal sorting every match by time, even when rows arrive out of order."""
        rng = random.Random(11)
        llmlog.configure(db=str(tmp_path / "t.db"), processors=[])
        stamps = [BASE + i * 7.0 for i in range(600)]
        if shuffled:  # e.g. old logs imported after newer ones
            rng.shuffle(stamps)
        expected = []
        for i, ts in enumerate(stamps):
            words = ["alpha"] if rng.random() < 0.5 else ["beta"]
            if i % 97 == 0:
                words.append("zircon")
            model = "gpt-4o" if rng.random() < 0.3 else "gpt-4o-mini"
            log_chat(f"r{i:04d}", ts, model=model, reply=" ".join(words))
            if "alpha" in words and model == "gpt-4o":
                expected.append((ts, f"r{i:04d}"))
        assert llmlog.flush(10)
        expected.sort(reverse=True)
        with open_store(tmp_path / "t.db") as store:
            q = Query(text="alpha", models=("gpt-4o",))
            got: list[str] = []
            page = store.search(q, limit=7)
            got += [r["request_id"] for r in page.records]
            while page.next_cursor:
                page = store.search(q, limit=7, cursor=page.next_cursor)
                got += [r["request_id"] for r in page.records]
            assert got == [rid for _, rid in expected]
            oldest = [r["request_id"] for r in store.iter_records(q, batch_size=5)]
            assert oldest == [rid for _, rid in reversed(expected)]
            rare = [r["request_id"] for r in store.search(Query(text="zircon")).records]
            assert len(rare) == 7 and rare == sorted(
                rare, key=lambda r: stamps[int(r[1:])], reverse=True
            )

    def test_tail_with_text(self, tmp_path: Path) -> None:
        """tail with text starts at the last matches written and then follows only new ones."""
        llmlog.configure(db=str(tmp_path / "t.db"), processors=[])
        for i in range(30):
            log_chat(f"r{i:02d}", BASE + i, reply="alpha" if i % 3 == 0 else "beta")
        assert llmlog.flush(10)
        with open_store(tmp_path / "t.db") as store:
            q = Query(text="alpha")
            batch = store.tail(q, limit=3)
            assert [r["request_id"] for r in batch.records] == ["r21", "r24", "r27"]
            log_chat("new-a", BASE, reply="alpha again")
            log_chat("new-b", BASE, reply="beta again")
            assert llmlog.flush(10)
            new = store.tail(q, cursor=batch.cursor)
            assert [r["request_id"] for r in new.records] == ["new-a"]
            assert store.tail(q, cursor=new.cursor).records == []

    def test_get_by_id_or_prefix(self, tmp_path: Path) -> None:
        """get() takes a full id or a unique prefix, and names ambiguity."""
        build_sample(tmp_path / "s.db")
        with open_store(tmp_path / "s.db") as store:
            assert store.get("req-0004")["model"] == "claude-haiku-4-5"
            with pytest.raises(AmbiguousIdError, match="matches several"):
                store.get("req-")
            with pytest.raises(InteractionNotFoundError):
                store.get("zzz")

    def test_metadata_values_match_by_type(self, tmp_path: Path) -> None:
        """Metadata filters compare text, numbers and booleans as stored."""
        build_sample(tmp_path / "s.db")
        with open_store(tmp_path / "s.db") as store:

            def hits(*pairs: tuple[str, str | None]) -> int:
                return store.count(Query(metadata=pairs))

            assert hits(("tier", "2")) == 1
            assert hits(("tier", "2.0")) == 1
            assert hits(("tier", "3")) == 0
            assert hits(("beta", "true")) == 1
            assert hits(("beta", "false")) == 0
            assert hits(("tenant", None)) == 1

    def test_sessions_and_tail(self, tmp_path: Path) -> None:
        """Sessions list most recent first with their totals; tail follows new rows by cursor."""
        build_sample(tmp_path / "s.db")
        with open_store(tmp_path / "s.db") as store:
            page = store.sessions(limit=2)
            assert [s.session_id for s in page.sessions] == ["s-3", "s-2"]
            rest = store.sessions(limit=2, cursor=page.next_cursor)
            [s1] = rest.sessions
            assert (s1.session_id, s1.count, s1.total_tokens, s1.user_ids) == (
                "s-1",
                2,
                50,
                ("u-1",),
            )
            assert s1.models == ("gpt-4o", "gpt-4o-mini") and rest.next_cursor is None
            batch = store.tail(limit=2)
            assert [r["request_id"] for r in batch.records] == ["req-0005", "req-0006"]
            assert store.tail(cursor=batch.cursor).records == []
            log_chat("req-0100", BASE)
            log_chat("req-0101", BASE, model="gpt-4o")
            assert llmlog.flush(10)
            new = store.tail(Query(models=("gpt-4o",)), cursor=batch.cursor)
            assert [r["request_id"] for r in new.records] == ["req-0101"]
            assert store.tail(cursor=new.cursor).records == []


def _random_store(path: Path, n: int = 400, seed: int = 3, hours: float = 10) -> None:
    rng = random.Random(seed)
    llmlog.configure(db=str(path), processors=[])
    for i in range(n):
        model = rng.choice(["gpt-4o", "gpt-4o-mini", "claude-haiku-4-5", "mystery"])
        extra = {}
        if rng.random() < 0.1:
            extra["error"] = {"type": "APIError", "message": "boom", "status_code": 500}
        if rng.random() < 0.3:
            extra["ttft_ms"] = rng.uniform(5, 500)
        log_chat(
            f"r{i:04d}",
            BASE - 30 * HOUR + rng.uniform(0, hours * HOUR),
            model=model,
            duration_ms=rng.lognormvariate(6, 1),
            tags=rng.sample(["a", "b", "c"], rng.randint(0, 2)),
            provider="anthropic" if model.startswith("claude") else None,
            **extra,
        )
    assert llmlog.flush(10)


def _close(a: StatsRow, b: StatsRow) -> None:
    assert (
        a.group,
        a.bucket,
        a.count,
        a.errors,
        a.input_tokens,
        a.output_tokens,
        a.total_tokens,
        a.cost_count,
        a.latency_count,
        a.ttft_count,
    ) == (
        b.group,
        b.bucket,
        b.count,
        b.errors,
        b.input_tokens,
        b.output_tokens,
        b.total_tokens,
        b.cost_count,
        b.latency_count,
        b.ttft_count,
    )
    assert (a.cost_usd or 0) == pytest.approx(b.cost_usd or 0, abs=1e-9)
    assert (a.latency_avg_ms or 0) == pytest.approx(b.latency_avg_ms or 0)
    for x, y in [
        (a.latency_p50_ms, b.latency_p50_ms),
        (a.latency_p95_ms, b.latency_p95_ms),
        (a.ttft_p50_ms, b.ttft_p50_ms),
    ]:
        if y is None:
            assert x is None
        else:
            assert x == pytest.approx(y, rel=0.045)


class TestStats:
    @pytest.mark.parametrize(
        "window",
        [
            (None, None),
            (-29.5, None),
            (None, -22.75),
            (-28.7, -21.1),
            (-27.8, -27.1),
            (-27.0, -24.0),
            (-29.9, 40.2),
            (-6.5, 37.0),
        ],
    )
    @pytest.mark.parametrize(
        ("by", "bucket"),
        [(None, None), ("model", None), ("tag", None), ("provider", "hour"), ("status", "day")],
    )
    def test_rollup_agrees_with_rows(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        window: tuple[float | None, float | None],
        by: str | None,
        bucket: str | None,
    ) -> None:
        """Rollup plus edge rows give the rows' counts and sums; percentiles within 4.4%."""
        _random_store(tmp_path / "r.db", hours=72)
        since = BASE + window[0] * HOUR if window[0] is not None else None
        until = BASE + window[1] * HOUR if window[1] is not None else None
        q = Query(since=since, until=until)
        with open_store(tmp_path / "r.db") as store:
            exact = store.stats(q, by=by, bucket=bucket)  # type: ignore[arg-type]
            assert not any(r.approximate for r in exact)
            monkeypatch.setattr(sqlite_backend, "EXACT_ROWS", 0)
            rolled = store.stats(q, by=by, bucket=bucket)  # type: ignore[arg-type]
        if window[1] is None or window[0] is None or window[1] - window[0] >= 2:
            assert all(r.approximate for r in rolled)
        assert len(rolled) == len(exact)
        for a, b in zip(
            sorted(rolled, key=lambda r: (r.bucket or 0, r.group or "")),
            sorted(exact, key=lambda r: (r.bucket or 0, r.group or "")),
            strict=True,
        ):
            _close(a, b)

    def test_filters_the_rollup_cannot_answer_use_rows(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two tags, a user or text filter aggregate matching rows exactly."""
        _random_store(tmp_path / "r.db")
        monkeypatch.setattr(sqlite_backend, "EXACT_ROWS", 0)
        with open_store(tmp_path / "r.db") as store:
            both = store.stats(Query(tags=("a", "b")))[0]
            assert not both.approximate
            ids_a = {r["request_id"] for r in store.iter_records(Query(tags=("a",)))}
            ids_b = {r["request_id"] for r in store.iter_records(Query(tags=("b",)))}
            assert both.count == len(ids_a & ids_b)
            assert store.count(Query(tags=("a", "b"))) == both.count


class TestFormats:
    def test_classic_log_line(self) -> None:
        """A logging prefix before the JSON is skipped; the record's own fields win."""
        line = (
            b'2025-01-01 12:00:00,123 - app - INFO - {"event": "llm_interaction", '
            b'"request_id": "r1", "model": "m", "prompt_messages": [], '
            b'"timestamp": 1700000000.5}\n'
        )
        parsed = parse_line(line)
        assert parsed.kind == "interaction"
        assert parsed.fields == {
            "event": "llm_interaction",
            "request_id": "r1",
            "model": "m",
            "prompt_messages": [],
            "timestamp": 1700000000.5,
        }

    @pytest.mark.parametrize(
        ("line", "kind", "reason"),
        [
            (b"   \n", "blank", ""),
            (b"2025-01-01 12:00:00,123 - app - INFO - Started", "other", "no JSON object"),
            (b'{"event": "user_signup", "id": 1}', "other", "event 'user_signup'"),
            (b'{"level": "info"}', "other", "not an llm interaction"),
            (
                b'{"event": "llm_interaction", "timestamp": 1}',
                "malformed",
                "no prompt_messages, response or output",
            ),
            (b'{"prompt_messages": [], "timestamp": true}', "malformed", "no timestamp"),
            (b'{"oops": ', "malformed", "invalid JSON (unexpected end of data)"),
        ],
    )
    def test_line_kinds(self, line: bytes, kind: str, reason: str) -> None:
        """Every line is classified: interaction, feedback, blank, other or malformed."""
        parsed = parse_line(line)
        assert (parsed.kind, parsed.reason) == (kind, reason)

    def test_timestamps_and_ids(self) -> None:
        """ISO and millisecond timestamps are converted; missing ids are content hashes."""
        a = parse_line(
            b'{"messages": [{"role": "user", "content": "x"}], "timestamp": "2026-01-01T00:00:00Z"}'
        ).fields
        b = parse_line(
            b'{"messages": [{"role": "user", "content": "x"}], "timestamp": "2026-01-01T00:00:00Z"}'
        ).fields
        ms = parse_line(b'{"parsed_output": "y", "timestamp": 1767225600000}').fields
        assert a is not None and b is not None and ms is not None
        assert a["timestamp"] == 1767225600.0 == ms["timestamp"]
        assert a["request_id"] == b["request_id"]
        assert a["prompt_messages"] == [{"role": "user", "content": "x"}]

    def test_chat_examples(self) -> None:
        """Content parts become text, Anthropic system prompts a system message, dupes drop."""
        rec = {
            "status": "ok",
            "operation": "chat",
            "params": {"system": "Be brief."},
            "prompt_messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
            "parsed_output": "Hello!",
            "tool_calls": [],
        }
        assert chat_example(rec) == {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
            ]
        }
        examples = ChatExamples()
        assert examples.add(rec) is not None and examples.add(dict(rec)) is None
        examples.add({**rec, "parsed_output": None})
        examples.add(
            {
                **rec,
                "prompt_messages": [
                    {"role": "user", "content": [{"type": "audio", "data": "..."}]}
                ],
            }
        )
        assert (examples.written, dict(examples.skipped)) == (
            1,
            {"duplicate": 1, "no assistant reply": 1, "non-text content": 1},
        )


def test_store_is_read_without_writing_when_up_to_date(tmp_path: Path) -> None:
    """Opening a migrated store for reading leaves its file unchanged."""
    build_sample(tmp_path / "s.db")
    llmlog.reset()
    before = (tmp_path / "s.db").stat().st_mtime_ns
    with open_store(tmp_path / "s.db") as store:
        store.stats(by="model")
        store.search(Query(text="France"))
    assert (tmp_path / "s.db").stat().st_mtime_ns == before
