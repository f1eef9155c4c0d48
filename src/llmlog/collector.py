"""The local collector: a process that owns the store, fed by the apps over a Unix socket.

A record handed to the collector survives whatever happens to the app afterwards
(``SIGKILL``, ``os._exit``, a recycled worker): once ``send()`` returns, the bytes are
in the kernel, on their way to the collector's own process, which redacts, completes
and writes them with its own :class:`~llmlog.pipeline.Pipeline` (its interpreter, its
GIL), as the single writer of the store.

This module is both halves:

* :class:`Handoff`, on the app's side: when a collector listens for the app's store,
  ``Pipeline.submit`` hands it each snapshot in one non-blocking ``send()`` on a
  ``SOCK_SEQPACKET`` Unix socket (message boundaries kept; a 4 MB send buffer, so a
  burst does not fill it). When no collector listens, the socket is full, or a record
  is too large, the app's own in-process writer takes the record, as before.
* :class:`Collector`, the server: ``llmlog collect`` runs it in the foreground (for a
  sidecar, a container, systemd). It answers ``status`` and ``flush`` requests.

One collector per store per machine: the socket is ``$LLMLOG_HOME/collector/<key>.sock``
(the key is a digest of the store URL), guarded by an ``flock`` on ``<key>.lock``; the
folder is ``0700`` and the socket ``0600``, so only the owner's processes can hand
records over. The collector never trusts what it receives: a frame it cannot decode is
counted (``bad_frames``) and dropped, never fatal.

Frames: one byte of kind, then for an interaction four lengths (``!IIII``: the light
fields' JSON, the messages' JSON, the raw response's JSON, the context's JSON), the
light JSON, the tail (:mod:`llmlog.encoding`) and the context JSON; for feedback, its
fields' JSON; ``S`` asks for the status, ``F`` for a flush (the reply is JSON).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import logging
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from llmlog._fs import home_dir, private_dir

__all__ = ["Collector", "Handoff", "socket_path"]

_log = logging.getLogger(__name__)

SNDBUF = 4 * 1024 * 1024
"""The send buffer a client asks for (the kernel caps it at ``net.core.wmem_max``)."""

MAX_FRAME = 1024 * 1024
"""Larger records take the in-process path (a collector reads frames up to this size)."""

COLLECTOR_QUEUE = 100_000
"""Records the collector holds in memory before it spools (a burst of many apps)."""

_HEAD = struct.Struct("!IIII")
INTERACTION, FEEDBACK = b"I", b"B"
STATUS, FLUSH = b"S", b"F"


def socket_path(store_url: str) -> Path:
    """Return the socket of the collector for the store at ``store_url``."""
    url = store_url
    if "://" not in url or url.startswith("sqlite:"):
        from llmlog.store.registry import backend_for

        url = "sqlite:" + str(Path(backend_for(url).target(url)).expanduser().resolve())
    key = hashlib.sha1(url.encode()).hexdigest()[:16]
    return home_dir() / "collector" / f"{key}.sock"


# -- the app's side ------------------------------------------------------------------------------


class Handoff:
    """Hand snapshots to the collector of one store; thread-safe, never blocks the caller.

    Args:
        path: the collector's socket.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sent = 0
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
            self._retry_at = now + 1.0
            if not self.path.exists():
                return None
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
                s.connect(str(self.path))
            except OSError:
                s.close()
                return None
            s.setblocking(False)
            self._sock = s
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


def encode(kind: bytes, payload: Any, ctx: Any) -> bytes:
    """Return the frame for one snapshot (see the module docstring)."""
    if kind == FEEDBACK:
        return FEEDBACK + payload  # type: ignore[no-any-return]
    light, tail, lm, lr = payload
    lj = light if type(light) is bytes else orjson.dumps(light)
    cj = b"" if ctx is None else orjson.dumps(ctx)
    return b"".join((INTERACTION, _HEAD.pack(len(lj), lm, lr, len(cj)), lj, tail, cj))


def decode(frame: bytes) -> tuple[bytes, Any, Any]:
    """Return (kind, payload, ctx) from a frame; raises ValueError for a malformed one."""
    kind = frame[:1]
    if kind == FEEDBACK:
        orjson.loads(frame[1:])  # checked here: a bad one is counted, not queued
        return FEEDBACK, frame[1:], None
    if kind != INTERACTION or len(frame) < 1 + _HEAD.size:
        raise ValueError("unknown frame")
    ll, lm, lr, lc = _HEAD.unpack_from(frame, 1)
    start = 1 + _HEAD.size
    tail_end = len(frame) - lc
    light = orjson.loads(frame[start : start + ll])
    tail = frame[start + ll : tail_end]
    if not isinstance(light, dict) or lm + lr > len(tail) or tail[-1:] != b"}":
        raise ValueError("malformed interaction frame")
    ctx = orjson.loads(frame[tail_end:]) if lc else None
    return INTERACTION, (light, tail, lm, lr), ctx


# -- the collector -------------------------------------------------------------------------------


class Collector:
    """Receive snapshots from the apps of one store and write them (``llmlog collect``).

    Args:
        settings: the collector's settings (its redaction, JSON lines, OpenTelemetry...).
        path: the socket to listen on (default: :func:`socket_path` of ``settings.db``).
    """

    def __init__(self, settings: Any, path: Path | None = None) -> None:
        self.settings = settings
        self.path = path or socket_path(settings.db)
        self.frames = 0
        self.bad_frames = 0
        self.started = time.time()
        self._stop = threading.Event()
        self._lock_fd: int | None = None
        self._server: socket.socket | None = None
        self._pipeline: Any = None

    def claim(self) -> bool:
        """Take the store's collector lock and listen; False if another collector has it."""
        private_dir(self.path.parent)
        lock = self.path.with_suffix(".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            raise
        self._lock_fd = fd
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket of a collector that died: ours now
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        old = os.umask(0o177)
        try:
            srv.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        srv.listen(128)
        srv.setblocking(False)
        self._server = srv
        return True

    def serve(self) -> None:
        """Receive and write until SIGTERM, SIGINT or :meth:`stop`; then write what is left."""
        from llmlog.api import make_pipeline

        assert self._server is not None, "claim() first"
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
                        with contextlib.suppress(BlockingIOError):
                            conn, _ = sock.accept()
                            conn.setblocking(False)
                            sel.register(conn, selectors.EVENT_READ)
                        continue
                    self._read(sock, buf, view, sel)
        finally:
            sel.close()
            self.close()

    def _read(
        self, conn: socket.socket, buf: bytearray, view: memoryview, sel: selectors.BaseSelector
    ) -> None:
        pipeline = self._pipeline
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
            pipeline.submit(0 if k == INTERACTION else 1, payload, ctx)

    def status(self) -> dict[str, Any]:
        """Return what ``llmlog collect --status`` prints."""
        st = self._pipeline.stats() if self._pipeline is not None else {}
        return {
            "pid": os.getpid(),
            "store": self.settings.db,
            "socket": str(self.path),
            "uptime_s": round(time.time() - self.started, 1),
            "frames": self.frames,
            "bad_frames": self.bad_frames,
            "processed": st.get("processed", 0),
            "queued": st.get("queued", 0),
            "spooled": st.get("spooled", 0),
            "dropped": st.get("dropped", 0),
            "dead_lettered": st.get("dead_lettered", 0),
        }

    def stop(self) -> None:
        """Ask :meth:`serve` to stop (thread- and signal-safe)."""
        self._stop.set()

    def close(self) -> None:
        """Stop listening, write everything received, release the lock."""
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
