"""LangChain and LangGraph: each run becomes one llmlog trace, through a callback handler.

``instrument()`` registers a :class:`LLMLogCallbackHandler` as a LangChain configure
hook, so every runnable (chains, LangGraph graphs and nodes, tools, retrievers, models)
reports to it without being passed ``callbacks=``. Runs become llmlog spans keyed by
their run ids: the outermost run is the root (``invoke_workflow``, or a child of the
current llmlog or OpenTelemetry span), nested chains and graph nodes are ``task``,
tools ``execute_tool`` (with input and output), retrievers ``retrieval`` (the query
and the documents). Model runs are not copied: ``instrument()`` captures the calls
themselves through the provider SDKs (``openai``, ``anthropic``...), and while a run is
active its span is llmlog's current span, so those interactions become its children.
"""

from __future__ import annotations

import contextvars
import threading
import time
from typing import Any
from uuid import UUID

from llmlog._serialize import dumps
from llmlog.capture._patch import warn_once
from llmlog.context import CURRENT_SPAN, activate_span, deactivate_span, otel_span
from llmlog.context import Span as SpanIds
from llmlog.normalize import error_info
from llmlog.tracing import emit

__all__ = ["INTEGRATION"]

_MODEL_RUNS = ("llm", "chat_model")


class _Run:
    __slots__ = ("ids", "input", "kind", "name", "start", "token")

    def __init__(self, ids: SpanIds, kind: str, name: str, inp: Any) -> None:
        self.ids = ids
        self.kind = kind
        self.name = name
        self.input = inp
        self.start = time.time()
        self.token: contextvars.Token[Any] | None = None


class Tracker:
    """The handler's state, shared by every copy LangChain makes of the handler."""

    def __init__(self) -> None:
        self.enabled = True
        self.runs: dict[UUID, _Run] = {}
        self.lock = threading.Lock()

    def start(
        self, kind: str, run_id: UUID, parent_run_id: UUID | None, name: str, inp: Any
    ) -> None:
        if not self.enabled:
            return
        with self.lock:
            parent = self.runs.get(parent_run_id) if parent_run_id is not None else None
        if parent is not None:
            ids = SpanIds(parent.ids.trace_id, run_id.hex[16:], parent.ids.span_id)
        else:
            outer = CURRENT_SPAN.get() or otel_span()
            if outer is not None:
                ids = SpanIds(outer.trace_id, run_id.hex[16:], outer.span_id)
            else:
                ids = SpanIds(run_id.hex, run_id.hex[16:], None)
                if kind == "task":
                    kind = "invoke_workflow"
        run = _Run(ids, kind, name, inp)
        if kind not in _MODEL_RUNS:  # a model run's parent stays current
            run.token = activate_span(ids)
        with self.lock:
            self.runs[run_id] = run

    def end(self, run_id: UUID, output: Any = None, error: BaseException | None = None) -> None:
        with self.lock:
            run = self.runs.pop(run_id, None)
        if run is None:
            return
        if run.token is not None:
            deactivate_span(run.token)
        if run.kind in _MODEL_RUNS or not self.enabled:
            return
        emit(
            name=run.name,
            kind=run.kind,
            trace_id=run.ids.trace_id,
            span_id=run.ids.span_id,
            parent_span_id=run.ids.parent_span_id,
            timestamp=run.start,
            duration_ms=(time.time() - run.start) * 1000,
            error=None if error is None else dict(error_info(error)),
            input_json=dumps(run.input),
            output_json=dumps(_plain(output)),
        )


def _plain(value: Any) -> Any:
    """LangChain outputs as JSON-friendly values (messages and documents by their content)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    content = getattr(value, "page_content", None)
    if isinstance(content, str):  # a Document
        return {"page_content": content, "metadata": getattr(value, "metadata", {})}
    content = getattr(value, "content", None)
    if content is not None and hasattr(value, "type"):  # a message
        return {"role": getattr(value, "type", None), "content": content}
    return value


def _name(serialized: Any, kwargs: dict[str, Any], default: str) -> str:
    if kwargs.get("name"):
        return str(kwargs["name"])
    if isinstance(serialized, dict):
        if serialized.get("name"):
            return str(serialized["name"])
        ident = serialized.get("id")
        if isinstance(ident, list) and ident:
            return str(ident[-1])
    return default


def make_handler(base: type, tracker: Tracker) -> Any:
    """Return a LangChain callback handler (a ``base`` subclass) reporting to ``tracker``."""

    class LLMLogCallbackHandler(base):  # type: ignore[misc]
        """Logs LangChain runs as llmlog spans (see the module docstring)."""

        run_inline = True  # in the run's own context, so its span becomes current there
        raise_error = False

        def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID,
                           parent_run_id: UUID | None = None, **kw: Any) -> None:  # fmt: skip
            tracker.start(
                "task", run_id, parent_run_id, _name(serialized, kw, "chain"), _plain(inputs)
            )

        def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
            tracker.end(run_id, outputs)

        def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
            tracker.end(run_id, None, error)

        def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID,
                          parent_run_id: UUID | None = None, **kw: Any) -> None:  # fmt: skip
            inp = kw.get("inputs") or input_str
            tracker.start("execute_tool", run_id, parent_run_id, _name(serialized, kw, "tool"), inp)

        def on_tool_end(self, output: Any, *, run_id: UUID, **kw: Any) -> None:
            tracker.end(run_id, output)

        def on_tool_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
            tracker.end(run_id, None, error)

        def on_retriever_start(self, serialized: Any, query: str, *, run_id: UUID,
                               parent_run_id: UUID | None = None, **kw: Any) -> None:  # fmt: skip
            name = _name(serialized, kw, "retriever")
            tracker.start("retrieval", run_id, parent_run_id, name, {"query": query})

        def on_retriever_end(self, documents: Any, *, run_id: UUID, **kw: Any) -> None:
            tracker.end(run_id, documents)

        def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
            tracker.end(run_id, None, error)

        def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID,
                                parent_run_id: UUID | None = None, **kw: Any) -> None:  # fmt: skip
            tracker.start("chat_model", run_id, parent_run_id, "chat", None)

        def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID,
                         parent_run_id: UUID | None = None, **kw: Any) -> None:  # fmt: skip
            tracker.start("llm", run_id, parent_run_id, "llm", None)

        def on_llm_end(self, response: Any, *, run_id: UUID, **kw: Any) -> None:
            tracker.end(run_id)

        def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
            tracker.end(run_id, None, error)

    return LLMLogCallbackHandler


class LangChainIntegration:
    """``instrument()`` support for LangChain (``langchain_core``), LangGraph included."""

    name = "langchain"
    module = "langchain_core"

    def __init__(self) -> None:
        self.tracker: Tracker | None = None
        self.handler: Any = None

    @property
    def applied(self) -> bool:
        return self.tracker is not None and self.tracker.enabled

    def patch(self, sdk: Any) -> bool:
        if self.tracker is None:
            try:
                from langchain_core.callbacks import BaseCallbackHandler
                from langchain_core.tracers.context import register_configure_hook
            except ImportError:
                warn_once(
                    "langchain-version",
                    "this version of langchain_core has no configure hooks; "
                    "its runs are not traced (model calls still are)",
                )
                return False
            tracker = Tracker()
            self.handler = make_handler(BaseCallbackHandler, tracker)()
            # a default value: every thread and task sees the handler
            var: contextvars.ContextVar[Any] = contextvars.ContextVar(
                "llmlog_langchain", default=self.handler
            )
            register_configure_hook(var, True)
            self.tracker = tracker
        self.tracker.enabled = True
        return True

    def unpatch(self) -> None:
        if self.tracker is not None:  # the hook stays registered: it goes quiet
            self.tracker.enabled = False


INTEGRATION = LangChainIntegration()
