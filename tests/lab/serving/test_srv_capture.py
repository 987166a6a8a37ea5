"""Data capture and metrics on the local endpoint: Model Monitor's capture format, the
sampling, the size bound, per-variant counts and latency percentiles."""

from __future__ import annotations

import json
import time

import pytest

from lab.errors import ParameterError
from lab.serving import (
    CaptureConfig,
    InvocationError,
    capture_bytes,
    capture_folder,
    invoke_endpoint,
    open_endpoints,
    read_captures,
    replay_rows,
    window,
)


def _send(settings, name, bodies):
    for body in bodies:
        try:
            invoke_endpoint(settings, name, body)
        except InvocationError:
            pass


def _settled(settings, name, since, count, variant="AllTraffic"):
    """The metrics once the server's flush (4 a second) has written `count` requests."""
    deadline = time.monotonic() + 3
    while True:
        found = window(settings, name, since).get(variant)
        if (found and found.requests >= count) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_captured_requests_are_model_monitor_records_and_stay_within_their_bounds(
        settings, endpoint):
    name = endpoint.name
    assert not open_endpoints(settings).capture(name).enabled  # off until turned on
    found = open_endpoints(settings).set_capture(name, CaptureConfig(
        enabled=True, max_file_bytes=2048, max_total_bytes=6144))
    assert found.enabled and found.destination == str(capture_folder(settings, name))
    since = time.time()
    rows = replay_rows(settings, 60)
    _send(settings, name, rows + ["1,2,3"])  # the last one is refused: not captured
    records = read_captures(settings, name)
    assert 0 < len(records) < 60  # the oldest files were dropped: the bound holds
    assert capture_bytes(settings, name) <= 6144 + 2048
    files = sorted(capture_folder(settings, name).rglob("*.jsonl"))
    assert len(files) >= 2 and all(f.stat().st_size <= 2048 for f in files)
    assert files[0].relative_to(capture_folder(settings, name)).parts[0] == "AllTraffic"
    newest = records[-1]["record"]
    data = newest["captureData"]
    assert data["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                     "data": rows[-1], "encoding": "CSV"}
    assert data["endpointOutput"]["mode"] == "OUTPUT"
    assert len(json.loads(data["endpointOutput"]["data"])) == 1
    assert newest["eventVersion"] == "0" and newest["eventMetadata"]["eventId"]
    assert newest["eventMetadata"]["inferenceTime"].endswith("Z")
    counted = _settled(settings, name, since, 61)
    assert counted.requests == 61 and counted.errors == 1  # every request is counted
    assert counted.p50_ms is not None and counted.p50_ms <= counted.p99_ms


def test_sampling_captures_a_share_and_off_captures_nothing(settings, endpoint):
    name = endpoint.name
    endpoints = open_endpoints(settings)
    endpoints.set_capture(name, CaptureConfig(enabled=True, sampling_percentage=10))
    rows = replay_rows(settings, 200)
    _send(settings, name, rows)
    kept = len(read_captures(settings, name))
    assert 2 <= kept <= 60, kept  # about 20 of 200 (a binomial: far outside is a bug)
    endpoints.set_capture(name, CaptureConfig(enabled=False))
    time.sleep(1.1)  # the server re-reads the setting once a second
    _send(settings, name, rows[:20])
    assert len(read_captures(settings, name)) == kept


def test_a_bad_capture_setting_is_refused_and_changes_nothing(settings, endpoint):
    for config, message in [
            (CaptureConfig(enabled=True, sampling_percentage=0), "sampling percentage"),
            (CaptureConfig(enabled=True, max_file_bytes=10), "A capture file holds"),
            (CaptureConfig(enabled=True, max_file_bytes=4096, max_total_bytes=1024),
             "total size")]:
        with pytest.raises(ParameterError, match=message):
            open_endpoints(settings).set_capture(endpoint.name, config)
        assert not open_endpoints(settings).capture(endpoint.name).enabled
