"""The local twin of monitoring: the workspace's baseline, the runtime server's captured
requests (files) and metrics (SQLite), all read where the local endpoint writes them."""

from __future__ import annotations

from typing import Any

from lab.monitoring._api import Baseline, Capture, MetricPoint
from lab.monitoring._captured import to_capture
from lab.twins import Twin


class LocalMonitoring(Twin):
    note = None  # the pages explain the local twin itself

    def publish_baseline(self, baseline: Baseline) -> str:
        """Locally the pipeline reads the workspace's own baseline folder."""
        return str(baseline.folder)

    def captured(self, endpoint: str, limit: int = 5000) -> list[Capture]:
        from lab.serving import read_captures

        found = (to_capture(r["record"], endpoint, r["variant"])
                 for r in read_captures(self.settings, endpoint, limit))
        return [c for c in found if c is not None]

    def metrics(self, endpoint: str, since: float) -> list[MetricPoint]:
        from lab.serving import read_metrics

        return [MetricPoint(r["variant"], r["time"], 1.0, r["requests"], r["errors"],
                            r["p50_ms"], r["p99_ms"])
                for r in read_metrics(self.settings, endpoint, since)]

    def code(self) -> list[Any]:
        from lab.monitoring import _captured, drift

        return [drift.compare, drift.psi, drift.ks, _captured.captured_frame]
