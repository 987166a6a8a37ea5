"""Drift reports: a batch against the training baseline.

    drift_report(settings)                                  # the test split, as it is
    drift_report(settings, parse_changes(shift=["LOT_ACRES=1"]))   # ... shifted
    drift_report(settings, upload=(data, "batch.csv"))      # rows the learner uploads

The baseline is the workspace's (made first when there is none: `python -m lab drift`
needs no earlier step than the preparation).
"""

from __future__ import annotations

from typing import Any

from lab.monitoring import drift
from lab.monitoring._api import Baseline, Changes, DriftReport
from lab.monitoring._baseline import find_baseline, make_baseline, split_frame
from lab.monitoring._batch import apply_changes, read_upload


def baseline_or_new(settings: Any) -> Baseline:
    return find_baseline(settings) or make_baseline(settings)


def compare_frame(baseline: Baseline, frame: Any, source: str, changes: Changes | None = None,
                  completeness: dict[str, float] | None = None) -> DriftReport:
    found = drift.compare(baseline.statistics, baseline.constraints, frame, completeness)
    return DriftReport(source=source, changes=(changes or Changes()).describe(),
                       rows=found["rows"], judged=found["judged"],
                       thresholds=found["thresholds"], features=found["features"],
                       violations=found["violations"], frame=frame)


def drift_report(settings: Any, changes: Changes | None = None, split: str = "test",
                 upload: tuple[bytes, str] | None = None) -> DriftReport:
    """A prepared split (default: test), with `changes` applied, or an uploaded batch,
    compared with the training baseline."""
    baseline = baseline_or_new(settings)
    changes = changes or Changes()
    if upload is not None:
        frame, source = read_upload(upload[0], upload[1], baseline), upload[1]
    else:
        frame, source = split_frame(settings, split), f"{split} split"
    if not changes.empty:
        frame = apply_changes(frame, baseline, changes)
    return compare_frame(baseline, frame, source, changes)
