"""How the runtime server applies a loaded model: the serving script's way, or a cheaper
call that gives the same numbers.

The general path is the model's `predict`, i.e. the serving script's `predict_fn`
(`lab/training/inference.py`), as SageMaker's containers call it. For XGBoost that builds
a DMatrix with the feature names (and OpenMP threads) for every request: measured in the
server's handler thread, a one-row request took about 590 us of CPU that way and about
390 us with `Booster.inplace_predict` (load 5-9 on two cores; calling the C function
behind it directly, through XGBoost's private library handle, saved about 100 us more and
was not kept). inplace_predict predicts from the float array itself, and gives the same
numbers whenever predict_fn could not have refused the rows:

- the booster's feature names are the model's features (or it has none), so predict_fn's
  feature-name check always passes;
- the booster takes as many features as the model lists, and none is categorical;
- the rows are a 2-D float64 array of that width, with finite values: what `parse_csv`
  hands over, so the missing-value marker (NaN) never matters.

Both paths then cast to float32 inside XGBoost, walk the same trees with all of their
iterations, and return float32 values that predict_fn widens to float64. These conditions
are checked once, when the model loads; a model that fails one keeps the general path.
tests/lab/serving/test_srv_fastpath.py compares both paths' answers byte for byte.

A scikit-learn forest keeps the general path: its `predict` is the library's own
(validation, one tree after another, the average), and nothing cheaper is provably equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lab.errors import InputError


class ServingModel:
    """A loaded model as the server uses it: its features, target and cheapest predict."""

    __slots__ = ("loaded", "features", "target", "predict", "inplace")

    def __init__(self, loaded: Any) -> None:
        self.loaded = loaded  # lab.training.artifact.LoadedModel
        self.features = list(loaded.features)
        self.target = loaded.target
        fast = inplace_predictor(loaded)
        self.inplace = fast is not None
        self.predict: Callable[[np.ndarray], np.ndarray] = fast or loaded.predict


def inplace_predictor(loaded: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """XGBoost's inplace_predict for this model when it answers exactly as predict_fn
    does (the conditions above); None otherwise."""
    booster = loaded._model
    if loaded.algorithm != "xgboost" or type(booster).__name__ != "Booster":
        return None
    try:
        names, types = booster.feature_names, booster.feature_types
        width = booster.num_features()
    except Exception:  # noqa: BLE001 - an unexpected booster keeps the general path
        return None
    if names is not None and list(names) != list(loaded.features):
        return None
    if width != len(loaded.features) or (types is not None and "c" in types):
        return None

    def predict(rows: np.ndarray) -> np.ndarray:
        try:
            return np.asarray(booster.inplace_predict(rows), dtype=float)
        except ValueError as exc:  # as LoadedModel.predict turns predict_fn's refusals
            raise InputError(str(exc)) from None

    return predict
