"""Many concurrent calls: every record matches its own call exactly, nothing is mixed."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import openai
from fake_llm import FakeLLMServer, answer_text

SLOW = {"x-fake-chunk-delay-ms": "2"}  # make concurrent streams interleave


def _prompt_of(rec: dict[str, Any]) -> str:
    return str(rec["prompt_messages"][-1]["content"])


def _check(records: list[dict[str, Any]], received: dict[str, str], kinds: dict[str, str]) -> None:
    assert len(records) == len(received)
    by_prompt = {_prompt_of(r): r for r in records}
    assert set(by_prompt) == set(received)
    for prompt, text in received.items():
        rec = by_prompt[prompt]
        assert text == answer_text(prompt)
        assert rec["parsed_output"] == text, prompt
        assert rec["provider"] == kinds[prompt].split("-")[0]
        assert (rec["ttft_ms"] is not None) == kinds[prompt].endswith("stream")
        assert rec["status"] == "ok"
    assert len({r["span_id"] for r in records}) == len(records)
    assert len({r["request_id"] for r in records}) == len(records)


def test_threads(server: FakeLLMServer, records: Any) -> None:
    """64 calls from 16 threads (OpenAI and Anthropic, streamed or not)."""
    oa = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0)
    an = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
    kinds = ["openai", "openai-stream", "anthropic", "anthropic-stream"]

    def one(i: int) -> tuple[str, str, str]:
        prompt = f"thread call {i}"
        kind = kinds[i % 4]
        msgs = [{"role": "user", "content": prompt}]
        if kind == "openai":
            r = oa.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            text = r.choices[0].message.content
        elif kind == "openai-stream":
            text = "".join(
                c.choices[0].delta.content or ""
                for c in oa.chat.completions.create(
                    model="gpt-4o-mini", messages=msgs, stream=True, extra_headers=SLOW
                )
            )
        elif kind == "anthropic":
            text = (
                an.messages.create(model="claude-haiku-4-5", max_tokens=20, messages=msgs)
                .content[0]
                .text
            )
        else:
            with an.messages.stream(
                model="claude-haiku-4-5", max_tokens=20, messages=msgs, extra_headers=SLOW
            ) as s:
                text = "".join(s.text_stream)
        return prompt, kind, text

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(64)))
    _check(records.refresh(), {p: t for p, _, t in results}, {p: k for p, k, _ in results})


async def test_asyncio(server: FakeLLMServer, records: Any) -> None:
    """80 concurrent asyncio tasks (OpenAI and Anthropic, streamed or not)."""
    oa = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0)
    an = anthropic.AsyncAnthropic(base_url=server.url, api_key="k", max_retries=0)
    kinds = ["openai", "openai-stream", "anthropic", "anthropic-stream"]

    async def one(i: int) -> tuple[str, str, str]:
        prompt = f"task call {i}"
        kind = kinds[i % 4]
        msgs = [{"role": "user", "content": prompt}]
        if kind == "openai":
            r = await oa.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            text = r.choices[0].message.content
        elif kind == "openai-stream":
            stream = await oa.chat.completions.create(
                model="gpt-4o-mini",
                messages=msgs,
                stream=True,
                extra_headers=SLOW,
                stream_options={"include_usage": True},
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        elif kind == "anthropic":
            m = await an.messages.create(model="claude-haiku-4-5", max_tokens=20, messages=msgs)
            text = m.content[0].text
        else:
            stream = await an.messages.create(
                model="claude-haiku-4-5",
                max_tokens=20,
                messages=msgs,
                stream=True,
                extra_headers=SLOW,
            )
            text = "".join([e.delta.text async for e in stream if e.type == "content_block_delta"])
        return prompt, kind, text

    try:
        results = await asyncio.gather(*(one(i) for i in range(80)))
    finally:
        await oa.close()
        await an.close()
    _check(records.refresh(), {p: t for p, _, t in results}, {p: k for p, k, _ in results})
