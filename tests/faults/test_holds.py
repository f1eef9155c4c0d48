"""Faults that llmlog already survives, kept here so they keep holding.

(The web viewer's Host, Origin, CSRF and escaping rules are tested in ``tests/web``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from faultkit import MSGS, RESP, log_many, pg_rows, run_script, sqlite_ids

import llmlog


class TestConcurrency:
    def test_threads_and_tasks_at_once(self) -> None:
        """50 threads and 200 asyncio tasks logging at once: every record stored once."""
        ids: list[str] = []
        lock = threading.Lock()

        def worker() -> None:
            mine = log_many(40)
            with lock:
                ids.extend(mine)

        async def task() -> str:
            await asyncio.sleep(0)
            return llmlog.log_interaction(MSGS, RESP)

        async def tasks() -> list[str]:
            return list(await asyncio.gather(*(task() for _ in range(200))))

        threads = [threading.Thread(target=worker) for _ in range(50)]
        for t in threads:
            t.start()
        ids.extend(asyncio.run(tasks()))
        for t in threads:
            t.join()
        assert llmlog.flush(30)
        assert sorted(sqlite_ids()) == sorted(ids)
        assert len(ids) == 50 * 40 + 200

    def test_spawned_processes_on_one_store(self) -> None:
        """8 spawned processes writing one SQLite file: all 1,600 records stored."""
        run_script(
            """
            import multiprocessing as mp
            def work(n):
                for _ in range(n):
                    llmlog.log_interaction(MSGS, RESP)
            if __name__ == "__main__":
                ctx = mp.get_context("spawn")
                ps = [ctx.Process(target=work, args=(200,)) for _ in range(8)]
                for p in ps: p.start()
                for p in ps:
                    p.join(90)
                    assert p.exitcode == 0
            """,
            timeout=150,
        )
        assert len(sqlite_ids()) == 1600


class TestOutages:
    def test_sqlite_locked_by_another_process_for_ten_seconds(self) -> None:
        """Another process holds the store's write lock for 10 s: calls stay fast, nothing lost."""
        llmlog.configure()
        log_many(1)
        assert llmlog.flush(10)
        locker = sqlite3.connect("llmlog.db", isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN IMMEDIATE")
        t = threading.Timer(10, lambda: locker.execute("ROLLBACK"))
        t.start()
        try:
            ids = log_many(2000)  # asserts no call was slow
        finally:
            t.join()
            locker.close()
        assert llmlog.flush(60)
        assert set(ids) <= set(sqlite_ids())

    def test_postgres_unreachable_for_a_few_seconds(self, pg_url: str) -> None:
        """The PostgreSQL connection path goes dark for 3 s mid-burst: every record lands."""
        with _Proxy(("127.0.0.1", 5432)) as proxy:
            url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
            llmlog.configure(db=url, exit_timeout=30)
            ids = log_many(1000)
            assert llmlog.flush(30)
            proxy.cut()
            ids += log_many(1000)
            time.sleep(3)
            proxy.resume()
            ids += log_many(1000)
            llmlog.shutdown(60)
        stored = [r[0] for r in pg_rows(pg_url, "SELECT request_id FROM {s}.interactions")]
        assert sorted(stored) == sorted(ids)


class _Proxy:
    """A TCP proxy on 127.0.0.1 whose connections can be cut and refused for a while."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(64)
        self.port = self.srv.getsockname()[1]
        self.down = threading.Event()
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()

    def __enter__(self) -> _Proxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.cut()
        self.srv.close()

    def cut(self) -> None:
        self.down.set()
        with self.lock:
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                c.close()
            self.conns.clear()

    def resume(self) -> None:
        self.down.clear()

    def _accept(self) -> None:
        self.srv.settimeout(0.1)
        while not self.stop.is_set():
            try:
                client, _ = self.srv.accept()
            except OSError:
                continue
            if self.down.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()


class _Raises:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")

    def __str__(self) -> str:
        raise RuntimeError("no str either")


def _deep(n: int) -> Any:
    v: Any = "bottom"
    for _ in range(n):
        v = {"d": v}
    return v


class TestHostileContent:
    @pytest.fixture()
    def hostile(self) -> Iterator[list[tuple[str, Any]]]:
        cyc: list[Any] = []
        cyc.append(cyc)
        yield [
            ("deep nesting", [{"role": "user", "content": _deep(5000)}]),
            ("invalid utf-8 bytes", [{"role": "user", "content": b"\xff\xfe bad \xc3"}]),
            ("NUL characters", [{"role": "user", "content": "a\x00b\x00"}]),
            ("NaN and inf", [{"role": "user", "content": "n", "x": math.nan, "y": -math.inf}]),
            ("huge ints", [{"role": "user", "content": "i", "n": 10**40}]),
            ("raising repr", [{"role": "user", "content": _Raises()}]),
            ("cycles", cyc),
            ("lone surrogates", [{"role": "user", "content": "a\udc80b"}]),
        ]

    def test_every_hostile_record_is_stored_in_sqlite_and_jsonl(
        self, hostile: list[tuple[str, Any]]
    ) -> None:
        """Each hostile prompt is logged without raising and stored in both sinks."""
        llmlog.configure(jsonl="llm.jsonl")
        ids = []
        for _, msgs in hostile:
            t0 = time.perf_counter()
            ids.append(llmlog.log_interaction(msgs, RESP))
            assert time.perf_counter() - t0 < 0.5
        assert llmlog.flush(30)
        assert sorted(sqlite_ids()) == sorted(ids)
        lines = [orjson.loads(x) for x in Path("llm.jsonl").read_bytes().splitlines()]
        assert sorted(r["request_id"] for r in lines) == sorted(ids)
        assert llmlog.stats()["dropped"] == 0
