"""A built-in offline model and the ``llmlog demo`` scenario.

The offline model answers like a real provider, without a network or a key:
deterministic (seeded by the prompt), with simulated latency, token streaming,
tool calls, usage, and the occasional rate-limit or timeout error. Its
responses have the shape of OpenAI chat completions or Anthropic messages, so
every interaction goes through the same capture path as an app's calls:
``llmlog.context()`` for sessions and ``llmlog.interaction()`` with
``first_token()`` for streams.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import llmlog

__all__ = ["DemoSummary", "OfflineModel", "OfflineModelError", "run_demo"]


class OfflineModelError(Exception):
    """An error the offline model raises now and then, like a provider would."""

    def __init__(self, message: str, status_code: int | None) -> None:
        super().__init__(message)
        self.status_code = status_code


_ANSWERS = {
    "refund": "I'm sorry about the damaged item. Under our returns policy you can get a full "
    "refund or a replacement within 30 days; I've opened a return for order {order}.",
    "capital": "The capital of {country} is {capital}.",
    "python": "Python is a high-level, interpreted programming language known for its "
    "readability. Use `list comprehensions` for concise loops:\n\n```python\n"
    "squares = [n * n for n in range(10)]\n```",
    "summary": "Summary: the customer reports a billing discrepancy and asks for a callback. "
    "Priority: medium. Next step: verify the invoice and call back.",
    "sql": "```sql\nSELECT customer_id, SUM(total) AS revenue\nFROM orders\n"
    "WHERE created_at >= DATE '2026-01-01'\nGROUP BY customer_id\n"
    "ORDER BY revenue DESC\nLIMIT 10;\n```",
    "translate": "Bonjour, pourriez-vous m'envoyer la facture du mois dernier ?",
    "haiku": "Logs fall like snow —\nevery prompt a quiet trace,\nsearchable at dawn.",
}

_COUNTRIES = [
    ("France", "Paris"),
    ("Japan", "Tokyo"),
    ("Kenya", "Nairobi"),
    ("Brazil", "Brasília"),
    ("Canada", "Ottawa"),
    ("Norway", "Oslo"),
]

_PII_USERS = [
    ("Jane Doe", "jane.doe@example.com", "+1 (415) 555-0132"),
    ("Max Mustermann", "max.mustermann@example.de", "+49 30 901820"),
    ("Priya Sharma", "priya.s@example.in", "+91 98765 43210"),
    ("Tom Smith", "tom.smith@example.co.uk", "+44 20 7946 0958"),
]

_SYSTEM = "You are a helpful assistant for ACME Corp. Answer concisely."

_MODELS = [
    ("gpt-4o-mini", "openai"),
    ("gpt-4o", "openai"),
    ("claude-sonnet-4-5", "anthropic"),
    ("claude-haiku-4-5", "anthropic"),
    ("gpt-4.1-nano", "openai"),
]


def _tokens(text: str) -> int:
    return max(1, round(len(text) / 4))


class OfflineModel:
    """A deterministic stand-in for an LLM provider.

    Args:
        latency: scale of the simulated latency (1.0: tens of milliseconds).
        error_rate: fraction of calls that fail (429 rate limit or a timeout).
        seed: makes the whole run reproducible.
    """

    def __init__(self, *, latency: float = 1.0, error_rate: float = 0.04, seed: int = 7) -> None:
        self.latency = latency
        self.error_rate = error_rate
        self.seed = seed

    def _rng(self, messages: list[dict[str, Any]], model: str) -> random.Random:
        key = f"{self.seed}|{model}|{messages[-1].get('content')}|{len(messages)}"
        return random.Random(hashlib.sha256(key.encode()).digest())

    def _answer(self, text: str, rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
        low = text.lower()
        if "weather" in low:
            city = "Paris" if "paris" in low else "Tokyo"
            return "", [
                {
                    "id": f"call_{rng.randrange(16**8):08x}",
                    "name": "get_weather",
                    "arguments": {"city": city, "unit": "celsius"},
                }
            ]
        for key, answer in _ANSWERS.items():
            if key in low:
                country, capital = rng.choice(_COUNTRIES)
                return answer.format(
                    order=rng.randrange(10000, 99999), country=country, capital=capital
                ), []
        return (
            "Thanks for your message. Here is what I found: "
            + " ".join(
                rng.choice(
                    [
                        "the",
                        "policy",
                        "order",
                        "account",
                        "plan",
                        "support",
                        "update",
                        "request",
                        "team",
                        "will",
                        "follow",
                        "up",
                        "soon",
                    ]
                )
                for _ in range(rng.randint(12, 40))
            )
            + "."
        ), []

    def _maybe_fail(self, rng: random.Random) -> None:
        if rng.random() < self.error_rate:
            if rng.random() < 0.6:
                raise OfflineModelError("Rate limit reached for requests", 429)
            raise OfflineModelError("Request timed out", None)

    def complete(self, model: str, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        """Return a full response (OpenAI or Anthropic shape, by model) after some latency."""
        rng = self._rng(messages, model)
        time.sleep(self.latency * rng.uniform(0.01, 0.06))
        self._maybe_fail(rng)
        text, calls = self._answer(str(messages[-1].get("content", "")), rng)
        prompt_tokens = sum(_tokens(str(m.get("content", ""))) for m in messages)
        return _response(model, text, calls, prompt_tokens, rng)

    def stream(self, model: str, messages: list[dict[str, Any]], **params: Any) -> Iterator[str]:
        """Yield the answer in small text chunks with simulated inter-token latency."""
        rng = self._rng(messages, model)
        time.sleep(self.latency * rng.uniform(0.01, 0.04))
        self._maybe_fail(rng)
        text, _ = self._answer(str(messages[-1].get("content", "")), rng)
        words = text.split(" ")
        for i in range(0, len(words), 3):
            time.sleep(self.latency * 0.002)
            yield " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "")


def _response(
    model: str, text: str, calls: list[dict[str, Any]], prompt_tokens: int, rng: random.Random
) -> dict[str, Any]:
    out_tokens = _tokens(text) + 12 * len(calls)
    rid = f"{rng.randrange(16**12):012x}"
    if model.startswith("claude"):
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        content += [
            {
                "type": "tool_use",
                "id": c["id"].replace("call_", "toolu_"),
                "name": c["name"],
                "input": c["arguments"],
            }
            for c in calls
        ]
        return {
            "id": f"msg_{rid}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "tool_use" if calls else "end_turn",
            "usage": {
                "input_tokens": prompt_tokens,
                "output_tokens": out_tokens,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
            },
        }
    import json

    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for c in calls
        ]
    return {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": f"{model}-2025-01-01" if model.startswith("gpt-4o") else model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out_tokens,
            "total_tokens": prompt_tokens + out_tokens,
        },
    }


def _prompts(rng: random.Random) -> list[str]:
    name, email, phone = rng.choice(_PII_USERS)
    country, _ = rng.choice(_COUNTRIES)
    return rng.choice(
        [
            [
                f"Hi, I'm {name} ({email}). My blender from order {rng.randrange(10000, 99999)} "
                f"arrived broken; can I get a refund?",
                "Can you call me back on " + phone + "?",
            ],
            [f"What is the capital of {country}?", "And what's the weather like there in Paris?"],
            ["Explain what Python is.", "Show me a Python example."],
            [
                "Write a SQL query for the top 10 customers by revenue this year.",
                "Now summary it in one sentence.",
            ],
            ["Translate to French: could you send me last month's invoice?"],
            [
                f"Summarize this ticket: customer {name} says card 4111 1111 1111 1111 was charged "
                "twice and asks for a callback."
            ],
            ["Write a haiku about logging."],
        ]
    )


@dataclass
class DemoSummary:
    """What ``run_demo`` did."""

    count: int = 0
    errors: int = 0
    tokens: int = 0
    durations_ms: list[float] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        """Return the p-th percentile of the call durations (ms)."""
        if not self.durations_ms:
            return 0.0
        if len(self.durations_ms) == 1:
            return self.durations_ms[0]
        return statistics.quantiles(self.durations_ms, n=100, method="inclusive")[
            min(98, max(0, round(p) - 1))
        ]


def run_demo(
    n: int = 200,
    *,
    model: OfflineModel | None = None,
    workers: int = 8,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Run about ``n`` offline-model calls in conversations across threads, logging each.

    Args:
        n: how many calls to make.
        model: the offline model (default: a seeded one).
        workers: threads making calls at once (each conversation stays on one).
        progress: called with 1 after each call.

    Returns:
        What was logged (counts, tokens, durations).
    """
    model = model or OfflineModel()
    summary = DemoSummary()
    lock = threading.Lock()
    rng = random.Random(model.seed)
    conversations: list[tuple[int, list[str], str, str]] = []
    total = 0
    while total < n:
        turns = _prompts(rng)[: n - total]
        conversations.append((len(conversations), turns, *rng.choice(_MODELS)))
        total += len(turns)

    def converse(conv: tuple[int, list[str], str, str]) -> None:
        idx, turns, model_name, provider = conv
        session = f"demo-{idx:03d}"
        user = f"user-{idx % 17:02d}"
        messages: list[dict[str, Any]] = [{"role": "system", "content": _SYSTEM}]
        tags = ["demo", "stream" if idx % 3 == 0 else "chat"]
        with llmlog.context(session_id=session, user_id=user, tags=tags):
            for turn in turns:
                messages.append({"role": "user", "content": turn})
                rid, text, ok, tokens, dur = _one_call(
                    model, model_name, provider, messages, stream=idx % 3 == 0
                )
                if ok:
                    messages.append({"role": "assistant", "content": text})
                    if idx % 4 == 0:
                        llmlog.feedback(
                            rid,
                            1.0 if idx % 8 == 0 else 0.0,
                            "helpful" if idx % 8 == 0 else "not what I asked",
                        )
                with lock:
                    summary.count += 1
                    summary.errors += 0 if ok else 1
                    summary.tokens += tokens
                    summary.durations_ms.append(dur)
                    summary.request_ids.append(rid)
                if progress is not None:
                    progress(1)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo") as pool:
        list(pool.map(converse, conversations))
    return summary


def _one_call(
    model: OfflineModel,
    model_name: str,
    provider: str,
    messages: list[dict[str, Any]],
    *,
    stream: bool,
) -> tuple[str, str, bool, int, float]:
    params = {"temperature": 0.2, "max_tokens": 512, "stream": stream}
    t0 = time.perf_counter()
    try:
        with llmlog.interaction(
            model=model_name, messages=messages, provider=provider, params=params
        ) as it:
            if stream:
                parts = []
                for chunk in model.stream(model_name, messages):
                    it.first_token()
                    parts.append(chunk)
                text = "".join(parts)
                prompt_tokens = sum(_tokens(str(m.get("content", ""))) for m in messages)
                usage = {"input_tokens": prompt_tokens, "output_tokens": _tokens(text)}
                it.set_response(None, parsed=text, usage=usage, finish_reasons=["stop"])
                tokens = prompt_tokens + _tokens(text)
            else:
                raw = model.complete(model_name, messages)
                if "choices" in raw:
                    text = raw["choices"][0]["message"]["content"] or ""
                    tokens = raw["usage"]["total_tokens"]
                else:
                    text = "".join(b.get("text", "") for b in raw["content"] if b["type"] == "text")
                    tokens = raw["usage"]["input_tokens"] + raw["usage"]["output_tokens"]
                it.set_response(raw, parsed=text)
        return it.request_id, text, True, tokens, (time.perf_counter() - t0) * 1000
    except OfflineModelError:
        return it.request_id, "", False, 0, (time.perf_counter() - t0) * 1000
