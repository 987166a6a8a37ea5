"""The local training job: feature store in, recorded run and artifact out."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from lab import jobs
from lab.errors import InputError, ParameterError
from lab.settings import Settings
from lab.training import (
    Experiments,
    load_model,
    read_training_data,
    result_json,
    training_job,
)
from lab.training import _local as local_engine
from lab.workspace import Workspace
from tests.lab.training.train_helpers import FAILING_SCRIPT
from tests.workspaces import FAST_FOREST, FAST_XGB, wait_for_job


@pytest.mark.parametrize("algorithm, params", [("xgboost", FAST_XGB),
                                                ("random_forest", FAST_FOREST)])
def test_a_training_job_records_a_complete_run(small, algorithm, params):
    ws = Workspace(small.workspace)
    job = jobs.run(small, training_job(small, algorithm, params))

    assert job.status == jobs.COMPLETED, job.error
    result = job.result
    assert result["algorithm"] == algorithm and result["run_id"] == job.job_id
    assert set(result["metrics"]) == {"mse", "rmse", "r2", "mae"}
    assert result["rows"] == {"train": 360, "validation": 120, "test": 120}
    assert result["hyperparameters"]["max_depth"] == params["max_depth"]
    run = Experiments(ws).get(job.job_id)
    assert run.status == "Completed" and run.experiment == "synthetic-housing-regression"
    assert run.params == result["hyperparameters"] and run.metrics == result["metrics"]
    assert run.metrics["rmse"] == pytest.approx(run.metrics["mse"] ** 0.5)
    assert set(run.validation) == {"mse", "r2"}
    assert run.curve["step"] == list(range(1, params["n_estimators"] + 1))
    assert len(run.curve["validation-rmse"]) == params["n_estimators"]
    assert len(run.importance) == 8 and run.tuning_job is None
    log = jobs.JobStore(ws).log(job.job_id)
    assert f"MSE: {run.validation['mse']}" in log or "MSE: " in log
    assert "$ python entry_point.py --algorithm " + algorithm in log
    # channels and model folder in SageMaker's layout, under the job folder
    job_dir = ws.path("jobs", job.job_id)
    assert (job_dir / "input" / "data" / "train" / "train.csv").is_file()
    assert (job_dir / "input" / "data" / "validation" / "validation.csv").is_file()
    assert Path(run.artifact) == job_dir / "model.tar.gz"
    # the test predictions give the recorded test metrics back
    predictions = run.predictions_data()
    errors = np.subtract(predictions["actual"], predictions["predicted"])
    assert len(errors) == 120
    assert float(np.mean(errors ** 2)) == pytest.approx(run.metrics["mse"])
    assert result_json(run)["metrics"] == result["metrics"]


def test_training_reads_the_feature_store_not_the_prepared_files(small):
    """The channels hold exactly what the offline store returns for the workshop query."""
    data = read_training_data(small)
    job = jobs.run(small, training_job(small, "xgboost", FAST_XGB))
    written = Path(Workspace(small.workspace).path("jobs", job.job_id, "input", "data", "train",
                                                   "train.csv")).read_text()
    assert written == data.frames["train"].to_csv(index=False)
    assert data.target == "PRICE" and data.features[0] == "YEAR_BUILT"
    assert 'FROM "lab-train"' in data.queries["train"] and "rn = 1" in data.queries["train"]


def test_a_second_ingest_does_not_double_the_training_rows(small):
    from lab.featurestore import ingest_prepared

    ingest_prepared(small)
    assert read_training_data(small).rows == {"train": 360, "validation": 120, "test": 120}


def test_without_ingested_data_nothing_runs(tmp_path):
    settings = Settings(workspace=tmp_path / "empty")
    with pytest.raises(InputError, match="ingest the prepared data on the Feature Store page"):
        jobs.start(settings, training_job(settings))
    assert not (tmp_path / "empty").exists()


@pytest.mark.parametrize("params, message", [({"max_depth": -3}, "max_depth must be between"),
                                             ({"n_estimators": 0}, "n_estimators must be")])
def test_invalid_hyperparameters_run_nothing(small, params, message):
    ws = Workspace(small.workspace)
    with pytest.raises(ParameterError, match=message):
        jobs.start(small, training_job(small, "xgboost", params))
    with pytest.raises(ParameterError, match="Unknown algorithm"):
        jobs.run(small, training_job(small, "catboost"))
    assert not ws.jobs_dir.exists() and Experiments(ws).list() == []


def test_a_failing_training_script_is_recorded_failed_with_its_log(small, tmp_path,
                                                                   monkeypatch):
    script = tmp_path / "failing.py"
    script.write_text(FAILING_SCRIPT)
    monkeypatch.setattr(local_engine, "ENTRY_POINT", script)
    ws = Workspace(small.workspace)

    job = jobs.run(small, training_job(small, "xgboost", FAST_XGB))

    assert job.status == jobs.FAILED
    assert "out of memory while growing tree 3 (simulated)" in job.error
    run = Experiments(ws).get(job.job_id)
    assert run.status == "Failed" and "out of memory" in run.failure
    assert "ERROR: out of memory" in run.log and "train: 360 rows" in run.log
    assert run.artifact is None and run.ended is not None


def test_a_background_job_can_be_stopped(small, monkeypatch, tmp_path):
    script = tmp_path / "slow.py"
    script.write_text("import time\nprint('train: 1 rows', flush=True)\ntime.sleep(60)\n")
    monkeypatch.setattr(local_engine, "ENTRY_POINT", script)
    ws = Workspace(small.workspace)
    job_id = jobs.start(small, training_job(small, "xgboost", FAST_XGB))
    store = jobs.JobStore(ws)
    for _ in range(300):
        if "train: 1 rows" in store.log(job_id):
            break
        import time

        time.sleep(0.05)
    store.request_cancel(job_id)

    job = wait_for_job(ws, job_id, timeout=30)

    assert job.status == jobs.STOPPED
    assert Experiments(ws).get(job_id).status == "Stopped"


def test_the_artifact_follows_the_contract_and_loads_without_the_workspace(small, tmp_path):
    import shutil

    job = jobs.run(small, training_job(small, "random_forest", FAST_FOREST))
    run = Experiments(Workspace(small.workspace)).get(job.job_id)
    with tarfile.open(run.artifact) as tar:
        names = sorted(tar.getnames())
    assert names == ["model.joblib", "model.json", "training.json"]
    predictions = run.predictions_data()
    test_rows = read_training_data(small).test_features()
    elsewhere = tmp_path / "copy" / "model.tar.gz"
    elsewhere.parent.mkdir()
    shutil.copyfile(run.artifact, elsewhere)
    shutil.rmtree(small.workspace)  # loading must not need the lab's workspace

    model = load_model(elsewhere)

    meta = model.metadata
    assert model.algorithm == "random_forest" and meta["target"] == "PRICE"
    assert model.features == meta["features"] and len(model.features) == 8
    assert meta["hyperparameters"]["n_estimators"] == FAST_FOREST["n_estimators"]
    assert meta["metrics"]["test"] == run.metrics
    assert meta["metrics"]["validation"] == run.validation
    assert set(meta["preprocessing"]["scaler"]) >= {"columns", "mean", "scale"}
    assert json.dumps(meta)  # plain JSON
    assert model.predict(test_rows) == pytest.approx(predictions["predicted"])
    rows = np.zeros((3, 8))
    assert model.predict(rows).shape == (3,)
    assert model.predict(rows[0]).shape == (1,)
    with pytest.raises(InputError, match="Each row needs 8 values"):
        model.predict([[1.0, 2.0]])
    assert len(predictions["predicted"]) == 120


def test_a_broken_artifact_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"not a tar")
    with pytest.raises(InputError, match="not a readable model.tar.gz"):
        load_model(bad)
    with pytest.raises(InputError, match="no model artifact"):
        load_model(tmp_path / "missing.tar.gz")


def test_channels_are_written_as_pandas_would_and_read_back_the_same(tmp_path):
    import pandas as pd

    from lab.training.data import write_csv

    frame = pd.DataFrame({"PRICE": [100, 200, 300], "a,b": [1e-05, -0.0, 1 / 3],
                          "c": [1.5e20, float("nan"), 2.0]})
    write_csv(frame, tmp_path / "f.csv")
    text = (tmp_path / "f.csv").read_text()
    assert text.splitlines()[0] == 'PRICE,"a,b",c'  # the header quoted where needed
    back = pd.read_csv(tmp_path / "f.csv")
    pd.testing.assert_frame_equal(back, frame)  # every value (and dtype) read back exact
    write_csv(frame.iloc[:0], tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_text() == 'PRICE,"a,b",c\n'
