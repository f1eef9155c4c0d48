"""pydantic-ai: each agent run becomes one llmlog trace, through its OpenTelemetry spans.

``instrument()`` turns on pydantic-ai's instrumentation (``Agent.instrument_all``) with a
private tracer provider whose only processor is llmlog's
(:class:`~llmlog.capture._otel_spans.GenAISpanProcessor`): the agent run
(``invoke_agent``), each model request (``chat``) and each tool (``execute_tool``, with
its arguments and result) become llmlog spans, and the model calls captured through the
``openai`` (or ``anthropic``) SDK are their children. An app that already instruments
pydantic-ai (Logfire, its own provider) keeps its setup: llmlog leaves it alone and says so.
"""

from __future__ import annotations

from typing import Any

from llmlog.capture._patch import warn_once

__all__ = ["INTEGRATION"]


class PydanticAIIntegration:
    """``instrument()`` support for pydantic-ai."""

    name = "pydantic_ai"
    module = "pydantic_ai"

    def __init__(self) -> None:
        self.processor: Any = None
        self._settings: Any = None

    @property
    def applied(self) -> bool:
        return self.processor is not None and self.processor.enabled

    def patch(self, sdk: Any) -> bool:
        agent = getattr(sdk, "Agent", None)
        if agent is None or not callable(getattr(agent, "instrument_all", None)):
            warn_once("pydantic-ai-version", "this pydantic-ai has no Agent.instrument_all; "
                      "its runs are not traced (model calls still are)")  # fmt: skip
            return False
        current = getattr(agent, "_instrument_default", False)
        if current is not False and current is not self._settings:
            warn_once("pydantic-ai-instrumented", "pydantic-ai is already instrumented "
                      "(Agent.instrument_all); llmlog leaves that setup alone")  # fmt: skip
            return False
        if self.processor is None:
            try:
                from opentelemetry.sdk.trace import TracerProvider
                from pydantic_ai.models.instrumented import InstrumentationSettings

                from llmlog.capture._otel_spans import GenAISpanProcessor
            except ImportError:
                warn_once("pydantic-ai-otel", "tracing pydantic-ai runs needs "
                          "opentelemetry-sdk: pip install 'llmlog[otel]'")  # fmt: skip
                return False
            self.processor = GenAISpanProcessor()
            provider = TracerProvider()
            provider.add_span_processor(self.processor)
            self._settings = InstrumentationSettings(tracer_provider=provider)
        agent.instrument_all(self._settings)
        self.processor.enabled = True
        return True

    def unpatch(self) -> None:
        if self.processor is not None:
            self.processor.enabled = False
            try:
                import pydantic_ai

                if getattr(pydantic_ai.Agent, "_instrument_default", None) is self._settings:
                    pydantic_ai.Agent.instrument_all(False)
            except Exception:
                pass


INTEGRATION = PydanticAIIntegration()
