"""Script slots (pages/_ui.py): at most N sessions' scripts run at once in a server; a
script waiting on a worker process gives its slot up meanwhile; the router run inside a
page's run (a deep link) does not wait for a second slot."""

from __future__ import annotations

import threading
import time

import pytest


@pytest.fixture()
def two_slots(monkeypatch):
    from pages import _ui

    monkeypatch.setattr(_ui, "_SLOTS", threading.BoundedSemaphore(2))
    return _ui


def _run_together(target, count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)


def test_no_more_scripts_than_slots_run_at_once(two_slots):
    running, most, lock = [0], [0], threading.Lock()

    def script() -> None:
        with two_slots.script_slot():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    _run_together(script, 6)
    assert most[0] == 2


def test_a_script_waiting_on_a_worker_lets_another_run(two_slots):
    from lab import workerpool

    waiting = threading.Barrier(3, timeout=5)  # two waiters and the third script
    met = []

    def waits_on_a_worker() -> None:
        with two_slots.script_slot(), workerpool.waiting():
            waiting.wait()  # both slots' holders wait here: the third must get in
            met.append("waiter")

    def third() -> None:
        with two_slots.script_slot():
            waiting.wait()
            met.append("third")

    threads = [threading.Thread(target=waits_on_a_worker) for _ in range(2)]
    threads.append(threading.Thread(target=third))
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert sorted(met) == ["third", "waiter", "waiter"]  # not a broken barrier


def test_the_router_inside_a_page_run_takes_no_second_slot(two_slots, monkeypatch):
    monkeypatch.setattr(two_slots, "_SLOTS", threading.BoundedSemaphore(1))
    done = threading.Event()

    def nested() -> None:
        with two_slots.script_slot(), two_slots.script_slot():
            done.set()

    _run_together(nested, 1)
    assert done.is_set()
    assert two_slots._SLOTS.acquire(timeout=1)  # the one slot was given back
