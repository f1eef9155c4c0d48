"""Logged content made safe to show: chat turns, markdown, and a collapsible JSON tree.

Everything a model or a user wrote is hostile text here. It reaches HTML only as:

* a plain string that a Jinja2 template escapes (autoescape is on everywhere);
* markdown rendered by markdown-it with ``html=False`` (raw HTML is shown as
  text), images disabled (no fetches, no tracking pixels) and links limited to
  markdown-it's safe schemes (``javascript:``, ``vbscript:``, ``file:`` and most
  ``data:`` are dropped), opening with ``rel="noopener noreferrer nofollow"``;
* :func:`json_tree`, which builds its markup from :func:`markupsafe.escape`\\ d
  pieces only.

:func:`conversation` turns a record's ``prompt_messages`` and output into
:class:`Turn`\\ s (system, user, assistant, tool; text, content-part lists,
tool calls with their arguments, tool results) for the chat view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

from llmlog.extract import text_of
from llmlog.formats import output_text

__all__ = ["Block", "Turn", "conversation", "json_text", "json_tree", "markdown", "new_turns"]

MARKDOWN_LIMIT = 100_000
"""Texts longer than this are shown as plain text only (rendering them would be slow)."""

_md = MarkdownIt(
    "commonmark", {"html": False, "breaks": True, "linkify": False, "typographer": False}
)
_md.enable(["table", "strikethrough"])
_md.disable("image")


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    tokens[idx].attrSet("target", "_blank")
    return self.renderToken(tokens, idx, options, env)


_md.add_render_rule("link_open", _link_open)


def markdown(text: str) -> Markup:
    """Return ``text`` rendered as markdown, with raw HTML shown as text.

    Raises nothing: text markdown-it cannot render is returned escaped.
    """
    if len(text) > MARKDOWN_LIMIT:
        return Markup('<pre class="plain">') + escape(text) + Markup("</pre>")
    try:
        return Markup(_md.render(text))
    except Exception:  # markdown-it never should; the viewer must not break on odd text
        return Markup('<pre class="plain">') + escape(text) + Markup("</pre>")


def json_text(value: Any) -> str:
    """Return ``value`` as indented JSON text (unknown objects as their ``str``)."""
    return orjson.dumps(
        value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
    ).decode()


# -- the chat view -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of a message.

    Attributes:
        kind: ``text`` (markdown-capable text), ``call`` (a tool call), ``result``
            (a tool result), ``media`` (an image, audio or file part, never
            fetched), or ``data`` (anything else, as JSON).
        text: the text, the call's arguments as JSON, or the part as JSON.
        name: the tool's name, or the media kind.
        ident: the tool call id.
    """

    kind: str
    text: str = ""
    name: str = ""
    ident: str = ""

    @property
    def html(self) -> Markup:
        """The text rendered as markdown (for ``text`` blocks)."""
        return markdown(self.text)


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of the conversation as the chat view shows it.

    Attributes:
        role: ``system``, ``user``, ``assistant``, ``tool`` or another role name.
        detail: shown after the role: the author's name, the tool call answered,
            or the model that replied.
        blocks: the message's pieces, in order.
        reply: True for the model's answer in this interaction (not the history).
    """

    role: str
    detail: str = ""
    blocks: list[Block] = field(default_factory=list)
    reply: bool = False

    @property
    def css_role(self) -> str:
        """The role's CSS class (unknown roles look like ``other``)."""
        if self.role in ("system", "developer"):
            return "system"
        if self.role in ("user", "assistant", "tool"):
            return self.role
        if self.role == "function":
            return "tool"
        return "other"


def _pretty(text: str) -> str:
    """Return a tool result indented when it is a JSON object or array, else as it is."""
    if text[:1] in ("{", "[") and len(text) <= MARKDOWN_LIMIT:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
        if isinstance(value, (dict, list)):
            return json_text(value)
    return text


def _args(args: Any) -> str:
    if isinstance(args, str):
        try:
            args = orjson.loads(args)
        except orjson.JSONDecodeError:
            return str(args)
    return json_text(args) if args is not None else ""


def _call(tc: Mapping[str, Any]) -> Block:
    fn = tc.get("function") if isinstance(tc.get("function"), Mapping) else None
    name = (fn or tc).get("name")
    args = (fn or tc).get("arguments") if fn else tc.get("arguments", tc.get("input"))
    return Block("call", text=_args(args), name=str(name or "?"), ident=str(tc.get("id") or ""))


_MEDIA = {
    "image_url": "image",
    "image": "image",
    "input_image": "image",
    "input_audio": "audio",
    "audio": "audio",
    "file": "file",
    "input_file": "file",
    "document": "document",
}


def _blocks(content: Any) -> list[Block]:
    """Return the blocks of a message content: a string or a list of content parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [Block("text", text=content)] if content else []
    if isinstance(content, list):
        out: list[Block] = []
        for part in content:
            if isinstance(part, str):
                out.append(Block("text", text=part))
            elif isinstance(part, Mapping):
                kind = str(part.get("type") or "")
                if kind in ("text", "input_text", "output_text") or (
                    not kind and isinstance(part.get("text"), str)
                ):
                    out.append(Block("text", text=text_of(part)))
                elif kind == "tool_use":
                    out.append(_call(part))
                elif kind == "tool_result":
                    inner = part.get("content")
                    out.append(
                        Block(
                            "result",
                            text=_pretty(text_of(inner))
                            if not isinstance(inner, dict)
                            else json_text(inner),
                            ident=str(part.get("tool_use_id") or ""),
                        )
                    )
                elif kind in _MEDIA:
                    out.append(Block("media", name=_MEDIA[kind], text=_media_label(part)))
                elif kind in ("thinking", "reasoning"):
                    out.append(
                        Block(
                            "data", name="thinking", text=str(part.get("thinking") or text_of(part))
                        )
                    )
                else:
                    out.append(Block("data", name=kind or "part", text=json_text(part)))
            else:
                out.append(Block("data", name="part", text=json_text(part)))
        return out
    if isinstance(content, Mapping):
        text = text_of(content)
        return [Block("text", text=text)] if text else [Block("data", text=json_text(content))]
    return [Block("text", text=str(content))]


def _media_label(part: Mapping[str, Any]) -> str:
    """Describe a media part without its bytes (a URL is shown, never loaded)."""
    for key in ("image_url", "url", "file_url"):
        v = part.get(key)
        if isinstance(v, Mapping):
            v = v.get("url")
        if isinstance(v, str):
            return v if not v.startswith("data:") else v.split(",", 1)[0] + ",…"
    source = part.get("source")
    if isinstance(source, Mapping):
        return str(source.get("media_type") or source.get("type") or "")
    return ""


def _message_turn(m: Any) -> Turn:
    if not isinstance(m, Mapping):
        return Turn("user", blocks=_blocks(m))
    role = str(m.get("role") or "message")
    details = []
    if m.get("name"):
        details.append(str(m["name"]))
    if m.get("tool_call_id"):
        details.append(f"result of {m['tool_call_id']}")
    blocks = _blocks(m.get("content"))
    calls = m.get("tool_calls")
    for tc in calls if isinstance(calls, list) else ():
        if isinstance(tc, Mapping):
            blocks.append(_call(tc))
    fc = m.get("function_call")
    if isinstance(fc, Mapping):
        blocks.append(_call(fc))
    if role in ("tool", "function"):
        blocks = [
            Block("result", text=_pretty(b.text), ident=str(m.get("tool_call_id") or ""))
            if b.kind == "text"
            else b
            for b in blocks
        ]
    return Turn(role, " · ".join(details), blocks)


def conversation(rec: Mapping[str, Any]) -> list[Turn]:
    """Return the interaction as chat turns: every prompt message, then the reply.

    A system prompt kept in ``params["system"]`` (Anthropic) comes first. The
    reply is the output text and the tool calls the model requested; a failed
    call has no reply turn (the page shows the error).
    """
    turns: list[Turn] = []
    params = rec.get("params")
    system = params.get("system") if isinstance(params, Mapping) else None
    if system:
        turns.append(Turn("system", blocks=_blocks(system)))
    messages = rec.get("prompt_messages")
    if isinstance(messages, list):
        turns += [_message_turn(m) for m in messages]
    elif messages:
        turns.append(Turn("user", blocks=_blocks(messages)))
    turns += reply_turns(rec)
    return turns


def reply_turns(rec: Mapping[str, Any]) -> list[Turn]:
    """Return the model's reply in this interaction as a turn (or nothing)."""
    blocks: list[Block] = []
    out = rec.get("parsed_output")
    if isinstance(out, str):
        if out:
            blocks.append(Block("text", text=out))
    elif out is not None:
        text = output_text(rec)
        if isinstance(out, (dict, list)) and not text_of(out):
            blocks.append(Block("data", name="structured output", text=json_text(out)))
        elif text:
            blocks.append(Block("text", text=text))
    calls = rec.get("tool_calls")
    for tc in calls if isinstance(calls, list) else ():
        if isinstance(tc, Mapping):
            blocks.append(_call(tc))
    if not blocks:
        return []
    model = rec.get("response_model") or rec.get("model") or ""
    return [Turn("assistant", str(model), blocks, reply=True)]


def new_turns(rec: Mapping[str, Any], *, first: bool) -> list[Turn]:
    """Return what this interaction added to its session: the new prompt turns and the reply.

    The history an app resends with every call (everything up to the last
    assistant message) is left out, and so is the system prompt after the
    session's first interaction.
    """
    turns = conversation(rec)
    body = [t for t in turns if not t.reply]
    last_assistant = max((i for i, t in enumerate(body) if t.role == "assistant"), default=-1)
    fresh = body[last_assistant + 1 :]
    if not first:
        fresh = [t for t in fresh if t.css_role != "system"]
    return fresh + [t for t in turns if t.reply]


# -- the JSON view -----------------------------------------------------------------------------

_OPEN_DEPTH = 1
_MAX_DEPTH = 64
_PLAIN_SCALARS = (bool, int, float)


def _scalar(value: Any) -> Markup:
    if value is None:
        return Markup('<span class="jn">null</span>')
    if isinstance(value, bool):
        return Markup('<span class="jb">') + ("true" if value else "false") + Markup("</span>")
    if isinstance(value, _PLAIN_SCALARS):
        return Markup('<span class="jd">') + escape(json_text(value)) + Markup("</span>")
    return (
        Markup('<span class="js">') + escape(orjson.dumps(str(value)).decode()) + Markup("</span>")
    )


def _key(key: str | None) -> Markup:
    if key is None:
        return Markup("")
    return Markup('<span class="jk">') + escape(orjson.dumps(key).decode()) + Markup("</span>: ")


def _node(value: Any, key: str | None, depth: int, out: list[Markup]) -> None:
    if isinstance(value, (dict, list)) and value:
        if depth >= _MAX_DEPTH:
            out.append(Markup("<li>") + _key(key) + _scalar(json_text(value)) + Markup("</li>"))
            return
        is_dict = isinstance(value, dict)
        n = len(value)
        summary = (
            f"{{{n} key{'s' if n != 1 else ''}}}"
            if is_dict
            else f"[{n} item{'s' if n != 1 else ''}]"
        )
        out.append(
            Markup('<li><details class="jv"')
            + Markup(" open" if depth < _OPEN_DEPTH or key in _OPEN_KEYS else "")
            + Markup("><summary>")
            + _key(key)
            + Markup('<span class="jt">')
            + escape(summary)
            + Markup("</span></summary><ul>")
        )
        if isinstance(value, dict):
            for k, v in value.items():
                _node(v, str(k), depth + 1, out)
        else:
            for v in value:
                _node(v, None, depth + 1, out)
        out.append(Markup("</ul></details></li>"))
    else:
        if isinstance(value, dict):
            rendered = Markup('<span class="jt">{}</span>')
        elif isinstance(value, list):
            rendered = Markup('<span class="jt">[]</span>')
        else:
            rendered = _scalar(value)
        out.append(Markup("<li>") + _key(key) + rendered + Markup("</li>"))


_OPEN_KEYS = frozenset({"usage", "error"})


def json_tree(value: Any) -> Markup:
    """Return ``value`` as a collapsible tree of ``<details>`` (top level open).

    Keys and strings are JSON-quoted and escaped; nothing in ``value`` becomes markup.
    """
    out: list[Markup] = [Markup('<ul class="json">')]
    _node(value, None, 0, out)
    out.append(Markup("</ul>"))
    return Markup("").join(out)


def tool_names(tools: Sequence[Any]) -> list[str]:
    """Return the names of the tools offered in ``params["tools"]``."""
    names = []
    for tool in tools:
        if isinstance(tool, Mapping):
            fn = tool.get("function")
            name = fn.get("name") if isinstance(fn, Mapping) else tool.get("name")
            if name:
                names.append(str(name))
    return names
