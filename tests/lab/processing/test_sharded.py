"""A processing job on several local instances: N worker processes, one scaler for all.

What these add to test_processing.py: the instance count is real (three worker processes,
each with its own shard), the splits and the scaling are the one-instance job's, the text
values and missing values of every shard are taken into account (one-hot columns and train
medians decided for the whole table), no output file can be written by two instances, and
`python -m lab process --instance-count N --json` reports each instance and the parts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab import jobs
from lab.dataset import generate_housing
from lab.errors import JobError
from lab.processing import PrepParams, load_prepared, processing_job, read_meta, use_dataset
from lab.processing._sharded import merge_outputs
from lab.settings import Settings
from lab.workspace import Workspace
from tests.cli import run_cli
from tests.workspaces import snapshot


def awkward_houses(rows: int = 600) -> pd.DataFrame:
    """Housing rows with what a per-shard preparation would get wrong: a text column whose
    third value appears only in the last third of the rows (the last shard), and missing
    values (filled with the train median of the whole table)."""
    frame = generate_housing(rows=rows, seed=11)
    rng = np.random.default_rng(11)
    style = rng.choice(["colonial", "ranch"], rows).astype(object)
    style[2 * rows // 3:][rng.random(rows - 2 * rows // 3) < 0.5] = "modern"
    frame.insert(3, "STYLE", style)
    frame.loc[rng.random(rows) < 0.05, "SQUARE_FEET"] = np.nan
    return frame


def process(tmp_path, instances: int) -> dict:
    """`python -m lab process --instance-count N --json` on the awkward data (adopted from
    a CSV, as a learner's file is): the job's JSON."""
    data = tmp_path / "awkward.csv"
    if not data.exists():
        awkward_houses().to_csv(data, index=False)
    done = run_cli("process", "--data", data, "--random-state", "5", "--instance-count",
                   instances, "--json", ws=tmp_path / "ws")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["processing"]


def test_one_and_three_local_instances_give_the_same_splits_scaled_globally(tmp_path):
    one, three = process(tmp_path, 1), process(tmp_path, 3)

    assert one["rows"] == three["rows"] == {"train": 360, "validation": 120, "test": 120}
    # Each instance wrote its own part of each split (headerless, the target first), and
    # both jobs hold the rows (and the numbers) of the in-process preparation.
    out = Path(three["output_dir"])
    for split in ("train", "validation", "test"):
        assert three["parts"][split] == [f"part-algo-{i}.csv" for i in (1, 2, 3)]
        assert sorted(p.name for p in (out / split).iterdir()) == three["parts"][split]
        first = pd.read_csv(out / split / "part-algo-1.csv", header=None, nrows=1)
        assert first.dtypes.map(pd.api.types.is_numeric_dtype).all()  # no header row
    assert one["match"] and three["match"], three["comparison"]
    hosts = three["instances"]
    assert [h["host"] for h in hosts] == ["algo-1", "algo-2", "algo-3"]
    assert [len(h["shards"]) for h in hosts] == [1, 1, 1]
    assert sum(h["rows"] for h in hosts) == 600
    assert sum(h["train"] for h in hosts) == 360
    assert three["statistics"]["train_rows"] == 360
    # The global scaler: every scaled train column over all parts has mean 0 and std 1.
    meta = read_meta(out)
    assert meta["columns"][0] == "PRICE" and set(three["statistics"]["columns"]) == set(
        meta["features"])
    assert "STYLE_modern" in meta["columns"]  # a value only the last shard holds
    assert meta["cleaning"]["filled_with_median"]["SQUARE_FEET"]["count"] > 0
    train = load_prepared(out)["train"]
    for column in meta["features"]:
        values = train[column].to_numpy(float)
        assert abs(values.mean()) < 1e-6, column
        assert abs(values.std() - 1) < 1e-3, column
    assert train["PRICE"].equals(train["PRICE"].round())  # the target is not scaled


def test_a_column_read_differently_by_two_shards_is_refused_with_what_to_do(tmp_path):
    settings = Settings(workspace=tmp_path / "ws")
    frame = generate_housing(rows=200, seed=2)
    frame["ZIP"] = ["12345"] * 100 + ["AB-1"] * 100  # numbers in shard 1, text in shard 2
    use_dataset(Workspace(settings.workspace), frame, "zips", "PRICE", "upload")
    before = snapshot(Workspace(settings.workspace).processed_dir)

    job = jobs.run(settings, processing_job(settings, PrepParams(), 2))

    assert job.status == jobs.FAILED
    assert "'ZIP' holds numbers in some shards and text in others" in job.error
    assert "process the file with one instance" in job.error
    assert snapshot(Workspace(settings.workspace).processed_dir) == before


def test_a_file_written_by_two_instances_fails_the_merge(tmp_path):
    """What SageMaker would do silently (the last upload wins) is an error here."""
    for host in ("algo-1", "algo-2"):
        (tmp_path / host / "train").mkdir(parents=True)
        (tmp_path / host / "train" / "train.csv").write_text(f"{host}\n")

    with pytest.raises(JobError, match="algo-1 and algo-2 both wrote train/train.csv"):
        merge_outputs({h: tmp_path / h for h in ("algo-1", "algo-2")}, tmp_path / "out")
