"""``llmlog show``: one interaction as a readable conversation."""

from __future__ import annotations

import click

from llmlog.cli._common import Command, InputError, echo_records, open_store
from llmlog.cli._render import echo_conversation
from llmlog.store import AmbiguousIdError, InteractionNotFoundError

__all__ = ["show"]


@click.command("show", cls=Command, short_help="Show one interaction as a readable conversation.")
@click.argument("request_id")
@click.option("--json", "as_json", is_flag=True, help="The record as one JSON line.")
@click.pass_context
def show(ctx: click.Context, /, request_id: str, as_json: bool) -> None:
    """Show one interaction: every message, tool calls, reply, tokens, cost, timing, feedback.

    REQUEST_ID may be any unique prefix of the id.
    """
    with open_store(ctx) as store:
        try:
            rec = store.get(request_id)
        except (InteractionNotFoundError, AmbiguousIdError) as exc:
            raise InputError(str(exc)) from None
        feedback = store.feedback(str(rec.get("request_id")))
    if as_json:
        echo_records([rec])
        return
    echo_conversation(rec, feedback)
