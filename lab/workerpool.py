"""A few long-lived worker processes, each lent to one caller at a time.

The offline store's SQL workers (`lab.featurestore._offline`) and a workshop server's
offload workers (`lab.offload`) are both this: at most `size` processes, started on first
use by `spawn` and kept; a caller takes an idle one (or waits while all are busy), and gives
it back healthy, or not, in which case it is stopped and the next caller starts a fresh one.

Workers are started from one long-lived thread per pool: a worker started with
PR_SET_PDEATHSIG dies with the thread that started it, and a session's or a job's thread may
end while its worker goes on serving others.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager as ContextManager

_waiting: Callable[[], ContextManager] = contextlib.nullcontext
_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


def set_waiting(hook: Callable[[], ContextManager]) -> None:
    """What a caller runs inside while it waits on a worker (for a free one, then for its
    answer). A server that lets only a few threads compute at once (the app's script
    slots) gives its slot up meanwhile: the caller computes nothing while it waits."""
    global _waiting
    _waiting = hook


def waiting() -> ContextManager:
    return _waiting()


class Loan:
    """A worker lent to one caller, who marks it `healthy` once the exchange went well."""

    def __init__(self, worker: subprocess.Popen) -> None:
        self.worker, self.healthy = worker, False


class WorkerPool:
    def __init__(self, spawn: Callable[[], subprocess.Popen], size: int, name: str) -> None:
        self.spawn, self.size = spawn, size
        self.idle: list[subprocess.Popen] = []
        self.count = 0
        self.resets = 0  # a warm-up under way when the pool is reset stops what it started
        self.changed = threading.Condition()
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix=f"lab-{name}-spawner")
        _POOLS.add(self)

    def take(self) -> subprocess.Popen:
        with self.changed:
            while not self.idle and self.count >= self.size:
                self.changed.wait()
            if self.idle:
                return self.idle.pop()
            self.count += 1
        try:
            return self._spawner.submit(self.spawn).result()
        except BaseException:
            with self.changed:
                self.count -= 1
                self.changed.notify()
            raise

    @contextlib.contextmanager
    def lend(self) -> Iterator[Loan]:
        """A worker for one exchange, all of it inside `waiting()`: given back when the block
        ends, kept if the caller marked the loan healthy, else stopped."""
        with waiting():
            loan = Loan(self.take())
            try:
                yield loan
            finally:
                self.give_back(loan.worker, loan.healthy)

    def give_back(self, worker: subprocess.Popen, healthy: bool) -> None:
        if not healthy:
            stop(worker)
        with self.changed:
            if healthy:
                self.idle.append(worker)
            else:
                self.count -= 1
            self.changed.notify()

    def warm(self, failures: tuple[type[BaseException], ...] = (OSError,)) -> None:
        """Start every worker in the background unless some are started already; a start
        failing with one of `failures` ends the warm-up (the next caller tries again)."""
        def start() -> None:
            with self.changed:
                if self.count:
                    return
                self.count, resets = self.size, self.resets
            started = []
            for _ in range(self.size):
                try:
                    started.append(self.spawn())
                except failures:
                    break
            with self.changed:
                if self.resets != resets:  # reset meanwhile: these are not wanted either
                    started, unwanted = [], started
                else:
                    unwanted = []
                self.idle.extend(started)
                self.count -= self.size - len(started)
                self.changed.notify_all()
            for worker in unwanted:
                stop(worker)

        self._spawner.submit(start)

    def reset(self) -> int:
        """Stop the idle workers (the next caller starts a fresh one); how many."""
        with self.changed:
            idle, self.idle = self.idle, []
            self.count -= len(idle)
            self.resets += 1
        for worker in idle:
            stop(worker)
        return len(idle)


def stop_idle() -> int:
    """Stop every pool's idle workers (a server whose room has left gives their memory
    back; workers lent out go on). How many were stopped."""
    stopped = 0
    for pool in list(_POOLS):
        stopped += pool.reset()
    return stopped


def stop(worker: subprocess.Popen) -> None:
    """Kill the worker, reap it, and close its pipes."""
    worker.kill()
    try:
        worker.wait(5)
    except subprocess.TimeoutExpired:
        pass
    for stream in (worker.stdin, worker.stdout):
        try:
            stream.close()
        except (OSError, ValueError, AttributeError):
            pass
