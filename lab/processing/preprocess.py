"""The data-preparation script: split and scale, exactly as the workshop does.

This one file is the processing job's entry point, locally and on SageMaker (where an
SKLearnProcessor uploads it as `code=` into the scikit-learn 1.2-1 container, which has
pandas and scikit-learn but not the lab package), so it imports nothing from `lab`,
scikit-learn only inside the functions that use it, and keeps to Python 3.9 and the
container's pandas (1.1.3). It writes what the training entry point reads: each split as
CSV without a header, the target first (the workshop's layout), and meta/prep.json (the
column names and the scaler) for the training job's `meta` channel. The in-process step
(`lab.processing.run_prep`) calls the same functions, which is what makes the two outputs
comparable.

Run it as a script (the local processing job does, with no PYTHONPATH):

    python lab/processing/preprocess.py --input-dir IN --output-dir OUT \
        --train_size 0.6 --val_size 0.2 --test_size 0.2 --random_state 42 --target_col PRICE

Without --input-dir/--output-dir it uses SageMaker's container paths.
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

MAX_CATEGORIES = 50  # a text column with at most this many values is one-hot encoded
MIN_ROWS = 10
SPLITS = ("train", "validation", "test")


class BadData(ValueError):
    """The dataset cannot be prepared as given; the message says what to change."""


class BadParameter(ValueError):
    """A parameter is out of range; the message says what to change."""


def read_parameters(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train_size", type=float, default=0.6)
    parser.add_argument("--val_size", type=float, default=0.2)
    parser.add_argument("--test_size", type=float, default=0.2)
    parser.add_argument("--random_state", type=int, default=42)
    parser.add_argument("--target_col", type=str, default="PRICE")
    parser.add_argument("--input-dir", default="/opt/ml/processing/input")
    parser.add_argument("--output-dir", default="/opt/ml/processing/output")
    # A sharded job (several instances) runs three phases; without --phase, the workshop's
    # single pass over every input file.
    parser.add_argument("--phase", choices=PHASES, default=None)
    parser.add_argument("--plan", default="/opt/ml/processing/input/plan")
    parser.add_argument("--resource-config", default=RESOURCE_CONFIG)
    params, _ = parser.parse_known_args(argv)
    return params


def check_sizes(train_size, val_size, test_size):
    sizes = {"train": train_size, "validation": val_size, "test": test_size}
    for name, size in sizes.items():
        if not (isinstance(size, (int, float)) and 0 < size < 1):
            raise BadParameter(f"The {name} size must be between 0 and 1 (got {size}).")
    total = train_size + val_size + test_size
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise BadParameter(
            f"Split sizes must sum to 1: {train_size} + {val_size} + {test_size} = {total:g}."
        )


def clean_dataset(df, target_col):
    """Make a user's table usable for regression; return it with a report of what changed.

    Numeric and boolean columns are kept; a text column with at most MAX_CATEGORIES distinct
    values is one-hot encoded; other text columns are ignored (and reported); rows with a
    missing target are dropped. Missing feature values are left for `fill_missing`, which
    uses the train split's medians.
    """
    if target_col not in df.columns:
        raise BadData(
            f"There is no column {target_col!r}. Pick the target among: "
            f"{', '.join(map(str, df.columns))}."
        )
    target = df[target_col]
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        coerced = pd.to_numeric(target, errors="coerce")
        bad = target[coerced.isna() & target.notna()]
        if len(bad):
            raise BadData(
                f"The target {target_col!r} must be numeric for regression, but it holds "
                f"text such as {str(bad.iloc[0])!r}. Pick a numeric target column."
            )
        target = coerced
    if target.isna().all():
        raise BadData(f"The target {target_col!r} has no values. Pick a column that holds "
                      "the numbers to predict.")
    df = df.copy()
    df[target_col] = target
    report = {"dropped_missing_target": int(df[target_col].isna().sum()),
              "one_hot": {}, "ignored": {}, "filled_with_median": {}}
    df = df[df[target_col].notna()].reset_index(drop=True)

    features = []
    for col in df.columns:
        if col == target_col:
            continue
        series = df[col]
        if pd.api.types.is_bool_dtype(series):
            df[col] = series.astype("int64")
            features.append(col)
        elif pd.api.types.is_numeric_dtype(series):
            if series.isna().all():
                report["ignored"][str(col)] = "every value is missing"
            else:
                features.append(col)
        else:
            n_distinct = series.nunique(dropna=True)
            if 0 < n_distinct <= MAX_CATEGORIES:
                report["one_hot"][str(col)] = sorted(map(str, series.dropna().unique()))
                features.append(col)
            else:
                report["ignored"][str(col)] = (
                    f"text with {n_distinct} distinct values (one-hot encoding takes at most "
                    f"{MAX_CATEGORIES})"
                )
    if not features:
        raise BadData(
            "No usable feature: the table needs at least one numeric column (or a text column "
            f"with at most {MAX_CATEGORIES} distinct values) besides the target {target_col!r}."
        )
    df = df[features + [target_col]]
    for col in report["one_hot"]:
        dummies = pd.get_dummies(df[col].astype("string"), prefix=col, dtype="float64")
        dummies = dummies[sorted(dummies.columns)]
        position = df.columns.get_loc(col)
        df = pd.concat([df.iloc[:, :position], dummies, df.iloc[:, position + 1:]], axis=1)
    if len(df) < MIN_ROWS:
        raise BadData(
            f"Only {len(df)} rows have a target value; at least {MIN_ROWS} are needed to split."
        )
    return df, report


def change_target_to_first_col(df, target_col):
    first_column = df.pop(target_col)
    df.insert(0, target_col, first_column)
    return df


def split_counts(rows, train_size, val_size, test_size):
    """The rows of each split, as the workshop's two `train_test_split` calls give them."""
    check_sizes(train_size, val_size, test_size)
    # Row counts, not fractions, go to sklearn: 1 - 0.7 is 0.30000000000000004, which made
    # sklearn refuse the sizes or move a row between splits. Counts are rounded the way
    # sklearn rounds fractions (test up), minus float noise, so the workshop's 60/20/20
    # gives the very same rows.
    n_rest = math.ceil((1 - train_size) * rows - 1e-9)
    n_test = math.ceil(test_size / (1 - train_size) * n_rest - 1e-9)
    counts = {"train": rows - n_rest, "validation": n_rest - n_test, "test": n_test}
    empty = [name for name, count in counts.items() if count < 1]
    if empty:
        raise BadParameter(f"With {rows} rows these sizes leave the {empty[0]} split "
                           "empty: make it larger, or use more rows.")
    return counts


def split_dataset(df, train_size, val_size, test_size, random_state=None, log=print):
    """The workshop's split: train vs rest, then the rest into validation and test."""
    from sklearn.model_selection import train_test_split

    counts = split_counts(len(df), train_size, val_size, test_size)
    df_train, df_rest = train_test_split(
        df, test_size=len(df) - counts["train"], train_size=counts["train"],
        random_state=random_state
    )
    df_val, df_test = train_test_split(
        df_rest, test_size=counts["test"], train_size=counts["validation"],
        random_state=random_state
    )
    df_train = df_train.reset_index(drop=True)
    df_val = df_val.reset_index(drop=True)
    df_test = df_test.reset_index(drop=True)
    for name, part in zip(SPLITS, (df_train, df_val, df_test)):
        log(f"{name.capitalize()} size: {len(part)} - {int(len(part) / len(df) * 100)}% of total")
    return df_train, df_val, df_test


def fill_missing(df_train, df_val, df_test, target_col, report):
    """Fill missing feature values with the train split's median (never with test data)."""
    features = [c for c in df_train.columns if c != target_col]
    medians = df_train[features].median()
    missing = sum(part[features].isna().sum() for part in (df_train, df_val, df_test))
    for col, count in missing.items():
        if count:
            report["filled_with_median"][str(col)] = {"count": int(count),
                                                      "median": float(medians[col])}
    if report["filled_with_median"]:
        df_train, df_val, df_test = (p.fillna(medians) for p in (df_train, df_val, df_test))
    return df_train, df_val, df_test


def scale_dataset(df_train, df_val, df_test, target_col, log=print):
    """Fit StandardScaler on train, apply it to all three; the target stays unscaled."""
    from sklearn.preprocessing import StandardScaler

    scaler_data = StandardScaler()
    log("Fitting scaling to training data and transforming dataset...")
    df_train_transformed = pd.DataFrame(
        scaler_data.fit_transform(df_train), columns=df_train.columns
    )
    df_train_transformed[target_col] = df_train[target_col]
    log("Transforming validation and test datasets...")
    df_val_transformed = pd.DataFrame(scaler_data.transform(df_val), columns=df_val.columns)
    df_val_transformed[target_col] = df_val[target_col]
    df_test_transformed = pd.DataFrame(scaler_data.transform(df_test), columns=df_test.columns)
    df_test_transformed[target_col] = df_test[target_col]
    scaler = {"columns": [str(c) for c in df_train.columns],
              "mean": scaler_data.mean_.tolist(), "scale": scaler_data.scale_.tolist()}
    return df_train_transformed, df_val_transformed, df_test_transformed, scaler


def prepare(df, target_col="PRICE", train_size=0.6, val_size=0.2, test_size=0.2,
            random_state=42, log=print):
    """Clean, move the target first, split, fill, scale. Returns (splits dict, meta dict)."""
    check_sizes(train_size, val_size, test_size)
    df, report = clean_dataset(df, target_col)
    df = change_target_to_first_col(df, target_col)
    df_train, df_val, df_test = split_dataset(df, train_size, val_size, test_size,
                                              random_state, log)
    df_train, df_val, df_test = fill_missing(df_train, df_val, df_test, target_col, report)
    df_train, df_val, df_test, scaler = scale_dataset(df_train, df_val, df_test, target_col, log)
    meta = {
        "target": str(target_col),
        "columns": [str(c) for c in df_train.columns],
        "features": [str(c) for c in df_train.columns[1:]],
        "rows": {"train": len(df_train), "validation": len(df_val), "test": len(df_test)},
        "parameters": {"train_size": train_size, "val_size": val_size, "test_size": test_size,
                       "random_state": random_state},
        "cleaning": report,
        "scaler": scaler,
    }
    return dict(zip(SPLITS, (df_train, df_val, df_test))), meta


def write_outputs(splits, meta, output_dir):
    """The workshop's layout: <out>/train/train.csv, ... without header, plus meta/."""
    for name, frame in splits.items():
        os.makedirs(os.path.join(output_dir, name), exist_ok=True)
        frame.to_csv(os.path.join(output_dir, name, f"{name}.csv"), sep=",", index=False,
                     header=False)
    os.makedirs(os.path.join(output_dir, "meta"), exist_ok=True)
    with open(os.path.join(output_dir, "meta", "prep.json"), "w") as fh:
        json.dump(meta, fh, indent=2)


def read_input(input_dir):
    """Read every CSV under the input folder, subfolders included: an S3 prefix given as
    the processing input lands with its sub-keys as subfolders. With ShardedByS3Key an
    instance may get none."""
    paths = sorted(glob.glob(os.path.join(input_dir, "**", "*.csv"), recursive=True))
    if not paths:
        return None
    frames = []
    for path in paths:
        try:
            frames.append(pd.read_csv(path))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise BadData(f"{os.path.basename(path)} is not a readable CSV: {exc}") from None
    return pd.concat(frames, ignore_index=True)


# --- Sharded processing: one dataset over several instances ------------------------------
#
# With `instance_count=N` and the input in ShardedByS3Key mode, each instance receives some
# of the input's files (shards) and none of the others. Fitting the scaler on each shard
# would give N scalers, each centred on its own rows: the train split as a whole would not
# be centred, and the same house would be scaled differently by two instances. So the
# statistics are computed over the whole train split, in three passes that each instance
# runs on its own shards, with a small combine step between them (run by the lab, which
# reads every instance's partial results):
#
#   profile     rows, column types and text values of each shard   -> plan (schema, offsets)
#   statistics  partial moments of the train rows of each shard     -> plan + the scaler
#   transform   each shard's rows split, filled and scaled          -> part files per instance
#
# The split is the workshop's own: `train_test_split` shuffles positions 0..n-1 whatever the
# data, so the combine step deals those positions out (`split_slots`, one small file per
# shard in the plan) and each instance keeps its rows in the same splits and order as one
# instance would. One instance or five, every row lands in the same split, scaled with the
# same numbers; and the phases need pandas and numpy only.

PHASES = ("profile", "statistics", "transform")
RESOURCE_CONFIG = "/opt/ml/config/resourceconfig.json"  # SageMaker writes it on each instance
PLAN_FILE = "plan.json"
_TEXT_VALUES_KEPT = 10 * MAX_CATEGORIES  # per shard: enough to tell "too many to encode"


def this_instance(path=RESOURCE_CONFIG):
    """(this host, every host) from the job's resource config; one host without it."""
    try:
        with open(path) as fh:
            config = json.load(fh)
    except FileNotFoundError:
        return "algo-1", ["algo-1"]
    return str(config["current_host"]), sorted(str(h) for h in config["hosts"])


def shard_files(input_dir):
    """The CSV shards this instance received, by file name (the plan's key for each)."""
    paths = sorted(glob.glob(os.path.join(input_dir, "**", "*.csv"), recursive=True))
    names = [os.path.basename(p) for p in paths]
    if len(set(names)) != len(names):
        raise BadData("Two input shards have the same file name: name each shard uniquely.")
    return dict(zip(names, paths))


def read_shard(path, text_columns=()):
    """One shard as a frame; the columns the plan treats as text are read as text."""
    try:
        return pd.read_csv(path, dtype={c: str for c in text_columns} or None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BadData(f"{os.path.basename(path)} is not a readable CSV: {exc}") from None


def _kept_target(df, target_col):
    """The target as numbers (refusing text that is not a number), as clean_dataset does."""
    if target_col not in df.columns:
        raise BadData(f"There is no column {target_col!r}. Pick the target among: "
                      f"{', '.join(map(str, df.columns))}.")
    target = df[target_col]
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        coerced = pd.to_numeric(target, errors="coerce")
        bad = target[coerced.isna() & target.notna()]
        if len(bad):
            raise BadData(f"The target {target_col!r} must be numeric for regression, but it "
                          f"holds text such as {str(bad.iloc[0])!r}. Pick a numeric target "
                          "column.")
        target = coerced
    return target


def _kind(series):
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "text" if series.notna().any() else "empty"


def profile_shard(df, target_col):
    """What the combine step needs to know of one shard (no row leaves the instance)."""
    target = _kept_target(df, target_col)
    kept = df[target.notna()]
    columns = {}
    for col in df.columns:
        if col == target_col:
            continue
        series = kept[col]
        info = {"kind": _kind(df[col]) if df[col].notna().any() else "empty",
                "values": int(series.notna().sum()), "missing": int(series.isna().sum())}
        if info["kind"] == "text":
            info["text"] = sorted(map(str, series.dropna().unique()))[:_TEXT_VALUES_KEPT + 1]
        columns[str(col)] = info
    return {"header": [str(c) for c in df.columns], "rows": len(df), "kept": len(kept),
            "columns": columns}


def plan_from_profiles(profiles, target_col, train_size, val_size, test_size, random_state):
    """The combine step after `profile`: one schema for every shard (the decisions
    clean_dataset takes on the whole table), each shard's offset among the kept rows, and
    the split sizes. `profiles`: every instance's profile output."""
    shards = {}
    for profile in profiles:
        shards.update(profile["shards"])
    if not shards:
        raise BadData("No instance received an input shard.")
    names = sorted(shards)
    header = shards[names[0]]["header"]
    for name in names:
        if shards[name]["header"] != header:
            raise BadData(f"The shards {names[0]} and {name} have different columns: every "
                          "shard must have the same header.")
    features, bools, one_hot = [], [], {}
    report = {"dropped_missing_target": sum(s["rows"] - s["kept"] for s in shards.values()),
              "one_hot": {}, "ignored": {}, "filled_with_median": {}}
    fill = []
    for col in header:
        if col == target_col:
            continue
        infos = [shards[n]["columns"][col] for n in names]
        kinds = {i["kind"] for i in infos} - {"empty"}
        if len(kinds) > 1 and "text" in kinds:
            raise BadData(f"Column {col!r} holds numbers in some shards and text in others, "
                          "so the instances would read it differently: clean the column, or "
                          "process the file with one instance.")
        if not sum(i["values"] for i in infos):
            kind = "text" if kinds == {"text"} else "numeric"
            report["ignored"][col] = ("every value is missing" if kind == "numeric" else
                                      "text with 0 distinct values (one-hot encoding takes at "
                                      f"most {MAX_CATEGORIES})")
            continue
        if kinds == {"text"}:
            values = sorted(set().union(*(i.get("text", []) for i in infos)))
            if len(values) > MAX_CATEGORIES:
                count = str(len(values)) if len(values) <= _TEXT_VALUES_KEPT else (
                    f"more than {_TEXT_VALUES_KEPT}")
                report["ignored"][col] = (f"text with {count} distinct values (one-hot "
                                          f"encoding takes at most {MAX_CATEGORIES})")
                continue
            one_hot[col] = values
            report["one_hot"][col] = values
        elif kinds == {"bool"}:
            bools.append(col)
        elif sum(i["missing"] for i in infos):
            fill.append(col)
        features.append(col)
    if not features:
        raise BadData(
            "No usable feature: the table needs at least one numeric column (or a text column "
            f"with at most {MAX_CATEGORIES} distinct values) besides the target {target_col!r}.")
    rows = sum(shards[n]["kept"] for n in names)
    if rows == 0:
        raise BadData(f"The target {target_col!r} has no values. Pick a column that holds "
                      "the numbers to predict.")
    if rows < MIN_ROWS:
        raise BadData(f"Only {rows} rows have a target value; at least {MIN_ROWS} are needed "
                      "to split.")
    columns = [target_col]
    for col in features:
        columns += [f"{col}_{v}" for v in one_hot[col]] if col in one_hot else [col]
    offsets, offset = {}, 0
    for name in names:
        offsets[name] = offset
        offset += shards[name]["kept"]
    missing = {c: sum(shards[n]["columns"][c]["missing"] for n in names) for c in fill}
    return {"target": target_col, "header": header, "features": features, "bool": bools,
            "one_hot": one_hot, "fill": fill, "missing": missing, "columns": columns,
            "rows": rows, "offsets": offsets,
            "shard_rows": {n: {"read": shards[n]["rows"], "kept": shards[n]["kept"]}
                           for n in names},
            "counts": split_counts(rows, train_size, val_size, test_size),
            "parameters": {"train_size": train_size, "val_size": val_size,
                           "test_size": test_size, "random_state": random_state},
            "cleaning": report}


def clean_with_plan(df, plan):
    """One shard cleaned by the plan's decisions: target first, bools as 0/1, the text
    columns one-hot encoded with every shard's values (missing ones are columns of 0)."""
    target_col = plan["target"]
    if [str(c) for c in df.columns] != plan["header"]:
        raise BadData("A shard's columns differ from the ones profiled: run the job again.")
    df = df.copy()
    df[target_col] = _kept_target(df, target_col)
    df = df[df[target_col].notna()].reset_index(drop=True)
    df = df[plan["features"] + [target_col]]
    for col in plan["bool"]:
        df[col] = df[col].astype("int64")
    for col, values in plan["one_hot"].items():
        categories = pd.Categorical(df[col].astype("string"), categories=values)
        dummies = pd.get_dummies(categories, prefix=col, dtype="float64")
        dummies.index = df.index
        position = df.columns.get_loc(col)
        df = pd.concat([df.iloc[:, :position], dummies, df.iloc[:, position + 1:]], axis=1)
    df = change_target_to_first_col(df, target_col)
    if list(df.columns) != plan["columns"]:
        raise BadData("A shard's prepared columns differ from the plan's: run the job again.")
    return df


def split_slots(plan):
    """The combine step's split, by shard: for each kept row, its slot in the splits laid
    end to end (train, then validation, then test), in the workshop's order (its two
    train_test_split calls, on positions 0..n-1: they shuffle the same way whatever the
    rows hold). Returns shard name -> an int64 array, one slot per kept row."""
    from sklearn.model_selection import train_test_split

    counts, seed = plan["counts"], plan["parameters"]["random_state"]
    train, rest = train_test_split(np.arange(plan["rows"]), test_size=plan["rows"] -
                                   counts["train"], train_size=counts["train"],
                                   random_state=seed)
    validation, test = train_test_split(rest, test_size=counts["test"],
                                        train_size=counts["validation"], random_state=seed)
    slots = np.empty(plan["rows"], dtype="int64")
    slots[np.concatenate([train, validation, test])] = np.arange(plan["rows"])
    return {name: slots[offset:offset + plan["shard_rows"][name]["kept"]]
            for name, offset in plan["offsets"].items()}


def slots_file(name):
    return f"{name}.slots.npy"


def shard_splits(df, slots, counts):
    """A cleaned shard's rows per split, in the split's own (workshop) order."""
    if len(slots) != len(df):
        raise BadData("A shard's rows differ from the ones profiled: run the job again.")
    out, start = {}, 0
    for split in SPLITS:
        end = start + counts[split]
        mine = np.flatnonzero((slots >= start) & (slots < end))
        mine = mine[np.argsort(slots[mine], kind="stable")]
        out[split] = df.iloc[mine].reset_index(drop=True)
        start = end
    return out


def _moments(values):
    """(count, mean, sum of squared deviations) of the values that are not missing."""
    values = values[~pd.isna(values)]
    if not len(values):
        return [0, 0.0, 0.0]
    mean = float(values.mean())
    return [int(len(values)), mean, float(((values - mean) ** 2).sum())]


def merge_moments(parts):
    """Chan's parallel formula: the moments of the union of disjoint parts, exactly (up to
    rounding), without the cancellation of summing squares."""
    count, mean, m2 = 0, 0.0, 0.0
    for n, part_mean, part_m2 in parts:
        if not n:
            continue
        total = count + n
        delta = part_mean - mean
        mean += delta * n / total
        m2 += part_m2 + delta * delta * count * n / total
        count = total
    return count, mean, m2


def statistics_of_shards(frames, plan):
    """The partial statistics of one instance's train rows: moments per column, and the
    values of the columns with missing entries (a median needs them all)."""
    train = pd.concat([f["train"] for f in frames], ignore_index=True) if frames else \
        pd.DataFrame(columns=plan["columns"])
    moments = {c: _moments(train[c].to_numpy(dtype="float64")) for c in plan["columns"]}
    values = {c: train[c].dropna().to_numpy(dtype="float64") for c in plan["fill"]}
    return {"moments": moments}, {c: np.asarray(v) for c, v in values.items()}


def scaler_from_statistics(plan, partials, values):
    """The combine step after `statistics`: the train split's medians (for missing values)
    and the StandardScaler's mean and scale over every instance's rows."""
    medians, report = {}, dict(plan["cleaning"], filled_with_median={})
    for col in plan["fill"]:
        found = np.concatenate([v[col] for v in values if col in v] or [np.array([])])
        median = float(pd.Series(found).median())
        medians[col] = median
        report["filled_with_median"][col] = {"count": int(plan["missing"][col]),
                                            "median": median}
    n_train = plan["counts"]["train"]
    means, scales = [], []
    eps = np.finfo(np.float64).eps
    for col in plan["columns"]:
        count, mean, m2 = merge_moments(p["moments"][col] for p in partials)
        if col in medians and count < n_train:  # the filled values count as rows too
            count, mean, m2 = merge_moments([(count, mean, m2),
                                             (n_train - count, medians[col], 0.0)])
        var = m2 / count if count else 0.0
        # scikit-learn's test for a constant feature (its scale is then 1, as there)
        constant = var <= count * eps * var + (count * mean * eps) ** 2
        means.append(mean)
        scales.append(1.0 if constant else float(np.sqrt(var)))
    return dict(plan, medians=medians, cleaning=report,
                scaler={"columns": list(plan["columns"]), "mean": means, "scale": scales})


def transform_frame(frame, plan):
    """Fill with the train medians, scale with the global scaler; the target unscaled."""
    target = plan["target"]
    if plan["medians"]:
        frame = frame.fillna(plan["medians"])
    scaler = plan["scaler"]
    values = frame[scaler["columns"]].to_numpy(dtype="float64")
    scaled = pd.DataFrame((values - np.asarray(scaler["mean"])) / np.asarray(scaler["scale"]),
                          columns=scaler["columns"])
    scaled[target] = frame[target].to_numpy()
    return scaled


def meta_from_plan(plan):
    """meta/prep.json of a sharded job: what the single-instance job writes."""
    return {"target": plan["target"], "columns": list(plan["columns"]),
            "features": list(plan["columns"][1:]), "rows": dict(plan["counts"]),
            "parameters": dict(plan["parameters"]), "cleaning": plan["cleaning"],
            "scaler": plan["scaler"]}


def _read_plan(folder):
    path = os.path.join(folder, PLAN_FILE)
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise BadData(f"No {PLAN_FILE} in {folder}: this phase needs the combine step's "
                      "plan.") from None


def run_phase(phase, args, host):
    """One phase on this instance's shards; what it writes is this instance's own."""
    say = lambda line: print(f"{host}: {line}", flush=True)  # noqa: E731 - many hosts, one log
    shards = shard_files(args.input_dir)
    if not shards:
        say("no input shard on this instance: nothing to do.")
        return
    say(f"{phase} of {', '.join(sorted(shards))}")
    if phase == "profile":
        out = {"host": host, "shards": {}}
        for name, path in sorted(shards.items()):
            out["shards"][name] = profile_shard(read_shard(path), args.target_col)
            say(f"Read {out['shards'][name]['rows']} rows from {name}")
        _write_json(os.path.join(args.output_dir, "profile", f"{host}.json"), out)
        return
    plan = _read_plan(args.plan)
    frames, rows = [], {}
    for name, path in sorted(shards.items()):
        slots = os.path.join(args.plan, slots_file(name))
        if name not in plan["offsets"] or not os.path.exists(slots):
            raise BadData(f"The shard {name} was not profiled: run the job again.")
        frame = clean_with_plan(read_shard(path, plan["one_hot"]), plan)
        frames.append(shard_splits(frame, np.load(slots), plan["counts"]))
        rows[name] = {s: len(part) for s, part in frames[-1].items()}
        say(f"{name}: " + ", ".join(f"{n} {s}" for s, n in rows[name].items()))
    if phase == "statistics":
        partial, values = statistics_of_shards(frames, plan)
        partial.update(host=host, rows=rows)
        _write_json(os.path.join(args.output_dir, "statistics", f"{host}.json"), partial)
        if values:
            pd.DataFrame({c: pd.Series(v) for c, v in values.items()}).to_csv(
                os.path.join(args.output_dir, "statistics", f"{host}-values.csv"), index=False)
        return
    for split in SPLITS:
        part = pd.concat([f[split] for f in frames], ignore_index=True)
        if len(part):  # an empty file is not a CSV the training channel could read
            os.makedirs(os.path.join(args.output_dir, split), exist_ok=True)
            transform_frame(part, plan).to_csv(
                os.path.join(args.output_dir, split, f"part-{host}.csv"), index=False,
                header=False)
    say("Saving data: " + ", ".join(
        f"{sum(len(f[s]) for f in frames)} {s}" for s in SPLITS))


def _write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(data, fh)


def main(argv=None):
    args = read_parameters(argv)
    if args.phase:  # one phase of a sharded job: its lines carry the instance's name
        try:
            run_phase(args.phase, args, this_instance(args.resource_config)[0])
        except (BadData, BadParameter) as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return 2
        return 0
    print("===========================================================")
    print("Starting pre-processing")
    print(f"Parameters read: {args}")
    try:
        df = read_input(args.input_dir)
        if df is None:
            print("No input shard on this instance: nothing to do.")
            return 0
        print(f"Read {len(df)} rows, {len(df.columns)} columns")
        splits, meta = prepare(df, args.target_col, args.train_size, args.val_size,
                               args.test_size, args.random_state)
    except (BadData, BadParameter) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    print("Saving data")
    write_outputs(splits, meta, args.output_dir)
    print("Ending pre-processing")
    print("===========================================================")
    return 0


if __name__ == "__main__":
    sys.exit(main())
