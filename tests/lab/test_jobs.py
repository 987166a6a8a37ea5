"""Jobs run outside the caller, persist their state and logs, and can be stopped."""

from __future__ import annotations

import json
import sys
import time

import pytest

from lab import jobs
from lab.errors import JobError, ParameterError
from tests.workspaces import wait_for_job


def test_background_job_records_progress_log_and_result(ws):
    def work(ctx):
        ctx.log("hello from the job")
        ctx.progress(0.5, "half-way")
        return {"answer": 42}

    job_id = jobs.start(ws, jobs.JobSpec("demo", {"x": 1}, work))
    store = jobs.JobStore(ws)
    job = wait_for_job(ws, job_id, timeout=60)
    assert job.status == jobs.COMPLETED and job.result == {"answer": 42}
    assert job.params == {"x": 1}
    assert "hello from the job" in store.log(job_id)
    saved = json.loads((store.dir(job_id) / "job.json").read_text())
    assert saved["status"] == "Completed"


def test_a_subprocess_job_stops_when_cancelled(ws):
    store = jobs.JobStore(ws)

    def work(ctx):
        ctx.run_subprocess([sys.executable, "-c",
                            "import time\nprint('started', flush=True)\ntime.sleep(60)"])
        return {}

    job_id = jobs.start(ws, jobs.JobSpec("slow", {}, work))
    deadline = time.monotonic() + 20
    while "started" not in store.log(job_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    store.request_cancel(job_id)
    job = wait_for_job(ws, job_id, timeout=15)
    assert job.status == jobs.STOPPED
    assert "stopped on request" in store.log(job_id).lower()


def test_failures_are_recorded_with_a_short_message_and_the_trace_in_the_log(ws):
    def clear_failure(ctx):
        raise ParameterError("max_jobs must be at least 1")

    def bug(ctx):
        return {}["missing"]

    a = jobs.run(ws, jobs.JobSpec("demo", {}, clear_failure))
    b = jobs.run(ws, jobs.JobSpec("demo", {}, bug))
    assert (a.status, a.error) == (jobs.FAILED, "max_jobs must be at least 1")
    assert b.status == jobs.FAILED and "KeyError" in b.error
    assert "Traceback" in jobs.JobStore(ws).log(b.job_id)


def test_a_job_whose_process_died_is_reported_failed_after_a_restart(ws):
    store = jobs.JobStore(ws)
    job = store.create("demo", {})
    job.pid = 2**22 + 12345  # no such process
    store.save(job)
    reloaded = store.get(job.job_id)
    assert reloaded.status == jobs.FAILED and "Interrupted" in reloaded.error
    assert [j.job_id for j in store.list("demo")] == [job.job_id]


def test_unknown_jobs_and_bad_ids(ws):
    store = jobs.JobStore(ws)
    assert store.get("nope") is None
    with pytest.raises(JobError, match="no job"):
        store.request_cancel("nope")
    with pytest.raises(Exception, match="outside the workspace"):
        store.get("../../etc")


def _scheduler_run(scheduler, ws, kind, fn):
    store = jobs.JobStore(ws)
    job = store.create(kind, {})
    scheduler.submit(store, job, fn)
    return job.job_id


def test_each_workspace_gets_its_share_and_waits_its_turn(tmp_path):
    """Two workers, three workspaces: the busy workspace's second job waits, the other
    workspaces' jobs run at once, and the waiting one starts when its first ends."""
    from lab.workspace import Workspace

    scheduler = jobs.Scheduler(workers=2, per_workspace=1)
    busy, a, b = (Workspace(tmp_path / name) for name in ("busy", "a", "b"))
    release, started = __import__("threading").Event(), []

    def hold(ctx):
        started.append(ctx.store.ws.root.name)
        release.wait(10)
        return {}

    def quick(ctx):
        started.append(ctx.store.ws.root.name)
        return {}

    first = _scheduler_run(scheduler, busy, "hold", hold)
    second = _scheduler_run(scheduler, busy, "quick", quick)
    third = _scheduler_run(scheduler, a, "quick", quick)
    assert wait_for_job(a, third).status == jobs.COMPLETED
    time.sleep(0.2)
    # busy's first job and a's run at once, on two workers: in either order
    assert sorted(started) == ["a", "busy"]
    assert jobs.JobStore(busy).get(second).message == "Queued"
    fourth = _scheduler_run(scheduler, b, "hold", hold)  # takes the other worker
    time.sleep(0.2)
    assert sorted(started[:2]) == ["a", "busy"] and started[2:] == ["b"]
    release.set()
    for ws, job_id in ((busy, first), (busy, second), (b, fourth)):
        assert wait_for_job(ws, job_id).status == jobs.COMPLETED
    assert started[-1] == "busy" and scheduler.waiting() == 0


def test_a_job_stopped_while_it_waited_never_runs_and_workers_give_back(ws, monkeypatch):
    scheduler = jobs.Scheduler(workers=1, per_workspace=1)
    release, ran, given_back = __import__("threading").Event(), [], []
    monkeypatch.setattr(jobs, "_AFTER_JOB", [])
    jobs.after_each_job(lambda: given_back.append(1))
    first = _scheduler_run(scheduler, ws, "hold", lambda ctx: release.wait(10) and {})
    queued = _scheduler_run(scheduler, ws, "never", lambda ctx: ran.append(1) or {})
    jobs.JobStore(ws).request_cancel(queued)
    release.set()
    assert wait_for_job(ws, queued).status == jobs.STOPPED and ran == []
    assert wait_for_job(ws, first).status == jobs.COMPLETED
    assert given_back == [1, 1]


def test_listing_one_kind_reads_only_its_records(ws, monkeypatch):
    store = jobs.JobStore(ws)
    for kind in ("deploy", "deploy-pipeline", "training", "training"):
        store.save(store.create(kind, {}))
    read = []
    original = jobs.JobStore.get
    monkeypatch.setattr(jobs.JobStore, "get", lambda self, i: read.append(i) or original(self, i))
    assert [j.kind for j in store.list("deploy")] == ["deploy"]
    assert len(read) == 1 and read[0].startswith("deploy-2")
    assert len(store.list("training")) == 2 and len(store.list()) == 4
