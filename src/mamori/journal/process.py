"""The journal's group-commit writer in an OS process of its own.

The server is CPU-bound on one core, and preparing and inserting journal rows costs ~30 µs of CPU
per record: in a thread of the serving process that is time the request loop loses (and the GIL
it has to win back). :class:`ProcessJournal` keeps everything of :class:`~mamori.journal.Journal`
that readers, ``append_in`` and the fail-closed check need in the serving process, and hands the
records of :meth:`~ProcessJournal.append` to a *writer process*, which runs an ordinary
:class:`~mamori.journal.Journal` (its batching, retries, probes and backoff) on its own
:class:`~mamori.store.Store` over the same database. The serving process pays for queueing a
record and its share of one ``orjson`` encoding and one pipe write per batch (~2 µs per record).

The writer process
------------------
Started with multiprocessing's ``spawn`` method (a fork of a process that runs threads is not
safe), with the parent's data directory, database URL, master key, busy timeout and log level.
It never runs schema DDL: the parent created the schema before starting it, and two processes
creating tables at once can fail on SQLite; it only checks the schema version. It ignores SIGINT
and SIGTERM: the parent stops it after its own clean shutdown, so a signal to the whole process
group (Ctrl-C, a service manager) cannot cut the journal off before the last records are in.

Two pipes connect them:

* parent -> writer, messages of a 9-byte header (kind, record count, body length) and a body,
  written and read on the pipe's file descriptor directly (one ``write`` per batch): ``B``, a
  batch, whose body is its records as one JSON list; ``F``, the same (or no records), and then
  write everything now (``flush()`` waits for it); ``P``, probe the store now (the parent's own
  store reported a failure); ``Q``, write everything, stop and exit (the body: how long to try).
* writer -> parent, pickled tuples (``Connection.send``): ``("ok", started, durable)`` after a
  successful write or probe: the running count of records made durable, and the (system-wide
  monotonic) time the write or probe started; ``("failed", message, at)`` whenever a write or
  probe failed.

Handing over: records are queued, and every ``send_interval`` seconds (or ``send_batch``
records) the queue is encoded once (``orjson``) and written into the pipe (enlarged to 1 MiB
where Linux allows) in one write — by the thread that appends, when it finds the queue due, or
by a timer of its event loop when no further record comes. Not by a sender thread: a thread
that must win the GIL from the busy request loop, which drops and retakes it around every poll
and syscall, is woken again and again for nothing (measured: ~15 µs of CPU per record for a
sender thread waking once per batch). The write never blocks the appending thread: what the
pipe cannot take is left to the *sender* thread, which also does what is rare — flushes,
probes, sending everything again to a new writer, stopping — and times the queue for callers
without an event loop. Batches stay in memory, encoded, until the writer reports them durable.

The parent's *receiver* thread applies the reports: it moves the durable count (``flush()`` and
``wait_for()`` wake on it) and the health flag, which fails closed on a reported failure, on a
failure of the parent's own store transactions (until the writer reports a write or probe that
started after it) and when the writer process dies. The writer reports failures at once, and
successes at once when the parent waits for one (a flush, a probe, a recovery), otherwise at
most every 250 ms (each report wakes the receiver).

A writer that dies (crash, OOM, SIGKILL) is noticed at once by the receiver (the process's
sentinel): the journal fails closed, a new writer is started and every batch not yet reported
durable is sent to it again, in order (a record the old writer wrote just before it died is
written again under the same eventID, and the writer drops the duplicate); the first successful
write or probe of the new writer recovers. A parent that dies, even by SIGKILL, closes its pipe
end: the writer reads everything the parent handed to the pipe up to the end of file, writes it
and exits (it also exits when it is orphaned although the pipe is somehow still open).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import gc
import json
import logging
import multiprocessing
import os
import secrets
import select
import signal
import struct
import threading
import time
import weakref
from collections import deque
from multiprocessing.connection import Connection as PipeEnd
from multiprocessing.connection import wait as wait_any
from pathlib import Path
from typing import Any, NamedTuple

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None

from mamori.journal.journal import (
    Journal,
    JournalBase,
    _dumps,
    describe_error,
    new_event_id,
    orjson,
)
from mamori.store.engine import DB_FILE_NAME, SchemaVersionError, Store
from mamori.store.schema import SCHEMA_VERSION

log = logging.getLogger(__name__)

# Messages from the parent to the writer (their kind).
_BATCH = b"B"
_FLUSH = b"F"
_PROBE = b"P"
_QUIT = b"Q"
#: A message: kind, record count, length of the body that follows (a batch: its JSON list).
#: Written and read on the pipes' file descriptors directly: one write() per batch.
_FRAME = struct.Struct("<cII")

#: How long a writer whose parent died goes on trying to write what it was handed.
ORPHAN_TIMEOUT = 30.0
_PIPE_SIZE = 1 << 20  # /proc/sys/fs/pipe-max-size's default
#: How often the writer checks that its parent is alive while the pipe is quiet.
_PARENT_CHECK_INTERVAL = 1.0


class JournalWriterError(RuntimeError):
    """A failure the writer process reported (its message), or the death of the process."""


# -- encoding --------------------------------------------------------------------------------------

if orjson is not None:
    _ORJSON_OPTS = orjson.OPT_NON_STR_KEYS

    def _encode_list(records: list) -> bytes:
        try:
            return orjson.dumps(records, default=str)
        except TypeError:  # a key that is not a string (slower option, same output otherwise)
            return orjson.dumps(records, default=str, option=_ORJSON_OPTS)

    def _decode_list(payload: bytes) -> Any:
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:  # e.g. an int beyond 64 bits, written by the fallback
            return json.loads(payload)

else:  # pragma: no cover - orjson is a dependency

    def _encode_list(records: list) -> bytes:
        return _dumps(records).encode()

    def _decode_list(payload: bytes) -> Any:
        return json.loads(payload)


def encode_batch(records: list) -> bytes:
    """The records as one JSON list (the writer's :func:`decode_batch` reads it back). Fills a
    missing eventID first, so a batch sent again to a new writer keeps its ids (and its records
    are recognized as duplicates). A record that cannot be serialized at all becomes ``null``,
    which the writer drops as the writer thread drops such a record."""
    for record in records:
        if type(record) is dict and not record.get("eventID"):
            record["eventID"] = new_event_id()
    try:
        return _encode_list(records)
    except TypeError:  # one record orjson refuses (an int beyond 64 bits...): one at a time
        pass
    parts = []
    for record in records:
        try:
            parts.append(_dumps(record))
        except Exception:
            log.exception("journal: dropping a record that cannot be serialized")
            parts.append("null")
    return ("[" + ",".join(parts) + "]").encode()


def decode_batch(payload: bytes, count: int) -> list:
    """The ``count`` records of a batch; ``count`` Nones (dropped, but counted, by the writer)
    when it cannot be decoded, so the parent's and the writer's counts stay aligned."""
    try:
        records = _decode_list(payload)
        if not isinstance(records, list) or len(records) != count:
            raise ValueError(f"expected a list of {count} records")
        return records
    except Exception as exc:
        log.error("journal: dropping a batch of %d records that cannot be decoded: %s", count, exc)
        return [None] * count


# -- the pipes -------------------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes | None:
    """``size`` bytes, or None at the end of the file (also in the middle of a message: the
    rest of a message its dying sender could not write)."""
    parts = []
    while size:
        part = os.read(fd, size)
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_message(fd: int) -> tuple[bytes, int, bytes] | None:
    """(kind, record count, body) of the next message; None at the end of the file."""
    header = _read_exact(fd, _FRAME.size)
    if header is None:
        return None
    kind, count, length = _FRAME.unpack(header)
    body = _read_exact(fd, length) if length else b""
    return None if body is None else (kind, count, body)


def _enlarge_pipe(end: PipeEnd) -> None:
    """Let a whole batch fit into the pipe (Linux: 64 KiB by default): one write, and the
    sender never waits for the writer to read the first part of a batch."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setpipe is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(end.fileno(), setpipe, _PIPE_SIZE)


# -- the parent's side -----------------------------------------------------------------------------


class _Batch(NamedTuple):
    start: int  # records appended before its first one
    payload: bytes  # encode_batch() of its records
    times: list[float]  # monotonic time each record was appended

    @property
    def end(self) -> int:
        return self.start + len(self.times)


class _WriterConfig(NamedTuple):
    """What the writer process needs to open the same store (pickled to it by ``spawn``)."""

    data_dir: str
    url: str | None
    master_key: bytes | None
    busy_timeout: float
    journal_options: dict[str, Any]
    log_level: int
    log_format: str | None
    log_datefmt: str | None
    parent_pid: int
    cpus: frozenset[int] | None = None  # the CPUs it may run on (None: the parent's)


class _Child:
    """One writer process and the parent's ends of its two pipes."""

    def __init__(
        self, process: multiprocessing.process.BaseProcess, records: PipeEnd, reports: PipeEnd
    ):
        self.process = process
        self.records = records  # parent -> writer
        self.reports = reports  # writer -> parent
        self.base = 0  # records appended before the first one sent to this writer
        self.started = time.monotonic()

    def close_pipes(self) -> None:
        for end in (self.records, self.reports):
            with contextlib.suppress(OSError):
                end.close()


def _close_at_exit(ref: weakref.ref) -> None:
    journal = ref()
    if journal is not None:
        with contextlib.suppress(Exception):
            journal.close()


class ProcessJournal(JournalBase):
    """A journal whose :meth:`append` queue is written by a writer process (see the module
    docstring). Everything else — :meth:`append_in`, reading, :meth:`check_writable` — runs in
    this process, as in :class:`~mamori.journal.Journal`.

    ``master_key`` is the key the writer's store is opened with (the journal seals nothing; a
    throw-away key is used without one). ``send_interval`` and ``send_batch`` bound how long and
    how many records are queued before one pipe write; the other options are
    :class:`~mamori.journal.Journal`'s (``flush_interval``, ``max_batch``, ``probe_interval`` and
    ``max_backoff`` apply in the writer, ``stall_timeout`` here).
    """

    def __init__(
        self,
        store: Store,
        *,
        master_key: bytes | None = None,
        send_interval: float = 0.005,
        send_batch: int = 256,
        cpus: frozenset[int] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(store, **options)
        self.send_interval = send_interval
        self.send_batch = send_batch
        self.cpus = cpus
        self._master_key = master_key
        self._unacked: deque[_Batch] = deque()  # sent (or being sent), not durable yet
        self._in_hand: float | None = None  # when the oldest record being encoded came
        self._sent = 0  # records in batches so far (== the end of the last batch)
        self._handed_over = 0  # records written into a writer's pipe (the latest end)
        self._flush_sent = 0  # flush requests the sender has passed on
        self._resend = False  # a new writer: send every unacknowledged batch again
        self._sending = False  # a thread is handing a batch over (they go one at a time)
        self._backlog: tuple[_Child, memoryview, int] | None = None  # a write left unfinished
        self._slot_waiters = 0  # the sender waits for _sending to clear
        self._tail_armed = False  # a timer will look at the queue
        self._thread_tail = False  # ... the sender thread's (no event loop)
        self._tail_loop: asyncio.AbstractEventLoop | None = None  # ... or this loop's
        self._sender_wake = threading.Condition(self._lock)
        self._quit_timeout = 5.0
        self._child: _Child | None = None
        self._retired: list[_Child] = []  # replaced writers whose pipes the sender closes
        self._sender: threading.Thread | None = None
        self._receiver: threading.Thread | None = None
        self._atexit: Any = None
        self.restarts = 0  # writer processes started after one died

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer process and the sender and receiver threads (idempotent)."""
        with self._cond:
            if self._writer_running():
                return
            self._stopping = False
        self.store.remove_failure_listener(self._on_store_failure)
        self.store.add_failure_listener(self._on_store_failure)  # again, after a close()
        child = self._spawn()
        with self._cond:
            self._attach(child)
        self._receiver = threading.Thread(
            target=self._receive_loop, name="mamori-journal-receiver", daemon=True
        )
        self._sender = threading.Thread(
            target=self._send_loop, name="mamori-journal-sender", daemon=True
        )
        self._receiver.start()
        self._sender.start()
        # Interpreter exit without close(): hand everything over and stop the writer first
        # (multiprocessing's own exit handler would wait for it to end otherwise).
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._atexit)

    def close(self, timeout: float = 5.0) -> None:
        """Flush, then stop the writer process (it writes what it holds and exits) and join it.
        Raises TimeoutError (after stopping) if records could not be made durable in time."""
        error: TimeoutError | None = None
        try:
            self.flush(timeout)
        except TimeoutError as exc:
            error = exc
        with self._cond:
            self._stopping = True
            self._quit_timeout = max(1.0, timeout)
            self._sender_wake.notify_all()
            sender, receiver, child = self._sender, self._receiver, self._child
        if sender is not None:
            sender.join(timeout=max(1.0, timeout))
        # The receiver reaps the writer and returns once it has exited: it alone waits for the
        # process (two threads waiting for one child race: the loser sees it as still alive).
        with self._cond:  # no append() is still writing into a pipe about to be closed
            self._slot_waiters += 1
            self._sender_wake.wait_for(lambda: not self._sending, timeout=1.0)
            self._slot_waiters -= 1
        if receiver is not None:
            receiver.join(timeout=max(1.0, timeout) + 2.0)
            if receiver.is_alive() and child is not None:
                log.error("journal: the writer process did not stop; killing it")
                child.process.kill()
                receiver.join(timeout=5.0)
        with self._cond:
            self._sender = self._receiver = None
            retired, self._retired = self._retired, []
            latest = self._child  # one started while we stopped sees EOF, writes and exits
        for old in {id(c): c for c in (*retired, child, latest) if c is not None}.values():
            old.close_pipes()
        with self._cond:
            lost = self._appended - self._done
        self.store.remove_failure_listener(self._on_store_failure)
        if self._atexit is not None:
            atexit.unregister(self._atexit)
            self._atexit = None
        self._notify_data()
        if error is None and lost:
            error = TimeoutError(f"journal: {lost} records not durable when the writer stopped")
        if error is not None:
            log.error("journal closed with records not written: %s", error)
            raise error

    def _writer_running(self) -> bool:
        return self._sender is not None and self._sender.is_alive()

    def _flush_without_writer(self, target: int, deadline: float) -> None:
        raise TimeoutError(
            f"journal: {target - self._done} records not durable: the writer is not running"
        )

    @property
    def handed_over(self) -> int:
        """Records written into the writer process's pipe so far (they survive the death of
        this process; see the module docstring)."""
        return self._handed_over

    @property
    def writer_pid(self) -> int | None:
        child = self._child
        return child.process.pid if child is not None else None

    # -- the writer process ----------------------------------------------------------------------

    def _writer_config(self) -> _WriterConfig:
        store = self.store
        url: str | None = store.url
        if store.dialect == "sqlite" and url == f"sqlite:///{store.data_dir / DB_FILE_NAME}":
            url = None  # the default database: opened (WAL, pragmas) as the parent's is
        root = logging.getLogger()
        log_format = log_datefmt = None
        for handler in root.handlers:
            formatter = handler.formatter
            if isinstance(handler, logging.StreamHandler) and formatter is not None:
                log_format, log_datefmt = formatter._fmt, formatter.datefmt
                break
        return _WriterConfig(
            data_dir=str(store.data_dir),
            url=url,
            master_key=self._master_key,
            busy_timeout=store.busy_timeout,
            journal_options={
                # the sender already held the records up to send_interval
                "flush_interval": max(0.0, self.flush_interval - self.send_interval),
                "max_batch": self.max_batch,
                "probe_interval": self.probe_interval,
                "max_backoff": self.max_backoff,
            },
            log_level=log.getEffectiveLevel(),
            log_format=log_format,
            log_datefmt=log_datefmt,
            parent_pid=os.getpid(),
            cpus=self.cpus,
        )

    def _spawn(self) -> _Child:
        context = multiprocessing.get_context("spawn")
        records_reader, records_writer = context.Pipe(duplex=False)
        reports_reader, reports_writer = context.Pipe(duplex=False)
        process = context.Process(
            target=run_writer,
            args=(self._writer_config(), records_reader, reports_writer),
            name="mamori-journal-writer",
            daemon=True,
        )
        _enlarge_pipe(records_writer)
        os.set_blocking(records_writer.fileno(), False)  # append() must never wait for it
        try:
            process.start()
        except BaseException:
            records_writer.close()
            reports_reader.close()
            raise
        finally:  # the writer's ends: only the writer may hold them (EOF when one side dies)
            records_reader.close()
            reports_writer.close()
        log.debug("journal: writer process %d started", process.pid)
        return _Child(process, records_writer, reports_reader)

    def _attach(self, child: _Child) -> None:
        """Make ``child`` the writer (self._cond held): it gets every unacknowledged batch."""
        if self._child is not None and self._child is not child:
            self._retired.append(self._child)  # the sender may still be writing to its pipe
        child.base = self._unacked[0].start if self._unacked else self._sent
        self._resend = bool(self._unacked)
        self._child = child
        if self._pending:  # appended before there was a writer: the sender sends them
            self._thread_tail = self._tail_armed = True
        self._sender_wake.notify_all()

    # -- handing records over (see the module docstring) -------------------------------------------

    def _wake_writer(self) -> None:
        self._sender_wake.notify_all()

    def append(self, record: dict | tuple) -> None:
        """Queue ``record``; hand the queue over when it is due (``send_interval`` old or
        ``send_batch`` long). Never blocks on I/O."""
        now = time.monotonic()
        with self._lock:  # (not the Condition: its __enter__ is Python code)
            if self._oldest is None:
                self._oldest = now
            pending = self._pending
            pending.append((record, now))
            self._appended += 1
            if len(pending) < self.send_batch and now - pending[0][1] < self.send_interval:
                if not self._tail_armed or (
                    self._tail_loop is not None and self._tail_loop.is_closed()
                ):
                    self._arm_tail(now)
                return
            taken = self._take_due()
        if taken is not None:
            self._deliver(taken)

    def append_many(self, records: list) -> None:
        for record in records:
            self.append(record)

    def _take_due(self) -> list[tuple[dict, float]] | None:
        """(self._lock held) Take up to a batch for the calling thread to hand over — unless
        another thread is handing over, or the sender has something to do first."""
        if self._sending or self._resend or self._stopping or self._child is None:
            return None
        taken = [self._pending.popleft() for _ in range(min(len(self._pending), self.send_batch))]
        if not taken:
            return None
        self._sending = True
        self._in_hand = taken[0][1]
        return taken

    def _arm_tail(self, now: float) -> None:
        """(self._lock held) Records are queued that are not due yet: make sure they are handed
        over when they are, even if no append() comes by then."""
        self._tail_armed = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        self._tail_loop = loop
        if loop is not None:
            delay = self._pending[0][1] + self.send_interval - now
            loop.call_later(max(0.0, delay), self._on_tail)
        else:
            self._thread_tail = True
            self._sender_wake.notify_all()

    def _on_tail(self) -> None:
        """The event loop's timer: hand over the queue if it is due (else wait again)."""
        now = time.monotonic()
        with self._cond:
            self._tail_armed = False
            if not self._pending:
                return
            if now - self._pending[0][1] < self.send_interval:
                self._arm_tail(now)
                return
            taken = self._take_due()
        if taken is not None:
            self._deliver(taken)

    def _deliver(self, taken: list[tuple[dict, float]]) -> None:
        """Hand ``taken`` over as one batch without blocking, then what became due meanwhile.
        A write the pipe cannot take at once is left to the sender thread."""
        while taken:
            payload = encode_batch([record for record, _ in taken])
            with self._lock:
                batch = self._new_batch(payload, [t for _, t in taken])
                child = self._child
                if self._resend:  # a new writer came meanwhile: the sender sends everything
                    self._sending = False  # not durable to it (this batch too), in order
                    self._sender_wake.notify_all()
                    return
            assert child is not None
            rest = self._write(child, _FRAME.pack(_BATCH, len(batch.times), len(payload)) + payload)
            with self._lock:
                if rest:
                    self._backlog = (child, rest, batch.end)
                    self._sender_wake.notify_all()  # it finishes the write; _sending stays set
                    return
                if rest is not None:
                    self._handed_over = max(self._handed_over, batch.end)
                self._sending = False
                if self._slot_waiters:
                    self._sender_wake.notify_all()
                now = time.monotonic()
                pending = self._pending
                taken = None
                if pending and (
                    len(pending) >= self.send_batch or now - pending[0][1] >= self.send_interval
                ):
                    taken = self._take_due()
                elif pending and not self._tail_armed:
                    self._arm_tail(now)

    def _new_batch(self, payload: bytes, times: list[float]) -> _Batch:
        """(self._lock held) Keep an encoded batch until the writer reports it durable."""
        batch = _Batch(self._sent, payload, times)
        self._unacked.append(batch)
        self._sent = batch.end
        self._in_hand = None
        return batch

    @staticmethod
    def _write(child: _Child, frame: bytes) -> memoryview | None:
        """Write ``frame`` into ``child``'s pipe without blocking: what the pipe could not take
        (empty when all of it was written), or None when the writer is gone (the receiver
        starts another, which gets the batch again)."""
        view = memoryview(frame)
        try:
            fd = child.records.fileno()
            while view:
                view = view[os.write(fd, view) :]
        except BlockingIOError:
            return view
        except (OSError, ValueError):
            return None
        return view

    def _write_fully(self, child: _Child, data: memoryview) -> bool:
        """Write all of ``data``, waiting for the pipe to take it (the sender thread). False
        when the writer is gone or replaced."""
        try:
            fd = child.records.fileno()
            while data:
                try:
                    data = data[os.write(fd, data) :]
                except BlockingIOError:
                    select.select([], [fd], [], 0.5)
                    if child is not self._child:
                        return False
        except (OSError, ValueError):
            return False
        return True

    def _send_frame(self, child: _Child, kind: bytes, batch: _Batch | None = None, body=b""):
        """Send one message, waiting for the pipe (the sender thread)."""
        count = 0
        if batch is not None:
            count, body = len(batch.times), batch.payload
        frame = _FRAME.pack(kind, count, len(body)) + body
        if self._write_fully(child, memoryview(frame)) and batch is not None:
            with self._cond:
                self._handed_over = max(self._handed_over, batch.end)

    def _send_loop(self) -> None:
        try:
            self._send_until_stopped()
        except BaseException as exc:  # a bug: fail closed rather than leave records behind
            log.exception("journal: the sender thread failed")
            self._set_failed(exc, quiet=True)

    def _send_until_stopped(self) -> None:
        wake = self._sender_wake
        while True:
            with self._cond:
                while True:
                    backlog = self._backlog
                    if backlog is not None:
                        break
                    now = time.monotonic()
                    pending = self._pending
                    n = len(pending)
                    flush = self._flush_requests != self._flush_sent
                    tail_due = (
                        self._thread_tail
                        and n > 0
                        and (n >= self.send_batch or now - pending[0][1] >= self.send_interval)
                    )
                    if flush or tail_due or self._resend or self._probe_requested or self._stopping:
                        if not self._sending:
                            break
                        self._slot_waiters += 1  # an append() is handing a batch over
                        try:
                            wake.wait()
                        finally:
                            self._slot_waiters -= 1
                        continue
                    timeout = None
                    if self._thread_tail:
                        if n:
                            timeout = max(0.0005, pending[0][1] + self.send_interval - now)
                        else:
                            self._thread_tail = self._tail_armed = False
                    wake.wait(timeout)
                if backlog is None:
                    self._sending = True
                    taken = list(pending)
                    pending.clear()
                    self._in_hand = taken[0][1] if taken else None
                    if self._thread_tail:
                        self._thread_tail = self._tail_armed = False
                    if flush:
                        self._flush_sent = self._flush_requests
                    probe, self._probe_requested = self._probe_requested, False
                    quit_now = self._stopping
                    quit_timeout = self._quit_timeout
                    retired, self._retired = self._retired, []
            if backlog is not None:  # the rest of a batch an append() could not write at once
                child, rest, end = backlog
                written = self._write_fully(child, rest)
                with self._cond:
                    if written:
                        self._handed_over = max(self._handed_over, end)
                    self._backlog = None
                    self._sending = False
                    wake.notify_all()
                continue
            for old in retired:
                old.close_pipes()
            # Encode outside the lock: append() goes on meanwhile.
            chunks = [taken[i : i + self.send_batch] for i in range(0, len(taken), self.send_batch)]
            encoded = [
                (encode_batch([record for record, _ in chunk]), [t for _, t in chunk])
                for chunk in chunks
            ]
            with self._cond:
                new = [self._new_batch(payload, times) for payload, times in encoded]
                child = self._child
                if self._resend:  # a new writer: everything not durable, in order
                    self._resend = False
                    new = list(self._unacked)
                    flush = flush or self._flush_waiters > 0
            if child is not None:
                for i, batch in enumerate(new):
                    last = i == len(new) - 1
                    self._send_frame(child, _FLUSH if flush and last else _BATCH, batch)
                if flush and not new:
                    self._send_frame(child, _FLUSH)
                if probe:
                    self._send_frame(child, _PROBE)
                if quit_now:
                    self._send_frame(child, _QUIT, body=repr(quit_timeout).encode())
            with self._cond:
                self._sending = False
                if self._pending and not self._tail_armed:
                    self._arm_tail(time.monotonic())
                wake.notify_all()
            if quit_now:
                return

    # -- receiving -------------------------------------------------------------------------------

    def _receive_loop(self) -> None:
        try:
            self._receive_until_stopped()
        except BaseException as exc:  # a bug: fail closed rather than report nothing
            log.exception("journal: the receiver thread failed")
            self._set_failed(exc, quiet=True)

    def _receive_until_stopped(self) -> None:
        backoff = 0.1
        while True:
            child = self._child
            assert child is not None
            try:
                ready = wait_any([child.reports, child.process.sentinel])
            except OSError:
                ready = [child.process.sentinel]
            dead = child.process.sentinel in ready
            if child.reports in ready and not self._receive(child):
                dead = True  # end of file: the writer has exited (or is exiting)
            if not dead:
                continue
            self._receive(child)  # whatever it reported before it died
            child.process.join(timeout=5.0)
            if child.process.is_alive():  # closed its pipe but lives on: not a writer anymore
                child.process.kill()
                child.process.join(timeout=5.0)
            if self._stopping:
                return
            code = child.process.exitcode
            self._set_failed(
                JournalWriterError(f"the journal writer process exited (exit code {code})"),
                quiet=True,
            )
            log.error(
                "journal: the writer process died (exit code %s), failing closed; starting another",
                code,
            )
            with contextlib.suppress(OSError):
                child.reports.close()  # its records end is the sender's to close (_attach)
            # A writer that dies young (cannot open the store, ...) is restarted ever slower.
            if time.monotonic() - child.started < 5.0:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, timeout=backoff)
                backoff = min(backoff * 2, max(self.max_backoff, 0.1))
            else:
                backoff = 0.1
            new = self._restart()
            if new is None:
                return

    def _restart(self) -> _Child | None:
        delay = 0.1
        while True:
            if self._stopping:
                return None
            try:
                child = self._spawn()
            except Exception as exc:
                log.error("journal: cannot start a writer process: %s", exc)
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, timeout=delay)
                delay = min(delay * 2, 5.0)
                continue
            with self._cond:
                self._attach(child)
                self.restarts += 1
            return child

    def _receive(self, child: _Child) -> bool:
        """Apply every report waiting in the pipe; False at its end."""
        try:
            while child.reports.poll():
                self._apply(child, child.reports.recv())
        except (EOFError, OSError):
            return False
        return True

    def _apply(self, child: _Child, message: tuple) -> None:
        kind = message[0]
        if kind == "ok":
            _, started, durable = message
            self._acknowledge(child.base + durable)
            self._set_ok(started)
        elif kind == "failed":
            _, text, at = message
            self._set_failed(JournalWriterError(text), at, quiet=True)  # the writer logged it

    def _acknowledge(self, done: int) -> None:
        with self._cond:
            done = min(done, self._sent)
            if done <= self._done:
                return
            self._done = done
            unacked = self._unacked
            while unacked and unacked[0].end <= done:
                unacked.popleft()
            if unacked:
                first = unacked[0]
                self._oldest = first.times[max(0, done - first.start)]
            elif self._in_hand is not None:
                self._oldest = self._in_hand
            else:
                self._oldest = self._pending[0][1] if self._pending else None
            self._cond.notify_all()
        self._notify_data()


# -- the writer process ----------------------------------------------------------------------------


class _WriterStore(Store):
    """The writer process's store. The parent created the schema before starting the writer;
    the writer runs no DDL (two processes creating tables at once can fail on SQLite), it only
    checks the schema version."""

    def create_all(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the database has schema version {version}, newer than this mamori "
                f"({SCHEMA_VERSION}); upgrade mamori"
            )


class _Reporter:
    """The writer's end of the report pipe. Once the parent is gone, reports are dropped and
    the writer goes on writing what it was handed."""

    def __init__(self, conn: PipeEnd) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._gone = False

    def send(self, message: tuple) -> None:
        with self._lock:
            if self._gone:
                return
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                self._gone = True


class _WriterJournal(Journal):
    """The writer process's journal: a :class:`Journal` that reports to the parent.

    Failures are reported at once, and so is the first success after a failure, after a flush
    or a probe the parent asked for; other successes (the durable count moving on) at most every
    ``report_interval`` seconds: every report wakes a thread of the busy serving process."""

    report_interval = 0.25

    def __init__(self, store: Store, reporter: _Reporter, **options: Any) -> None:
        self._reporter = reporter
        self._report_lock = threading.Lock()
        self._report_now = True  # the first one: the parent waits for it to recover
        self._last_report = 0.0
        self._deferred: tuple | None = None
        super().__init__(store, **options)

    def report_soon(self) -> None:
        """The parent waits for the next success (a flush, a probe): report it at once."""
        with self._report_lock:
            self._report_now = True

    def _set_failed(
        self, exc: BaseException, at: float | None = None, *, quiet: bool = False
    ) -> None:
        at = time.monotonic() if at is None else at
        super()._set_failed(exc, at, quiet=quiet)
        with self._report_lock:
            self._report_now = True  # and its recovery too
        self._reporter.send(("failed", describe_error(exc), at))

    def _set_ok(self, started: float) -> None:
        super()._set_ok(started)
        message = ("ok", started, self._done)
        now = time.monotonic()
        with self._report_lock:
            if self._report_now or now - self._last_report >= self.report_interval:
                self._report_now = False
                self._last_report = now
                self._deferred = None
            else:
                self._deferred = message
                return
        self._reporter.send(message)

    def report_deferred(self, force: bool = False) -> float | None:
        """Send a success held back if it is due (or ``force``); the seconds until the one
        still held back is due (None: nothing held back)."""
        now = time.monotonic()
        with self._report_lock:
            message = self._deferred
            if message is None:
                return None
            left = self._last_report + self.report_interval - now
            if left > 0 and not force:
                return left
            self._deferred = None
            self._last_report = now
        self._reporter.send(message)
        return None


WRITER_NICENESS = 5


def _configure_logging(config: _WriterConfig) -> None:
    if config.log_format is not None:
        logging.basicConfig(
            level=config.log_level, format=config.log_format, datefmt=config.log_datefmt
        )
    else:  # the parent has no handler either: warnings and errors reach stderr as there
        logging.getLogger().setLevel(config.log_level)


def _run_on(cpus: frozenset[int]) -> None:
    """Keep this process on ``cpus`` (MAMORI_JOURNAL_WRITER_CPUS): e.g. off the CPU the server
    is pinned to. Where that is impossible the writer runs where the parent does, and says so."""
    try:
        os.sched_setaffinity(0, cpus)
    except (AttributeError, OSError, ValueError) as exc:
        log.warning(
            "journal writer: cannot run on CPUs %s (%s); running where the server does",
            ",".join(map(str, sorted(cpus))),
            exc,
        )


def run_writer(config: _WriterConfig, records: PipeEnd, reports: PipeEnd) -> None:
    """The writer process's main function (see the module docstring)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # the parent stops us once it has stopped
    # Yield the CPU to the serving process when both want it: a batch written a few ms later
    # costs nothing, a request loop that loses its core costs throughput. Group commit makes a
    # writer that falls behind catch up with bigger (cheaper per record) batches.
    with contextlib.suppress(OSError):
        os.nice(WRITER_NICENESS)
    _configure_logging(config)
    if config.cpus:
        _run_on(config.cpus)
    reporter = _Reporter(reports)
    try:
        store = _WriterStore(
            Path(config.data_dir),
            config.url,
            master_key=config.master_key or secrets.token_bytes(32),
            busy_timeout=config.busy_timeout,
        )
    except Exception as exc:
        log.error("journal writer: cannot open the store: %s", describe_error(exc))
        reporter.send(("failed", describe_error(exc), time.monotonic()))
        raise SystemExit(1) from None
    journal = _WriterJournal(store, reporter, **config.journal_options)
    journal.start()
    journal.request_probe()  # report health (and readiness) at once
    gc.freeze()  # everything imported so far lives as long as the process
    log.debug("journal writer process %d ready", os.getpid())
    quit_timeout: float | None = None
    try:
        quit_timeout = _serve(journal, records, config.parent_pid)
    finally:
        if quit_timeout is None:
            log.warning(
                "journal writer: the server process is gone; writing the %d records it handed "
                "over, then exiting",
                journal.pending,
            )
        code = 0
        try:
            journal.close(ORPHAN_TIMEOUT if quit_timeout is None else quit_timeout)
        except TimeoutError:
            code = 1  # logged by close()
        journal.report_deferred(force=True)
        store.close()
        records.close()
        reports.close()
    if code:
        raise SystemExit(code)


def _serve(journal: _WriterJournal, records: PipeEnd, parent_pid: int) -> float | None:
    """Append what the parent sends until it says stop (returns the close timeout it gave) or
    its end of the pipe is closed (returns None)."""
    fd = records.fileno()
    while True:
        report_in = journal.report_deferred()
        wait = _PARENT_CHECK_INTERVAL if report_in is None else min(report_in, 1.0)
        if not records.poll(wait):
            if os.getppid() != parent_pid:  # orphaned, yet the pipe is open (a leaked fd)
                return None
            continue
        try:
            message = _read_message(fd)
        except OSError:
            return None
        if message is None:
            return None
        kind, count, body = message
        if kind in (_BATCH, _FLUSH):
            if count:
                journal.append_many(decode_batch(body, count))
            if kind == _FLUSH:
                journal.report_soon()
                journal.flush_soon()
        elif kind == _PROBE:
            journal.report_soon()
            journal.request_probe()
        elif kind == _QUIT:
            journal.report_soon()
            return float(body)
        else:
            log.error("journal writer: unknown message %r", kind)
