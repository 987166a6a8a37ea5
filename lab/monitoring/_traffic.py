""""Send traffic": test rows replayed to the endpoint, as they are or drifted.

The rows are the prepared test split, in the data's units, with the learner's changes
applied (a shifted feature, say), scaled again as the preparation scales them (the
endpoint's model takes scaled features), one row per request, at a steady rate. A row
with a missing value is sent with an empty field: the endpoint refuses it (a ModelError,
counted as an error in the metrics), as it would refuse a client's incomplete request.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lab import jobs
from lab.errors import InputError, ParameterError
from lab.monitoring._api import Baseline, Changes
from lab.monitoring._baseline import read_baseline, split_frame
from lab.monitoring._batch import apply_changes, check_changes

TRAFFIC_KIND = "traffic"
MAX_ROWS, MAX_RATE = 5000, 500


def payloads(settings: Any, baseline: Baseline, changes: Changes, rows: int) -> list[str]:
    """`rows` CSV rows of the test split (cycled when it has fewer), drifted by `changes`,
    scaled as the model takes them."""
    frame = split_frame(settings, "test")
    if not changes.empty:
        frame = apply_changes(frame, baseline, changes)
    scaler = baseline.info.get("scaler") or {}
    scaled = frame.copy()
    for name, mean, scale in zip(scaler.get("columns", []), scaler.get("mean", []),
                                 scaler.get("scale", [])):
        if name in scaled.columns:
            scaled[name] = (scaled[name].astype(float) - float(mean)) / float(scale)
    values = scaled[baseline.features].to_numpy(float)
    out = [",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in values]
    return [out[i % len(out)] for i in range(rows)]


def _model_features(settings: Any, endpoint: str | None) -> tuple[str, list[str]]:
    from lab.serving import endpoint_model

    found, version = endpoint_model(settings, endpoint)
    return found.name, list(version.features)


def traffic_job(settings: Any, rows: int = 300, rate: float = 100.0,
                changes: Changes | None = None, endpoint: str | None = None) -> jobs.JobSpec:
    """Send `rows` test rows to the endpoint as a job; checked before the job exists."""
    if not 1 <= int(rows) <= MAX_ROWS:
        raise ParameterError(f"Send 1 to {MAX_ROWS:,} rows.")
    if not 1 <= float(rate) <= MAX_RATE:
        raise ParameterError(f"Send 1 to {MAX_RATE} requests a second.")
    changes = changes or Changes()
    baseline = read_baseline(settings)
    check_changes(changes, baseline.features)
    name, features = _model_features(settings, endpoint)
    if features != baseline.features:
        raise InputError(f"The endpoint's model takes {', '.join(features)}; the baseline "
                         f"describes {', '.join(baseline.features)}: make the baseline again "
                         "from the data the model was trained on.")

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        from lab.serving import TrafficStream

        bodies = payloads(settings, baseline, changes, int(rows))
        ctx.log(f"Sending {rows} test rows ({changes.describe()}) to {name}, {rate:g} a second")
        stream: list[Any] = []

        def on_result(outcome: str, detail: str) -> None:
            counts = stream[0].counts
            if counts.sent % 25 == 0:
                ctx.progress(counts.sent / int(rows), f"{counts.sent} of {rows} sent")
            if ctx.cancelled:
                stream[0].stop_soon()

        stream.append(TrafficStream(settings, name, bodies, rate, total=int(rows),
                                    on_result=on_result))
        counts = stream[0].run()
        ctx.log(f"{counts.sent} sent: {counts.answered} answered, {counts.refused} refused, "
                f"{counts.lost} lost, in {counts.seconds:g} s")
        return {"endpoint": name, "changes": changes.describe(), **counts.to_json()}

    return jobs.JobSpec(TRAFFIC_KIND, {"rows": int(rows), "rate": float(rate),
                                       "changes": changes.to_json()}, run)
