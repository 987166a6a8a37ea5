"""The lab as a whole: missing steps run in one job, the whole lab, resets."""

from __future__ import annotations

import pytest

from lab import jobs
from lab.errors import InputError
from lab.flow import missing_before, prerequisites_job, reset_step, reset_workspace
from lab.settings import Settings
from lab.steps import progress
from lab.workspace import Workspace


def test_missing_before_lists_what_a_step_needs_in_order(ws, prepared, trained):
    assert [s.key for s in missing_before(ws, "registry")] == ["prep", "features", "training"]
    assert [s.key for s in missing_before(Workspace(prepared.workspace), "training")] == [
        "features"]
    assert missing_before(Workspace(trained.workspace), "registry") == []
    assert missing_before(ws, "pipelines") == []


def test_the_prerequisites_job_runs_the_missing_steps_with_progress(tmp_path):
    settings = Settings(workspace=tmp_path / "ws")
    job = jobs.run(settings, prerequisites_job(settings, "training"))
    assert job.status == "Completed", job.error
    assert job.result["steps"] == ["prep", "features"] and job.progress == 1.0
    done = progress(Workspace(settings.workspace))
    assert done["prep"] and done["features"] and not done["training"]
    with pytest.raises(InputError, match="Nothing is missing"):
        prerequisites_job(settings, "training")


def test_reset_step_removes_what_it_wrote_and_keeps_the_rest(trained):
    ws = Workspace(trained.workspace)
    removed = reset_step(trained, "features")
    assert "featurestore" in removed
    done = progress(ws)
    assert not done["features"] and done["prep"] and done["training"]
    removed = reset_step(trained, "training")
    assert "experiments.db" in removed and any(r.startswith("jobs/training-") for r in removed)
    assert not progress(ws)["training"]


def test_resets_refuse_while_a_job_runs_and_change_nothing(prepared):
    from lab.jobs import JobStore

    ws = Workspace(prepared.workspace)
    JobStore(ws).create("training", {})  # InProgress, in this (alive) process
    with pytest.raises(InputError, match="still running"):
        reset_workspace(prepared)
    with pytest.raises(InputError, match="still running"):
        reset_step(prepared, "prep")
    assert progress(ws)["prep"]


def test_reset_workspace_empties_it(prepared):
    assert reset_workspace(prepared) > 0
    assert list(prepared.workspace.iterdir()) == []
    assert reset_workspace(Settings(workspace=prepared.workspace / "never")) == 0
