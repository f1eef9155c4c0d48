"""Install and remove method patches, and report llmlog's own failures inside capture.

A :class:`Patch` replaces one attribute (a method on a class, a function on a
module) with a :class:`wrapt.FunctionWrapper` around the original and remembers
the original. Restoring puts the original back only when the attribute still
holds our wrapper; when something else (another instrumentation library) has
wrapped on top of it since, the wrapper is left where it is and switched off, so
it passes calls straight through and the other library's patch keeps working.

Failures inside capture are never raised into the application: they are counted
and reported on the ``llmlog`` logger by the pipeline (at most once a minute per
kind), and re-raised from the next ``flush()`` when ``LLMLOG_RAISE_ERRORS`` is
set, so tests see them.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import wrapt

__all__ = ["Patch", "check_params", "report_error", "warn_once"]

_log = logging.getLogger(__name__)

_warned: set[str] = set()
_warned_lock = threading.Lock()

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]
"""A wrapt wrapper: ``(wrapped, instance, args, kwargs) -> result``."""


def warn_once(key: str, message: str, *args: object) -> None:
    """Log ``message`` at WARNING on the ``llmlog`` logger, once per ``key`` per process."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    _log.warning("llmlog: " + message, *args)


def report_error(where: str, exc: Exception) -> None:
    """Count and report a failure of llmlog's own capture code; never raises."""
    try:
        from llmlog.api import report_internal_error

        report_internal_error(where, exc)
    except Exception:  # pragma: no cover - a broken logging setup
        pass


def check_params(func: Any, names: Iterable[str]) -> bool:
    """Return True when ``func`` accepts every parameter in ``names`` (by name)."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return all(n in params for n in names)


class Patch:
    """One attribute of ``owner`` replaced by a wrapper until :meth:`restore`.

    Args:
        owner: the class or module holding the attribute.
        name: the attribute name.
        make_wrapper: called with this patch, returns the wrapt wrapper; the wrapper
            should call the original untouched when :attr:`active` is false.
    """

    __slots__ = ("_proxy", "active", "make_wrapper", "name", "original", "owner")

    def __init__(self, owner: Any, name: str, make_wrapper: Callable[[Patch], Wrapper]) -> None:
        self.owner = owner
        self.name = name
        self.make_wrapper = make_wrapper
        self.original: Any = None
        self._proxy: Any = None
        self.active = False

    @property
    def applied(self) -> bool:
        """Whether our wrapper is installed and active."""
        return self._proxy is not None and self.active

    def apply(self) -> None:
        """Install the wrapper (no-op when already installed)."""
        if self.applied:
            return
        if self._proxy is not None:
            # Our wrapper is still in place, under another library's: switch it back on.
            self.active = True
            return
        current = vars(self.owner).get(self.name) if hasattr(self.owner, "__dict__") else None
        if current is None:
            current = getattr(self.owner, self.name)
        self.original = current
        self._proxy = wrapt.FunctionWrapper(current, self.make_wrapper(self))
        self.active = True
        setattr(self.owner, self.name, self._proxy)

    def restore(self) -> None:
        """Put the original back, or switch our wrapper off if another one sits on top."""
        if self._proxy is None:
            return
        self.active = False
        current = vars(self.owner).get(self.name) if hasattr(self.owner, "__dict__") else None
        if current is self._proxy:
            setattr(self.owner, self.name, self.original)
            self._proxy = None
            self.original = None
