"""The declaration, parameters, cache keys and expiry, and the charts (no step runs here)."""

from __future__ import annotations

import json
import time

import pytest

from lab.errors import ParameterError
from lab.pipelines import (
    DEPLOY_PIPELINE,
    TRAINING_PIPELINE,
    Execution,
    PipelineStore,
    StepRecord,
    parse_params,
    topological,
)
from lab.pipelines import _local as executor_module
from lab.pipelines._runners import CODE
from lab.pipelines.charts import dag_dot, gantt


def test_steps_in_dependency_order_with_the_register_step_after_the_condition():
    assert topological(TRAINING_PIPELINE) == [
        "PreprocessData", "TrainModel", "EvaluateModel", "CheckMSE", "RegisterModel"]
    assert topological(DEPLOY_PIPELINE) == ["LatestApprovedModel", "DeployModel"]
    assert ("CheckMSE", "RegisterModel", "if true") in TRAINING_PIPELINE.edges()
    assert not TRAINING_PIPELINE.step("RegisterModel").cacheable


def test_parameters_are_typed_and_checked():
    values = TRAINING_PIPELINE.resolve_parameters(parse_params(["MaxDepth=7",
                                                                "MseThreshold=1e8"]))
    assert values["MaxDepth"] == 7 and values["MseThreshold"] == 1e8
    assert values["ProcessingInstanceCount"] == 1
    with pytest.raises(ParameterError, match="whole number"):
        TRAINING_PIPELINE.resolve_parameters({"MaxDepth": "2.5"})
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        parse_params(["MaxDepth"])


def test_cache_key_follows_code_inputs_and_parameters(monkeypatch, tmp_path):
    step = TRAINING_PIPELINE.step("TrainModel")
    upstream = {"PreprocessData": StepRecord("e", "PreprocessData", "processing", "Succeeded",
                                             0, cache_key="k1")}
    inputs = {"train": "/a/train", "validation": "/a/validation", "algorithm": "xgboost",
              "max_depth": 5, "n_estimators": 200}
    key = executor_module.cache_key(step, inputs, upstream)
    assert key == executor_module.cache_key(step, {**inputs, "train": "/elsewhere"}, upstream)
    assert key != executor_module.cache_key(step, {**inputs, "max_depth": 6}, upstream)
    upstream["PreprocessData"].cache_key = "k2"
    assert key != executor_module.cache_key(step, inputs, upstream)
    upstream["PreprocessData"].cache_key = "k1"
    changed = tmp_path / "entry_point.py"
    changed.write_text("# another version of the script\n")
    monkeypatch.setitem(CODE, "training", [changed])
    assert key != executor_module.cache_key(step, inputs, upstream)


def test_only_successful_runs_within_the_expiry_are_reused(ws):
    store = PipelineStore(ws)
    old = store.create_execution(TRAINING_PIPELINE.name, {})
    now = time.time()
    store.save_step(StepRecord(old.id, "TrainModel", "training", "Succeeded", now - 50_000,
                               now - 49_000, cache_key="abc", outputs={"model": "m"}))
    failed = store.create_execution(TRAINING_PIPELINE.name, {})
    store.save_step(StepRecord(failed.id, "TrainModel", "training", "Failed", now - 10,
                               now - 5, cache_key="abc"))
    assert store.cache_lookup(TRAINING_PIPELINE.name, "TrainModel", "abc", 12 * 3600,
                              exclude="x") is None  # 13.6 h old, and the newer one failed
    hit = store.cache_lookup(TRAINING_PIPELINE.name, "TrainModel", "abc", 14 * 3600,
                             exclude="x")
    assert hit.execution == old.id and hit.outputs == {"model": "m"}


def _execution():
    now = time.time()
    ex = Execution("pipeline-1", TRAINING_PIPELINE.name, {}, "Executing", now - 3)
    ex.steps = {
        "PreprocessData": StepRecord("pipeline-1", "PreprocessData", "processing", "Succeeded",
                                     now - 3, now - 2.9, cache_source="pipeline-0"),
        "TrainModel": StepRecord("pipeline-1", "TrainModel", "training", "Executing", now - 2.9),
    }
    return ex


def test_dag_colours_each_step_by_its_live_status_and_marks_cache_hits():
    dot = dag_dot(TRAINING_PIPELINE, _execution())
    lines = {line.split('"')[1]: line for line in dot.splitlines() if line.startswith('  "')
             and "->" not in line}
    assert "cached" in lines["PreprocessData"] and "peripheries=2" in lines["PreprocessData"]
    assert "#93c5fd" in lines["TrainModel"]  # blue: executing
    assert "#e5e7eb" in lines["EvaluateModel"]  # grey: not started
    assert "diamond" in lines["CheckMSE"]
    assert '"CheckMSE" -> "RegisterModel" [label="if true"]' in dot


def test_gantt_has_one_bar_per_step_with_cache_hits_named():
    fig = json.loads(gantt(_execution()).to_json())
    names = {trace["name"] for trace in fig["data"]}
    assert names == {"Cache hit", "Executing"}
    assert "Timeline of pipeline-1" in fig["layout"]["title"]["text"]


def test_input_data_names_a_workspace_dataset_and_keys_on_its_content(tmp_path):
    from lab.errors import InputError
    from lab.pipelines._runners import prepare_processing
    from tests.lab.pipelines.pipe_helpers import small_settings

    settings = small_settings(tmp_path, rows=40)
    resolved = prepare_processing(settings, {"input_data": ""})
    assert resolved["input_data"] == "small_housing" and resolved["target"] == "PRICE"
    assert len(resolved["input_sha256"]) == 64
    assert prepare_processing(settings, {"input_data": "small_housing"}) == resolved
    with pytest.raises(InputError, match="no dataset 'nope'"):
        prepare_processing(settings, {"input_data": "nope"})
