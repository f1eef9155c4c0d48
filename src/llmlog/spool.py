"""The spool: processed records a sink has not received yet, on disk.

When the in-memory queue is full, or a sink fails, records are appended here
(already redacted: the spool is written after the processors) and replayed into
the sink later, so nothing is lost and memory stays bounded.

Layout: one directory per sink; each process appends to its own file
``<pid>-<time_ns>.jsonl``, holding an exclusive ``flock`` on it while it is
open. Replay claims a file by taking that lock and renaming it to
``*.jsonl.claimed``; a file whose lock can be taken belongs to nobody (its
process ended or crashed), so any process may replay it. Lines the sink did not
take are appended again before the claimed file is removed. Delivery is
at-least-once: the SQLite and PostgreSQL stores are idempotent by request id.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import orjson

from llmlog.sinks.base import Entry

__all__ = ["Spool"]

_MAX_FILE = 64 * 1024 * 1024


class Spool:
    """Append and replay processed records for one sink. Thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._own_pending = False
        self._scan_due = 0.0  # monotonic time of the next scan for others' files
        self.corrupt_lines = 0

    # -- writing -----------------------------------------------------------------------------

    def append(self, lines: Sequence[bytes]) -> None:
        """Append ``lines`` (one JSON record each); raises OSError (e.g. disk full)."""
        data = b"\n".join(lines) + b"\n"
        with self._lock:
            if self._fd is None or self._size > _MAX_FILE:
                self._open_new()
            assert self._fd is not None
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            self._size += len(data)
            self._own_pending = True

    def _open_new(self) -> None:
        self._close_own()
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{os.getpid()}-{time.time_ns()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd, self._path, self._size = fd, path, 0

    def _close_own(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = self._path = None

    def forget_after_fork(self) -> None:
        """Drop the parent's open file in a forked child (the parent still owns it)."""
        self._lock = threading.Lock()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # the inherited descriptor shares the parent's lock
        self._fd = self._path = None
        self._own_pending = False

    # -- replay ------------------------------------------------------------------------------

    def pending(self) -> bool:
        """Return whether there may be something to replay (own records, or a scan is due)."""
        return self._own_pending or time.monotonic() >= self._scan_due

    def replay(
        self, write: Callable[[list[Entry]], None], batch_size: int, deadline: float | None = None
    ) -> int:
        """Replay spooled records through ``write`` in batches; return how many were written.

        Stops at the first failing batch (what is left stays spooled, and the
        exception propagates) or at ``deadline`` (monotonic seconds).
        """
        self._scan_due = time.monotonic() + 30.0
        done = 0
        for path, fd in self._claim():
            try:
                done += self._replay_file(path, write, batch_size, deadline)
            finally:
                os.close(fd)
            if deadline is not None and time.monotonic() > deadline:
                break
        return done

    def _claim(self) -> Iterator[tuple[Path, int]]:
        own_claim: tuple[Path, int] | None = None
        with self._lock:
            own = self._path
            if own is not None and self._fd is not None:
                claimed = own.with_name(own.name + ".claimed")
                os.rename(own, claimed)
                own_claim = (claimed, self._fd)
                self._fd = self._path = None
            self._own_pending = False
        if own_claim is not None:
            yield own_claim
        try:
            names = sorted(os.listdir(self.dir), key=_age)
        except FileNotFoundError:
            return
        for name in names:
            if not (name.endswith(".jsonl") or name.endswith(".jsonl.claimed")):
                continue
            path = self.dir / name
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    continue  # its process is alive and still writing it
                raise
            if not path.exists():  # claimed and finished by another process meanwhile
                os.close(fd)
                continue
            if not name.endswith(".claimed"):
                claimed = path.with_name(name + ".claimed")
                os.rename(path, claimed)
                path = claimed
            yield path, fd

    def _replay_file(
        self,
        path: Path,
        write: Callable[[list[Entry]], None],
        batch_size: int,
        deadline: float | None,
    ) -> int:
        """Replay one claimed file in batches, streaming it (memory stays one batch).

        Whatever is not written (a failing batch, the deadline) is appended to this
        process's own spool before the claimed file is removed.
        """
        done = 0
        with open(path, "rb") as f:
            try:
                while True:
                    start = f.tell()
                    lines = [ln for ln in itertools.islice(f, batch_size) if ln.strip()]
                    if not lines:
                        break
                    batch = []
                    for ln in lines:
                        try:
                            batch.append(Entry(orjson.loads(ln), ln.rstrip(b"\n")))
                        except orjson.JSONDecodeError:
                            self.corrupt_lines += 1  # a line torn by a crash mid-write
                    if batch:
                        write(batch)
                    done += len(batch)
                    start = f.tell()
                    if deadline is not None and time.monotonic() > deadline:
                        break
            finally:
                f.seek(start)
                while True:  # keep what was not written, a chunk at a time
                    rest = list(itertools.islice(f, batch_size))
                    if not rest:
                        break
                    self.append([ln.rstrip(b"\n") for ln in rest if ln.strip()])
        path.unlink(missing_ok=True)
        return done


def _age(name: str) -> int:
    try:
        return int(name.split("-", 1)[1].split(".", 1)[0])
    except (IndexError, ValueError):
        return 0
