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
