"""Running the viewer: bind first (so the real port is known), then hand the socket to uvicorn.

:class:`Server` binds its socket in the constructor, so ``port=0`` gives an
ephemeral port that :attr:`Server.url` already knows, and a busy port fails
before anything is printed. It runs in the foreground (:meth:`Server.run`,
what ``llmlog serve`` does) or on a background thread (:meth:`Server.start` /
:meth:`Server.stop`, what the browser tests do).
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import threading
from urllib.parse import quote

import uvicorn

from llmlog.web._app import create_app
from llmlog.web._security import is_loopback

__all__ = ["Server", "serve"]


def _family(host: str) -> socket.AddressFamily:
    try:
        return (
            socket.AF_INET6
            if ipaddress.ip_address(host.strip("[]")).version == 6
            else socket.AF_INET
        )
    except ValueError:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        return infos[0][0] if infos else socket.AF_INET


class Server:
    """The viewer bound to ``host:port``, over the store at ``db``.

    Args:
        db: the store to read (a path or ``sqlite:///path``).
        host: the address to listen on. Anything but a loopback address makes the
            server require a token (:attr:`token`).
        port: the port; 0 picks a free one.
        token: the token to require (default: a random one, on non-loopback binds).
        live_interval: seconds between the list page's polls for new interactions.

    Raises:
        OSError: the address cannot be bound (port in use, unknown host).
    """

    def __init__(
        self,
        db: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        token: str | None = None,
        live_interval: float = 2.0,
    ) -> None:
        self.host = host
        self.loopback = is_loopback(host)
        self.token = (
            token if token is not None else (None if self.loopback else secrets.token_urlsafe(24))
        )
        family = _family(host)
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host.strip("[]"), port))
            sock.listen(2048)
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        self.socket = sock
        self.port: int = sock.getsockname()[1]
        self.app = create_app(
            db,
            token=self.token,
            check_host=self.loopback,
            cookie_suffix=f"_{self.port}",
            live_interval=live_interval,
        )
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address to open, with the token when one is required."""
        host = self.host.strip("[]")
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        base = f"http://{host}:{self.port}/"
        return base + (f"?token={quote(self.token)}" if self.token else "")

    def run(self) -> None:
        """Serve in the foreground until interrupted (Ctrl+C)."""
        try:
            self._uvicorn.run(sockets=[self.socket])
        finally:
            self.socket.close()

    def start(self) -> None:
        """Serve on a background thread; return once it accepts connections."""
        self._thread = threading.Thread(
            target=self._uvicorn.run,
            kwargs={"sockets": [self.socket]},
            name="llmlog-serve",
            daemon=True,
        )
        self._thread.start()
        while not self._uvicorn.started:
            if not self._thread.is_alive():
                raise RuntimeError("the llmlog viewer failed to start")
            self._thread.join(0.01)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop a server started with :meth:`start` and release its port."""
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with contextlib.suppress(OSError):
            self.socket.close()


def serve(db: str, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the viewer for the store at ``db`` in the foreground (until Ctrl+C).

    .. versionadded:: 0.1
    """
    server = Server(db, host=host, port=port)
    print(f"llmlog viewer: {server.url}", flush=True)
    server.run()
