"""One result cache for every session, and a bounded pool that computes what it lacks.

:func:`compute` is how a page asks for a heavy result that is a pure function of its settings
(a training run, a PTQ recipe, a sweep)::

    history = compute("amp_run", (settings, run), lambda report: train(..., on_step=report),
                      on_event=draw_live_step)

It looks in three places, cheapest first: the process's memory (an LRU per namespace), the disk
(:class:`lab.core.persist.DiskStore`, shared by every process and replica that mounts the same
``QLAB_CACHE_DIR``, keyed by the settings *and* the code version), and the jobs in flight: two
sessions asking for the same result at once share one job (single flight; across processes a
file lock does the same).  Otherwise the job is queued on a pool of ``QLAB_WORKERS`` threads (the
number of cores): while it waits the page shows how many runs are ahead of it, while it runs the
page's own ``on_event`` callback receives the job's events (in the page's thread, so it can draw a
live chart), and a Cancel button stops it.  A session that goes away (tab closed, or a rerun that
no longer asks for it) leaves its job; a queued job nobody waits for is dropped after
:data:`ORPHAN_GRACE` seconds.

Outside a Streamlit script (the warm-up CLI, tests) :func:`compute` waits without drawing.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import queue
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from lab.core.cached import LRUStore
from lab.core.persist import DiskStore, NotPersistable, canonical_key, code_version

__all__ = ["Cancelled", "Job", "ResultService", "compute", "lookup", "progress_events", "progress_report", "service"]

ORPHAN_GRACE = 3.0  # s: a rerun re-joins its job well within this; a closed tab does not
POLL = 0.1  # s between two looks at a running job from the page
WORKER_PREFIX = "qlab-worker-"
TOUCH = 0.5  # s: the longest a waiting page goes without a call into Streamlit


class Cancelled(Exception):
    """Raised inside a job's function (at its next ``report``) once the job is cancelled."""


class Job:
    """One computation: queued → running → done | failed | cancelled."""

    def __init__(self, namespace: str, key: Any, ident: tuple, digest: str | None, key_text: str | None, fn: Callable, priority: int, seq: int) -> None:
        self.namespace, self.key, self.ident, self.digest, self.key_text = namespace, key, ident, digest, key_text
        self.fn, self.priority, self.seq = fn, priority, seq
        self.state = "queued"
        self.events: list = []
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.waiters = 0
        self.cancel_requested = False
        self.left_at = time.monotonic()

    def report(self, event: Any = None) -> None:
        """What the function calls as it goes: records ``event`` for the waiting pages; raises
        :class:`Cancelled` once the job has been cancelled."""
        if self.cancel_requested:
            raise Cancelled(self.namespace)
        if event is not None:
            self.events.append(event)

    def __lt__(self, other: Job) -> bool:
        return (self.priority, self.seq) < (other.priority, other.seq)


class ResultService:
    """Memory → disk → in-flight jobs → a pool of ``workers`` threads (see the module's text)."""

    def __init__(self, *, root: str | os.PathLike | None, max_bytes: int, workers: int, memory: int = 32) -> None:
        self.disk = DiskStore(root, max_bytes=max_bytes) if root else None
        self.version = code_version()
        self.workers = max(1, int(workers))
        self.memory_size = int(memory)
        self._memory: dict[str, LRUStore] = {}
        self._inflight: dict[tuple, Job] = {}
        self._running: set[Job] = set()
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self.computed: dict[str, int] = {}  # namespace -> functions really run (tests read it)

    # ----------------------------------------------------------------- lookups
    def _mem(self, namespace: str, size: int | None = None) -> LRUStore:
        with self._lock:
            store = self._memory.get(namespace)
            if store is None:
                store = self._memory[namespace] = LRUStore(size or self.memory_size)
            return store

    def _ident(self, namespace: str, key: Any) -> tuple[tuple, str | None, str | None]:
        try:
            text, digest = canonical_key(namespace, key, self.version)
        except NotPersistable:
            return (namespace, key), None, None
        return (namespace, digest), digest, text

    def lookup(self, namespace: str, key: Hashable, *, memory: int | None = None) -> Any:
        """The stored result (memory, then disk), else :data:`DiskStore.MISSING`."""
        mem = self._mem(namespace, memory)
        ident, digest, text = self._ident(namespace, key)
        found = mem.get(ident, DiskStore.MISSING)
        if found is DiskStore.MISSING and self.disk is not None and digest is not None:
            found = self.disk.get(digest, text)
            if found is not DiskStore.MISSING:
                mem.put(ident, found)
        return found

    # ----------------------------------------------------------------- jobs
    def submit(self, namespace: str, key: Hashable, fn: Callable[[Callable], Any], *, priority: int = 0, memory: int | None = None) -> Job:
        """The job computing ``fn(report)`` for this key: the one in flight if there is one
        (joined), else a new one on the queue.  The caller is counted as a waiter."""
        self._mem(namespace, memory)
        ident, digest, text = self._ident(namespace, key)
        with self._lock:
            job = self._inflight.get(ident)
            if job is None or job.cancel_requested:
                job = Job(namespace, key, ident, digest, text, fn, priority, next(self._seq))
                self._inflight[ident] = job
                self._queue.put(job)
                self._start_workers()
            elif priority < job.priority:
                job.priority = priority  # a student now waits for a warm-up job: it keeps its place
            job.waiters += 1
            return job

    def leave(self, job: Job, *, cancel: bool = False) -> None:
        """The caller stops waiting; with ``cancel``, the job stops too unless others still wait."""
        with self._lock:
            job.waiters = max(0, job.waiters - 1)
            job.left_at = time.monotonic()
            if cancel and job.waiters == 0 and not job.done.is_set():
                job.cancel_requested = True

    def ahead(self, job: Job) -> int:
        """How many runs will be served before ``job``: those running plus those queued before it."""
        with self._lock:
            if job.state != "queued":
                return 0
            queued = sum(1 for j in self._inflight.values() if j.state == "queued" and not j.cancel_requested and j < job)
            return queued + len(self._running)

    def _start_workers(self) -> None:
        while len(self._threads) < self.workers:
            t = threading.Thread(target=self._work, name=f"{WORKER_PREFIX}{len(self._threads)}", daemon=True)
            self._threads.append(t)
            t.start()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            with self._lock:
                orphan = job.waiters == 0 and time.monotonic() - job.left_at > ORPHAN_GRACE and job.priority == 0
                if job.cancel_requested or orphan:
                    self._finish(job, "cancelled")
                    continue
                job.state = "running"
                self._running.add(job)
            try:
                job.result = self._run(job)
                state = "done"
            except Cancelled:
                state = "cancelled"
            except BaseException as e:  # noqa: BLE001 - handed to the waiting page, which raises it
                job.error, state = e, "failed"
            with self._lock:
                self._running.discard(job)
                self._finish(job, state)

    def _finish(self, job: Job, state: str) -> None:
        job.state = state
        if self._inflight.get(job.ident) is job:
            del self._inflight[job.ident]
        job.done.set()

    def _run(self, job: Job) -> Any:
        mem = self._mem(job.namespace)
        ident = job.ident
        if self.disk is None or job.digest is None:
            value = self._call(job)
            return mem.put(ident, value)
        # across processes: one computes, the others wait on the lock and then read its file
        with open(self.disk.lock_path(job.digest), "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                value = self.disk.get(job.digest, job.key_text)
                if value is DiskStore.MISSING:
                    value = self._call(job)
                    self.disk.put(job.digest, job.key_text, value)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return mem.put(ident, value)

    def _call(self, job: Job) -> Any:
        with self._lock:
            self.computed[job.namespace] = self.computed.get(job.namespace, 0) + 1
        return job.fn(job.report)

    def wait(self, job: Job) -> Any:
        """Block until ``job`` ends (no drawing); its result, or its error raised."""
        try:
            job.done.wait()
        finally:
            self.leave(job)
        return outcome(job)


def outcome(job: Job) -> Any:
    if job.state == "done":
        return job.result
    if job.state == "failed":
        raise job.error
    raise Cancelled(job.namespace)


# --------------------------------------------------------------------------- the process's service
_SERVICE: ResultService | None = None
_SERVICE_LOCK = threading.Lock()


def default_cache_dir() -> Path:
    return Path(os.environ.get("QLAB_CACHE_DIR") or Path.home() / ".cache" / "qlab")


def service() -> ResultService:
    """The process-wide service, configured from the environment: ``QLAB_CACHE_DIR`` (default
    ``~/.cache/qlab``; ``off``: memory only), ``QLAB_CACHE_MB`` (default 2048) and
    ``QLAB_WORKERS`` (default: the cores)."""
    global _SERVICE
    with _SERVICE_LOCK:
        if _SERVICE is None:
            root = None if os.environ.get("QLAB_CACHE_DIR") == "off" else default_cache_dir()
            _SERVICE = ResultService(
                root=root,
                max_bytes=int(float(os.environ.get("QLAB_CACHE_MB", "2048")) * (1 << 20)),
                workers=int(os.environ.get("QLAB_WORKERS") or os.cpu_count() or 2),
            )
        return _SERVICE


def progress_report(report: Callable) -> Callable:
    """A ``progress(done, total, label)`` callback for a job's function: each call's arguments
    become one event, ``(done, total, label)``, for :func:`progress_events` to hand back."""
    return lambda *args: report(args)


def progress_events(progress: Callable | None) -> Callable | None:
    """The page's ``progress(done, total, label)`` as an ``on_event`` fed with those event tuples."""
    return None if progress is None else (lambda event: progress(*event))


def lookup(namespace: str, key: Hashable) -> Any:
    """The stored result of ``key`` (memory or disk), or None."""
    found = service().lookup(namespace, key)
    return None if found is DiskStore.MISSING else found


def compute(namespace: str, key: Hashable, fn: Callable[[Callable], Any], *, on_event: Callable[[Any], None] | None = None,
            priority: int = 0, memory: int | None = None) -> Any:
    """The result of ``fn(report)`` for ``key`` in ``namespace``, computed at most once for
    every session and kept (memory and disk).  ``fn`` calls ``report(event)`` as it goes; the
    waiting page gets each event through ``on_event`` in its own thread.  In a page, a queued job
    shows its place in the queue and a Cancel button (a cancelled run stops the page with a note)."""
    svc = service()
    found = svc.lookup(namespace, key, memory=memory)
    if found is not DiskStore.MISSING:
        return found
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if threading.current_thread().name.startswith(WORKER_PREFIX):
        # called from inside another job: compute here (queueing would let jobs wait on each other)
        job = Job(namespace, key, *svc._ident(namespace, key), fn, priority, -1)
        job.report = lambda event=None: on_event(event) if on_event is not None and event is not None else None
        return svc._run(job)
    in_page = get_script_run_ctx() is not None
    stop_key = None
    if in_page:
        stop_key = f"qlab_cancelled_{svc._ident(namespace, key)[1] or abs(hash((namespace, key)))}"
        _stopped_here(stop_key)
    while True:
        job = svc.submit(namespace, key, fn, priority=priority, memory=memory)
        if not in_page and on_event is None:
            try:
                return svc.wait(job)
            except Cancelled:
                continue  # dropped by someone else: ask again
        try:
            return _wait(svc, job, on_event, stop_key)
        except _Dropped:
            continue


def _stopped_here(stop_key: str) -> None:
    """After the Cancel button: a note and a button to run again, and the page stops here."""
    import streamlit as st

    from lab.core.i18n import _

    if not st.session_state.get(stop_key):
        return
    st.info(_("You cancelled this run. Press the button to run it again."), icon=":material/block:")
    if st.button(_("Run it again"), key=f"{stop_key}_again", icon=":material/play_arrow:"):
        del st.session_state[stop_key]
        st.rerun()
    st.stop()


def _cancel(svc: ResultService, job: Job, stop_key: str) -> None:
    """The Cancel button's callback (before the rerun it triggers): the job stops unless another
    session waits for it, and this page stops at :func:`_stopped_here` until asked again."""
    import streamlit as st

    st.session_state[stop_key] = True
    with svc._lock:
        job.cancel_requested = job.waiters <= 1 and not job.done.is_set()


class _Dropped(Exception):
    """The job was cancelled by someone else (its last other waiter): submit again."""


def _wait(svc: ResultService, job: Job, on_event, stop_key: str | None) -> Any:
    status = holder = None
    if stop_key is not None:
        import streamlit as st

        from lab.core.i18n import _

        holder = st.empty()
        with holder.container():
            status = st.empty()
            st.button(_("Cancel"), key=f"{stop_key}_btn", on_click=_cancel, args=(svc, job, stop_key), icon=":material/stop:")
    seen = 0
    left = False
    try:
        shown, touched = None, time.monotonic()
        while True:
            finished = job.done.wait(POLL)
            events = job.events
            while seen < len(events):
                if on_event is not None:
                    on_event(events[seen])
                seen += 1
            if finished:
                break
            if status is not None:
                n = svc.ahead(job)
                # redrawn when it changes, and every TOUCH s anyway: Streamlit acts on a rerun or a
                # closed tab only at a page's next call, so a silent wait would never be stopped
                if n != shown or time.monotonic() - touched > TOUCH:
                    shown, touched = n, time.monotonic()
                    if n:
                        from lab.core.i18n import _

                        status.info(_("Waiting for a free worker: {n} runs ahead of yours.").format(n=n), icon=":material/hourglass_top:")
                    else:
                        status.empty()
        svc.leave(job)
        left = True
        if job.state == "cancelled":
            raise _Dropped
        return outcome(job)
    finally:
        if not left:
            svc.leave(job)  # a rerun, a stop or a closed tab: the job goes on for the others
        if holder is not None:
            try:
                holder.empty()
            except BaseException:  # noqa: BLE001 - the session is going away
                pass
