"""Fixtures for capture tests: the fake provider, instrumented SDKs, captured records.

The real ``openai``, ``anthropic`` and ``litellm`` SDKs talk HTTP to
:class:`fake_llm.FakeLLMServer` on 127.0.0.1 (started once per session, on an
ephemeral port). Each test runs with the SDKs instrumented and un-instrumented
afterwards, and collects the records of a memory sink written synchronously.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# LiteLLM fetches its model price map from GitHub at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

from fake_llm import FakeLLMServer

import llmlog
from llmlog.sinks.memory import MemorySink


def _redaction_available() -> bool:
    try:
        from llmlog.redact import build_processors  # noqa: F401
    except ImportError:
        return False
    return True


REDACTION = _redaction_available()


@pytest.fixture(scope="session")
def server() -> Iterator[FakeLLMServer]:
    """The fake OpenAI/Anthropic server, for the whole session."""
    srv = FakeLLMServer().start()
    yield srv
    srv.stop()


class Records(list[dict[str, Any]]):
    """The records logged so far (a list), with helpers."""

    def __init__(self, sink: MemorySink) -> None:
        super().__init__()
        self._sink = sink

    def refresh(self) -> Records:
        """Flush llmlog and reload the sink's records; returns self."""
        llmlog.flush()
        self[:] = list(self._sink.records)
        return self

    def one(self) -> dict[str, Any]:
        """Flush and return the only record (fails if there is not exactly one)."""
        self.refresh()
        assert len(self) == 1, [r.get("parsed_output") for r in self]
        return self[0]


@pytest.fixture
def records() -> Iterator[Records]:
    """Configure llmlog with a synchronous memory sink; yield its records."""
    sink = MemorySink()
    options: dict[str, Any] = {"db": "off", "durability": "sync", "sinks": [sink]}
    if not REDACTION:
        options["processors"] = []  # llmlog.redact is not importable yet
    llmlog.reset()
    llmlog.configure(**options)
    recs = Records(sink)
    yield recs
    llmlog.flush()  # re-raises an error llmlog contained (LLMLOG_RAISE_ERRORS=1)
    llmlog.reset()


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    """Instrument every SDK for the test, restore the originals after it."""
    llmlog.instrument()
    yield
    llmlog.uninstrument()


@pytest.fixture
def oa(server: FakeLLMServer) -> Any:
    """A sync OpenAI client against the fake server (no retries)."""
    import openai

    with openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0) as c:
        yield c


@pytest.fixture
async def aoa(server: FakeLLMServer) -> Any:
    """An async OpenAI client against the fake server (no retries)."""
    import openai

    async with openai.AsyncOpenAI(
        base_url=server.url + "/v1", api_key="sk-test", max_retries=0
    ) as c:
        yield c


@pytest.fixture
def an(server: FakeLLMServer) -> Any:
    """A sync Anthropic client against the fake server (no retries)."""
    import anthropic

    with anthropic.Anthropic(base_url=server.url, api_key="sk-ant-test", max_retries=0) as c:
        yield c


@pytest.fixture
async def aan(server: FakeLLMServer) -> Any:
    """An async Anthropic client against the fake server (no retries)."""
    import anthropic

    async with anthropic.AsyncAnthropic(
        base_url=server.url, api_key="sk-ant-test", max_retries=0
    ) as c:
        yield c
