"""The evaluation script: score the trained model on the test split, write evaluation.json.

As the workshop's evaluation step: the report's `regression_metrics.mse.value` is what the
pipeline's condition reads (SageMaker's PropertyFile "EvaluationReport" + JsonGet), and
the same report is the registered package's ModelMetrics.

On SageMaker it runs as a processing job in the image the model was trained in (the
XGBoost image for an XGBoost model: the scikit-learn image has no xgboost), with

    /opt/ml/processing/model/model.tar.gz    the training step's artifact
    /opt/ml/processing/test/                 the processing step's test split (CSV files,
                                             no header, target first)
    /opt/ml/processing/input/serving/        the serving script (inference.py), whose
                                             model_fn/predict_fn load and apply the model:
                                             the model is evaluated exactly as it will serve
    /opt/ml/processing/evaluation/           where evaluation.json goes

so it imports nothing of the lab (only numpy, pandas and the serving script) and keeps to
Python 3.9. The local executor calls `evaluate()` in its own process with the lab's copy of
the serving script (the model libraries are then imported once per process).
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import sys
import tarfile
import tempfile

import numpy as np
import pandas as pd

PROC = "/opt/ml/processing"


def load_serving(code_dir):
    """The serving script (inference.py) from `code_dir`, without touching sys.path."""
    path = os.path.join(code_dir, "inference.py")
    if not os.path.isfile(path):
        raise ValueError(f"no serving script at {path}")
    spec = importlib.util.spec_from_file_location("inference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unpack(model_path, folder):
    """model.tar.gz into `folder`; refuses members that would land outside it."""
    if os.path.isdir(model_path):
        return model_path
    if not os.path.isfile(model_path):
        raise ValueError(f"no model artifact at {model_path}")
    try:
        with tarfile.open(model_path, "r:gz") as tar:
            root = os.path.realpath(folder)
            for member in tar.getmembers():
                target = os.path.realpath(os.path.join(folder, member.name))
                if not (member.isfile() or member.isdir()) or \
                        os.path.commonpath([root, target]) != root:
                    raise ValueError(f"the artifact holds an unsafe member {member.name!r}")
            tar.extractall(folder)
    except tarfile.TarError as exc:
        raise ValueError(f"{os.path.basename(model_path)} is not a readable model.tar.gz "
                         f"({exc})") from None
    return folder


def read_test(test_dir):
    files = sorted(glob.glob(os.path.join(test_dir, "**", "*.csv"), recursive=True))
    if not files:
        raise ValueError(f"no test CSV in {test_dir}")
    return pd.concat([pd.read_csv(f, header=None) for f in files], ignore_index=True)


def report_of(actual, predicted):
    """The workshop's report layout (SageMaker's model quality statistics for regression)."""
    squared = (actual - predicted) ** 2
    mse, std = float(squared.mean()), float(squared.std())
    total = float(((actual - actual.mean()) ** 2).sum())
    return {"regression_metrics": {
        "mse": {"value": mse, "standard_deviation": std},
        "rmse": {"value": mse ** 0.5},
        "r2": {"value": 1 - float(squared.sum()) / total if total else float("nan")},
        "mae": {"value": float(np.abs(actual - predicted).mean())}}}


def evaluate(model_path, test_dir, output_dir, serving, log=print):
    """Score the model on the test CSVs, write evaluation.json, return the report.

    `serving` is the serving script's module. ValueError when the model or the test data
    cannot be used.
    """
    frame = read_test(test_dir)
    actual = frame.iloc[:, 0].to_numpy(float)
    with tempfile.TemporaryDirectory(prefix="evaluation-") as tmp:
        model = serving.model_fn(unpack(model_path, tmp))
        predicted = np.asarray(serving.predict_fn(frame.iloc[:, 1:].to_numpy(float), model),
                               dtype=float)
    report = report_of(actual, predicted)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "evaluation.json"), "w") as fh:
        json.dump(report, fh, indent=2)
    log(f"Test rows: {len(actual)}")
    log(f"MSE: {report['regression_metrics']['mse']['value']}")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=f"{PROC}/model/model.tar.gz")
    parser.add_argument("--test", default=f"{PROC}/test")
    parser.add_argument("--serving-code", default=f"{PROC}/input/serving")
    parser.add_argument("--output-dir", default=f"{PROC}/evaluation")
    args, _ = parser.parse_known_args(argv)
    try:
        evaluate(args.model, args.test, args.output_dir, load_serving(args.serving_code))
    except (ValueError, KeyError, OSError) as exc:
        print(f"ERROR: {exc}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
