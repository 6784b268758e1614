"""CPU-heavy work (PDF layout, charts) in separate worker processes at a lower priority.

The server process serves the silent alarm (its event loop, the WebSocket receivers and the
trigger's database threads) and the web pages in one Python interpreter. Laying out a long PDF or
drawing charts holds that interpreter's lock for seconds; every alarm thread then waits for it at
each hand-over (issue 19, item 4). ``call(fn, *args)`` runs ``fn`` in a small pool of worker
processes instead: the calling thread waits without holding the lock, and the workers run at
``nice +BEISTAND_RENDER_NICE`` so the operating system gives the alarm's process the CPU first.

Rules for what runs here:

* ``fn`` is a module-level function; its arguments and result are pickled (flowables, tables,
  bytes). It must not use the database: the worker refuses every query (the caller gathers in its
  own short transaction, see docs/alarms.md), so data a test or a transaction has not committed
  can never be missed silently.
* A worker that crashes, is killed or runs longer than ``BEISTAND_RENDER_TIMEOUT_SECONDS`` never
  takes the server down: the caller gets ``RenderFailed`` (503, German detail), the broken pool is
  discarded (a running worker is killed) and the next call starts a new one.
* The pool is started on first use, has ``BEISTAND_RENDER_PROCESSES`` workers (0 = run in the
  calling process) and replaces each worker after ``TASKS_PER_WORKER`` tasks (matplotlib and
  reportlab caches do not grow for ever). Workers are started with ``spawn`` (no fork of a
  process with threads and an event loop).
"""

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import threading
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

from beistand.core.errors import DomainError

log = logging.getLogger(__name__)

TASKS_PER_WORKER = 200
# Starting a worker takes 1-2 s on an idle machine; a saturated one (tests of many sessions on
# two cores) was measured at over a minute for Django's set-up alone.
START_TIMEOUT_SECONDS = 300


class RenderFailed(DomainError):
    """A document could not be produced by a worker process (crashed, killed, too slow)."""

    status = 503
    title = "Dokument nicht erzeugt"
    type_slug = "render-failed"


_lock = threading.Lock()
_pool: cf.ProcessPoolExecutor | None = None
_in_worker = False


def in_worker() -> bool:
    return _in_worker


def _no_database(execute, sql, params, many, context):
    raise RuntimeError("offload: a worker process must not use the database (gather in the "
                       "caller, pass the data)")


def _start_worker(nice: int) -> None:
    """Initializer of each worker process: lower priority, Django, no database."""
    global _in_worker
    _in_worker = True
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beistand.settings")
    import django

    django.setup()
    from django.db import connections

    for alias in connections:
        connections[alias].execute_wrappers.append(_no_database)
    # After the start-up (imports, seconds of CPU), so that a busy machine does not keep the
    # first document waiting behind a start at low priority.
    if nice:
        os.nice(nice)


def _get_pool() -> cf.ProcessPoolExecutor:
    """The pool, started and ready: a worker's start (imports, Django) is waited for here, with
    ``START_TIMEOUT_SECONDS``, so that it never counts against a document's own timeout."""
    global _pool
    with _lock:
        if _pool is None:
            pool = cf.ProcessPoolExecutor(
                max_workers=settings.RENDER_PROCESSES,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(settings.RENDER_NICE,),
                max_tasks_per_child=TASKS_PER_WORKER)
            try:
                pool.submit(os.getpid).result(timeout=START_TIMEOUT_SECONDS)
            except (cf.TimeoutError, BrokenProcessPool) as exc:
                log.error("offload: the render worker did not start: %r", exc)
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    with contextlib.suppress(OSError, AttributeError, ValueError):
                        process.kill()
                pool.shutdown(wait=False, cancel_futures=True)
                raise _NotStarted from None
            _pool = pool
        return _pool


class _NotStarted(Exception):
    pass


def _discard(pool: cf.ProcessPoolExecutor, *, kill: bool) -> None:
    """Drop a pool (broken, or with a worker that overran): kill its workers, forget it."""
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    if kill:
        # ProcessPoolExecutor (3.12) has no public way to stop a running task.
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, AttributeError, ValueError):
                process.kill()
    try:
        pool.shutdown(wait=False, cancel_futures=True)
    except Exception:  # a broken pool may fail to shut down cleanly; it is gone either way
        log.debug("offload: shutting down a discarded pool failed", exc_info=True)


def worker_pids() -> list[int]:
    """The live worker processes' ids (for tests and the operations page)."""
    pool = _pool
    if pool is None:
        return []
    return [p.pid for p in list((getattr(pool, "_processes", None) or {}).values())
            if p.is_alive()]


def shutdown() -> None:
    """Stop the pool (server shut-down, tests); the next ``call`` starts a new one."""
    pool = _pool
    if pool is not None:
        _discard(pool, kill=False)


def call(fn, *args, what: str = "Das Dokument"):
    """``fn(*args)`` in a worker process; its result, or ``RenderFailed`` (503).

    ``what`` names the document in the German error ("Das Dokument „Jahresbericht“")."""
    if _in_worker or settings.RENDER_PROCESSES == 0:
        return fn(*args)
    timeout = settings.RENDER_TIMEOUT_SECONDS
    for attempt in (1, 2):
        try:
            pool = _get_pool()
        except _NotStarted:
            raise RenderFailed(f"{what} konnte nicht erzeugt werden: der Prozess für die "
                               "Erzeugung ließ sich nicht starten. Bitte erneut versuchen "
                               "oder den Betrieb informieren.") from None
        try:
            future = pool.submit(fn, *args)
            break
        except (BrokenProcessPool, RuntimeError):
            # A worker died while idle (killed, out of memory): nothing of ours ran yet.
            _discard(pool, kill=True)
            if attempt == 2:
                raise RenderFailed(f"{what} konnte nicht erzeugt werden: der Prozess für die "
                                   "Erzeugung ließ sich nicht starten. Bitte erneut versuchen "
                                   "oder den Betrieb informieren.") from None
    try:
        return future.result(timeout=timeout)
    except cf.TimeoutError:
        if future.cancel():
            raise RenderFailed(f"{what} konnte nicht erzeugt werden: die Erzeugung ist "
                               f"ausgelastet (länger als {timeout} s gewartet). Bitte später "
                               "erneut versuchen.") from None
        log.error("offload: %s overran %s s; worker killed", fn.__qualname__, timeout)
        _discard(pool, kill=True)
        raise RenderFailed(f"{what} konnte nicht erzeugt werden: die Erzeugung dauerte länger "
                           f"als {timeout} s und wurde abgebrochen. Bitte später erneut "
                           "versuchen.") from None
    except cf.CancelledError:
        # Queued behind a render that overran or crashed: its pool was discarded with this task.
        raise RenderFailed(f"{what} konnte nicht erzeugt werden: die Erzeugung wurde wegen eines "
                           "anderen, abgebrochenen Dokuments neu gestartet. Bitte erneut "
                           "versuchen.") from None
    except BrokenProcessPool:
        log.error("offload: the worker process running %s ended unexpectedly",
                  fn.__qualname__)
        _discard(pool, kill=True)
        raise RenderFailed(f"{what} konnte nicht erzeugt werden: der Prozess für die Erzeugung "
                           "wurde unerwartet beendet. Bitte erneut versuchen.") from None
    except DomainError:
        raise
    except Exception as exc:
        # The worker's traceback is chained (concurrent.futures' _RemoteTraceback).
        log.exception("offload: %s failed in the worker process", fn.__qualname__)
        raise RenderFailed(f"{what} konnte nicht erzeugt werden: Fehler bei der Erzeugung. "
                           "Der Fehler wurde protokolliert.") from exc
