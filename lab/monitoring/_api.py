"""Monitoring's interface (`Monitoring`) and what it hands back.

Both twins implement it: `LocalMonitoring` (the baseline in the workspace, captured
requests in the files the lab's runtime server writes, endpoint metrics from its
metrics database) and `SageMakerMonitoring` (the baseline in S3, captured requests in
the endpoint's DataCaptureConfig destination, metrics from CloudWatch). The statistics
themselves are the same on both: `drift.py`, computed by the lab.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Baseline:
    """statistics.json and constraints.json of the training data, and where they came
    from (`info`: the dataset, its rows, when it was made, the preparation's scaler)."""

    folder: Path
    statistics: dict[str, Any]
    constraints: dict[str, Any]
    info: dict[str, Any]

    @property
    def features(self) -> list[str]:
        return [f["name"] for f in self.statistics["features"]]

    def feature(self, name: str) -> dict[str, Any]:
        for f in self.statistics["features"]:
            if f["name"] == name:
                return f
        raise KeyError(name)

    def numbers(self, name: str) -> dict[str, Any]:
        return self.feature(name)["numerical_statistics"]

    def quantiles(self, name: str, points: tuple[float, ...] = (0.05, 0.5, 0.95)
                  ) -> list[float]:
        """Quantiles read from the feature's sketch (evenly spaced quantiles)."""
        data = [v for level in self.numbers(name)["distribution"]["kll"]["sketch"]["data"]
                for v in level]
        if not data:
            return [float("nan")] * len(points)
        return [float(v) for v in np.quantile(np.array(data), points)]

    @property
    def thresholds(self) -> dict[str, Any]:
        from lab.monitoring.drift import thresholds

        return thresholds(self.constraints)

    def table(self) -> list[dict[str, Any]]:
        """One row per feature: what the statistics hold, as a learner reads them."""
        completeness = {c["name"]: c["completeness"] for c in self.constraints["features"]}
        rows = []
        for name in self.features:
            n = self.numbers(name)
            p5, p50, p95 = self.quantiles(name)
            rows.append({"feature": name, "type": self.feature(name)["inferred_type"],
                         "count": n["common"]["num_present"],
                         "missing": n["common"]["num_missing"], "mean": n["mean"],
                         "std": n["std_dev"], "min": n["min"], "p5": p5, "median": p50,
                         "p95": p95, "max": n["max"],
                         "completeness": completeness.get(name, 1.0)})
        return rows

    def to_json(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "info": self.info, "features": self.features,
                "thresholds": self.thresholds}


@dataclass(frozen=True)
class Changes:
    """What turns a batch into a drifted one: per feature a shift (in the baseline's
    standard deviations), a factor, a share of values removed."""

    shift: dict[str, float] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    missing: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    @property
    def empty(self) -> bool:
        return not (self.shift or self.scale or self.missing)

    @property
    def features(self) -> set[str]:
        return set(self.shift) | set(self.scale) | set(self.missing)

    def describe(self) -> str:
        parts = [f"{f} {v:+g} std" for f, v in self.shift.items()]
        parts += [f"{f} x{v:g}" for f, v in self.scale.items()]
        parts += [f"{f} {v:.0%} missing" for f, v in self.missing.items()]
        return ", ".join(parts) or "unchanged"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """A batch compared with the baseline: per feature PSI, KS and whether it drifted,
    and the constraints it violates (drift.compare's report)."""

    source: str  # what was compared: "test split", "captured requests", an upload
    changes: str  # Changes.describe() ("unchanged" when none)
    rows: int
    judged: bool  # enough rows to judge (drift.MIN_ROWS)
    thresholds: dict[str, Any]
    features: dict[str, dict[str, Any]]
    violations: list[dict[str, Any]]
    frame: Any = field(default=None, repr=False, compare=False)  # the batch (for charts)

    @property
    def drifted(self) -> list[str]:
        return [n for n, f in self.features.items() if f["drifted"]]

    def summary(self) -> dict[str, Any]:
        """What `python -m lab drift --json` prints."""
        return {"drift": {n: {"psi": f["psi"], "ks": f["ks"], "drifted": f["drifted"]}
                          for n, f in self.features.items()}}

    def table(self) -> list[dict[str, Any]]:
        return [{"feature": n, "PSI": f["psi"], "KS": f["ks"], "KS p-value": f["ks_pvalue"],
                 "present": f["completeness"], "mean": f["mean"],
                 "baseline mean": f["baseline_mean"], "drifted": f["drifted"]}
                for n, f in self.features.items()]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "changes": self.changes, "rows": self.rows,
                "judged": self.judged, "thresholds": self.thresholds,
                "features": self.features, "violations": self.violations,
                "drifted": self.drifted}


@dataclass(frozen=True)
class Capture:
    """One captured request and its answer (Model Monitor's capture record, read back)."""

    endpoint: str
    variant: str
    time: float
    event_id: str
    input: str  # the CSV rows the client sent
    output: str  # what the endpoint answered
    content_type: str = "text/csv"


@dataclass(frozen=True)
class MetricPoint:
    """One period of one variant: requests, errors and latency, as CloudWatch keeps them
    (locally per second, from the runtime server; on SageMaker per minute)."""

    variant: str
    time: float  # the period's start, unix seconds
    period_s: float
    requests: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Monitoring(Protocol):
    """Where the baseline is published, and where an endpoint's captured requests and
    metrics are read, on the settings' backend."""

    backend: str

    def publish_baseline(self, baseline: Baseline) -> str:
        """Put the baseline where the pipeline's data-quality check reads it; its URI."""

    def captured(self, endpoint: str, limit: int = 5000) -> list[Capture]:
        """The endpoint's captured requests, oldest first (at most `limit`, the newest)."""

    def metrics(self, endpoint: str, since: float) -> list[MetricPoint]:
        """The endpoint's per-variant metrics since `since` (unix seconds)."""
