"""JSON lines: one record per line, the classic snippet's field names, size-based rotation.

Each batch is one ``os.write`` on a file opened with ``O_APPEND``, so several
processes can append to the same file without interleaving lines. Rotation
(``app.jsonl`` -> ``app.jsonl.1`` -> ...) happens under an exclusive ``flock``;
a process that finds the file rotated by another simply reopens it. The file is
created ``0600``.

A write cut short (a full disk) never leaves half a line for the next record to be
glued to: the torn tail is cut off again (or, if another process appended after it,
ended with a newline so it stays a line of its own), and :class:`PartialWrite` tells
the pipeline how many whole records did reach the file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from pathlib import Path

from llmlog._fs import open_append
from llmlog.encoding import Entry

__all__ = ["JsonlSink", "PartialWrite"]


class PartialWrite(OSError):
    """A write failed after ``written`` whole records reached the file."""

    def __init__(self, exc: OSError, written: int) -> None:
        super().__init__(exc.errno, f"{exc.strerror or exc} ({written} record(s) written)")
        self.written = written


class JsonlSink:
    """Append records to a JSON-lines file.

    Args:
        path: the file; parent directories are created.
        max_bytes: rotate when the file grows past this size (0: never).
        backups: rotated files to keep (``path.1`` is the newest).

    .. versionadded:: 0.1
    """

    def __init__(
        self, path: str | os.PathLike[str], *, max_bytes: int = 100 * 1024 * 1024, backups: int = 5
    ) -> None:
        self.path = Path(path).expanduser()
        self.name = f"jsonl:{self.path.resolve()}"
        self.url = f"jsonl://{self.path.resolve()}"
        self.spool_dir = self.path.resolve().parent / (self.path.name + "-spool")
        self.max_bytes = max_bytes
        self.backups = backups
        self._fd: int | None = None
        self._torn = False

    def _open(self) -> int:
        if self._fd is None:
            self._fd = open_append(self.path, readable=True)
        return self._fd

    def write(self, batch: Sequence[Entry]) -> None:
        data = b"\n".join(e.line for e in batch) + b"\n"
        fd = self._open()
        if self._torn:  # a torn line could not be removed: end it before writing on
            os.write(fd, b"\n")
            self._torn = False
        view = memoryview(data)
        done = 0
        try:
            while view:
                n = os.write(fd, view)
                done += n
                view = view[n:]
        except OSError as exc:
            if not done:
                raise
            raise PartialWrite(exc, self._mend(fd, data, done)) from exc
        if self.max_bytes and os.fstat(fd).st_size >= self.max_bytes:
            self._rotate()

    def _mend(self, fd: int, data: bytes, done: int) -> int:
        """After ``done`` bytes of ``data`` were appended, drop the torn line; return the
        number of whole lines written."""
        whole = data.rfind(b"\n", 0, done) + 1  # bytes of whole lines written
        torn = done - whole
        if torn:
            size = os.fstat(fd).st_size
            try:
                if os.pread(fd, torn, size - torn) == data[whole:done]:  # nobody wrote after
                    os.ftruncate(fd, size - torn)
                else:
                    os.write(fd, b"\n")  # keep the torn bytes a line of their own
            except OSError:
                self._torn = True  # ended with a newline before the next write
        return data.count(b"\n", 0, whole)

    def _rotate(self) -> None:
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            try:
                current = os.stat(self.path)
            except FileNotFoundError:
                current = None
            mine = os.fstat(fd)
            if (
                current is not None
                and (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev)
                and mine.st_size >= self.max_bytes
            ):
                if self.backups > 0:
                    for i in range(self.backups - 1, 0, -1):
                        src = self.path.with_name(f"{self.path.name}.{i}")
                        if src.exists():
                            os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
                    os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
                else:
                    os.truncate(self.path, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        self._fd = None

    def flush(self, timeout: float | None = None) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self, timeout: float | None = None) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None
