"""The workshop's use of the registry: the best run registered, then approved."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lab.errors import InputError
from lab.registry import (
    APPROVED,
    GROUP,
    NO_MODEL,
    PENDING,
    REJECTED,
    best_run,
    default_group,
    register_model,
    registry_summary,
    set_approval,
)
from lab.settings import Settings
from lab.training import Experiments
from tests.workspaces import REPO


def test_without_a_tuning_job_the_run_with_the_lowest_validation_mse_is_best(settings):
    runs = Experiments(settings.workspace).list(status="Completed")
    best = best_run(settings)
    assert best.validation["mse"] == min(r.validation["mse"] for r in runs)


def test_the_best_trial_of_the_latest_tuning_job_wins(settings):
    experiments = Experiments(settings.workspace)
    worst = max(experiments.list(status="Completed"), key=lambda r: r.validation["mse"])
    experiments.start("trial-1", worst.experiment, "trial-1", worst.algorithm, worst.params,
                      job_id="tuning-1", tuning_job="tuning-1", trial=1)
    experiments.finish("trial-1", "Completed", artifact=worst.artifact, metrics=worst.metrics,
                       validation=worst.validation)
    experiments.mark_best("tuning-1", "mse", "Minimize")

    assert best_run(settings).run_id == "trial-1"
    version = register_model(settings)
    assert version.source["tuning_job"] == "tuning-1" and version.source["trial"] == 1
    assert "tuning job tuning-1" in version.description


def test_register_then_approve(settings):
    version = register_model(settings)
    assert (version.group, version.version, version.status) == (GROUP, 1, PENDING)
    assert version.source["run_id"] == best_run(settings).run_id

    approved = set_approval(settings, 1, APPROVED, "r2 above 0.85")
    summary = registry_summary(approved)
    assert summary["group"] == GROUP and summary["version"] == 1
    assert summary["approval"] == APPROVED and set(summary["metrics"]) >= {"mse", "r2"}
    assert set_approval(settings, 1, REJECTED, "").status == REJECTED


def test_a_named_run_is_registered(settings):
    runs = Experiments(settings.workspace).list(status="Completed")
    forest = next(r for r in runs if r.algorithm == "random_forest")
    assert register_model(settings, run_id=forest.run_id).algorithm == "random_forest"
    with pytest.raises(InputError, match="no completed training run 'nope'"):
        register_model(settings, run_id="nope")


def test_without_a_trained_model_registering_says_so(tmp_path):
    settings = Settings(workspace=tmp_path / "empty")
    assert best_run(settings) is None
    with pytest.raises(InputError) as caught:
        register_model(settings)
    assert str(caught.value) == NO_MODEL
    assert not (tmp_path / "empty" / "registry.db").exists()


def test_group_names_on_sagemaker_carry_the_workspace(tmp_path):
    local = Settings(workspace=tmp_path / "a")
    remote_a = Settings(workspace=tmp_path / "a", backend="sagemaker")
    remote_b = Settings(workspace=tmp_path / "b", backend="sagemaker")
    assert default_group(local) == GROUP
    assert default_group(remote_a).startswith(GROUP + "-")
    assert default_group(remote_a) != default_group(remote_b)
    assert len(default_group(remote_a)) <= 63


def test_importing_the_registry_loads_no_sdk():
    code = ("import sys, lab.registry, lab.serving, lab.registry._sagemaker, "
            "lab.serving._sagemaker; print(sorted({'sagemaker', 'boto3', 'botocore', "
            "'xgboost'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert out.strip() == "[]"
