"""The Reliable stage's drift and monitoring steps as the lab runs them (run-all, the
code a page shows, the done checks)."""

from __future__ import annotations

import time
from typing import Any

from lab import jobs
from lab.monitoring._api import Changes
from lab.monitoring._baseline import make_baseline
from lab.monitoring._report import drift_report
from lab.monitoring._traffic import TRAFFIC_KIND, traffic_job


def run_all_drift(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """Make the baseline of the training split (publish it where the pipeline reads it)
    and compare the test split with it: no feature should drift."""
    from lab.monitoring import open_monitoring

    started = time.perf_counter()
    baseline = make_baseline(settings)
    uri = open_monitoring(settings).publish_baseline(baseline)
    report = drift_report(settings)
    echo(f"baseline: {len(baseline.features)} features of {baseline.info['rows']:,} training "
         f"rows ({uri}); test split: {len(report.drifted)} drifted")
    return {"drift": {"baseline": uri, "rows": report.rows, "drifted": report.drifted,
                      **report.summary()},
            "timings_s": {"drift": round(time.perf_counter() - started, 4)}}


def run_all_monitoring(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """Turn data capture on, send 300 test rows, and read the view: traffic, captured
    requests and their drift."""
    from lab.serving import CaptureConfig, default_endpoint, open_endpoints

    started = time.perf_counter()
    name = default_endpoint(settings)
    open_endpoints(settings).set_capture(name, CaptureConfig(enabled=True))
    job = jobs.run(settings, traffic_job(settings, rows=300, rate=500, changes=Changes()),
                   echo)
    sent = job.outcome("traffic job")
    view = settled_view(settings, name, sent["answered"])
    echo(f"monitoring: {view.requests} requests, {view.errors} errors, "
         f"{len(view.captures)} captured")
    return {"monitoring": {"endpoint": name, "sent": sent["sent"],
                           "answered": sent["answered"], "captured": len(view.captures),
                           "drifted": view.drift.drifted if view.drift else None},
            "timings_s": {"monitoring": round(time.perf_counter() - started, 4)}}


def settled_view(settings: Any, name: str, answered: int, wait_s: float = 2.0) -> Any:
    """The view once the server's metrics (written four times a second) count the traffic."""
    from lab.monitoring._view import monitoring_view

    deadline = time.monotonic() + wait_s
    while True:
        view = monitoring_view(settings, name)
        if view.requests >= answered or time.monotonic() > deadline:
            return view
        time.sleep(0.1)


def drift_code(settings: Any) -> list:
    """The drift step's code: the statistics (the same on every backend)."""
    from lab.monitoring import drift

    return [drift.statistics, drift.compare, drift.psi, drift.ks]


def monitoring_code(settings: Any) -> list:
    from lab.monitoring import open_monitoring
    from lab.monitoring._traffic import payloads

    return [*open_monitoring(settings).code(), payloads]


def traffic_sent(ws: Any) -> bool:
    """The monitoring step's done-check: traffic was sent and something was captured."""
    captured = ws.path("monitoring", "capture")
    return any(j.status == jobs.COMPLETED for j in jobs.JobStore(ws).list(TRAFFIC_KIND)) \
        and captured.is_dir() and any(captured.rglob("*.jsonl"))
