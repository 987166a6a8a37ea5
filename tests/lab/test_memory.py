"""The idle collector: a full collection and the heap trimmed once the server is idle, and
again while it stays idle; never while work is running."""

from __future__ import annotations

import threading
import time

from lab.memory import IdleCollector, give_back, trim_heap


def _wait_for(predicate, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_it_acts_once_idle_and_again_while_idle():
    ran = threading.Event()
    collector = IdleCollector(idle_s=0.05, every_s=0.1, action=ran.set).start()
    try:
        assert ran.wait(5)
        assert _wait_for(lambda: collector.runs >= 3)  # it stays idle: again and again
    finally:
        collector.stop()


def test_it_never_acts_while_work_runs():
    collector = IdleCollector(idle_s=0.05, every_s=0.05, action=lambda: None)
    collector.busy()  # before start: nothing can slip in between
    collector.start()
    try:
        time.sleep(0.4)  # many idle periods long
        assert collector.runs == 0
        collector.done()
        assert _wait_for(lambda: collector.runs >= 1)
    finally:
        collector.stop()


def test_work_ending_restarts_the_wait():
    collector = IdleCollector(idle_s=0.3, every_s=60, action=lambda: None).start()
    try:
        for _ in range(4):  # work every 0.1 s: never idle for 0.3 s
            collector.busy()
            collector.done()
            time.sleep(0.1)
        assert collector.runs == 0
        assert _wait_for(lambda: collector.runs == 1)
    finally:
        collector.stop()


def test_giving_back_trims_the_heap_on_glibc():
    import platform

    blocks = [bytearray(64 * 1024) for _ in range(200)]  # some heap to hand back
    del blocks
    give_back()
    if platform.libc_ver()[0] == "glibc":
        assert trim_heap() is True
