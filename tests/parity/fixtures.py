"""Fixtures over the parity environments, for any test folder (import them by name).

    parity               {"sklearn-1.2-1": ParityEnv, "xgboost-1.7-1": ParityEnv}, built once
    container_artifacts  the workshop's steps run in the containers' libraries, once per
                         process: the processing outputs, a model.tar.gz per algorithm
                         trained in its own image's environment, and the serving
                         sourcedir.tar.gz (inference.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.parity import containers
from tests.parity.envs import CONTAINERS, FOR_ALGORITHM, ParityEnv, build

LAB = Path(__file__).resolve().parents[2] / "lab"
PREPROCESS = LAB / "processing" / "preprocess.py"
ENTRY_POINT = LAB / "training" / "entry_point.py"
INFERENCE = LAB / "training" / "inference.py"
EVALUATE = LAB / "pipelines" / "evaluate.py"
PROC = "/opt/ml/processing"
SMALL = {"xgboost": {"max_depth": "3", "n_estimators": "20"},
         "random_forest": {"max_depth": "4", "n_estimators": "10"}}


@pytest.fixture(scope="session")
def parity() -> dict[str, ParityEnv]:
    """Both environments, built side by side (each waits on its own lock) when missing."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(CONTAINERS)) as pool:
        return dict(zip(CONTAINERS, pool.map(build, CONTAINERS)))


@dataclass
class Artifacts:
    data: Path  # the raw CSV
    processed: Path  # train/, validation/, test/, meta/ as the processing job wrote them
    models: dict[str, Path]  # algorithm -> model.tar.gz
    serving: Path  # sourcedir.tar.gz with inference.py
    logs: dict[str, str]

    def env_for(self, parity: dict[str, ParityEnv], algorithm: str) -> ParityEnv:
        return parity[FOR_ALGORITHM[algorithm]]


def process(env: ParityEnv, data: Path, root: Path, target: str = "PRICE") -> Path:
    """The workshop's processing job on `data`; the output folder."""
    ml = containers.opt_ml(root)
    containers.run_processing(env, PREPROCESS, root, {f"{PROC}/input": data}, [
        "--train_size", "0.6", "--val_size", "0.2", "--test_size", "0.2",
        "--target_col", target, "--input-dir", str(ml / "processing" / "input"),
        "--output-dir", str(ml / "processing" / "output")])
    return ml / "processing" / "output"


def train(env: ParityEnv, processed: Path, algorithm: str, root: Path,
          hyperparameters: dict[str, str] | None = None):
    """A training job on the processing outputs (train, validation and meta channels), the
    hyperparameters JSON-encoded as the SDK sends them. (process, model.tar.gz)."""
    import json

    hps = {"algorithm": json.dumps(algorithm), "sagemaker_program": json.dumps("entry_point.py"),
           "sagemaker_submit_directory": json.dumps("s3://bucket/sourcedir.tar.gz"),
           **{k: json.dumps(int(v)) for k, v in (hyperparameters or SMALL[algorithm]).items()}}
    Path(root).mkdir(parents=True, exist_ok=True)
    source = containers.sourcedir([ENTRY_POINT, INFERENCE], Path(root) / "sourcedir.tar.gz")
    proc, model_dir = containers.run_training(
        env, source, "entry_point.py", hps,
        {s: processed / s for s in ("train", "validation", "meta")}, root)
    return proc, containers.model_tar(model_dir, Path(root) / "model.tar.gz")


@pytest.fixture(scope="session")
def container_artifacts(parity, tmp_path_factory) -> Artifacts:
    from lab.dataset import generate_housing

    tmp = tmp_path_factory.mktemp("containers")
    data = tmp / "house_pricing.csv"
    generate_housing(rows=300, seed=11).to_csv(data, index=False)
    processed = process(parity["sklearn-1.2-1"], data, tmp / "processing")
    models, logs = {}, {}
    for algorithm in ("xgboost", "random_forest"):
        proc, models[algorithm] = train(parity[FOR_ALGORITHM[algorithm]], processed, algorithm,
                                        tmp / f"training-{algorithm}")
        logs[algorithm] = proc.stdout
    serving = containers.sourcedir([INFERENCE], tmp / "serving-sourcedir.tar.gz")
    return Artifacts(data, processed, models, serving, logs)
