"""The room (pages/_room.py): a closed session is shut down when its reconnect window
ends, not forgotten with its files and state as Streamlit's own store does; when that
leaves no session, the server's `room_left` runs once.

The sessions here are small stand-ins with Streamlit's two attributes the store uses
(`session.id`, `session.shutdown()`); the real server's behaviour is in
tests/e2e/test_workshop_sessions.py (`test_a_room_that_left_gives_its_workers_back`)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from pages._room import ClosingSessionStorage


@dataclass
class _AppSession:
    id: str
    shut: threading.Event = field(default_factory=threading.Event)

    def shutdown(self) -> None:
        self.shut.set()


@dataclass
class _Info:
    session: _AppSession


def _closed(sid: str) -> _Info:
    return _Info(_AppSession(sid))


class _Room:
    def __init__(self, ttl_s: float, active: int = 0, max_closed: int = 128) -> None:
        self.active, self.left = active, threading.Event()
        self.left_count = 0
        self.store = ClosingSessionStorage(ttl_s, active=lambda: self.active,
                                           room_left=self._left, max_closed=max_closed)

    def _left(self) -> None:
        self.left_count += 1
        self.left.set()


def test_a_closed_session_can_be_resumed_within_its_window():
    room = _Room(ttl_s=30)
    info = _closed("a")
    room.store.save(info)
    assert room.store.get("a") is info
    assert room.store.list() == [info]
    room.store.delete("a")  # Streamlit deletes it when the browser reconnects
    assert room.store.get("a") is None
    assert not info.session.shut.is_set()


def test_a_closed_session_is_shut_down_when_its_window_ends_without_another_disconnect():
    room = _Room(ttl_s=0.2, active=1)  # someone is still connected: the room stays
    info = _closed("a")
    room.store.save(info)
    assert info.session.shut.wait(5), "its window ended and it was never shut down"
    assert room.store.get("a") is None and room.store.list() == []
    time.sleep(0.2)
    assert not room.left.is_set()


def test_the_room_left_runs_once_when_the_last_closed_session_ends_and_nobody_is_connected():
    room = _Room(ttl_s=0.2)
    first, last = _closed("a"), _closed("b")
    room.store.save(first)
    time.sleep(0.1)
    room.store.save(last)
    assert first.session.shut.wait(5)
    assert not room.left.wait(0.05) or last.session.shut.is_set()  # not before the last
    assert room.left.wait(5), "the last session's window ended: the room left"
    assert last.session.shut.is_set()
    time.sleep(0.3)
    assert room.left_count == 1


def test_beyond_the_bound_the_oldest_closed_session_is_shut_down_at_once():
    room = _Room(ttl_s=30, active=1, max_closed=2)
    infos = [_closed(s) for s in "abc"]
    for info in infos:
        room.store.save(info)
    assert infos[0].session.shut.is_set()
    assert [i.session.id for i in room.store.list()] == ["b", "c"]


def test_a_session_failing_to_shut_down_does_not_keep_the_others():
    room = _Room(ttl_s=0.1)

    class _Broken(_AppSession):
        def shutdown(self) -> None:
            raise RuntimeError("boom")

    broken, fine = _Info(_Broken("a")), _closed("b")
    room.store.save(broken)
    room.store.save(fine)
    assert fine.session.shut.wait(5)
    assert room.left.wait(5)
