"""The PostgreSQL store against a real server (CI starts one; see .ci/services).

Behaviour every store shares is in ``test_contract.py``. Here: the two backends
compared directly (the same interactions written to each read back the same through
the query layer and the CLI), and what only PostgreSQL has: opening a server's
schema, migrations, concurrent writers under ``tail``, errors of a lost server.
"""

from __future__ import annotations

import csv
import io
import math
import os
import random
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result
from querydata import BASE, HOUR, build_sample, log_chat, normalise

import llmlog
from llmlog.cli import cli
from llmlog.store import (
    Query,
    StatsRow,
    Store,
    StoreError,
    StoreNotFoundError,
    open_store,
)
from llmlog.store.model import decode_cursor

psycopg = pytest.importorskip("psycopg")

DSN = os.environ.get("LLMLOG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _admin() -> Any:
    try:
        return psycopg.connect(DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise  # CI must run these tests, never skip them
        pytest.skip(f"no PostgreSQL at {DSN}: {exc}")


def sql(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run ``query`` (``{s}`` is the store's schema) on a connection of its own."""
    conninfo, schema = url.split("?schema=")
    with psycopg.connect(conninfo, autocommit=True) as db:
        cur = db.execute(query.replace("{s}", f'"{schema}"'), params or None)
        return cur.fetchall() if cur.description else []


def ids(records: list[Any]) -> list[str]:
    return [r["request_id"] for r in records]


def stable(rec: Any) -> dict[str, Any]:
    """Return a record without the fields that differ each time it is logged (trace ids)."""
    return {k: v for k, v in rec.items() if k not in ("trace_id", "span_id")}


def every_page(store: Store, q: Query | None = None, *, limit: int = 7) -> list[str]:
    """Return the ids of every page of a search, following the cursor."""
    page = store.search(q, limit=limit)
    out = ids(page.records)
    while page.next_cursor:
        page = store.search(q, limit=limit, cursor=page.next_cursor)
        out += ids(page.records)
    return out


# -- behaviour shared by both backends ------------------------------------------------------------


WORDS = ["alpha", "beta", "gamma", "delta", "refund", "invoice", "penguin", "café", "gpt-4o"]


def _random_store(url: str, seed: int = 3, n: int = 300) -> None:
    """Log the same varied interactions (and feedback) to ``url``."""
    rng = random.Random(seed)
    llmlog.configure(db=url, processors=[])
    for i in range(n):
        model = rng.choice(["gpt-4o", "gpt-4o-mini", "claude-haiku-4-5", "mystery"])
        extra: dict[str, Any] = {}
        if rng.random() < 0.1:
            extra["error"] = {"type": "APIError", "message": "boom", "status_code": 500}
        if rng.random() < 0.3:
            extra["ttft_ms"] = round(rng.uniform(5, 500), 3)
        if rng.random() < 0.6:
            extra["session_id"] = f"s-{rng.randint(0, 30)}"
        if rng.random() < 0.7:
            extra["user_id"] = f"u-{rng.randint(0, 9)}"
        if rng.random() < 0.5:
            extra["metadata"] = {
                "tenant": rng.choice(["acme", "globex"]),
                "tier": rng.choice([1, 2, 2.5]),
                "beta": rng.random() < 0.5,
            }
        words = " ".join(rng.sample(WORDS, 3))
        log_chat(
            f"r{i:04d}",
            BASE - 30 * HOUR + round(rng.uniform(0, 72 * HOUR), 3),
            model=model,
            user=f"Question {words}",
            reply=rng.choice(WORDS),
            duration_ms=round(rng.lognormvariate(6, 1), 3),
            tags=rng.sample(["a", "b", "c"], rng.randint(0, 2)),
            provider="anthropic" if model.startswith("claude") else None,
            **extra,
        )
        if rng.random() < 0.2:
            llmlog.feedback(f"r{i:04d}", rng.choice([0, 1, 3, 5]))
    assert llmlog.flush(10)
    llmlog.reset()


def _open_both(sqlite_path: Path, url: str) -> tuple[Store, Store]:
    _random_store(str(sqlite_path))
    _random_store(url)
    return open_store(sqlite_path), open_store(url)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store]]:
    """The same random interactions in an SQLite and a PostgreSQL store (read-only tests)."""
    admin = _admin()
    schema = f"llmlog_test_{uuid.uuid4().hex[:10]}"
    stores = _open_both(tmp_path_factory.mktemp("both") / "r.db", f"{DSN}?schema={schema}")
    yield stores
    for store in stores:
        store.close()
    admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.close()


def _same_stats(a: list[StatsRow], b: list[StatsRow]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        dx, dy = x.to_dict(), y.to_dict()
        for key in dx:
            if isinstance(dx[key], float) and isinstance(dy[key], float):
                assert math.isclose(dx[key], dy[key], rel_tol=1e-9), (key, x, y)
            else:
                assert dx[key] == dy[key], (key, x, y)


QUERIES = [
    Query(),
    Query(models=("gpt-4o",)),
    Query(models=("gpt-4o", "mystery")),
    Query(providers=("anthropic",)),
    Query(status="error"),
    Query(user_id="u-3"),
    Query(session_id="s-7"),
    Query(tags=("a",)),
    Query(tags=("a", "b")),
    Query(metadata=(("tenant", "acme"),)),
    Query(metadata=(("tier", "2"), ("beta", "true"))),
    Query(metadata=(("tier", None),)),
    Query(min_score=3),
    Query(max_score=1),
    Query(since=BASE - 20 * HOUR, until=BASE + 10 * HOUR),
    Query(text="refund"),
    Query(text="ref* penguin"),
    Query(text='"alpha beta"'),
    Query(text="cafe", status="ok"),
    Query(text="gpt-4o", tags=("b",), since=BASE - 10 * HOUR),
]


class TestBackendsAgree:
    @pytest.mark.parametrize("q", QUERIES, ids=range(len(QUERIES)))
    def test_search_count_and_exports(self, both: tuple[Store, Store], q: Query) -> None:
        """Every page, count and export of a query holds the same interactions in both stores."""
        a, b = both
        assert every_page(a, q) == every_page(b, q)
        assert a.count(q) == b.count(q)
        assert [r["request_id"] for r in a.iter_records(q, order="newest", batch_size=9)] == [
            r["request_id"] for r in b.iter_records(q, order="newest", batch_size=9)
        ]
        assert [stable(r) for r in a.search(q, limit=3).records] == [
            stable(r) for r in b.search(q, limit=3).records
        ]

    @pytest.mark.parametrize(
        ("by", "bucket"),
        [
            (None, None),
            ("model", None),
            ("provider", None),
            ("status", None),
            ("tag", None),
            ("user", None),
            (None, "hour"),
            (None, "day"),
            ("model", "day"),
            ("tag", "hour"),
        ],
    )
    @pytest.mark.parametrize(
        "q",
        [
            Query(),
            Query(since=BASE - 12.5 * HOUR, until=BASE),
            Query(text="alpha", tags=("a",)),
            Query(min_score=1),
        ],
        ids=["all", "window", "text", "score"],
    )
    def test_stats(self, both: tuple[Store, Store], q: Query, by: Any, bucket: Any) -> None:
        """Aggregates, percentiles included, are the same (SQLite's exact rows) in both stores."""
        a, b = both
        _same_stats(a.stats(q, by=by, bucket=bucket), b.stats(q, by=by, bucket=bucket))

    def test_sessions(self, both: tuple[Store, Store]) -> None:
        """Session pages list the same sessions with the same totals, page by page."""
        a, b = both
        for q in (Query(), Query(models=("gpt-4o",)), Query(text="refund")):
            pa, pb = a.sessions(q, limit=4), b.sessions(q, limit=4)
            while True:
                assert [s.session_id for s in pa.sessions] == [s.session_id for s in pb.sessions]
                for x, y in zip(pa.sessions, pb.sessions, strict=True):
                    assert (
                        x.count,
                        x.errors,
                        x.total_tokens,
                        x.models,
                        x.user_ids,
                        x.first_ts,
                        x.last_ts,
                    ) == (
                        y.count,
                        y.errors,
                        y.total_tokens,
                        y.models,
                        y.user_ids,
                        y.first_ts,
                        y.last_ts,
                    )
                    assert math.isclose(x.cost_usd or 0, y.cost_usd or 0, abs_tol=1e-12)
                if pa.next_cursor is None:
                    assert pb.next_cursor is None
                    break
                pa = a.sessions(q, limit=4, cursor=pa.next_cursor)
                pb = b.sessions(q, limit=4, cursor=pb.next_cursor)

    def test_prune_and_tail(self, tmp_path: Path, pg_url: str) -> None:
        """The last interactions written and what prune deletes are the same."""
        a, b = _open_both(tmp_path / "r.db", pg_url)
        assert [stable(r) for r in a.tail(limit=5).records] == [
            stable(r) for r in b.tail(limit=5).records
        ]
        assert a.prune(BASE) == b.prune(BASE)
        assert every_page(a) == every_page(b)
        a.close()
        b.close()


# -- what only PostgreSQL has ---------------------------------------------------------------------


class TestOpenStore:
    def test_missing_schema_is_not_found(self, pg_url: str) -> None:
        """A schema nothing was logged to is a missing store, and opening it creates nothing."""
        with pytest.raises(StoreNotFoundError, match=r"no llmlog store at 127\.0\.0\.1"):
            open_store(pg_url)
        schema = pg_url.split("?schema=")[1]
        assert sql(pg_url, "SELECT 1 FROM pg_namespace WHERE nspname = %s", schema) == []

    def test_unreachable_server_is_one_line_without_password(self) -> None:
        """A server that cannot be reached is a StoreError of one line, without credentials."""
        with pytest.raises(StoreError) as info:
            open_store("postgresql://me:s3cret@127.0.0.1:1/none?schema=x")
        text = str(info.value)
        assert text.startswith("cannot connect to PostgreSQL at 127.0.0.1:1/none#x:")
        assert "\n" not in text and "s3cret" not in text

    def test_bad_schema_name(self) -> None:
        """A schema name that is not an identifier is refused before connecting."""
        with pytest.raises(StoreError, match="invalid schema name"):
            open_store(f"{DSN}?schema=bad;name")

    def test_a_table_that_is_not_ours(self, pg_url: str) -> None:
        """An interactions table without llmlog's migrations is not taken for a store."""
        _admin().close()
        sql(pg_url, "CREATE SCHEMA {s}")
        sql(pg_url, "CREATE TABLE {s}.interactions (id int)")
        with pytest.raises(StoreError, match="is not an llmlog store"):
            open_store(pg_url)

    def test_missing_driver_prints_the_install_hint(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without psycopg, opening a PostgreSQL store says which extra to install."""
        monkeypatch.setitem(sys.modules, "psycopg", None)
        for name in ("llmlog.store.postgres.schema", "llmlog.store.postgres.read"):
            monkeypatch.delitem(sys.modules, name, raising=False)
        with pytest.raises(StoreError, match=r"pip install 'llmlog\[postgres\]'"):
            open_store(f"{DSN}?schema=x")

    def test_blank_store_has_the_readers_indexes(self, pg_url: str) -> None:
        """A new store has every migration and exactly the indexes the reader relies on."""
        build_sample(pg_url)
        open_store(pg_url).close()
        assert [
            r[0] for r in sql(pg_url, "SELECT name FROM {s}._llmlog_migrations ORDER BY name")
        ] == ["m001_initial", "m002_reader_indexes", "m003_feedback_id", "m004_spans"]
        schema = pg_url.split("?schema=")[1]
        assert sorted(
            r[0]
            for r in sql(
                pg_url,
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s"
                " AND tablename = 'interactions'",
                schema,
            )
        ) == [
            "interactions_pkey",
            "interactions_request_id_key",
            "ix_interactions_metadata",
            "ix_interactions_model_ts",
            "ix_interactions_request_prefix",
            "ix_interactions_session_id",
            "ix_interactions_status_ts",
            "ix_interactions_tags",
            "ix_interactions_trace",
            "ix_interactions_ts_facts",
            "ix_interactions_user_id",
            "ix_interactions_words",
        ]

    def test_upgrade_from_m001(self, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """A store written before m002 is migrated when opened, and its old rows are found."""
        import llmlog.store.postgres.schema as pg

        monkeypatch.setattr(pg, "MIGRATIONS", pg.MIGRATIONS[:1])
        build_sample(pg_url)
        llmlog.reset()
        assert sql(pg_url, "SELECT name FROM {s}._llmlog_migrations") == [("m001_initial",)]
        monkeypatch.undo()
        with open_store(pg_url) as store:
            assert ids(store.search(Query(text='"capital of France"')).records) == [
                "req-0006",
                "req-0001",
            ]
            assert store.get("req-0005")["model"] == "text-embedding-3-small"
        assert len(sql(pg_url, "SELECT name FROM {s}._llmlog_migrations")) == len(pg.MIGRATIONS)


class TestTailUnderConcurrentWriters:
    @staticmethod
    def _insert(db: Any, url: str, rid: str) -> None:
        rec = {
            "event": "llm_interaction",
            "request_id": rid,
            "timestamp": BASE,
            "prompt_messages": [{"role": "user", "content": rid}],
            "status": "ok",
        }
        schema = url.split("?schema=")[1]
        db.execute(
            f'INSERT INTO "{schema}".interactions (request_id, ts, status, search,'
            " record) VALUES (%s, %s, 'ok', to_tsvector('simple', %s), %s::jsonb)",
            (rid, BASE, rid, orjson.dumps(rec).decode()),
        )

    def test_a_row_committed_late_below_the_cursor_is_returned_once(self, pg_url: str) -> None:
        """A row whose id was taken before a newer row's but committed after it still comes."""
        build_sample(pg_url)
        conninfo = pg_url.split("?schema=")[0]
        with (
            open_store(pg_url) as store,
            psycopg.connect(conninfo) as slow,
            psycopg.connect(conninfo, autocommit=True) as fast,
        ):
            start = store.tail(limit=1)
            self._insert(slow, pg_url, "slow-1")  # takes the lower id, not committed
            self._insert(fast, pg_url, "fast-1")  # a higher id, committed now
            first = store.tail(cursor=start.cursor)
            assert ids(first.records) == ["fast-1"]
            assert ids(store.tail(cursor=first.cursor).records) == []  # still in flight
            slow.commit()
            second = store.tail(cursor=first.cursor)
            assert ids(second.records) == ["slow-1"]
            assert store.tail(cursor=second.cursor).records == []
            assert decode_cursor(second.cursor, 2)[1] == ""

    def test_first_page_then_late_rows(self, pg_url: str) -> None:
        """Rows in flight when tail starts come in a later batch, filters applied."""
        build_sample(pg_url)
        conninfo = pg_url.split("?schema=")[0]
        with (
            open_store(pg_url) as store,
            psycopg.connect(conninfo) as slow,
            psycopg.connect(conninfo, autocommit=True) as fast,
        ):
            self._insert(slow, pg_url, "lagging-a")
            self._insert(fast, pg_url, "fast-a")
            start = store.tail(Query(text="lagging"), limit=5)
            assert start.records == []
            slow.commit()
            assert ids(store.tail(Query(text="lagging"), cursor=start.cursor).records) == [
                "lagging-a"
            ]

    def test_unrelated_transactions_are_not_followed(self, pg_url: str) -> None:
        """A transaction writing elsewhere is not carried in the cursor."""
        build_sample(pg_url)
        schema = pg_url.split("?schema=")[1]
        sql(pg_url, "CREATE TABLE {s}.other (x int)")
        with open_store(pg_url) as store, psycopg.connect(pg_url.split("?")[0]) as other:
            other.execute(f'INSERT INTO "{schema}".other VALUES (1)')
            batch = store.tail(limit=1)
            assert decode_cursor(batch.cursor, 2)[1] == ""
            other.rollback()

    def test_bad_cursor(self, pg_url: str) -> None:
        """A cursor that is not one of tail's is a ValueError."""
        build_sample(pg_url)
        with open_store(pg_url) as store:
            for bad in ("nonsense", "MQ", store.search(limit=1).next_cursor or ""):
                with pytest.raises(ValueError, match="invalid cursor"):
                    store.tail(cursor=bad)


class TestMaintenance:
    def test_verify_finds_and_repairs(self, pg_url: str) -> None:
        """verify reports unindexed rows, wrong tags and bad records; repair fixes the first two."""
        build_sample(pg_url)
        sql(pg_url, "UPDATE {s}.interactions SET search = NULL WHERE request_id = 'req-0004'")
        sql(pg_url, "UPDATE {s}.interactions SET tags = '{x}' WHERE request_id = 'req-0001'")
        with open_store(pg_url) as store:
            assert store.search(Query(text="penguins")).records == []
            report = store.verify()
            failed = {c.name: c.detail for c in report.checks if not c.ok}
            assert failed == {
                "full-text index": "1 interaction(s) without a search vector",
                "tags": "1 interaction(s) whose tags differ from the record",
            }
            assert report.counts["interactions"] == 6 and report.counts["feedback"] == 3
            fixed = store.verify(repair=True)
            assert fixed.ok and {c.name for c in fixed.checks if c.repaired} == {
                "full-text index",
                "tags",
            }
            assert ids(store.search(Query(text="penguins")).records) == ["req-0004"]
            assert store.verify().ok and not any(c.repaired for c in store.verify().checks)
        sql(
            pg_url,
            "UPDATE {s}.interactions SET record = record || '{\"timestamp\": 1}'"
            " WHERE request_id = 'req-0002'",
        )
        with open_store(pg_url) as store:
            report = store.verify(repair=True)
        assert not report.ok
        [bad] = [c for c in report.checks if not c.ok]
        assert bad.name == "records parse" and "timestamp differs from its column" in bad.detail

    def test_rewrite_updates_the_record_and_what_derives_from_it(self, pg_url: str) -> None:
        """rewrite stores changed records with their text index and tags; a dry run changes none."""
        build_sample(pg_url)

        def scrub(rec: dict[str, Any]) -> dict[str, Any] | None:
            text = orjson.dumps(rec).decode()
            if "France" not in text:
                return None
            rec = orjson.loads(text.replace("France", "[COUNTRY]"))
            rec["tags"] = [*rec.get("tags", []), "scrubbed"]
            rec["redaction"] = {"counts": {"COUNTRY": 1}}
            return rec

        with open_store(pg_url) as store:
            dry = store.rewrite(scrub, dry_run=True)
            assert (dry.interactions, dry.changed, dry.feedback) == (6, 2, 3)
            assert store.count(Query(text="France")) == 2
            done = store.rewrite(scrub, batch_size=2)
            assert (done.changed, done.counts, done.purged) == (2, {"COUNTRY": 2}, False)
            assert store.count(Query(text="France")) == 0
            assert ids(store.search(Query(text="COUNTRY", tags=("scrubbed",))).records) == [
                "req-0006",
                "req-0001",
            ]
            again = store.rewrite(scrub)
            assert (again.changed, again.purged) == (0, True)
            assert store.verify().ok

    def test_lost_connection_is_a_store_error(self, pg_url: str) -> None:
        """A connection the server closed is a one-line StoreError, not a driver traceback."""
        build_sample(pg_url)
        store = open_store(pg_url)
        pid = store._db.info.backend_pid  # type: ignore[attr-defined]
        sql(pg_url, "SELECT pg_terminate_backend(%s)", pid)
        with pytest.raises(StoreError, match=r"^PostgreSQL error: ") as info:
            store.count()
        assert "\n" not in str(info.value)
        store.close()


# -- the CLI on a PostgreSQL store ----------------------------------------------------------------


def _cli(db: str) -> Callable[..., Result]:
    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--db", db, *args], input=input, catch_exceptions=False)

    return run


COMMANDS = [
    ["search"],
    ["search", "-n", "2"],
    ["search", "refund order"],
    ["search", '"capital of France"'],
    ["search", "pengu*", "--tag", "prod"],
    ["search", "--meta", "tier=2", "--status", "ok"],
    ["search", "--min-score", "4"],
    ["search", "--user", "u-2"],
    ["show", "req-0002"],
    ["show", "req-0003"],
    ["stats"],
    ["stats", "--by", "model"],
    ["stats", "--by", "day", "--json"],
    ["stats", "--by", "tag", "--since", str(int(BASE + HOUR))],
    ["tail", "-n", "3"],
    ["export", "--format", "openai-chat"],
    ["show", "nope"],
    ["search", "--since", "soon"],
    ["prune", "--older-than", "1h"],
]


class TestCli:
    def test_commands_print_the_same_as_on_sqlite(self, tmp_path: Path, pg_url: str) -> None:
        """search, show, stats, tail and export print the same for both stores."""
        build_sample(tmp_path / "s.db")
        llmlog.reset()
        build_sample(pg_url)
        on_sqlite, on_pg = _cli(str(tmp_path / "s.db")), _cli(pg_url)
        for args in COMMANDS:
            a, b = on_sqlite(*args), on_pg(*args)
            assert (b.exit_code, _norm(b.output)) == (a.exit_code, _norm(a.output)), args
        # JSONB keeps values, not the key order of nested objects: compare those parsed
        a_csv, b_csv = (
            list(csv.reader(io.StringIO(run("export", "--format", "csv").stdout)))
            for run in (on_sqlite, on_pg)
        )
        assert [[_cell(c) for c in row] for row in a_csv] == [
            [_cell(c) for c in row] for row in b_csv
        ]
        for args in (
            ["export", "--format", "jsonl"],
            ["search", "--json", "--tag", "prod"],
            ["show", "--json", "req-0004"],
            ["tail", "--json"],
        ):
            a, b = on_sqlite(*args), on_pg(*args)
            assert [stable(orjson.loads(line)) for line in a.stdout.splitlines()] == [
                stable(orjson.loads(line)) for line in b.stdout.splitlines()
            ], args

    def test_writing_commands(self, tmp_path: Path, pg_url: str) -> None:
        """import, feedback, prune and verify work on a PostgreSQL store."""
        build_sample(tmp_path / "s.db")
        llmlog.reset()
        run = _cli(pg_url)
        export = _cli(str(tmp_path / "s.db"))("export", "--format", "jsonl")
        (tmp_path / "all.jsonl").write_text(export.stdout)
        imported = run("import", str(tmp_path / "all.jsonl"))
        assert imported.exit_code == 0, imported.output
        assert imported.output.startswith("imported 6 interaction(s) from 6 line(s)")
        again = run("import", str(tmp_path / "all.jsonl"))
        assert "imported 0 interaction(s)" in again.output and "6 already" in again.output
        scored = run("feedback", "req-0004", "--score", "3", "--comment", "ok")
        assert scored.output == "scored req-0004: 3 (ok)\n"
        assert [
            s.split("\t")[1] for s in run("search", "--min-score", "3").output.splitlines()
        ] == ["req-0004"]
        assert run("prune", "--older-than", str(int(BASE + HOUR)), "--yes").output == (
            f"deleted 2 interaction(s) older than {_local(BASE + HOUR)}, 4 tag(s),"
            " 0 feedback score(s)\n"
        )
        verified = run("verify")
        assert verified.exit_code == 0 and "4 interactions" in verified.output

    def test_errors_are_one_line(self, pg_url: str) -> None:
        """A missing store and an unreachable server are one Error line with exit code 1."""
        missing = _cli(pg_url)("search")
        assert missing.exit_code == 1
        assert missing.output.startswith("Error: no llmlog store at postgresql://")
        down = _cli("postgresql://me:pw@127.0.0.1:1/x")("stats")
        assert down.exit_code == 1 and down.output.count("\n") == 1
        assert down.output.startswith("Error: cannot connect to PostgreSQL at 127.0.0.1:1/x")
        assert "pw" not in down.output
        masked = _cli("postgresql://postgres:pw@127.0.0.1:5432/test?schema=llmlog_absent")("search")
        assert "postgres:***@127.0.0.1" in masked.output and ":pw@" not in masked.output


class TestViewer:
    def test_pages_and_feedback(self, pg_url: str) -> None:
        """The viewer lists, searches, shows, follows and scores a PostgreSQL store."""
        pytest.importorskip("starlette")
        from starlette.testclient import TestClient

        from llmlog.web import create_app

        build_sample(pg_url)
        with TestClient(create_app(pg_url), base_url="http://127.0.0.1") as client:
            home = client.get("/")
            assert home.status_code == 200 and "req-0006" in home.text
            found = client.get("/", params={"q": '"capital of France"'}).text
            assert "req-0001" in found and "req-0004" not in found
            for path in ("/sessions", "/dashboard", "/s/s-1", "/api/i/req-0002"):
                assert client.get(path).status_code == 200, path
            page = client.get("/i/req-0004").text
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token is not None
            saved = client.post(
                "/i/req-0004/feedback",
                follow_redirects=False,
                data={"csrf": token.group(1), "score": "1", "comment": "yes"},
                headers={"Origin": "http://127.0.0.1"},
            )
            assert saved.status_code == 303
        with open_store(pg_url) as store:
            assert [(f["score"], f["comment"]) for f in store.feedback("req-0004")] == [(1, "yes")]


def _norm(text: str) -> str:
    """Normalise ids and times, and trace and span ids (new each time a record is logged)."""
    return re.sub(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{16}\b", "<HEX>", normalise(text))


def _cell(text: str) -> Any:
    """Return a CSV cell, parsed when it holds JSON, trace and span ids left out."""
    if re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{16}", text):
        return "<HEX>"
    return orjson.loads(text) if text[:1] in ("{", "[") else text


def _local(ts: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
