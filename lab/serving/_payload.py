"""The endpoint's wire format: CSV (or JSON) rows in, JSON (or CSV) predictions out.

What the lab's serving script (lab/training/inference.py, whose `input_fn` SageMaker's
scikit-learn and XGBoost serving containers call) accepts, so that a request answered on
SageMaker is answered here: `text/csv`, one row per line, the feature values only (no
header, no target), in the model's feature order; or `application/json`, a list of such
rows, one row, or `{"instances": rows}` (or `{"features": rows}`). A refusal says which
row and column is wrong, since the learner builds payloads by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lab.serving._errors import InvocationError

CSV, JSON = "text/csv", "application/json"
MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's InvokeEndpoint limit: 6 MB


def media_type(header: str | None) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return (header or "").split(";", 1)[0].strip().lower()


def parse_csv(body: bytes, features: Sequence[str], target: str = "") -> np.ndarray:
    """Rows of floats, shape (rows, len(features)); InvocationError(400) saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("The body is not UTF-8 text: send CSV rows of numbers.") from None
    lines = [line for line in text.splitlines() if line.strip()]
    width = len(features)
    if not lines:
        raise _bad(f"The body is empty: send one or more CSV rows of {width} numbers "
                   f"({', '.join(features)}).")
    for i, line in enumerate(lines, 1):  # one count per line: cheap even for 1,000 rows
        values = line.count(",") + 1
        if values != width:
            raise _bad(_width_message(i, values, width, features, target))
    try:
        rows = np.array(",".join(lines).split(","), dtype=float).reshape(len(lines), width)
    except ValueError:
        raise _bad(_first_bad_value(lines, features)) from None
    if not np.isfinite(rows).all():
        r, c = (int(x) for x in np.argwhere(~np.isfinite(rows))[0])
        raise _bad(f"Row {r + 1}, column {c + 1} ({features[c]}): "
                   f"{lines[r].split(',')[c].strip()!r} is not a finite number.")
    return rows


def json_rows(value: Any) -> list | None:
    """The rows of a decoded JSON request, in the forms the serving script's input_fn
    reads: a list of rows, one row (a flat list), {"instances": rows} or {"features":
    rows}; None when it holds none."""
    if isinstance(value, dict):
        value = value.get("instances", value.get("features"))
    if not isinstance(value, list) or not value:
        return None
    return value if any(isinstance(r, list) for r in value) else [value]


def parse_json(body: bytes, features: Sequence[str], target: str = "") -> np.ndarray:
    """The JSON forms the serving script's `input_fn` reads, as rows of floats with the
    same checks (and messages) as CSV; InvocationError(400) saying what is wrong."""
    width = len(features)
    shape = (f"a list of rows of {width} numbers ({', '.join(features)}), or "
             '{"instances": rows}')
    try:
        rows = json_rows(json.loads(body.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        raise _bad(f"The body is not JSON: send {shape}.") from None
    if rows is None:
        raise _bad(f"The JSON holds no row: send {shape}.")
    for i, row in enumerate(rows, 1):
        if not isinstance(row, list):
            raise _bad(f"Row {i} is {_shown(row)}, not a list of {width} numbers: send "
                       f"{shape}.")
        if len(row) != width:
            raise _bad(_width_message(i, len(row), width, features, target))
        for c, value in enumerate(row, 1):
            if not _finite(value):
                raise _bad(f"Row {i}, column {c} ({features[c - 1]}): {_shown(value)} is "
                           "not a finite number. Send numbers only.")
    return np.array(rows, dtype=float)


def _shown(value: Any) -> str:
    """A JSON value as the client wrote it (true, null, "8"), cut short."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _finite(value: Any) -> bool:
    """A JSON number a float holds (not true/false, text, null, NaN or 1e400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _width_message(row: int, values: int, width: int, features: Sequence[str],
                   target: str) -> str:
    hint = ""
    if values == width + 1 and target:
        hint = f" Leave out the target column ({target}): the endpoint predicts it."
    return (f"Row {row} has {values} value{'s' if values != 1 else ''}; the model takes "
            f"{width} ({', '.join(features)}).{hint}")


def _first_bad_value(lines: list[str], features: Sequence[str]) -> str:
    for r, line in enumerate(lines, 1):
        for c, cell in enumerate(line.split(","), 1):
            try:
                float(cell)
            except ValueError:
                if r == 1 and any(cell.strip().strip('"') == f for f in features):
                    return ("Row 1 looks like a header: send the values only, no header row, "
                            "as SageMaker's CSV input expects.")
                shown = cell.strip() or "(empty)"
                return (f"Row {r}, column {c} ({features[c - 1]}): {shown!r} is not a number. "
                        "Send numbers only, comma-separated.")
    return "The body is not CSV rows of numbers."  # pragma: no cover - numpy and float agree


def _bad(message: str) -> InvocationError:
    return InvocationError.from_model(400, message)


def to_csv(rows: np.ndarray | Sequence[Sequence[float]]) -> str:
    """Rows as the CSV body the endpoint takes: shortest exact text of each float."""
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows)


def format_predictions(predictions: np.ndarray, accept: str) -> tuple[bytes, str]:
    """(body, content type) in the format the client asked for."""
    values = [float(p) for p in np.asarray(predictions).ravel()]
    if accept in ("", "*/*", JSON, "application/*"):
        return json.dumps(values).encode(), JSON
    if accept == CSV:
        return "\n".join(repr(v) for v in values).encode(), CSV
    raise InvocationError.from_model(406, f"Accept {accept!r} is not supported: ask for "
                                          f"{JSON} or {CSV}.")


def parse_predictions(body: bytes, content_type: str) -> list[float]:
    """What `format_predictions` wrote, read back (the lab's own client)."""
    text = body.decode("utf-8")
    if media_type(content_type) == CSV:
        return [float(v) for v in text.split()]
    values = json.loads(text)
    if isinstance(values, dict) and "predictions" in values:  # some containers wrap them
        values = [p.get("score", p) if isinstance(p, dict) else p for p in values["predictions"]]
    return [float(v) for v in (values if isinstance(values, list) else [values])]
