"""Giving a long-running server's memory back when nobody is using it.

A workshop server runs with Streamlit's collection after every script run turned off
(`.streamlit/config.toml`: it held the GIL about 86 ms each time, for every attendee).
Python's generational collector still runs, but when the room leaves, what the sessions
made stays in the process: their cycles wait for a full collection that may never come,
and the C allocator keeps freed pages for reuse. `IdleCollector` does both once the
process has been idle for a while: a full collection, then `malloc_trim(0)`, which hands
glibc's free pages back to the system. It runs again every so often while the server
stays idle, because a closed session is only shut down two minutes after it closed (the
window for a reconnect; pages/_room.py); it never runs while scripts are running. When
the last session has ended, the app also stops its idle worker processes and empties its
pages' caches (pages/_ui._room_left) before handing the memory back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import threading
import time
from collections.abc import Callable


def trim_heap() -> bool:
    """Hand the C allocator's free pages back to the system; False where this is not
    glibc (nothing to do there)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def give_back() -> None:
    gc.collect()
    trim_heap()


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


class IdleCollector:
    """Calls `action` (default `give_back`) when no work has been marked for `idle_s`
    seconds, and every `every_s` seconds after that while it stays idle.

    `busy()` is called when work starts and `done()` when it ends (any thread); work in
    progress keeps the process busy however long it takes.
    """

    def __init__(self, idle_s: float = 10.0, every_s: float = 60.0,
                 action: Callable[[], None] = give_back) -> None:
        self.idle_s, self.every_s, self.action = idle_s, every_s, action
        self.runs = 0  # how many times the action ran (for tests and the curious)
        self._lock = threading.Lock()
        self._running = 0
        self._last_work = time.monotonic()
        self._last_action = 0.0
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> IdleCollector:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="lab-idle-collector",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def busy(self) -> None:
        with self._lock:
            self._running += 1
            self._last_work = time.monotonic()

    def done(self) -> None:
        with self._lock:
            self._running = max(0, self._running - 1)
            self._last_work = time.monotonic()

    def _due_in(self) -> float:
        """Seconds until the action is due (0: now)."""
        with self._lock:
            if self._running:
                return self.idle_s
            now = time.monotonic()
            quiet_at = self._last_work + self.idle_s
            if self._last_action > self._last_work:  # ran since the last work
                quiet_at = self._last_action + self.every_s
            return max(0.0, quiet_at - now)

    def _loop(self) -> None:
        while not self._stopped:
            wait = self._due_in()
            if wait > 0:
                self._wake.wait(wait)
                continue
            self.action()
            with self._lock:
                self._last_action = time.monotonic()
                self.runs += 1
