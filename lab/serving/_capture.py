"""Data capture on the local endpoint, in SageMaker Model Monitor's capture format.

With capture on (an endpoint's DataCaptureConfig), a sampled share of the requests the
model answered is written with its answer, one JSON object per line:

    {"captureData": {"endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "<the CSV rows>", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "application/json",
                                        "mode": "OUTPUT", "data": "[...]", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2026-01-31T12:00:00Z"},
     "eventVersion": "0"}

into files laid out as SageMaker lays them out under DestinationS3Uri:
`<workspace>/monitoring/capture/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`. A file is
closed at `max_file_bytes`; beyond `max_total_bytes` for an endpoint the oldest files are
deleted, so capture never fills the disk. The lab captures what its model answered (a
refused request has no prediction to monitor). Reading is `read_captures`.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from lab.serving._api import CaptureConfig
from lab.serving._records import EndpointRecords
from lab.workspace import Workspace

RECHECK_S = 1.0  # a capture setting changed by another process applies within a second


def capture_root(settings: Any) -> Path:
    ws = settings if isinstance(settings, Workspace) else Workspace(settings.workspace)
    return ws.path("monitoring", "capture")


def capture_folder(settings: Any, endpoint: str) -> Path:
    return capture_root(settings) / endpoint.lower()


def record(request: bytes, request_type: str, response: bytes, response_type: str,
           at: float | None = None) -> dict[str, Any]:
    """One capture record, as Model Monitor writes it."""
    at = time.time() if at is None else at

    def part(data: bytes, content_type: str, mode: str) -> dict[str, str]:
        encoding = "CSV" if "csv" in content_type else "JSON"
        return {"observedContentType": content_type, "mode": mode,
                "data": data.decode("utf-8", errors="replace"), "encoding": encoding}

    return {"captureData": {"endpointInput": part(request, request_type, "INPUT"),
                            "endpointOutput": part(response, response_type, "OUTPUT")},
            "eventMetadata": {"eventId": str(uuid.uuid4()),
                              "inferenceTime": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                             time.gmtime(at))},
            "eventVersion": "0"}


class CaptureWriter:
    """The server's capture: per endpoint its setting (re-read once a second), an open
    file per (endpoint, variant, hour), the bytes written, the oldest files pruned."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.records = EndpointRecords(settings)
        self._configs: dict[str, tuple[CaptureConfig, float]] = {}
        self._files: dict[tuple[str, str], tuple[Path, int]] = {}
        self._totals: dict[str, int] = {}
        self._lock = threading.Lock()

    def config(self, endpoint: str) -> CaptureConfig:
        key = endpoint.lower()
        found = self._configs.get(key)
        if found is None or time.monotonic() - found[1] > RECHECK_S:
            try:
                config = self.records.capture(endpoint)
            except Exception:  # noqa: BLE001 - no capture rather than a failed request
                config = CaptureConfig()
            found = self._configs[key] = (config, time.monotonic())
        return found[0]

    def refresh(self, endpoint: str) -> None:
        """Read the endpoint's setting again on its next request (changed in this process:
        no need to wait for the once-a-second re-read)."""
        self._configs.pop(endpoint.lower(), None)

    def capture(self, endpoint: str, variant: str, request: bytes, request_type: str,
                response: bytes, response_type: str) -> bool:
        """Write the exchange if capture is on and it is sampled; True if written."""
        config = self.config(endpoint)
        if not config.enabled or random.random() * 100 >= config.sampling_percentage:
            return False
        line = (json.dumps(record(request, request_type, response, response_type),
                           separators=(",", ":")) + "\n").encode()
        with self._lock:
            path = self._file(endpoint, variant, config, len(line))
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                fh.write(line)
            self._files[(endpoint.lower(), variant)] = (path, path.stat().st_size)
            total = self._totals.get(endpoint.lower())
            if total is None:
                total = _size(capture_folder(self.settings, endpoint))
            else:
                total += len(line)
            self._totals[endpoint.lower()] = _prune(capture_folder(self.settings, endpoint),
                                                    total, config.max_total_bytes, path)
        return True

    def _file(self, endpoint: str, variant: str, config: CaptureConfig, adding: int) -> Path:
        hour = time.strftime("%Y/%m/%d/%H", time.gmtime())
        folder = capture_folder(self.settings, endpoint) / variant / hour
        current = self._files.get((endpoint.lower(), variant))
        if current is not None and current[0].parent == folder and current[0].exists() \
                and current[1] + adding <= config.max_file_bytes:
            return current[0]
        stamp = time.strftime("%M-%S", time.gmtime())
        return folder / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.jsonl"), key=lambda p: (p.stat().st_mtime, str(p))) \
        if folder.exists() else []


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in _files(folder))


def _prune(folder: Path, total: int, limit: int, keep: Path) -> int:
    """Delete the oldest capture files until the endpoint's total is under `limit`."""
    if total <= limit:
        return total
    for path in _files(folder):
        if total <= limit:
            break
        if path == keep:
            continue
        try:
            size = path.stat().st_size
            path.unlink()
            total -= size
        except FileNotFoundError:
            continue
    return total


def read_captures(settings: Any, endpoint: str, limit: int = 5000) -> list[dict[str, Any]]:
    """The newest `limit` capture records of the endpoint, oldest first, each with its
    variant: {"variant", "record"}. A line that is not JSON is skipped."""
    folder = capture_folder(settings, endpoint)
    found: list[dict[str, Any]] = []
    for path in reversed(_files(folder)):
        try:
            lines = path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            continue
        variant = path.relative_to(folder).parts[0]
        batch = []
        for line in lines:
            try:
                batch.append({"variant": variant, "record": json.loads(line)})
            except ValueError:
                continue
        found = batch + found
        if len(found) >= limit:
            break
    return found[-limit:]


def capture_bytes(settings: Any, endpoint: str) -> int:
    return _size(capture_folder(settings, endpoint))
