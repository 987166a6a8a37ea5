"""Baselines, drift and endpoint monitoring (the Reliable stage).

    baseline = make_baseline(settings)        # statistics.json + constraints.json of the
                                              # training split (Model Monitor's formats)
    report = drift_report(settings, parse_changes(shift=["LOT_ACRES=1"]))
    report.summary()                          # {"drift": {FEATURE: {"psi", "ks", "drifted"}}}
    drifted_dataset(settings, changes)        # a drifted copy of the dataset (pipeline input)
    jobs.run(settings, traffic_job(settings, rows=300))   # "send traffic" to the endpoint
    monitoring_view(settings)                 # traffic over time, captured rows, their drift

The statistics are `drift.py`, which also runs in SageMaker's scikit-learn container as the
gated pipeline's data-quality check. Two implementations of one interface (`Monitoring`,
in `_api.py`) say where the baseline is published and where an endpoint's captured
requests and metrics are read: `LocalMonitoring` (the workspace, the lab's runtime server)
and `SageMakerMonitoring` (S3 and CloudWatch). Nothing here imports boto3 at load.
"""

from __future__ import annotations

from typing import Any

from lab.lazy import exports
from lab.twins import open_twin

IMPLEMENTATIONS = {"local": "lab.monitoring._local:LocalMonitoring",
                   "sagemaker": "lab.monitoring._sagemaker:SageMakerMonitoring"}


def open_monitoring(settings: Any, **options: Any) -> Any:
    """Monitoring (a `Monitoring`) on the settings' backend."""
    return open_twin(IMPLEMENTATIONS, settings, **options)


__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["Baseline", "Capture", "Changes", "DriftReport", "MetricPoint",
                     "Monitoring"], "_api"),
    **dict.fromkeys(["baseline_digest", "baseline_dir", "baseline_done", "baseline_files",
                     "find_baseline",
                     "make_baseline", "read_baseline", "split_frame"], "_baseline"),
    **dict.fromkeys(["apply_changes", "check_changes", "drifted_dataset", "parse_changes",
                     "read_upload"], "_batch"),
    **dict.fromkeys(["captured_frame", "to_capture"], "_captured"),
    **dict.fromkeys(["BaselineMissingError", "BatchError"], "_errors"),
    **dict.fromkeys(["compare_frame", "drift_report"], "_report"),
    **dict.fromkeys(["TRAFFIC_KIND", "payloads", "traffic_job"], "_traffic"),
    **dict.fromkeys(["MonitoringView", "monitoring_view"], "_view"),
    **dict.fromkeys(["drift_code", "monitoring_code", "run_all_drift", "run_all_monitoring",
                     "settled_view", "traffic_sent"], "_workshop"),
})
__all__ = ["IMPLEMENTATIONS", "open_monitoring", *_lazy]
