"""The viewer over HTTP (Starlette's test client): pages, filters, escaping, CSRF, token, Host."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import httpx
import orjson
import pytest
from starlette.testclient import TestClient
from webdata import XSS, Sample, log_one

from llmlog.store import Query, open_store
from llmlog.web import create_app
from llmlog.web._dashboard import _window_stats, windows

ORIGIN = "http://127.0.0.1"


def rows(html: str) -> list[str]:
    """Return the request ids of the list rows in a page."""
    return re.findall(r'<tr class="row[^"]*" data-rid="([^"]+)"', html)


def csrf_of(html: str) -> str:
    """Return the CSRF token of the feedback form in a page."""
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no feedback form on the page"
    return m.group(1)


class TestList:
    def test_newest_first_with_all_columns(self, client: TestClient, sample: Sample) -> None:
        """The list shows the newest interactions first, one row each, with a preview."""
        resp = client.get("/")
        assert resp.status_code == 200
        with open_store(sample.db) as store:
            expected = [r["request_id"] for r in store.search(Query(), limit=50).records]
        assert rows(resp.text) == expected
        assert "What is in this picture?" in resp.text  # the preview of the newest one

    def test_filters_come_from_the_url(self, client: TestClient, sample: Sample) -> None:
        """Model, status and session filters in the URL select exactly the matching rows."""
        resp = client.get("/?model=claude-sonnet-4-5&status=error&session=web-tools")
        assert rows(resp.text) == [sample.error]
        assert 'value="web-tools"' in resp.text  # the form shows the filter, ready to change

    def test_full_text_and_tag(self, client: TestClient, sample: Sample) -> None:
        """Full-text search and a tag filter narrow the list like the CLI's search."""
        assert rows(client.get("/?q=sunny&tag=tools").text) == [sample.tools]

    def test_empty_parameters_redirect_to_a_clean_url(self, client: TestClient) -> None:
        """A submitted form's empty fields are dropped, so the address stays shareable."""
        resp = client.get("/?q=&model=gpt-4o&provider=&since=", follow_redirects=False)
        assert resp.status_code == 302
        assert resp.headers["location"] == "/?model=gpt-4o"

    def test_invalid_filter_is_a_message_not_a_crash(self, client: TestClient) -> None:
        """A time the parser does not understand answers 400 with the reason on the page."""
        resp = client.get("/?since=yesterdayish")
        assert resp.status_code == 400
        assert "Invalid filter: since:" in resp.text

    def test_keyset_pages_do_not_overlap(self, client: TestClient, sample: Sample) -> None:
        """The Older link carries the store's cursor; the next page continues without repeats."""
        first = client.get("/")
        older = re.search(r'href="([^"]+)" id="older"', first.text)
        assert older, "a 64-interaction store has a second page"
        second = client.get(older.group(1).replace("&amp;", "&"))
        assert second.status_code == 200
        assert rows(second.text) and not set(rows(first.text)) & set(rows(second.text))
        with open_store(sample.db) as store:
            total = store.count()
        assert len(rows(first.text)) + len(rows(second.text)) == total

    def test_bad_cursor(self, client: TestClient) -> None:
        """A cursor that is not one of the store's answers 400, not 500."""
        assert client.get("/?cursor=nonsense").status_code == 400


class TestDetail:
    def test_chat_shows_roles_tool_calls_and_results(
        self, client: TestClient, sample: Sample
    ) -> None:
        """Every message is a turn; tool calls show name and arguments; the reply is marked."""
        html = client.get(f"/i/{sample.tools}").text
        roles = re.findall(r'<article class="turn (\w+)', html)
        assert roles == ["user", "assistant", "tool", "assistant"]
        assert '<span class="fn">get_weather</span>' in html
        assert "&#34;city&#34;: &#34;Paris&#34;" in html  # the arguments, as JSON
        assert "<strong>18 °C</strong>" in html  # markdown in the reply
        assert 'class="turn assistant reply"' in html

    def test_content_parts_and_images_are_not_fetched(
        self, client: TestClient, sample: Sample
    ) -> None:
        """A content-part list shows its text and names the image without loading it."""
        html = client.get(f"/i/{sample.parts}").text
        assert "What is in this picture?" in html
        assert "https://example.com/cat.png" in html
        assert "<img" not in html

    def test_error_is_shown(self, client: TestClient, sample: Sample) -> None:
        """A failed call shows its error type, status code and message."""
        html = client.get(f"/i/{sample.error}").text
        assert "RateLimitError (429)" in html and "slow down" in html

    def test_prefix_redirects_to_the_full_id(self, client: TestClient, sample: Sample) -> None:
        """A unique prefix of a request id redirects to the interaction's own address."""
        resp = client.get(f"/i/{sample.tools[:-4]}", follow_redirects=False)
        assert resp.status_code == 302
        assert resp.headers["location"] == f"/i/{sample.tools}"

    def test_unknown_id_is_404(self, client: TestClient) -> None:
        """An id that is not in the store answers 404 with a page saying so."""
        resp = client.get("/i/no-such-id")
        assert resp.status_code == 404
        assert "no-such-id" in resp.text

    def test_raw_json(self, client: TestClient, sample: Sample) -> None:
        """The JSON endpoint returns the stored record, as JSON, never as HTML."""
        resp = client.get(f"/api/i/{sample.xss}")
        assert resp.headers["content-type"] == "application/json"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert orjson.loads(resp.content)["request_id"] == sample.xss


class TestEscaping:
    def test_payload_is_text_everywhere(self, client: TestClient, sample: Sample) -> None:
        """The XSS payload never reaches a page as markup: list, chat, markdown and JSON."""
        for url in ("/?tag=xss", f"/i/{sample.xss}", "/s/web-xss"):
            html = client.get(url).text
            assert not re.search(r"<script>\s*(window|alert)", html), url
            assert not re.search(r"<(img|b)\b[^>]*\bon(error|mouseover)", html), url
            assert "&lt;img src=x onerror=" in html, url
        detail = client.get(f"/i/{sample.xss}").text
        assert "&lt;script&gt;alert(5)&lt;/script&gt;" in detail  # the fenced code
        assert 'href="javascript:' not in detail
        assert "&lt;b onmouseover=alert(4)&gt;" in detail

    def test_strict_content_security_policy(self, client: TestClient) -> None:
        """Every page forbids inline script, foreign sources and framing."""
        csp = client.get("/").headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
        assert "<script>" not in client.get("/").text  # no inline script at all


class TestFeedback:
    def post(self, client: TestClient, rid: str, **form: str) -> httpx.Response:
        headers = {"Origin": form.pop("origin", ORIGIN)}
        return client.post(f"/i/{rid}/feedback", data=form, headers=headers, follow_redirects=False)

    def test_thumbs_up_is_stored(self, client: TestClient, sample: Sample) -> None:
        """A genuine form post stores the score and comment and redirects to the page."""
        token = csrf_of(client.get(f"/i/{sample.tools}").text)
        resp = self.post(client, sample.tools, csrf=token, score="1", comment="spot on")
        assert resp.status_code == 303
        assert resp.headers["location"].startswith(f"/i/{sample.tools}?feedback=saved")
        with open_store(sample.db) as store:
            [fb] = store.feedback(sample.tools)
        assert (fb["score"], fb["comment"]) == (1.0, "spot on")
        assert "spot on" in client.get(f"/i/{sample.tools}").text

    def test_comment_is_redacted(self, client: TestClient, sample: Sample) -> None:
        """A comment goes through llmlog's processors: an email in it is redacted."""
        token = csrf_of(client.get(f"/i/{sample.tools}").text)
        self.post(client, sample.tools, csrf=token, score="0", comment="mail jo@example.com")
        with open_store(sample.db) as store:
            [fb] = store.feedback(sample.tools)
        assert fb["score"] == 0.0 and "jo@example.com" not in str(fb["comment"])

    def test_missing_token_is_refused(self, client: TestClient, sample: Sample) -> None:
        """Without the CSRF token the post is refused and nothing is written."""
        client.get(f"/i/{sample.tools}")
        resp = self.post(client, sample.tools, score="1")
        assert resp.status_code == 403
        with open_store(sample.db) as store:
            assert store.feedback(sample.tools) == []

    def test_token_of_another_browser_is_refused(self, client: TestClient, sample: Sample) -> None:
        """A token only works with the cookie it was made for."""
        token = csrf_of(client.get(f"/i/{sample.tools}").text)
        client.cookies.clear()
        client.get("/")  # a new cookie
        assert self.post(client, sample.tools, csrf=token, score="1").status_code == 403

    def test_cross_origin_post_is_refused(self, client: TestClient, sample: Sample) -> None:
        """A post from another origin is refused even with a valid token and cookie."""
        token = csrf_of(client.get(f"/i/{sample.tools}").text)
        resp = self.post(client, sample.tools, csrf=token, score="1", origin="https://evil.example")
        assert resp.status_code == 403
        assert "cross-origin" in resp.text

    def test_missing_origin_is_refused(self, client: TestClient, sample: Sample) -> None:
        """A post with neither Origin nor Referer is refused."""
        token = csrf_of(client.get(f"/i/{sample.tools}").text)
        resp = client.post(
            f"/i/{sample.tools}/feedback",
            data={"csrf": token, "score": "1"},
            follow_redirects=False,
        )
        assert resp.status_code == 403

    def test_json_body_is_refused(self, client: TestClient, sample: Sample) -> None:
        """Only the form's content type is accepted (no JSON, no multipart)."""
        resp = client.post(
            f"/i/{sample.tools}/feedback", json={"score": 1}, headers={"Origin": ORIGIN}
        )
        assert resp.status_code == 415

    def test_bad_score_and_unknown_id(self, client: TestClient, sample: Sample) -> None:
        """A score that is not a number is 400; an unknown interaction is 404."""
        token = csrf_of(client.get(f"/i/{sample.tools}").text)
        assert self.post(client, sample.tools, csrf=token, score="lots").status_code == 400
        assert self.post(client, "nope", csrf=token, score="1").status_code == 404

    def test_get_cannot_write(self, client: TestClient, sample: Sample) -> None:
        """The feedback address does not accept GET: no write through a link or an image."""
        assert client.get(f"/i/{sample.tools}/feedback?score=1").status_code in (404, 405)


class TestSessions:
    def test_session_in_order(self, client: TestClient, sample: Sample) -> None:
        """The session page lists its interactions oldest first, each with its new turns."""
        html = client.get("/s/web-tools").text
        assert re.findall(r'class="exchange" data-rid="([^"]+)"', html) == [
            sample.tools,
            sample.error,
        ]
        assert "RateLimitError" in html

    def test_sessions_index(self, client: TestClient) -> None:
        """The sessions page lists recent sessions with links to each."""
        html = client.get("/sessions").text
        assert 'href="/s/web-tools"' in html and 'href="/s/web-xss"' in html

    def test_unknown_session(self, client: TestClient) -> None:
        """A session id with no interactions answers 404."""
        assert client.get("/s/nothing-here").status_code == 404


class TestDashboard:
    def test_charts_have_data(self, client: TestClient) -> None:
        """The dashboard draws every chart as inline SVG with data points."""
        html = client.get("/dashboard").text
        for name in ("requests", "errors", "latency", "tokens", "cost"):
            m = re.search(rf'data-chart="{name}" data-kind="\w+" data-points="(\d+)"', html)
            assert m and int(m.group(1)) > 0, name
        assert 'id="by-model"' in html and "claude-sonnet-4-5" in html

    def test_daily_points_match_the_store(self, client: TestClient, sample: Sample) -> None:
        """Over 30 days the points are days, counted exactly as ``stats(bucket="day")`` does."""
        html = client.get("/dashboard?since=30d").text
        assert "per day" in html
        tips = re.findall(r"<title>([^<]+) · (ok|errors): (\d+)</title>", html)
        with open_store(sample.db) as store:
            [day] = store.stats(Query.parse(since="30d"), bucket="day")
        assert sum(int(n) for _, kind, n in tips if kind == "ok") == day.count - day.errors
        assert sum(int(n) for _, kind, n in tips if kind == "errors") == day.errors

    def test_window_calls_match_day_buckets(self, sample: Sample) -> None:
        """Per-window calls (busy stores) give the same days as ``stats(bucket="day")``."""
        query = Query.parse(since="30d")
        now = time.time()
        _, xs = windows(query.since or 0.0, now)
        rows = _window_stats(lambda: open_store(sample.db), query, xs, now)
        with open_store(sample.db) as store:
            days = {r.bucket: r for r in store.stats(query, bucket="day")}
        assert rows and rows.keys() == days.keys()
        for day, row in rows.items():
            assert (row.count, row.errors, row.total_tokens, row.latency_p95_ms) == (
                days[day].count,
                days[day].errors,
                days[day].total_tokens,
                days[day].latency_p95_ms,
            )

    def test_filters_and_ranges(self, client: TestClient) -> None:
        """Model filter and range tabs apply; an invalid range is a 400 with the reason."""
        html = client.get("/dashboard?model=gpt-4o&since=30d").text
        assert re.search(r'<a class="on" href="[^"]*">30 days</a>', html)
        assert ">gpt-4o-mini</a>" not in html  # only the filtered model in the table
        assert client.get("/dashboard?since=bogus").status_code == 400


class TestLive:
    def test_tail_returns_rows_after_the_cursor(self, client: TestClient, sample: Sample) -> None:
        """The live endpoint returns only interactions written after the page's cursor."""
        cursor = re.search(r'data-cursor="([^"]+)"', client.get("/").text)
        assert cursor
        empty = client.get(f"/api/tail?cursor={cursor.group(1)}").json()
        assert empty["count"] == 0
        rid = log_one(sample.db, "late arrival " + XSS)
        new = client.get(f"/api/tail?cursor={cursor.group(1)}").json()
        assert new["count"] == 1 and f'data-rid="{rid}"' in new["html"]
        assert "&lt;img src=x" in new["html"] and "<img src=x" not in new["html"]
        assert client.get(f"/api/tail?cursor={quote(new['cursor'])}").json()["count"] == 0

    def test_tail_keeps_the_filters(self, client: TestClient, sample: Sample) -> None:
        """Live rows honour the list's filters (a non-matching arrival is not sent)."""
        cursor = re.search(r'data-cursor="([^"]+)"', client.get("/?model=gpt-4o").text)
        assert cursor
        log_one(sample.db, "a gpt-4o-mini call")
        resp = client.get(f"/api/tail?model=gpt-4o&cursor={cursor.group(1)}")
        assert resp.json()["count"] == 0

    def test_tail_needs_a_cursor(self, client: TestClient) -> None:
        """Without a cursor the endpoint answers 400."""
        assert client.get("/api/tail").status_code == 400


class TestHostAndToken:
    def test_foreign_host_is_refused_on_loopback(self, sample: Sample) -> None:
        """Bound to loopback, a request for another host name is refused (DNS rebinding)."""
        with TestClient(create_app(str(sample.db)), base_url="http://evil.example") as c:
            resp = c.get("/")
        assert resp.status_code == 400
        assert "Invalid Host" in resp.text

    @pytest.mark.parametrize("host", ["http://localhost:8765", "http://[::1]:8765"])
    def test_loopback_names_are_accepted(self, sample: Sample, host: str) -> None:
        """localhost and [::1] are loopback names too."""
        with TestClient(create_app(str(sample.db)), base_url=host) as c:
            assert c.get("/").status_code == 200

    def test_token_required(self, sample: Sample) -> None:
        """With a token, nothing is served without it, whatever the path."""
        app = create_app(str(sample.db), token="s3cret-token", check_host=False)
        with TestClient(app, base_url="http://192.0.2.10:8765") as c:
            for path in (
                "/",
                "/dashboard",
                f"/i/{sample.xss}",
                "/api/tail?cursor=x",
                "/static/app.css",
            ):
                assert c.get(path).status_code == 401, path
            assert c.get("/?token=wrong").status_code == 401

    def test_token_in_url_becomes_a_cookie(self, sample: Sample) -> None:
        """The printed ?token= URL sets an HttpOnly SameSite cookie and drops the token."""
        app = create_app(
            str(sample.db), token="s3cret-token", check_host=False, cookie_suffix="_8765"
        )
        with TestClient(app, base_url="http://192.0.2.10:8765") as c:
            resp = c.get("/?model=gpt-4o&token=s3cret-token", follow_redirects=False)
            assert resp.status_code == 303
            assert resp.headers["location"] == "/?model=gpt-4o"
            cookie = resp.headers["set-cookie"].lower()
            assert "llmlog_token_8765=s3cret-token" in cookie
            assert "httponly" in cookie and "samesite=strict" in cookie
            assert c.get("/dashboard").status_code == 200  # the cookie carries it now

    def test_token_redirect_stays_on_this_server(self, sample: Sample) -> None:
        """A crafted ``//host`` path cannot turn the token redirect into an open redirect."""
        app = create_app(str(sample.db), token="s3cret-token", check_host=False)
        with TestClient(app, base_url="http://192.0.2.10:8765") as c:
            resp = c.get(
                "http://192.0.2.10:8765//evil.example/x?token=s3cret-token", follow_redirects=False
            )
        assert resp.status_code == 303
        assert resp.headers["location"] == "/evil.example/x"

    def test_bearer_header(self, sample: Sample) -> None:
        """Scripts may send the token as a bearer token instead."""
        app = create_app(str(sample.db), token="s3cret-token", check_host=False)
        with TestClient(app, base_url="http://192.0.2.10:8765") as c:
            ok = c.get("/api/tail?cursor=MA", headers={"Authorization": "Bearer s3cret-token"})
            assert ok.status_code == 200


class TestStatic:
    def test_assets_are_served_with_the_same_headers(self, client: TestClient) -> None:
        """The stylesheet and script are served locally, under the same CSP."""
        for path, kind in (("/static/app.css", "text/css"), ("/static/app.js", "javascript")):
            resp = client.get(path)
            assert resp.status_code == 200 and kind in resp.headers["content-type"]
            assert "content-security-policy" in resp.headers

    def test_unknown_page_is_404(self, client: TestClient) -> None:
        """An unknown address answers 404 with a page, not a traceback."""
        resp = client.get("/no/such/page")
        assert resp.status_code == 404 and "There is no page" in resp.text
