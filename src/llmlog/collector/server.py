"""The collector: a process that owns the store, fed by the apps over a Unix socket.

A record handed to the collector survives whatever happens to the app afterwards
(``SIGKILL``, ``os._exit``, a recycled worker): once ``send()`` returns, the bytes are
in the kernel, on their way to the collector's own process, which redacts, completes
and writes them with its own :class:`~llmlog.pipeline.Pipeline` (its interpreter, its
GIL), as the single writer of the store for its apps.

It runs either started on demand by the first app that logs (:mod:`.launch`; it exits
after ``collector_idle`` seconds with no app connected), or in the foreground under
``llmlog collect`` (for a sidecar, a container, systemd). It answers ``status`` and
``flush`` requests. It never trusts what it receives: a frame it cannot decode is
counted (``bad_frames``) and dropped, never fatal.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import selectors
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from llmlog.collector.frames import FEEDBACK, FLUSH, INTERACTION, MAX_FRAME, SPAN, STATUS, decode
from llmlog.collector.launch import (
    listen,
    settings_blob,
    settings_from_blob,
    socket_path,
    take_lock,
)

__all__ = ["Collector", "main"]

COLLECTOR_QUEUE = 100_000
"""Records the collector holds in memory before it spools (a burst of many apps)."""

_KIND = {INTERACTION: 0, FEEDBACK: 1, SPAN: 3}
"""The pipeline's record kind of each frame kind (``llmlog.pipeline``)."""

RETIRE_GRACE = 0.1
"""Seconds an idle collector waits, its socket gone, for connections already under way."""


# -- the collector -------------------------------------------------------------------------------


class Collector:
    """Receive snapshots from the apps of one store and write them.

    Args:
        settings: the collector's settings (its redaction, JSON lines, OpenTelemetry...).
        path: the socket to listen on (default: the one apps with these settings look
            for, :func:`~.launch.socket_path`).
        idle: exit after this many seconds with no app connected and nothing received
            (0: run until stopped, as ``llmlog collect`` does).
        otlp: an :class:`~.otlp.OTLPReceiver` (bound) that also feeds this collector.
    """

    def __init__(
        self, settings: Any, path: Path | None = None, *, idle: float = 0.0, otlp: Any = None
    ) -> None:
        self.settings = settings
        self.otlp = otlp  # an OTLPReceiver bound already, started with the pipeline
        self.path = path or socket_path(settings.db, settings_blob(settings))
        self.idle = idle
        self.frames = 0
        self.bad_frames = 0
        self.started = time.time()
        self._stop = threading.Event()
        self._lock_fd: int | None = None
        self._server: socket.socket | None = None
        self._pipeline: Any = None
        self._conns = 0
        self._last = time.monotonic()

    def claim(self) -> bool:
        """Take the store's collector lock and listen; False if another collector has it."""
        fd = take_lock(self.path)
        if fd is None:
            return False
        self._lock_fd = fd
        self._server = listen(self.path)
        self._server.setblocking(False)
        return True

    def adopt(self, listen_fd: int, lock_fd: int) -> None:
        """Take the lock and the listening socket an app prepared (:func:`~.launch.start`)."""
        self._lock_fd = lock_fd
        self._server = socket.socket(fileno=listen_fd)
        self._server.setblocking(False)

    def serve(self) -> None:
        """Receive and write until SIGTERM, SIGINT, :meth:`stop` or the idle time; then
        write what is left."""
        from llmlog.api import make_pipeline

        assert self._server is not None, "claim() or adopt() first"
        # the collector is where bursts wait: its queue holds what the apps sent while
        # the store catches up (the apps' own queues hold nothing)
        settings = dataclasses.replace(
            self.settings, max_queue=max(self.settings.max_queue, COLLECTOR_QUEUE)
        )
        self._pipeline = make_pipeline(settings, collector=False)
        # the reading loop must take the GIL back from the writer thread quickly: while
        # it waits, the apps' socket buffers fill and they fall back to writing themselves
        sys.setswitchinterval(0.0005)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(sig, lambda *_: self.stop())
        if self.otlp is not None:  # after the handlers: what it accepts is written at SIGTERM
            self.otlp.start(self._pipeline)
        sel = selectors.DefaultSelector()
        sel.register(self._server, selectors.EVENT_READ)
        buf = bytearray(MAX_FRAME + 1)
        view = memoryview(buf)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.2):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._server:
                        self._accept(sock, sel)
                    else:
                        self._read(sock, buf, view, sel)
                if self._idle_for() >= self.idle > 0 and self._retire(sel):
                    break
        finally:
            sel.close()
            self.close()

    def _accept(self, server: socket.socket, sel: selectors.BaseSelector) -> int:
        accepted = 0
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # none waiting (EAGAIN), or the app gave up meanwhile
                return accepted
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ)
            self._conns += 1
            self._last = time.monotonic()
            accepted += 1

    def _idle_for(self) -> float:
        return 0.0 if self._conns else time.monotonic() - self._last

    def _retire(self, sel: selectors.BaseSelector) -> bool:
        """Stop taking connections, unless one arrives meanwhile; True when it may exit.

        The socket's name goes first (new apps no longer find it; they write in-process
        until the lock is free, then start a new collector); connections already under
        way are accepted during a short grace and served, in which case the name comes
        back and the collector stays.
        """
        server = self._server
        assert server is not None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        time.sleep(RETIRE_GRACE)
        if self._accept(server, sel) == 0:
            return True
        sel.unregister(server)
        server.close()
        self._server = listen(self.path)  # we hold the lock: the name is still ours
        self._server.setblocking(False)
        sel.register(self._server, selectors.EVENT_READ)
        return False

    def _read(
        self, conn: socket.socket, buf: bytearray, view: memoryview, sel: selectors.BaseSelector
    ) -> None:
        pipeline = self._pipeline
        self._last = time.monotonic()
        for _ in range(4096):  # a burst from one app, without starving the others
            try:
                n = conn.recv_into(buf)
            except BlockingIOError:
                return
            except OSError:
                n = 0
            if n == 0:  # the app closed its end (or died): everything it sent was read
                sel.unregister(conn)
                conn.close()
                self._conns -= 1
                return
            frame = view[:n].tobytes()
            kind = frame[:1]
            if kind in (STATUS, FLUSH):
                if kind == FLUSH:
                    pipeline.flush(self.settings.exit_timeout)
                with contextlib.suppress(OSError):
                    conn.setblocking(True)
                    conn.send(orjson.dumps(self.status()))
                    conn.setblocking(False)
                continue
            try:
                if n > MAX_FRAME:
                    raise ValueError("frame too large")
                k, payload, ctx = decode(frame)
            except Exception:
                self.bad_frames += 1
                continue
            self.frames += 1
            pipeline.submit(_KIND[k], payload, ctx)

    def status(self) -> dict[str, Any]:
        """Return what ``llmlog collect --status`` prints."""
        st = self._pipeline.stats() if self._pipeline is not None else {}
        return {
            "pid": os.getpid(),
            "store": self.settings.db,
            "socket": str(self.path),
            "uptime_s": round(time.time() - self.started, 1),
            "idle_exit_s": self.idle or None,
            "apps_connected": self._conns,
            "frames": self.frames,
            "bad_frames": self.bad_frames,
            "processed": st.get("processed", 0),
            "queued": st.get("queued", 0),
            "spooled": st.get("spooled", 0),
            "dropped": st.get("dropped", 0),
            "dead_lettered": st.get("dead_lettered", 0),
            "redact": self.settings.redact,
            **(self.otlp.status() if self.otlp is not None else {}),
        }

    def stop(self) -> None:
        """Ask :meth:`serve` to stop (thread- and signal-safe)."""
        self._stop.set()

    def close(self) -> None:
        """Stop listening, write everything received, release the lock."""
        if self.otlp is not None:
            self.otlp.stop()
            self.otlp = None
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self._server = None
        if self._pipeline is not None:
            self._pipeline.close(self.settings.exit_timeout)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def main(argv: list[str] | None = None) -> None:
    """Run a collector an app started (:func:`~.launch.start`): settings on stdin."""
    parser = argparse.ArgumentParser(prog="llmlog-collector")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--lock-fd", type=int, required=True)
    parser.add_argument("--idle", type=float, default=60.0)
    args = parser.parse_args(argv)
    settings = settings_from_blob(sys.stdin.buffer.read())
    sys.stdin.close()
    collector = Collector(settings, args.socket, idle=args.idle)
    collector.adopt(args.listen_fd, args.lock_fd)
    collector.serve()
