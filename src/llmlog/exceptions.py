"""Every exception llmlog raises on purpose, in one tree.

::

    Exception
    └── LLMLogError                      anything llmlog itself reports
        ├── ConfigError (ValueError)      a bad configure() option or LLMLOG_* value
        ├── StoreError                    a store cannot be opened, read or written
        │   └── StoreNotFoundError (FileNotFoundError)   nothing at that path / schema yet
        ├── InteractionNotFoundError (LookupError)       no interaction has that id
        ├── AmbiguousIdError (LookupError)               an id prefix matches several
        ├── FeedbackError                 a feedback score could not be written
        └── NamesUnavailableError (ImportError)          PERSON asked for, no names lists
    BaseException
    └── DropRecord                        raised by a processor to drop a record: control
                                          flow, not an error (it passes ``except Exception``)

Errors of the logging path never reach the application: llmlog counts them in
``llmlog.stats()`` and reports them on the ``llmlog`` logger. These exceptions are for
configuration time (``configure()``), the query API (``llmlog.store``) and the CLI,
which prints each as one ``Error:`` line.

.. versionadded:: 0.2
"""

from __future__ import annotations

__all__ = [
    "AmbiguousIdError",
    "ConfigError",
    "DropRecord",
    "FeedbackError",
    "InteractionNotFoundError",
    "LLMLogError",
    "NamesUnavailableError",
    "StoreError",
    "StoreNotFoundError",
    "TraceNotFoundError",
]


class LLMLogError(Exception):
    """The base of every error llmlog raises on purpose."""


class ConfigError(LLMLogError, ValueError):
    """A configuration option or ``LLMLOG_*`` variable has a bad value (the message names it)."""


class StoreError(LLMLogError):
    """The store cannot be opened or read (not a database, not an llmlog store, ...)."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """There is no store at the given path."""


class InteractionNotFoundError(LLMLogError, LookupError):
    """No interaction has that request id (or id prefix)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "interaction not found"


class TraceNotFoundError(LLMLogError, LookupError):
    """No span or interaction has that trace id (or id prefix)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "trace not found"


class AmbiguousIdError(LLMLogError, LookupError):
    """A request id prefix matches more than one interaction."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "ambiguous request id prefix"


class FeedbackError(LLMLogError):
    """A feedback score could not be written (the message says why, in one line)."""


class DropRecord(BaseException):
    """Raise from a processor to drop the record. Not an error: it is counted as filtered."""


class NamesUnavailableError(LLMLogError, ImportError):
    """``PERSON`` redaction was asked for but the names lists (``faker``, the ``names`` extra)
    are not installed."""
