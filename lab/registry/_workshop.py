"""The workshop's use of the registry: register the best tuned model, then approve it.

The group name is fixed per workspace: `lab-housing-models` locally (each workspace has its
own registry), with `-<8 hex of the workspace path>` on SageMaker, where model package
group names are shared by the whole account and region (as the feature groups' are).
"""

from __future__ import annotations

from typing import Any

from lab.errors import InputError
from lab.registry import IMPLEMENTATIONS, open_registry
from lab.registry._api import (
    APPROVED,
    ModelRegistry,
    ModelVersion,
    check_comment,
    check_status,
    check_version,
)
from lab.twins import twin_class
from lab.workspace import Workspace

GROUP = "lab-housing-models"
NO_MODEL = ("There is no trained model yet: train one (or run a tuning job) on the Training "
            "& experiments page, then register it here.")


def default_group(settings: Any) -> str:
    """The workspace's model package group, named by the backend's rule."""
    return twin_class(IMPLEMENTATIONS, settings.backend).resource_name(settings, GROUP)


def candidate_runs(settings: Any) -> list:
    """Completed training runs that left a model artifact, newest first."""
    from lab.training import Experiments

    ws = Workspace(settings.workspace)
    if not ws.path("experiments.db").exists():
        return []
    return [r for r in Experiments(ws).list(status="Completed") if r.artifact]


def best_run(settings: Any):
    """What the workshop registers: the best trial of the latest tuning job; without a
    tuning job, the completed run with the lowest validation mse. None when nothing ran."""
    runs = candidate_runs(settings)
    best_trials = [r for r in runs if r.best and r.tuning_job]
    if best_trials:
        return best_trials[0]  # newest first
    if not runs:
        return None
    return min(runs, key=lambda r: (r.validation.get("mse", float("inf")), -r.created))


def register_model(settings: Any, run_id: str | None = None, group: str | None = None,
                   description: str = "", registry: ModelRegistry | None = None
                   ) -> ModelVersion:
    """Register a run's model.tar.gz as the next version of `group`, PendingManualApproval.

    Without `run_id`, the best run (`best_run`). The group is created when missing.
    """
    runs = {r.run_id: r for r in candidate_runs(settings)}
    if run_id is not None and run_id not in runs:
        raise InputError(f"There is no completed training run {run_id!r} with a model: pick "
                         "one from the experiments table.")
    run = runs[run_id] if run_id else best_run(settings)
    if run is None:
        raise InputError(NO_MODEL)
    registry = registry or open_registry(settings)
    name = group or default_group(settings)
    registry.create_group(name, "MLOps lab: housing price regressors", exist_ok=True)
    source = {"run_id": run.run_id, "job_id": run.job_id, "experiment": run.experiment,
              "tuning_job": run.tuning_job, "trial": run.trial, "backend": run.backend}
    origin = f"tuning job {run.tuning_job}" if run.tuning_job else f"training run {run.run_id}"
    text = description or f"{run.algorithm} from {origin}"
    return registry.register(name, run.artifact, source=source, description=text[:1024])


def set_approval(settings: Any, version: int, status: str = APPROVED, comment: str = "",
                 group: str | None = None, registry: ModelRegistry | None = None
                 ) -> ModelVersion:
    """Approve (or reject, or set back to pending) a version, with an optional comment."""
    check_status(status)
    version = check_version(version)
    check_comment(comment or "")
    registry = registry or open_registry(settings)
    return registry.update_status(group or default_group(settings), version, status, comment)


def registry_summary(version: ModelVersion) -> dict[str, Any]:
    """What `python -m lab run-all` prints as "registry"."""
    return {"group": version.group, "version": version.version, "approval": version.status,
            "arn": version.arn, "algorithm": version.algorithm,
            "metrics": version.test_metrics}


def compare_versions(a: ModelVersion, b: ModelVersion) -> list[dict[str, Any]]:
    """Two versions side by side: test metrics (with B - A), hyperparameters, algorithm."""
    va, vb = f"v{a.version}", f"v{b.version}"
    rows = [{"": f"test {k}", va: a.test_metrics.get(k), vb: b.test_metrics.get(k),
             "B - A": (b.test_metrics[k] - a.test_metrics[k])
             if k in a.test_metrics and k in b.test_metrics else None}
            for k in sorted({*a.test_metrics, *b.test_metrics})]
    rows += [{"": k, va: str(a.hyperparameters.get(k, "")), vb: str(b.hyperparameters.get(k, "")),
              "B - A": None} for k in sorted({*a.hyperparameters, *b.hyperparameters})]
    rows.append({"": "algorithm", va: a.algorithm, vb: b.algorithm, "B - A": None})
    return rows
