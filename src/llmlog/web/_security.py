"""Who may talk to the viewer, and the headers every answer carries.

See the package docstring (:mod:`llmlog.web`) for the model. Here:

* :class:`Guard` is the ASGI middleware in front of every route: the ``Host``
  check on loopback binds (DNS rebinding), the access token on other binds, and
  the security headers (CSP and friends) on every response.
* :class:`Csrf` makes and checks the token that the feedback form carries.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CSP",
    "LOOPBACK_HOSTS",
    "Csrf",
    "Guard",
    "is_loopback",
    "origin_of",
]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
"""The Content-Security-Policy of every response: nothing inline, nothing from elsewhere."""

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
"""``Host`` names accepted when the server is bound to a loopback address."""


def is_loopback(host: str) -> bool:
    """Return True if ``host`` (an address or a name) only reaches this machine.

    A name counts when every address it resolves to is a loopback address.
    """
    name = host.strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None)
    except OSError:
        return False
    addrs = {str(info[4][0]) for info in infos}
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


def _host_name(host_header: str) -> str:
    """Return the host part of a ``Host`` header (``[::1]:8765`` -> ``[::1]``)."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def origin_of(url: str) -> str | None:
    """Return ``scheme://host[:port]`` of a URL, or None if it has none."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _cookie(headers: Headers, name: str) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header from some other app on localhost
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


class Guard:
    """ASGI middleware: check ``Host`` or the token, then add the security headers.

    Args:
        app: the application to guard.
        token: the access token every request must carry (None: no token, which
            is only right on a loopback bind).
        check_host: require a loopback ``Host`` header (loopback binds).
        cookie_suffix: makes cookie names unique per server (the port), since
            browsers share cookies between ports of one host.
    """

    def __init__(
        self, app: ASGIApp, *, token: str | None, check_host: bool, cookie_suffix: str = ""
    ) -> None:
        self.app = app
        self.token = token
        self.check_host = check_host
        self.token_cookie = f"llmlog_token{cookie_suffix}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS:
                    headers.setdefault(key, value)
            await send(message)

        denied = self._deny(scope)
        if denied is not None:
            await denied(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)

    def _deny(self, scope: Scope) -> Response | None:
        """Return the response that refuses this request, or None to let it through."""
        headers = Headers(scope=scope)
        if self.check_host:
            host = _host_name(headers.get("host", "")).lower()
            if host not in LOOPBACK_HOSTS:
                return PlainTextResponse(
                    "Invalid Host header: this llmlog viewer only answers to 127.0.0.1 or "
                    "localhost.\n",
                    status_code=400,
                )
        if self.token is None:
            return None
        request = Request(scope)
        given = request.query_params.get("token")
        if given is not None and self._matches(given):
            # keep it in a cookie, and take it out of the address bar and the history
            rest = [
                (k, v)
                for k, v in parse_qsl(
                    scope.get("query_string", b"").decode(), keep_blank_values=True
                )
                if k != "token"
            ]
            path = "/" + request.url.path.lstrip("/")  # never "//host": no open redirect
            target = path + (f"?{urlencode(rest)}" if rest else "")
            if request.method in ("GET", "HEAD"):
                resp: Response = RedirectResponse(target, status_code=303)
                resp.set_cookie(
                    self.token_cookie, given, httponly=True, samesite="strict", path="/"
                )
                return resp
            return None
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and self._matches(auth[7:].strip()):
            return None
        cookie = _cookie(headers, self.token_cookie)
        if cookie is not None and self._matches(cookie):
            return None
        return HTMLResponse(_TOKEN_PAGE, status_code=401)

    def _matches(self, given: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(given.encode(), self.token.encode())


_TOKEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llmlog: token required</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main class="narrow"><h1>Token required</h1>
<p>This llmlog viewer is reachable from other machines, so it needs the access token that
<code>llmlog serve</code> printed when it started. Open the full address it printed
(ending in <code>?token=...</code>).</p></main></body></html>
"""


class Csrf:
    """Cross-site request forgery tokens for the one form that writes (feedback).

    Each browser gets a random ``SameSite=Strict`` cookie; the form carries
    ``HMAC(secret, cookie)``. A forged request from another site has neither the
    cookie (SameSite) nor the token (it cannot read our pages), and its
    ``Origin`` is not ours.

    Args:
        secret: the per-process key (random by default).
        cookie_suffix: makes the cookie name unique per server (the port).
    """

    def __init__(self, secret: bytes | None = None, *, cookie_suffix: str = "") -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.cookie = f"llmlog_csrf{cookie_suffix}"

    def _sign(self, value: str) -> str:
        return hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()

    def token(self, request: Request) -> tuple[str, str | None]:
        """Return the form token for this browser, and a new cookie value if it has none."""
        current = request.cookies.get(self.cookie)
        if current and 16 <= len(current) <= 128:
            return self._sign(current), None
        fresh = secrets.token_urlsafe(24)
        return self._sign(fresh), fresh

    def set_cookie(self, response: Response, value: str | None) -> None:
        """Set the CSRF cookie on ``response`` when :meth:`token` made a new one."""
        if value is not None:
            response.set_cookie(self.cookie, value, httponly=True, samesite="strict", path="/")

    def check(self, request: Request, form_token: str | None) -> str | None:
        """Return why this POST is refused, or None when it is genuine.

        It must come from our own origin (``Origin``, else ``Referer``) and carry
        the token that matches its cookie.
        """
        own = origin_of(str(request.base_url))
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            referer = request.headers.get("referer")
            origin = origin_of(referer) if referer else None
        if origin is None:
            return "missing Origin header"
        if origin.lower() != own:
            return f"cross-origin request from {origin}"
        cookie = request.cookies.get(self.cookie)
        if not cookie:
            return "missing CSRF cookie (reload the page)"
        if not form_token or not hmac.compare_digest(
            form_token.encode(), self._sign(cookie).encode()
        ):
            return "invalid CSRF token (reload the page)"
        return None
