"""The viewer in a real browser: Debian's Chromium, headless, driven by Playwright.

Each test starts the real server (uvicorn on 127.0.0.1, an ephemeral port) over
a store written through the public API, and saves screenshots of what it saw
to ``tests/artifacts/``. Waits are on selectors and URLs, never on sleeps.
"""

from __future__ import annotations

import re
from typing import Any

from webdata import XSS, Sample, log_one, shot

from llmlog.store import open_store
from llmlog.web import Server

INJECTED = "img, script:not([src]), [onerror], [onmouseover], a[href^='javascript:']"
"""Elements that exist only if logged text was inserted as markup."""


def base(server: Server) -> str:
    return server.url.rstrip("/")


def assert_inert(page: Any) -> None:
    """Assert that no logged markup became elements and no script ran or was blocked."""
    assert page.locator(INJECTED).count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.__csp") == []  # the CSP did not even have to block anything
    assert page.dialogs == []


class TestBrowseAndFilter:
    def test_list_filter_and_open_a_detail(self, page: Any, server: Server, sample: Sample) -> None:
        """The list loads, a model filter applies and stays in the URL, a row opens its chat."""
        page.goto(base(server) + "/")
        page.wait_for_selector("tr[data-rid]")
        assert page.locator("tr[data-rid]").count() == 50
        shot(page, "list")

        page.select_option("select[name=model]", "claude-sonnet-4-5")
        page.wait_for_url(re.compile(r"\?model=claude-sonnet-4-5$"))
        models = page.locator("tr[data-rid] .c-model .model").all_inner_texts()
        assert models and set(models) == {"claude-sonnet-4-5"}
        page.reload()  # the filter is in the address: reloading keeps it
        assert page.locator("select[name=model]").input_value() == "claude-sonnet-4-5"
        shot(page, "list-filtered")

        page.goto(base(server) + "/?session=web-tools")
        page.locator(f'tr[data-rid="{sample.tools}"] .c-model').click()
        page.wait_for_url(f"**/i/{sample.tools}")
        page.wait_for_selector("article.turn.reply")
        assert page.locator("article.turn").count() == 4
        assert page.locator(".call .fn").first.inner_text() == "get_weather"
        assert page.locator(".md strong").first.inner_text() == "18 °C"
        page.click("#toggle-md")  # the exact text instead of markdown
        assert page.locator("pre.plain").first.is_visible()
        page.click("[data-json=expand]")
        assert page.locator("#json details:not([open])").count() == 0
        shot(page, "detail", full_page=True)

    def test_session_page(self, page: Any, server: Server, sample: Sample) -> None:
        """From the sessions index, a session opens with its interactions in order."""
        page.goto(base(server) + "/sessions")
        page.click('a[href="/s/web-tools"] >> nth=0')
        page.wait_for_selector(".exchange")
        ids = [e.get_attribute("data-rid") for e in page.locator(".exchange").all()]
        assert ids == [sample.tools, sample.error]
        shot(page, "session", full_page=True)


class TestDashboard:
    def test_charts_are_drawn(self, page: Any, server: Server, sample: Sample) -> None:
        """The dashboard shows every chart with data, and a bar links to its interactions."""
        page.goto(base(server) + "/dashboard")
        page.wait_for_selector("svg.chart[data-chart=requests] rect.bar")
        for name in ("requests", "tokens", "cost"):
            chart = page.locator(f"svg.chart[data-chart={name}]")
            assert int(chart.get_attribute("data-points")) > 0
            box = chart.bounding_box()
            assert box and box["width"] > 300 and box["height"] > 100
        assert page.locator("svg.chart[data-chart=latency] circle.dot").count() >= 2
        assert page.locator("#by-model tbody tr").count() >= 5
        shot(page, "dashboard", full_page=True)
        page.locator("svg.chart[data-chart=requests] a").first.click()
        page.wait_for_url(re.compile(r"/\?.*since="))
        assert page.locator("tr[data-rid]").count() > 0


class TestFeedback:
    def test_thumbs_up_with_a_comment(self, page: Any, server: Server, sample: Sample) -> None:
        """Feedback given in the page lands in the store and shows on the page."""
        page.goto(base(server) + f"/i/{sample.parts}")
        page.fill("#fb-comment", "Nice description of the cat")
        page.click("#fb-up")
        page.wait_for_selector(".saved")
        assert "Nice description of the cat" in page.locator(".fb-list").inner_text()
        with open_store(sample.db) as store:
            [fb] = store.feedback(sample.parts)
        assert (fb["score"], fb["comment"]) == (1.0, "Nice description of the cat")
        shot(page, "feedback")


class TestSafety:
    def test_xss_payload_stays_text(self, page: Any, server: Server, sample: Sample) -> None:
        """The payload shows as text in the list, the chat and the JSON view, and never runs."""
        page.goto(base(server) + "/?tag=xss")
        prompt = page.locator(f'tr[data-rid="{sample.xss}"] .c-preview .prompt')
        assert "<img src=x onerror=" in prompt.inner_text()
        assert_inert(page)

        page.goto(base(server) + f"/i/{sample.xss}")
        page.wait_for_selector("article.turn.reply")
        chat = page.locator(".chat").inner_text()
        assert "<img src=x onerror=" in chat and "<script>window.__xss=2" in chat
        assert "<script>alert(5)</script>" in chat  # the fenced code block, as code
        page.click("[data-json=expand]")
        assert "<img src=x onerror=" in page.locator("#json").inner_text()
        page.click("#toggle-md")
        assert "<b onmouseover=alert(4)>" in page.locator(".chat").inner_text()
        page.locator(".chat").hover()
        assert_inert(page)
        shot(page, "xss", full_page=True)
        page.goto(base(server) + "/s/web-xss")
        page.wait_for_selector(".exchange")
        assert "<img src=x onerror=" in page.locator(".exchange").inner_text()
        assert_inert(page)


class TestLive:
    def test_new_interaction_arrives_without_reload(
        self, page: Any, server: Server, sample: Sample
    ) -> None:
        """An interaction logged while the list is open appears at the top, escaped."""
        page.goto(base(server) + "/")
        page.wait_for_selector("#live.on")
        first = page.locator("tr[data-rid]").first.get_attribute("data-rid")
        rid = log_one(sample.db, "Live from the test " + XSS)
        row = page.wait_for_selector(f'tr[data-rid="{rid}"]')
        assert page.locator("tr[data-rid]").first.get_attribute("data-rid") == rid
        assert page.locator("tr[data-rid]").nth(1).get_attribute("data-rid") == first
        assert "<img src=x onerror=" in row.inner_text()
        assert page.inner_text("#new-count") == "1 new"
        assert_inert(page)
        shot(page, "live")
