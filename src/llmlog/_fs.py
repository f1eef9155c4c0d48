"""Files and folders that llmlog creates are owner-only: prompts are private data.

Every file llmlog creates (the SQLite store and so its ``-wal`` and ``-shm``, which SQLite
creates with the store's mode, JSON lines, spool and dead-letter files) is created ``0600``,
and every folder it creates ``0700``, whatever the process's umask. Files and folders that
already exist keep the mode their owner gave them.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DIR_MODE", "FILE_MODE", "home_dir", "open_append", "private_dir", "private_file"]

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and any missing parents as ``0700`` folders; return it.

    Folders that exist already are left as they are.
    """
    p = Path(path)
    missing: list[Path] = []
    q = p
    while not q.exists():
        missing.append(q)
        if q.parent == q:
            break
        q = q.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)  # mkdir's mode is filtered by the umask
    return p


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and its folders) as an empty ``0600`` file unless it exists; return it."""
    p = Path(path)
    if p.exists():
        return p
    private_dir(p.parent)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return p
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return p


def open_append(path: str | os.PathLike[str], *, readable: bool = False) -> int:
    """Open ``path`` for appending (``O_APPEND``), creating it ``0600``; return the descriptor.

    Args:
        path: the file; missing folders are created ``0700``.
        readable: open it for reading too (to check what was appended).
    """
    p = Path(path)
    private_dir(p.parent)
    flags = (os.O_RDWR if readable else os.O_WRONLY) | os.O_APPEND
    try:
        fd = os.open(p, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return os.open(p, flags)
    os.fchmod(fd, FILE_MODE)
    return fd


def home_dir() -> Path:
    """Return llmlog's own folder: ``$LLMLOG_HOME``, else ``$XDG_STATE_HOME/llmlog``
    (``~/.local/state/llmlog``). Spools of sinks without a folder of their own and the
    generated redaction key live there."""
    home = os.environ.get("LLMLOG_HOME")
    if home:
        return Path(home).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "llmlog"
