r"""Finding and starting the collector of a store: its socket, its lock, its settings.

A collector serves one store with one configuration (redaction, JSON lines,
OpenTelemetry...): apps that log to the same store with the same settings share it; an
app with other settings gets a collector of its own (each writes what its apps sent,
as they configured it). The socket is ``$LLMLOG_HOME/collector/<store>-<settings>.sock``
(digests of the store URL and of the settings), guarded by an ``flock`` on the
``.lock`` beside it, which the collector holds for its whole life.

Starting one (:func:`start`) takes that lock, binds and listens on the socket *in the
app*, then forks: the child ``exec``\ s a new Python, the collector, with the listening
socket and the lock. The app goes on as soon as ``fork()`` returns (the collector's
interpreter takes ~100 ms to start): from then on, the child holds the socket, so what
the app sends survives the app, even its first record. Two apps starting at once: one
gets the lock, the other connects to its socket.
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
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from llmlog._fs import home_dir, open_append, private_dir

__all__ = [
    "collector_dir",
    "listen",
    "settings_blob",
    "settings_from_blob",
    "socket_path",
    "start",
    "store_key",
]

PIPE_CAPACITY = 60_000
"""The settings go through a pipe written before the collector exists: they must fit it."""

MAX_SOCKET_PATH = 104
"""``sun_path`` holds 108 bytes on Linux, 104 on macOS."""

NOT_SHARED = frozenset(
    {"processors", "sinks", "raise_errors", "console", "disabled", "collector", "sample_rate"}
)
"""Settings that stay in the app (or keep it in-process): not part of a collector's."""

_PATHS = ("jsonl", "spool_dir", "prices")
"""Settings naming files: made absolute, since the collector runs elsewhere."""

_children: list[int] = []
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
    r"""Start the collector of socket ``path`` unless one runs or starts; return why not, or None.

    Takes the lock, listens, and forks the collector's process before returning, so
    whatever the caller sends next is in a socket the collector holds, even if the app
    dies a microsecond later. ``fork()`` returns once the child exists (under a
    millisecond for a typical app; ``subprocess`` and ``posix_spawn`` wait for the
    ``exec``, 5 to 10 ms here); the child only rearranges descriptors and ``exec``\ s
    Python, which then takes its ~100 ms to start while the app goes on.
    """
    reap()
    if len(blob) > PIPE_CAPACITY:
        return f"its settings are too large to hand over ({len(blob)} bytes)"
    try:
        lock_fd = take_lock(path)
    except OSError as exc:
        return f"cannot create {path.parent}: {exc.strerror}"
    if lock_fd is None:
        return None  # a collector runs (or another process is starting one)
    fds: list[int] = [lock_fd]
    try:
        fds.append(listen(path).detach())
        log_fd = open_append(path.with_suffix(".log"))
        fds.append(log_fd)
        null_fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        fds.append(null_fd)
        r, w = os.pipe()
        fds.append(r)
        try:
            os.write(w, blob)  # fits the pipe: written before the reader exists
        finally:
            os.close(w)
        # everything the child needs, built before the fork (the child allocates nothing)
        src = str(Path(__file__).resolve().parents[2])  # where this llmlog is imported from
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        argv = [
            sys.executable,
            "-c",
            "from llmlog.collector.server import main; main()",
            f"--socket={path}",
            "--listen-fd=3",
            "--lock-fd=4",
            f"--idle={idle}",
        ]
        # above 4, so no dup2 below overwrites a source
        sources = (r, null_fd, log_fd, fds[1], lock_fd)  # stdin, stdout, stderr, 3, 4
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in sources]
        fds.extend(high)
        pid = _fork_exec(argv, env, high)
    except OSError as exc:
        return f"cannot start it: {exc.strerror or exc}"
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
    _children.append(pid)
    return None


def _fork_exec(argv: list[str], env: dict[str, str], fds: list[int]) -> int:
    """Fork; in the child, put ``fds`` on 0..4, close every other descriptor, exec ``argv``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid:
        return pid
    try:  # the child: descriptors and exec only
        os.setsid()  # a Ctrl-C or a signal to the app's process group is not for it
        for target, fd in enumerate(fds):
            os.dup2(fd, target)  # dup2 clears close-on-exec on the copy
        os.closerange(len(fds), _max_fd())
        os.execve(argv[0], argv, env)
    finally:
        os._exit(127)


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 65536


def reap() -> None:
    """Collect the exit status of collectors this process started that have exited."""
    for pid in list(_children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _children.remove(pid)
