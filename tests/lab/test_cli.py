"""`python -m lab`: exit status, JSON on stdout, one-line errors on stderr.

The commands run in the test's own process (`tests.cli.run_cli` calls `lab.cli.main`);
one test starts a real `python -m lab` subprocess, to prove the module runs as a user
runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from lab.steps import STAGES
from lab.workspace import Workspace
from tests.cli import run_cli as lab
from tests.workspaces import REPO, snapshot


def test_the_module_runs_as_a_user_runs_it(ws):
    """The one real subprocess: `python -m lab` parses, runs and exits with main's status."""
    def python_m_lab(*args):
        return subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=300)

    proc = python_m_lab("--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m lab") and "run-all" in proc.stdout
    proc = python_m_lab("prep", "--data", "/nonexistent/file.csv", "--json",
                        "--workspace", str(ws.root))
    assert proc.returncode == 2  # main's status reaches the shell
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "No file at" in proc.stderr


def test_prep_json_has_rows_target_features_outputs_and_timing(ws):
    proc = lab("prep", "--json", ws=ws)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["prep"]["rows"] == {"train": 6000, "validation": 2000, "test": 2000}
    assert out["prep"]["target"] == "PRICE"
    assert len(out["prep"]["features"]) == 8
    for split, path in out["prep"]["outputs"].items():
        assert path.endswith(f"{split}.csv")
    assert out["timings_s"]["prep"] > 0


def test_run_all_on_the_workshop_csv(ws, house_csv):
    proc = lab("run-all", "--data", str(house_csv), "--target", "PRICE", "--json", ws=ws)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["prep"]["rows"] == {"train": 6000, "validation": 2000, "test": 2000}
    assert out["prep"]["dataset"] == "house_pricing"
    assert out["processing"]["status"] == "Completed"
    assert out["processing"]["match"] is True
    assert set(out["timings_s"]) == {"prep", "processing", "ingest", "train", "tune", "deploy",
                                     "pipeline", "drift", "gates", "gates_drifted",
                                     "monitoring", "rollout", "sharded_processing",
                                     "distributed_training", "scale", "teams"}
    assert out["drift"]["drifted"] == [] and out["gates"]["status"] == "Succeeded"
    assert out["gates"]["steps"]["TrainModel"] == "Succeeded"  # a cache hit of "pipeline"
    stopped = out["gates_drifted"]  # the same gates on a drifted copy of the data
    assert stopped["gates"]["data_quality"]["status"] == "Failed"
    assert "TrainModel" not in stopped["steps"] and stopped["registered_version"] is None
    assert out["monitoring"]["captured"] == out["monitoring"]["sent"] == 300
    assert out["rollout"]["rolled_back"] and out["rollout"]["traffic"]["lost"] == 0
    pipeline = out["pipeline"]
    assert pipeline["status"] == "Succeeded"
    assert pipeline["steps"]["RegisterModel"] == "Succeeded"
    assert pipeline["registered_version"] == 2  # run-all's own registration was version 1
    from lab.steps import progress

    assert all(progress(ws).values()), progress(ws)  # the sidebar shows every step done
    from lab.checkpoints import observe
    from lab.settings import load_settings

    settings = load_settings(workspace=ws.root)
    for stage in STAGES:  # and every stage's workspace checks hold
        unmet = [o for o in observe(settings, stage, store=False) if not o.ok]
        assert unmet == [], unmet
    assert "Starting pre-processing" in proc.stderr  # the job's log streams to stderr
    fs = out["feature_store"]
    assert fs["groups"] == {"train": "lab-train", "validation": "lab-validation",
                            "test": "lab-test"}
    assert fs["online_rows"] == {"train": 6000, "validation": 2000, "test": 2000}
    assert fs["offline_rows"] == {"train": 6000, "validation": 2000, "test": 2000}

    # the workshop's read-back returns exactly the processed rows, and any id is online
    proc = lab("features", "query", "--limit", "100000", "--json", ws=ws)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)["query"]
    processed = pd.read_csv(ws.processed_dir / "train" / "train.csv", header=None,
                            names=answer["columns"])
    back = pd.DataFrame(answer["data"], columns=answer["columns"])
    pd.testing.assert_frame_equal(back, processed, check_dtype=False)
    proc = lab("features", "get", "--group", "test", "--id", "1999", "--json", ws=ws)
    values = json.loads(proc.stdout)["record"]["values"]
    test_row = pd.read_csv(ws.processed_dir / "test" / "test.csv", header=None,
                           names=answer["columns"]).iloc[1999]
    assert [values[c] for c in answer["columns"]] == pytest.approx(list(test_row))
    training = out["training"]
    assert training["algorithm"] == "xgboost"
    assert set(training["metrics"]) == {"mse", "rmse", "r2", "mae"}
    assert training["metrics"]["mse"] < 320_000_000 / 4  # the pipeline's gate, widely
    assert training["artifact"].endswith("model.tar.gz")
    tuning = out["tuning"]
    assert tuning["trials"] == 4
    assert 6 <= tuning["best"]["hyperparameters"]["max_depth"] <= 10
    assert tuning["best"]["mse"] > 0
    assert out["registry"]["version"] == 1 and out["registry"]["approval"] == "Approved"
    endpoint = out["endpoint"]
    assert endpoint["status"] == "InService" and endpoint["url"].startswith("http://127.0.0.1:")
    assert len(endpoint["sample_predictions"]) == 5
    for predicted, actual in zip(endpoint["sample_predictions"], endpoint["sample_actual"]):
        assert abs(predicted - actual) < 0.1 * actual  # a model far better than the gate


@pytest.fixture
def prepared_ws(prepared):
    """The suite's prepared workspace, and its files before the test's command."""
    ws = Workspace(prepared.workspace)
    return ws, snapshot(ws.root)


BAD_CSVS = {
    "malformed": ("a,b\n1,2\n3,4,5,6\n", [], "not a well-formed CSV"),
    "no_numeric_feature": ("name,PRICE\n" + "".join(f"n{i},{i}\n" for i in range(60)), [],
                           "No usable feature"),
    "text_target": ("x,PRICE\n" + "".join(f"{i},cheap\n" for i in range(20)), [],
                    "must be numeric"),
    "missing_target": ("x,y\n" + "".join(f"{i},{i}\n" for i in range(20)), ["--target", "COST"],
                       "There is no column 'COST'"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSVS))
def test_bad_csv_exits_2_with_one_line_and_changes_nothing(prepared_ws, tmp_path, case):
    ws, prepared = prepared_ws
    text, extra, message = BAD_CSVS[case]
    csv = tmp_path / f"{case}.csv"
    csv.write_text(text)
    proc = lab("prep", "--data", str(csv), *extra, "--json", ws=ws)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert snapshot(ws.root) == prepared


def test_split_sizes_that_do_not_sum_to_one(prepared_ws):
    ws, prepared = prepared_ws
    proc = lab("run-all", "--train-size", "0.7", "--val-size", "0.2", "--test-size", "0.2",
               ws=ws)
    assert proc.returncode == 2
    assert "must sum to 1" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert snapshot(ws.root) == prepared


def test_train_and_tune_commands(ws):
    assert lab("prep", ws=ws).returncode == 0
    proc = lab("train", ws=ws)
    assert proc.returncode == 2 and "ingest" in proc.stderr.lower()
    assert lab("features", "ingest", ws=ws).returncode == 0
    proc = lab("train", "--algorithm", "random_forest", "--hp", "max_depth=4",
               "--hp", "n_estimators=10", "--json", ws=ws)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["training"]["hyperparameters"]["max_depth"] == 4
    proc = lab("tune", "--range", "max_depth=3:4", "--max-jobs", "2", "--max-parallel-jobs",
               "2", "--json", ws=ws)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tuning"]["trials"] == 2


@pytest.mark.parametrize("args, message", [
    (["train", "--hp", "max_depth=-3"], "max_depth"),
    (["train", "--algorithm", "lightgbm"], "lightgbm"),
    (["tune", "--range", "max_depth=10:6"], "max_depth"),
    (["tune", "--max-jobs", "2", "--max-parallel-jobs", "3"], "max_parallel_jobs"),
])
def test_invalid_training_parameters_exit_2_before_anything_runs(ws, args, message):
    proc = lab(*args, ws=ws)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (ws.root / "jobs").exists() or not any((ws.root / "jobs").iterdir())


def test_pipeline_commands_cache_and_condition(ws):
    assert lab("prep", ws=ws).returncode == 0
    first = lab("pipeline", "run", "--param", "MaxDepth=3", "--json", ws=ws)
    assert first.returncode == 0, first.stderr
    first = json.loads(first.stdout)
    assert first["status"] == "Succeeded" and first["cache_hits"] == 0
    second = json.loads(lab("pipeline", "run", "--param", "MaxDepth=3", "--json", ws=ws).stdout)
    assert second["cache_hits"] == 3
    low = json.loads(lab("pipeline", "run", "--param", "MaxDepth=3", "--param",
                         "MseThreshold=1", "--json", ws=ws).stdout)
    assert low["status"] == "Succeeded"
    assert "RegisterModel" not in low["summary"]["steps"]
    assert low["summary"]["registered_version"] is None
    listed = json.loads(lab("pipeline", "list", "--json", ws=ws).stdout)["executions"]
    assert len(listed) == 3
    proc = lab("pipeline", "run", "--param", "Bogus=1", ws=ws)
    assert proc.returncode == 2 and "no parameter 'Bogus'" in proc.stderr


def test_pipeline_definition_for_sagemaker_is_generated_offline(tmp_path, monkeypatch):
    import os

    isolation = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED")
    for name in [n for n in os.environ if n.startswith("AWS_") and n not in isolation]:
        monkeypatch.delenv(name)  # no credentials, no region (tests/conftest.py: no ~/.aws)
    for name in ("SAGEMAKER_SUPPRESS_V2_WARNING", "SAGEMAKER_USER_CONFIG_OVERRIDE"):
        monkeypatch.setenv(name, "")  # recorded: the SDK opt-outs the lab sets end with the test
        monkeypatch.delenv(name)
    proc = lab("pipeline", "definition", "--backend", "sagemaker", "--json", ws=tmp_path)
    assert proc.returncode == 0, proc.stderr
    definition = json.loads(proc.stdout)["definition"]
    assert [s["Type"] for s in definition["Steps"]] == ["Processing", "Condition"]


def test_feature_store_commands_explain_what_is_missing(ws):
    proc = lab("features", "ingest", ws=ws)
    assert proc.returncode == 2 and "no prepared data yet" in proc.stderr
    assert lab("prep", ws=ws).returncode == 0
    assert lab("features", "ingest", ws=ws).returncode == 0
    proc = lab("features", "get", "--id", "123456", ws=ws)
    assert proc.returncode == 2 and "no record with id" in proc.stderr
    proc = lab("features", "query", "--sql", "DROP TABLE x", ws=ws)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_missing_file_and_unknown_backend(ws):
    proc = lab("prep", "--data", "/nonexistent/file.csv", ws=ws)
    assert proc.returncode == 2 and "No file at" in proc.stderr
    proc = lab("prep", "--backend", "azure", ws=ws)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_an_unknown_backend_is_argparses_usage_error(ws):
    """`python -m lab prep --backend azure`: exit 2 with argparse's message, nothing run."""
    proc = lab("prep", "--backend", "azure", ws=ws)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("usage: python -m lab prep")
    [error] = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert error.startswith("python -m lab prep: error: argument --backend: invalid choice: "
                            "'azure'")
    assert "local" in error and "sagemaker" in error  # the choices argparse offers
    assert not ws.root.exists() or not any(ws.root.iterdir())


def test_bench_json_reports_median_and_p99(tmp_path):
    proc = lab("bench", "--only", "in-process", "--runs", "2", "--json", ws=tmp_path)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)["figures"]
    assert [f["name"] for f in figures] == ["prep in-process (10,000 rows)"]
    fig = figures[0]
    assert fig["runs"] == 2 and fig["unit"] == "s"
    assert 0 < fig["median"] <= fig["p99"]
    assert "budget" in fig
    assert list(tmp_path.iterdir()) == []  # measured in a scratch workspace, not saved

    proc = lab("bench", "--only", "in-process", "--runs", "1", "--save", ws=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")] == [
        "bench", "bench/latest.json"]  # the result only: no data, jobs or models
