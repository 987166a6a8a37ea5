"""The evaluation script: score the trained model on the test split, write evaluation.json.

As the workshop's evaluation step: the report's `regression_metrics.mse.value` is what the
pipeline's condition reads (SageMaker's PropertyFile "EvaluationReport" + JsonGet).

    python -m lab.pipelines.evaluate --model model.tar.gz --test DIR --output-dir DIR

The test CSV is the processing output (no header, target first). The local executor calls
`evaluate()` in its own process (as the in-process preparation calls the processing
script's functions): the model libraries are then imported once per process, not once per
execution.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np
import pandas as pd


def evaluate(model_path: str, test_dir: str, output_dir: str, log=print) -> dict:
    """Score the model on the test CSVs, write evaluation.json, return the report.

    ValueError (or the lab's InputError) when the model or the test data cannot be used.
    """
    from lab.training import load_model

    model = load_model(model_path)
    files = sorted(glob.glob(os.path.join(test_dir, "*.csv")))
    if not files:
        raise ValueError(f"no test CSV in {test_dir}")
    frame = pd.concat([pd.read_csv(f, header=None) for f in files], ignore_index=True)
    actual = frame.iloc[:, 0].to_numpy(float)
    predicted = np.asarray(model.predict(frame.iloc[:, 1:].to_numpy(float)), dtype=float)
    squared = (actual - predicted) ** 2
    mse, std = float(squared.mean()), float(squared.std())
    total = float(((actual - actual.mean()) ** 2).sum())
    report = {"regression_metrics": {
        "mse": {"value": mse, "standard_deviation": std},
        "rmse": {"value": mse ** 0.5},
        "r2": {"value": 1 - float(squared.sum()) / total if total else float("nan")}}}
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "evaluation.json"), "w") as fh:
        json.dump(report, fh, indent=2)
    log(f"Test rows: {len(actual)}")
    log(f"MSE: {mse}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="/opt/ml/processing/model/model.tar.gz")
    parser.add_argument("--test", default="/opt/ml/processing/test")
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    args = parser.parse_args(argv)
    from lab.errors import LabError

    try:
        evaluate(args.model, args.test, args.output_dir)
    except (LabError, ValueError) as exc:
        print(f"ERROR: {exc}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
