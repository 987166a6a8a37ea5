"""The monitoring view of an endpoint: its traffic over time, what it captured, and the
drift of the captured inputs against the training baseline.

    view = monitoring_view(settings)        # the workspace's endpoint, the last 15 minutes
    view.points                             # per variant and period: requests, errors,
                                            # p50 and p99 latency
    view.drift                              # a DriftReport of the captured rows (or None)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from lab.monitoring import open_monitoring
from lab.monitoring._api import Capture, DriftReport, MetricPoint
from lab.monitoring._baseline import find_baseline
from lab.monitoring._captured import captured_frame
from lab.monitoring._report import compare_frame

WINDOW_S = 15 * 60


@dataclass(frozen=True)
class MonitoringView:
    endpoint: str
    capture: Any  # the endpoint's CaptureConfig
    points: list[MetricPoint]
    captures: list[Capture] = field(repr=False)
    captured_rows: int
    drift: DriftReport | None
    note: str = ""  # why there is no drift report yet

    @property
    def requests(self) -> int:
        return sum(p.requests for p in self.points)

    @property
    def errors(self) -> int:
        return sum(p.errors for p in self.points)

    def sample(self, rows: int = 5) -> list[dict[str, Any]]:
        return [{"time": time.strftime("%H:%M:%S", time.localtime(c.time)),
                 "variant": c.variant, "input": c.input, "output": c.output}
                for c in self.captures[-rows:]]

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "capture": self.capture.to_json(),
                "requests": self.requests, "errors": self.errors,
                "points": [p.to_json() for p in self.points],
                "captured_records": len(self.captures), "captured_rows": self.captured_rows,
                "drift": self.drift.to_json() if self.drift else None, "note": self.note}


def monitoring_view(settings: Any, endpoint: str | None = None, window_s: float = WINDOW_S,
                    limit: int = 5000) -> MonitoringView:
    from lab.serving import default_endpoint, open_endpoints

    name = endpoint or default_endpoint(settings)
    capture = open_endpoints(settings).capture(name)  # EndpointNotFoundError: deploy first
    monitor = open_monitoring(settings)
    points = monitor.metrics(name, time.time() - window_s)
    captures = monitor.captured(name, limit)
    baseline = find_baseline(settings)
    report, note, rows = None, "", 0
    if baseline is None:
        note = "There is no baseline yet: make one on the Baseline & drift page."
    elif not captures:
        note = ("Nothing captured yet: turn data capture on and send traffic."
                if not capture.enabled else "Nothing captured yet: send traffic.")
    else:
        frame = captured_frame(captures, baseline)
        rows = len(frame)
        report = compare_frame(baseline, frame, f"{len(captures)} captured requests")
        if not report.judged:
            note = (f"{rows} captured rows: drift is judged from {report.thresholds['min_rows']}"
                    " rows on (fewer are too noisy); send more traffic.")
    return MonitoringView(name, capture, points, captures, rows, report, note)
