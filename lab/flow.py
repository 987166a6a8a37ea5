"""The lab as a whole: run what a page is missing, run every step, reset a step or all.

    missing_before(ws, "training")            # the steps to run first (not done yet)
    jobs.start(settings, prerequisites_job(settings, "training"))   # run them, as a job
    jobs.start(settings, whole_lab_job(settings))                   # every step, in order
    reset_step(settings, "features")          # what the step wrote, removed
    reset_workspace(settings)                 # everything, as a fresh start

The steps and what they run come from the step registry (`lab.steps`); each job here runs
the steps' own run-all parts as `run-all` does (`lab.steps.run_steps`: in lab order, the
steps that wait on purpose beside the ones after them that do not need them), with
progress, and stops before a step when asked. A reset refuses while a job of the workspace
is running, because a job would go on writing into what the reset removes.
"""

from __future__ import annotations

import re
import shutil
import threading
from typing import Any

from lab import jobs
from lab.errors import InputError
from lab.steps import STEPS, Step, progress, run_steps, step
from lab.workspace import Workspace

LAB_RUN_KIND = "lab-run"


def missing_before(ws: Workspace, key: str) -> list[Step]:
    """The steps that step `key` needs (directly or through others), not done yet, in lab
    order; only steps that can run by themselves (a run-all part) are listed."""
    needed: set[str] = set()
    todo = list(step(key).requires)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += step(name).requires
    done = progress(ws)
    return [s for s in STEPS if s.key in needed and s.run and not done[s.key]]


def _steps_job(settings: Any, chosen: list[Step], what: str) -> jobs.JobSpec:
    total = sum(len(s.run) for s in chosen)

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        started: list[str] = []
        lock = threading.Lock()

        def before(s: Step, dotted: str, echo) -> None:
            ctx.check_cancelled()
            with lock:
                started.append(s.key)
                i = len(started)
            ctx.progress((i - 1) / total, f"{s.title} ({i} of {total})")
            echo(f"== {s.title}: {dotted.partition(':')[0]}")

        out = run_steps(settings, chosen, {}, ctx.log, before)
        ctx.progress(1.0, "Done")
        ctx.log(f"{what}: done ({', '.join(s.title for s in chosen)})")
        return {"steps": [s.key for s in chosen], "timings_s": out["timings_s"]}

    return jobs.JobSpec(LAB_RUN_KIND, {"what": what, "steps": [s.key for s in chosen]}, run)


def prerequisites_job(settings: Any, key: str) -> jobs.JobSpec:
    """A job that runs the steps `key` is missing (with the lab's defaults)."""
    missing = missing_before(Workspace(settings.workspace), key)
    if not missing:
        raise InputError(f"Nothing is missing before {step(key).title}: its inputs are there.")
    return _steps_job(settings, missing, f"Steps before {step(key).title}")


def whole_lab_job(settings: Any) -> jobs.JobSpec:
    """A job that runs every step of the lab in order (what `python -m lab run-all` does)."""
    return _steps_job(settings, [s for s in STEPS if s.built and s.run], "The whole lab")


def running_jobs(ws: Workspace) -> list[jobs.Job]:
    return [j for j in jobs.JobStore(ws).list() if not j.finished]


def _refuse_while_running(ws: Workspace, what: str) -> None:
    busy = running_jobs(ws)
    if busy:
        raise InputError(f"A job is still running ({busy[0].job_id}): wait for it to end or "
                         f"stop it, then {what}.")


def _remove(path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink(missing_ok=True)


def _stop_local_server(settings: Any) -> None:
    """The endpoints' runtime server of this process reads files a reset removes."""
    from lab.serving import stop_server

    stop_server(settings)


def reset_step(settings: Any, key: str) -> list[str]:
    """Remove what step `key` wrote in the workspace (its files and its jobs' records), so
    it can be done again from the start; the workspace paths removed. Later steps keep
    their own outputs. Resources in an AWS account are not touched."""
    ws = Workspace(settings.workspace)
    s = step(key)
    _refuse_while_running(ws, f"reset {s.title}")
    if "serving" in s.owns:
        _stop_local_server(settings)
    removed = []
    for name in s.owns:
        for path in [ws.path(name), *ws.root.glob(f"{name}-wal"), *ws.root.glob(f"{name}-shm")]:
            if path.exists():
                _remove(path)
                removed.append(str(path.relative_to(ws.root)))
    if ws.jobs_dir.exists():
        for folder in sorted(ws.jobs_dir.iterdir()):
            if any(re.match(rf"{re.escape(kind)}-\d{{8}}-", folder.name) for kind in s.job_kinds):
                _remove(folder)
                removed.append(f"jobs/{folder.name}")
    return removed


def reset_workspace(settings: Any) -> int:
    """Empty the workspace (a fresh start: the lab makes what it needs again); the number
    of entries removed. Resources in an AWS account are not touched."""
    ws = Workspace(settings.workspace)
    if not ws.root.exists():
        return 0
    _refuse_while_running(ws, "reset the workspace")
    _stop_local_server(settings)
    entries = list(ws.root.iterdir())
    for entry in entries:
        _remove(entry)
    return len(entries)
