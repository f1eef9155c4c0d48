"""instrument() / uninstrument(): idempotence, restoring, plugins, and never breaking the app."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import types
from typing import Any

import anthropic  # noqa: F401 - imported so that instrument() patches it at once
import openai
import pytest
import wrapt
from openai._base_client import AsyncAPIClient, SyncAPIClient

import llmlog
from llmlog.capture import _instrument, instrumented
from llmlog.capture._assemble import OpenAIChatAssembler
from llmlog.capture._stainless import Endpoint, SDKSpec, StainlessIntegration

MSGS = [{"role": "user", "content": "hello there"}]


def _request_attr() -> Any:
    return vars(SyncAPIClient)["request"]


class TestInstrument:
    def test_idempotent(self, oa: Any, records: Any) -> None:
        """Calling instrument() again changes nothing: still one record per call."""
        wrapper = _request_attr()
        llmlog.instrument()
        llmlog.instrument()
        assert _request_attr() is wrapper
        oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        assert len(records.refresh()) == 1

    def test_uninstrument_restores_the_originals(self) -> None:
        """uninstrument() puts back the SDK's own functions; instrument() wraps them again."""
        llmlog.uninstrument()
        original_sync, original_async = _request_attr(), vars(AsyncAPIClient)["request"]
        original_hook = vars(SyncAPIClient)["_process_response"]
        assert not isinstance(original_sync, wrapt.FunctionWrapper)
        llmlog.instrument()
        assert isinstance(_request_attr(), wrapt.FunctionWrapper)
        assert isinstance(vars(SyncAPIClient)["_process_response"], wrapt.FunctionWrapper)
        assert "openai" in instrumented() and "anthropic" in instrumented()
        llmlog.uninstrument()
        assert _request_attr() is original_sync
        assert vars(AsyncAPIClient)["request"] is original_async
        assert vars(SyncAPIClient)["_process_response"] is original_hook
        assert "openai" not in instrumented()
        llmlog.instrument()

    def test_options_select_sdks(self, oa: Any, records: Any) -> None:
        """instrument(openai=False) leaves openai alone; an unknown option is a TypeError."""
        llmlog.uninstrument()
        llmlog.instrument(openai=False)
        assert "openai" not in instrumented() and "anthropic" in instrumented()
        oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        assert records.refresh() == []
        with pytest.raises(TypeError, match=r"unknown option.*watsonx.*known: anthropic"):
            llmlog.instrument(watsonx=True)

    def test_another_wrapper_on_top_survives_uninstrument(self, oa: Any, records: Any) -> None:
        """If something else wrapped after us, uninstrument() leaves it and turns ours off."""
        calls: list[str] = []

        def theirs(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            calls.append("theirs")
            return wrapped(*args, **kwargs)

        ours = _request_attr()
        wrapt.wrap_function_wrapper(SyncAPIClient, "request", theirs)
        try:
            llmlog.uninstrument()
            oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
            assert calls == ["theirs"] and records.refresh() == []
            llmlog.instrument()
            oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
            assert calls == ["theirs", "theirs"] and len(records.refresh()) == 1
        finally:
            SyncAPIClient.request = ours

    def test_sdk_not_installed_is_skipped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An integration whose SDK is not installed is neither patched nor hooked."""
        integ = StainlessIntegration("ghost", "llmlog_no_such_sdk_xyz", lambda sdk: None)
        monkeypatch.setitem(_instrument._load(), "ghost", integ)
        llmlog.instrument()
        assert "ghost" not in instrumented()
        assert "ghost" not in _instrument._hooked

    def test_patching_waits_for_the_import(self) -> None:
        """instrument() before the SDK is imported: patched on import, nothing imported early."""
        code = textwrap.dedent("""
            import sys, wrapt, llmlog
            llmlog.instrument()
            assert "openai" not in sys.modules and "litellm" not in sys.modules
            from openai import OpenAI
            from openai._base_client import SyncAPIClient
            assert isinstance(vars(SyncAPIClient)["request"], wrapt.FunctionWrapper)
            from llmlog.capture import instrumented
            assert instrumented() == ("openai",), instrumented()
            print("ok")
        """)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
        assert out.stdout.strip() == "ok", out.stderr


def _fake_base_client(request: Any) -> types.ModuleType:
    mod = types.ModuleType("fakesdk._base_client")

    class SyncAPIClient:
        pass

    class AsyncAPIClient:
        pass

    SyncAPIClient.request = request  # type: ignore[attr-defined]

    async def arequest(self: Any, options: Any) -> Any:
        return options

    AsyncAPIClient.request = arequest  # type: ignore[attr-defined]
    mod.SyncAPIClient = SyncAPIClient  # type: ignore[attr-defined]
    mod.AsyncAPIClient = AsyncAPIClient  # type: ignore[attr-defined]
    return mod


class TestUnknownSDKVersion:
    def test_changed_choke_point_is_left_alone_with_one_warning(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A request method with another signature: not patched, one warning."""

        def request(self: Any, options: Any) -> Any:  # no cast_to / stream
            return options

        base = _fake_base_client(request)
        monkeypatch.setitem(sys.modules, "fakesdk", types.ModuleType("fakesdk"))
        monkeypatch.setitem(sys.modules, "fakesdk._base_client", base)
        spec = SDKSpec("fakesdk", (), lambda c: "fake", lambda c: None)
        integ = StainlessIntegration("fakesdk", "fakesdk", lambda sdk: spec)
        with caplog.at_level(logging.WARNING, logger="llmlog"):
            assert integ.patch(sys.modules["fakesdk"]) is False
            assert integ.patch(sys.modules["fakesdk"]) is False
        assert base.SyncAPIClient.request is request
        warnings = [r for r in caplog.records if "fakesdk" in r.getMessage()]
        assert len(warnings) == 1 and "not supported" in warnings[0].getMessage()


class TestNeverBreaksTheApp:
    def test_failure_converting_the_response(
        self, oa: Any, records: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If llmlog fails on the response, the app still gets it; the failure is reported."""

        def boom(obj: Any, data: Any) -> Any:
            raise RuntimeError("capture bug")

        bad = Endpoint(
            "chat",
            lambda b: b.get("messages"),
            frozenset({"messages", "model"}),
            boom,
            OpenAIChatAssembler,
        )
        monkeypatch.setattr(SDKSpec, "endpoint", lambda self, url: bad)
        resp = oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        assert resp.choices[0].message.content == "echo: hello there"
        with pytest.raises(RuntimeError, match="capture bug"):
            llmlog.flush()  # LLMLOG_RAISE_ERRORS=1: contained errors surface here
        rec = records.refresh()[0]
        assert rec["status"] == "ok" and rec["llm_raw_response"] is None
        assert rec["prompt_messages"] == MSGS
        assert llmlog.stats()["errors"] == 1

    def test_failure_assembling_a_stream(
        self, oa: Any, records: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If the assembler fails, chunks keep flowing unchanged; the failure is reported."""

        def boom(self: Any, chunk: Any) -> None:
            raise ValueError("assembler bug")

        monkeypatch.setattr(OpenAIChatAssembler, "add", boom)
        stream = oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream)
        assert text == "echo: hello there"
        with pytest.raises(ValueError, match="assembler bug"):
            llmlog.flush()
        rec = records.refresh()[0]
        assert rec["ttft_ms"] is not None and rec["llm_raw_response"] is None

    def test_unreadable_request_passes_through(
        self,
        oa: Any,
        records: Any,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A request llmlog cannot read goes ahead untouched, with one warning."""
        from llmlog.capture import _patch

        monkeypatch.setattr(_patch, "_warned", set())

        def bad_prompt(body: Any) -> Any:
            raise KeyError("messages")

        from llmlog.capture import _openai

        bad = Endpoint("chat", bad_prompt, frozenset(), _openai._convert_chat)
        monkeypatch.setattr(SDKSpec, "endpoint", lambda self, url: bad)
        with caplog.at_level(logging.WARNING, logger="llmlog"):
            r1 = oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
            r2 = oa.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        assert r1.choices[0].message.content == r2.choices[0].message.content
        assert records.refresh() == []
        assert len([r for r in caplog.records if "not understood" in r.getMessage()]) == 1

    def test_exception_object_is_unchanged(self, oa: Any, records: Any) -> None:
        """The SDK's exception reaches the app as the same object, traceback intact."""
        llmlog.uninstrument()
        with pytest.raises(openai.RateLimitError) as plain:
            oa.chat.completions.create(
                model="gpt-4o-mini", messages=MSGS, extra_headers={"x-fake-status": "429"}
            )
        llmlog.instrument()
        with pytest.raises(openai.RateLimitError) as captured:
            oa.chat.completions.create(
                model="gpt-4o-mini", messages=MSGS, extra_headers={"x-fake-status": "429"}
            )
        assert type(captured.value) is type(plain.value)
        assert captured.value.status_code == plain.value.status_code == 429
        assert captured.value.body == plain.value.body
        assert captured.value.__suppress_context__ is plain.value.__suppress_context__
        assert type(captured.value.__context__) is type(plain.value.__context__)
        assert len(records.refresh()) == 1


class TestMethodIntegrationFailsSoft:
    def test_a_renamed_method_disables_only_its_own_capture(
        self, server: Any, records: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An SDK release that renamed one method: one warning naming it; the rest captured."""
        ollama = pytest.importorskip("ollama")
        from llmlog.capture import _ollama
        from llmlog.capture._methods import Method, MethodIntegration

        llmlog.uninstrument()
        integ = MethodIntegration(
            "ollama",
            "ollama",
            (
                Method("Client", "_request", _ollama._begin),
                Method("AsyncClient", "_request_renamed", _ollama._begin),
            ),
        )
        with caplog.at_level(logging.WARNING, logger="llmlog"):
            assert integ.patch(ollama) is True
            integ.unpatch()
            assert integ.patch(ollama) is True
        try:
            warnings = [
                r.getMessage() for r in caplog.records if "_request_renamed" in r.getMessage()
            ]
            assert len(warnings) == 1 and "AsyncClient._request_renamed not found" in warnings[0]
            ollama.Client(host=server.url).chat(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
            assert records.one()["provider"] == "ollama"
        finally:
            integ.unpatch()

    def test_instrumented_lists_the_new_sdks(self) -> None:
        """Every SDK installed here is patched once imported."""
        for module in (
            "google.genai",
            "botocore.client",
            "ollama",
            "mistralai.client",
            "cohere",
            "groq",
        ):
            pytest.importorskip(module)
        llmlog.instrument()
        assert {"google_genai", "bedrock", "ollama", "mistralai", "cohere", "groq"} <= set(
            instrumented()
        )
