"""Speed figures of training and tuning, measured, never asserted.

Budgets (from the issue): the default XGBoost model on the 6,000 training rows in under
1 s; the forest with the workshop's hyperparameters (max_depth 8, 80 trees) in under 3 s;
(the workshop's tuning job is measured by `lab.tuning.bench`).

Training figures come in two kinds, both held to the budget: the fit itself (timed inside
the entry point) and the whole local job (feature store query, channels, the script in a
process of its own started by the warm worker, test evaluation, model.tar.gz), which is
what a learner waits for. They run in a scratch workspace under a temporary folder, on the
workspace's prepared data (made first when there is none), so the learner's experiments and
feature groups gain nothing.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from lab import jobs
from lab.featurestore import ingest_prepared
from lab.processing import load_prepared, run_prep
from lab.settings import Settings
from lab.warm import cold_workers
from lab.workspace import Workspace

XGB_BUDGET_S, FOREST_BUDGET_S = 1.0, 3.0
WORKSHOP_FOREST = {"max_depth": 8, "n_estimators": 80}


def _fit_seconds(job) -> float:
    folder = Path(job.result["artifact"]).parent
    return float(json.loads((folder / "model" / "training.json").read_text())["fit_seconds"])


def scratch_workspace(settings: Any, tmp: str) -> Settings:
    """A workspace under `tmp` with the prepared data of `settings`' (made first when there
    is none), ingested into its own feature store."""
    source = Workspace(settings.workspace)
    if load_prepared(source.processed_dir) is None:
        run_prep(source)
    scratch = Settings(workspace=Path(tmp))
    shutil.copytree(source.processed_dir, Workspace(tmp).processed_dir)
    ingest_prepared(scratch)
    return scratch


def bench_figures(settings: Any, runs: int = 3) -> list[dict[str, Any]]:
    """[{"name", "unit", "samples", "budget"}]: fits and whole jobs of both algorithms."""
    from lab.training import training_job

    source = Workspace(settings.workspace)
    with tempfile.TemporaryDirectory(prefix="lab-train-bench-") as tmp:
        scratch = scratch_workspace(settings, tmp)
        figures: dict[str, list[float]] = {k: [] for k in ("xgb", "xgb_job", "rf", "rf_job")}
        for i in range(runs + 1):  # the first run warms caches and is not counted
            xgb = jobs.run(scratch, training_job(scratch))
            forest = jobs.run(scratch, training_job(scratch, "random_forest", WORKSHOP_FOREST))
            for job in (xgb, forest):
                if job.status != "Completed":
                    raise RuntimeError(f"training failed: {job.error}")
            if i:
                figures["xgb"].append(_fit_seconds(xgb))
                figures["xgb_job"].append(xgb.duration_s)
                figures["rf"].append(_fit_seconds(forest))
                figures["rf_job"].append(forest.duration_s)
        with cold_workers():  # the naive reference: a cold interpreter for the script
            cold = jobs.run(scratch, training_job(scratch))
        if cold.status != "Completed":
            raise RuntimeError(f"training failed: {cold.error}")
    rows = len(load_prepared(source.processed_dir)["train"])
    return [
        {"name": f"training: default XGBoost fit ({rows:,} rows)", "unit": "s",
         "samples": figures["xgb"], "budget": XGB_BUDGET_S},
        {"name": "training: default XGBoost, whole local job", "unit": "s",
         "samples": figures["xgb_job"], "budget": XGB_BUDGET_S,
         "reference_samples": [cold.duration_s],
         "reference_what": "the same job, its script in a cold interpreter"},
        {"name": "training: forest (depth 8, 80 trees) fit", "unit": "s",
         "samples": figures["rf"], "budget": FOREST_BUDGET_S},
        {"name": "training: forest (depth 8, 80 trees), whole local job", "unit": "s",
         "samples": figures["rf_job"], "budget": FOREST_BUDGET_S},
    ]
