"""The serving script: how SageMaker's serving containers (and the lab) load and apply a model.

SageMaker's scikit-learn (1.2-1) and XGBoost (1.7-1) serving containers import this file as
the module named by SAGEMAKER_PROGRAM, after downloading SAGEMAKER_SUBMIT_DIRECTORY (a
sourcedir.tar.gz holding it) into /opt/ml/code, and call, as sagemaker-containers'
Transformer does (and sagemaker-inference's, in the multi-model server):

    model_fn(model_dir)                    once per worker, model_dir = /opt/ml/model (the
                                           model.tar.gz unpacked)
    input_fn(request_body, content_type)   per request: the body is `str` for text/csv and
                                           application/json, `bytes` for anything else
                                           (a content type with parameters included)
    predict_fn(data, model)                what input_fn returned, and what model_fn returned
    output_fn(prediction, accept)          a (body, content type) tuple, which both toolkits
                                           turn into the response

The XGBoost container's own input decoder would hand predict_fn an xgboost DMatrix, and
the scikit-learn one a float32 array: this module decodes CSV itself (float64, the rows
as sent), so both containers and the lab's own endpoint answer the same request the same
way. predict_fn still accepts a DMatrix, for an XGBoost model, should a caller pass one.

It imports nothing of the lab (the containers do not have it), only numpy, and xgboost
or joblib when a model needs them; it keeps to Python 3.9 (the containers' Python).
"""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np

MODEL_JSON, TRAINING_JSON = "model.json", "training.json"
CSV, JSON = "text/csv", "application/json"


def model_fn(model_dir):
    """(algorithm, features, model) from a model folder: model.json says what to load."""
    with open(os.path.join(model_dir, MODEL_JSON)) as fh:
        meta = json.load(fh)
    path = os.path.join(model_dir, meta["model_file"])
    if meta["algorithm"] == "xgboost":
        import xgboost as xgb

        model = xgb.Booster()
        model.load_model(path)
    else:
        import joblib

        model = joblib.load(path)
    return meta["algorithm"], list(meta["features"]), model


def _media_type(content_type):
    return (content_type or "").split(";", 1)[0].strip().lower()


def input_fn(request_body, content_type=CSV):
    """Rows of feature values (a 2-D float array) from a CSV body (one row per line, no
    header, no target), or from JSON: a list of rows, or {"instances": rows}."""
    if isinstance(request_body, (bytes, bytearray)):
        request_body = bytes(request_body).decode("utf-8")
    kind = _media_type(content_type)
    if kind == CSV:
        lines = [line for line in request_body.splitlines() if line.strip()]
        rows = list(csv.reader(io.StringIO("\n".join(lines))))
    elif kind == JSON:
        rows = json.loads(request_body)
        if isinstance(rows, dict):
            rows = rows.get("instances", rows.get("features"))
    else:
        raise ValueError(f"Content type {content_type!r} is not supported: send {CSV} (or {JSON}).")
    if not rows:
        raise ValueError("The request holds no row: send one or more rows of numbers.")
    try:
        data = np.array(rows, dtype=float)
    except ValueError:
        raise ValueError("Every value must be a number (no header row, no text): "
                         "send the feature values only.") from None
    return data.reshape(1, -1) if data.ndim == 1 else data


def predict_fn(data, model):
    """Predictions (1-D float array) for rows in the model's feature order."""
    algorithm, features, estimator = model
    if algorithm == "xgboost" and type(data).__name__ == "DMatrix":
        if data.num_col() != len(features):
            raise ValueError(f"Each row needs {len(features)} values, got {data.num_col()}.")
        return np.asarray(estimator.predict(data, validate_features=False), dtype=float)
    rows = np.asarray(data, dtype=float)
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    if rows.ndim != 2 or rows.shape[1] != len(features):
        raise ValueError("Each row needs {} values ({}), got {}.".format(
            len(features), ", ".join(features), rows.shape[-1] if rows.ndim else 0))
    if algorithm == "xgboost":
        import xgboost as xgb

        # The matrix is a copy of the rows: built on one thread, as xgboost's default (a
        # thread per core) costs more in starting and waking them than it saves (measured
        # with 2,000 rows on two busy cores: 43 ms against 3 ms).
        matrix = xgb.DMatrix(rows, feature_names=list(features), nthread=1)
        return np.asarray(estimator.predict(matrix), dtype=float)
    return np.asarray(estimator.predict(rows), dtype=float)


def output_fn(prediction, accept=JSON):
    """(body, content type): a JSON list of numbers, or one number per CSV line."""
    values = [float(v) for v in np.asarray(prediction, dtype=float).ravel()]
    kind = _media_type(accept)
    if kind in ("", "*/*", JSON, "application/*"):
        return json.dumps(values), JSON
    if kind == CSV:
        return "\n".join(repr(v) for v in values), CSV
    raise ValueError(f"Accept {accept!r} is not supported: ask for {JSON} or {CSV}.")
