"""Jobs: long work that runs outside the caller, with persisted state, logs and cancel.

A job lives in `<workspace>/jobs/<job_id>/`: `job.json` (status, progress, result),
`log.txt` (what it printed) and, once asked, a `cancel` marker. The page keeps only the
job id and reads these files, so a job survives navigation and page reloads, and its
history survives an app restart (a job whose process died is reported as Failed).

Statuses follow SageMaker's job vocabulary: InProgress, Completed, Failed, Stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import JobError, LabError
from lab.workspace import Workspace, read_json, write_json_atomic

IN_PROGRESS, COMPLETED, FAILED, STOPPED = "InProgress", "Completed", "Failed", "Stopped"
FINISHED = (COMPLETED, FAILED, STOPPED)
_STAMP = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")  # what follows the kind in a job id


@dataclass
class Job:
    job_id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    status: str = IN_PROGRESS
    progress: float = 0.0
    message: str = "Queued"
    created: float = field(default_factory=time.time)
    ended: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    pid: int = field(default_factory=os.getpid)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def duration_s(self) -> float:
        return (self.ended or time.time()) - self.created

    def outcome(self, what: str | None = None) -> dict[str, Any]:
        """The result of a Completed job; JobError saying how it ended otherwise."""
        if self.status != COMPLETED or self.error:
            raise JobError(f"{what or self.kind} {self.job_id} {self.status.lower()}: "
                           f"{self.error or 'no result'}")
        return self.result or {}


class JobCancelled(JobError):
    """Raised inside a job when the user asked it to stop."""


class JobStore:
    """Reads and writes job records of one workspace (any process may read them)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def dir(self, job_id: str) -> Path:
        return self.ws.path("jobs", job_id)

    def create(self, kind: str, params: dict[str, Any]) -> Job:
        job_id = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        job = Job(job_id=job_id, kind=kind, params=params)
        self.dir(job_id).mkdir(parents=True, exist_ok=True)
        (self.dir(job_id) / "log.txt").touch()
        self.save(job)
        return job

    def save(self, job: Job) -> None:
        write_json_atomic(self.dir(job.job_id) / "job.json", asdict(job))

    def get(self, job_id: str) -> Job | None:
        data = read_json(self.dir(job_id) / "job.json")
        if not data:
            return None
        job = Job(**data)
        if not job.finished and job.pid != os.getpid() and not _alive(job.pid):
            job.status, job.ended = FAILED, job.ended or time.time()
            job.error = "Interrupted: the process that ran this job stopped. Run it again."
            self.save(job)
        return job

    def list(self, kind: str | None = None) -> list[Job]:
        """The jobs (of `kind`), newest first. Only the records of that kind are read: a
        job's id starts with its kind, and the sidebar asks on every rerun of every page."""
        if not self.ws.jobs_dir.exists():
            return []
        names = [p.name for p in self.ws.jobs_dir.iterdir() if kind is None or (
            p.name.startswith(kind + "-") and _STAMP.fullmatch(p.name[len(kind) + 1:]))]
        jobs = [self.get(name) for name in names]
        jobs = [j for j in jobs if j and (kind is None or j.kind == kind)]
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def log(self, job_id: str, tail: int | None = None) -> str:
        try:
            text = (self.dir(job_id) / "log.txt").read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-tail:]) if tail else text

    def request_cancel(self, job_id: str) -> None:
        if self.get(job_id) is None:
            raise JobError(f"There is no job {job_id!r} in this workspace.")
        (self.dir(job_id) / "cancel").touch()


# Run by a small Python before exec'ing the command: PR_SET_PDEATHSIG (1) makes the kernel
# send SIGKILL to the child when the thread that started it ends (with its process), and
# it survives exec. (preexec_fn would do it without the extra start, but it is not safe in
# a process with threads, which the lab's always are.)
_DIE_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                    "ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n"
                    "if os.getppid() != int(sys.argv[1]):\n    os._exit(1)\n"
                    "os.execv(sys.argv[2], sys.argv[2:])")


def stop_when(proc: subprocess.Popen, should_stop: Callable[[], bool]) -> None:
    """Until `proc` ends, look ten times a second whether it `should_stop`; if so, terminate
    it (killed if it has not ended 5 s later). Runs in a watcher thread."""
    while proc.poll() is None:
        if should_stop():
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
            return
        time.sleep(0.1)


def dies_with_parent(cmd: Sequence[str]) -> list[str]:
    """`cmd` wrapped so that it dies with this process (Linux; elsewhere `cmd` as is)."""
    cmd = [str(c) for c in cmd]
    if not sys.platform.startswith("linux"):
        return cmd
    program = cmd[0] if os.sep in cmd[0] else (shutil.which(cmd[0]) or cmd[0])
    return [sys.executable, "-I", "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), program,
            *cmd[1:]]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobContext:
    """What a running job sees: logging, progress, cancellation, subprocesses."""

    def __init__(self, store: JobStore, job: Job, echo: Callable[[str], None] | None = None):
        self.store, self.job, self.echo = store, job, echo
        self.dir = store.dir(job.job_id)
        self._log_lock = threading.Lock()

    def log(self, line: str) -> None:
        with self._log_lock, open(self.dir / "log.txt", "a") as fh:
            fh.write(line.rstrip("\n") + "\n")
        if self.echo:
            self.echo(line.rstrip("\n"))

    def progress(self, fraction: float, message: str) -> None:
        self.job.progress, self.job.message = max(0.0, min(1.0, fraction)), message
        self.store.save(self.job)

    @property
    def cancelled(self) -> bool:
        return (self.dir / "cancel").exists()

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise JobCancelled("Stopped on request.")

    def run_subprocess(self, cmd: Sequence[str], env: dict[str, str] | None = None,
                       on_line: Callable[[str], None] | None = None) -> int:
        """Run `cmd`, streaming its output to the log; stop it if the job is cancelled, and
        when this process dies (even by SIGKILL) the child dies too."""
        proc = subprocess.Popen(dies_with_parent(cmd), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env, bufsize=1)
        watcher = threading.Thread(target=stop_when, args=(proc, lambda: self.cancelled),
                                   daemon=True)
        watcher.start()
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log(line)
            if on_line:
                on_line(line.rstrip("\n"))
        code = proc.wait()
        self.check_cancelled()
        return code



JobFn = Callable[[JobContext], dict[str, Any]]


def execute(store: JobStore, job: Job, fn: JobFn,
            echo: Callable[[str], None] | None = None) -> Job:
    """Run `fn` for `job` in this thread and record how it ended. Never raises."""
    ctx = JobContext(store, job, echo)
    ctx.progress(0.0, "Starting")
    try:
        ctx.check_cancelled()  # stopped while it waited for a worker
        job.result = fn(ctx)
        job.status, job.progress, job.message = COMPLETED, 1.0, "Completed"
    except JobCancelled as exc:
        job.status, job.message, job.error = STOPPED, "Stopped", str(exc)
        ctx.log("Job stopped on request.")
    except LabError as exc:
        job.status, job.message, job.error = FAILED, "Failed", str(exc)
        ctx.log(f"ERROR: {exc}")
    except Exception as exc:  # a bug: keep the trace in the log, show a short message
        job.status, job.message = FAILED, "Failed"
        job.error = f"Unexpected error ({type(exc).__name__}); the job log has the details."
        ctx.log(traceback.format_exc())
    job.ended = time.time()
    store.save(job)
    return job


@dataclass(frozen=True)
class JobSpec:
    """A job ready to run: its kind, the parameters it records, and what it does.

    Each capability has one function that checks a request and returns its JobSpec
    (refusing bad input before any job exists); `start` runs it in the background (the
    page's way) and `run` in the calling thread (the CLI's way).
    """

    kind: str
    params: dict[str, Any]
    fn: JobFn


# Background jobs mostly wait on other processes (a training run, a SQL worker, AWS), so
# a worker per core and one more; at most PER_WORKSPACE of them run one workspace's jobs.
WORKERS = max(2, min(16, (os.cpu_count() or 2) + 2))
PER_WORKSPACE = 1


class Scheduler:
    """Runs background jobs on WORKERS threads, with a fair share for each workspace.

    On a workshop server every attendee has a workspace, and one attendee's clicks must not
    hold the room's workers: each workspace runs at most `per_workspace` jobs at a time, the
    rest wait in its queue in the order they were started, and a free worker goes to the
    workspace that has waited longest. With one at a time, two sessions of one workspace
    never run jobs at once: an ingest and a training clicked together run one after the
    other, never against each other's half-written stores.
    """

    def __init__(self, workers: int = WORKERS, per_workspace: int = PER_WORKSPACE) -> None:
        self.workers, self.per_workspace = workers, per_workspace
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lab-job")
        self._lock = threading.Lock()
        self._queues: dict[str, deque] = {}  # workspace -> jobs waiting, in start order
        self._running: dict[str, int] = {}
        self._busy = 0

    def submit(self, store: JobStore, job: Job, fn: JobFn) -> None:
        key = str(store.ws.root)
        with self._lock:
            self._queues.setdefault(key, deque()).append((store, job, fn))
            self._dispatch()

    def waiting(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queues.values())

    def _dispatch(self) -> None:  # with the lock held
        while self._busy < self.workers:
            key = next((k for k, q in self._queues.items()
                        if q and self._running.get(k, 0) < self.per_workspace), None)
            if key is None:
                return
            item = self._queues[key].popleft()
            # the workspace goes to the back of the line (dicts keep insertion order)
            self._queues[key] = self._queues.pop(key)
            self._running[key] = self._running.get(key, 0) + 1
            self._busy += 1
            self._pool.submit(self._run, key, item)

    def _run(self, key: str, item: tuple) -> None:
        try:
            execute(*item)
        finally:
            _after_job()
            with self._lock:
                self._busy -= 1
                self._running[key] -= 1
                if not self._running[key]:
                    del self._running[key]
                    if not self._queues.get(key):
                        self._queues.pop(key, None)
                self._dispatch()


_AFTER_JOB: list[Callable[[], None]] = []


def after_each_job(fn: Callable[[], None]) -> None:
    """Call `fn` in a worker thread after each background job (a capability gives back
    what it keeps per thread, such as SQLite connections to the job's workspace)."""
    if fn not in _AFTER_JOB:
        _AFTER_JOB.append(fn)


def _after_job() -> None:
    for fn in list(_AFTER_JOB):
        try:
            fn()
        except Exception:  # noqa: BLE001 - giving back must never stop the worker
            traceback.print_exc()


_SCHEDULER = Scheduler()


def _workspace(where: Any) -> Workspace:
    return where if isinstance(where, Workspace) else Workspace(getattr(where, "workspace", where))


def start(where: Any, spec: JobSpec) -> str:
    """Start the job in the background; the job id at once. `where`: settings or workspace.
    It waits its turn if the workspace's share of workers is taken (`Scheduler`)."""
    store = JobStore(_workspace(where))
    job = store.create(spec.kind, spec.params)
    _SCHEDULER.submit(store, job, spec.fn)
    return job.job_id


def run(where: Any, spec: JobSpec, echo: Callable[[str], None] | None = None) -> Job:
    """Run the job to its end in the calling thread, recorded like a background one."""
    store = JobStore(_workspace(where))
    return execute(store, store.create(spec.kind, spec.params), spec.fn, echo)


def latest(where: Any, kind: str) -> Job | None:
    """The newest job of `kind` in the workspace (what a page shows after a reload)."""
    found = JobStore(_workspace(where)).list(kind)
    return found[0] if found else None
