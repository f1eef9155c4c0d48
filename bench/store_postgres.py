"""Reading a big PostgreSQL store: 1,000,000 interactions and how fast the CLI answers.

Run by hand against a server you can write to (it prints figures; nothing is asserted):

    python bench/store_postgres.py                     # load once into schema llmlog_bench, time
    python bench/store_postgres.py --n 100000          # smaller (schema llmlog_bench_100000)
    python bench/store_postgres.py --regen             # load again
    python bench/store_postgres.py --write-readme      # also update this section of README.md
    LLMLOG_BENCH_PG=postgresql://user@host/db python bench/store_postgres.py

The interactions are the ones ``bench/store.py`` generates (same generator, seed,
models, sessions, tags, errors, rare words ``quokkaberry`` in one interaction and
``xylophonic`` in 10), read from ``bench/out/store-<n>.jsonl`` when that file
exists and generated otherwise, shifted so that the newest is "now". They are
loaded fast rather than through the sink: the rows are built in Python exactly
as ``PostgresSink.write`` builds them, sent with ``COPY`` into a staging table,
moved into the store with one ``INSERT ... SELECT`` (computing the
``tsvector``), and the store's indexes, dropped for the load, are created again
from their definitions. The write path is measured separately (``--write-n``):
``PostgresSink.write`` in batches of 500 into a fresh schema, with the indexes
of every migration and with those of ``m001_initial`` only, to show what the
reader's indexes (``m002_reader_indexes``) cost each write.

Then, on the warm store (median of ``--runs`` runs after one warm-up), each
operation is timed through the query layer (``llmlog.store``, what the web viewer
calls) and as the CLI command run in-process (click parsing, connecting, the
query, rendering).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import store as sqlite_bench  # noqa: E402  (bench/store.py: the generator and helpers)

from llmlog.extract import search_text  # noqa: E402
from llmlog.store.common import COLUMNS as STORE_COLUMNS  # noqa: E402

OUT = HERE / "out"
DSN = os.environ.get("LLMLOG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
DAY = 86400.0
COLUMNS = (*STORE_COLUMNS, "tags")  # the store's columns, then its tags array


def _text(v: Any) -> Any:
    return v.replace("\x00", "\ufffd") if isinstance(v, str) and "\x00" in v else v


def row_of(rec: dict[str, Any]) -> tuple[Any, ...]:
    """Return the staging row for a record: the sink's columns, the search text, the JSON."""
    u = rec.get("usage")
    if type(u) is not dict:
        u = {}
    err = rec.get("error")
    return (
        _text(rec.get("request_id")),
        rec.get("timestamp"),
        _text(rec.get("provider")),
        _text(rec.get("operation")),
        _text(rec.get("model")),
        _text(rec.get("response_model")),
        rec.get("status") or "ok",
        rec.get("duration_ms"),
        rec.get("ttft_ms"),
        u.get("input_tokens"),
        u.get("output_tokens"),
        u.get("total_tokens"),
        u.get("cached_input_tokens"),
        u.get("reasoning_tokens"),
        bool(u.get("estimated")),
        rec.get("cost_usd"),
        _text(rec.get("session_id")),
        _text(rec.get("user_id")),
        rec.get("trace_id"),
        _text(err.get("type")) if type(err) is dict else None,
        [_text(str(t)) for t in rec.get("tags") or ()],
        _text(
            search_text(
                rec.get("prompt_messages"), rec.get("parsed_output"), rec.get("tool_calls"), err
            )
        ),
        orjson.dumps(rec).decode().replace("\\u0000", "\\ufffd"),
    )


def records(n: int) -> Iterator[dict[str, Any]]:
    """Yield the ``n`` benchmark interactions, oldest first, the newest shifted to now."""
    jsonl = OUT / f"store-{n}.jsonl"
    if jsonl.exists():
        with open(jsonl, "rb") as f:
            last = None
            for line in f:
                last = line
            end = orjson.loads(last)["timestamp"] if last else time.time()
        shift = time.time() - end
        with open(jsonl, "rb") as f:
            for line in f:
                rec = orjson.loads(line)
                rec["timestamp"] += shift
                yield rec
        return
    seed = 7
    stamps = sqlite_bench.timestamps(n, time.time(), seed)
    rng = random.Random(seed)
    rare: dict[int, str] = {}
    for word, count in sqlite_bench.RARE.items():
        for i in rng.sample(range(n), count):
            rare[i] = word
    gen = sqlite_bench.Generator(seed)
    for i, ts in enumerate(stamps):
        yield gen.record(i, ts, rare.get(i))


def load(url: str, n: int) -> float:
    """Create the store at ``url`` anew and load ``n`` interactions; return seconds taken."""
    from llmlog.store.postgres.schema import connect, split_url

    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    db, _ = connect(url)
    db.autocommit = True
    s = f'"{schema}"'
    t0 = time.perf_counter()
    indexes = [
        r[0]
        for r in db.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid ="
            " %s::regclass AND NOT i.indisprimary AND NOT i.indisunique",
            (f"{s}.interactions",),
        )
    ]
    for name in [
        r[0]
        for r in db.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass"
            " AND NOT indisprimary AND NOT indisunique",
            (f"{s}.interactions",),
        )
    ]:
        db.execute(f"DROP INDEX {name}")
    types = ["text", "float8", "text", "text", "text", "text", "text", "float8", "float8"]
    types += ["bigint"] * 5 + ["boolean", "float8", "text", "text", "text", "text", "text[]"]
    cols = ", ".join(f"{c} {ty}" for c, ty in zip(COLUMNS, types, strict=True))
    db.execute(
        f"CREATE UNLOGGED TABLE {s}.staging (n bigserial, {cols}, search_text text, record text)"
    )
    done = 0
    with (
        db.cursor() as cur,
        cur.copy(
            f"COPY {s}.staging ({', '.join(COLUMNS)}, search_text, record) FROM STDIN"
        ) as copy,
    ):
        for rec in records(n):
            copy.write_row(row_of(rec))
            done += 1
            if done % 100_000 == 0:
                print(
                    f"  copied {done:,} / {n:,} ({done / (time.perf_counter() - t0):,.0f}/s)",
                    file=sys.stderr,
                )
    print("  moving into the store", file=sys.stderr)
    db.execute(
        f"INSERT INTO {s}.interactions ({', '.join(COLUMNS)}, search, record)"
        f" SELECT {', '.join(COLUMNS)}, to_tsvector('simple', search_text),"
        f" record::jsonb FROM {s}.staging ORDER BY n"
    )
    db.execute(f"DROP TABLE {s}.staging")
    db.execute("SET maintenance_work_mem = '512MB'")
    for ddl in indexes:
        print(f"  {ddl}", file=sys.stderr)
        db.execute(ddl)
    db.execute(f"ALTER INDEX {s}.ix_interactions_words ALTER COLUMN 1 SET STATISTICS 1000")
    db.execute(f"VACUUM (ANALYZE) {s}.interactions")
    db.close()
    return time.perf_counter() - t0


def bench_writes(n: int) -> list[tuple[str, float]]:
    """Time ``PostgresSink.write`` (batches of 500) with and without the reader's indexes."""
    from llmlog.sinks.base import Entry
    from llmlog.store.postgres.schema import split_url
    from llmlog.store.postgres.write import PostgresSink

    gen = sqlite_bench.Generator(11)
    stamps = sqlite_bench.timestamps(n, time.time() - 40 * DAY, 11)
    lines = [orjson.dumps(gen.record(i, ts, None)) for i, ts in enumerate(stamps)]
    out = []
    for label, m001_only in (
        ("every migration (m001 + m002)", False),
        ("m001_initial indexes only", True),
    ):
        url = f"{DSN}?schema=llmlog_bench_write"
        conninfo, schema = split_url(url)
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        sink = PostgresSink(url)
        sink.write([Entry(orjson.loads(lines[0]), lines[0])])
        if m001_only:
            with psycopg.connect(conninfo, autocommit=True) as admin:
                s = f'"{schema}"'
                for name in (
                    "ix_interactions_words",
                    "ix_interactions_request_prefix",
                    "ix_interactions_metadata",
                ):
                    admin.execute(f"DROP INDEX {s}.{name}")
                admin.execute(
                    f"CREATE INDEX ix_interactions_search ON {s}.interactions USING GIN (search)"
                )
        t0 = time.perf_counter()
        for i in range(1, n, 500):
            sink.write([Entry(orjson.loads(line), line) for line in lines[i : i + 500]])
        rate = (n - 1) / (time.perf_counter() - t0)
        sink.close()
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        out.append((label, rate))
        print(f"  write, {label}: {rate:,.0f} interactions/s", file=sys.stderr)
    return out


Row = tuple[str, str, float, float, str]


def bench_reads(url: str, runs: int, common: str, commonest: str) -> list[Row]:
    """Time the read operations; return (operation, command, api ms, cli ms, note)."""
    from click.testing import CliRunner

    from llmlog.cli import cli
    from llmlog.store import Query, Store, open_store

    conninfo, schema = url.split("?schema=")
    with psycopg.connect(conninfo) as conn:
        top = conn.execute(f'SELECT max(id) FROM "{schema}".interactions').fetchone()[0]
        rng = random.Random(5)
        ids = [
            conn.execute(
                f'SELECT request_id FROM "{schema}".interactions WHERE id >= %s'
                " ORDER BY id LIMIT 1",
                (rng.randint(1, top),),
            ).fetchone()[0]
            for _ in range(runs + 8)
        ]
    store = open_store(url)
    rows: list[Row] = []
    api_ids, cli_ids = sqlite_bench.cycle(ids), sqlite_bench.cycle(ids[::-1])
    runner = CliRunner()

    def cli_call(*args: str) -> Callable[[], object]:
        def call() -> object:
            result = runner.invoke(cli, ["--db", url, *args], catch_exceptions=False)
            if result.exit_code != 0:
                raise RuntimeError(f"llmlog {' '.join(args)} failed: {result.output}")
            return result

        return call

    def both(
        name: str,
        command: list[str],
        op: Callable[[Store], object],
        note: str = "",
        cli_fn: Callable[[], object] | None = None,
    ) -> None:
        a, _ = sqlite_bench.median_ms(lambda: op(store), runs)
        c, _ = sqlite_bench.median_ms(cli_fn or cli_call(*command), runs)
        rows.append((name, "llmlog " + " ".join(command), a, c, note))
        print(f"  {name:<30} api {a:8.1f} ms   cli {c:8.1f} ms", file=sys.stderr)

    def show(s: Store, rid: str) -> object:
        return s.get(rid), s.feedback(rid)

    week = 7 * DAY
    both(
        "show by id",
        ["show", "ID"],
        lambda s: show(s, next(api_ids)),
        cli_fn=lambda: cli_call("show", next(cli_ids))(),
        note="random ids",
    )
    both(
        "show by id prefix",
        ["show", "ID[:13]"],
        lambda s: show(s, next(api_ids)[:13]),
        cli_fn=lambda: cli_call("show", next(cli_ids)[:13])(),
        note="random ids",
    )
    both(
        "search model + 24h window",
        ["search", "-m", "gpt-4o", "--since", "24h"],
        lambda s: s.search(Query(models=("gpt-4o",), since=time.time() - DAY), limit=20),
        note="first page, 20 rows",
    )
    both(
        "search status=error 7d",
        ["search", "--status", "error", "--since", "7d"],
        lambda s: s.search(Query(status="error", since=time.time() - week), limit=20),
    )
    both(
        "search --meta tenant=t7",
        ["search", "--meta", "tenant=t7"],
        lambda s: s.search(Query(metadata=(("tenant", "t7"),)), limit=20),
    )
    both(
        "full text, 1 match",
        ["search", "quokkaberry"],
        lambda s: s.search(Query(text="quokkaberry"), limit=20),
    )
    both(
        "full text, 10 matches",
        ["search", "xylophonic"],
        lambda s: s.search(Query(text="xylophonic"), limit=20),
    )
    both(
        "full text, common word",
        ["search", common],
        lambda s: s.search(Query(text=common), limit=20),
        note=f"{common!r} is in ~1 in 6 interactions",
    )
    both(
        "full text, commonest word",
        ["search", commonest],
        lambda s: s.search(Query(text=commonest), limit=20),
        note=f"{commonest!r} is in ~9 in 10 interactions",
    )
    both(
        "full text + model + 7d",
        ["search", common, "-m", "gpt-4o", "--since", "7d"],
        lambda s: s.search(
            Query(text=common, models=("gpt-4o",), since=time.time() - week), limit=20
        ),
    )
    both(
        "phrase of common words",
        ["search", f'"{commonest} {common}"'],
        lambda s: s.search(Query(text=f'"{commonest} {common}"'), limit=20),
        note="words from the index, phrase checked in the records",
    )
    both(
        "count, full text common word",
        ["export", "-", "(count only)"],
        lambda s: s.count(Query(text=common)),
        cli_fn=lambda: None,
        note="query API only",
    )
    both("stats, all time", ["stats"], lambda s: s.stats())
    both("stats --by model", ["stats", "--by", "model"], lambda s: s.stats(by="model"))
    both("stats --by tag", ["stats", "--by", "tag"], lambda s: s.stats(by="tag"))
    both(
        "stats --since 7d --by day",
        ["stats", "--since", "7d", "--by", "day"],
        lambda s: s.stats(Query(since=time.time() - week), bucket="day"),
    )
    both(
        "stats --since 24h -m gpt-4o",
        ["stats", "--since", "24h", "-m", "gpt-4o"],
        lambda s: s.stats(Query(since=time.time() - DAY, models=("gpt-4o",))),
    )
    both(
        "stats --user U",
        ["stats", "--user", "u-00042"],
        lambda s: s.stats(Query(user_id="u-00042")),
    )
    both(
        "stats, full text common word",
        ["stats", common],
        lambda s: s.stats(Query(text=common)),
        cli_fn=lambda: None,
        note="query API only",
    )
    both(
        "sessions, first page",
        ["(viewer) /sessions"],
        lambda s: s.sessions(Query(since=time.time() - week), limit=50),
        cli_fn=lambda: None,
        note="query API only, last 7 days",
    )
    both("tail -n 10", ["tail", "-n", "10"], lambda s: s.tail(limit=10))
    store.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--regen", action="store_true")
    ap.add_argument("--write-n", type=int, default=20_000)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    schema = "llmlog_bench" if args.n == 1_000_000 else f"llmlog_bench_{args.n}"
    url = f"{DSN}?schema={schema}"
    load_s = None
    with psycopg.connect(DSN) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".interactions',)).fetchone()[0]
    if args.regen or not exists:
        print(f"loading {args.n:,} interactions into {url}", file=sys.stderr)
        load_s = load(url, args.n)
        print(f"  done in {load_s:.0f} s", file=sys.stderr)
    from llmlog.store import open_store

    open_store(url).close()  # applies any migration the loaded schema lacks
    with psycopg.connect(DSN) as conn:
        n = conn.execute(f'SELECT count(*) FROM "{schema}".interactions').fetchone()[0]
        sizes = conn.execute(
            "SELECT pg_total_relation_size(%s), pg_relation_size(%s),"
            " pg_indexes_size(%s), (SELECT pg_relation_size(%s))",
            (f'"{schema}".interactions',) * 3 + (f'"{schema}".ix_interactions_words',),
        ).fetchone()
        version = conn.execute("SHOW server_version").fetchone()[0]
    print(f"store: {n:,} interactions, {sizes[0] / 1e9:.2f} GB", file=sys.stderr)
    top = sqlite_bench.Generator(0).top_words
    reads = bench_reads(url, args.runs, top[100], top[0])
    writes = bench_writes(args.write_n) if args.write_n else []
    report = render(n, sizes, version, load_s, reads, writes, args)
    print(report)
    if args.write_readme:
        write_readme(report)


def render(
    n: int,
    sizes: tuple[int, ...],
    version: str,
    load_s: float | None,
    reads: list[Row],
    writes: list[tuple[str, float]],
    args: argparse.Namespace,
) -> str:
    total, heap, indexes, words = sizes
    lines = [
        f"Store: {n:,} interactions in PostgreSQL {version.split()[0]}, {total / 1e9:.2f} GB "
        f"= **{total / n:,.0f} bytes per interaction** (table with TOAST "
        f"{heap / n:,.0f} B, indexes {indexes / n:,.0f} B, of which the full-text index "
        f"{words / n:,.0f} B).",
    ]
    if load_s:
        lines.append(
            f"Loaded in {load_s:.0f} s ({n / load_s:,.0f} interactions/s with COPY, "
            "indexes built afterwards)."
        )
    lines += [
        "",
        f"Median of {args.runs} runs after a warm-up, warm caches, the server on the same "
        f"machine ({os.cpu_count()} CPUs, shared_buffers at its 128 MB default), Python "
        f"{platform.python_version()}. *query API* is the `llmlog.store` call on an open "
        "store; *CLI* is the command run in-process (parse, connect, check migrations, query, "
        "render) without interpreter start-up.",
        "",
        "| operation | command | query API | CLI | target | note |",
        "|---|---|---:|---:|---|---|",
    ]
    targets = {
        "show by id": "< 50 ms",
        "search model + 24h window": "< 100 ms",
        "full text, 1 match": "< 300 ms",
        "full text, 10 matches": "< 300 ms",
        "stats, all time": "< 1 s",
        "stats --by model": "< 1 s",
    }
    for name, command, api, cli, note in reads:
        cli_text = "-" if "only" in note else f"{cli:,.1f} ms"
        cmd = "" if "only" in note else f"`{command}`"
        lines.append(
            f"| {name} | {cmd} | {api:,.1f} ms | {cli_text} | {targets.get(name, '')} | {note} |"
        )
    if writes:
        lines += [
            "",
            f"Writes: `PostgresSink.write` of {args.write_n:,} interactions in "
            "batches of 500 into a fresh schema (one transaction per batch):",
            "",
            "| indexes | interactions/s |",
            "|---|---:|",
        ]
        lines += [f"| {label} | {rate:,.0f} |" for label, rate in writes]
    lines += [
        "",
        "How the reads are answered, and where they cost more:",
        "",
        "* `show` is a unique-index lookup; an id prefix is a `LIKE 'prefix%'` range on a "
        "`text_pattern_ops` index (any collation). Filtered `search` walks `(model, ts)`, "
        "`(status, ts)`, `(user_id, ts)` or `ts` backwards with a keyset cursor; metadata "
        "filters are JSONB containment on a GIN index over `record->'metadata'`.",
        "* Full text is a `tsquery` on a GIN index over `search_words(search)` (the lexemes "
        "split into words as SQLite's index holds them). The planner chooses between the "
        "index (a rare word: its few rows, sorted) and walking the time index testing each "
        "row (a common word: the first 20 matches come within a few hundred rows); it needs "
        "to know which words are rare, hence statistics on 10,000 words for that index "
        "(`m002_reader_indexes`). Phrases are checked in Python on the four fields the text "
        "comes from, as for SQLite, so they cost a JSON parse per candidate.",
        "* `stats` is one `GROUP BY` with exact nearest-rank percentiles (`percentile_disc`) "
        "over an index-only scan of `ts` with the aggregated columns (`ix_interactions_ts_facts`)."
        " There is no rollup, so the cost grows with the matching rows: the totals of a "
        "million interactions take about 0.4 s; grouped, the sort that exact percentiles "
        "need dominates (about 1 s by model, 2 s by tag, whose rows are counted once per "
        "tag). A time window or a filter brings it down in proportion.",
        "* Each reader connection turns JIT compilation off (it cost ~0.4 s per aggregate "
        "here), plans every query for its actual values (no generic plans: a rare word and a "
        "common one need different plans) and uses `work_mem = 64MB`, so the bitmap of a "
        "common word stays exact (a lossy one made `count` of a common word take 3.3 s "
        "instead of 0.3 s).",
        "* Not measured: a cold cache (the server's own buffers cannot be dropped from a "
        "client), a server on another machine (each query then adds a network round trip; "
        "the CLI connects once per command).",
    ]
    return "\n".join(lines)


BEGIN = "<!-- bench/store_postgres.py: begin -->"
END = "<!-- bench/store_postgres.py: end -->"


def write_readme(report: str) -> None:
    """Replace this benchmark's section of bench/README.md (other sections are kept)."""
    path = HERE / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = (
        f"{BEGIN}\n## Reading a 1M-interaction PostgreSQL store "
        f"(`bench/store_postgres.py`)\n\n{report}\n{END}"
    )
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
