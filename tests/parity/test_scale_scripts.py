"""The Scalable stage's scripts in the containers' libraries, on several instances.

What these add to test_container_scripts.py: the sharded processing phases run in the
scikit-learn 1.2-1 environment (pandas and numpy of the image's time) under the lab's own
combine step, and XGBoost trains on two hosts in the XGBoost 1.7-1 environment with
xgboost 1.7's tracker and collective API (the images' own), started by the entry point.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pandas as pd
import pytest

from lab import jobs
from lab.dataset import DatasetInfo
from lab.processing import PrepParams, ProcessingRequest, compare_outputs, preprocess
from lab.processing._sharded import hosts as host_names
from lab.processing._sharded import merge_outputs, run_sharded, sharded_by_s3_key
from lab.training import load_model
from lab.workspace import Workspace
from tests.parity import containers
from tests.parity.fixtures import ENTRY_POINT, INFERENCE, PREPROCESS, PROC, SMALL

pytestmark = pytest.mark.xdist_group("parity")


def test_the_sharded_phases_run_in_the_scikit_learn_image(parity, container_artifacts,
                                                          tmp_path):
    env = parity["sklearn-1.2-1"]

    def run_phase(ctx, request, phase, shards, plan, into):
        """One phase on each instance, as the processing container runs it."""
        instances = host_names(len(shards))
        dealt = sharded_by_s3_key([p.name for p in shards], instances)
        outputs = {}
        for host in instances:
            root = tmp_path / phase / host
            data = tmp_path / "dealt" / phase / host
            data.mkdir(parents=True)
            for name in dealt[host]:
                shutil.copy(next(p for p in shards if p.name == name), data / name)
            inputs = {f"{PROC}/input/data": data, **({f"{PROC}/input/plan": plan} if plan
                                                      else {})}
            config = containers.opt_ml(root) / "config" / "resourceconfig.json"
            config.parent.mkdir(parents=True)
            config.write_text(json.dumps({"current_host": host, "hosts": instances}))
            ml = containers.opt_ml(root) / "processing"
            containers.run_processing(env, PREPROCESS, root, inputs, [
                *request.params.script_arguments("PRICE"), "--phase", phase,
                "--input-dir", str(ml / "input" / "data"), "--plan", str(ml / "input" / "plan"),
                "--output-dir", str(ml / "output"), "--resource-config", str(config)])
            outputs[host] = ml / "output"
        merge_outputs(outputs, into)

    data = container_artifacts.data
    rows = len(pd.read_csv(data))
    request = ProcessingRequest(DatasetInfo("houses", "PRICE", rows, [], "file"), PrepParams(),
                                instance_count=2)
    ws = Workspace(tmp_path / "ws")
    store = jobs.JobStore(ws)
    ctx = jobs.JobContext(store, store.create("processing", {}))

    report = run_sharded(ctx, request, data, tmp_path / "out", run_phase)

    assert [i["host"] for i in report["instances"]] == ["algo-1", "algo-2"]
    assert report["check"]["max_abs_mean"] < 1e-6
    assert report["check"]["max_abs_std_error"] < 1e-3
    expected = tmp_path / "expected"  # the lab's own single pass on the whole file
    preprocess.write_outputs(*preprocess.prepare(pd.read_csv(data), "PRICE",
                                                 log=lambda line: None), str(expected))
    comparison = compare_outputs(expected, tmp_path / "out", ordered=False)
    assert comparison.match, comparison.details


def test_xgboost_trains_on_two_hosts_in_the_xgboost_image(parity, container_artifacts,
                                                          tmp_path):
    env = parity["xgboost-1.7-1"]
    processed = container_artifacts.processed
    shards = tmp_path / "shards"
    channels: dict[str, dict[str, Path]] = {"algo-1": {}, "algo-2": {}}
    for split in ("train", "validation"):
        frame = pd.read_csv(processed / split / f"{split}.csv", header=None)
        half = len(frame) // 2
        for host, part in (("algo-1", frame.iloc[:half]), ("algo-2", frame.iloc[half:])):
            folder = shards / host / split
            folder.mkdir(parents=True)
            part.to_csv(folder / f"{split}-{host}.csv", header=False, index=False)
            channels[host][split] = folder
    for host in channels:
        channels[host]["meta"] = processed / "meta"
    hps = {"algorithm": '"xgboost"', "sagemaker_program": '"entry_point.py"',
           "sagemaker_submit_directory": '"s3://bucket/sourcedir.tar.gz"',
           **{k: v for k, v in SMALL["xgboost"].items()}}
    source = containers.sourcedir([ENTRY_POINT, INFERENCE], tmp_path / "sourcedir.tar.gz")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    done = containers.run_training_cluster(env, source, "entry_point.py", hps, channels,
                                           tmp_path / "cluster", port)

    for host, (proc, _) in done.items():
        assert proc.returncode == 0, f"{host}:\n{proc.stdout}"
    first, second = done["algo-1"][1], done["algo-2"][1]
    assert not any(second.iterdir())  # only the first host writes the model
    training = json.loads((first / "training.json").read_text())
    rows = len(pd.read_csv(processed / "train" / "train.csv", header=None))
    assert [w["host"] for w in training["workers"]] == ["algo-1", "algo-2"]
    assert sum(w["train_rows"] for w in training["workers"]) == rows
    model = load_model(first)  # 1.7's model file, read by the lab's newer xgboost
    assert model.metadata["library"]["version"] == env.versions["xgboost"] == "1.7.4"
    test = pd.read_csv(processed / "test" / "test.csv", header=None)
    single = load_model(container_artifacts.models["xgboost"])
    mse = {name: float(((m.predict(test.iloc[:, 1:].to_numpy(float)) - test[0]) ** 2).mean())
           for name, m in (("two", model), ("one", single))}
    assert abs(mse["two"] - mse["one"]) <= 0.1 * mse["one"]
