"""The idle collector: a full collection and the heap trimmed once the server is idle, and
again while it stays idle; never while work is running. When the room has left
(pages/_ui._room_left): idle worker processes stopped, those in use kept."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from lab import warm
from lab.memory import IdleCollector, give_back, trim_heap
from lab.workerpool import WorkerPool, stop_idle
from tests.workspaces import wait_until


def test_it_acts_once_idle_and_again_while_idle():
    ran = threading.Event()
    collector = IdleCollector(idle_s=0.05, every_s=0.1, action=ran.set).start()
    try:
        assert ran.wait(5)
        assert wait_until(lambda: collector.runs >= 3)  # it stays idle: again and again
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
        assert wait_until(lambda: collector.runs >= 1)
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
        assert wait_until(lambda: collector.runs == 1)
    finally:
        collector.stop()


def test_giving_back_trims_the_heap_on_glibc():
    import platform

    blocks = [bytearray(64 * 1024) for _ in range(200)]  # some heap to hand back
    del blocks
    give_back()
    if platform.libc_ver()[0] == "glibc":
        assert trim_heap() is True


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_when_the_room_left_idle_workers_stop_and_lent_ones_go_on():
    pool = WorkerPool(_sleeper, 2, "test-room")
    lent, idle = pool.take(), pool.take()
    pool.give_back(idle, healthy=True)
    try:
        assert stop_idle() >= 1
        assert idle.wait(5) is not None  # stopped
        assert lent.poll() is None  # still serving its caller
        assert pool.count == 1 and pool.idle == []
    finally:
        pool.give_back(lent, healthy=False)
    assert lent.wait(5) is not None


@pytest.mark.skipif(not warm.warm_available(), reason="the warm worker runs on Linux only")
def test_the_fork_server_stops_only_when_no_run_uses_it():
    with warm._lease() as server:
        assert warm.stop_if_idle() is False
        assert server.alive()
    assert warm.stop_if_idle() is True
    assert server.proc.wait(5) is not None and warm._server is None
    assert warm.stop_if_idle() is False  # none running: nothing to stop


def test_a_warm_up_under_way_when_the_room_left_stops_what_it_started():
    gate = threading.Event()

    def slow_sleeper() -> subprocess.Popen:
        gate.wait(5)
        return _sleeper()

    pool = WorkerPool(slow_sleeper, 1, "test-warm-reset")
    started = []
    pool.spawn = lambda: started.append(slow_sleeper()) or started[-1]
    pool.warm()
    assert wait_until(lambda: pool.count == 1)  # the warm-up is starting its worker
    pool.reset()
    gate.set()
    assert wait_until(lambda: bool(started) and started[0].poll() is not None)
    assert pool.idle == [] and pool.count == 0
