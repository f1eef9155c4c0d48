"""Automatic capture of LLM SDK calls: ``llmlog.instrument()`` / ``llmlog.uninstrument()``.

Design, in one place (each module's docstring has the details):

* **One choke point per SDK.** OpenAI and Anthropic (both Stainless-generated)
  send every API call through their base client's ``request`` method, which
  holds the retry loop; it is wrapped once for all clients, sync and async,
  all calling modes (:mod:`._stainless`, :mod:`._openai`, :mod:`._anthropic`).
  LiteLLM is wrapped at its public ``completion`` / ``acompletion`` (:mod:`._litellm`).
  One application call is one record; SDK retries are inside it.
* **Sync and async share everything but a shim.** :class:`._call.Call` holds the
  request fields, the timer and the span; the shims only call the SDK.
* **Streams** are returned inside a transparent proxy that passes each chunk
  through unchanged, assembles the non-streaming response, and logs exactly once
  when the stream ends, fails, is closed or is garbage-collected (:mod:`._stream`,
  :mod:`._assemble`).
* **Never break the app.** The SDK's own result or exception reaches the caller
  unchanged (exceptions are re-raised with a bare ``raise``); a failure inside
  capture is counted and reported, and the original call goes ahead untouched.
  An SDK version whose choke point looks different is left unpatched, with one
  warning.
* **Plugins.** Other packages register integrations under the entry-point group
  ``llmlog.capture`` (:mod:`._instrument`).
"""

from __future__ import annotations

from llmlog.capture._instrument import Integration, instrument, instrumented, uninstrument

__all__ = ["Integration", "instrument", "instrumented", "uninstrument"]
