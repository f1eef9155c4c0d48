"""The viewer's only write: a feedback score (and comment) on a logged interaction.

It takes the same route as ``llmlog feedback``: :func:`llmlog.writing.write_feedback`,
a :class:`~llmlog.pipeline.Pipeline` with the user's processors (so a comment is
redacted like any logged text) in front of the store's own sink, written synchronously
so the page that follows already shows it. Called on a worker thread; it blocks for
one small SQLite transaction.
"""

from __future__ import annotations

from llmlog.exceptions import FeedbackError
from llmlog.writing import write_feedback

__all__ = ["MAX_COMMENT", "FeedbackError", "write_feedback"]

MAX_COMMENT = 2000
"""The longest comment accepted from the form, in characters."""
