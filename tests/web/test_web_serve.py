"""``llmlog serve`` and :class:`llmlog.web.Server`: binding, the printed URL, the token."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from webdata import Sample

from llmlog.cli import cli
from llmlog.web import Server
from llmlog.web._security import is_loopback


class TestServeCommand:
    def test_prints_its_url_and_serves(self, sample: Sample) -> None:
        """``llmlog serve --port 0`` prints a 127.0.0.1 URL that answers with the list."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMLOG_")}
        code = "from llmlog.cli import main; main()"
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "--db", str(sample.db), "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            header = proc.stdout.readline()
            url_line = proc.stdout.readline()
            assert header.startswith("llmlog viewer for ")
            m = re.fullmatch(r"\s+(http://127\.0\.0\.1:(\d+)/)\n", url_line)
            assert m, url_line
            resp = httpx.get(m.group(1), timeout=10)
            assert resp.status_code == 200 and "Interactions" in resp.text
            assert resp.headers["content-security-policy"].startswith("default-src 'none'")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)

    def test_missing_store_is_one_line(self, tmp_path: Path) -> None:
        """Without a store there is nothing to serve: one error line, exit code 1."""
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "serve"])
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: no llmlog store at ")
        assert len(result.stderr.splitlines()) == 1

    def test_port_in_use(self, sample: Sample) -> None:
        """A busy port is a one-line error that suggests another port."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            result = CliRunner().invoke(cli, ["--db", str(sample.db), "serve", "--port", str(port)])
        assert result.exit_code == 1
        assert f"port {port} is in use" in result.stderr

    def test_help_names_the_defaults(self) -> None:
        """``serve --help`` shows the loopback default and the port."""
        out = CliRunner().invoke(cli, ["serve", "--help"]).output
        assert "127.0.0.1" in out and "8765" in out and "--open / --no-open" in out


class TestServer:
    def test_loopback_bind_needs_no_token(self, sample: Sample) -> None:
        """On 127.0.0.1 there is no token and the URL is plain."""
        srv = Server(str(sample.db), port=0)
        try:
            assert srv.token is None
            assert srv.url == f"http://127.0.0.1:{srv.port}/"
        finally:
            srv.stop()

    def test_non_loopback_bind_requires_the_printed_token(
        self, sample: Sample, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A bind that other machines can reach makes a token; requests without it get 401.

        The test binds 127.0.0.1 but makes the server believe the address is
        reachable from elsewhere, so nothing is exposed while it runs.
        """
        monkeypatch.setattr("llmlog.web._server.is_loopback", lambda host: False)
        srv = Server(str(sample.db), port=0)
        srv.start()
        try:
            assert srv.token and len(srv.token) >= 24
            assert srv.url.endswith(f"/?token={srv.token}")
            root = f"http://127.0.0.1:{srv.port}/"
            with httpx.Client(timeout=10, follow_redirects=True) as c:
                assert c.get(root).status_code == 401
                assert c.get(root + "?token=nope").status_code == 401
                first = c.get(root + f"?token={srv.token}")
                assert first.status_code == 200 and first.url == root  # cookie, token gone
                assert c.get(root + "dashboard").status_code == 200
        finally:
            srv.stop()

    def test_stop_releases_the_port(self, sample: Sample) -> None:
        """After stop() the port can be bound again."""
        srv = Server(str(sample.db), port=0)
        srv.start()
        port = srv.port
        srv.stop()
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", port))


class TestLoopback:
    @pytest.mark.parametrize(
        ("host", "expected"),
        [
            ("127.0.0.1", True),
            ("127.0.0.2", True),
            ("::1", True),
            ("[::1]", True),
            ("localhost", True),
            ("0.0.0.0", False),
            ("::", False),
            ("192.168.1.10", False),
            ("10.0.0.1", False),
            ("no-such-host.invalid", False),
        ],
    )
    def test_is_loopback(self, host: str, expected: bool) -> None:
        """Only addresses (or names) that stay on this machine count as loopback."""
        assert is_loopback(host) is expected
