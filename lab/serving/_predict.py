"""How the runtime server applies a loaded model: the serving script's way, or a cheaper
call that gives the same numbers.

The general path is the model's `predict`, i.e. the serving script's `predict_fn`
(`lab/training/inference.py`), as SageMaker's containers call it. For XGBoost that builds
a DMatrix with the feature names (and OpenMP threads) for every request: measured in the
server's handler thread, a one-row request took about 590 us of CPU that way, about 390 us
with `Booster.inplace_predict` and about 285 us with inplace_predict's own C call
(`_direct_predictor`; load 5-9 on two cores). inplace_predict predicts from the float
array itself, and gives the same numbers whenever predict_fn could not have refused the
rows:

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

import ctypes
import json
import sys
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

    return _direct_predictor(booster, width, predict) or predict


# inplace_predict's arguments for a numpy array (Booster.inplace_predict's make_jcargs).
_SHAPE, _VALUES = ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_float)
_CONFIG = json.dumps({"type": 0, "training": False, "iteration_begin": 0, "iteration_end": 0,
                      "missing": float("nan"), "strict_shape": False, "cache_id": 0}).encode()


def _direct_predictor(booster: Any, width: int, wrapped: Callable[[np.ndarray], np.ndarray]
                      ) -> Callable[[np.ndarray], np.ndarray] | None:
    """inplace_predict's own C call (XGBoosterPredictFromDense, XGBoost's public C API)
    without its Python wrapper, which costs more than the call itself for one row (measured:
    about 80-110 us for the call, 220-330 us through the wrapper, load 7-8): the same
    library, booster handle, array interface (numpy's, as the wrapper passes it) and
    arguments, and the float32 results copied out as the wrapper copies them. Anything
    unusual (a failed call, a shape other than one value per row) goes through the wrapper
    instead, so errors are the wrapper's. Used only if XGBoost's loaded library is found
    and a probe gives the wrapper's answers byte for byte; else None."""
    lib = getattr(sys.modules.get("xgboost.core"), "_LIB", None)
    function = getattr(lib, "XGBoosterPredictFromDense", None)
    handle = getattr(booster, "handle", None)
    if function is None or not isinstance(handle, ctypes.c_void_p):
        return None
    null = ctypes.c_void_p()

    def predict(rows: np.ndarray) -> np.ndarray:
        if rows.dtype != np.float64 or rows.ndim != 2 or not rows.flags.c_contiguous:
            return wrapped(rows)
        shape, dims, out = _SHAPE(), ctypes.c_uint64(), _VALUES()
        interface = json.dumps(rows.__array_interface__).encode()
        if function(handle, interface, _CONFIG, null, ctypes.byref(shape), ctypes.byref(dims),
                    ctypes.byref(out)) != 0 or dims.value != 1 or shape[0] != rows.shape[0]:
            return wrapped(rows)
        return np.ctypeslib.as_array(out, shape=(rows.shape[0],)).astype(np.float64)

    probe = np.linspace(-1e6, 1e6, 5 * width).reshape(5, width)
    try:
        for batch in (probe, probe[:1], np.zeros((1, width))):
            mine, theirs = predict(np.ascontiguousarray(batch)), wrapped(batch)
            if mine.shape != theirs.shape or mine.tobytes() != theirs.tobytes():
                return None
    except Exception:  # noqa: BLE001 - the wrapper's way then
        return None
    return predict
