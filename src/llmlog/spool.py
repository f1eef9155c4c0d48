"""The spool: processed records a sink has not received yet, on disk; and its dead letters.

When the in-memory queue is full, or a sink fails, records are appended here
(already redacted: the spool is written after the processors) and replayed into
the sink later, so nothing is lost and memory stays bounded.

Layout: one folder per sink (``0700``, files ``0600``), holding

* ``<pid>-<time_ns>.jsonl``: each process appends to its own file, holding an exclusive
  ``flock`` on it while it is open. Replay claims a file by taking that lock and renaming
  it to ``*.jsonl.claimed``; a file whose lock can be taken belongs to nobody (its process
  ended or crashed), so any process may replay it.
* ``TARGET``: which sink the records wait for (its name and, when it has one, the URL
  ``llmlog spool replay`` reopens it with).
* ``dead-letter.jsonl``: records the sink refused on their own (bad data, while it took
  others), one JSON object a line with the error; they are never replayed.

Each record is in the spool once. A replay that fails before writing anything leaves its
file as it is, to be claimed again; one that fails or runs out of time part-way copies the
rest to the replaying process's own file and removes the claimed one. A write that fails
part-way (a full disk) is cut back to the last whole line. ``max_bytes`` bounds the folder:
past it :meth:`Spool.append` raises :class:`SpoolFull` and the pipeline counts the drop.
Delivery is at-least-once; every store is idempotent (interactions by request id,
feedback by feedback id).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from llmlog._fs import FILE_MODE, home_dir, open_append, private_dir
from llmlog.config import Settings
from llmlog.sinks import open_sink
from llmlog.sinks.base import Entry, spool_dir_for

__all__ = [
    "DEAD_LETTER",
    "TARGET",
    "Spool",
    "SpoolFull",
    "SpoolInfo",
    "spool_info",
    "spool_root",
    "store_spool_dir",
]

_MAX_FILE = 64 * 1024 * 1024
DEAD_LETTER = "dead-letter.jsonl"
TARGET = "TARGET"
_RESCAN = 30.0


class SpoolFull(OSError):
    """The spool reached its size limit; ``kept`` of the lines given were appended."""

    def __init__(self, kept: int, limit: int) -> None:
        super().__init__(errno.ENOSPC, f"spool full ({limit:,} bytes)")
        self.kept = kept


class Spool:
    """Append, replay and dead-letter processed records for one sink. Thread-safe.

    Args:
        directory: the sink's spool folder (created ``0700`` on first use).
        max_bytes: the most the folder's spool files may hold (0: no limit).
        target: what the records wait for, written to ``TARGET`` (a dict with ``sink``
            and, when the sink can be reopened from the CLI, ``url``).
    """

    def __init__(
        self, directory: Path, *, max_bytes: int = 0, target: dict[str, Any] | None = None
    ) -> None:
        self.dir = directory
        self.max_bytes = max_bytes
        self.target = target
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._own_pending = False
        self._scan_due = 0.0  # monotonic time of the next scan for others' files
        self._total: int | None = None  # bytes in the folder's spool files, when known
        self.corrupt_lines = 0

    # -- writing -----------------------------------------------------------------------------

    def append(self, lines: Sequence[bytes]) -> None:
        """Append ``lines`` (one JSON record each).

        Raises:
            SpoolFull: the size limit was reached (``kept`` lines were appended).
            OSError: the disk is full or failing (nothing of this call was appended).
        """
        with self._lock:
            if self._fd is None or self._size > _MAX_FILE:
                self._open_new()
            assert self._fd is not None
            kept = len(lines)
            if self.max_bytes:
                room = self.max_bytes - self._folder_bytes()
                used = 0
                for i, ln in enumerate(lines):
                    used += len(ln) + 1
                    if used > room:
                        kept = i
                        break
            data = b"".join(ln + b"\n" for ln in lines[:kept])
            if data:
                self._write_whole(data)
                self._own_pending = True
            if kept < len(lines):
                raise SpoolFull(kept, self.max_bytes)

    def _write_whole(self, data: bytes) -> None:
        """Write ``data`` to the own file, or nothing of it (cut back on a failed write)."""
        assert self._fd is not None
        start = self._size
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)  # never leave a torn line behind
            raise
        self._size += len(data)
        if self._total is not None:
            self._total += len(data)

    def _folder_bytes(self) -> int:
        if self._total is None:
            total = 0
            with contextlib.suppress(FileNotFoundError):
                for name in os.listdir(self.dir):
                    if _is_spool_file(name):
                        with contextlib.suppress(OSError):
                            total += os.stat(self.dir / name).st_size
            self._total = total
        return self._total

    def _open_new(self) -> None:
        self._close_own()
        private_dir(self.dir)
        target = self.dir / TARGET
        if self.target is not None and (not target.exists() or not target.stat().st_size):
            with contextlib.suppress(OSError):
                fd = open_append(target)
                try:
                    os.write(fd, orjson.dumps(self.target) + b"\n")
                finally:
                    os.close(fd)
        path = self.dir / f"{os.getpid()}-{time.time_ns()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
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
        self._total = None

    # -- dead letters ------------------------------------------------------------------------

    def dead_letter(self, failed: Sequence[tuple[Entry, BaseException]], sink: str) -> None:
        """Keep records the sink refused on their own, with the error, in ``dead-letter.jsonl``.

        Raises:
            OSError: the file could not be written (the caller counts them as dropped).
        """
        now = time.time()
        data = b"".join(
            b'{"failed_at":%s,"sink":%s,"error":%s,"record":%s}\n'
            % (
                orjson.dumps(now),
                orjson.dumps(sink),
                orjson.dumps(f"{type(exc).__name__}: {exc}"[:2000]),
                e.line,
            )
            for e, exc in failed
        )
        with self._lock:
            fd = open_append(self.dir / DEAD_LETTER)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)

    # -- replay ------------------------------------------------------------------------------

    def pending(self) -> bool:
        """Return whether there may be something to replay (own records, or a scan is due)."""
        return self._own_pending or time.monotonic() >= self._scan_due

    def replay(
        self,
        write: Callable[[list[Entry]], None],
        batch_size: int,
        deadline: float | None = None,
    ) -> int:
        """Replay spooled records through ``write`` in batches; return how many were written.

        Stops at the first failing batch (what is left stays spooled, once, and the
        exception propagates) or at ``deadline`` (monotonic seconds).
        """
        self._scan_due = time.monotonic() + _RESCAN
        done = 0
        try:
            for path, fd in self._claim():
                try:
                    done += self._replay_file(path, write, batch_size, deadline)
                finally:
                    os.close(fd)
                if deadline is not None and time.monotonic() > deadline:
                    self._scan_due = 0.0  # more may wait: look again next time
                    break
        except BaseException:
            self._scan_due = 0.0  # what failed still waits: the next retry looks again
            raise
        finally:
            self._total = None  # recount on the next append
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
            if not _is_spool_file(name):
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

        Done: the file is removed. Failed before writing anything: the file stays as it
        is (claimed, unlocked once its descriptor closes) for a later replay. Failed or
        out of time part-way: the rest moves to this process's own file, then the claimed
        file is removed, so each record stays in the spool once.
        """
        done = 0
        with open(path, "rb") as f:
            start = 0
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
            except BaseException:
                if done:
                    self._move_rest(f, start, batch_size)
                    path.unlink(missing_ok=True)
                raise
            self._move_rest(f, start, batch_size)
        path.unlink(missing_ok=True)
        return done

    def _move_rest(self, f: Any, start: int, batch_size: int) -> None:
        f.seek(start)
        while True:  # a chunk at a time
            rest = [ln.rstrip(b"\n") for ln in itertools.islice(f, batch_size) if ln.strip()]
            if not rest:
                break
            with self._lock:
                if self._fd is None or self._size > _MAX_FILE:
                    self._open_new()
                self._write_whole(b"".join(ln + b"\n" for ln in rest))
                self._own_pending = True


def _is_spool_file(name: str) -> bool:
    return name.endswith((".jsonl", ".jsonl.claimed")) and name != DEAD_LETTER


def _age(name: str) -> int:
    try:
        return int(name.split("-", 1)[1].split(".", 1)[0])
    except (IndexError, ValueError):
        return 0


@dataclass(frozen=True)
class SpoolInfo:
    """What waits in one spool folder (for ``llmlog spool`` and ``llmlog verify``)."""

    path: Path
    target: dict[str, Any]
    records: int
    bytes: int
    oldest: float | None
    """Epoch seconds of the oldest waiting file, or None when nothing waits."""
    dead_letters: int


def spool_info(directory: Path) -> SpoolInfo:
    """Count what waits in ``directory`` (records, bytes, age) and its dead letters."""
    records = size = dead = 0
    oldest: float | None = None
    target: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError, IndexError):
        target = orjson.loads((directory / TARGET).read_bytes().splitlines()[0])
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        names = []
    for name in names:
        p = directory / name
        if name == DEAD_LETTER:
            with contextlib.suppress(OSError):
                dead = sum(1 for ln in p.read_bytes().splitlines() if ln.strip())
        elif _is_spool_file(name):
            try:
                st = p.stat()
                with open(p, "rb") as f:
                    n = sum(1 for ln in f if ln.strip())
            except OSError:
                continue
            if n:
                records += n
                size += st.st_size
                made = _age(name) / 1e9 or st.st_mtime  # the file name holds its creation
                oldest = made if oldest is None else min(oldest, made)
    return SpoolInfo(directory, target, records, size, oldest, dead)


def spool_root(settings: Settings) -> Path:
    """Return the folder that holds the spools of sinks without a folder of their own.

    That is the ``spool_dir`` setting when given (it then holds every sink's spool),
    else ``$LLMLOG_HOME/spool``.
    """
    if settings.spool_dir:
        return Path(settings.spool_dir).expanduser()
    return home_dir() / "spool"


def store_spool_dir(url: str, settings: Settings) -> Path:
    """Return the spool folder of the store at ``url`` (where its dead letters are too).

    Raises:
        ValueError, ImportError: as :func:`llmlog.sinks.base.open_sink`.
    """
    return spool_dir_for(open_sink(url), spool_root(settings), override=bool(settings.spool_dir))
