"""What a long string costs the store and the viewer: the measure behind ``max_string``.

Run by hand (it prints a table; nothing is asserted):

    python bench/max_string.py

For one message of 64 KB to 4 MB of prose (distinct words, the worst case for the
full-text index), in a fresh SQLite store with redaction off and no ``max_string`` cut:
the writer's time to store it with its full-text entry (flushed), the viewer's time to
render its detail page (and the page's size), and redaction's time over the text.
The default ``max_string`` (262,144 characters) is the largest size whose detail page
stays under a megabyte and a few tens of milliseconds on this machine.
"""

from __future__ import annotations

import os
import random
import string
import tempfile
import time
from pathlib import Path

SIZES = (64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024)


def prose(n: int, rng: random.Random) -> str:
    """Return ``n`` characters of words drawn from 50,000 distinct random words."""
    words = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(50_000)
    ]
    out: list[str] = []
    total = 0
    while total < n:
        w = rng.choice(words)
        out.append(w)
        total += len(w) + 1
    return " ".join(out)[:n]


def main() -> None:
    from starlette.testclient import TestClient

    import llmlog
    from llmlog.web._app import create_app

    rng = random.Random(7)
    head = ("message", "write + FTS", "detail page", "page size", "redaction")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (9, 12, 12, 10, 10), strict=True)))
    with tempfile.TemporaryDirectory() as d:
        for n in SIZES:
            db = str(Path(d) / f"s{n}.db")
            llmlog.reset()
            llmlog.configure(db=db, redact=False, max_string=0)
            llmlog.log_interaction([{"role": "user", "content": "warm up"}], None)
            llmlog.flush()  # the store exists and is migrated before the timed write
            text = prose(n, rng)
            t0 = time.perf_counter()
            rid = llmlog.log_interaction([{"role": "user", "content": text}], None, "ok")
            llmlog.flush()
            write = time.perf_counter() - t0
            llmlog.shutdown()
            client = TestClient(create_app(db), base_url="http://127.0.0.1:8765")
            client.get("/")
            pages = []
            for _ in range(3):
                t0 = time.perf_counter()
                page = client.get(f"/i/{rid}")
                pages.append(time.perf_counter() - t0)
            llmlog.redact_text("warm up the detectors: a@b.example")
            t0 = time.perf_counter()
            llmlog.redact_text(text)
            red = time.perf_counter() - t0
            print(
                f"{n // 1024:>6} KB {write * 1000:>9.1f} ms {min(pages) * 1000:>9.1f} ms "
                f"{len(page.content) // 1024:>7} KB {red * 1000:>7.1f} ms"
            )
    os.environ.pop("LLMLOG_DB", None)


if __name__ == "__main__":
    main()
