"""Jobs: long work that runs outside the caller, with persisted state, logs and cancel.

A job lives in `<workspace>/jobs/<job_id>/`: `job.json` (status, progress, result),
`log.txt` (what it printed) and, once asked, a `cancel` marker. The page keeps only the
job id and reads these files, so a job survives navigation and page reloads, and its
history survives an app restart (a job whose process died is reported as Failed).

Statuses follow SageMaker's job vocabulary: InProgress, Completed, Failed, Stopped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import JobError, LabError
from lab.workspace import Workspace, read_json, write_json_atomic

IN_PROGRESS, COMPLETED, FAILED, STOPPED = "InProgress", "Completed", "Failed", "Stopped"
FINISHED = (COMPLETED, FAILED, STOPPED)


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
        if not self.ws.jobs_dir.exists():
            return []
        jobs = [self.get(p.name) for p in self.ws.jobs_dir.iterdir() if p.is_dir()]
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
        watcher = threading.Thread(target=self._stop_on_cancel, args=(proc,), daemon=True)
        watcher.start()
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log(line)
            if on_line:
                on_line(line.rstrip("\n"))
        code = proc.wait()
        self.check_cancelled()
        return code

    def _stop_on_cancel(self, proc: subprocess.Popen) -> None:
        while proc.poll() is None:
            if self.cancelled:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                return
            time.sleep(0.1)


JobFn = Callable[[JobContext], dict[str, Any]]


def execute(store: JobStore, job: Job, fn: JobFn,
            echo: Callable[[str], None] | None = None) -> Job:
    """Run `fn` for `job` in this thread and record how it ended. Never raises."""
    ctx = JobContext(store, job, echo)
    ctx.progress(0.0, "Starting")
    try:
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


_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="lab-job")


def _workspace(where: Any) -> Workspace:
    return where if isinstance(where, Workspace) else Workspace(getattr(where, "workspace", where))


def start(where: Any, spec: JobSpec) -> str:
    """Start the job in the background; the job id at once. `where`: settings or workspace."""
    store = JobStore(_workspace(where))
    job = store.create(spec.kind, spec.params)
    _POOL.submit(execute, store, job, spec.fn)
    return job.job_id


def run(where: Any, spec: JobSpec, echo: Callable[[str], None] | None = None) -> Job:
    """Run the job to its end in the calling thread, recorded like a background one."""
    store = JobStore(_workspace(where))
    return execute(store, store.create(spec.kind, spec.params), spec.fn, echo)


def latest(where: Any, kind: str) -> Job | None:
    """The newest job of `kind` in the workspace (what a page shows after a reload)."""
    found = JobStore(_workspace(where)).list(kind)
    return found[0] if found else None
