"""Amazon Bedrock capture: boto3's ``bedrock-runtime`` client.

boto3 clients are classes botocore builds at run time, one per service; every
operation of every client goes through ``botocore.client.BaseClient._make_api_call(
operation_name, api_params)``, with the parameters as the app passed them and the
parsed response as a dict. Calls of the ``bedrock-runtime`` service to these
operations are captured; every other AWS call passes straight through:

=================================  =====================================================
operation                          recorded
=================================  =====================================================
``Converse``                       ``system`` + ``messages``; the response dict
``ConverseStream``                 the same; ``response["stream"]`` is wrapped and its
                                   events folded back into a ``Converse`` response
``InvokeModel``                    the model's own JSON body (Anthropic ``messages``,
                                   Amazon Nova ``messages``, Titan ``inputText``, Llama /
                                   Mistral ``prompt``); the response body is read and
                                   put back as a fresh ``StreamingBody``
``InvokeModelWithResponseStream``  the same; ``response["body"]`` is wrapped, each
                                   chunk's JSON folded (Anthropic's events into a
                                   ``message``, the other families' text into a
                                   ``Converse``-shaped response)
=================================  =====================================================

The provider is ``aws.bedrock``; the model is the ``modelId`` (an inference profile
such as ``us.anthropic.claude-...`` is priced as the model it names). Errors
(``botocore.exceptions.ClientError``, throttling) are logged and re-raised unchanged.
"""

from __future__ import annotations

import io
from typing import Any

import orjson

from llmlog.capture._assemble import AnthropicMessagesAssembler
from llmlog.capture._methods import Method, MethodIntegration, Plan, summarize_vectors

__all__ = ["INTEGRATION", "ConverseAssembler", "InvokeStreamAssembler"]

_SERVICE = "bedrock-runtime"


def _strip(response: Any) -> Any:
    if isinstance(response, dict):
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return response


class _Block:
    __slots__ = ("input", "reasoning", "text", "tool")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.input: list[str] = []
        self.reasoning: list[str] = []
        self.tool: dict[str, Any] | None = None


class ConverseAssembler:
    """Rebuilds a ``Converse`` response from ``ConverseStream`` events.

    Events are one-key dicts: ``messageStart``, ``contentBlockStart`` (a tool use's
    id and name), ``contentBlockDelta`` (``text``, ``toolUse.input`` JSON pieces,
    ``reasoningContent``), ``contentBlockStop``, ``messageStop`` (``stopReason``),
    ``metadata`` (``usage``, ``metrics``).
    """

    def __init__(self) -> None:
        self.blocks: dict[int, _Block] = {}
        self.role = "assistant"
        self.stop: Any = None
        self.meta: dict[str, Any] = {}

    def _block(self, idx: Any) -> _Block:
        key = idx if isinstance(idx, int) else len(self.blocks)
        b = self.blocks.get(key)
        if b is None:
            b = self.blocks[key] = _Block()
        return b

    def add(self, event: Any) -> None:
        """Take one event dict."""
        if not isinstance(event, dict):
            return
        if "contentBlockDelta" in event:
            e = event["contentBlockDelta"]
            delta = e.get("delta") or {}
            b = self._block(e.get("contentBlockIndex"))
            if "text" in delta:
                b.text.append(delta["text"])
            elif "toolUse" in delta:
                b.input.append(delta["toolUse"].get("input") or "")
            elif "reasoningContent" in delta:
                b.reasoning.append(delta["reasoningContent"].get("text") or "")
        elif "contentBlockStart" in event:
            e = event["contentBlockStart"]
            tool = (e.get("start") or {}).get("toolUse")
            if isinstance(tool, dict):
                self._block(e.get("contentBlockIndex")).tool = dict(tool)
        elif "messageStart" in event:
            self.role = event["messageStart"].get("role") or self.role
        elif "messageStop" in event:
            self.stop = event["messageStop"].get("stopReason")
        elif "metadata" in event:
            self.meta = event["metadata"]

    def final_usage(self) -> bool:
        """Whether the ``metadata`` event (usage) has arrived."""
        return "usage" in self.meta

    def result(self) -> dict[str, Any]:
        """Return the response as ``Converse`` gives it."""
        content: list[dict[str, Any]] = []
        for _, b in sorted(self.blocks.items()):
            if b.reasoning:
                content.append(
                    {"reasoningContent": {"reasoningText": {"text": "".join(b.reasoning)}}}
                )
            if b.tool is not None:
                raw = "".join(b.input)
                try:
                    args: Any = orjson.loads(raw) if raw else {}
                except orjson.JSONDecodeError:
                    args = raw
                content.append({"toolUse": {**b.tool, "input": args}})
            elif b.text:
                content.append({"text": "".join(b.text)})
        out: dict[str, Any] = {"output": {"message": {"role": self.role, "content": content}}}
        if self.stop is not None:
            out["stopReason"] = self.stop
        out.update({k: v for k, v in self.meta.items() if k in ("usage", "metrics")})
        return out

    def outputs(self) -> list[str]:
        """Output text and tool arguments, for a token estimate."""
        return ["".join(b.text) + "".join(b.input) for b in self.blocks.values()]


class InvokeStreamAssembler:
    """Rebuilds an ``InvokeModelWithResponseStream`` response from its ``chunk`` events.

    Each event is ``{"chunk": {"bytes": <the model's JSON>}}``. Anthropic models
    stream their Messages API events (folded by the Anthropic assembler into a
    ``message``); Amazon Nova streams ``Converse``-style events; Titan, Llama and
    Mistral stream text pieces (``outputText``, ``generation``, ``outputs[].text``)
    and, last, ``amazon-bedrock-invocationMetrics`` with the token counts.
    """

    def __init__(self) -> None:
        self.anthropic: AnthropicMessagesAssembler | None = None
        self.converse = ConverseAssembler()
        self.texts: list[str] = []
        self.stop: Any = None
        self.metrics: dict[str, Any] | None = None

    def add(self, event: Any) -> None:
        """Take one event dict."""
        chunk = event.get("chunk") if isinstance(event, dict) else None
        data = chunk.get("bytes") if isinstance(chunk, dict) else None
        if not data:
            return
        body = orjson.loads(data)
        if not isinstance(body, dict):
            return
        metrics = body.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):
            self.metrics = metrics
        if "type" in body and self.anthropic is None and body["type"] == "message_start":
            self.anthropic = AnthropicMessagesAssembler()
        if self.anthropic is not None:
            self.anthropic.add(body)
            return
        if any(
            k in body
            for k in (
                "contentBlockDelta",
                "contentBlockStart",
                "messageStop",
                "metadata",
                "messageStart",
            )
        ):
            self.converse.add(body)
            return
        for key in ("outputText", "generation", "completion"):
            if isinstance(body.get(key), str):
                self.texts.append(body[key])
        for o in body.get("outputs") or ():
            if isinstance(o, dict) and isinstance(o.get("text"), str):
                self.texts.append(o["text"])
                self.stop = o.get("stop_reason") or self.stop
        self.stop = body.get("stop_reason") or body.get("completionReason") or self.stop

    def final_usage(self) -> bool:
        """Whether token counts arrived (in the invocation metrics or the events)."""
        if self.anthropic is not None:
            return self.anthropic.final_usage() or self.metrics is not None
        return self.metrics is not None or self.converse.final_usage()

    def result(self) -> dict[str, Any]:
        """Return the response in the shape of the non-streamed body."""
        if self.anthropic is not None:
            return self.anthropic.result()
        if self.converse.blocks or self.converse.meta:
            return self.converse.result()
        out: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": [{"text": "".join(self.texts)}]}}
        }
        if self.stop is not None:
            out["stopReason"] = self.stop
        m = self.metrics
        if m is not None:
            out["usage"] = {
                "inputTokens": m.get("inputTokenCount"),
                "outputTokens": m.get("outputTokenCount"),
            }
            out["metrics"] = {"latencyMs": m.get("invocationLatency")}
        return out

    def outputs(self) -> list[str]:
        """Output text, for a token estimate."""
        if self.anthropic is not None:
            return self.anthropic.outputs()
        return ["".join(self.texts), *self.converse.outputs()]


def _load_body(body: Any) -> dict[str, Any] | None:
    """The JSON request body of ``InvokeModel`` (bytes or str; a file is not read)."""
    if isinstance(body, (bytes, bytearray, str)):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None
    return None


def _invoke_prompt(body: dict[str, Any]) -> Any:
    system = body.get("system")
    messages = body.get("messages")
    if isinstance(messages, list):
        out: list[Any] = []
        if system:
            out.append({"role": "system", "content": system})
        return out + messages
    for key in ("inputText", "prompt"):
        if isinstance(body.get(key), str):
            return [{"role": "user", "content": body[key]}]
    return None


def _converse_prompt(params: dict[str, Any]) -> Any:
    out: list[Any] = []
    system = params.get("system")
    if system:
        out.append({"role": "system", "content": system})
    return out + list(params.get("messages") or ())


def _convert_converse(response: Any) -> dict[str, Any]:
    return {"llm_raw_response": _strip(response)}


def _convert_invoke(response: Any) -> dict[str, Any]:
    """Read the response body, put an unread copy back, and log the JSON."""
    body = response.get("body") if isinstance(response, dict) else None
    if body is None or not hasattr(body, "read"):
        return {}
    from botocore.response import StreamingBody  # type: ignore[import-untyped]

    data = body.read()
    response["body"] = StreamingBody(io.BytesIO(data), len(data))
    return {"llm_raw_response": summarize_vectors(_load_body(data))}


def _wrap_key(key: str) -> Any:
    def wrap(response: Any, proxy: Any) -> Any:
        if isinstance(response, dict) and response.get(key) is not None:
            response[key] = proxy(response[key])
        return response

    return wrap


_CONVERSE_KEYS = frozenset({"modelId", "messages", "system"})
_INVOKE_KEYS = frozenset({"messages", "system", "inputText", "prompt"})


def _begin(
    client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], Plan] | None:
    operation = kwargs.get("operation_name", args[0] if args else None)
    if operation not in (
        "Converse",
        "ConverseStream",
        "InvokeModel",
        "InvokeModelWithResponseStream",
    ):
        return None
    if client.meta.service_model.service_name != _SERVICE:
        return None
    params = kwargs.get("api_params", args[1] if len(args) > 1 else None)
    if not isinstance(params, dict):
        return None
    model = params.get("modelId")
    fields: dict[str, Any] = {
        "provider": "aws.bedrock",
        "operation": "chat",
        "model": model if isinstance(model, str) else None,
    }
    region = getattr(client.meta, "region_name", None)
    if region:
        fields["metadata"] = {"aws_region": region}
    if operation in ("Converse", "ConverseStream"):
        fields["params"] = {k: v for k, v in params.items() if k not in _CONVERSE_KEYS}
        fields["prompt_messages"] = _converse_prompt(params)
        if operation == "Converse":
            return fields, Plan(convert=_convert_converse)
        return fields, Plan(stream=True, assembler=ConverseAssembler, wrap=_wrap_key("stream"))
    body = _load_body(params.get("body")) or {}
    fields["params"] = {k: v for k, v in body.items() if k not in _INVOKE_KEYS}
    fields["prompt_messages"] = _invoke_prompt(body)
    if isinstance(model, str) and "embed" in model:
        fields["operation"] = "embeddings"
    if operation == "InvokeModel":
        return fields, Plan(convert=_convert_invoke)
    return fields, Plan(stream=True, assembler=InvokeStreamAssembler, wrap=_wrap_key("body"))


INTEGRATION = MethodIntegration(
    "bedrock", "botocore", (Method("client.BaseClient", "_make_api_call", _begin),)
)
