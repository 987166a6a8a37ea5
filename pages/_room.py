"""The room: closed sessions shut down when their reconnect window ends, and what the
server gives back once the last attendee has gone.

Streamlit keeps a closed browser session for `server.disconnectedSessionTTL` seconds (120)
so that a reload can resume it. Its own store (MemorySessionStorage, Streamlit 1.67) then
forgets the session without shutting it down (streamlit/streamlit#12506), and only at the
next disconnect: the session's uploaded files, media and state stay in the server for good.
`ClosingSessionStorage` takes its place: same window, but a closed session is shut down
(Streamlit's own `AppSession.shutdown`) when its window ends, by a timer on the server's
event loop. When that leaves no session at all, `room_left` runs once: a workshop server
that served a class hands back what the class made (see `pages/_ui.py`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

_LOG = logging.getLogger(__name__)
MAX_CLOSED = 128  # closed sessions kept for a reconnect at most (Streamlit's own bound)


class ClosingSessionStorage:
    """A Streamlit SessionStorage (get/save/delete/list) of closed sessions, each kept
    `ttl_s` seconds and then shut down. `active()` counts the sessions still connected;
    `room_left()` runs (in its own thread) when the last closed session's window ends and
    none is connected."""

    def __init__(self, ttl_s: float, active: Callable[[], int],
                 room_left: Callable[[], Any], max_closed: int = MAX_CLOSED) -> None:
        self.ttl_s, self.active, self.room_left = ttl_s, active, room_left
        self.max_closed = max_closed
        self._closed: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str):
        with self._lock:
            entry = self._closed.get(session_id)
        return entry[0] if entry and entry[1] > time.monotonic() else None

    def save(self, session_info) -> None:
        with self._lock:
            self._closed.pop(session_info.session.id, None)
            self._closed[session_info.session.id] = (session_info,
                                                     time.monotonic() + self.ttl_s)
        self._check_after(self.ttl_s)
        self.reap()

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._closed.pop(session_id, None)

    def list(self) -> list:
        now = time.monotonic()
        with self._lock:
            return [info for info, ends in self._closed.values() if ends > now]

    def reap(self) -> int:
        """Shut down the closed sessions whose window ended (and the oldest beyond
        `max_closed`); when that empties the room, `room_left`. How many were shut down."""
        now = time.monotonic()
        with self._lock:
            # One window for all, kept in closing order: the ended ones come first, and
            # beyond the bound the next oldest follow them.
            ended = [sid for sid, (_, ends) in self._closed.items() if ends <= now]
            ended += list(self._closed)[len(ended):max(0, len(self._closed) - self.max_closed)]
            gone = [self._closed.pop(sid)[0] for sid in ended]
            empty = not self._closed
        for info in gone:
            try:
                info.session.shutdown()
            except Exception:  # one session failing to shut down must not keep the others
                _LOG.exception("A closed session did not shut down cleanly.")
        if gone and empty and self.active() == 0:
            threading.Thread(target=self._room_left, name="lab-room-left", daemon=True).start()
        return len(gone)

    def _room_left(self) -> None:
        try:
            self.room_left()
        except Exception:
            _LOG.exception("Giving back what the room left failed.")

    def _check_after(self, delay_s: float) -> None:
        """Reap once `delay_s` has passed: on the server's event loop when saved from it
        (Streamlit saves a session when its websocket closes), else on a timer thread."""
        try:
            asyncio.get_running_loop().call_later(delay_s + 0.05, self.reap)
        except RuntimeError:
            timer = threading.Timer(delay_s + 0.05, self.reap)
            timer.daemon = True
            timer.start()


def install(room_left: Callable[[], Any]) -> bool:
    """Put a ClosingSessionStorage in the running server's session manager, keeping the
    sessions its own store holds; False (and a warning) where this Streamlit has no such
    manager, which changes nothing else."""
    from streamlit import config, runtime

    if not runtime.exists():  # a script run without a server (AppTest)
        return False
    manager = getattr(runtime.get_instance(), "_session_mgr", None)
    old = getattr(manager, "_session_storage", None)
    if old is None or not hasattr(manager, "list_active_sessions"):
        _LOG.warning("This Streamlit keeps closed sessions its own way: they are not shut "
                     "down when their reconnect window ends.")
        return False
    if isinstance(old, ClosingSessionStorage):
        return True
    storage = ClosingSessionStorage(
        float(config.get_option("server.disconnectedSessionTTL")),
        active=lambda: len(manager.list_active_sessions()), room_left=room_left)
    with getattr(manager, "_storage_lock", None) or threading.Lock():
        for info in old.list():
            storage.save(info)
        manager._session_storage = storage
    return True
