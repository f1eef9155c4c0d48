"""The viewer's pieces on their own: filters, chat turns, markdown, JSON tree, charts, CSRF."""

from __future__ import annotations

import itertools
import re
from datetime import datetime

import pytest
from starlette.requests import Request

from llmlog.store import Query
from llmlog.web._charts import Series, bar_chart, line_chart, nice_scale, share_bar
from llmlog.web._content import conversation, json_tree, markdown, new_turns
from llmlog.web._dashboard import windows
from llmlog.web._filters import Filters
from llmlog.web._security import Csrf, origin_of
from llmlog.web._templates import fmt_money, preview_parts

PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


class TestFilters:
    def test_round_trip_through_the_url(self) -> None:
        """Parameters become filters and back, in a stable order, empty ones dropped."""
        f = Filters.from_params(
            [
                ("tag", "b"),
                ("model", "m1"),
                ("q", "refund"),
                ("model", "m2"),
                ("status", ""),
                ("tag", "a"),
                ("cursor", "x"),
            ]
        )
        assert f.models == ("m1", "m2") and f.tags == ("b", "a") and f.status == ""
        assert f.url("/") == "/?q=refund&model=m1&model=m2&tag=b&tag=a"

    def test_query_matches_the_cli_parser(self) -> None:
        """The URL's filters mean what the same CLI options mean."""
        f = Filters(
            text="x",
            models=("gpt-4o",),
            status="error",
            session="s",
            tags=("t",),
            since="2h",
            user="u",
        )
        assert f.query(now=10_000.0) == Query(
            text="x",
            models=("gpt-4o",),
            status="error",
            session_id="s",
            tags=("t",),
            since=2_800.0,
            user_id="u",
        )

    def test_invalid_value_names_the_filter(self) -> None:
        """A bad value raises ValueError naming the filter."""
        with pytest.raises(ValueError, match=r"^until:"):
            Filters(until="soonish").query()

    def test_without_removes_one_value(self) -> None:
        """Removing a chip drops that value only."""
        f = Filters(models=("a", "b"), status="ok")
        assert f.without("model", "a") == Filters(models=("b",), status="ok")
        assert f.without("status") == Filters(models=("a", "b"))


class TestConversation:
    def test_openai_tool_round_trip(self) -> None:
        """Tool calls keep their name and arguments; tool results say what they answer."""
        rec = {
            "prompt_messages": [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "18C"},
            ],
            "parsed_output": "It is 18C.",
            "model": "gpt-4o",
        }
        turns = conversation(rec)
        assert [t.role for t in turns] == ["user", "assistant", "tool", "assistant"]
        call = turns[1].blocks[0]
        assert (call.kind, call.name, call.ident) == ("call", "get_weather", "c1")
        assert '"city": "Paris"' in call.text
        assert turns[2].detail == "result of c1" and turns[2].blocks[0].kind == "result"
        assert turns[3].reply and turns[3].detail == "gpt-4o"

    def test_anthropic_parts_and_system(self) -> None:
        """A system prompt in params, tool_use/tool_result parts and images are all shown."""
        rec = {
            "params": {"system": "Be brief."},
            "prompt_messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                        },
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "zoom", "input": {"x": 2}}
                    ],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "zoomed"}],
                },
            ],
            "tool_calls": [{"id": "t2", "name": "crop", "arguments": {"w": 1}}],
        }
        turns = conversation(rec)
        assert [t.role for t in turns] == ["system", "user", "assistant", "user", "assistant"]
        assert [b.kind for b in turns[1].blocks] == ["text", "media"]
        assert turns[1].blocks[1].text == "image/png"  # described, never the bytes
        assert turns[2].blocks[0].name == "zoom"
        assert turns[3].blocks[0].kind == "result" and turns[3].blocks[0].ident == "t1"
        assert turns[4].reply and turns[4].blocks[0].name == "crop"

    def test_new_turns_skip_the_resent_history(self) -> None:
        """In a session, each call shows only what it added: the new user turn and reply."""
        rec = {
            "prompt_messages": [
                {"role": "system", "content": "S"},
                {"role": "user", "content": "one"},
                {"role": "assistant", "content": "1"},
                {"role": "user", "content": "two"},
            ],
            "parsed_output": "2",
        }
        assert [(t.role, t.blocks[0].text) for t in new_turns(rec, first=False)] == [
            ("user", "two"),
            ("assistant", "2"),
        ]

    def test_structured_output(self) -> None:
        """A structured (non-text) output is shown as JSON data."""
        [reply] = conversation({"prompt_messages": [], "parsed_output": {"a": [1, 2]}})[-1:]
        assert reply.blocks[0].kind == "data" and '"a"' in reply.blocks[0].text


class TestMarkdown:
    def test_raw_html_is_text(self) -> None:
        """HTML in markdown is escaped, never passed through."""
        html = str(markdown("hi " + PAYLOAD))
        assert "<img" not in html and "<script" not in html
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html

    def test_unsafe_links_and_images_are_dropped(self) -> None:
        """javascript: links are not links; images are not loaded; links open safely."""
        html = str(
            markdown(
                "[a](javascript:alert(1)) ![i](https://t.example/p.gif) [ok](https://example.com)"
            )
        )
        assert 'href="javascript:' not in html and "<img" not in html
        assert (
            '<a href="https://example.com" rel="noopener noreferrer nofollow" '
            'target="_blank">ok</a>'
        ) in html

    def test_code_blocks(self) -> None:
        """Fenced code is shown as code, its content escaped."""
        html = str(markdown("```html\n<script>x()</script>\n```"))
        assert '<pre><code class="language-html">&lt;script&gt;x()&lt;/script&gt;' in html


class TestJsonTree:
    def test_keys_and_strings_are_escaped(self) -> None:
        """Hostile keys and values in a record stay text in the tree."""
        html = str(json_tree({PAYLOAD: [PAYLOAD, 1, None, True], "n": {}}))
        assert "<img" not in html and "<script" not in html
        assert html.count("&lt;img src=x onerror=") == 2

    def test_structure(self) -> None:
        """Objects and arrays are collapsible with their sizes; the top level is open."""
        html = str(json_tree({"a": [1, 2], "b": {"c": "d"}}))
        assert html.startswith('<ul class="json"><li><details class="jv" open>')
        assert "[2 items]" in html and "{1 key}" in html


class TestCharts:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (0.025, (0.03, 3)),
            (200, (200.0, 4)),
            (15_000, (15_000.0, 3)),
            (0, (1.0, 4)),
            (7, (8.0, 4)),
        ],
    )
    def test_nice_scale(self, value: float, expected: tuple[float, int]) -> None:
        """Axes end on round numbers with at most four steps."""
        top, steps = nice_scale(value)
        assert (round(top, 10), steps) == expected

    def test_bars_stack_and_escape(self) -> None:
        """Bars stack per bucket; series names (logged model names) are escaped in tooltips."""
        svg = str(
            bar_chart(
                "r",
                "Requests",
                [0.0, 3600.0],
                [Series(PAYLOAD, [1, 2], "s0"), Series("b", [None, 2], "s1")],
                bucket="hour",
                fmt=str,
            )
        )
        assert svg.count('<rect class="bar') == 3 and 'data-points="2"' in svg
        assert "<img" not in svg and "&lt;img" in svg

    def test_lines_break_at_gaps(self) -> None:
        """A missing value splits the line; every known value gets a dot."""
        svg = str(
            line_chart(
                "l",
                "Latency",
                [0.0, 1.0, 2.0, 3.0],
                [Series("p50", [1, None, 2, 3], "s0")],
                bucket="hour",
                fmt=str,
            )
        )
        assert svg.count("<polyline") == 1 and svg.count("<circle") == 3

    def test_empty_chart_says_so(self) -> None:
        """A chart with no data says so instead of drawing nothing."""
        svg = str(bar_chart("r", "Requests", [0.0], [Series("a", [None])], bucket="day", fmt=str))
        assert "No data in this range" in svg and 'data-points="0"' in svg

    def test_share_bar_is_clamped(self) -> None:
        """A share is drawn between 0 and 100 percent."""
        assert 'width="100.0"' in str(share_bar(3.0)).split("track")[1]
        assert 'class="bar s0" x="0" y="0" width="0.0"' in str(share_bar(-1))


def _local(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class TestWindows:
    def test_hours_up_to_two_days(self) -> None:
        """Up to two days the points are the store's UTC-aligned hours."""
        unit, xs = windows(7200.5, 7200.5 + 86400)
        assert unit == "hour" and xs[0] == 7200.0 and len(xs) == 25
        assert all(b - a == 3600 for a, b in itertools.pairwise(xs))

    def test_days_weeks_months(self) -> None:
        """Longer ranges get local days, then weeks from Monday, then months."""
        unit, xs = windows(_local("2026-11-01T15:00"), _local("2026-11-08T09:00"))
        assert unit == "day" and len(xs) == 8 and xs[0] == _local("2026-11-01")
        unit, xs = windows(_local("2026-01-15T10:00"), _local("2026-06-01"))
        assert unit == "week" and xs[0] == _local("2026-01-12")  # a Monday
        unit, xs = windows(_local("2024-02-10"), _local("2026-11-26"))
        assert unit == "month" and xs[:2] == [_local("2024-02-01"), _local("2024-03-01")]
        assert len(xs) == 34


class TestFormatting:
    @pytest.mark.parametrize(
        ("usd", "text"),
        [
            (None, "-"),
            (0, "$0"),
            (0.000695, "$0.000695"),
            (0.0235, "$0.0235"),
            (0.5, "$0.50"),
            (1.234, "$1.23"),
            (1234.5, "$1,234"),
            (1e-7, "$0.0000001"),
        ],
    )
    def test_money(self, usd: float | None, text: str) -> None:
        """Costs show cents, or three significant digits when under ten cents."""
        assert fmt_money(usd) == text

    def test_preview(self) -> None:
        """The preview is the last user message and the reply (or the error), on one line."""
        rec = {
            "prompt_messages": [
                {"role": "user", "content": "a\n b"},
                {"role": "assistant", "content": "x"},
                {"role": "user", "content": "c"},
            ],
            "parsed_output": None,
            "error": {"type": "E", "message": "m"},
        }
        assert preview_parts(rec) == ("c", "E: m")


def _request(headers: dict[str, str], cookies: str = "") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if cookies:
        raw.append((b"cookie", cookies.encode()))
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": "http",
            "path": "/",
            "server": ("127.0.0.1", 8765),
            "headers": raw,
            "query_string": b"",
        }
    )


class TestCsrf:
    def test_token_is_bound_to_the_cookie(self) -> None:
        """The form token matches only the cookie it was made for, from our own origin."""
        csrf = Csrf(b"k" * 32)
        token, fresh = csrf.token(_request({"host": "127.0.0.1:8765"}))
        assert fresh and re.fullmatch(r"[0-9a-f]{64}", token)
        ok = _request(
            {"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765"}, f"llmlog_csrf={fresh}"
        )
        assert csrf.check(ok, token) is None
        assert csrf.check(ok, "0" * 64) == "invalid CSRF token (reload the page)"
        other = _request(
            {"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765"}, "llmlog_csrf=" + "z" * 32
        )
        assert csrf.check(other, token) is not None

    def test_origin_null_falls_back_to_referer(self) -> None:
        """``Origin: null`` is checked against the Referer; cross-site referers are refused."""
        csrf = Csrf(b"k" * 32)
        token, fresh = csrf.token(_request({"host": "127.0.0.1:8765"}))
        cookie = f"llmlog_csrf={fresh}"
        same = _request(
            {"host": "127.0.0.1:8765", "origin": "null", "referer": "http://127.0.0.1:8765/i/x"},
            cookie,
        )
        assert csrf.check(same, token) is None
        cross = _request(
            {"host": "127.0.0.1:8765", "origin": "null", "referer": "https://evil.example/page"},
            cookie,
        )
        assert csrf.check(cross, token) == "cross-origin request from https://evil.example"

    def test_origin_of(self) -> None:
        """Origins are scheme, host and port, lower-cased; relative URLs have none."""
        assert origin_of("HTTP://LocalHost:8765/x?y") == "http://localhost:8765"
        assert origin_of("/relative") is None
