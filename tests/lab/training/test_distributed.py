"""XGBoost trained by several local workers with xgboost's own tracker (real processes).

What these add: the instance count of a training job is real (N worker processes, each on
its own shards, joined by the tracker the entry point starts on the first host), the model
matches the one-worker model, each worker's share is reported, a worker that fails stops
the others instead of leaving them waiting, and the forest is refused on several instances.
"""

from __future__ import annotations

import json

import pytest

from lab import jobs
from lab.errors import JobError, ParameterError
from lab.training import build_request, open_training, training_job
from lab.workspace import Workspace
from tests.cli import run_cli
from tests.workspaces import FAST_XGB


def test_two_local_workers_train_on_all_rows_and_match_one_worker(small):
    """`python -m lab train --instance-count 2 --json`, beside the one-worker job."""
    one = jobs.run(small, training_job(small, "xgboost", FAST_XGB))
    done = run_cli("train", *[a for k, v in FAST_XGB.items() for a in ("--hp", f"{k}={v}")],
                   "--instance-count", "2", "--json", ws=small)

    assert one.status == jobs.COMPLETED and done.returncode == 0, done.stderr
    two = json.loads(done.stdout)["training"]
    workers = two["workers"]
    assert [w["host"] for w in workers] == ["algo-1", "algo-2"]
    assert sum(w["train_rows"] for w in workers) == two["rows"]["train"] == 360
    assert sum(w["validation_rows"] for w in workers) == two["rows"]["validation"]
    assert all(w["train_rows"] == 180 for w in workers)  # each its own half
    mse_one, mse_two = one.result["metrics"]["mse"], two["metrics"]["mse"]
    assert abs(mse_two - mse_one) <= 0.1 * mse_one
    log = jobs.JobStore(Workspace(small.workspace)).log(two["run_id"])
    assert "algo-1: Tracker: 2 workers" in log and "algo-2: Training xgboost" in log
    assert "algo-2: 180 train rows" in done.stderr  # each worker's share, said by the CLI


def test_a_failing_worker_stops_the_other_instead_of_leaving_it_waiting(small, tmp_path):
    """algo-2's shard is unreadable: it fails before joining the tracker, and algo-1, which
    would wait for it forever, is stopped."""
    channels = {}
    for split in ("train", "validation"):
        folder = tmp_path / split
        folder.mkdir()
        (folder / "a.csv").write_text("PRICE,SIZE\n1,2\n3,4\n5,6\n")
        (folder / "b.csv").write_text("PRICE,SIZE\n1,two\n3,4\n")  # a value that is text
        channels[split] = folder
    store = jobs.JobStore(Workspace(small.workspace))
    ctx = jobs.JobContext(store, store.create("training", {}))
    request = build_request("xgboost", FAST_XGB, instance_count=2)

    with pytest.raises(JobError, match="failed on algo-2") as caught:
        open_training(small).train(ctx, request, channels, ctx.dir / "model",
                                   lambda metrics: metrics)
    assert "'two'" in str(caught.value) and "algo-1 stopped" in str(caught.value)
    assert not any((ctx.dir / "model").glob("*"))  # no model from a failed run


def test_the_forest_trains_on_one_instance_only():
    with pytest.raises(ParameterError, match="no distributed training"):
        build_request("random_forest", {}, instance_count=2)
    with pytest.raises(ParameterError, match="instance count must be between 1 and 8"):
        build_request("xgboost", {}, instance_count=9)


def test_the_entry_point_knows_its_cluster_from_the_training_environment():
    from lab.training.entry_point import TRACKER_PORT, Cluster

    assert Cluster.from_env({"SM_HOSTS": json.dumps(["algo-1"])}) is None
    cluster = Cluster.from_env({"SM_HOSTS": json.dumps(["algo-2", "algo-1"]),
                                "SM_CURRENT_HOST": "algo-2"})
    assert (cluster.hosts, cluster.rank, cluster.uri, cluster.port) == (
        ["algo-1", "algo-2"], 1, "algo-1", TRACKER_PORT)  # the tracker on the first host
