"""Data preparation and processing jobs (the workshop's first notebook).

    run_prep(ws, PrepParams())                       # in-process, into data/processed/
    jobs.start(settings, processing_job(settings))   # the same script as a processing job
    open_processing(settings).run(ctx, request, csv, out)   # the backend's engine

The script itself is `preprocess.py` (self-contained: it runs in SageMaker's scikit-learn
container). Two engines run it as a job: `LocalProcessing` (a subprocess with SageMaker's
folders) and `SageMakerProcessing` (an SKLearnProcessor), chosen by the backend.
"""

from __future__ import annotations

from typing import Any

from lab.lazy import exports
from lab.twins import open_twin

IMPLEMENTATIONS = {"local": "lab.processing._local:LocalProcessing",
                   "sagemaker": "lab.processing._sagemaker:SageMakerProcessing"}


def open_processing(settings: Any, **options: Any) -> Any:
    """The processing engine of the settings' backend (a `Processing`)."""
    return open_twin(IMPLEMENTATIONS, settings, **options)


__getattr__, __dir__, _lazy = exports(__name__, {
    "KIND": "_api", "MAX_INSTANCES": "_api", "MAX_SEED": "_api", "SHARDED_KIND": "_api",
    "SPLITS": "_api",
    "Comparison": "_api", "PrepParams": "_api",
    "PrepResult": "_api", "Processing": "_api", "ProcessingRequest": "_api",
    "choose_target": "_prep", "compare_outputs": "_prep", "last_result": "_prep",
    "load_prepared": "_prep", "prepare_frame": "_prep", "read_meta": "_prep",
    "run_prep": "_prep", "use_dataset": "_prep",
    "build_request": "_job", "code": "_job", "job_matched": "_job",
    "processing_job": "_job", "run_all_prep": "_job", "run_all_processing": "_job",
    "run_all_sharded": "_job", "sharded_code": "_job", "sharded_matched": "_job",
    "sdk_code": "_sagemaker", "sharded_sdk_code": "_sagemaker",
    "check_scaled": "_sharded", "run_sharded": "_sharded", "sharded_by_s3_key": "_sharded",
    "write_shards": "_sharded",
})
__all__ = ["IMPLEMENTATIONS", "open_processing", *_lazy]
