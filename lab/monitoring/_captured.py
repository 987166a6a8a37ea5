"""Captured requests read back: records in Model Monitor's capture format, turned into the
feature rows the model received (in the data's units, to compare with the baseline)."""

from __future__ import annotations

import calendar
import time
from typing import Any

import numpy as np
import pandas as pd

from lab.monitoring import drift
from lab.monitoring._api import Baseline, Capture


def _seconds(text: str) -> float:
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except (TypeError, ValueError):
        return 0.0


def to_capture(record: dict[str, Any], endpoint: str, variant: str) -> Capture | None:
    """A capture record (one JSON line) as a Capture; None when it is not one."""
    try:
        data = record["captureData"]
        request, answer = data["endpointInput"], data.get("endpointOutput", {})
        meta = record.get("eventMetadata", {})
        body = request.get("data", "")
        if request.get("encoding") == "BASE64":
            import base64

            body = base64.b64decode(body).decode("utf-8", errors="replace")
        return Capture(endpoint=endpoint, variant=variant,
                       time=_seconds(meta.get("inferenceTime", "")),
                       event_id=str(meta.get("eventId", "")), input=body,
                       output=str(answer.get("data", "")),
                       content_type=request.get("observedContentType", "text/csv"))
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def captured_frame(captures: list[Capture], baseline: Baseline) -> pd.DataFrame:
    """The captured rows (CSV or JSON requests) as a frame of the baseline's features, in
    the data's units (the requests carry scaled features: the baseline's scaler undoes it).
    A row of the wrong width is left out; a value that is not a number is missing."""
    width = len(baseline.features)
    rows = []
    for capture in captures:
        if "json" in capture.content_type.lower():
            rows.extend(r for r in _json_rows(capture.input) if len(r) == width)
            continue
        for line in capture.input.splitlines():
            cells = line.split(",")
            if line.strip() and len(cells) == width:
                rows.append([_number(c) for c in cells])
    frame = pd.DataFrame(rows or np.empty((0, width)), columns=baseline.features)
    scaler = baseline.info.get("scaler")
    return drift.unscale(frame, scaler) if scaler else frame


def _json_rows(text: str) -> list[list[float]]:
    """The rows of a JSON request (the endpoint's forms); none when it holds none."""
    import json

    from lab.serving import json_rows

    try:
        rows = json_rows(json.loads(text))
    except ValueError:
        return []
    return [[_number(v) for v in r] for r in rows or [] if isinstance(r, list)]


def _number(cell: Any) -> float:
    try:
        return float(cell)
    except (TypeError, ValueError):  # a JSON null or list, or text: missing
        return float("nan")
