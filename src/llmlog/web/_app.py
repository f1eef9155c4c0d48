"""The viewer's routes: pages rendered on the server, plus two small JSON endpoints.

=========================  ==================================================
``GET /``                  interactions, filtered by the URL, keyset pages
``GET /i/<id>``            one interaction: the chat, feedback, the raw record
``POST /i/<id>/feedback``  the only write (CSRF-checked), then back to the page
``GET /s/<session>``       every interaction of a session, oldest first
``GET /sessions``          sessions, most recently active first
``GET /dashboard``         charts over time and by model
``GET /api/tail``          rows written after a cursor (live arrival, polled)
``GET /api/i/<id>``        one record as JSON
=========================  ==================================================

Page handlers are plain functions that Starlette runs on its worker threads;
each opens the store for the request (an SQLite open is ~0.5 ms) and closes it,
so every thread has its own connection, as the Store protocol requires.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from llmlog.store import (
    AmbiguousIdError,
    InteractionNotFoundError,
    Query,
    Store,
    StoreError,
    TraceNotFoundError,
    open_store,
)
from llmlog.web._content import conversation, json_tree, new_turns, tool_names
from llmlog.web._dashboard import DEFAULT_RANGE, RANGES, build_dashboard, range_url
from llmlog.web._feedback import MAX_COMMENT, FeedbackError, write_feedback
from llmlog.web._filters import PARAMS, TIME_PRESETS, Filters
from llmlog.web._security import Csrf, Guard
from llmlog.web._templates import render
from llmlog.web._traces import TRACE_RANGES, since_of
from llmlog.web._traces import rows as trace_rows

__all__ = ["PAGE_SIZE", "create_app"]

PAGE_SIZE = 50
"""Interactions per page of the list."""
SESSION_PAGE = 200
FACETS_TTL = 60.0
MAX_FORM_BYTES = 16_384
STATIC = Path(__file__).resolve().parent / "static"
SESSION_RANGES: tuple[tuple[str, str], ...] = (
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("all", "Any time"),
)


class _Facets:
    """The models and providers in the store, for the filter menus (cached a minute)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = -FACETS_TTL
        self._value: tuple[list[str], list[str]] = ([], [])

    def get(self, store: Store) -> tuple[list[str], list[str]]:
        now = time.monotonic()
        with self._lock:
            if now - self._at < FACETS_TTL:
                return self._value
        models = sorted(r.group for r in store.stats(by="model") if r.group)
        providers = sorted(r.group for r in store.stats(by="provider") if r.group)
        with self._lock:
            self._value, self._at = (models, providers), now
        return self._value


def _clean_redirect(request: Request, keep: Sequence[str] = ()) -> Response | None:
    """Redirect to the same page without empty or unknown parameters (shareable URLs)."""
    items = request.query_params.multi_items()
    known = {*PARAMS, "cursor", *keep}
    clean = [(k, v.strip()) for k, v in items if k in known and v.strip()]
    if clean == list(items):
        return None
    qs = urlencode(clean)
    path = "/" + request.url.path.lstrip("/")  # never "//host": no open redirect
    return RedirectResponse(path + (f"?{qs}" if qs else ""), status_code=302)


def _rid_url(rid: str) -> str:
    return "/i/" + quote(rid, safe="")


class Viewer:
    """The route handlers, bound to one store.

    Args:
        url: the store to read (and to write feedback to).
        csrf: the CSRF token maker and checker.
        live_interval: seconds between polls for new interactions (the list page).
    """

    def __init__(self, url: str, *, csrf: Csrf, live_interval: float = 2.0) -> None:
        self.url = url
        self.csrf = csrf
        self.live_interval = live_interval
        self.store_name = os.path.basename(url.rstrip("/")) or url
        self.facets = _Facets()

    # -- plumbing ----------------------------------------------------------------------------

    def _store(self) -> Store:
        return open_store(self.url)

    def _page(
        self, request: Request, template: str, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        token, fresh = self.csrf.token(request)
        context.setdefault("title", "llmlog")
        context.setdefault("nav", "")
        html = render(
            template, csrf=token, store_name=self.store_name, store_url=self.url, **context
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["cache-control"] = "no-store"
        self.csrf.set_cookie(response, fresh)
        return response

    def _error(self, request: Request, status: int, heading: str, message: str) -> HTMLResponse:
        return self._page(
            request, "error.html", status=status, title=heading, heading=heading, message=message
        )

    # -- the list ----------------------------------------------------------------------------

    def interactions(self, request: Request) -> Response:
        """The interactions list: filters from the URL, newest first, keyset pages."""
        redirect = _clean_redirect(request)
        if redirect is not None:
            return redirect
        filters = Filters.from_params(request.query_params.multi_items())
        cursor = request.query_params.get("cursor")
        error: str | None = None
        records: list[Any] = []
        scores: dict[str, float] = {}
        next_cursor = live_cursor = None
        try:
            query: Query | None = filters.query()
        except ValueError as exc:
            query, error = None, f"Invalid filter: {exc}"
        with self._store() as store:
            models, providers = self.facets.get(store)
            if query is not None:
                try:
                    if cursor is None and not filters.until:
                        # where the store is now, read before the page so nothing falls
                        # between them (the position is the same whatever the filters;
                        # unfiltered it is cheapest)
                        live_cursor = store.tail(limit=1).cursor
                    page = store.search(query, limit=PAGE_SIZE, cursor=cursor)
                    records, next_cursor = page.records, page.next_cursor
                    scores = store.latest_scores([str(r.get("request_id")) for r in records])
                except ValueError as exc:
                    error = f"Invalid page: {exc}"
        status = 400 if error else 200
        since_options = list(TIME_PRESETS)
        if filters.since and filters.since not in dict(TIME_PRESETS):
            since_options.append((filters.since, f"Since {filters.since}"))
        return self._page(
            request,
            "list.html",
            status=status,
            title="Interactions",
            nav="list",
            filters=filters,
            records=records,
            scores=scores,
            error=error,
            chips=[
                (label, value, filters.without(param, value).url("/"))
                for label, value, param in filters.chips()
            ],
            models=models,
            providers=providers,
            since_options=since_options,
            next_url=filters.url("/", extra=[("cursor", next_cursor)]) if next_cursor else None,
            first_url=filters.url("/") if cursor else None,
            live_url=filters.url("/api/tail") if live_cursor else None,
            live_cursor=live_cursor,
            live_interval=int(self.live_interval * 1000),
            more_open=bool(
                filters.session
                or filters.tags
                or filters.user
                or filters.until
                or len(filters.models) > 1
                or len(filters.providers) > 1
            ),
        )

    def tail(self, request: Request) -> Response:
        """New interactions since ``cursor`` (oldest first), as rows for the list."""
        filters = Filters.from_params(request.query_params.multi_items())
        cursor = request.query_params.get("cursor")
        if not cursor:
            return JSONResponse({"error": "cursor is required"}, status_code=400)
        try:
            query = filters.query()
            with self._store() as store:
                batch = store.tail(query, cursor=cursor, limit=PAGE_SIZE)
                scores = store.latest_scores([str(r.get("request_id")) for r in batch.records])
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        newest_first = list(reversed(batch.records))
        html = render("_rows.html", records=newest_first, scores=scores) if newest_first else ""
        return JSONResponse(
            {"cursor": batch.cursor, "count": len(newest_first), "html": str(html)},
            headers={"cache-control": "no-store"},
        )

    # -- one interaction ---------------------------------------------------------------------

    def detail(self, request: Request) -> Response:
        """One interaction: the conversation as a chat, its feedback, and the raw record."""
        rid = request.path_params["rid"]
        with self._store() as store:
            try:
                rec = store.get(rid)
            except (InteractionNotFoundError, AmbiguousIdError) as exc:
                return self._error(request, 404, "Interaction not found", str(exc))
            full = str(rec.get("request_id"))
            if full != rid:
                return RedirectResponse(_rid_url(full), status_code=302)
            feedback = store.feedback(full)
            siblings: list[str] = []
            sid = rec.get("session_id")
            if sid:
                page = store.search(Query(session_id=str(sid)), limit=SESSION_PAGE, order="oldest")
                siblings = [str(r.get("request_id")) for r in page.records]
        position = siblings.index(full) if full in siblings else -1
        params = rec.get("params") if isinstance(rec.get("params"), Mapping) else {}
        assert isinstance(params, Mapping)
        shown_params = {k: v for k, v in params.items() if k not in ("tools", "system")}
        tools = params.get("tools")
        return self._page(
            request,
            "detail.html",
            title=f"{rec.get('model') or 'interaction'} · {full[-12:]}",
            nav="list",
            rec=rec,
            rid_url=_rid_url(full),
            turns=conversation(rec),
            tree=json_tree(rec),
            feedback=feedback,
            saved=request.query_params.get("feedback"),
            params={k: orjson.dumps(v).decode() for k, v in shown_params.items()},
            tools=tool_names(tools) if isinstance(tools, list) else [],
            metadata=orjson.dumps(rec.get("metadata")).decode() if rec.get("metadata") else None,
            session_url="/s/" + quote(str(sid), safe="") if sid else None,
            trace_url="/t/" + str(rec.get("trace_id")) if rec.get("trace_id") else None,
            session_pos=(position + 1, len(siblings)) if position >= 0 else None,
            prev_url=_rid_url(siblings[position - 1]) if position > 0 else None,
            next_url=_rid_url(siblings[position + 1])
            if 0 <= position < len(siblings) - 1
            else None,
            max_comment=MAX_COMMENT,
        )

    def record_json(self, request: Request) -> Response:
        """One record as JSON (what ``llmlog show --json`` prints)."""
        rid = request.path_params["rid"]
        with self._store() as store:
            try:
                rec = store.get(rid)
            except (InteractionNotFoundError, AmbiguousIdError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
        return Response(
            orjson.dumps(rec, option=orjson.OPT_INDENT_2),
            media_type="application/json",
            headers={"cache-control": "no-store"},
        )

    async def feedback(self, request: Request) -> Response:
        """Record 👍/👎 (score 1/0) and a comment; the only write. CSRF-checked."""
        rid = request.path_params["rid"]
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return self._error(
                request, 415, "Unsupported form", "Feedback must be sent by the feedback form."
            )
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
            return self._error(request, 413, "Too large", "The feedback form is too large.")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return self._error(request, 413, "Too large", "The feedback form is too large.")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        reason = self.csrf.check(request, form.get("csrf"))
        if reason is not None:
            return self._error(
                request, 403, "Request refused", f"Feedback was not saved: {reason}."
            )
        try:
            score = float(form.get("score", ""))
        except ValueError:
            return self._error(request, 400, "Invalid feedback", "The score must be a number.")
        if score != score or abs(score) > 1e9:
            return self._error(request, 400, "Invalid feedback", "The score must be a number.")
        comment = form.get("comment", "").strip()
        if len(comment) > MAX_COMMENT:
            return self._error(
                request,
                400,
                "Invalid feedback",
                f"The comment is longer than {MAX_COMMENT} characters.",
            )

        def save() -> str:
            with self._store() as store:
                full = str(store.get(rid).get("request_id"))
            write_feedback(self.url, full, score, comment or None)
            return full

        try:
            full = await run_in_threadpool(save)
        except (InteractionNotFoundError, AmbiguousIdError) as exc:
            return self._error(request, 404, "Interaction not found", str(exc))
        except FeedbackError as exc:
            return self._error(request, 500, "Feedback not saved", str(exc))
        return RedirectResponse(f"{_rid_url(full)}?feedback=saved#feedback", status_code=303)

    # -- sessions ----------------------------------------------------------------------------

    def session(self, request: Request) -> Response:
        """Every interaction of one session, oldest first, as one conversation."""
        sid = request.path_params["sid"]
        cursor = request.query_params.get("cursor")
        query = Query(session_id=sid)
        with self._store() as store:
            try:
                page = store.search(query, limit=SESSION_PAGE, cursor=cursor, order="oldest")
            except ValueError as exc:
                return self._error(request, 400, "Invalid page", str(exc))
            if not page.records and cursor is None:
                return self._error(
                    request, 404, "Session not found", f"No interaction has session id {sid!r}."
                )
            [total] = store.stats(query)
            scores = store.latest_scores([str(r.get("request_id")) for r in page.records])
        items = [
            (
                rec,
                _rid_url(str(rec.get("request_id"))),
                new_turns(rec, first=cursor is None and i == 0),
            )
            for i, rec in enumerate(page.records)
        ]
        users = sorted({str(r.get("user_id")) for r in page.records if r.get("user_id")})
        models = sorted({str(r.get("model")) for r in page.records if r.get("model")})
        base = "/s/" + quote(sid, safe="")
        return self._page(
            request,
            "session.html",
            title=f"Session {sid}",
            nav="sessions",
            sid=sid,
            items=items,
            total=total,
            scores=scores,
            users=users,
            models=models,
            list_url=Filters(session=sid).url("/"),
            next_url=f"{base}?{urlencode({'cursor': page.next_cursor})}"
            if page.next_cursor
            else None,
            first_url=base if cursor else None,
        )

    def sessions(self, request: Request) -> Response:
        """Sessions with interactions in the time range, most recently active first."""
        redirect = _clean_redirect(request)
        if redirect is not None:
            return redirect
        filters = Filters.from_params(request.query_params.multi_items())
        since = filters.since or "24h"
        cursor = request.query_params.get("cursor")
        error = None
        page = None
        try:
            query = filters.with_(since="" if since == "all" else since).query()
        except ValueError as exc:
            query, error = None, f"Invalid filter: {exc}"
        if query is not None:
            with self._store() as store:
                try:
                    page = store.sessions(query, limit=PAGE_SIZE, cursor=cursor)
                except ValueError as exc:
                    error = f"Invalid page: {exc}"
        ranges = [
            (value, label, filters.with_(since=value).url("/sessions"))
            for value, label in SESSION_RANGES
        ]
        return self._page(
            request,
            "sessions.html",
            status=400 if error else 200,
            title="Sessions",
            nav="sessions",
            page=page,
            error=error,
            since=since,
            ranges=ranges,
            filters=filters,
            next_url=filters.url("/sessions", extra=[("cursor", page.next_cursor)])
            if page is not None and page.next_cursor
            else None,
            first_url=filters.url("/sessions") if cursor else None,
        )

    # -- traces ------------------------------------------------------------------------------

    def traces(self, request: Request) -> Response:
        """The most recent runs that have spans, in a time range."""
        since = request.query_params.get("since") or "24h"
        error, found = None, []
        try:
            start = since_of(since)
        except ValueError as exc:
            start, error = None, f"Invalid time range: {exc}"
        if error is None:
            with self._store() as store:
                found = store.traces(since=start, limit=PAGE_SIZE)
        return self._page(
            request,
            "traces.html",
            status=400 if error else 200,
            title="Traces",
            nav="traces",
            traces=found,
            error=error,
            since=since,
            ranges=[(v, label, f"/traces?since={v}") for v, label in TRACE_RANGES],
        )

    def trace(self, request: Request) -> Response:
        """One run: a waterfall of its spans and model calls, each with its details."""
        tid = request.path_params["tid"]
        with self._store() as store:
            try:
                tr = store.trace(tid)
            except (TraceNotFoundError, AmbiguousIdError) as exc:
                return self._error(request, 404, "Trace not found", str(exc))
        if tr.summary.trace_id != tid:
            return RedirectResponse("/t/" + tr.summary.trace_id, status_code=302)
        return self._page(
            request,
            "trace.html",
            title=f"{tr.summary.name or 'trace'} · {tid[:12]}",
            nav="traces",
            summary=tr.summary,
            rows=trace_rows(tr),
        )

    # -- dashboard ---------------------------------------------------------------------------

    def dashboard(self, request: Request) -> Response:
        """Requests, error rate, latency, tokens and cost over time and by model."""
        redirect = _clean_redirect(request)
        if redirect is not None:
            return redirect
        filters = Filters.from_params(request.query_params.multi_items()).only(
            "model", "provider", "status", "tag", "since", "until"
        )
        since = filters.since or DEFAULT_RANGE
        error = None
        dash = None
        with self._store() as store:
            try:
                query: Query | None = filters.with_(since="" if since == "all" else since).query()
            except ValueError as exc:
                query, error = None, f"Invalid filter: {exc}"
            if query is not None and not filters.since and not filters.until:
                # the default range: zoom in to a day when everything in it is that recent
                first = store.search(query, limit=1, order="oldest").records
                day = time.time() - 86400
                if first and float(first[0].get("timestamp") or 0) >= day:
                    since, query = "24h", query.replace(since=day)
            models, providers = self.facets.get(store)
        if query is not None:
            dash = build_dashboard(
                self._store, filters.with_(since="" if since == "all" else since), query
            )
        tabs = [(value, label, range_url(filters, value)) for value, label in RANGES]
        return self._page(
            request,
            "dashboard.html",
            status=400 if error else 200,
            title="Dashboard",
            nav="dashboard",
            dash=dash,
            error=error,
            since=since,
            tabs=tabs,
            filters=filters,
            models=models,
            providers=providers,
            list_url=filters.with_(since="" if since == "all" else since).url("/"),
        )


def _not_found(request: Request, exc: Exception) -> Response:
    viewer: Viewer = request.app.state.viewer
    detail = exc.detail if isinstance(exc, HTTPException) else "Not found"
    return viewer._error(
        request,
        404,
        "Not found",
        f"There is no page at {request.url.path}." if detail == "Not Found" else str(detail),
    )


def _store_error(request: Request, exc: Exception) -> Response:
    viewer: Viewer = request.app.state.viewer
    return viewer._error(request, 503, "Store unavailable", str(exc))


def create_app(
    url: str | os.PathLike[str],
    *,
    token: str | None = None,
    check_host: bool = True,
    cookie_suffix: str = "",
    live_interval: float = 2.0,
) -> Starlette:
    """Return the viewer as an ASGI app reading the store at ``url``.

    Args:
        url: the store: a path or ``sqlite:///path``.
        token: if set, every request must carry it (see :mod:`llmlog.web`).
            ``llmlog serve`` sets one whenever it binds a non-loopback address.
        check_host: only answer requests whose ``Host`` is a loopback name
            (DNS-rebinding protection for loopback binds).
        cookie_suffix: appended to cookie names (the port), so that viewers on
            two ports of one host keep their own cookies.
        live_interval: seconds between the list page's polls for new interactions.

    .. versionadded:: 0.1
    """
    store_url = os.fspath(url)
    viewer = Viewer(store_url, csrf=Csrf(cookie_suffix=cookie_suffix), live_interval=live_interval)
    routes = [
        Route("/", viewer.interactions, methods=["GET", "HEAD"]),
        Route("/i/{rid:path}/feedback", viewer.feedback, methods=["POST"]),
        Route("/i/{rid:path}", viewer.detail, methods=["GET", "HEAD"]),
        Route("/s/{sid:path}", viewer.session, methods=["GET", "HEAD"]),
        Route("/sessions", viewer.sessions, methods=["GET", "HEAD"]),
        Route("/traces", viewer.traces, methods=["GET", "HEAD"]),
        Route("/t/{tid}", viewer.trace, methods=["GET", "HEAD"]),
        Route("/dashboard", viewer.dashboard, methods=["GET", "HEAD"]),
        Route("/api/tail", viewer.tail, methods=["GET"]),
        Route("/api/i/{rid:path}", viewer.record_json, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(Guard, token=token, check_host=check_host, cookie_suffix=cookie_suffix)
        ],
        exception_handlers={404: _not_found, StoreError: _store_error},
    )
    app.state.viewer = viewer
    return app
