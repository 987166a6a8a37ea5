"""Endpoint metrics of the local runtime, per endpoint, variant and second.

What CloudWatch keeps for a SageMaker endpoint (Invocations, the 4XX and 5XX errors,
ModelLatency, per EndpointName and VariantName), kept by the runtime server itself: each
answered invocation adds to its second's bucket (requests, errors, a latency histogram),
and a background thread writes the buckets to `<workspace>/serving/metrics.db` four times
a second. Any lab process reads them there: the monitoring view, and a rollout's
guardrails, which may run in another process than the server.

Latency is kept as a histogram of 1.15x-wide bins from 0.05 ms to a minute, so the
percentiles of any window are read from the merged bins (within 15%), rather than averaged
per second, which would be wrong. Rows older than a day are dropped.
"""

from __future__ import annotations

import bisect
import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from lab.db import Database
from lab.workspace import Workspace

_SCHEMA = """
CREATE TABLE IF NOT EXISTS metrics (
    endpoint TEXT NOT NULL, variant TEXT NOT NULL, second INTEGER NOT NULL,
    requests INTEGER NOT NULL, errors INTEGER NOT NULL, latency TEXT NOT NULL,
    PRIMARY KEY (endpoint, variant, second));
"""
LOW_MS, RATIO, BINS = 0.05, 1.15, 120  # 0.05 ms * 1.15**120 is about 9 minutes
EDGES = [LOW_MS * RATIO ** i for i in range(BINS + 1)]
FLUSH_S = 0.25
KEEP_S = 24 * 3600


def metrics_db(settings: Any) -> Database:
    ws = settings if isinstance(settings, Workspace) else Workspace(settings.workspace)
    return Database(ws.path("serving", "metrics.db"), _SCHEMA)


def _bin(ms: float) -> int:
    return min(BINS, max(0, bisect.bisect_right(EDGES, ms) - 1))


def percentile(histogram: dict[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of a latency histogram, in ms: its bin's upper edge."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted, seen = q * total, 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= wanted - 1e-9:
            return round(EDGES[min(index + 1, BINS)], 3)
    return round(EDGES[BINS], 3)


class MetricsRecorder:
    """The server's side: counts in memory, written to the database by one thread."""

    def __init__(self, settings: Any) -> None:
        self.db = metrics_db(settings)
        self._buckets: dict[tuple[str, str, int], list[Any]] = {}
        self._dirty: set[tuple[str, str, int]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned = 0.0

    def start(self) -> MetricsRecorder:
        self._thread = threading.Thread(target=self._run, name="lab-runtime-metrics",
                                        daemon=True)
        self._thread.start()
        return self

    def record(self, endpoint: str, variant: str, ok: bool, seconds: float) -> None:
        key = (endpoint.lower(), variant, int(time.time()))
        with self._lock:
            bucket = self._buckets.setdefault(key, [0, 0, {}])
            bucket[0] += 1
            bucket[1] += 0 if ok else 1
            index = _bin(seconds * 1000)
            bucket[2][index] = bucket[2].get(index, 0) + 1
            self._dirty.add(key)

    def flush(self) -> None:
        with self._lock:
            rows = [(k[0], k[1], k[2], self._buckets[k][0], self._buckets[k][1],
                     json.dumps(self._buckets[k][2])) for k in self._dirty]
            self._dirty.clear()
            now = int(time.time())
            for key in [k for k in self._buckets if k[2] < now - 5]:  # final, and written
                del self._buckets[key]
        if not rows:
            return
        with self.db.write() as conn:
            conn.executemany("INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?, ?)", rows)
            if time.time() - self._pruned > 600:
                conn.execute("DELETE FROM metrics WHERE second < ?", (now - KEEP_S,))
                self._pruned = time.time()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_S):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - a lost flush must not stop the metrics
                continue


@dataclass(frozen=True)
class Window:
    """One variant's requests over a window, read from the per-second rows."""

    variant: str
    requests: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


def read_metrics(settings: Any, endpoint: str, since: float, until: float | None = None
                 ) -> list[dict[str, Any]]:
    """Per variant and second: requests, errors, p50 and p99 latency (ms), oldest first."""
    db = metrics_db(settings)
    if not db.path.exists():
        return []
    with db.read() as conn:
        rows = conn.execute("SELECT * FROM metrics WHERE endpoint = ? AND second >= ? AND "
                            "second <= ? ORDER BY second, variant",
                            (endpoint.lower(), math.floor(since),
                             2 ** 62 if until is None else until)).fetchall()
    out = []
    for r in rows:
        histogram = {int(k): v for k, v in json.loads(r["latency"]).items()}
        out.append({"variant": r["variant"], "time": float(r["second"]),
                    "requests": r["requests"], "errors": r["errors"],
                    "p50_ms": percentile(histogram, 0.5), "p99_ms": percentile(histogram, 0.99),
                    "histogram": histogram})
    return out


def window(settings: Any, endpoint: str, since: float, until: float | None = None
           ) -> dict[str, Window]:
    """Each variant's totals over [since, until]: the merged histograms' percentiles."""
    merged: dict[str, list[Any]] = {}
    for row in read_metrics(settings, endpoint, since, until):
        total = merged.setdefault(row["variant"], [0, 0, {}])
        total[0] += row["requests"]
        total[1] += row["errors"]
        for k, v in row["histogram"].items():
            total[2][k] = total[2].get(k, 0) + v
    return {v: Window(v, t[0], t[1], percentile(t[2], 0.5), percentile(t[2], 0.99))
            for v, t in merged.items()}
