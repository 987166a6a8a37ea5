"""The workshop's inference: offline rows and one online record, and the client code a
learner copies, run as printed against the local endpoint."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from lab.errors import InputError
from lab.featurestore import LocalFeatureStore, group_names
from lab.serving import (
    ENDPOINT,
    MAX_ROWS,
    boto3_code,
    endpoint_model,
    payload_from_record,
    predict_offline,
    predict_online,
    run_all_step,
    sdk_code,
)
from lab.training import load_model


def test_rows_from_the_offline_store(settings, endpoint, versions):
    prediction = predict_offline(settings, 5)

    assert prediction.source == "offline" and prediction.group == group_names(settings)["test"]
    assert prediction.record_ids == [0, 1, 2, 3, 4]
    assert "LIMIT 5" in prediction.sql and 'FROM "lab-test"' in prediction.sql
    lines = prediction.payload.splitlines()
    assert len(lines) == 5 and all(len(line.split(",")) == 8 for line in lines)
    store = LocalFeatureStore(settings)
    records = [store.get_record("lab-test", i).values for i in range(5)]
    assert prediction.actual == [float(r["PRICE"]) for r in records]
    model = load_model(versions["xgboost"].artifact)
    rows = np.array([[r[f] for f in model.features] for r in records])
    assert prediction.predictions == [float(p) for p in model.predict(rows)]
    assert prediction.rows[0] == {"record_id": 0, "prediction": prediction.predictions[0],
                                  "PRICE": prediction.actual[0],
                                  "error": prediction.predictions[0] - prediction.actual[0]}
    assert 0 < prediction.latency_s < 5


def test_one_record_from_the_online_store(settings, endpoint):
    prediction = predict_online(settings, 42)

    record = LocalFeatureStore(settings).get_record("lab-test", 42).values
    assert prediction.record == record and prediction.record_ids == ["42"]
    assert prediction.payload == ",".join(repr(float(record[f])) for f in prediction.features)
    assert prediction.actual == [float(record["PRICE"])]
    assert prediction.lookup_s is not None and len(prediction.predictions) == 1
    assert prediction.predictions == predict_offline(settings, 43).predictions[42:43]


def test_bad_inference_requests(settings, endpoint):
    from lab.featurestore import RecordNotFoundError

    with pytest.raises(RecordNotFoundError):
        predict_online(settings, 10 ** 6)
    with pytest.raises(InputError, match=f"1 to {MAX_ROWS} rows"):
        predict_offline(settings, 0)
    with pytest.raises(InputError, match="Unknown split"):
        predict_offline(settings, 1, split="holdout")
    with pytest.raises(InputError, match="no value for DECK"):
        payload_from_record({"PRICE": 1}, ["DECK"])


def test_the_printed_boto3_code_runs_against_the_local_endpoint(settings, endpoint):
    _, model = endpoint_model(settings)
    code = boto3_code(ENDPOINT, "lab-test", 42, model.features, model.target, endpoint.url)
    assert f'endpoint_url="{endpoint.url}"' in code

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "boto3_code", "exec"), {})

    expected = predict_online(settings, 42)
    assert printed.getvalue().strip() == (f"{expected.payload} -> {expected.predictions} | "
                                          f"true PRICE: {int(expected.actual[0])}")


def test_the_printed_sdk_code_runs_against_the_local_endpoint(settings, endpoint, aws_env):
    # aws_env: the SDK's telemetry opt-out (as the lab sets it), no metadata address
    pytest.importorskip("sagemaker")
    offline = predict_offline(settings, 3)
    rows = [[float(v) for v in line.split(",")] for line in offline.payload.splitlines()]
    code = sdk_code(ENDPOINT, rows, endpoint.url)

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "sdk_code", "exec"), {})

    answer = eval(printed.getvalue().strip().splitlines()[-1])  # noqa: S307 - a list printed
    assert answer == offline.predictions


def test_code_for_sagemaker_has_no_local_options():
    code = boto3_code("ep", "fg", 1, ["a"], "PRICE", None)
    assert "endpoint_url" not in code and "UNSIGNED" not in code
    compile(code, "boto3_code", "exec")
    sdk = sdk_code("ep", [[1.0]], None)
    assert "sagemaker.Session()" in sdk and "endpoint_url" not in sdk
    compile(sdk, "sdk_code", "exec")


def test_run_all_registers_approves_deploys_and_predicts(settings):
    out = run_all_step(settings, {}, None)

    assert out["registry"]["approval"] == "Approved" and out["registry"]["version"] == 1
    endpoint = out["endpoint"]
    assert endpoint["name"] == ENDPOINT and endpoint["status"] == "InService"
    assert endpoint["url"].startswith("http://127.0.0.1:")
    assert len(endpoint["sample_predictions"]) == 5 and len(endpoint["sample_actual"]) == 5
    again = run_all_step(settings, {}, None)  # a second run: a new version, the endpoint updated
    assert again["registry"]["version"] == 2 and again["endpoint"]["version"] == 2
