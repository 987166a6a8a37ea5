"""CPU work in worker processes, out of the way of a shared server.

A Streamlit server runs every session's script in threads of one process: Python code in
any of them (a page, a job) holds the others up, so one process serves about one core of
Python however many cores the machine has. On a workshop server the lab's heaviest
computations (the in-process data preparation, a trained model's evaluation) therefore run
here instead: `call(fn, *args)` runs a module-level function in one of WORKERS long-lived
worker processes (which import pandas and scikit-learn once) and returns its result, or
raises its exception, as if it had run in the caller. Arguments and results cross as
pickles, so they are kept small (paths, parameters, results); data goes through the
workspace's files.

A worker is `python -m lab.offload` with the lab importable; it exits when its stdin
closes and dies with the process that started it (started from one long-lived thread, as
`jobs.dies_with_parent` requires). Off a workshop server (`elsewhere=False`), and whenever
a worker cannot start, the function simply runs in the caller.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lab.jobs import dies_with_parent
from lab.workerpool import WorkerPool

T = TypeVar("T")
WORKERS = max(1, min(4, os.cpu_count() or 1))
PRELOAD = ("numpy", "pandas", "sklearn.model_selection", "sklearn.preprocessing",
           "lab.processing", "lab.dataset")
_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the lab package


class WorkerDied(RuntimeError):
    """The worker process ended during a call (killed, out of memory)."""


def _call(fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    """`fn(*args, **kwargs)` in one of the pool's workers."""
    request = pickle.dumps((fn, args, kwargs))
    with _POOL.lend() as loan:
        try:
            loan.worker.stdin.write(struct.pack(">I", len(request)) + request)
            loan.worker.stdin.flush()
            reply = _read(loan.worker.stdout)
            loan.healthy = reply is not None
        except (OSError, ValueError):
            reply = None
    if reply is None:
        raise WorkerDied(f"The worker process running {fn.__qualname__} stopped.")
    try:
        ok, value = pickle.loads(reply)
    except Exception as exc:  # an exception class that does not unpickle
        raise RuntimeError(f"{fn.__qualname__} failed in a worker process") from exc
    if not ok:
        raise value
    return value


def _spawn() -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()  # no AWS secrets: the work needs none
           if not k.startswith(("AWS_SECRET", "AWS_SESSION", "AWS_ACCESS"))}
    env["PYTHONPATH"] = os.pathsep.join([str(_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"  # one core per worker
    worker = subprocess.Popen(dies_with_parent([sys.executable, "-m", "lab.offload"]),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                              cwd=_ROOT)
    if _read(worker.stdout) != b"R":
        worker.kill()
        raise WorkerDied("A worker process did not start.")
    return worker


def _read(stream) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    size = struct.unpack(">I", head)[0]
    body = stream.read(size)
    return body if len(body) == size else None


_POOL = WorkerPool(_spawn, WORKERS, "offload")


def shared_server() -> bool:
    """True in a workshop server's process (LAB_WORKSHOP): where the work goes elsewhere."""
    from lab.settings import load_settings

    return load_settings().workshop_mode


def call(fn: Callable[..., T], *args: Any, elsewhere: bool | None = None, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, run in a worker process when `elsewhere` (by default: on a
    workshop server), else, or when no worker can start, here. `fn` must be picklable: a
    module-level function, or a method of a picklable object."""
    if not (shared_server() if elsewhere is None else elsewhere):
        return fn(*args, **kwargs)
    try:
        return _call(fn, args, kwargs)
    except WorkerDied:
        return fn(*args, **kwargs)


def warm() -> None:
    """Start the workers in the background (a workshop server's first page calls it), so
    the first attendee to prepare data does not wait for their imports."""
    _POOL.warm(failures=(OSError, WorkerDied))


def _serve() -> None:
    """The worker: preload, say ready, then run requests one at a time until stdin closes."""
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # what the work prints must not corrupt the replies

    def reply(body: bytes) -> None:
        stdout.write(struct.pack(">I", len(body)) + body)
        stdout.flush()

    reply(b"R")
    while True:
        request = _read(stdin)
        if request is None:
            return
        try:
            fn, args, kwargs = pickle.loads(request)
            body = pickle.dumps((True, fn(*args, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 - the caller raises it
            try:
                body = pickle.dumps((False, exc))
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                body = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        reply(body)


if __name__ == "__main__":
    _serve()
