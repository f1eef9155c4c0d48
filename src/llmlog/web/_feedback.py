"""The viewer's only write: a feedback score (and comment) on a logged interaction.

It takes the same route as ``llmlog feedback`` (``llmlog.cli.feedback_cmd``):
a :class:`~llmlog.pipeline.Pipeline` with the user's processors (so a comment
is redacted like any logged text) in front of the store's own sink, written
synchronously so the page that follows already shows it. Called on a worker
thread; it blocks for one small SQLite transaction.
"""

from __future__ import annotations

import dataclasses
import math
import time

import click
import orjson

__all__ = ["MAX_COMMENT", "FeedbackError", "write_feedback"]

MAX_COMMENT = 2000
"""The longest comment accepted from the form, in characters."""


class FeedbackError(Exception):
    """The feedback could not be written (the message says why, in one line)."""


def write_feedback(url: str, request_id: str, score: float, comment: str | None) -> None:
    """Write one feedback record for ``request_id`` into the store at ``url``.

    Args:
        url: the store (a path or URL, as ``open_store`` takes).
        request_id: the full request id (already checked to exist).
        score: a finite number (1 thumbs up, 0 thumbs down).
        comment: optional text, at most :data:`MAX_COMMENT` characters.

    Raises:
        FeedbackError: the score is not finite, redaction is unavailable, the
            store cannot be written, or a processor dropped the record.
    """
    if math.isnan(score) or math.isinf(score):
        raise FeedbackError("the score must be a finite number")
    import llmlog
    from llmlog.cli._writing import RecordingSink, user_processors
    from llmlog.pipeline import FEEDBACK, Pipeline

    settings = dataclasses.replace(llmlog.get_settings(), durability="sync", on_full="drop")
    try:
        sink = RecordingSink(url)
        processors = user_processors(settings)
    except click.ClickException as exc:
        raise FeedbackError(exc.format_message()) from None
    pipeline = Pipeline(settings, [sink], processors)
    try:
        pipeline.submit(
            FEEDBACK,
            orjson.dumps(
                {
                    "request_id": request_id,
                    "score": score,
                    "comment": comment or None,
                    "timestamp": time.time(),
                }
            ),
            None,
        )
    finally:
        pipeline.close(10.0)
    try:
        sink.raise_if_failed()
    except click.ClickException as exc:
        raise FeedbackError(exc.format_message()) from None
    if not sink.written:
        raise FeedbackError("the feedback was dropped by a processor")
