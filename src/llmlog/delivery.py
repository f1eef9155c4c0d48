"""Delivery to one sink: its own queue and thread, its spool, and its dead letters.

The pipeline's writer processes each record once (redaction included) and hands the
encoded batch to one :class:`SinkWorker` per sink. A worker:

* writes batches on a thread of its own, so a slow or hung sink delays only itself: the
  other sinks go on, and at exit the pipeline waits for it no longer than ``exit_timeout``
  (what it did not take, the batch stuck inside its ``write`` included, waits in its spool);
* isolates what a sink refuses: a batch that fails is split in halves until the records
  that fail on their own are found. Those go to the spool's dead-letter file (already
  redacted), counted as ``dead_lettered``; everything else is written. A record is taken
  for bad data only when the sink is shown to work (another part of the batch went
  through) or the error is one of the sink's ``data_errors``; when no part goes through,
  the sink is down and the whole batch waits in the spool;
* spools what a down sink cannot take, retries it with exponential backoff (replaying
  the spool first, in order), and at close makes one last replay within the deadline,
  whatever the backoff.

Threads: :meth:`SinkWorker.put` and :meth:`SinkWorker.put_marker` are called from the
pipeline's writer (or any thread); :meth:`SinkWorker.deliver` from the worker's thread or,
with ``durability="sync"``, from the caller's thread; both under the worker's lock, so a
sink is never called concurrently.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from llmlog.sinks.base import Entry, Sink
from llmlog.spool import Spool, SpoolFull, spool_info

__all__ = ["DATA_ERRORS", "MAX_BATCH", "SinkWorker"]

MAX_BATCH = 1024
HIGH_WATER = 2 * MAX_BATCH
"""Records queued for a sink beyond which the pipeline's writer waits for it."""

DATA_ERRORS: tuple[type[BaseException], ...] = (
    TypeError,
    ValueError,
    OverflowError,
    UnicodeError,
    RecursionError,
)
"""Exceptions that mean "this record cannot be written", not "the sink is down".

A sink may name its own in a ``data_errors`` attribute (the SQLite and PostgreSQL
sinks add their drivers' data and integrity errors).
"""

Count = Callable[[str, int], None]
Report = Callable[..., None]


class _SinkDown(Exception):
    """The sink failed for a reason other than the records: ``unwritten`` must wait."""

    def __init__(self, exc: BaseException, unwritten: list[Entry]) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.unwritten = unwritten


def _halves(entries: list[Entry]) -> list[list[Entry]]:
    mid = len(entries) // 2
    return [entries[:mid], entries[mid:]]


class SinkWorker:
    """Deliver processed records to one sink (see the module docstring).

    Args:
        sink: the sink.
        spool: its spool, or None for a sink that opts out (``spool = False``).
        count: adds to one of the pipeline's counters.
        report: reports a problem on the ``llmlog`` logger (rate-limited by kind).
        on_error: called with every sink error (tests re-raise them).
        batch_size: records per write when replaying.
        interval: seconds between the worker's wake-ups.
        max_queued: records held for this sink before they go straight to its spool.
    """

    def __init__(
        self,
        sink: Sink,
        spool: Spool | None,
        *,
        count: Count,
        report: Report,
        on_error: Callable[[BaseException], None],
        batch_size: int,
        interval: float,
        max_queued: int,
    ) -> None:
        self.sink = sink
        self.spool = spool
        self.name: str = getattr(sink, "name", None) or type(sink).__name__
        self.data_errors: tuple[type[BaseException], ...] = DATA_ERRORS + tuple(
            getattr(sink, "data_errors", ())
        )
        self._count = count
        self._report = report
        self._on_error = on_error
        self._batch_size = batch_size
        self._interval = interval
        self._max_queued = max_queued
        self._queue: deque[list[Entry] | threading.Event] = deque()
        self.queued = 0
        self._wake = threading.Event()
        self._lock = threading.RLock()
        self._start_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._deadline: float | None = None
        self.in_flight: list[Entry] | None = None
        self.down_until = 0.0
        self.backoff = 0.0
        self.errors = 0
        self.written = 0
        self.spooled_here = False
        self.stalled = False
        self._room = threading.Event()
        self._room.set()

    # -- handing work to the worker ----------------------------------------------------------

    def put(self, entries: list[Entry]) -> None:
        """Queue ``entries`` for the sink (never blocks: a stalled sink's records are spooled)."""
        if (self.stalled or self.queued >= self._max_queued) and self.spool is not None:
            self.to_spool(entries, reason="sink too slow")
            return
        self._queue.append(entries)
        with self._count_lock:  # += is not atomic across threads
            self.queued += len(entries)
        if self.queued > HIGH_WATER:
            self._room.clear()
        self._start()
        self._wake.set()

    def keep_pace(self, timeout: float) -> None:
        """Wait (the pipeline's writer, never the app) while this sink is far behind.

        Processed records take more memory than the snapshots waiting before them,
        so a sink that is only slower than the writer holds the writer back. One that
        does not catch up within ``timeout`` is taken for stalled (hung): until it
        catches up, its records go to its spool and nobody waits for it.
        """
        if self.queued > HIGH_WATER and not self.stalled and not self._room.wait(timeout):
            self.stalled = True

    def put_marker(self) -> threading.Event:
        """Return an event set once everything queued before it is written and flushed."""
        marker = threading.Event()
        self._queue.append(marker)
        self._start()
        self._wake.set()
        return marker

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                t = threading.Thread(target=self._run, name=f"llmlog-sink-{self.name}"[:60])
                t.daemon = True
                t.start()
                self._thread = t

    # -- the worker's thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._drain()
                if not self._closing:
                    self.replay(time.monotonic() + self._interval)
            except BaseException as exc:  # pragma: no cover - a bug in llmlog itself
                self._report(
                    "error:writer",
                    "internal error in the writer for sink %s: %s: %s",
                    self.name,
                    type(exc).__name__,
                    exc,
                )
                self._count("errors", 1)
            if self._closing and not self._queue:
                self._finish()
                return

    def _drain(self) -> None:
        q = self._queue
        while q:
            try:
                item = q.popleft()
            except IndexError:
                break
            if isinstance(item, threading.Event):
                self._flush_for(item)
                continue
            batch = item
            while q and not isinstance(q[0], threading.Event) and len(batch) < MAX_BATCH:
                try:
                    nxt = q.popleft()
                except IndexError:
                    break
                if isinstance(nxt, threading.Event):
                    q.appendleft(nxt)
                    break
                batch = batch + nxt
            with self._count_lock:
                self.queued -= len(batch)
            self.deliver(batch)
            if self.queued <= HIGH_WATER // 2:
                self.stalled = False
                self._room.set()

    def _flush_for(self, marker: threading.Event) -> None:
        with self._lock:
            if self.down_until <= time.monotonic():
                self.replay(None)
            try:
                self.sink.flush(None)
            except Exception as exc:
                self._failed(exc)
        marker.set()

    # -- writing -----------------------------------------------------------------------------

    def deliver(self, entries: list[Entry]) -> None:
        """Write ``entries`` to the sink, or keep them in its spool; never raises."""
        with self._lock:
            now = time.monotonic()
            if self.down_until > now:
                self.to_spool(entries, reason="sink down")
                return
            spool = self.spool
            if spool is not None and self.down_until and spool.pending():
                try:  # it was down: what waits goes first
                    self._count("replayed", spool.replay(self.write, self._batch_size))
                except _SinkDown as down:
                    self._failed(down.exc)
                    self.to_spool(entries, reason="sink failed")
                    return
                except Exception as exc:
                    self._failed(exc)
                    self.to_spool(entries, reason="sink failed")
                    return
            try:
                self.write(entries)
            except _SinkDown as down:
                self._failed(down.exc)
                self.to_spool(down.unwritten, reason="sink failed")
                return
            self.down_until = self.backoff = 0.0

    def write(self, entries: list[Entry]) -> None:
        """Write ``entries``, setting aside the records the sink refuses on their own.

        Raises:
            _SinkDown: the sink failed for another reason; ``unwritten`` must wait.
        """
        self.in_flight = entries
        try:
            try:
                self.sink.write(entries)
            except Exception as exc:
                unwritten, bad, err = self._isolate(entries, exc)
                if bad:
                    self._dead_letter(bad)
                if unwritten:
                    assert err is not None
                    raise _SinkDown(err, unwritten) from None
                return
            self.written += len(entries)
        finally:
            self.in_flight = None

    def _isolate(
        self, entries: list[Entry], exc: BaseException
    ) -> tuple[list[Entry], list[tuple[Entry, BaseException]], BaseException | None]:
        """Split a failed batch to find the records that fail on their own.

        Returns what is still unwritten (the sink is down), the records refused on their
        own with their errors, and the error that says the sink is down (or None).
        """
        done = getattr(exc, "written", 0)  # a sink that wrote a prefix (a full disk)
        if isinstance(done, int) and 0 < done < len(entries):
            self.written += done
            entries = entries[done:]
        if len(entries) == 1:
            if isinstance(exc, self.data_errors):
                return [], [(entries[0], exc)], None
            return entries, [], exc
        healthy = False
        failures = 0
        bad: list[tuple[Entry, BaseException]] = []
        todo = deque(_halves(entries))
        last: BaseException = exc
        while todo:
            part = todo.popleft()
            try:
                self.sink.write(part)
            except Exception as e:
                last = e
                done = getattr(e, "written", 0)
                if isinstance(done, int) and 0 < done < len(part):
                    self.written += done
                    part = part[done:]
                    healthy = True
                data_error = isinstance(e, self.data_errors)
                if len(part) == 1 and data_error:
                    bad.append((part[0], e))
                    continue
                if not data_error:  # a refusal of data says nothing about the sink's health
                    failures += 1
                if not healthy and failures >= 2:  # nothing goes through: the sink is down
                    rest = [*part, *(x for p in todo for x in p), *(b for b, _ in bad)]
                    return rest, [], e
                if len(part) == 1:
                    bad.append((part[0], e))  # bad data, if the sink is shown to work
                else:
                    todo.extendleft(reversed(_halves(part)))
                continue
            self.written += len(part)
            healthy = True
        if healthy:
            return [], bad, None
        return [b for b, _ in bad], [], last

    def _dead_letter(self, bad: list[tuple[Entry, BaseException]]) -> None:
        first = bad[0][1]
        where = "nowhere to keep them"
        try:
            if self.spool is None:
                raise OSError("this sink has no spool")
            self.spool.dead_letter(bad, self.name)
            where = str(self.spool.dir / "dead-letter.jsonl")
            self._count("dead_lettered", len(bad))
        except OSError:
            self._count("dropped", len(bad))
        self._report(
            f"dead:{self.name}",
            "sink %s refused %d record(s) on their own (%s: %s); set aside in %s",
            self.name,
            len(bad),
            type(first).__name__,
            first,
            where,
        )

    def to_spool(self, entries: Sequence[Entry], *, reason: str) -> None:
        """Keep ``entries`` in the spool for a later replay (counted as spooled or dropped)."""
        if not entries:
            return
        spool = self.spool
        if spool is None:
            self._count("dropped", len(entries))
            self._report(
                f"drop:{self.name}",
                "%d record(s) not written to %s (%s, no spool)",
                len(entries),
                self.name,
                reason,
            )
            return
        try:
            spool.append([e.line for e in entries])
            self._count("spooled", len(entries))
            self.spooled_here = True
        except SpoolFull as full:
            self._count("spooled", full.kept)
            self._count("dropped", len(entries) - full.kept)
            self._report(
                f"spoolfull:{self.name}",
                "the spool for %s at %s is full (%s bytes, spool_max_bytes): %d record(s) "
                "dropped (%s)",
                self.name,
                spool.dir,
                f"{spool.max_bytes:,}",
                len(entries) - full.kept,
                reason,
            )
        except Exception as exc:
            self._count("dropped", len(entries))
            self._report(
                f"spoolerr:{self.name}",
                "could not spool %d record(s) for %s (%s): %s: %s; they are lost",
                len(entries),
                self.name,
                reason,
                type(exc).__name__,
                exc,
            )

    def replay(self, deadline: float | None, *, force: bool = False) -> None:
        """Replay the spool if the sink is not in backoff (or ``force``); never raises."""
        spool = self.spool
        if spool is None or not (force or spool.pending()):
            return
        if not force and self.down_until > time.monotonic():
            return
        with self._lock:
            try:
                n = spool.replay(self.write, self._batch_size, deadline)
                self._count("replayed", n)
                self.down_until = self.backoff = 0.0
            except _SinkDown as down:
                self._failed(down.exc)
            except Exception as exc:
                self._failed(exc)
            self._count("corrupt_spool_lines", spool.corrupt_lines)
            spool.corrupt_lines = 0

    def _failed(self, exc: BaseException) -> None:
        self.errors += 1
        self._count("sink_errors", 1)
        self.backoff = min(max(self.backoff * 2, 0.5), 30.0)
        self.down_until = time.monotonic() + self.backoff
        self._report(
            f"sink:{self.name}",
            "sink %s failed: %s: %s; records are spooled and will be retried in %.1fs",
            self.name,
            type(exc).__name__,
            exc,
            self.backoff,
        )
        self._on_error(exc)

    # -- closing -----------------------------------------------------------------------------

    def begin_close(self, deadline: float | None) -> None:
        """Ask the worker to write what it holds, replay once and close the sink."""
        self._deadline = deadline
        self._closing = True
        if self._thread is None:
            self._start()
        self._wake.set()

    def wait_closed(self, deadline: float | None) -> bool:
        """Wait for the worker to finish closing; return False if the deadline came first."""
        t = self._thread
        if t is None or t is threading.current_thread():
            return True
        t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not t.is_alive()

    def _finish(self) -> None:
        deadline = self._deadline
        self.replay(deadline, force=True)
        with contextlib.suppress(Exception):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            self.sink.close(left)

    def abandon(self) -> None:
        """Give up on a hung sink at the deadline: spool what it holds (called by close)."""
        held: list[Entry] = list(self.in_flight or ())
        while self._queue:
            try:
                item = self._queue.popleft()
            except IndexError:
                break
            if isinstance(item, threading.Event):
                item.set()
            else:
                held.extend(item)
        with self._count_lock:
            self.queued = 0
        self._report(
            f"hung:{self.name}",
            "sink %s did not finish within the exit deadline; %d record(s) it held wait in "
            "its spool",
            self.name,
            len(held),
        )
        self.to_spool(held, reason="sink hung at exit")

    def left_behind(self) -> tuple[int, str] | None:
        """Return (records, folder) still waiting in the spool, or None when it is empty."""
        if self.spool is None or not self.spooled_here:
            return None
        info = spool_info(self.spool.dir)
        return (info.records, str(self.spool.dir)) if info.records else None

    def stats(self) -> dict[str, Any]:
        """Return this sink's counters (written, errors, down, queued)."""
        return {
            "written": self.written,
            "errors": self.errors,
            "down": self.down_until > time.monotonic(),
            "queued": self.queued,
        }
