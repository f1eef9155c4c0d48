"""The default store: one SQLite file, WAL mode, written in batched transactions.

Several processes (gunicorn workers, multiprocessing children) may write the
same file: each batch is one ``BEGIN IMMEDIATE`` transaction, and a writer that
finds the database locked waits up to ``busy_timeout`` on its own background
thread, never the app's. Rows are idempotent by ``request_id`` and feedback by
``feedback_id`` (a replayed spool or a re-import never duplicates). Ids are
assigned inside the write transaction so the FTS rows can be written with
``executemany`` next to their interactions.

The store is created ``0600`` (SQLite gives its ``-wal`` and ``-shm`` the same mode).

Fork safety: SQLite keeps the lock state of every open file in memory shared by all
connections of a process. A process forked while this one is inside a write
transaction inherits a state saying "locked by us", and every connection the child
opens to that file then waits forever (``database is locked``). So each write
transaction holds :data:`_TXN`, and a fork waits for it (up to :data:`FORK_WAIT`
seconds) before it happens; a child forked without it (a transaction that would not
end) refuses to write SQLite, and its records wait in its spool for another process.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmlog._fs import private_file
from llmlog.encoding import Entry
from llmlog.store.common import COLUMNS, columns, span_row, text_of_entry
from llmlog.store.sqlite.rollup import add_inserted
from llmlog.store.sqlite.schema import migrate

__all__ = ["SQLiteSink", "connect", "sqlite_path"]

BUSY_TIMEOUT_MS = 30_000
PAGE_SIZE = 16_384

_COLUMNS = ("id", *COLUMNS, "record")

FORK_WAIT = 10.0
"""Seconds a fork waits for this process's SQLite write transaction to end."""

_TXN = threading.RLock()
_forked_mid_write = False


def _before_fork() -> None:
    global _fork_holds
    _fork_holds = _TXN.acquire(timeout=FORK_WAIT)


def _after_fork_in_parent() -> None:
    if _fork_holds:
        _TXN.release()


def _after_fork_in_child() -> None:
    global _TXN, _forked_mid_write
    _forked_mid_write = _forked_mid_write or not _fork_holds
    _TXN = threading.RLock()


_fork_holds = False
os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


class ForkedMidWrite(sqlite3.OperationalError):
    """This process was forked during a write transaction: it cannot use SQLite safely."""


def _multi_insert(table: str, columns: Sequence[str], nrows: int, verb: str = "INSERT") -> str:
    row = "(" + ",".join("?" * len(columns)) + ")"
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES " + ",".join([row] * nrows)


def sqlite_path(url: str) -> str:
    """Return the file path for ``url``: a plain path, ``sqlite:///rel`` or ``sqlite:////abs``."""
    from llmlog.store.registry import backend_for

    return backend_for(url).target(url)


def connect(path: str | os.PathLike[str], *, create: bool = True) -> sqlite3.Connection:
    """Open the store at ``path`` in autocommit mode, migrated and in WAL mode.

    Raises:
        FileNotFoundError: ``create`` is false and there is no store at ``path``.
        sqlite3.DatabaseError: the file is not an SQLite database.
    """
    p = Path(path).expanduser()
    if not create and not p.exists():
        raise FileNotFoundError(f"no llmlog store at {p}")
    if create:
        private_file(p)  # owner-only; SQLite gives -wal and -shm the store's mode
    db = sqlite3.connect(
        p, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if db.execute("PRAGMA page_count").fetchone()[0] == 0:
            # a new file: records are ~1-4 KB, so 4 KB pages would hold one row each
            db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def _insert_rows(
    db: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    verb: str = "INSERT",
) -> None:
    """Insert ``rows`` with multi-row statements: one ``sqlite3_step`` per chunk.

    ``executemany`` steps once per row, and the sqlite3 module releases and
    re-takes the GIL around every step; while the app's thread is busy, each
    re-take waits up to the interpreter's switch interval (5 ms), which starves
    a background writer. A few large statements keep that to a few waits a batch.
    """
    per = max(1, min(2048, _max_variables(db) // len(columns)))
    for i in range(0, len(rows), per):
        chunk = rows[i : i + per]
        params = [v for row in chunk for v in row]
        db.execute(_multi_insert(table, columns, len(chunk), verb), params)


def _max_variables(db: sqlite3.Connection) -> int:
    try:
        return int(db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except AttributeError:  # Python < 3.11
        return 999


class SQLiteSink:
    """Write records to an SQLite store (created and migrated on first write).

    Args:
        path: the database file.

    .. versionadded:: 0.1
    """

    data_errors = (
        sqlite3.InterfaceError,
        sqlite3.ProgrammingError,
        sqlite3.IntegrityError,
        sqlite3.DataError,
    )
    """Errors that mean a record cannot be stored (the pipeline sets it aside)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.name = f"sqlite:{self.path.resolve()}"
        self.url = f"sqlite:///{self.path.resolve()}"
        self.spool_dir = self.path.resolve().parent / (self.path.name + "-spool")
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = connect(self.path)
        return self._db

    def write(self, batch: Sequence[Entry]) -> None:
        if _forked_mid_write:
            raise ForkedMidWrite(
                "this process was forked during an SQLite write; its records wait in the spool"
            )
        with _TXN:
            self._write(batch)

    def _write(self, batch: Sequence[Entry]) -> None:
        db = self._conn()
        interactions: dict[str, Entry] = {}
        feedback: list[Entry] = []
        spans: list[Entry] = []
        for e in batch:
            event = e.get("event")
            if event == "llm_feedback":
                feedback.append(e)
            elif event == "llm_span":
                spans.append(e)
            else:
                interactions.setdefault(str(e.get("request_id")), e)
        db.execute("BEGIN IMMEDIATE")
        try:
            if interactions:
                self._insert_interactions(db, interactions)
            if feedback:
                db.executemany(
                    "INSERT OR IGNORE INTO feedback"
                    " (feedback_id, request_id, score, comment, ts, record) VALUES (?,?,?,?,?,?)",
                    [
                        (
                            f.get("feedback_id"),
                            f.get("request_id"),
                            f.get("score"),
                            f.get("comment"),
                            f.get("timestamp"),
                            f.line.decode(),
                        )
                        for f in feedback
                    ],
                )
            if spans:
                db.executemany(
                    "INSERT OR IGNORE INTO spans (span_id, trace_id, parent_span_id, kind, name,"
                    " ts, duration_ms, status, error_type, record) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(*span_row(e), e.line.decode()) for e in spans],
                )
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    @staticmethod
    def _insert_interactions(db: sqlite3.Connection, entries: dict[str, Entry]) -> None:
        # One query for both the duplicates and the next id: each statement step
        # costs the writer a GIL round trip (see _insert_rows).
        ids = list(entries)
        next_id = 1
        for i in range(0, max(len(ids), 1), 500):
            chunk = ids[i : i + 500]
            rows_found = db.execute(
                "SELECT NULL, coalesce(max(id), 0) FROM interactions UNION ALL "
                "SELECT request_id, NULL FROM interactions WHERE request_id IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for rid, max_id in rows_found:
                if rid is None:
                    next_id = max_id + 1
                else:
                    del entries[rid]
        if not entries:
            return
        rows, texts, tags = [], [], []
        for e in entries.values():
            rows.append((next_id, *columns(e), e.line.decode()))
            texts.append((next_id, text_of_entry(e)))
            for tag in e.get("tags") or ():
                tags.append((str(tag), next_id))
            next_id += 1
        _insert_rows(db, "interactions", _COLUMNS, rows)
        _insert_rows(db, "interactions_fts", ("rowid", "text"), texts)
        if tags:
            _insert_rows(
                db, "interaction_tags", ("tag", "interaction_id"), tags, verb="INSERT OR IGNORE"
            )
        add_inserted(db, rows, tags)  # the per-hour rollups, in the same transaction

    def flush(self, timeout: float | None = None) -> None:
        return None  # every batch is committed before write() returns

    def close(self, timeout: float | None = None) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None
