"""A warm worker for container scripts: a fresh process per run, without the import bill.

A training run is a script run in its own process, as in a SageMaker container. A cold
`python entry_point.py` spends 1-3 s importing pandas, xgboost and scikit-learn before it
trains for 0.2-1 s, and a tuning job pays that for every trial; a sharded processing job
starts one process per instance and phase. So the local engines ask a small fork server,
started once per lab process, that has imported those libraries: it forks one child per
run. Each run is still its own process (own memory, own environment
with SM_CHANNEL_* and SM_MODEL_DIR, own output file, killable on cancel), running the
script file as `__main__` with its arguments, but it starts in milliseconds.

The server is this file run by path (`python worker.py --serve`), so it imports nothing of
the lab, and it is single-threaded and never trains, so forking it is safe for OpenMP and
BLAS. It speaks JSON lines: requests {"id", "script", "args", "env", "output"} on stdin;
{"id", "pid"} when a child started and {"id", "exit"} when it ended on stdout. It exits
when its stdin closes (the lab process ended), stopping the runs it started.
multiprocessing's forkserver is not used: it re-runs the parent's `__main__`, which in a
Streamlit server is the page script being run.

Off Linux (fork is missing on Windows and unsafe with macOS's system libraries), or with
LAB_TRAINING_WORKER=subprocess, runs are cold `python script.py` subprocesses instead.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRELOAD = ("numpy", "pandas", "joblib", "xgboost", "sklearn.ensemble", "sklearn.tree",
           "sklearn.model_selection", "sklearn.preprocessing")
START_TIMEOUT_S = 60  # the server's first imports, on a busy machine


@contextmanager
def cold_workers() -> Iterator[None]:
    """Within: container scripts run as cold `python script.py` processes, no warm worker
    (the bench's naive reference; LAB_TRAINING_WORKER=subprocess for the whole process)."""
    before = os.environ.get("LAB_TRAINING_WORKER")
    os.environ["LAB_TRAINING_WORKER"] = "subprocess"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LAB_TRAINING_WORKER", None)
        else:
            os.environ["LAB_TRAINING_WORKER"] = before


def warm_available() -> bool:
    """Linux only: macOS system libraries (Accelerate) are not safe to use after fork."""
    return (os.environ.get("LAB_TRAINING_WORKER", "fork") != "subprocess"
            and sys.platform.startswith("linux"))


# The lab's side.

class _Server:
    """The fork server process and the thread that reads its replies."""

    def __init__(self) -> None:
        # One BLAS thread in the server: then it is single-threaded when it forks.
        env = {k: v for k, v in os.environ.items()  # no AWS secrets: runs need none
               if not k.startswith(("AWS_SECRET", "AWS_SESSION", "AWS_ACCESS"))}
        env.update(OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(Path(__file__).resolve()), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
        self.write_lock = threading.Lock()
        self.replies: dict[int, dict] = {}
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True, name="lab-worker-replies").start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            with self.changed:
                self.replies.setdefault(reply["id"], {}).update(reply)
                self.changed.notify_all()
        with self.changed:  # the server is gone: every open request ends
            for reply in self.replies.values():
                reply.setdefault("exit", -1)
            self.changed.notify_all()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, request: dict) -> None:
        with self.write_lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()

    def wait(self, request_id: int, key: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while key not in self.replies.get(request_id, {}) and "exit" not in \
                    self.replies.get(request_id, {}):
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive() and request_id not in self.replies:
                    return None
                self.changed.wait(min(left, 0.5))
            return self.replies.get(request_id)

    def forget(self, request_id: int) -> None:
        with self.changed:
            self.replies.pop(request_id, None)


_server: _Server | None = None
_server_lock = threading.Lock()
_in_use = 0  # runs started on the server and not ended yet
_ids = itertools.count(1)


def _get_server() -> _Server:
    global _server
    with _server_lock:
        if _server is None or not _server.alive():
            _server = _Server()
        return _server


@contextmanager
def _lease() -> Iterator[_Server]:
    """The server for one run: never stopped by `stop_if_idle` while the run lasts."""
    global _in_use
    with _server_lock:
        _in_use += 1
    try:
        yield _get_server()
    finally:
        with _server_lock:
            _in_use -= 1


def stop_if_idle() -> bool:
    """Stop the fork server unless a run is using it (a server whose room has left gives
    its memory back; the next run starts a fresh one). True if it was stopped."""
    global _server
    with _server_lock:
        if _server is None or _in_use:
            return False
        server, _server = _server, None
    if server.proc.stdin is not None:
        server.proc.stdin.close()  # the server exits when its stdin closes
    try:
        server.proc.wait(5)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
    return True


def prestart() -> None:
    """Start the fork server now (its imports then overlap the caller's own work), when
    runs would use it; a no-op when it runs already or runs are cold subprocesses."""
    if warm_available():
        _get_server()


def run_script(cmd: list[str], env: dict[str, str], output: Path,
               on_line, cancelled) -> int:
    """Run `python cmd[0] cmd[1:]` as a warm child; stream its lines to `on_line`.

    Stops the child when `cancelled()` turns true. Returns the exit code (negative for a
    signal, as subprocess does).
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("")
    with _lease() as server:
        return _run(server, next(_ids), cmd, env, output, on_line, cancelled)


def _run(server: _Server, request_id: int, cmd: list[str], env: dict[str, str],
         output: Path, on_line, cancelled) -> int:
    server.send({"id": request_id, "script": str(cmd[0]), "args": [str(a) for a in cmd[1:]],
                 "env": env, "output": str(output)})
    started = server.wait(request_id, "pid", START_TIMEOUT_S)
    if started is None or "pid" not in started:
        server.forget(request_id)
        raise RuntimeError("The warm worker did not start the script.")
    pid, stop_sent = started["pid"], None
    try:
        with open(output, errors="replace") as fh:
            pending = ""
            while True:
                chunk = fh.readline()
                if chunk:
                    pending += chunk
                    if pending.endswith("\n"):
                        on_line(pending.rstrip("\n"))
                        pending = ""
                    continue
                reply = server.wait(request_id, "exit", 0.02)
                if reply is not None and "exit" in reply:
                    for line in (pending + fh.read()).splitlines():
                        on_line(line)
                    return int(reply["exit"])
                if cancelled() and stop_sent is None:
                    stop_sent = time.monotonic()
                    _signal(pid, signal.SIGTERM)
                elif stop_sent is not None and time.monotonic() - stop_sent > 5:
                    _signal(pid, signal.SIGKILL)
    finally:
        server.forget(request_id)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass  # it ended meanwhile


# The server's side (this file run with --serve).

def _child(request: dict) -> None:
    """In the forked child: run the script as __main__, its output into the request's file."""
    import runpy
    import traceback

    fd = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (the whole process)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)  # the server's wake-up on its children is not the script's
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in request.get("_close", ()):
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [request["script"], *request["args"]]
    sys.path[0] = os.path.dirname(os.path.abspath(request["script"]))  # as `python script`
    code = 0
    try:
        runpy.run_path(request["script"], run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # the script's own error: its trace is its log
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)  # the lab's modules (dataset, settings...) must not shadow libraries
    for name in PRELOAD:  # what every run would import; a missing one is simply not warm
        try:
            __import__(name)
        except ImportError:
            pass
    children: dict[int, int] = {}  # pid -> request id
    buffer, stdin_open = b"", True
    # A child's end wakes the loop at once (SIGCHLD written to a pipe it selects on), so
    # its exit is reported without waiting for a polling interval; the timeout is a
    # safety net only.
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    def reply(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    while stdin_open or children:
        ready, _, _ = select.select([0, wake_r] if stdin_open else [wake_r], [], [], 0.5)
        if wake_r in ready:
            while True:
                try:
                    if not os.read(wake_r, 4096):
                        break
                except BlockingIOError:
                    break
        if stdin_open and 0 in ready:
            data = os.read(0, 65536)
            if not data:  # the lab process is gone: stop what it started, then exit
                stdin_open = False
                for pid in children:
                    _signal(pid, signal.SIGTERM)
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                request["_close"] = (wake_r, wake_w)
                pid = os.fork()
                if pid == 0:
                    _child(request)
                children[pid] = request["id"]
                reply({"id": request["id"], "pid": pid})
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            request_id = children.pop(pid, None)
            if request_id is not None:
                reply({"id": request_id, "exit": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    serve()
