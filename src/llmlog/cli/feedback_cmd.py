"""``llmlog feedback``: attach a score (and a comment) to a logged interaction."""

from __future__ import annotations

import math

import click

from llmlog.cli._common import Command, InputError, open_store, store_url
from llmlog.exceptions import FeedbackError
from llmlog.store import AmbiguousIdError, InteractionNotFoundError
from llmlog.writing import write_feedback

__all__ = ["feedback"]


@click.command(
    "feedback",
    cls=Command,
    short_help="Score an interaction: 1/0 for thumbs up/down, 1-5 for quality.",
)
@click.argument("request_id")
@click.option("--score", "-s", type=float, required=True, help="The score (any number).")
@click.option("--comment", "-c", default=None, help="Why (redacted like any logged text).")
@click.pass_context
def feedback(ctx: click.Context, /, request_id: str, score: float, comment: str | None) -> None:
    """Score an interaction, e.g. 1/0 for thumbs up/down or 1-5 for quality.

    REQUEST_ID may be any unique prefix. The latest score is what
    --min-score/--max-score filter on (search, export --format openai-chat).
    """
    if math.isnan(score) or math.isinf(score):
        raise InputError(f"--score must be a finite number, got {score}")
    with open_store(ctx) as store:
        try:
            rid = str(store.get(request_id).get("request_id"))
        except (InteractionNotFoundError, AmbiguousIdError) as exc:
            raise InputError(str(exc)) from None
    try:
        write_feedback(store_url(ctx), rid, score, comment)
    except FeedbackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"scored {rid}: {score:g}" + (f" ({comment})" if comment else ""))
