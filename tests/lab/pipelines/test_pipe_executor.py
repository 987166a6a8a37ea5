"""The local executor end to end: caching, the condition, failures, concurrency, deploy."""

from __future__ import annotations

import time

import pytest

from lab import jobs
from lab.errors import ParameterError
from lab.jobs import JobStore
from lab.pipelines import (
    DEPLOY_PIPELINE,
    FAILED,
    STOPPED,
    SUCCEEDED,
    execution_json,
    execution_of,
    list_executions,
    pipeline_job,
    step_log,
    summary,
)
from lab.registry import APPROVED, default_group, open_registry, set_approval
from lab.workspace import Workspace
from tests.lab.pipelines.pipe_helpers import (
    FAST,
    run_pipeline,
    small_settings,
    statuses,
    wait_for,
)
from tests.workspaces import snapshot

CACHEABLE = ("PreprocessData", "TrainModel", "EvaluateModel")


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """One cold execution shared by the tests that only build on it."""
    settings = small_settings(tmp_path_factory.mktemp("pipe"))
    return settings, run_pipeline(settings, FAST)


def versions(settings):
    return open_registry(settings).list_versions(default_group(settings))


def test_cold_run_executes_every_step_and_registers(first):
    settings, ex = first
    assert ex.status == SUCCEEDED, ex.failure
    assert statuses(ex) == {n: SUCCEEDED for n in (*CACHEABLE, "CheckMSE", "RegisterModel")}
    report = ex.steps["EvaluateModel"].outputs["evaluation"]
    import json

    mse = json.load(open(report))["regression_metrics"]["mse"]
    assert mse["value"] > 0 and "standard_deviation" in mse
    assert ex.steps["CheckMSE"].outputs["outcome"] is True
    [version] = versions(settings)
    assert version.status == "PendingManualApproval"
    assert version.metrics["test"]["mse"] == pytest.approx(mse["value"])
    assert summary(ex)["registered_version"] == 1
    assert "Starting pre-processing" in step_log(ex.steps["PreprocessData"])
    out = execution_json(ex)
    assert out["summary"]["cache_hits"] == 0 and out["steps"]["TrainModel"]["cache_key"]


def test_second_run_is_all_cache_hits_naming_the_first_and_running_none_of_them(first):
    settings, ex = first
    again = run_pipeline(settings, FAST)
    assert again.status == SUCCEEDED
    ran = Workspace(settings.workspace).path("pipelines", again.id)
    for name in CACHEABLE:
        rec = again.steps[name]
        assert rec.cache_hit and rec.cache_source == ex.id
        assert rec.outputs == ex.steps[name].outputs
        assert rec.log_path == ex.steps[name].log_path  # the first run's log, not a new one
        assert not (ran / name).exists()  # nothing ran: no step folder in this execution
    assert again.steps["RegisterModel"].status == SUCCEEDED  # not cacheable, as on SageMaker
    assert (ran / "RegisterModel").is_dir()
    assert again.cache_hits == 3 and summary(again)["cache_hits"] == 3
    # How much faster a cached run is, is measured by `python -m lab bench`, not here.


def test_changing_one_parameter_reruns_exactly_the_steps_it_reaches(first):
    settings, ex = first
    changed = run_pipeline(settings, {**FAST, "MaxDepth": 4})
    assert changed.status == SUCCEEDED
    assert changed.steps["PreprocessData"].cache_source == ex.id
    assert not changed.steps["TrainModel"].cache_hit
    assert not changed.steps["EvaluateModel"].cache_hit


def test_threshold_below_the_mse_takes_the_empty_else_branch(first):
    settings, _ = first
    before = len(versions(settings))
    ex = run_pipeline(settings, {**FAST, "MseThreshold": 1.0})
    assert ex.status == SUCCEEDED
    assert ex.steps["CheckMSE"].outputs["outcome"] is False
    assert "RegisterModel" not in ex.steps
    assert summary(ex)["registered_version"] is None
    assert len(versions(settings)) == before


def test_failed_step_fails_the_execution_keeps_the_rest_and_rerun_succeeds(first):
    settings, good = first
    ws = Workspace(settings.workspace)
    registry_before = snapshot(ws.path("registry"))
    earlier = {e.id: e.status for e in list_executions(settings)}
    data = ws.raw_dir / "small_housing.csv"
    original = data.read_bytes()
    try:
        data.write_text("PRICE,a\n1,2\n3\n\x00\x01broken")
        bad = run_pipeline(settings, FAST)
    finally:
        data.write_bytes(original)
    assert bad.status == FAILED
    assert bad.steps["PreprocessData"].status == FAILED
    assert "TrainModel" not in bad.steps and "RegisterModel" not in bad.steps
    assert "ERROR" in step_log(bad.steps["PreprocessData"])
    assert "PreprocessData" in bad.failure
    assert {e.id: e.status for e in list_executions(settings) if e.id in earlier} == earlier
    assert snapshot(ws.path("registry")) == registry_before
    fixed = run_pipeline(settings, FAST)  # the data is back: same key, so cache hits
    assert fixed.status == SUCCEEDED
    assert fixed.steps["PreprocessData"].cache_source == good.id


def test_two_executions_launched_at_once_both_complete(first):
    settings, _ = first
    before = {v.version for v in versions(settings)}
    ids = [jobs.start(settings, pipeline_job(settings, {**FAST, "MaxDepth": 2})),
           jobs.start(settings, pipeline_job(settings, {**FAST, "MaxDepth": 6}))]
    done = [wait_for(settings, i) for i in ids]
    assert [e.status for e in done] == [SUCCEEDED, SUCCEEDED], [e.failure for e in done]
    assert all(not e.steps["TrainModel"].cache_hit for e in done)
    new = {v.version for v in versions(settings)} - before
    assert new == {summary(e)["registered_version"] for e in done} and len(new) == 2


def test_an_execution_stops_on_request_and_keeps_what_succeeded(first):
    settings, ex = first
    job_id = jobs.start(settings, pipeline_job(settings, {**FAST, "MaxDepth": 7}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = execution_of(settings, job_id)
        if current is not None and "TrainModel" in current.steps:
            break
        time.sleep(0.05)
    assert current.job_id == job_id
    JobStore(Workspace(settings.workspace)).request_cancel(current.job_id)
    stopped = wait_for(settings, job_id)
    assert stopped.status == STOPPED
    assert stopped.steps["PreprocessData"].cache_source == ex.id
    assert "RegisterModel" not in stopped.steps


def test_unknown_or_bad_parameters_are_refused_before_anything_runs(tmp_path):
    settings = small_settings(tmp_path, rows=50)
    with pytest.raises(ParameterError, match="no parameter 'Depth'"):
        run_pipeline(settings, {"Depth": 3})
    with pytest.raises(ParameterError, match="MaxDepth must be a whole number"):
        run_pipeline(settings, {"MaxDepth": "deep"})
    with pytest.raises(ParameterError, match="must sum to 1"):
        run_pipeline(settings, {"TrainSize": 0.9})
    with pytest.raises(ParameterError, match="max_depth"):
        run_pipeline(settings, {"MaxDepth": 0})
    assert list_executions(settings) == []


def test_deploy_pipeline_needs_an_approved_version_then_deploys_it(first):
    settings, _ = first
    from lab.serving import stop_server

    pending_only = [v for v in versions(settings) if v.status == APPROVED]
    if not pending_only:
        refused = run_pipeline(settings, name=DEPLOY_PIPELINE.name)
        assert refused.status == FAILED
        assert "no Approved model version" in refused.failure
    set_approval(settings, 1, APPROVED, "good enough")
    try:
        ex = run_pipeline(settings, name=DEPLOY_PIPELINE.name)
        assert ex.status == SUCCEEDED, ex.failure
        assert ex.steps["LatestApprovedModel"].outputs["version"] == 1
        assert ex.steps["DeployModel"].outputs["status"] == "InService"
    finally:
        stop_server(settings)
