"""The model-quality check: is the new model at most a margin worse than the approved one?

The gated training pipeline runs it after the evaluation: it reads the new model's
evaluation report (evaluation.json) and the test MSE of the currently approved version
(a pipeline parameter, looked up in the registry when the execution starts), and writes
model_quality.json, whose numbers the next step (the condition `ModelQualityGate`) compares:

    {"model_quality": {"mse": {"value": <new>, "approved": <approved or null>,
                               "margin": 0.05, "ceiling": <approved * (1 + margin)>},
                       "passed": true, "text": "..."}}

With no approved version there is nothing to beat: the ceiling is the new MSE itself and
the gate passes. A regression metric where lower is better, so "worse" is "higher".

On SageMaker a processing job runs it in the scikit-learn 1.2-1 image (json only, so it
imports nothing of the lab and keeps to Python 3.9):

    python model_quality.py --evaluation DIR --approved-mse X --margin M --output-dir DIR
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

PROC = "/opt/ml/processing"


def verdict(new_mse, approved_mse, margin):
    """The report's "model_quality" part."""
    if not (isinstance(margin, (int, float)) and 0 <= margin <= 10):
        raise ValueError(f"the margin must be from 0 to 10 (got {margin!r})")
    if approved_mse and approved_mse > 0:
        ceiling = approved_mse * (1 + margin)
        passed = new_mse <= ceiling
        change = new_mse / approved_mse - 1
        text = (f"test MSE {new_mse:,.0f} is {abs(change):.1%} "
                f"{'above' if change > 0 else 'below'} the approved version's "
                f"{approved_mse:,.0f} (allowed: up to {margin:.0%} above, {ceiling:,.0f}): "
                + ("passes" if passed else "held back"))
    else:
        approved_mse, ceiling, passed = None, new_mse, True
        text = (f"test MSE {new_mse:,.0f}; no approved version to compare with: the first "
                "one passes")
    return {"mse": {"value": new_mse, "approved": approved_mse, "margin": margin,
                    "ceiling": ceiling}, "passed": passed, "text": text}


def check(evaluation_dir, approved_mse, margin, output_dir, log=print):
    path = os.path.join(evaluation_dir, "evaluation.json")
    try:
        with open(path) as fh:
            report = json.load(fh)
        new_mse = float(report["regression_metrics"]["mse"]["value"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read the test MSE from {path}: {exc}") from None
    if not math.isfinite(new_mse):
        raise ValueError(f"the test MSE is {new_mse}")
    found = verdict(new_mse, float(approved_mse), float(margin))
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "model_quality.json"), "w") as fh:
        json.dump({"model_quality": found}, fh, indent=2)
    log(found["text"])
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluation", default=f"{PROC}/evaluation")
    parser.add_argument("--approved-mse", type=float, default=0.0)
    parser.add_argument("--margin", type=float, default=0.05)
    parser.add_argument("--output-dir", default=f"{PROC}/model_quality")
    args, _ = parser.parse_known_args(argv)
    try:
        check(args.evaluation, args.approved_mse, args.margin, args.output_dir)
    except ValueError as exc:
        print(f"ERROR: {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
