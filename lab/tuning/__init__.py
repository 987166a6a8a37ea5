"""Automatic model tuning: many training jobs, each proposed from the results so far.

    jobs.start(settings, tuning_job(settings))   # the workshop's job: 4 trials, 2 at once
    build_tuning_spec(ranges=[...], strategy="Random", max_jobs=8)   # checked first

A tuning job's trials are training runs (`lab.training`), recorded in the experiments as
they end and linked to the job; the best one is marked for the registry. Two twins run
them: `LocalTuning` (an Optuna study: TPE for Bayesian, random or grid; trials in processes
of their own, at most max_parallel_jobs at a time) and `SageMakerTuning` (the workshop's
HyperparameterTuner).
"""

from __future__ import annotations

from typing import Any

from lab.lazy import exports
from lab.twins import open_twin

IMPLEMENTATIONS = {"local": "lab.tuning._local:LocalTuning",
                   "sagemaker": "lab.tuning._sagemaker:SageMakerTuning"}


def open_tuning(settings: Any, **options: Any) -> Any:
    """The tuning engine (a `Tuning`) of the settings' backend."""
    return open_twin(IMPLEMENTATIONS, settings, **options)


__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["CATEGORICAL", "CONTINUOUS", "INTEGER", "KIND", "OBJECTIVES", "STRATEGIES",
                     "ParameterRange", "Tuning", "TuningSpec", "build_tuning_spec",
                     "parse_ranges", "ranges_from_form", "workshop_ranges"], "_api"),
    **dict.fromkeys(["INTERRUPTED", "code", "prefetch", "result_json", "run_all_step",
                     "trials_of", "tuning_job"], "_job"),
    "sdk_code": "_sagemaker", "parameter_ranges": "_sagemaker",
})
__all__ = ["IMPLEMENTATIONS", "open_tuning", *_lazy]
