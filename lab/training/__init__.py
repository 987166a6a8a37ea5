"""Training jobs and experiment tracking (the workshop's notebook 2).

    jobs.start(settings, training_job(settings, "xgboost", {"max_depth": 5}))
    Experiments(ws).list()                    # every run: params, metrics, curve, artifact
    load_model("…/model.tar.gz").predict(rows)  # the artifact contract (artifact.py)

Training data is read from the Feature Store's offline store. The entry point
(`entry_point.py`) is one self-contained script that both twins run: `LocalTraining` in a
process of its own (started warm by `lab/warm.py`) and `SageMakerTraining` in the workshop's
framework estimator. Runs are recorded in the workspace's experiments database on either
backend (and in SageMaker Experiments on SageMaker). Tuning is the `lab.tuning` package.
"""

from __future__ import annotations

from typing import Any

from lab.lazy import exports
from lab.twins import open_twin

IMPLEMENTATIONS = {"local": "lab.training._local:LocalTraining",
                   "sagemaker": "lab.training._sagemaker:SageMakerTraining"}


def open_training(settings: Any, **options: Any) -> Any:
    """The training engine (a `Training`) of the settings' backend."""
    return open_twin(IMPLEMENTATIONS, settings, **options)


__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["ALGORITHMS", "DEFAULT_ALGORITHM", "DEFAULT_EXPERIMENT",
                     "DISTRIBUTED_KIND", "KIND", "MAX_INSTANCES",
                     "Algorithm", "Finish", "Hyperparameter", "Training", "TrainingRequest",
                     "algorithm", "build_request"], "_api"),
    **dict.fromkeys(["code", "compare_with_one_worker", "distributed_trained",
                     "ensure_data", "evaluate", "execute_run", "prep_scaler", "result_json",
                     "run_all_distributed", "run_all_step", "training_job"], "_job"),
    **dict.fromkeys(["ARTIFACT_NAME", "LoadedModel", "load_model"], "artifact"),
    **dict.fromkeys(["TrainingData", "data_problem", "read_training_data"], "data"),
    **dict.fromkeys(["Experiments", "Run"], "experiments"),
    **dict.fromkeys(["billed_seconds", "distributed_sdk_code", "estimator_code", "sdk_code",
                     "training_code"], "_sagemaker"),
    **dict.fromkeys(["parse_hyperparameters"], "cli_args"),
})
__all__ = ["IMPLEMENTATIONS", "open_training", *_lazy]
