"""Worker servers that recycle and kill their workers: every record a call returned for is kept.

Celery's prefork pool with ``--max-tasks-per-child=1`` (each child ends after one task,
through ``os._exit``) and gunicorn with several workers (here SIGKILLed right after they
answered, as its timeout does). With the collector, a record handed over survives its
worker; without it (the in-process writer) these lose what was still queued.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faultkit import sqlite_ids, wait_until

pytestmark = pytest.mark.usefixtures("collector_on")

REDIS = os.environ.get("LLMLOG_TEST_REDIS", "redis://127.0.0.1:6379/0")

TASKS = """
import os
import llmlog
from celery import Celery

app = Celery("tasks", broker=os.environ["BROKER"], backend=os.environ["BROKER"])
app.conf.task_default_queue = os.environ["QUEUE"]
app.conf.result_expires = 300

@app.task
def call(i):
    return llmlog.log_interaction(
        [{"role": "user", "content": f"task {i}"}], {"choices": []}, model="gpt-4o-mini"
    )
"""

CLIENT = """
import sys
from tasks import call
results = [call.delay(i) for i in range(int(sys.argv[1]))]
print("\\n".join(r.get(timeout=120) for r in results))
"""

WSGI = """
import llmlog

def app(environ, start_response):
    # an agent-like request: several model calls before it answers
    rids = [
        llmlog.log_interaction(
            [{"role": "user", "content": environ.get("PATH_INFO", "")}], {"choices": []},
            model="gpt-4o-mini",
        )
        for _ in range(20)
    ]
    body = f"{','.join(rids)} {__import__('os').getpid()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS).ping())
    except Exception:
        return False


@pytest.fixture()
def celery_worker(tmp_path: Path) -> Iterator[dict[str, str]]:
    if not _redis_up():
        pytest.skip(f"Redis is not reachable at {REDIS}")  # .ci/services starts it
    (tmp_path / "tasks.py").write_text(TASKS)
    env = {**os.environ, "BROKER": REDIS, "QUEUE": f"llmlog-test-{uuid.uuid4().hex[:8]}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool=prefork",
         "--concurrency=2", "--max-tasks-per-child=1", "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield env
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def test_celery_prefork_recycling_every_child(
    tmp_path: Path, celery_worker: dict[str, str]
) -> None:
    """30 tasks, each in a child that exits right after it: all 30 records kept."""
    (tmp_path / "client.py").write_text(CLIENT)
    out = subprocess.run(
        [sys.executable, "client.py", "30"],
        cwd=tmp_path, env=celery_worker, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    ids = out.stdout.split()
    assert len(ids) == 30
    assert wait_until(lambda: set(ids) <= set(sqlite_ids()), timeout=60), _diagnose(ids)
    assert sorted(sqlite_ids()) == sorted(ids)


def _diagnose(ids: list[str]) -> str:
    """What the store and the collectors say, for a failure message."""
    from llmlog.collector.handoff import running
    from llmlog.collector.launch import collector_dir

    stored = set(sqlite_ids())
    lines = [f"{len(set(ids) - stored)} of {len(ids)} missing; store has {len(stored)}"]
    lines += [str(status) for status in running()]
    lines += [f"{p.name}: {p.read_text()[-2000:]}" for p in collector_dir().glob("*.log")]
    return "\n".join(lines)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_workers_killed_after_answering(tmp_path: Path) -> None:
    """Four gunicorn workers answer 200 requests (20 records each), then each is SIGKILLed (as gunicorn's
    timeout does) and the master is stopped: every answered request's record is kept."""
    (tmp_path / "wsgi.py").write_text(WSGI)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/ping", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(up, timeout=60), "gunicorn did not start"
        ids, pids = [], set()
        with httpx.Client(timeout=10) as client:
            for i in range(200):
                rids, pid = client.get(f"{url}/q{i}").text.split()
                ids += rids.split(",")
                pids.add(int(pid))
        for pid in pids:  # at once: with the in-process writer, the last records die here
            os.kill(pid, signal.SIGKILL)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    expected = set(ids)
    assert wait_until(lambda: expected <= set(sqlite_ids()), timeout=60)
    stored = [i for i in sqlite_ids() if i in expected]
    assert sorted(stored) == sorted(ids)
