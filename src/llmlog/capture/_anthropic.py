"""Anthropic SDK capture: ``Anthropic`` and ``AsyncAnthropic`` (and the Bedrock / Vertex clients).

The choke point is the SDK base client's ``request`` method
(:mod:`llmlog.capture._stainless`). The LLM endpoint is ``POST /v1/messages``
(``messages.create``, with ``stream=True`` or not, ``messages.parse``, the
``messages.stream()`` helper, ``beta.messages.*``). The ``system`` prompt becomes a
leading ``{"role": "system"}`` message of ``prompt_messages``; tool definitions
and the rest of the body go to ``params``.

Unlike OpenAI's, the request body reaches ``request`` unprepared: it may hold the
SDK's ``omit`` markers (dropped here) and one-shot iterables, which capture never
iterates (they are serialized only after the SDK has sent them, and an iterator
is recorded as a placeholder, not consumed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmlog.capture._assemble import AnthropicMessagesAssembler
from llmlog.capture._call import field_names, to_dict
from llmlog.capture._stainless import (
    Endpoint,
    SDKSpec,
    StainlessIntegration,
    sentinels_of,
    server_metadata,
)

__all__ = ["INTEGRATION"]

_metadata = server_metadata("api.anthropic.com")


def _prompt(body: Mapping[str, Any], sentinels: frozenset[type]) -> Any:
    messages = body.get("messages")
    system = body.get("system")
    if system is None or type(system) in sentinels or system == "":
        return messages
    out: list[Any] = [{"role": "system", "content": system}]
    if isinstance(messages, (list, tuple)):
        out.extend(messages)
    elif messages is not None:
        out.append(messages)
    return out


def _convert(obj: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"llm_raw_response": data if data is not None else to_dict(obj)}
    if obj is not None and not isinstance(obj, dict):  # messages.parse(): the parsed object
        for block in getattr(obj, "content", None) or ():
            if "parsed_output" in (field_names(type(block)) or ()):
                parsed = block.parsed_output
                if parsed is not None:
                    out["parsed_output"] = parsed
                    break
    return out


def _provider(client: Any) -> str:
    name = type(client).__name__
    if "Bedrock" in name:
        return "aws.bedrock"
    if "Vertex" in name:
        return "gcp.vertex_ai"
    return "anthropic"


def _spec(sdk: Any) -> SDKSpec:
    sentinels = sentinels_of(sdk)

    def prompt(body: Mapping[str, Any]) -> Any:
        return _prompt(body, sentinels)

    messages = Endpoint(
        "chat",
        prompt,
        frozenset({"messages", "model", "system"}),
        _convert,
        AnthropicMessagesAssembler,
    )
    return SDKSpec("anthropic", (("/v1/messages", messages),), _provider, _metadata, sentinels)


INTEGRATION = StainlessIntegration("anthropic", "anthropic", _spec)
