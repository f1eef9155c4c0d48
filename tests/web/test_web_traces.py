"""The viewer's traces: the list of runs, one run as a waterfall, its nodes' details.

Over HTTP (TestClient) and in Chromium (Playwright), on a store written through the public
API: an agent run (a tool, a failing retrieval, a model call), and a run of 500 spans.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from webdata import shot

import llmlog
from llmlog.web import Server, create_app

RESP: dict[str, Any] = {
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "It has shipped."}}],
    "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320},
}


class Runs:
    def __init__(self, db: Path) -> None:
        self.db = db
        llmlog.configure(db=str(db))
        with llmlog.trace("answer_ticket") as root:
            with llmlog.span(
                "lookup_order",
                kind="tool",
                input={"order_id": "<b>A1</b>"},
                attributes={"tool_call_id": "call_1"},
            ) as s:
                s.set_output({"status": "shipped"})
            self.call = llmlog.log_interaction(
                [{"role": "tool", "tool_call_id": "call_1", "content": "shipped"}],
                RESP,
                model="gpt-4o-mini",
            )
            with pytest.raises(KeyError), llmlog.span("search_docs", kind="retrieval"):
                raise KeyError("index missing")
        self.run = root.trace_id
        with llmlog.trace("big_workflow") as big:
            for i in range(499):
                with llmlog.span(f"step {i}", kind="tool", input={"i": i}) as s:
                    s.set_output(i * 2)
        self.big = big.trace_id
        assert llmlog.flush(30)
        llmlog.reset()


@pytest.fixture
def runs(tmp_path: Path) -> Runs:
    return Runs(tmp_path / "runs.db")


@pytest.fixture
def tclient(runs: Runs) -> Iterator[TestClient]:
    with TestClient(create_app(str(runs.db)), base_url="http://127.0.0.1") as c:
        yield c


class TestHttp:
    def test_the_list_shows_each_run(self, tclient: TestClient, runs: Runs) -> None:
        html = tclient.get("/traces").text
        assert re.findall(r'data-trace="([0-9a-f]{32})"', html) == [runs.big, runs.run]
        assert "answer_ticket" in html and "big_workflow" in html
        assert '<span class="pill error">error</span>' in html

    def test_a_run_is_a_waterfall_with_details(self, tclient: TestClient, runs: Runs) -> None:
        r = tclient.get(f"/t/{runs.run}")
        assert r.status_code == 200
        nodes = re.findall(r'<li class="tnode d(\d+)([^"]*)" data-span', r.text)
        assert [(int(d), rest.strip()) for d, rest in nodes] == [
            (0, ""),
            (1, ""),
            (1, "call"),
            (1, "err"),
        ]
        assert "&lt;b&gt;A1&lt;/b&gt;" in r.text  # input shown as text, never markup
        assert f'href="/i/{runs.call}"' in r.text
        assert "KeyError: &#39;index missing&#39;" in r.text
        assert "Tool call <code>call_1</code>" in r.text
        assert re.search(r'class="result-to" href="#n-[0-9a-f]{16}"', r.text)

    def test_prefix_unknown_and_the_interaction_link(self, tclient: TestClient, runs: Runs) -> None:
        r = tclient.get(f"/t/{runs.run[:10]}", follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"] == f"/t/{runs.run}"
        r = tclient.get("/t/" + "0" * 32)
        assert r.status_code == 404 and "Trace not found" in r.text
        detail = tclient.get(f"/i/{runs.call}").text
        assert f'href="/t/{runs.run}"' in detail

    def test_bad_range_is_a_message(self, tclient: TestClient) -> None:
        r = tclient.get("/traces?since=yesterdayish")
        assert r.status_code == 400 and "Invalid time range" in r.text


@pytest.fixture
def live(runs: Runs) -> Iterator[Server]:
    srv = Server(str(runs.db), host="127.0.0.1", port=0)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


class TestBrowser:
    def test_open_a_run_and_pick_nodes(self, page: Any, live: Server, runs: Runs) -> None:
        base = live.url.rstrip("/")
        page.goto(base + "/traces")
        page.locator(f'tr[data-trace="{runs.run}"] a').first.click()
        page.wait_for_url(f"**/t/{runs.run}")
        assert page.locator("li.tnode").count() == 4
        assert not page.locator(".node-detail").first.is_visible()
        page.click("li.tnode >> text=lookup_order")
        tool = page.locator(".node-detail:target")
        assert tool.locator("h2").inner_text().endswith("lookup_order")
        assert tool.locator("pre.io-in").is_visible()
        assert '"order_id": "<b>A1</b>"' in tool.locator("pre.io-in").inner_text()
        assert '"status": "shipped"' in tool.locator("pre.io-out").inner_text()
        page.click("li.tnode.err a")
        assert "index missing" in page.locator(".node-detail:target .alert").inner_text()
        page.click("li.tnode.call a")
        page.locator(".node-detail:target a.btn").click()
        page.wait_for_url(f"**/i/{runs.call}")
        assert page.evaluate("window.__csp") == []
        shot(page, "trace-call")

    def test_a_run_of_500_spans_stays_responsive(self, page: Any, live: Server, runs: Runs) -> None:
        base = live.url.rstrip("/")
        t0 = time.perf_counter()
        page.goto(f"{base}/t/{runs.big}")
        page.wait_for_selector("li.tnode >> nth=499")
        loaded_ms = (time.perf_counter() - t0) * 1000
        assert page.locator("li.tnode").count() == 500
        t0 = time.perf_counter()
        page.click("li.tnode >> text=step 498")
        out = page.locator(".node-detail:target pre.io-out")
        assert out.is_visible() and out.inner_text() == "996"
        picked_ms = (time.perf_counter() - t0) * 1000
        shot(page, "trace-500")
        print(f"500-span trace: loaded in {loaded_ms:.0f} ms, a node picked in {picked_ms:.0f} ms")
        assert page.evaluate("window.__csp") == []
