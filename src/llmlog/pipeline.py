"""The pipeline: the caller's thread snapshots and hands off; background threads do the rest.

Every record takes the same route::

    caller's thread: fields -> orjson snapshot -> deque             (microseconds)
    writer thread:   finish_record (+ coerce) -> cut long strings -> processors
                     (redaction) -> encode once -> every sink's worker
    a thread a sink: sink.write(batch) -> split what it refuses -> dead letters
                     -> on failure: that sink's spool on disk, replayed later
                                                        (llmlog.delivery)

Design decisions, each measured in ``bench/overhead.py``:

* The caller does one ``orjson.dumps`` of what it was given (a snapshot: the app
  may mutate its ``messages`` list right after the call) and a ``deque.append``.
  No locks, no I/O, no redaction on the caller's thread.
* The writer follows the OpenTelemetry batch processor: a bounded deque, a named
  daemon thread, an Event that wakes it when a batch fills or on a timer, and an
  export lock. ``flush`` puts a marker in the queue and waits for the writer to
  reach it.
* Memory is bounded by ``max_queue``. When the queue is full the caller's thread
  processes the record itself (redaction included) and appends it to the spool
  of every sink: slower for that call, but bounded and lossless. With
  ``on_full="drop"`` it is dropped instead, counted and reported.
* Each sink has a worker thread of its own (:mod:`llmlog.delivery`): a failing,
  slow or hung sink costs only its own records a detour through its spool; the
  other sinks go on. A sink that failed is retried with exponential backoff,
  replaying its spool first. A record a sink refuses on its own goes to that
  sink's dead-letter file; the rest of its batch is written.
* Typed fields that do not fit their type are coerced or moved aside
  (:mod:`llmlog.coerce`); strings longer than ``max_string`` are cut with a
  marker naming their size.
* Errors inside llmlog never reach the app: they are counted in :meth:`stats`
  and reported on the ``llmlog`` logger at WARNING, at most once a minute per
  kind. With ``LLMLOG_RAISE_ERRORS=1`` (tests) the first one is re-raised from
  the next ``flush()``.
* Fork-safe: a forked child starts with an empty queue, its own sinks and its own
  writer (the parent's queue is the parent's to write). At interpreter exit, and
  at the end of a ``multiprocessing`` child (which skips ``atexit``), everything
  queued is written, within ``exit_timeout``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from random import getrandbits
from typing import Any

import orjson

from llmlog._serialize import dumps
from llmlog.coerce import coerce_feedback, cut_long_strings
from llmlog.collector.handoff import Handoff
from llmlog.config import Settings
from llmlog.delivery import MAX_BATCH, SinkWorker
from llmlog.encoding import QueueItem, encode_fields, tail_parts, tail_without_output
from llmlog.exceptions import DropRecord
from llmlog.normalize import derive, finish_record
from llmlog.prices import PriceTable
from llmlog.record import FEEDBACK_EVENT, SCHEMA_VERSION, app_info, new_request_id
from llmlog.sinks.base import Entry, Sink, spool_dir_for, spool_target
from llmlog.spool import Spool, spool_root

__all__ = ["DropRecord", "Pipeline", "Processor"]

_log = logging.getLogger(__name__)

Processor = Callable[[dict[str, Any]], dict[str, Any]]
"""A record processor: takes the record dict (its own to change) and returns it.

Processors run on the writer thread, in order, before any sink. They may block
briefly; raising :class:`DropRecord` drops the record (counted as ``filtered``);
any other exception drops it too (counted as an error and reported), because a
record that a processor such as redaction failed on must not be written.
"""

INTERACTION, FEEDBACK, MARKER, SPAN = 0, 1, 2, 3

_FRAME = {INTERACTION: b"I", FEEDBACK: b"B", SPAN: b"P"}
"""The collector's frame kind of each record kind (:mod:`llmlog.collector.frames`)."""


class _Reporter:
    """Report llmlog's own problems on the ``llmlog`` logger, at most once a minute per kind."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < 60.0:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            self._last[kind] = now
            suppressed = self._suppressed.pop(kind, 0)
        if suppressed:
            message += f" ({suppressed} similar message(s) suppressed)"
        with contextlib.suppress(Exception):  # a broken logging setup must not break us
            _log.warning("llmlog: " + message, *args)


_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


class Pipeline:
    """Own the queue, the writer thread, the processors, and a worker per sink.

    Args:
        settings: resolved settings.
        sinks: the sinks to write to (built from ``settings`` by the caller).
        processors: run in order on each record before the sinks.
        rebuild_sinks: called in a forked child to get fresh sinks (open files and
            database connections must not cross a fork).
    """

    def __init__(
        self,
        settings: Settings,
        sinks: Sequence[Sink] | Callable[[], Sequence[Sink]],
        processors: Sequence[Processor] | Callable[[], Sequence[Processor]],
        *,
        rebuild_sinks: Callable[[], Sequence[Sink]] | None = None,
        handoff: Handoff | None = None,
        local_reason: str = "",
    ) -> None:
        self.settings = settings
        self._handoff = handoff
        self._local_reason = local_reason
        # built when this process first writes a record itself: an app whose records
        # all go to the collector never opens the store or compiles the redactor
        self._make_processors = processors if callable(processors) else lambda: processors
        self._processors: list[Processor] = []
        self._rebuild_sinks = rebuild_sinks
        self._prices: PriceTable | None = None
        self._spool_root = spool_root(settings)
        self._spool_override = bool(settings.spool_dir)
        self._sync = settings.durability == "sync"
        self._spill = settings.on_full == "spool"
        self._max_queue = settings.max_queue
        self._batch_size = settings.batch_size
        self._interval = settings.flush_interval
        self._max_string = settings.max_string
        # how long the writer waits for a sink far behind before it takes it for stalled
        self._pace_timeout = max(1.0, 5 * settings.flush_interval)
        self.sample_rate = settings.sample_rate
        self._report = _Reporter()
        self._counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        self._sampled_out = 0
        self._init_runtime(sinks if callable(sinks) else lambda: sinks)
        if handoff is None:
            self._build()  # this process writes everything itself: open the sinks now

    # -- lifecycle ---------------------------------------------------------------------------

    def _init_runtime(self, make_sinks: Callable[[], Sequence[Sink]]) -> None:
        self._generation = _fork_generation
        self._pid = os.getpid()
        self._queue: deque[QueueItem] = deque()
        self._wake = threading.Event()
        self._export_lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closing = False
        self._closed = False
        self._errors: list[BaseException] = []
        self._make_sinks = make_sinks
        self._workers: list[SinkWorker] = []
        self._built = False
        self._build_lock = threading.Lock()
        self._exit_registered = False

    def _build(self) -> None:
        """Open the sinks and build the processors, once (before this process writes)."""
        with self._build_lock:
            if self._built:
                return
            if self._prices is None:
                self._prices = PriceTable(self.settings.price_table, self.settings.prices)
            if not self._processors:
                self._processors = list(self._make_processors())
            self._workers = [self._worker(s) for s in self._make_sinks()]
            self._built = True

    def _worker(self, sink: Sink) -> SinkWorker:
        spool = None
        if self._spill and getattr(sink, "spool", True) is not False:
            directory = spool_dir_for(sink, self._spool_root, override=self._spool_override)
            spool = Spool(
                directory, max_bytes=self.settings.spool_max_bytes, target=spool_target(sink)
            )
        return SinkWorker(
            sink,
            spool,
            count=self._count,
            report=self._report,
            on_error=self._sink_error,
            batch_size=self._batch_size,
            interval=self._interval,
            max_queued=self._max_queue,
        )

    def _reinit_after_fork(self) -> None:
        parent = self._workers
        for w in parent:
            if w.spool is not None:
                w.spool.forget_after_fork()
        if self._rebuild_sinks is not None:
            make_sinks = self._rebuild_sinks
        elif self._built:
            inherited = [w.sink for w in parent]
            make_sinks = lambda: inherited  # noqa: E731
        else:
            make_sinks = self._make_sinks
        _abandoned.append(parent)  # never close the parent's connections in the child
        self._counts = {}
        self._report = _Reporter()
        self._init_runtime(make_sinks)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            if not self._exit_registered:
                self._register_exit()
            t = threading.Thread(target=self._run, name="llmlog-writer", daemon=True)
            t.start()
            self._thread = t

    def _register_exit(self) -> None:
        with self._build_lock:
            if self._exit_registered:
                return
            self._exit_registered = True
        atexit.register(self._close_at_exit)
        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None:
            # multiprocessing children end with os._exit(): atexit never runs there,
            # but the module's finalizers do (util._exit_function).
            mp_util.Finalize(None, self._close_at_exit, exitpriority=100)

    # -- the caller's side -------------------------------------------------------------------

    def submit(self, kind: int, payload: Any, ctx: Mapping[str, Any] | None) -> None:
        """Hand one snapshot to the writer (the caller's hot path: no I/O, no locks).

        ``payload`` is :func:`llmlog.encoding.encode_fields`' result for an
        interaction, the JSON of the fields for feedback.
        """
        if self._generation != _fork_generation:
            self._reinit_after_fork()
        h = self._handoff
        if h is not None and h.send(_FRAME[kind], payload, ctx):
            return  # in the collector's hands: it survives this process
        if not self._built:
            self._build()  # now, not on the writer thread (it may run at interpreter exit)
        item = (kind, payload, ctx)
        if self._sync or self._closing:
            self._write_now([item])
            return
        q = self._queue
        if len(q) >= self._max_queue:
            self._overflow(item)
            return
        q.append(item)
        if self._thread is None:
            self._start()
        if len(q) >= self._batch_size and not self._wake.is_set():
            self._wake.set()

    def submit_span(self, payload: bytes) -> None:
        """Hand one span (its record's JSON, see :mod:`llmlog.tracing`) to the writer."""
        self.submit(SPAN, payload, None)

    def count_sampled_out(self) -> None:
        self._sampled_out += 1  # a statistic, not an account: races may lose a count

    def _overflow(self, item: QueueItem) -> None:
        if not self._spill:
            self._count("dropped")
            self._report(
                "dropped",
                "queue full (%d): dropped an interaction (on_full=drop)",
                self._max_queue,
            )
            return
        if self._thread is None:
            self._start()
        self._wake.set()
        entries = self._process([item])
        if not entries:
            return
        for w in self._workers:
            if w.spool is None:
                # a sink that opts out of spooling (the stdlib logger) is cheap and
                # thread-safe: it takes the record directly
                w.deliver(entries)
            else:
                w.to_spool(entries, reason="queue full")

    def write_many(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Process and write ``records`` (record-field mappings) now, on this thread.

        For bulk paths such as ``llmlog import``: the same processors (redaction)
        and sinks as logging, without the queue. Returns how many were processed.
        """
        items = [(INTERACTION, encode_fields(dict(r)), None) for r in records]
        with self._export_lock:
            entries = self._process(items)
            for w in self._workers:
                w.deliver(entries)
        return len(entries)

    def _write_now(self, items: list[QueueItem]) -> None:
        with self._export_lock:
            entries = self._process(items)
            if entries:
                for w in self._workers:
                    w.deliver(entries)

    # -- the writer's side -------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._drain()
            except BaseException as exc:  # pragma: no cover - a bug in llmlog itself
                self.internal_error("writer", exc)
            if self._closing and not self._queue:
                return

    def _drain(self, deadline: float | None = None) -> None:
        q = self._queue
        while q:
            batch: list[QueueItem] = []
            markers: list[threading.Event] = []
            # Behind? Take the whole backlog at once: every blocking call costs the
            # writer a wait for the GIL while the app's thread is busy, so fewer,
            # larger batches keep it from falling behind.
            limit = max(self._batch_size, min(len(q), MAX_BATCH))
            while q and len(batch) < limit:
                try:
                    item = q.popleft()
                except IndexError:
                    break
                if item[0] == MARKER:
                    markers.append(item[1])
                    break  # hand over what precedes the marker before releasing its waiter
                batch.append(item)
            if batch:
                with self._export_lock:
                    entries = self._process(batch)
                if entries:
                    for w in self._workers:
                        w.put(entries)
                    for w in self._workers:
                        w.keep_pace(self._pace_timeout)
            for m in markers:
                m.set()
            if deadline is not None and time.monotonic() > deadline:
                return

    def _process(self, items: Sequence[QueueItem]) -> list[Entry]:
        """Build, process and encode records; return those to write."""
        if not self._built:
            self._build()
        entries: list[Entry] = []
        s = self.settings
        app = app_info(s.service, s.environment, s.version)
        procs = self._processors
        prices = self._prices
        assert prices is not None  # built with the sinks
        limit = self._max_string
        loads = orjson.loads
        for kind, payload, ctx in items:
            try:
                if kind == INTERACTION:
                    light_or_json, tail, lm, lr = payload
                    light = light_or_json if type(light_or_json) is dict else loads(light_or_json)
                    pm, rr, po = tail_parts(tail, lm, lr)
                    output = derive(light, rr)
                    long = limit and (
                        lm > limit
                        or lr > limit
                        or len(po) > limit
                        or (type(light_or_json) is not dict and len(light_or_json) > limit)
                        or any(type(v) is str and len(v) > limit for v in light.values())
                    )
                    if procs or long or light.get("usage") is None:
                        # a processor reads the content, a string is too long, or usage
                        # must be estimated from the content
                        parsed = loads(po)
                        heavy = {
                            "prompt_messages": loads(pm),
                            "llm_raw_response": loads(rr),
                            "parsed_output": output if parsed is None else parsed,
                        }
                        if long:
                            light = self._cut(light, limit)
                            heavy = self._cut(heavy, limit)
                        rec, coerced = finish_record(
                            light, ctx, prices=prices, app=app, heavy=heavy
                        )
                        tail = b""
                    else:
                        rec, coerced = finish_record(light, ctx, prices=prices, app=app, heavy=None)
                        if po == b"null" and output is not None:
                            rec["parsed_output"] = output  # derived: goes in the head
                            tail = tail_without_output(tail, lm, lr)
                    if coerced:
                        self._coerced(coerced)
                    if rec["span_id"] is None:
                        ids = "%048x" % (getrandbits(192) | 1)
                        rec["span_id"] = ids[32:]
                        if rec["trace_id"] is None:
                            rec["trace_id"] = ids[:32]
                elif kind == SPAN:
                    rec = loads(payload)
                    rec["redaction"] = {}
                    rec["app"] = app
                    if limit and len(payload) > limit:
                        rec = self._cut(rec, limit)
                    tail = b""
                else:
                    rec = {
                        "event": FEEDBACK_EVENT,
                        "schema_version": SCHEMA_VERSION,
                        **loads(payload),
                        "redaction": {},
                    }
                    # replays of this feedback are recognised by this id (stores ignore repeats)
                    rec.setdefault("feedback_id", new_request_id())
                    coerce_feedback(rec)
                    tail = b""
                for proc in procs:
                    rec = proc(rec)
                if not tail:
                    # an exact-size copy: orjson's result keeps its whole growth buffer
                    # (16 KB for a 2.5 KB record), and a batch holds thousands of lines
                    entries.append(Entry(rec, bytes(memoryview(dumps(rec)))))
                else:  # the caller's JSON of the heavy fields, appended as it is
                    head = dumps(rec)
                    entries.append(
                        Entry(
                            rec,
                            head[:-1] + tail,
                            (len(head) - 1, lm, lr, "parsed_output" not in rec),
                        )
                    )
            except DropRecord:
                self._count("filtered")
            except Exception as exc:
                self._count("dropped")
                self.internal_error(
                    "process",
                    exc,
                    "could not process an interaction (dropped, never written unprocessed)",
                )
        self._count("processed", len(entries))
        return entries

    def _cut(self, value: dict[str, Any], limit: int) -> dict[str, Any]:
        out, cut = cut_long_strings(value, limit)
        if cut:
            self._count("truncated", cut)
            self._report(
                "truncated",
                "cut %d string(s) longer than max_string (%d characters); the cut is marked "
                "in the record with the original size",
                cut,
                limit,
            )
        return out  # type: ignore[no-any-return]

    def _coerced(self, fields: list[str]) -> None:
        self._count("coerced", len(fields))
        self._report(
            "coerced:" + ",".join(sorted(fields)),
            "value(s) of %s did not fit the field's type; kept under metadata.llmlog_invalid",
            ", ".join(sorted(fields)),
        )

    # -- accounting --------------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        if n:
            with self._counts_lock:
                self._counts[key] = self._counts.get(key, 0) + n

    def _sink_error(self, exc: BaseException) -> None:
        if self.settings.raise_errors:
            self._errors.append(exc)

    def internal_error(self, kind: str, exc: BaseException, what: str | None = None) -> None:
        self._count("errors")
        self._report(
            f"error:{kind}",
            "%s: %s: %s",
            what or f"internal error in {kind}",
            type(exc).__name__,
            exc,
        )
        if self.settings.raise_errors:
            self._errors.append(exc)

    def stats(self) -> dict[str, Any]:
        """Return counters: processed, spooled, replayed, dropped, dead-lettered, errors, ...

        ``processed`` counts records built and handed to the sinks; ``coerced`` values
        moved aside; ``truncated`` strings cut; ``dead_lettered`` records a sink refused
        on their own; ``sinks`` maps each sink's name to how many records it took, its
        errors, whether it is down now and how many records wait for it in memory.
        """
        out: dict[str, Any] = dict.fromkeys(STAT_KEYS, 0)
        with self._counts_lock:
            out.update(self._counts)
        out["sampled_out"] = self._sampled_out
        out["queued"] = len(self._queue) + sum(w.queued for w in self._workers)
        out["sinks"] = {w.name: w.stats() for w in self._workers}
        h = self._handoff
        connected = h is not None and h.connected
        out["path"] = "collector" if connected else "in-process"
        out["path_reason"] = (
            f"a collector listens at {h.path}"
            if connected and h is not None
            else (h.reason if h is not None else self._local_reason)
        )
        out["handed_off"] = h.sent if h is not None else 0
        return out

    # -- flush and close ---------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything submitted so far; return False if ``timeout`` ran out first."""
        if self._generation != _fork_generation:
            self._reinit_after_fork()
        deadline = None if timeout is None else time.monotonic() + timeout
        ok = True
        if self._thread is not None and self._thread.is_alive():
            marker = threading.Event()
            self._queue.append((MARKER, marker, None))
            self._wake.set()
            ok = marker.wait(timeout)
        elif self._queue:
            self._drain(deadline)
            ok = not self._queue
        if ok:
            markers = [w.put_marker() for w in self._workers]
            for m in markers:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                ok = m.wait(left) and ok
        h = self._handoff
        if ok and h is not None and h.sent:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ok = h.request(b"F", left) is not None
        self._raise_pending()
        return ok

    def _raise_pending(self) -> None:
        if self._errors:
            exc = self._errors[0]
            self._errors.clear()
            raise exc

    def close(self, timeout: float | None = None) -> bool:
        """Write everything queued, replay spools, close the sinks; within one deadline.

        A sink that does not finish by the deadline is left behind: what it held waits
        in its spool. Returns False when something was left in a spool.
        """
        if self._generation != _fork_generation:
            return True  # a forked child that never logged: nothing of ours to write
        if self._closed:
            return True
        self._closed = True
        if self._exit_registered:
            atexit.unregister(self._close_at_exit)
        deadline = None if timeout is None else time.monotonic() + timeout
        self._closing = True
        self._wake.set()
        t = self._thread
        if t is not None and t.is_alive() and t is not threading.current_thread():
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self._queue:
            self._drain(deadline)  # no writer (never started, or gone): process here
        if self._queue:
            # out of time: keep what is left on disk rather than lose it
            rest = [self._queue.popleft() for _ in range(len(self._queue))]
            for i in rest:
                if i[0] == MARKER:
                    i[1].set()
            entries = self._process([i for i in rest if i[0] != MARKER])
            for w in self._workers:
                w.to_spool(entries, reason="exit timeout")
        for w in self._workers:
            w.begin_close(deadline)
        clean = True
        for w in self._workers:
            if not w.wait_closed(deadline):
                w.abandon()
                clean = False
        for w in self._workers:
            left = w.left_behind()
            if left is not None:
                clean = False
                self._report(
                    f"left:{w.name}",
                    "%d record(s) for %s wait in the spool %s; the next process that logs "
                    "to it replays them, or now: llmlog spool replay",
                    left[0],
                    w.name,
                    left[1],
                )
        return clean

    def _close_at_exit(self) -> None:
        try:
            self.close(self.settings.exit_timeout)
        except BaseException as exc:  # never let exit blow up the app
            with contextlib.suppress(Exception):
                _log.warning("llmlog: error while writing at exit: %s: %s", type(exc).__name__, exc)


STAT_KEYS = (
    "processed",
    "spooled",
    "replayed",
    "dropped",
    "dead_lettered",
    "filtered",
    "coerced",
    "truncated",
    "errors",
    "sink_errors",
)
"""The counters :meth:`Pipeline.stats` always reports (0 until something happens)."""


_abandoned: list[object] = []
