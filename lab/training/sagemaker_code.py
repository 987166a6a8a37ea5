"""The SageMaker SDK code of a training run and a tuning job, as a learner writes it.

Text only (no SDK import): the page shows it for the parameters in its form, on either
backend. It is what `sagemaker_train.py` and `sagemaker_tune.py` run, minus the lab's
bookkeeping (per-job S3 folders, tags, polling).
"""

from __future__ import annotations

import json

from lab.training.entry_point import METRIC_DEFINITIONS
from lab.training.params import TrainingRequest, algorithm
from lab.training.tuning_spec import CATEGORICAL, INTEGER, TuningSpec

_ESTIMATORS = {
    "xgboost": ("from sagemaker.xgboost.estimator import XGBoost", "XGBoost", "1.7-1"),
    "random_forest": ("from sagemaker.sklearn.estimator import SKLearn", "SKLearn", "1.2-1"),
}


def _estimator(algorithm: str, hyperparameters: dict) -> str:
    _, cls, version = _ESTIMATORS[algorithm]
    hps = "\n".join(f"    {json.dumps(k)}: {json.dumps(v)},"
                    for k, v in {"algorithm": algorithm, **hyperparameters}.items())
    definitions = ",\n    ".join(json.dumps(d) for d in METRIC_DEFINITIONS)
    return f'''\
hyperparameters = {{
{hps}
}}
# Metrics to be captured from the training log (the workshop's metric definitions)
metric_definitions = [
    {definitions},
]
estimator = {cls}(
    entry_point="entry_point.py",   # lab/training/entry_point.py
    framework_version="{version}",
    py_version="py3",
    instance_type="ml.m5.large",
    instance_count=1,
    hyperparameters=hyperparameters,
    metric_definitions=metric_definitions,
    role=role,
    output_path=f"s3://{{bucket}}/mlops-workshop/models",
)
'''


_HEADER = '''\
import sagemaker
{import_line}
from sagemaker.experiments.run import Run
from sagemaker.tuner import (CategoricalParameter, ContinuousParameter, HyperparameterTuner,
                             IntegerParameter)

session = sagemaker.Session()
role = sagemaker.get_execution_role()  # the lab uses LAB_SAGEMAKER_ROLE
bucket = session.default_bucket()      # or LAB_S3_BUCKET
# The feature store's query results, saved as CSV and uploaded (save_fs_data_to_s3)
inputs = {{"train": f"s3://{{bucket}}/mlops-workshop/data/fs_data/train",
          "validation": f"s3://{{bucket}}/mlops-workshop/data/fs_data/validation"}}

'''


def sdk_code(request: TrainingRequest) -> str:
    """A training job tracked as a SageMaker Experiments run, as in the workshop."""
    return (_HEADER.format(import_line=_ESTIMATORS[request.algorithm][0])
            + _estimator(request.algorithm, request.hyperparameters) + f'''
with Run(experiment_name="{request.experiment}", run_name="my-run") as run:
    run.log_parameters(hyperparameters)
    estimator.fit(inputs)
''')


def tuning_sdk_code(spec: TuningSpec) -> str:
    """The workshop's tuning job for `spec`."""
    lines = []
    for r in spec.ranges:
        if r.kind == CATEGORICAL or (spec.strategy == "Grid" and r.kind == INTEGER):
            values = [str(v) for v in r.grid_values()]
            lines.append(f'    "{r.name}": CategoricalParameter({json.dumps(values)}),')
        elif r.kind == INTEGER:
            lines.append(f'    "{r.name}": IntegerParameter({int(r.min_value)}, '
                         f'{int(r.max_value)}),')
        else:
            lines.append(f'    "{r.name}": ContinuousParameter({r.min_value:g}, '
                         f'{r.max_value:g}),')
    ranges = "\n".join(lines)
    tuned = {r.name for r in spec.ranges}
    static = {k: v for k, v in algorithm(spec.algorithm).validate(spec.static).items()
              if k not in tuned}
    max_jobs = f"{spec.total_jobs},  # Grid: one job per combination" \
        if spec.strategy == "Grid" else f"{spec.max_jobs},"
    return (_HEADER.format(import_line=_ESTIMATORS[spec.algorithm][0])
            + _estimator(spec.algorithm, static) + f'''
hyperparameter_ranges = {{
{ranges}
}}
tuner = HyperparameterTuner(
    estimator,
    objective_metric_name="{spec.objective}",
    objective_type="{spec.direction}",
    hyperparameter_ranges=hyperparameter_ranges,
    metric_definitions=metric_definitions,
    max_jobs={max_jobs}
    max_parallel_jobs={spec.parallel},
    strategy="{spec.strategy}",
)
tuner.fit(inputs)
tuner.wait()
sagemaker.HyperparameterTuningJobAnalytics(tuner.latest_tuning_job.name).dataframe() \\
    .sort_values("FinalObjectiveValue", ascending={spec.direction == "Minimize"})
''')
