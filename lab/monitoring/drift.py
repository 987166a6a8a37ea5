"""Baseline statistics and drift, written in SageMaker Model Monitor's file formats.

    stats = statistics(frame)                  # statistics.json: per feature count, missing,
                                               # mean, std, min, max, a 10-bucket histogram
                                               # and a quantile sketch (KLL layout)
    rules = constraints(stats, completeness)   # constraints.json, with the thresholds
    report = compare(stats, rules, batch)      # per feature PSI and KS, drifted or not, and
                                               # the violations (constraint_violations.json)

The same file is the training pipeline's data-quality check (`CheckDataQuality`): on
SageMaker a processing job runs it in the scikit-learn 1.2-1 image, which has numpy,
pandas and scipy but not the lab, so it imports nothing of the lab and keeps to Python 3.9
and that image's libraries (pandas 1.1.3, scipy 1.8.0). Run as a script it reads the
processing step's train split and prep.json, puts the features back in the data's own
units (the preparation scaled them), compares them with the baseline and fails (exit 3)
when they drift beyond the thresholds or violate the constraints, writing why to
/opt/ml/output/message, which SageMaker shows as the job's ExitMessage:

    python drift.py --train DIR --meta DIR --baseline DIR --output-dir DIR [--message-file F]

How a feature is judged (the lab's rule; Model Monitor documents its files, not its
distance in detail). Two numbers compare the batch with the baseline:
- PSI, the population stability index, over the baseline's 10 histogram buckets plus one
  bucket for missing values: sum of (batch% - base%) * ln(batch% / base%), each share at
  least 0.0001. Under 0.1 is usually read as stable, above 0.2 as a real shift.
- KS, the two-sample Kolmogorov-Smirnov statistic (scipy), between the batch's present
  values and the baseline's quantile sketch: the largest gap between the two cumulative
  distributions (0 to 1).
A feature drifts when its PSI reaches `psi_threshold`, or when its KS statistic reaches
`comparison_threshold` (Model Monitor's name, default 0.1) with a p-value under `ks_alpha`
(the KS test's own guard against small samples). Batches under `min_rows` rows are not
judged: with few rows both numbers are noisy. Missing values count through PSI (their own
bucket) and through Model Monitor's `completeness` constraint.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import numpy as np
import pandas as pd

BUCKETS = 10  # Model Monitor materialises distributions in 10 buckets
SKETCH_K = 2048  # quantiles kept per feature (the KLL sketch's k)
PSI_THRESHOLD = 0.2
KS_THRESHOLD = 0.1  # Model Monitor's default comparison_threshold
KS_ALPHA = 0.01
MIN_ROWS = 200
EPSILON = 1e-4  # the least share a bucket counts with (an empty bucket would be ln(0))
EXIT_VIOLATIONS, EXIT_BAD_INPUT = 3, 2
MESSAGE_LIMIT = 1000  # SageMaker keeps the first 1 KB of /opt/ml/output/message


class BadInput(ValueError):
    """The data or the baseline cannot be compared as given; the message says why."""


def present_values(series):
    values = pd.to_numeric(series, errors="coerce").astype(float).to_numpy()
    return values[np.isfinite(values)]


def decimals(low, high):
    """The decimals that keep 10 significant digits of a feature spanning [low, high]."""
    magnitude = max(abs(float(low)), abs(float(high)), 1e-300)
    return int(9 - math.floor(math.log10(magnitude)))


def snapped(values, places):
    """Values rounded to the feature's decimals: undoing the preparation's scaling leaves
    float noise that differs between library versions (a 0/1 feature read back as
    -1e-17 and 0.9999999999999998), which would make equal values unequal for KS."""
    return np.round(values, places)


def _integral(values):
    return bool(len(values)) and bool(np.all(np.abs(values - np.round(values)) < 1e-6))


def _buckets(values):
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return [{"lower_bound": low, "upper_bound": high, "count": float(len(values))}]
    edges = np.linspace(low, high, BUCKETS + 1)
    counts, _ = np.histogram(values, bins=edges)
    return [{"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]),
             "count": float(counts[i])} for i in range(BUCKETS)]


def _sketch(values):
    ordered = np.sort(values)
    if len(ordered) > SKETCH_K:  # evenly spaced quantiles (np.quantile is slow for 2,048)
        ordered = np.interp(np.linspace(0, len(ordered) - 1, SKETCH_K),
                            np.arange(len(ordered)), ordered)
    return [float(v) for v in ordered]


def statistics(frame):
    """statistics.json for the columns of `frame` (all numeric features)."""
    features = []
    for name in frame.columns:
        values = present_values(frame[name])
        if len(values):
            values = snapped(values, decimals(values.min(), values.max()))
        present = int(len(values))
        common = {"num_present": present, "num_missing": int(len(frame) - present)}
        numbers = {"common": common, "mean": 0.0, "sum": 0.0, "std_dev": 0.0, "min": 0.0,
                   "max": 0.0, "distribution": {"kll": {"buckets": [], "sketch": {
                       "parameters": {"c": 0.64, "k": float(SKETCH_K)}, "data": [[]]}}}}
        if present:
            numbers.update(mean=float(values.mean()), sum=float(values.sum()),
                           std_dev=float(values.std(ddof=1)) if present > 1 else 0.0,
                           min=float(values.min()), max=float(values.max()))
            kll = numbers["distribution"]["kll"]
            kll["buckets"] = _buckets(values)
            kll["sketch"]["data"] = [_sketch(values)]
        features.append({"name": str(name),
                         "inferred_type": "Integral" if _integral(values) else "Fractional",
                         "numerical_statistics": numbers})
    return {"version": 0.0, "dataset": {"item_count": int(len(frame))}, "features": features}


def constraints(stats, completeness=None, psi_threshold=PSI_THRESHOLD,
                ks_threshold=KS_THRESHOLD, ks_alpha=KS_ALPHA, min_rows=MIN_ROWS):
    """constraints.json suggested from `stats`. `completeness` ({feature: share present})
    overrides what the statistics saw (a prepared split has its missing values filled)."""
    completeness = completeness or {}
    features = []
    for f in stats["features"]:
        numbers = f["numerical_statistics"]
        common = numbers["common"]
        total = common["num_present"] + common["num_missing"]
        seen = common["num_present"] / total if total else 0.0
        features.append({"name": f["name"], "inferred_type": f["inferred_type"],
                         "completeness": float(completeness.get(f["name"], seen)),
                         "num_constraints": {"is_non_negative": numbers["min"] >= 0}})
    return {"version": 0.0, "features": features, "monitoring_config": {
        "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0, "domain_content_threshold": 1.0,
        "distribution_constraints": {
            "perform_comparison": "Enabled", "comparison_threshold": float(ks_threshold),
            "comparison_method": "Robust",
            # the lab's own keys (a container may extend the format): see the docstring
            "psi_threshold": float(psi_threshold), "ks_alpha": float(ks_alpha),
            "min_rows": int(min_rows)}}}


def thresholds(rules):
    config = rules.get("monitoring_config", {}).get("distribution_constraints", {})
    return {"psi": float(config.get("psi_threshold", PSI_THRESHOLD)),
            "ks": float(config.get("comparison_threshold", KS_THRESHOLD)),
            "ks_alpha": float(config.get("ks_alpha", KS_ALPHA)),
            "min_rows": int(config.get("min_rows", MIN_ROWS))}


def shares(feature, values, missing):
    """(baseline, batch) shares per bucket, missing values last: what PSI compares."""
    numbers = feature["numerical_statistics"]
    buckets = numbers["distribution"]["kll"]["buckets"]
    common = numbers["common"]
    base_total = common["num_present"] + common["num_missing"]
    base = np.array([b["count"] for b in buckets] + [common["num_missing"]], dtype=float)
    base = base / base_total if base_total else base
    if len(buckets) > 1:
        inner = np.array([b["upper_bound"] for b in buckets[:-1]])
        index = np.searchsorted(inner, values, side="right")  # outside: the end buckets
    else:
        index = np.zeros(len(values), dtype=int)
    counts = np.bincount(index, minlength=len(buckets)).astype(float)
    batch = np.append(counts, float(missing))
    total = batch.sum()
    return base, (batch / total if total else batch)


def psi(base, batch):
    p, q = np.maximum(base, EPSILON), np.maximum(batch, EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def ks(feature, values):
    """(statistic, p-value) of the two-sample KS test against the baseline's sketch."""
    from scipy.stats import ks_2samp

    numbers = feature["numerical_statistics"]
    sketch = numbers["distribution"]["kll"]["sketch"]["data"]
    reference = np.array([v for level in sketch for v in level], dtype=float)
    if not len(reference) or not len(values):
        return float("nan"), float("nan")
    places = decimals(numbers["min"], numbers["max"])
    reference, values = snapped(reference, places), snapped(values, places)
    found = ks_2samp(reference, values)
    return float(found.statistic), float(found.pvalue)


def compare(stats, rules, frame, completeness=None):
    """The drift report of `frame` against the baseline (`stats`, `rules`).

    `completeness` ({feature: share present}) replaces what `frame` shows (a prepared split
    has its missing values filled: prep.json says how many there were)."""
    limits = thresholds(rules)
    expected = {c["name"]: c for c in rules.get("features", [])}
    rows = int(len(frame))
    judged = rows >= limits["min_rows"]
    features, violations = {}, []
    for feature in stats["features"]:
        name = feature["name"]
        if name not in frame.columns:
            violations.append({"feature_name": name, "constraint_check_type":
                               "missing_column_check", "description":
                               f"The baseline's feature {name} is not in the data."})
            continue
        values = present_values(frame[name])
        missing = rows - len(values)
        present = (completeness or {}).get(name, len(values) / rows if rows else 0.0)
        base, batch = shares(feature, values, missing)
        index = psi(base, batch)
        statistic, pvalue = ks(feature, values)
        shift = judged and (index >= limits["psi"] or (
            statistic >= limits["ks"] and pvalue < limits["ks_alpha"]))
        wanted = expected.get(name, {}).get("completeness", 0.0)
        incomplete = present < wanted - 1e-9
        numbers = feature["numerical_statistics"]
        features[name] = {
            "psi": round(index, 6), "ks": round(statistic, 6) if statistic == statistic
            else None, "ks_pvalue": pvalue if pvalue == pvalue else None,
            "completeness": present, "baseline_completeness": wanted,
            "mean": float(values.mean()) if len(values) else None,
            "baseline_mean": numbers["mean"], "baseline_std": numbers["std_dev"],
            "drifted": bool(shift or incomplete)}
        if shift:
            violations.append({"feature_name": name, "constraint_check_type":
                               "baseline_drift_check", "description":
                               f"PSI {index:.3f} (threshold {limits['psi']:g}), KS "
                               f"{statistic:.3f} (threshold {limits['ks']:g}, p "
                               f"{pvalue:.2g})."})
        if incomplete:
            violations.append({"feature_name": name, "constraint_check_type":
                               "completeness_check", "description":
                               f"{present:.1%} of the values are present; the baseline's "
                               f"constraint is {wanted:.1%}."})
    extra = [str(c) for c in frame.columns if str(c) not in {f["name"] for f in
                                                             stats["features"]}]
    for name in extra:
        violations.append({"feature_name": name, "constraint_check_type":
                           "extra_column_check", "description":
                           f"{name} is not a feature of the baseline."})
    return {"rows": rows, "judged": judged, "thresholds": limits, "features": features,
            "drifted": [n for n, f in features.items() if f["drifted"]],
            "violations": violations}


def unscale(frame, scaler):
    """A prepared (standard-scaled) frame back in the data's units: x * scale + mean."""
    out = frame.copy()
    for name, mean, scale in zip(scaler["columns"], scaler["mean"], scaler["scale"]):
        if name in out.columns:
            out[name] = out[name].astype(float) * float(scale) + float(mean)
    return out


def completeness_of(meta):
    """{feature: share present} of the data the preparation read (it filled the rest)."""
    total = sum(meta.get("rows", {}).values())
    filled = meta.get("cleaning", {}).get("filled_with_median", {})
    return {f: (1 - filled[f]["count"] / total) if f in filled and total else 1.0
            for f in meta["features"]}


def read_split(folder, meta):
    """A prepared split (headerless CSVs, target first) as a frame of its features, in
    the data's own units."""
    files = sorted(glob.glob(os.path.join(folder, "**", "*.csv"), recursive=True))
    if not files:
        raise BadInput(f"no CSV in {folder}")
    frame = pd.concat([pd.read_csv(f, header=None) for f in files], ignore_index=True)
    if frame.shape[1] != len(meta["columns"]):
        raise BadInput(f"the split has {frame.shape[1]} columns, prep.json names "
                       f"{len(meta['columns'])}")
    frame.columns = meta["columns"]
    features = frame[meta["features"]]
    scaler = meta.get("scaler")
    return unscale(features, scaler) if scaler else features


def _read_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read {os.path.basename(path)}: {exc}") from None


def summary_line(report):
    """One line (under SageMaker's 1 KB ExitMessage) saying what failed, with numbers."""
    parts = []
    for v in report["violations"]:
        parts.append(f"{v['feature_name']} {v['constraint_check_type']}: {v['description']}")
    text = f"{len(report['violations'])} violation(s) of the baseline: " + "; ".join(parts)
    return text[:MESSAGE_LIMIT - 3] + "..." if len(text) > MESSAGE_LIMIT else text


def check(train, meta_dir, baseline, output_dir, log=print):
    """The data-quality check: the report, written to output_dir/data_quality.json (and
    Model Monitor's constraint_violations.json beside it)."""
    meta = _read_json(os.path.join(meta_dir, "prep.json"))
    stats = _read_json(os.path.join(baseline, "statistics.json"))
    rules = _read_json(os.path.join(baseline, "constraints.json"))
    frame = read_split(train, meta)
    report = compare(stats, rules, frame, completeness_of(meta))
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "data_quality.json"), "w") as fh:
        json.dump({"data_quality": dict(report, violation_count=len(report["violations"]))},
                  fh, indent=2)
    with open(os.path.join(output_dir, "constraint_violations.json"), "w") as fh:
        json.dump({"violations": report["violations"]}, fh, indent=2)
    log(f"Rows: {report['rows']}; thresholds: PSI {report['thresholds']['psi']:g}, KS "
        f"{report['thresholds']['ks']:g}")
    for name, f in report["features"].items():
        ks_text = "n/a" if f["ks"] is None else f"{f['ks']:.3f}"
        log(f"{name}: PSI {f['psi']:.3f}, KS {ks_text}, completeness "
            f"{f['completeness']:.1%}{' DRIFTED' if f['drifted'] else ''}")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="/opt/ml/processing/train")
    parser.add_argument("--meta", default="/opt/ml/processing/meta")
    parser.add_argument("--baseline", default="/opt/ml/processing/baseline")
    parser.add_argument("--output-dir", default="/opt/ml/processing/data_quality")
    parser.add_argument("--message-file", default="/opt/ml/output/message")
    args, _ = parser.parse_known_args(argv)
    try:
        report = check(args.train, args.meta, args.baseline, args.output_dir)
    except (BadInput, KeyError) as exc:
        print(f"ERROR: {exc}", flush=True)
        return EXIT_BAD_INPUT
    if report["violations"]:
        line = summary_line(report)
        print(f"ERROR: {line}", flush=True)
        try:
            os.makedirs(os.path.dirname(args.message_file) or ".", exist_ok=True)
            with open(args.message_file, "w", encoding="utf-8") as fh:
                fh.write(line)
        except OSError:
            pass  # the message is a courtesy: the exit status fails the step
        return EXIT_VIOLATIONS
    print("No violation: the data matches the baseline.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
