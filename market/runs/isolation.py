"""Every CP-SAT solve runs in a child process, so a crash of the engine ends that child only.

OR-Tools now and then aborts the whole process on an internal CHECK failure (its issues
#3617, #4176, seen here in multi-thread runs). A matching run or an instant quote solved
inside the web process would take the site down with it. Here solves go to a pool of
spawned processes (spawn: no forked copy of the web app's threads and connections), reused
for a bounded number of solves; a child that dies breaks only its pool, which is replaced,
and the caller gets `SolverCrashed` with the reason.

Inside a Celery prefork worker (a daemon process, which may not have children) the solve
runs in that worker process: it is already the isolation, and a task lost with its worker
is retried by the reaper.
"""

from __future__ import annotations

import concurrent.futures as futures
import logging
import multiprocessing
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from importlib import import_module
from typing import Any

log = logging.getLogger(__name__)

MAX_SOLVES_PER_CHILD = 25  # fresh children now and then: memory and native state stay small
ENGINE = {"solve": ("matching.solver", "solve"), "quote": ("matching.quote", "quote")}
_pools: dict[str, futures.ProcessPoolExecutor] = {}
_lock = threading.Lock()


class SolverCrashed(RuntimeError):
    """The engine's process died (or hung past its limit); nothing of its work is kept."""


def _engine_call(name: str, args: tuple, kwargs: dict, test_abort: bool) -> Any:
    """Runs in the child."""
    if test_abort:  # the tests' way to crash a child for real (never set in production)
        os.abort()
    module, function = ENGINE[name]
    result = getattr(import_module(module), function)(*args, **kwargs)
    return result.to_dict() if name == "solve" else result


def _pool(kind: str, workers: int) -> futures.ProcessPoolExecutor:
    with _lock:
        pool = _pools.get(kind)
        if pool is None:
            pool = _pools[kind] = futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=MAX_SOLVES_PER_CHILD)
        return pool


def _discard(kind: str, pool: futures.ProcessPoolExecutor) -> None:
    with _lock:
        if _pools.get(kind) is pool:
            del _pools[kind]
    # a hung child must not outlive its pool
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def call_engine(name: str, *args: Any, kind: str = "runs", processes: int = 2,
                timeout: float = 600.0, **kwargs: Any) -> Any:
    """`matching.solver.solve(...)` (its plan as a dict) or `matching.quote.quote(...)`, in a
    child process of the `kind` pool. `timeout`: the caller's limit plus a margin."""
    # the tests crash a child for real with YUNZAO_TEST_SOLVER_ABORT=1
    test_abort = os.environ.get("YUNZAO_TEST_SOLVER_ABORT") == "1"
    if multiprocessing.current_process().daemon:
        return _engine_call(name, args, kwargs, test_abort)
    pool = _pool(kind, processes)
    try:
        future = pool.submit(_engine_call, name, args, kwargs, test_abort)
        return future.result(timeout=timeout)
    except BrokenProcessPool:
        log.error("the engine's process died during %s; its pool is replaced", name)
        _discard(kind, pool)
        raise SolverCrashed("The solver process crashed; nothing of this solve was kept.") \
            from None
    except futures.TimeoutError:
        log.error("the engine's process did not answer %s within %.0f s", name, timeout)
        _discard(kind, pool)
        raise SolverCrashed("The solver did not answer in time; it was stopped.") from None


def shutdown() -> None:
    """Stop every pool (tests, and a clean exit)."""
    with _lock:
        pools = list(_pools.items())
        _pools.clear()
    for _kind, pool in pools:
        pool.shutdown(wait=False, cancel_futures=True)
