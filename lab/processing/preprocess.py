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


def split_dataset(df, train_size, val_size, test_size, random_state=None, log=print):
    """The workshop's split: train vs rest, then the rest into validation and test."""
    from sklearn.model_selection import train_test_split

    check_sizes(train_size, val_size, test_size)
    # Row counts, not fractions, go to sklearn: 1 - 0.7 is 0.30000000000000004, which made
    # sklearn refuse the sizes or move a row between splits. Counts are rounded the way
    # sklearn rounds fractions (test up), minus float noise, so the workshop's 60/20/20
    # gives the very same rows.
    n_rest = math.ceil((1 - train_size) * len(df) - 1e-9)
    n_test = math.ceil(test_size / (1 - train_size) * n_rest - 1e-9)
    counts = {"train": len(df) - n_rest, "validation": n_rest - n_test, "test": n_test}
    empty = [name for name, count in counts.items() if count < 1]
    if empty:
        raise BadParameter(f"With {len(df)} rows these sizes leave the {empty[0]} split "
                           "empty: make it larger, or use more rows.")
    df_train, df_rest = train_test_split(
        df, test_size=n_rest, train_size=counts["train"], random_state=random_state
    )
    df_val, df_test = train_test_split(
        df_rest, test_size=n_test, train_size=counts["validation"], random_state=random_state
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


def main(argv=None):
    print("===========================================================")
    print("Starting pre-processing")
    args = read_parameters(argv)
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
