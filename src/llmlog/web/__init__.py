"""The local web viewer behind ``llmlog serve``: browse, read, chart and judge interactions.

A Starlette app over the query layer (:mod:`llmlog.store`): every page is one or
two keyset or rollup-backed :class:`~llmlog.store.Store` calls, so the viewer
answers as fast on a million interactions as on a hundred. It holds no state of
its own; the store is opened per request (one connection per worker thread, as
the Store protocol asks).

Security model (logged prompts are private data, and they contain hostile text):

* **Bind.** ``llmlog serve`` listens on 127.0.0.1 unless told otherwise. On a
  loopback address every request must carry a loopback ``Host`` header
  (``127.0.0.1``, ``localhost``, ``[::1]``), which defeats DNS rebinding: a web
  page on another site cannot make the browser read the viewer under its own
  name.
* **Token.** Bound to any other address, the server makes a random token at start
  (printed with the URL) and answers nothing without it: ``?token=`` (then kept
  in an ``HttpOnly; SameSite=Strict`` cookie and removed from the address bar),
  the cookie, or ``Authorization: Bearer``. Tokens are compared in constant time.
* **One write, guarded.** The only thing that changes the store is feedback
  (``POST /i/<id>/feedback``), written through llmlog's own pipeline (so
  redaction applies to comments). A POST needs a CSRF token that is an HMAC of
  a per-browser ``SameSite=Strict`` cookie under a per-process secret, an
  ``Origin`` (or ``Referer``) equal to the server's own origin, and a form
  content type; anything else is refused with 403.
* **Escaping.** Every piece of logged content reaches the page through Jinja2
  autoescaping or :func:`markupsafe.escape`; markdown is rendered by
  markdown-it with raw HTML disabled, images disabled and unsafe link schemes
  dropped. JSON is built as escaped text nodes. Live rows come from the same
  server-side templates.
* **CSP.** ``default-src 'none'`` with scripts, styles and connections from the
  server itself only: no inline script, no inline style, no third-party
  anything, no framing (``frame-ancestors 'none'``), forms posting only here.
  Even a missed escape could not run a script. ``Referrer-Policy: same-origin``
  keeps the viewer's addresses (ids, searches) out of requests to other sites.

.. versionadded:: 0.1
"""

from __future__ import annotations

from llmlog.web._app import create_app
from llmlog.web._server import Server, serve

__all__ = ["Server", "create_app", "serve"]
