"""The generated SageMaker pipeline runs: `pipeline definition --backend sagemaker --out DIR`
interpreted step by step (tests/lab/pipelines/interpreter.py), each script in its image's
parity environment, ending with a registered package whose model answers a request
through its serving contract. Both algorithms' branches and both outcomes of the MSE
condition run here; the deployment pipeline's Lambda steps run against moto."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.cli import run_cli
from tests.fake_aws import skip_without_aws_packages
from tests.lab.pipelines.interpreter import Interpreter
from tests.lab.pipelines.pipe_helpers import small_settings
from tests.parity.fixtures import parity  # noqa: F401 (a fixture)

skip_without_aws_packages()
pytestmark = pytest.mark.xdist_group("parity")  # one worker builds and uses the environments

from lab.registry import default_group  # noqa: E402

FAST = {"MaxDepth": 3, "NEstimators": 20}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The definition and its S3 objects, written by the CLI as a learner would."""
    tmp = tmp_path_factory.mktemp("export")
    settings = small_settings(tmp, rows=300)
    out = tmp / "out"
    done = run_cli("pipeline", "definition", "--backend", "sagemaker", "--out", out,
                   "--json", ws=str(settings.workspace))
    assert done.returncode == 0, done.stderr
    return settings.with_backend("sagemaker"), out, json.loads(done.stdout)["export"]


@pytest.fixture(scope="module")
def runs(exported, parity, tmp_path_factory):  # noqa: F811
    """Three executions of the exported definition on one S3 folder, sharing the step cache
    as SageMaker's executions do: XGBoost registered, then the same with a threshold below
    its MSE (its processing, training and evaluation are cache hits), then the forest."""
    settings, out, _ = exported
    root = tmp_path_factory.mktemp("interpreted")
    shutil.copytree(out / "s3", root / "s3")
    definition, cache, found = json.loads((out / "definition.json").read_text()), {}, {}
    for name, parameters in (("xgboost", {"Algorithm": "xgboost", "MseThreshold": 1e13}),
                             ("below", {"Algorithm": "xgboost", "MseThreshold": 1.0}),
                             ("random_forest", {"Algorithm": "random_forest",
                                                "MseThreshold": 1e13})):
        machine = Interpreter(definition, root, parity, parameters={**FAST, **parameters},
                              groups={default_group(settings)},  # the lab creates it first
                              execution_id=f"exec-{name.replace('_', '-')}", cache=cache)
        machine.run()
        found[name] = machine
    return found


def test_the_export_holds_every_object_the_definition_reads(exported):
    settings, out, export = exported
    text = (out / "definition.json").read_text()
    literals = {u.strip('"') for u in _strings(json.loads(text)) if u.strip('"').startswith(
        "s3://")}  # a hyperparameter is JSON text: '"s3://..."'

    inputs = {u for u in literals if not u.endswith("/pipeline-models")}  # an output prefix
    assert inputs and all((out / "s3" / u[len("s3://"):]).is_file() for u in inputs), inputs
    assert set(export["objects"]) == inputs
    definition = json.loads(text)
    raw = next(p for p in definition["Parameters"] if p["Name"] == "InputData")
    assert re.search(r"/mlops-workshop/workspace-[0-9a-f]{8}/data/raw/small_housing\.csv$",
                     raw["DefaultValue"])  # the workspace's own folder of the bucket


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("algorithm, image, library", [
    ("xgboost", "sagemaker-xgboost:1.7-1", "xgboost"),
    ("random_forest", "sagemaker-scikit-learn:1.2-1", "sklearn")])
def test_an_execution_registers_a_model_that_serves_a_csv_request(
        exported, runs, algorithm, image, library):
    machine = runs[algorithm]
    suffix = {"xgboost": "XGBoost", "random_forest": "RandomForest"}[algorithm]
    assert machine.outcomes == {"CheckAlgorithm": algorithm == "xgboost",
                                f"CheckMSE-{suffix}": True}
    assert machine.ran == ["PreprocessData", f"TrainModel-{suffix}", f"EvaluateModel-{suffix}",
                           f"RegisterModel-{suffix}-RegisterModel", f"CheckMSE-{suffix}",
                           "CheckAlgorithm"]
    training = machine.props[f"TrainModel-{suffix}"]
    assert {m["MetricName"] for m in training["FinalMetricDataList"]} == {"mse", "r2"}
    [package] = machine.packages
    assert package.group == default_group(exported[0])
    assert package.status == "PendingManualApproval" and image in package.image
    assert package.environment["SAGEMAKER_PROGRAM"] == "inference.py"
    report = json.loads(machine.path(package.metrics_url).read_text())
    evaluation = json.loads(Path(
        machine.props[f"EvaluateModel-{suffix}"]["PropertyFiles"]["EvaluationReport"])
        .read_text())
    assert report == evaluation and report["regression_metrics"]["mse"]["value"] > 0
    with_model = machine.path(package.model_url)
    from tests.parity.containers import read_tar_member

    meta = json.loads(read_tar_member(with_model, "model.json"))
    env = machine.env(package.image)
    assert meta["library"]["version"] == env.versions[library]  # served as it was trained
    test = pd.read_csv(next(machine.root.glob("s3/**/exec-xgboost/PreprocessData/output/test/"
                                              "test.csv")), header=None)
    body = "\n".join(",".join(repr(float(v)) for v in row)
                     for row in test.iloc[:4, 1:].to_numpy())
    answer = machine.serve(package, body)
    assert answer["status"] == 200, answer
    assert len(json.loads(answer["body"])) == 4


def test_a_model_above_the_threshold_is_not_registered(runs):
    machine = runs["below"]
    assert machine.outcomes == {"CheckAlgorithm": True, "CheckMSE-XGBoost": False}
    assert machine.packages == []
    assert "RegisterModel-XGBoost-RegisterModel" not in machine.ran
    # Only the threshold changed: the steps before the condition were cache hits.
    assert machine.cache_hits == ["PreprocessData", "TrainModel-XGBoost",
                                  "EvaluateModel-XGBoost"]
    assert runs["random_forest"].cache_hits == ["PreprocessData"]


def test_the_deployment_pipeline_runs_its_lambda_steps(exported, aws, tmp_path):
    import boto3

    from lab.pipelines import deploy_lambda
    from tests.fake_aws import ROLE

    settings = exported[0]
    out = tmp_path / "deploy"
    done = run_cli("pipeline", "definition", "--deploy", "--backend", "sagemaker", "--out", out,
                   "--json", ws=str(settings.workspace))
    assert done.returncode == 0, done.stderr
    definition = json.loads((out / "definition.json").read_text())
    assert [s["Type"] for s in definition["Steps"]] == ["Lambda", "Lambda"]
    sm = boto3.client("sagemaker")
    group = default_group(settings)
    sm.create_model_package_group(ModelPackageGroupName=group)
    for status in ("Approved", "PendingManualApproval"):
        sm.create_model_package(
            ModelPackageGroupName=group, ModelApprovalStatus=status,
            InferenceSpecification={"Containers": [{"Image": "img", "ModelDataUrl": "s3://b/m"}],
                                    "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["application/json"]})
    [function] = {s["FunctionArn"] for s in definition["Steps"]}
    zipped = next((out / "lambda").glob("*.zip"))
    assert function.endswith(":function:" + zipped.stem)
    machine = Interpreter(definition, tmp_path, {},
                          lambdas={function: deploy_lambda.handler})
    machine.run()
    latest = machine.props["LatestApprovedModel"]["OutputParameters"]
    assert latest["model_package_arn"].endswith(f"/{group}/1")  # the approved one
    endpoint = machine.values["EndpointName"]
    assert machine.props["DeployModel"]["OutputParameters"] == {
        "endpoint_name": endpoint, "status": "Creating"}
    config = sm.describe_endpoint_config(
        EndpointConfigName=sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["ExecutionRoleArn"] in (ROLE, "arn:aws:iam::111122223333:role/LabSageMakerRole")
    container = model.get("PrimaryContainer") or model["Containers"][0]
    assert container["ModelPackageName"] == latest["model_package_arn"]
