"""Finding and starting the collector of a store: its socket, its lock, its settings.

A collector serves one store with one configuration (redaction, JSON lines,
OpenTelemetry...): apps that log to the same store with the same settings share it; an
app with other settings gets a collector of its own (each writes what its apps sent,
as they configured it). The socket is ``$LLMLOG_HOME/collector/<store>-<settings>.sock``
(digests of the store URL and of the settings), guarded by an ``flock`` on the
``.lock`` beside it, which the collector holds for its whole life.

Starting one (:func:`start`) takes that lock, binds and listens on the socket *in the
app*, so the app's first records go to the socket at once, then hands the listening
socket and the lock to a new ``python`` process that becomes the collector. The app
never waits for the collector's interpreter to start (~100 ms): the kernel holds what
the app sends until the collector reads it, and the collector inherits the socket, so
those records survive the app. Two apps starting at once: one gets the lock, the other
connects to its socket.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import os
import socket
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from llmlog._fs import home_dir, open_append, private_dir

if TYPE_CHECKING:
    import subprocess


__all__ = [
    "collector_dir",
    "listen",
    "settings_blob",
    "settings_from_blob",
    "socket_path",
    "start",
    "store_key",
    "wait_started",
]

MAX_SOCKET_PATH = 104
"""``sun_path`` holds 108 bytes on Linux, 104 on macOS."""

NOT_SHARED = frozenset(
    {"processors", "sinks", "raise_errors", "console", "disabled", "collector", "sample_rate"}
)
"""Settings that stay in the app (or keep it in-process): not part of a collector's."""

_PATHS = ("jsonl", "spool_dir", "prices")
"""Settings naming files: made absolute, since the collector runs elsewhere."""

_pending: set[int] = set()
"""Descriptors an app holds while it starts a collector: a forked child must not keep them."""

_starting: list[threading.Thread] = []
"""Threads starting a collector now."""

_children: list[subprocess.Popen[bytes]] = []
"""Collectors this process started (reaped by :func:`reap`)."""


def collector_dir() -> Path:
    """Return the folder of the collectors' sockets, locks and logs."""
    return home_dir() / "collector"


def store_key(store_url: str) -> str:
    """Return the digest that names a store's collectors."""
    url = store_url
    if "://" not in url or url.startswith("sqlite:"):
        from llmlog.store.registry import backend_for

        url = "sqlite:" + str(Path(backend_for(url).target(url)).expanduser().resolve())
    return hashlib.sha1(url.encode()).hexdigest()[:16]


def socket_path(store_url: str, blob: bytes = b"") -> Path:
    """Return the socket of the collector for ``store_url`` with settings ``blob``."""
    digest = hashlib.sha1(blob).hexdigest()[:8]
    return collector_dir() / f"{store_key(store_url)}-{digest}.sock"


def settings_blob(settings: Any) -> bytes:
    """Return the collector's share of ``settings`` as canonical JSON (its identity too).

    Raises:
        ValueError: a setting that cannot leave the process (a redaction operator that
            is a Python function); the message says which.
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        if f.name in NOT_SHARED:
            continue
        value = getattr(settings, f.name)
        if (f.name in _PATHS and value) or (
            f.name == "db" and "://" not in value and value.lower() != "off"
        ):
            value = os.path.abspath(os.path.expanduser(value))
        elif f.name == "redact_rules" and value is not None:
            value = _rules_mapping(value)
        out[f.name] = value
    return orjson.dumps(out, option=orjson.OPT_SORT_KEYS)


def _rules_mapping(rules: Any) -> dict[str, Any]:
    if any(callable(op) for _, op in rules.operators):
        raise ValueError("a redaction operator is a Python function (it runs in this process)")
    patterns: dict[str, list[str]] = {}
    for type_, regex in rules.rules:
        patterns.setdefault(type_, []).append(regex)
    return {
        "rules": patterns,
        "deny": list(rules.deny),
        "allow": list(rules.allow),
        "operators": dict(rules.operators),
        "disable": list(rules.disable),
    }


def settings_from_blob(blob: bytes) -> Any:
    """Return the Settings an app sent (:func:`settings_blob`), checked as ``configure()`` does."""
    from llmlog.config import resolve_settings

    values = orjson.loads(blob)
    if not isinstance(values, Mapping):
        raise ValueError("the collector's settings are not a JSON object")
    return resolve_settings(values, strict=True, environ={})


def listen(path: Path) -> socket.socket:
    """Bind and listen on ``path`` (owner-only), replacing a stale socket; return the socket."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale socket of a collector that died: the lock says it is ours
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    old = os.umask(0o177)
    try:
        srv.bind(str(path))
    except OSError:
        srv.close()
        raise
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    srv.listen(128)
    return srv


def take_lock(path: Path) -> int | None:
    """Take the collector lock of socket ``path``; return its descriptor, or None if held."""
    private_dir(path.parent)
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return None
        raise
    return fd


def start(path: Path, blob: bytes, idle: float) -> str | None:
    """Start the collector of socket ``path`` unless one runs or starts; return why not, or None.

    The lock is taken and the socket listens before this returns (the caller connects
    next); the new process is started by a thread, so the caller does not wait for it.
    """
    reap()
    try:
        lock_fd = take_lock(path)
    except OSError as exc:
        return f"cannot create {path.parent}: {exc.strerror}"
    if lock_fd is None:
        return None  # a collector runs (or another process is starting one)
    try:
        srv = listen(path)
    except OSError as exc:
        os.close(lock_fd)
        return f"cannot listen at {path}: {exc.strerror}"
    listen_fd = srv.detach()  # raw descriptors: nothing closes them behind our back
    _pending.update((lock_fd, listen_fd))
    # not a daemon: interpreter shutdown waits for it, so records already sent to the
    # socket reach a collector even when the app exits right after its first call
    t = threading.Thread(
        target=_spawn, args=(listen_fd, lock_fd, path, blob, idle), name="llmlog-collector-start"
    )
    _starting.append(t)
    t.start()
    return None


def wait_started(timeout: float = 10.0) -> None:
    """Wait for collectors this process is starting to exist (before it exits: until then,
    what it sent waits in a socket only this process holds)."""
    for t in list(_starting):
        t.join(timeout)


def _spawn(listen_fd: int, lock_fd: int, path: Path, blob: bytes, idle: float) -> None:
    """Start ``python -c 'llmlog.collector.server.main()'`` with the socket and the lock.

    ``subprocess`` forks and execs in C (safe in a threaded app) and closes every other
    descriptor in the child: a collector must not hold the app's pipes open (a parent
    reading the app's output would wait for the collector to exit). The child gets
    the settings on its stdin, its log as stderr, and a session of its own (a Ctrl-C
    or a signal to the app's process group is not for it).
    """
    import subprocess  # here, in the starting thread: the app's first call does not import it

    fds = (listen_fd, lock_fd)
    log_fd = -1
    try:
        log_fd = open_append(path.with_suffix(".log"))
        src = str(Path(__file__).resolve().parents[2])  # where this llmlog is imported from
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        argv = [
            sys.executable,
            "-c",
            "from llmlog.collector.server import main; main()",
            f"--socket={path}",
            f"--listen-fd={listen_fd}",
            f"--lock-fd={lock_fd}",
            f"--idle={idle}",
        ]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=log_fd,
            pass_fds=fds,
            cwd=str(path.parent),
            env=env,
            start_new_session=True,
        )
        _children.append(proc)
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.write(blob)
            proc.stdin.close()
    except Exception as exc:  # the app keeps writing in-process; the log says why
        with contextlib.suppress(Exception):
            os.write(log_fd, f"llmlog: could not start a collector: {exc}\n".encode())
    finally:
        _pending.difference_update(fds)
        os.close(listen_fd)  # the collector has its own copies now (or none: it goes stale)
        os.close(lock_fd)
        if log_fd >= 0:
            os.close(log_fd)
        with contextlib.suppress(ValueError):
            _starting.remove(threading.current_thread())


def reap() -> None:
    """Collect the exit status of collectors this process started that have exited."""
    for proc in list(_children):
        if proc.poll() is not None:
            _children.remove(proc)


def _close_pending_in_child() -> None:
    for fd in list(_pending):
        with contextlib.suppress(OSError):
            os.close(fd)
    _pending.clear()
    _children.clear()
    _starting.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_pending_in_child)
