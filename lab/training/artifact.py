"""The model artifact: what a training run leaves behind, and how to load it anywhere.

Contract (format_version 1), relied on by the registry and the endpoint:

    model.tar.gz                    SageMaker's artifact name and layout (files at the root)
    ├── model.json                  what the model is:
    │     algorithm                 "xgboost" or "random_forest"
    │     model_file                the file below
    │     features                  feature names, in the order `predict` expects them
    │     target                    the predicted column (PRICE)
    │     hyperparameters           as trained, e.g. {"max_depth": 5, "n_estimators": 200, ...}
    │     metrics                   {"validation": {"mse", "r2"},
    │                                "test": {"mse", "rmse", "r2", "mae"}}
    │     library                   {"name", "version"} of the library that trained it
    │     preprocessing (optional)  {"scaler": {"columns", "mean", "scale"}}: the features are
    │                               the feature store's, scaled by the preparation step
    ├── xgboost-model.json          XGBoost: Booster.save_model (JSON), or
    ├── model.joblib                the forest: joblib.dump of the RandomForestRegressor
    └── training.json               learning curve and feature importance (for charts)

`load_model(path)` reads a model.tar.gz (or a folder with the same files) with no need for
the lab's workspace: `load_model(p).predict([[...8 feature values...]])`. Loading and
predicting are the serving script's `model_fn`/`predict_fn` (`lab/training/inference.py`),
the functions SageMaker's serving containers call, so the lab, the endpoint and SageMaker
apply a model the same way.
"""

from __future__ import annotations

import json
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.archive import extract_tar
from lab.errors import InputError
from lab.training import entry_point, inference

ARTIFACT_NAME = "model.tar.gz"
MODEL_JSON, TRAINING_JSON = inference.MODEL_JSON, inference.TRAINING_JSON


@dataclass
class LoadedModel:
    algorithm: str
    features: list[str]
    metadata: dict[str, Any]
    training: dict[str, Any] = field(default_factory=dict)  # curve, importance (may be empty)
    _model: Any = field(default=None, repr=False)

    @property
    def target(self) -> str:
        return self.metadata.get("target", "")

    def one_thread(self) -> LoadedModel:
        """Predict on one thread (XGBoost and the forest default to every core): for the
        lab's own evaluations, which run beside other work on few cores. Returns self."""
        if hasattr(self._model, "set_param"):  # an XGBoost Booster
            self._model.set_param({"nthread": 1})
        elif hasattr(self._model, "n_jobs"):  # a scikit-learn estimator
            self._model.n_jobs = 1
        return self

    def predict(self, rows: Any):
        """Predictions (1-D numpy array) for rows of feature values in `features` order."""
        try:
            return inference.predict_fn(rows, (self.algorithm, self.features, self._model))
        except ValueError as exc:
            raise InputError(str(exc)) from None


def load_model(path: str | os.PathLike, within: str | os.PathLike | None = None
               ) -> LoadedModel:
    """A model from a model.tar.gz, or from a folder holding the artifact's files.

    A random forest is a joblib pickle, and loading a pickle runs code: `within` (the
    workspace) refuses an artifact that is not under that folder, and the model file is
    always the one its algorithm writes, at the artifact's root."""
    path = Path(path)
    if within is not None and not _inside(path, Path(within)):
        raise InputError(f"The model artifact {path.name} is not in this workspace: the lab "
                         "loads only models it trained and registered itself.")
    if path.is_dir():
        return _load_dir(path)
    if not path.is_file():
        raise InputError(f"There is no model artifact at {path}.")
    with tempfile.TemporaryDirectory(prefix="lab-model-") as tmp:
        try:
            extract_tar(path, tmp)  # refuses absolute paths, '..', links and devices
        except (tarfile.TarError, OSError) as exc:
            raise InputError(f"{path.name} is not a readable model.tar.gz ({exc}).") from None
        return _load_dir(Path(tmp))  # the model is in memory once loaded: tmp can go


def _load_dir(folder: Path) -> LoadedModel:
    meta = read_metadata(folder)
    missing = [k for k in ("algorithm", "model_file", "features") if k not in meta]
    if missing:
        raise InputError(f"{MODEL_JSON} lacks {', '.join(missing)}: not a lab model artifact.")
    expected = entry_point.MODEL_FILES.get(meta["algorithm"])
    if expected is None or meta["model_file"] != expected:
        raise InputError(f"{MODEL_JSON} names the model file {str(meta['model_file'])!r} for "
                         f"the algorithm {str(meta['algorithm'])!r}: a lab artifact holds "
                         f"{' or '.join(entry_point.MODEL_FILES.values())} at its root.")
    model_path = folder / expected
    if model_path.is_symlink() or not model_path.is_file():
        raise InputError(f"The artifact has no {expected}.")
    algorithm, features, model = inference.model_fn(str(folder))
    training = _read_json(folder / TRAINING_JSON) or {}
    return LoadedModel(algorithm, list(features), meta, training, model)


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def read_metadata(folder: Path) -> dict[str, Any]:
    meta = _read_json(Path(folder) / MODEL_JSON)
    if not isinstance(meta, dict):
        raise InputError(f"The artifact has no readable {MODEL_JSON}.")
    return meta


def update_metadata(folder: Path, **changes: Any) -> dict[str, Any]:
    """Add keys to model.json (the worker adds test metrics and preprocessing)."""
    meta = read_metadata(folder)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(meta.get(key), dict):
            meta[key] = {**meta[key], **value}
        else:
            meta[key] = value
    (Path(folder) / MODEL_JSON).write_text(json.dumps(meta, indent=2))
    return meta


def pack(folder: Path, tar_path: Path) -> Path:
    """Tar the model folder's files into `tar_path`, files at the root as SageMaker does."""
    tar_path = Path(tar_path)
    tmp = tar_path.with_name(f".{tar_path.name}.tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=1) as tar:  # models are small; speed wins
        for item in sorted(Path(folder).iterdir()):
            tar.add(item, arcname=item.name)
    os.replace(tmp, tar_path)
    return tar_path


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
