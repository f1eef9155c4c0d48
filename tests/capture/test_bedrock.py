"""The real boto3 ``bedrock-runtime`` client against the fake Bedrock endpoint.

Converse and ConverseStream, and InvokeModel / InvokeModelWithResponseStream with
the model families' own bodies; streams are AWS event-stream frames with CRCs,
decoded by botocore itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fake_llm import FakeLLMServer, answer_text, usage_for

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

NOVA = "amazon.nova-pro-v1:0"
CLAUDE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def _client(server: FakeLLMServer, **headers: str) -> Any:
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAFAKE",
        aws_secret_access_key="fake-secret-key",
        config=Config(retries={"max_attempts": 1}),
    )
    if headers:

        def add(request: Any, **_: Any) -> None:
            for k, v in headers.items():
                request.headers[k] = v

        client.meta.events.register("before-sign.*.*", add)
    return client


@pytest.fixture
def br(server: FakeLLMServer) -> Any:
    return _client(server)


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def test_converse(br: Any, records: Any) -> None:
    """converse(): system + messages, the response without ResponseMetadata, cost."""
    resp = br.converse(
        modelId=CLAUDE,
        messages=_user("hello bed"),
        system=[{"text": "be brief"}],
        inferenceConfig={"maxTokens": 100},
    )
    rec = records.one()
    text = answer_text("hello bed")
    assert resp["output"]["message"]["content"][0]["text"] == rec["parsed_output"] == text
    assert (rec["provider"], rec["operation"], rec["model"]) == ("aws.bedrock", "chat", CLAUDE)
    assert rec["prompt_messages"] == [
        {"role": "system", "content": [{"text": "be brief"}]},
        *_user("hello bed"),
    ]
    assert rec["params"] == {"inferenceConfig": {"maxTokens": 100}}
    assert "ResponseMetadata" not in rec["llm_raw_response"]
    inp, out = usage_for("hello bed", text)
    assert (rec["usage"]["input_tokens"], rec["usage"]["output_tokens"]) == (inp, out)
    assert rec["cost_usd"] == pytest.approx((inp * 0.8 + out * 4.0) / 1e6)  # claude-3-5-haiku
    assert rec["finish_reasons"] == ["end_turn"]
    assert rec["metadata"]["aws_region"] == "us-east-1"
    assert "fake-secret-key" not in str(rec)


def test_converse_stream(br: Any, records: Any) -> None:
    """converse_stream(): events pass through; one record in the Converse shape."""
    resp = br.converse_stream(modelId=NOVA, messages=_user("stream bed"))
    events = list(resp["stream"])
    assert "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    ) == answer_text("stream bed")
    rec = records.one()
    assert rec["parsed_output"] == answer_text("stream bed")
    assert rec["ttft_ms"] is not None and rec["usage"]["estimated"] is False
    assert rec["llm_raw_response"]["stopReason"] == "end_turn"


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use(br: Any, records: Any, stream: bool) -> None:
    """A toolUse block (whole, or streamed as JSON pieces) becomes a tool call."""
    tools = {
        "tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}]
    }
    if stream:
        list(
            br.converse_stream(modelId=NOVA, messages=_user("find it"), toolConfig=tools)["stream"]
        )
    else:
        br.converse(modelId=NOVA, messages=_user("find it"), toolConfig=tools)
    rec = records.one()
    assert rec["tool_calls"] == [
        {"id": "tooluse_1", "name": "lookup", "arguments": {"query": "find it"}}
    ]
    assert rec["finish_reasons"] == ["tool_use"]


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (
            "anthropic.claude-3-haiku-20240307-v1:0",
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "inv words"}],
            },
        ),
        (NOVA, {"messages": _user("inv words"), "inferenceConfig": {"maxTokens": 50}}),
        ("amazon.titan-text-express-v1", {"inputText": "inv words"}),
        ("meta.llama3-1-8b-instruct-v1:0", {"prompt": "inv words", "max_gen_len": 50}),
    ],
)
def test_invoke_model(br: Any, records: Any, model: str, body: dict[str, Any]) -> None:
    """invoke_model(): the family's body read, the app still reads the response body."""
    resp = br.invoke_model(modelId=model, body=json.dumps(body))
    payload = json.loads(resp["body"].read())  # the app reads it as usual
    assert payload
    rec = records.one()
    assert rec["model"] == model and rec["parsed_output"] == answer_text("inv words")
    assert rec["usage"]["estimated"] is False and rec["usage"]["output_tokens"] > 0
    assert rec["cost_usd"] is not None


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (
            "anthropic.claude-3-haiku-20240307-v1:0",
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "invs words"}],
            },
        ),
        ("amazon.titan-text-express-v1", {"inputText": "invs words"}),
        ("meta.llama3-1-8b-instruct-v1:0", {"prompt": "invs words"}),
    ],
)
def test_invoke_model_stream(br: Any, records: Any, model: str, body: dict[str, Any]) -> None:
    """invoke_model_with_response_stream(): chunks pass through, folded per family."""
    resp = br.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]
    assert chunks
    rec = records.one()
    assert rec["parsed_output"] == answer_text("invs words")
    assert rec["ttft_ms"] is not None and rec["usage"]["estimated"] is False


def test_embeddings(br: Any, records: Any) -> None:
    """A Titan embeddings model through invoke_model: vector summarised."""
    resp = br.invoke_model(
        modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": "emb"})
    )
    assert len(json.loads(resp["body"].read())["embedding"]) == 8
    rec = records.one()
    assert rec["operation"] == "embeddings" and rec["parsed_output"] == {
        "count": 1,
        "dimensions": 8,
    }


def test_error_reraised(server: FakeLLMServer, records: Any) -> None:
    """Throttling: botocore's ClientError reaches the app unchanged; logged as an error."""
    with pytest.raises(ClientError) as info:
        _client(server, **{"x-fake-status": "429"}).converse(modelId=NOVA, messages=_user("x"))
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    rec = records.one()
    assert rec["status"] == "error" and rec["error"]["type"] == "ThrottlingException"


def test_other_services_pass_through(server: FakeLLMServer, records: Any) -> None:
    """Other AWS clients are not touched."""
    s3 = boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError):
        s3.list_buckets()
    assert records.refresh() == []
