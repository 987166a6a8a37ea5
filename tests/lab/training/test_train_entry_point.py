"""The entry point is a self-contained SageMaker script-mode program."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.dataset import generate_housing
from lab.training import entry_point
from lab.training._local import CURVE, ENTRY_POINT, extract_metrics

ALLOWED = {"argparse", "contextlib", "glob", "json", "os", "platform", "socket", "sys", "time",
           "traceback", "numpy",
           "pandas", "sklearn", "xgboost", "joblib", "__future__",
           "sagemaker"}  # only where a container has the SDK (experiment logging)


def test_imports_nothing_but_the_containers_libraries():
    tree = ast.parse(ENTRY_POINT.read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree)
               if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert modules <= ALLOWED, modules - ALLOWED


@pytest.fixture
def channels(tmp_path):
    frame = generate_housing(rows=300, seed=5)
    frame = frame[["PRICE"] + [c for c in frame.columns if c != "PRICE"]]
    paths = {}
    for name, part in (("train", frame.iloc[:200]), ("validation", frame.iloc[200:])):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True)
        part.to_csv(folder / f"{name}.csv", index=False)
        paths[name] = folder
    return paths


def run_script(channels, model_dir, *args, cwd):
    """The script by path, from another folder, without the lab on the path: as SageMaker."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(SM_CHANNEL_TRAIN=str(channels["train"]),
               SM_CHANNEL_VALIDATION=str(channels["validation"]), SM_MODEL_DIR=str(model_dir))
    return subprocess.run([sys.executable, str(ENTRY_POINT), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("algorithm, model_file, steps", [
    ("xgboost", "xgboost-model.json", 15), ("random_forest", "model.joblib", 6)])
def test_trains_from_channels_and_writes_the_model_folder(channels, tmp_path, algorithm,
                                                          model_file, steps):
    model_dir = tmp_path / "model"
    proc = run_script(channels, model_dir, "--algorithm", algorithm, "--max_depth", "3",
                      "--n_estimators", str(steps), "--unknown_sagemaker_arg", "x",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    metrics = extract_metrics(lines)
    assert set(metrics) == {"mse", "r2"} and metrics["mse"] > 0 and metrics["r2"] <= 1
    curve = [CURVE.match(line) for line in lines if CURVE.match(line)]
    assert [int(m.group(1)) for m in curve] == list(range(1, steps + 1))
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(
        [model_file, "model.json", "training.json"])
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["algorithm"] == algorithm and meta["model_file"] == model_file
    assert meta["target"] == "PRICE" and len(meta["features"]) == 8
    assert meta["hyperparameters"]["max_depth"] == 3
    assert meta["hyperparameters"]["n_estimators"] == steps
    assert meta["metrics"]["validation"]["mse"] == pytest.approx(metrics["mse"])
    training = json.loads((model_dir / "training.json").read_text())
    assert training["curve"]["step"] == list(range(1, steps + 1))
    last = float(curve[-1].group(3))
    assert training["curve"]["validation-rmse"][-1] == pytest.approx(last, rel=1e-6)
    assert set(training["feature_importance"]) == set(meta["features"])


def test_bad_input_exits_with_an_error_line(channels, tmp_path):
    (channels["validation"] / "validation.csv").unlink()
    proc = run_script(channels, tmp_path / "model", cwd=tmp_path)
    assert proc.returncode == 1
    assert "ERROR: No CSV file in the validation channel" in proc.stdout
    assert not (tmp_path / "model").exists()


def test_a_library_error_keeps_its_trace_and_names_the_error(channels, tmp_path):
    path = channels["train"] / "train.csv"
    lines = path.read_text().splitlines()
    lines[1] = ",".join(["oops"] + lines[1].split(",")[1:])  # a text value in a number column
    path.write_text("\n".join(lines) + "\n")
    proc = run_script(channels, tmp_path / "model", cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" in proc.stdout and "\nERROR: " in proc.stdout


@pytest.mark.parametrize("line, expected", [
    ("MSE: 44212345.678", {"mse": 44212345.678}),
    ("MSE: 3.4e+08", {"mse": 3.4e8}),
    ("r-squared: -0.25", {"r2": -0.25}),
    ("noise MSE: 1.5 more", {"mse": 1.5}),
])
def test_metric_definitions_read_the_workshops_lines(line, expected):
    assert extract_metrics([line]) == expected


def test_the_last_value_wins_as_on_sagemaker():
    assert extract_metrics(["MSE: 3", "MSE: 2"]) == {"mse": 2.0}


def test_regression_metrics():
    scores = entry_point.regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert scores["mse"] == pytest.approx(4 / 3) and scores["mae"] == pytest.approx(2 / 3)
    assert scores["rmse"] == pytest.approx((4 / 3) ** 0.5)
    assert scores["r2"] == pytest.approx(1 - 4 / 2)


def test_module_docstring_states_the_contract():
    assert "SM_CHANNEL_TRAIN" in entry_point.__doc__ and "MSE: x" in entry_point.__doc__
    assert Path(entry_point.__file__).resolve() == ENTRY_POINT
