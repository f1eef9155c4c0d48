"""The Store contract: every backend (SQLite always, PostgreSQL against the real server).

Each test runs once per backend (``store_url`` is parametrized in ``conftest.py``):
write through the store's write path, read back, search filters, full text, stats,
prune, verify, idempotent replays, and the error contract. A new backend passes this
file before anything else.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from querydata import BASE, HOUR, build_sample, log_chat

import llmlog
from llmlog.encoding import Entry
from llmlog.sinks import open_sink
from llmlog.store import (
    AmbiguousIdError,
    InteractionNotFoundError,
    Query,
    Store,
    StoreError,
    open_store,
)


def ids(records: list[Any]) -> list[str]:
    return [r["request_id"] for r in records]


def every_page(store: Store, q: Query | None = None, *, limit: int = 7) -> list[str]:
    """Return the ids of every page of a search, following the cursor."""
    page = store.search(q, limit=limit)
    out = ids(page.records)
    while page.next_cursor:
        page = store.search(q, limit=limit, cursor=page.next_cursor)
        out += ids(page.records)
    return out


def stable(rec: Any) -> dict[str, Any]:
    """Return a record without the fields that differ each time it is logged (trace ids)."""
    return {k: v for k, v in rec.items() if k not in ("trace_id", "span_id")}


def _entry(rid: str, ts: float, **fields: Any) -> Entry:
    rec = {
        "event": "llm_interaction",
        "schema_version": 1,
        "request_id": rid,
        "timestamp": ts,
        "model": "gpt-4o-mini",
        "provider": "openai",
        "operation": "chat",
        "status": "ok",
        "prompt_messages": [{"role": "user", "content": f"question {rid}"}],
        "parsed_output": f"answer {rid}",
        "tool_calls": [],
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "total_tokens": 15,
            "cached_input_tokens": None,
            "reasoning_tokens": None,
            "estimated": False,
        },
        "tags": [],
        "metadata": {},
        **fields,
    }
    return Entry(rec, orjson.dumps(rec))


def _feedback(rid: str, fid: str, score: float) -> Entry:
    rec = {
        "event": "llm_feedback",
        "schema_version": 1,
        "request_id": rid,
        "feedback_id": fid,
        "score": score,
        "comment": None,
        "timestamp": BASE,
    }
    return Entry(rec, orjson.dumps(rec))


class TestWritePath:
    def test_written_batch_reads_back(self, store_url: str) -> None:
        """A batch through the store's write path reads back whole, in time order."""
        sink = open_sink(store_url)
        batch = [_entry(f"w-{i}", BASE + i, duration_ms=100.0 + i) for i in range(20)]
        sink.write(batch)
        sink.close()
        with open_store(store_url) as store:
            assert store.count() == 20
            assert every_page(store, Query()) == [f"w-{i}" for i in reversed(range(20))]
            assert store.get("w-7")["parsed_output"] == "answer w-7"

    def test_replayed_batch_is_stored_once(self, store_url: str) -> None:
        """The same interactions and feedback written twice (a replay) are stored once."""
        sink = open_sink(store_url)
        batch = [_entry(f"r-{i}", BASE + i) for i in range(10)]
        fb = [_feedback("r-1", "fb-1", 1.0), _feedback("r-1", "fb-2", 0.0)]
        sink.write(batch + fb)
        sink.write(batch + fb)
        sink.close()
        with open_store(store_url) as store:
            assert store.count() == 10
            assert len(store.feedback("r-1")) == 2

    def test_stats_of_known_rows(self, store_url: str) -> None:
        """stats() counts, sums tokens and cost, and gives the error rate of what was written."""
        sink = open_sink(store_url)
        batch = [
            _entry(f"s-{i}", BASE + i * 60, duration_ms=float(100 * (i + 1))) for i in range(9)
        ]
        batch.append(
            _entry(
                "s-err",
                BASE + 600,
                status="error",
                error={"type": "RateLimitError", "message": "slow down", "status_code": 429},
            )
        )
        sink.write(batch)
        sink.close()
        with open_store(store_url) as store:
            [row] = store.stats(Query(since=BASE - 1, until=BASE + HOUR))
        assert row.count == 10
        assert row.errors == 1
        assert row.input_tokens == 100 and row.output_tokens == 50
        assert row.latency_count == 9
        assert row.latency_p50_ms is not None and 400 <= row.latency_p50_ms <= 600


class TestErrorContract:
    def test_missing_and_ambiguous_ids(self, store_url: str) -> None:
        """get(): an unknown id, and a prefix of several, raise the same errors everywhere."""
        sink = open_sink(store_url)
        sink.write([_entry("abc-1", BASE), _entry("abc-2", BASE + 1)])
        sink.close()
        with open_store(store_url) as store:
            with pytest.raises(InteractionNotFoundError, match="no interaction"):
                store.get("zzz")
            with pytest.raises(AmbiguousIdError, match="several"):
                store.get("abc")
            with pytest.raises(InteractionNotFoundError):
                store.get("   ")
            assert store.get("abc-2")["request_id"] == "abc-2"

    def test_bad_arguments(self, store_url: str) -> None:
        """search(): a bad cursor, limit or order is a ValueError naming it."""
        build_sample(store_url)
        with open_store(store_url) as store:
            with pytest.raises(ValueError, match="cursor"):
                store.search(cursor="not-a-cursor")
            with pytest.raises(ValueError, match="limit"):
                store.search(limit=0)
            with pytest.raises(ValueError, match="order"):
                store.search(order="sideways")  # type: ignore[arg-type]

    def test_errors_are_store_errors(self, store_url: str, tmp_path: Any) -> None:
        """A target that is not an llmlog store is a StoreError (one line, no driver class)."""
        if store_url.startswith("postgresql"):
            bad = store_url.replace("127.0.0.1:5432", "127.0.0.1:9")
        else:
            bad = str(tmp_path / "not-a-store.db")
            (tmp_path / "not-a-store.db").write_bytes(b"this is not sqlite" * 100)
        with pytest.raises(StoreError) as info:
            open_store(bad)
        assert "\n" not in str(info.value)


class TestMaintenanceContract:
    def test_verify_is_clean_after_writes(self, store_url: str) -> None:
        """verify() finds nothing wrong in a store written by llmlog."""
        build_sample(store_url)
        with open_store(store_url) as store:
            report = store.verify()
        assert report.ok, [c for c in report.checks if not c.ok]

    def test_prune_then_count(self, store_url: str) -> None:
        """prune() deletes what is older than the cut and nothing else."""
        sink = open_sink(store_url)
        sink.write([_entry(f"p-{i}", BASE + i * HOUR) for i in range(6)])
        sink.close()
        with open_store(store_url) as store:
            result = store.prune(BASE + 3 * HOUR - 1)
            assert result.interactions == 3
            assert store.count() == 3
            assert sorted(ids(store.search().records)) == ["p-3", "p-4", "p-5"]


class TestSharedBehaviour:
    def test_keyset_pages_are_stable_while_writing(self, store_url: str) -> None:
        """Paging with the cursor sees every interaction once, even as new ones arrive."""
        llmlog.configure(db=store_url, processors=[])
        for i in range(25):
            log_chat(f"r{i:03d}", BASE + i // 2)  # pairs share a timestamp: ties by row
        assert llmlog.flush(10)
        with open_store(store_url) as store:
            page = store.search(limit=10)
            seen = ids(page.records)
            log_chat("new-1", BASE + 100)
            assert llmlog.flush(10)
            while page.next_cursor:
                page = store.search(limit=10, cursor=page.next_cursor)
                seen += ids(page.records)
            assert seen == sorted(seen, key=lambda r: (int(r[1:]) // 2, int(r[1:])), reverse=True)
            oldest = [r["request_id"] for r in store.iter_records(batch_size=7)]
            assert oldest[:3] == ["r000", "r001", "r002"] and oldest[-1] == "new-1"

    def test_phrase_filter_fills_pages(self, store_url: str) -> None:
        """A phrase that most word matches fail still returns full pages, newest first."""
        llmlog.configure(db=store_url, processors=[])
        for i in range(60):
            log_chat(
                f"r{i:03d}",
                BASE + i,
                user="order the blue car" if i % 3 == 0 else "blue order car the",
            )
        assert llmlog.flush(10)
        with open_store(store_url) as store:
            q = Query(text='"the blue car"')
            page = store.search(q, limit=5)
            assert ids(page.records) == ["r057", "r054", "r051", "r048", "r045"]
            assert store.count(q) == 20 and store.stats(q)[0].count == 20
            assert len(store.search(q, limit=5, cursor=page.next_cursor).records) == 5
            assert len(list(store.iter_records(q, batch_size=3))) == 20

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("example", ["mail"]),
            ("bob@example.com", ["mail"]),
            ("acme", ["mail"]),
            ('"acme.com"', ["mail"]),
            ("gpt", ["model"]),
            ("gpt-4o", ["model"]),
            ("4o", ["model"]),
            ("cafe", ["accents"]),
            ("CAFÉ", ["accents"]),
            ("naïve", ["accents"]),
            ("v1", ["version"]),
            ('"v1.4.2"', ["version"]),
            ('"1.4.2"', []),
            ("refund_order", ["tool"]),
            ("order", ["tool"]),
            ("pi 3", ["number"]),
            ("exam*", ["mail"]),
            ("café*", ["accents"]),
            ('"com about"', ["mail"]),
            ('"about com"', []),
            ("²", []),
            ("!!", None),
            ("zebra", []),
        ],
    )
    def test_words_split_the_same_way(
        self, store_url: str, text: str, expected: list[str] | None
    ) -> None:
        """Emails, hosts, versions, hyphens, underscores and accents are searched word by word."""
        llmlog.configure(db=store_url, processors=[])
        log_chat("mail", BASE, user="Mail bob@example.com about acme.com today")
        log_chat("model", BASE + 1, user="Is gpt-4o any good?")
        log_chat("accents", BASE + 2, user="Un café au lait, s'il vous plaît, naïve")
        log_chat("version", BASE + 3, user="We shipped v1.4.2 yesterday")
        log_chat(
            "tool", BASE + 4, user="Call it", tool_call={"name": "refund_order", "arguments": "{}"}
        )
        log_chat("number", BASE + 5, user="pi is 3.14")
        assert llmlog.flush(10)
        with open_store(store_url) as store:
            if expected is None:
                with pytest.raises(ValueError, match="no words"):
                    store.search(Query(text=text))
                return
            assert ids(store.search(Query(text=text)).records) == expected
            assert store.count(Query(text=text)) == len(expected)

    def test_tail_with_text(self, store_url: str) -> None:
        """tail with text starts at the last matches written and then follows only new ones."""
        llmlog.configure(db=store_url, processors=[])
        for i in range(30):
            log_chat(f"r{i:02d}", BASE + i, reply="alpha" if i % 3 == 0 else "beta")
        assert llmlog.flush(10)
        with open_store(store_url) as store:
            q = Query(text="alpha")
            batch = store.tail(q, limit=3)
            assert ids(batch.records) == ["r21", "r24", "r27"]
            log_chat("new-a", BASE, reply="alpha again")
            log_chat("new-b", BASE, reply="beta again")
            assert llmlog.flush(10)
            new = store.tail(q, cursor=batch.cursor)
            assert ids(new.records) == ["new-a"]
            assert store.tail(q, cursor=new.cursor).records == []
            phrase = store.tail(Query(text='"alpha again"'), limit=5)
            assert ids(phrase.records) == ["new-a"]

    def test_get_by_id_or_prefix(self, store_url: str) -> None:
        """get() takes a full id or a unique prefix, names ambiguity, and escapes wildcards."""
        build_sample(store_url)
        with open_store(store_url) as store:
            assert store.get("req-0004")["model"] == "claude-haiku-4-5"
            assert store.get(" req-0003 ")["status"] == "error"
            with pytest.raises(AmbiguousIdError, match="matches several"):
                store.get("req-")
            for missing in ("zzz", "req_0", "req%", ""):
                with pytest.raises(InteractionNotFoundError):
                    store.get(missing)

    def test_metadata_values_match_by_type(self, store_url: str) -> None:
        """Metadata filters compare text, numbers and booleans as stored."""
        build_sample(store_url)
        with open_store(store_url) as store:

            def hits(*pairs: tuple[str, str | None]) -> int:
                return store.count(Query(metadata=pairs))

            assert hits(("tier", "2")) == 1 and hits(("tier", "2.0")) == 1
            assert hits(("tier", "3")) == 0 and hits(("tier", "two")) == 0
            assert hits(("beta", "true")) == 1 and hits(("beta", "false")) == 0
            assert hits(("tenant", None)) == 1 and hits(("tenant", "acme")) == 1
            assert hits(("tenant", "acme"), ("tier", "2")) == 1
            assert hits(("tenant", "ACME")) == 0 and hits(("nope", None)) == 0

    def test_sessions_scores_and_tail(self, store_url: str) -> None:
        """Sessions list most recent first; scores filter; tail follows new rows by cursor."""
        build_sample(store_url)
        with open_store(store_url) as store:
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
            assert ids(store.search(Query(min_score=4)).records) == ["req-0002", "req-0001"]
            assert ids(store.search(Query(max_score=4.5)).records) == ["req-0002"]
            assert store.latest_scores(["req-0001", "req-0002", "nope"]) == {
                "req-0001": 5,
                "req-0002": 4,
            }
            assert [f["score"] for f in store.feedback("req-0002")] == [2, 4]
            assert store.has_feedback("req-0002", store.feedback("req-0002")[0]["timestamp"], 2)
            assert not store.has_feedback("req-0002", 1.0, 2)
            batch = store.tail(limit=2)
            assert ids(batch.records) == ["req-0005", "req-0006"]
            assert store.tail(cursor=batch.cursor).records == []
            log_chat("req-0100", BASE)
            log_chat("req-0101", BASE, model="gpt-4o")
            assert llmlog.flush(10)
            new = store.tail(Query(models=("gpt-4o",)), cursor=batch.cursor)
            assert ids(new.records) == ["req-0101"]
            assert store.tail(cursor=new.cursor).records == []

    def test_prune_deletes_rows_tags_and_feedback(self, store_url: str) -> None:
        """prune removes older interactions with their feedback and reports the counts."""
        build_sample(store_url)
        with open_store(store_url) as store:
            result = store.prune(BASE + 15)
            assert (result.interactions, result.tags, result.feedback) == (1, 2, 1)
            assert store.count() == 5 and store.feedback("req-0001") == []
            assert store.prune(BASE + 15).interactions == 0
            store.compact()
            assert store.verify().ok

    def test_records_read_back_as_written(self, store_url: str) -> None:
        """A record reads back equal to what was logged, fields in the record's order."""
        build_sample(store_url)
        with open_store(store_url) as store:
            rec = store.get("req-0002")
        assert list(rec)[:5] == ["event", "schema_version", "request_id", "trace_id", "span_id"]
        assert rec["tool_calls"][0]["name"] == "refund_order"
        assert rec["metadata"] == {} and rec["tags"] == ["prod", "support"]
        assert rec["timestamp"] == BASE + 20


# -- the two backends agree --------------------------------------------------------------------------
