"""Training, experiment tracking and automatic model tuning (the workshop's notebook 2).

    job_id = start_training_job(settings, "xgboost", {"max_depth": 5})  # the page's way
    job = run_training_job(settings, "random_forest", {"max_depth": 8, "n_estimators": 80})
    job = run_tuning_job(settings)            # the workshop's tuning job: 4 trials, 2 at once
    Experiments(ws).list()                    # every run: params, metrics, curve, artifact
    load_model("…/model.tar.gz").predict(rows)  # the artifact contract (artifact.py)

Training data is read from the Feature Store's offline store. Each capability has a local
twin (the entry point in a subprocess; Optuna for tuning; SQLite for experiments) and a
SageMaker one (SDK v2 estimator, HyperparameterTuner, SageMaker Experiments), imported
only when that backend runs. Nothing here imports boto3, sagemaker, xgboost or optuna at
module load.
"""

from __future__ import annotations

from lab.training.artifact import ARTIFACT_NAME, LoadedModel, load_model
from lab.training.data import TrainingData, data_problem, read_training_data
from lab.training.experiments import Experiments, Run
from lab.training.params import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    DEFAULT_EXPERIMENT,
    TrainingRequest,
    algorithm,
    build_request,
)
from lab.training.train import KIND as TRAINING_KIND
from lab.training.train import result_json as training_result
from lab.training.train import run_training_job, start_training_job
from lab.training.tuning import KIND as TUNING_KIND
from lab.training.tuning import result_json as tuning_result
from lab.training.tuning import run_tuning_job, start_tuning_job
from lab.training.tuning_spec import (
    STRATEGIES,
    ParameterRange,
    TuningSpec,
    build_tuning_spec,
    workshop_ranges,
)

__all__ = [
    "ALGORITHMS", "ARTIFACT_NAME", "DEFAULT_ALGORITHM", "DEFAULT_EXPERIMENT", "STRATEGIES",
    "TRAINING_KIND", "TUNING_KIND", "Experiments", "LoadedModel", "ParameterRange", "Run",
    "TrainingData", "TrainingRequest", "TuningSpec", "algorithm", "build_request",
    "build_tuning_spec", "data_problem", "load_model", "read_training_data",
    "run_training_job", "run_tuning_job", "start_training_job", "start_tuning_job",
    "training_result", "tuning_result", "workshop_ranges",
]
