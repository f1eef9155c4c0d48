"""``instrument()`` / ``uninstrument()``: which SDKs to patch, and when.

Integrations are objects with a ``name`` (the ``instrument()`` option), the
``module`` whose import makes patching possible, and ``patch(module) -> bool`` /
``unpatch()`` / ``applied``. The built-in ones are listed in :data:`BUILTIN`
(OpenAI, Anthropic, LiteLLM, Google Gen AI, Bedrock, Ollama, Mistral, Cohere, Groq,
and the agent frameworks); third-party packages add theirs under the entry-point
group ``llmlog.capture`` (the object the entry point names is the integration).

Patching never imports an SDK the application has not imported (LiteLLM alone
takes seconds to import): an SDK already imported is patched at once; one that is
installed but not imported yet is patched by a post-import hook
(:func:`wrapt.register_post_import_hook`) the moment the application imports it,
before ``from sdk import name`` binds anything; one that is not installed is
skipped. ``instrument()`` is idempotent; ``uninstrument()`` restores the
originals (and makes pending hooks do nothing).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import threading
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import wrapt

from llmlog.capture._patch import report_error, warn_once

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "Integration",
    "instrument",
    "instrumented",
    "uninstrument",
]

BUILTIN = (
    "llmlog.capture._openai",
    "llmlog.capture._anthropic",
    "llmlog.capture._litellm",
    "llmlog.capture._gemini",
    "llmlog.capture._bedrock",
    "llmlog.capture._ollama",
    "llmlog.capture._mistral",
    "llmlog.capture._cohere",
    "llmlog.capture._groq",
    "llmlog.capture._openai_agents",
    "llmlog.capture._langchain",
    "llmlog.capture._pydantic_ai",
)
"""Modules of the built-in integrations; each has an ``INTEGRATION`` object."""

ENTRY_POINT_GROUP = "llmlog.capture"


@runtime_checkable
class Integration(Protocol):
    """How llmlog captures one SDK.

    ``patch`` and ``unpatch`` are called under a lock, from the thread that calls
    ``instrument()`` or that imports the SDK. ``patch`` returns False (after
    warning once) when the SDK version is not understood; neither may raise for
    any other reason.
    """

    name: str
    module: str

    @property
    def applied(self) -> bool:
        """Whether the SDK is patched now."""

    def patch(self, sdk: Any) -> bool:
        """Patch the imported SDK module."""

    def unpatch(self) -> None:
        """Restore the SDK's originals."""


_lock = threading.RLock()
_integrations: dict[str, Integration] | None = None
_wanted: set[str] = set()
_hooked: set[str] = set()


def _load() -> dict[str, Integration]:
    global _integrations
    if _integrations is not None:
        return _integrations
    found: dict[str, Integration] = {}
    for path in BUILTIN:
        integ = importlib.import_module(path).INTEGRATION
        found[integ.name] = integ
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            integ = ep.load()
        except Exception as exc:
            warn_once(
                f"entry-point-{ep.name}",
                "capture plugin %r failed to load: %s: %s",
                ep.name,
                type(exc).__name__,
                exc,
            )
            continue
        if not isinstance(integ, Integration):
            warn_once(
                f"entry-point-{ep.name}",
                "capture plugin %r is not an integration "
                "(needs name, module, applied, patch, unpatch)",
                ep.name,
            )
            continue
        found.setdefault(integ.name, integ)
    _integrations = found
    return found


def _apply(integ: Integration, sdk: Any) -> None:
    try:
        integ.patch(sdk)
    except Exception as exc:
        report_error(f"instrumenting {integ.name}", exc)


def _on_import(name: str, sdk: Any) -> None:
    with _lock:
        if name in _wanted and _integrations is not None:
            _apply(_integrations[name], sdk)


def instrument(
    *, openai: bool = True, anthropic: bool = True, litellm: bool = True, **plugins: bool
) -> None:
    """Patch the installed LLM SDKs so every call is logged.

    Args:
        openai: capture the ``openai`` SDK (and Azure, and OpenAI-compatible servers).
        anthropic: capture the ``anthropic`` SDK.
        litellm: capture ``litellm``.
        **plugins: ``name=False`` leaves the integration a package registered under
            the ``llmlog.capture`` entry point alone; every SDK is captured by default.

    Raises:
        TypeError: an option that names no known integration.

    .. versionadded:: 0.1
    """
    options = {"openai": openai, "anthropic": anthropic, "litellm": litellm, **plugins}
    integrations = _load()
    unknown = sorted(set(plugins) - set(integrations))
    if unknown:
        raise TypeError(
            f"instrument() got unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(integrations))}"
        )
    with _lock:
        for name, integ in integrations.items():
            if not options.get(name, True):
                continue
            _wanted.add(name)
            sdk = sys.modules.get(integ.module)
            if sdk is not None:
                _apply(integ, sdk)
                continue
            try:
                installed = importlib.util.find_spec(integ.module) is not None
            except (ImportError, ValueError):
                installed = False
            if installed and name not in _hooked:
                _hooked.add(name)
                wrapt.register_post_import_hook(functools.partial(_on_import, name), integ.module)


def uninstrument() -> None:
    """Restore every patched SDK method; calls are no longer logged automatically.

    .. versionadded:: 0.1
    """
    with _lock:
        for name in list(_wanted):
            if _integrations is not None and name in _integrations:
                try:
                    _integrations[name].unpatch()
                except Exception as exc:
                    report_error(f"uninstrumenting {name}", exc)
        _wanted.clear()


def instrumented() -> tuple[str, ...]:
    """Return the names of the SDKs patched now (imported and understood)."""
    with _lock:
        if _integrations is None:
            return ()
        return tuple(sorted(n for n, i in _integrations.items() if i.applied))
