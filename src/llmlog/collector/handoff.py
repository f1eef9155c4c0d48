"""The app's side of the collector: hand each snapshot over in one non-blocking ``send()``.

When no collector listens for the app's store and settings, the first record starts one
(:func:`llmlog.collector.launch.start`) and is sent to its socket at once. When the socket
is momentarily full, a record is too large, or no collector can be started, ``send``
returns False and the app's own in-process writer takes that record, as before.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from llmlog.collector.frames import MAX_FRAME, encode

__all__ = ["Handoff", "running"]

SNDBUF = 4 * 1024 * 1024
"""The send buffer a client asks for (the kernel caps it at ``net.core.wmem_max``)."""

RETRY = 1.0
"""Seconds between attempts to reach (or start) a collector."""

START_WAIT = 0.005
"""How long a process waits, once, for a collector another process is starting."""


class Handoff:
    """Hand snapshots to the collector of one store; thread-safe, never blocks the caller.

    Args:
        path: the collector's socket.
        start: called when no collector listens; starts one (returns None) or says why
            it cannot (a reason for ``llmlog.stats()``). None: never start one.
    """

    def __init__(self, path: Path, start: Callable[[], str | None] | None = None) -> None:
        self.path = path
        self.sent = 0
        self.reason = "no collector listening for this store"
        self._start = start
        self._sock: socket.socket | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()  # connecting, and request/reply exchanges
        self._pid = os.getpid()

    def _connect(self) -> socket.socket | None:
        now = time.monotonic()
        if now < self._retry_at:
            return None
        with self._lock:
            if self._sock is not None:
                return self._sock
            self._retry_at = now + RETRY
            s = self._try_connect()
            if s is None and self._start is not None:
                why = self._start()
                if why is not None:
                    self.reason = f"could not start a collector: {why}"
                    return None
                # we listen now, or another process took the lock a moment ago and is
                # about to: its bind follows its lock within microseconds
                deadline = now + START_WAIT
                while (s := self._try_connect()) is None and time.monotonic() < deadline:
                    time.sleep(0.0005)
            if s is not None:
                self._sock = s
            return s

    def _try_connect(self) -> socket.socket | None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
            s.connect(str(self.path))
        except OSError:
            s.close()
            return None
        s.setblocking(False)
        return s

    def send(self, kind: bytes, payload: Any, ctx: Any) -> bool:
        """Hand one snapshot over; return False when the app must write it itself."""
        if os.getpid() != self._pid:  # a forked child: its own connection
            self._sock, self._pid, self._retry_at = None, os.getpid(), 0.0
            self._lock = threading.Lock()
        s = self._sock or self._connect()
        if s is None:
            return False
        try:
            frame = encode(kind, payload, ctx)
        except Exception:
            return False
        if len(frame) > MAX_FRAME:
            return False
        try:
            s.send(frame)
        except (BlockingIOError, InterruptedError):
            return False  # momentarily full: the in-process writer takes this one
        except OSError:
            self._drop(s)
            return False
        self.sent += 1
        return True

    def request(self, kind: bytes, timeout: float | None) -> dict[str, Any] | None:
        """Ask the collector for its status or a flush; return its reply, or None."""
        s = self._sock or self._connect()
        if s is None:
            return None
        with self._lock:
            try:
                s.setblocking(True)
                s.settimeout(timeout)
                s.send(kind)
                reply = s.recv(65536)
                return orjson.loads(reply) if reply else None
            except (OSError, ValueError):
                self._drop(s)
                return None
            finally:
                with contextlib.suppress(OSError):
                    s.setblocking(False)

    @property
    def connected(self) -> bool:
        """Whether records go to the collector now."""
        return self._sock is not None

    def _drop(self, s: socket.socket) -> None:
        with contextlib.suppress(OSError):
            s.close()
        if self._sock is s:
            self._sock = None
            self._retry_at = 0.0  # the next record tries again (and restarts a dead collector)


def running(store_url: str | None = None, folder: Path | None = None) -> list[dict[str, Any]]:
    """Return the status of every collector that answers (for ``store_url``'s store only,
    when given): what ``llmlog collect --status`` prints.

    Args:
        store_url: only that store's collectors.
        folder: where their sockets are (default: ``$LLMLOG_HOME/collector``).
    """
    from llmlog.collector.launch import collector_dir, store_key

    pattern = f"{store_key(store_url)}-*.sock" if store_url is not None else "*.sock"
    folder = collector_dir() if folder is None else folder
    replies = (Handoff(p).request(b"S", 5.0) for p in sorted(folder.glob(pattern)))
    return [r for r in replies if r is not None]
