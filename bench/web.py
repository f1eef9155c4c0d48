"""How fast the web viewer answers on a big store: list, dashboard, detail, live, sessions.

Run by hand (it prints figures; nothing is asserted):

    python bench/web.py                    # on bench/out/store-1000000.db (from bench/store.py)
    python bench/web.py --n 100000         # on bench/out/store-100000.db (generated if absent)
    python bench/web.py --write-readme     # also update this benchmark's section of README.md

Each page is requested in-process through Starlette's test client, so a figure
is the server's whole time for the request (routing, opening the store, the
query-layer calls, rendering the HTML) without the network: the median of
``--runs`` requests after one warm-up, and the slowest. The first request of a
fresh app (which also reads the model and provider menus, then cached for a
minute) is shown separately. The store's pages are in the OS cache (warm), as
they are for anyone browsing it.

If the store is missing it is generated with ``bench/store.py``'s generator
(30 days of realistic traffic); generating 1,000,000 interactions takes minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
BUDGET_MS = 300.0
BEGIN, END = "<!-- bench/web.py: begin -->", "<!-- bench/web.py: end -->"


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Return (median, max) of ``runs`` timed calls in ms, after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="interactions in the store")
    ap.add_argument("--db", type=Path, default=None, help="another store to read")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    db: Path = args.db or OUT / f"store-{args.n}.db"
    generated = None
    if not db.exists():
        sys.path.insert(0, str(HERE))
        from store import generate  # bench/store.py

        OUT.mkdir(exist_ok=True)
        print(f"generating {args.n:,} interactions into {db}", file=sys.stderr)
        generated = generate(db, args.n)

    from starlette.testclient import TestClient

    from llmlog.web import create_app

    conn = sqlite3.connect(db)
    n = conn.execute("SELECT count(*) FROM interactions").fetchone()[0]
    rid = conn.execute("SELECT request_id FROM interactions WHERE id = ?", (n // 2,)).fetchone()[0]
    sid = conn.execute(
        "SELECT session_id FROM interactions WHERE session_id IS NOT NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()[0]
    conn.close()

    client = TestClient(create_app(str(db)), base_url="http://127.0.0.1")

    def get(url: str) -> Callable[[], str]:
        def call() -> str:
            resp = client.get(url)
            if resp.status_code != 200:
                raise RuntimeError(f"GET {url}: {resp.status_code}")
            return resp.text

        return call

    t0 = time.perf_counter()
    first_html = get("/")()
    first_ms = (time.perf_counter() - t0) * 1000
    older = re.search(r'href="([^"]+)" id="older"', first_html)
    page2 = older.group(1).replace("&amp;", "&") if older else "/"
    cursor = re.search(r'data-cursor="([^"]+)"', first_html)
    tail = f"/api/tail?cursor={quote(cursor.group(1))}" if cursor else "/api/tail?cursor=MA"

    pages = [
        ("list", "newest 50", "/"),
        ("list", "next page (keyset cursor)", page2),
        ("list", "model + status filter", "/?model=gpt-4o&status=error"),
        ("list", "tag + last 24 hours", "/?tag=rag&since=24h"),
        ("list", "full text, rare word", "/?q=quokkaberry"),
        ("list", "full text, 10 matches", "/?q=xylophonic"),
        ("list", "session", f"/?session={quote(sid)}"),
        ("live", "poll for new rows", tail),
        ("dashboard", "last 24 hours (hourly, stacked by model)", "/dashboard?since=24h"),
        ("dashboard", "last 7 days (daily; the default)", "/dashboard"),
        ("dashboard", "last 7 days, one model", "/dashboard?since=7d&model=gpt-4o"),
        ("dashboard", "last 30 days (daily)", "/dashboard?since=30d"),
        ("dashboard", "all time (daily)", "/dashboard?since=all"),
        ("detail", "one interaction", f"/i/{rid}"),
        ("session", "one session", f"/s/{quote(sid)}"),
        ("sessions", "sessions of the last 24 hours", "/sessions"),
    ]
    rows = []
    for view, what, url in pages:
        med, worst = timed(get(url), args.runs)
        rows.append((view, what, url, med, worst))
        print(f"  {view:9} {what:45} {med:7.1f} ms (max {worst:.1f})", file=sys.stderr)

    shown_db = db.relative_to(HERE.parent) if db.is_relative_to(HERE.parent) else db
    lines = [
        f"Store: {n:,} interactions (`{shown_db}`)"
        + (f", generated for this run in {generated:.0f} s" if generated else "")
        + f". Server time per request, median of {args.runs} after a warm-up (max in "
        "brackets), in-process through Starlette's test client: routing, store calls and "
        f"HTML rendering, no network. Budget for list and dashboard: {BUDGET_MS:.0f} ms. "
        f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start "
        "(other benchmarks were running: figures vary by about ±30% between runs).",
        "",
        "| view | what | URL | median | max |",
        "|---|---|---|---:|---:|",
    ]
    for view, what, url, med, worst in rows:
        shown = url if len(url) <= 48 else url[:45] + "..."
        flag = " ⚠" if view in ("list", "dashboard") and med > BUDGET_MS else ""
        lines.append(f"| {view} | {what} | `{shown}` | {med:.1f} ms{flag} | {worst:.1f} ms |")
    lines += [
        "",
        f"First request of a fresh app (`/`, also fills the model and provider menus, "
        f"cached for a minute): {first_ms:.0f} ms.",
    ]

    # the query-layer calls behind the dashboard, on their own
    from llmlog.store import Query, open_store
    from llmlog.web._dashboard import windows

    def per_day(store: object, q: Query) -> object:
        assert q.since is not None
        _, xs = windows(q.since, time.time())
        bounds = [*xs[1:], None]
        return [
            store.stats(q.replace(since=max(lo, q.since), until=hi))  # type: ignore[attr-defined]
            for lo, hi in zip(xs, bounds, strict=True)
        ]

    calls = [
        ("24h", "stats(q)", lambda s, q: s.stats(q)),
        ("24h", "stats(q, by='model')", lambda s, q: s.stats(q, by="model")),
        ("24h", "stats(q, bucket='hour')", lambda s, q: s.stats(q, bucket="hour")),
        (
            "24h",
            "stats(q, bucket='hour', by='model')",
            lambda s, q: s.stats(q, bucket="hour", by="model"),
        ),
        ("7d", "stats(q, bucket='day')", lambda s, q: s.stats(q, bucket="day")),
        ("30d", "stats(q)", lambda s, q: s.stats(q)),
        ("30d", "stats(q, by='model')", lambda s, q: s.stats(q, by="model")),
        ("30d", "stats(q, bucket='day')", lambda s, q: s.stats(q, bucket="day")),
        (
            "30d",
            "stats(q, bucket='day', by='model') (not used)",
            lambda s, q: s.stats(q, bucket="day", by="model"),
        ),
        ("30d", "stats(q) once per local day, one thread (the dashboard uses threads)", per_day),
    ]
    lines += [
        "",
        "The query-layer calls the dashboard makes, timed on their own:",
        "",
        "| range | call | median | max |",
        "|---|---|---:|---:|",
    ]
    with open_store(db) as store:
        for since, name, fn in calls:
            q = Query.parse(since=since)
            med, worst = timed(lambda fn=fn, q=q: fn(store, q), args.runs)
            lines.append(f"| {since} | `{name}` | {med:.1f} ms | {worst:.1f} ms |")
            print(f"  {since:4} {name:45} {med:7.1f} ms (max {worst:.1f})", file=sys.stderr)
    report = "\n".join(lines)
    print(report)
    if args.write_readme:
        write_readme(report)


def write_readme(report: str) -> None:
    """Replace this benchmark's section of bench/README.md (other sections are kept)."""
    path = HERE / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{BEGIN}\n## The web viewer on a big store (`bench/web.py`)\n\n{report}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
