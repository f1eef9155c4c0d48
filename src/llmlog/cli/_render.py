"""How records look on screen: one row per interaction, and a whole conversation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
import orjson

from llmlog.cli._common import (
    fmt_cost,
    fmt_int,
    fmt_ms,
    local_time,
    render_table,
    stdout_is_tty,
)
from llmlog.formats import output_text, preview

__all__ = ["ROW_COLUMNS", "echo_conversation", "print_rows", "row_cells", "row_line"]

ROW_COLUMNS = ("time", "request id", "model", "status", "latency", "tokens", "cost", "preview")
_RIGHT = ("latency", "tokens", "cost")
_STYLES = {"time": "dim", "request id": "cyan", "model": "magenta"}


def _tokens(rec: Mapping[str, Any]) -> str:
    usage = rec.get("usage")
    if not isinstance(usage, Mapping) or usage.get("total_tokens") is None:
        return "-"
    return ("~" if usage.get("estimated") else "") + fmt_int(usage.get("total_tokens"))


def row_cells(rec: Mapping[str, Any], *, width: int = 100, short_time: bool = False) -> list[str]:
    """Return the cells of one interaction's row (see :data:`ROW_COLUMNS`).

    ``short_time`` leaves the year out (terminal tables of this year's rows).
    """
    ts = rec.get("timestamp")
    return [
        local_time(ts)[5:] if short_time and ts is not None else local_time(ts),
        str(rec.get("request_id") or "-"),
        str(rec.get("model") or "-"),
        str(rec.get("status") or "ok"),
        fmt_ms(rec.get("duration_ms")),
        _tokens(rec),
        fmt_cost(rec.get("cost_usd")),
        preview(rec, width),
    ]


def print_rows(records: Sequence[Mapping[str, Any]], *, title: str | None = None) -> None:
    """Print interactions as a table (terminal) or tab-separated lines (piped)."""
    short = stdout_is_tty() and all(_this_year(r.get("timestamp")) for r in records)
    render_table(
        ROW_COLUMNS,
        [row_cells(r, short_time=short) for r in records],
        styles=_STYLES,
        right=_RIGHT,
        title=title,
    )


def _this_year(ts: Any) -> bool:
    if not isinstance(ts, (int, float)):
        return False
    return datetime.fromtimestamp(ts).year == datetime.now().year


def row_line(rec: Mapping[str, Any]) -> str:
    """Return one interaction as a line for streaming (``tail``): styled on a terminal."""
    cells = row_cells(rec, width=100)
    if not stdout_is_tty():
        return "\t".join(c.replace("\t", " ") for c in cells)
    status = cells[3]
    return "  ".join(
        [
            click.style(cells[0], dim=True),
            click.style(cells[1], fg="cyan"),
            click.style(f"{cells[2]:<20}", fg="magenta"),
            click.style(f"{status:<5}", fg="red" if status == "error" else "green"),
            f"{cells[4]:>7}",
            f"{cells[5]:>7}",
            f"{cells[6]:>9}",
            cells[7],
        ]
    )


# -- a whole conversation ------------------------------------------------------------------------


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping):
                kind = part.get("type")
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif kind in ("image_url", "image", "input_image"):
                    parts.append("[image]")
                elif kind in ("tool_result",):
                    parts.append(
                        f"[tool result {part.get('tool_use_id', '')}] "
                        f"{_content_text(part.get('content'))}"
                    )
                elif kind in ("tool_use",):
                    parts.append(_call_text(part.get("name"), part.get("input")))
                else:
                    parts.append(orjson.dumps(part).decode())
        return "\n".join(parts)
    return orjson.dumps(content, option=orjson.OPT_INDENT_2).decode()


def _call_text(name: Any, args: Any) -> str:
    if isinstance(args, str):
        try:
            args = orjson.loads(args)
        except orjson.JSONDecodeError:
            return f"{name}({args})"
    return f"{name}({orjson.dumps(args).decode() if args is not None else ''})"


def _calls(calls: Any) -> list[str]:
    out = []
    for tc in calls or ():
        if isinstance(tc, Mapping):
            fn = tc.get("function") if isinstance(tc.get("function"), Mapping) else None
            name = fn.get("name") if fn else tc.get("name")
            args = fn.get("arguments") if fn else tc.get("arguments")
            out.append(_call_text(name, args))
    return out


_ROLE_COLOURS = {
    "system": "yellow",
    "developer": "yellow",
    "user": "blue",
    "assistant": "green",
    "tool": "magenta",
    "function": "magenta",
}


def _heading(echo: Callable[[str], None], label: str, role: str) -> None:
    echo("")
    echo(
        click.style(f"── {label} ", fg=_ROLE_COLOURS.get(role, "white"), bold=True)
        + click.style("─" * max(3, 60 - len(label)), dim=True)
    )


def echo_conversation(rec: Mapping[str, Any], feedback: Sequence[Mapping[str, Any]]) -> None:
    """Print one interaction readably: header, every message, the reply, error, feedback."""
    echo = click.echo

    def field(name: str, value: str) -> None:
        echo(click.style(f"{name:<10}", bold=True) + value)

    field("request", str(rec.get("request_id")))
    timing = [local_time(rec.get("timestamp"))]
    if rec.get("duration_ms") is not None:
        timing.append(f"duration {fmt_ms(rec.get('duration_ms'))}")
    if rec.get("ttft_ms") is not None:
        timing.append(f"first token {fmt_ms(rec.get('ttft_ms'))}")
    field("time", "   ".join(timing))
    model = str(rec.get("model") or "-")
    if rec.get("response_model") and rec.get("response_model") != rec.get("model"):
        model += f" → {rec.get('response_model')}"
    field("model", f"{model} ({rec.get('provider') or '?'}, {rec.get('operation') or 'chat'})")
    status = str(rec.get("status") or "ok")
    err = rec.get("error") if isinstance(rec.get("error"), Mapping) else None
    if err:
        code = f" {err.get('status_code')}" if err.get("status_code") else ""
        field(
            "status", click.style(f"error: {err.get('type')}{code}: {err.get('message')}", fg="red")
        )
    else:
        field("status", click.style(status, fg="green" if status == "ok" else "red"))
    usage = rec.get("usage") if isinstance(rec.get("usage"), Mapping) else None
    if usage and (usage.get("input_tokens") is not None or usage.get("output_tokens") is not None):
        assert usage is not None
        parts = [f"{fmt_int(usage.get('input_tokens'))} in"]
        if usage.get("cached_input_tokens"):
            parts[-1] += f" ({fmt_int(usage.get('cached_input_tokens'))} cached)"
        parts.append(f"{fmt_int(usage.get('output_tokens'))} out")
        if usage.get("reasoning_tokens"):
            parts[-1] += f" ({fmt_int(usage.get('reasoning_tokens'))} reasoning)"
        parts.append(f"{fmt_int(usage.get('total_tokens'))} total")
        field("tokens", " · ".join(parts) + (" (estimated)" if usage.get("estimated") else ""))
    field(
        "cost",
        fmt_cost(rec.get("cost_usd"))
        if rec.get("cost_usd") is not None
        else "unknown (no price for this model)",
    )
    who = []
    if rec.get("session_id"):
        who.append(f"session {rec.get('session_id')}")
    if rec.get("user_id"):
        who.append(f"user {rec.get('user_id')}")
    tags = rec.get("tags")
    if tags:
        who.append(
            "tags " + ", ".join(str(t) for t in tags) if isinstance(tags, list) else f"tags {tags}"
        )
    if who:
        field("context", "   ".join(who))
    if rec.get("trace_id"):
        field(
            "trace",
            f"{rec.get('trace_id')} span {rec.get('span_id') or '-'}"
            + (f" parent {rec['parent_span_id']}" if rec.get("parent_span_id") else ""),
        )
    params = rec.get("params")
    if isinstance(params, Mapping) and params:
        shown = {k: v for k, v in params.items() if k not in ("tools", "system")}
        if shown:
            field("params", " ".join(f"{k}={orjson.dumps(v).decode()}" for k, v in shown.items()))
        if params.get("tools"):
            names = (
                [_tool_name(t) for t in params["tools"]]
                if isinstance(params["tools"], list)
                else []
            )
            field("tools", ", ".join(n for n in names if n) or "yes")
    if rec.get("metadata"):
        field("metadata", orjson.dumps(rec.get("metadata")).decode())
    redaction = rec.get("redaction")
    if isinstance(redaction, Mapping) and redaction:
        field("redacted", orjson.dumps(redaction).decode())

    system = params.get("system") if isinstance(params, Mapping) else None
    if system:
        _heading(echo, "system", "system")
        echo(_content_text(system))
    messages = rec.get("prompt_messages")
    for m in messages if isinstance(messages, list) else ():
        if not isinstance(m, Mapping):
            _heading(echo, "message", "user")
            echo(_content_text(m))
            continue
        role = str(m.get("role") or "message")
        label = role + (f" ({m['name']})" if m.get("name") else "")
        if m.get("tool_call_id"):
            label += f" · result of {m['tool_call_id']}"
        _heading(echo, label, role)
        text = _content_text(m.get("content"))
        if text:
            echo(text)
        for call in _calls(m.get("tool_calls")):
            echo(click.style("→ ", fg="magenta") + call)
    out = output_text(rec)
    calls = _calls(rec.get("tool_calls"))
    if out or calls:
        _heading(echo, "assistant (reply)", "assistant")
        if out:
            echo(out)
        for call in calls:
            echo(click.style("→ ", fg="magenta") + call)
    elif err is None and rec.get("parsed_output") is None:
        _heading(echo, "no reply recorded", "assistant")
    if feedback:
        echo("")
        for fb in feedback:
            comment = f'  "{fb.get("comment")}"' if fb.get("comment") else ""
            score = fb.get("score")
            score_text = f"{score:g}" if isinstance(score, (int, float)) else str(score)
            field(
                "feedback",
                f"{score_text}{comment}   "
                + click.style(local_time(fb.get("timestamp")), dim=True),
            )


def _tool_name(tool: Any) -> str | None:
    if isinstance(tool, Mapping):
        fn = tool.get("function")
        if isinstance(fn, Mapping):
            return str(fn.get("name"))
        if tool.get("name"):
            return str(tool["name"])
    return None
