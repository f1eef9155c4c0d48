"""The private SDK surface capture relies on, pinned to the versions it was verified with.

Verified against openai 3.57.0, anthropic 2.14.0 and litellm 1.110.2 (sources
read in site-packages). When an SDK's major version moves, these tests fail on
purpose: re-read the SDK's ``_base_client.py`` / ``_streaming.py`` (or LiteLLM's
``chat_completions/dispatch.py``), check the facts below, then move the pin.
"""

from __future__ import annotations

import inspect

import pytest

from llmlog.capture._stainless import REQUEST_PARAMS

VERIFIED_MAJOR = {"openai": 3, "anthropic": 2, "litellm": 1}


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
class TestStainlessSurface:
    def test_major_version_is_the_verified_one(self, sdk: str) -> None:
        """The installed major version is the one whose internals were read."""
        mod = pytest.importorskip(sdk)
        assert int(mod.__version__.split(".")[0]) == VERIFIED_MAJOR[sdk], mod.__version__

    def test_request_is_the_choke_point(self, sdk: str) -> None:
        """``<sdk>._base_client.{Sync,Async}APIClient.request(cast_to, options, *, stream,
        stream_cls)``: every API call and its retry loop go through it."""
        base = pytest.importorskip(f"{sdk}._base_client")
        for cls in (base.SyncAPIClient, base.AsyncAPIClient):
            params = inspect.signature(inspect.unwrap(cls.request)).parameters
            assert list(params)[:3] == ["self", "cast_to", "options"]
            assert all(p in params for p in REQUEST_PARAMS)
            assert params["stream"].kind is inspect.Parameter.KEYWORD_ONLY
        assert inspect.iscoroutinefunction(inspect.unwrap(base.AsyncAPIClient.request))
        src = inspect.getsource(base.SyncAPIClient.post)
        assert "self.request(" in src  # post() -> request()

    def test_process_response_hook(self, sdk: str) -> None:
        """``_process_response(*, cast_to, options, response, stream, stream_cls, ...)`` gets
        the final HTTP response once per call (its JSON becomes ``llm_raw_response``)."""
        from llmlog.capture._stainless import PROCESS_PARAMS

        base = pytest.importorskip(f"{sdk}._base_client")
        for cls in (base.SyncAPIClient, base.AsyncAPIClient):
            params = inspect.signature(inspect.unwrap(cls._process_response)).parameters
            assert all(params[p].kind is inspect.Parameter.KEYWORD_ONLY for p in PROCESS_PARAMS)
        assert inspect.iscoroutinefunction(inspect.unwrap(base.AsyncAPIClient._process_response))

    def test_final_request_options_fields(self, sdk: str) -> None:
        """``FinalRequestOptions`` has the method, path, body and extra body we read."""
        models = pytest.importorskip(f"{sdk}._models")
        fields = models.FinalRequestOptions.model_fields
        assert {"method", "url", "json_data", "extra_json", "headers"} <= set(fields)

    def test_stream_protocol(self, sdk: str) -> None:
        """``Stream`` / ``AsyncStream`` are iterated with __next__ / __anext__ and closed."""
        mod = pytest.importorskip(sdk)
        assert callable(mod.Stream.__next__) and callable(mod.Stream.close)
        assert callable(mod.AsyncStream.__anext__)
        assert inspect.iscoroutinefunction(mod.AsyncStream.close)

    def test_raw_response_wrappers(self, sdk: str) -> None:
        """Raw response wrappers expose ``http_response`` and ``parse``."""
        response = pytest.importorskip(f"{sdk}._response")
        assert "http_response" in response.BaseAPIResponse.__annotations__
        for cls in (response.APIResponse, response.AsyncAPIResponse):
            assert callable(cls.parse)

    def test_not_given_markers(self, sdk: str) -> None:
        """The SDK exports its ``NotGiven`` / ``Omit`` marker types (dropped from params)."""
        mod = pytest.importorskip(sdk)
        assert isinstance(mod.NotGiven, type) and isinstance(mod.Omit, type)


def test_openai_legacy_raw_response() -> None:
    """openai's ``with_raw_response`` gives ``LegacyAPIResponse`` (``http_response``, ``parse``)."""
    legacy = pytest.importorskip("openai._legacy_response")
    assert callable(legacy.LegacyAPIResponse.parse)
    assert "http_response" in legacy.LegacyAPIResponse.__annotations__


def test_litellm_public_functions() -> None:
    """``litellm.completion`` / ``litellm.acompletion`` are the public dispatch functions."""
    from importlib.metadata import version

    litellm = pytest.importorskip("litellm")
    assert int(version("litellm").split(".")[0]) == VERIFIED_MAJOR["litellm"]
    assert callable(litellm.completion)
    assert inspect.iscoroutinefunction(litellm.acompletion)


class TestMethodChokePoints:
    """The private methods the non-Stainless integrations wrap (read for the pinned versions)."""

    def test_ollama_request(self) -> None:
        """``Client._request(cls, method, path, *, json, stream)``: chat/generate/embed pass here."""
        ollama = pytest.importorskip("ollama")
        assert (
            int(ollama.__version__.split(".")[1]) >= 6 if hasattr(ollama, "__version__") else True
        )
        for cls in (ollama.Client, ollama.AsyncClient):
            params = inspect.signature(inspect.unwrap(cls._request)).parameters
            assert list(params)[:2] == ["self", "cls"] and "stream" in params
            assert "self._request(" in inspect.getsource(cls.chat)
        assert inspect.iscoroutinefunction(inspect.unwrap(ollama.AsyncClient._request))

    def test_google_genai_api_client(self) -> None:
        """``BaseApiClient.request / request_streamed / async_*`` take (method, path, body)."""
        api = pytest.importorskip("google.genai._api_client")
        for name in ("request", "request_streamed", "async_request", "async_request_streamed"):
            params = list(
                inspect.signature(inspect.unwrap(getattr(api.BaseApiClient, name))).parameters
            )
            assert params[:4] == ["self", "http_method", "path", "request_dict"], name
        assert inspect.isgeneratorfunction(inspect.unwrap(api.BaseApiClient.request_streamed))

    def test_botocore_make_api_call(self) -> None:
        """Every boto3 operation goes through ``BaseClient._make_api_call(name, params)``."""
        client = pytest.importorskip("botocore.client")
        params = list(
            inspect.signature(inspect.unwrap(client.BaseClient._make_api_call)).parameters
        )
        assert params == ["self", "operation_name", "api_params"]

    def test_public_methods(self) -> None:
        """Mistral's and Cohere's public methods, keyword arguments as wrapped."""
        chat = pytest.importorskip("mistralai.client.chat")
        v2 = pytest.importorskip("cohere.v2.client")
        for fn in (chat.Chat.complete, chat.Chat.stream, v2.V2Client.chat, v2.V2Client.chat_stream):
            params = inspect.signature(inspect.unwrap(fn)).parameters
            assert params["model"].kind is inspect.Parameter.KEYWORD_ONLY
            assert params["messages"].kind is inspect.Parameter.KEYWORD_ONLY
        assert inspect.isasyncgenfunction(inspect.unwrap(v2.AsyncV2Client.chat_stream))
