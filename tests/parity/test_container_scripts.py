"""Each container script run as its container runs it, in that container's libraries.

Processing in the scikit-learn 1.2-1 environment with the processing job's paths and
arguments; training in each algorithm's image (the XGBoost image for XGBoost, scikit-learn
for the forest) with SM_CHANNEL_*/SM_MODEL_DIR and the hyperparameters decoded as the
training toolkit decodes them; evaluation on the trained artifact; inference through the
serving contract on a CSV body. The environments are built once (tests/parity/envs.py).
"""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pandas as pd
import pytest

from lab.training import load_model
from tests.parity import containers
from tests.parity.envs import CONTAINERS, FOR_ALGORITHM
from tests.parity.fixtures import EVALUATE, PROC, process, train

pytestmark = pytest.mark.xdist_group("parity")  # one worker builds the environments
ALGORITHMS = ("xgboost", "random_forest")


def test_the_environments_hold_the_containers_libraries(parity):
    for name, env in parity.items():
        container = CONTAINERS[name]
        pins = dict(p.split("==") for p in container.pins(
            tuple(int(v) for v in env.versions["python"].split(".")[:2])))
        assert env.versions["numpy"] == pins["numpy"] == "1.24.1"
        assert env.versions["pandas"] == pins["pandas"]
        assert env.versions["sklearn"] == pins["scikit-learn"]
    assert parity["xgboost-1.7-1"].versions["xgboost"] == "1.7.4"
    assert "xgboost" not in parity["sklearn-1.2-1"].versions  # the image has none


def test_processing_writes_headerless_splits_that_match_the_lab_run(container_artifacts):
    from lab.processing import preprocess

    out = container_artifacts.processed
    meta = json.loads((out / "meta" / "prep.json").read_text())
    assert meta["columns"][0] == "PRICE" and meta["target"] == "PRICE"
    frame = pd.read_csv(container_artifacts.data)
    splits, lab_meta = preprocess.prepare(frame, "PRICE", log=lambda line: None)
    for split in ("train", "validation", "test"):
        written = pd.read_csv(out / split / f"{split}.csv", header=None)
        assert not isinstance(written.iloc[0, 0], str)  # no header row: numbers only
        np.testing.assert_allclose(written.to_numpy(float), splits[split].to_numpy(float),
                                   rtol=1e-9)
    assert meta["rows"] == lab_meta["rows"]


def test_processing_reads_an_s3_prefix_with_subfolders(parity, tmp_path, container_artifacts):
    nested = tmp_path / "raw" / "2024" / "part"
    nested.mkdir(parents=True)
    frame = pd.read_csv(container_artifacts.data)
    frame.iloc[:150].to_csv(nested / "a.csv", index=False)
    frame.iloc[150:].to_csv(tmp_path / "raw" / "b.csv", index=False)
    out = process(parity["sklearn-1.2-1"], tmp_path / "raw", tmp_path / "root")
    meta = json.loads((out / "meta" / "prep.json").read_text())
    assert sum(meta["rows"].values()) == len(frame)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_training_in_its_image_writes_the_artifact_contract(container_artifacts, parity,
                                                            algorithm):
    log = container_artifacts.logs[algorithm]
    assert "MSE: " in log and "r-squared: " in log
    assert "Experiments: this container has no SageMaker SDK" in log
    with tarfile.open(container_artifacts.models[algorithm]) as tar:
        meta = json.load(tar.extractfile("model.json"))
    env = parity[FOR_ALGORITHM[algorithm]]
    library = "xgboost" if algorithm == "xgboost" else "sklearn"
    assert meta["library"] == {"name": library, "version": env.versions[library]}
    assert meta["libraries"]["pandas"] == env.versions["pandas"]
    assert meta["target"] == "PRICE" and len(meta["features"]) == 8  # named by the meta channel
    assert meta["preprocessing"]["scaler"]["columns"][0] == "PRICE"


def test_hyperparameters_arrive_as_the_training_toolkit_passes_them():
    sent = {"algorithm": '"xgboost"', "max_depth": "5", "eta": "0.3",
            "sagemaker_program": '"entry_point.py"', "not_json": "plain text"}
    decoded = containers.decoded_hyperparameters(sent)
    assert decoded == {"algorithm": "xgboost", "max_depth": 5, "eta": 0.3,
                       "not_json": "plain text"}
    assert containers.to_cmd_args(decoded) == ["--algorithm", "xgboost", "--eta", "0.3",
                                               "--max_depth", "5", "--not_json", "plain text"]


def test_an_xgboost_model_cannot_train_in_the_scikit_learn_image(parity, container_artifacts,
                                                                 tmp_path):
    """Why the pipeline picks the image per algorithm: the scikit-learn image lacks xgboost."""
    with pytest.raises(containers.ContainerError, match="No module named 'xgboost'"):
        train(parity["sklearn-1.2-1"], container_artifacts.processed, "xgboost", tmp_path)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_evaluation_scores_the_artifact_in_its_image(container_artifacts, parity, tmp_path,
                                                     algorithm):
    env = container_artifacts.env_for(parity, algorithm)
    ml = containers.opt_ml(tmp_path)
    serving = tmp_path / "serving"
    serving.mkdir()
    containers.extract_tar(container_artifacts.serving, serving)
    containers.run_processing(env, EVALUATE, tmp_path, {
        f"{PROC}/model": container_artifacts.models[algorithm],
        f"{PROC}/test": container_artifacts.processed / "test",
        f"{PROC}/input/serving": serving}, [
        "--model", str(ml / "processing" / "model" / "model.tar.gz"),
        "--test", str(ml / "processing" / "test"),
        "--serving-code", str(ml / "processing" / "input" / "serving"),
        "--output-dir", str(ml / "processing" / "evaluation")])
    report = json.loads((ml / "processing" / "evaluation" / "evaluation.json").read_text())
    mse = report["regression_metrics"]["mse"]["value"]
    test = pd.read_csv(container_artifacts.processed / "test" / "test.csv", header=None)
    served = serve_rows(container_artifacts, parity, algorithm, test.iloc[:, 1:].to_numpy(float))
    assert mse == pytest.approx(float(((test[0] - served) ** 2).mean()), rel=1e-9)


def serve_rows(artifacts, parity, algorithm, rows):
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n"
    answer = containers.serve(artifacts.env_for(parity, algorithm), artifacts.models[algorithm],
                              artifacts.serving, "inference.py", body)
    assert answer["status"] == 200, answer
    return np.array(json.loads(answer["body"]))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_inference_answers_a_csv_or_json_request_through_the_serving_contract(
        container_artifacts, parity, algorithm):
    """CSV and the JSON forms (the lab's endpoint reads the same: tests/lab/serving/
    test_srv_protocol.py) give the same predictions in the container's contract."""
    env = container_artifacts.env_for(parity, algorithm)
    test = pd.read_csv(container_artifacts.processed / "test" / "test.csv", header=None)
    rows = test.iloc[:3, 1:].to_numpy(float)
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n"
    as_json, as_csv, header, short, json_rows, instances, one_row = containers.serve_many(
        env, container_artifacts.models[algorithm], container_artifacts.serving,
        "inference.py", [(body, "text/csv", "application/json"),
                         (body.encode(), "text/csv; charset=utf-8", "text/csv"),
                         ("a,b,c\n1,2,3", "text/csv", "application/json"),
                         ("1,2,3", "text/csv", "application/json"),
                         (json.dumps(rows.tolist()), "application/json", "application/json"),
                         (json.dumps({"instances": rows.tolist()}), "application/json",
                          "application/json"),
                         (json.dumps(rows[0].tolist()), "application/json", "text/csv")])
    assert as_json["status"] == 200, as_json
    assert as_json["content_type"] == "application/json" and as_json["input_type"] == "ndarray"
    served = json.loads(as_json["body"])
    assert len(served) == 3
    assert as_csv["content_type"] == "text/csv"  # bytes in (a charset), CSV out
    assert [float(v) for v in as_csv["body"].split()] == pytest.approx(served)
    assert header["status"] == 500 and "no header row" in header["error"]
    assert short["status"] == 500 and "Each row needs 8 values" in short["error"]
    assert json.loads(json_rows["body"]) == served == json.loads(instances["body"])
    assert [float(one_row["body"])] == served[:1]


def test_the_labs_libraries_read_an_xgboost_17_model_but_not_a_scikit_learn_12_forest(
        container_artifacts, parity):
    """What the registry's rule rests on: a model must be served by the image whose
    libraries trained it. XGBoost's JSON model loads in newer xgboost (and predicts the
    same); a forest pickled by scikit-learn 1.2.1 does not load in the lab's scikit-learn."""
    test = pd.read_csv(container_artifacts.processed / "test" / "test.csv", header=None)
    rows = test.iloc[:5, 1:].to_numpy(float)
    local = load_model(container_artifacts.models["xgboost"]).predict(rows)
    np.testing.assert_allclose(local, serve_rows(container_artifacts, parity, "xgboost", rows),
                               rtol=1e-5)
    import sklearn

    if sklearn.__version__.startswith("1.2."):
        pytest.skip("the lab runs the container's scikit-learn itself")
    with pytest.raises(Exception, match="incompatible dtype|node array"):
        load_model(container_artifacts.models["random_forest"])


def test_predict_fn_also_takes_the_xgboost_containers_dmatrix(container_artifacts, parity,
                                                              tmp_path):
    """The XGBoost container's default input_fn decodes CSV into a DMatrix."""
    env = parity["xgboost-1.7-1"]
    model_dir = tmp_path / "model"
    containers.extract_tar(container_artifacts.models["xgboost"], model_dir)
    code = ("import sys, json, numpy as np, xgboost as xgb\n"
            f"sys.path.insert(0, {str(container_artifacts.serving.parent)!r})\n"
            "import importlib.util as u\n"
            f"spec = u.spec_from_file_location('inference', {str(EVALUATE.parent.parent)!r}"
            " + '/training/inference.py')\n"
            "m = u.module_from_spec(spec); spec.loader.exec_module(m)\n"
            f"model = m.model_fn({str(model_dir)!r})\n"
            "rows = np.ones((2, 8))\n"
            "a = m.predict_fn(xgb.DMatrix(rows), model)\n"
            "b = m.predict_fn(rows, model)\n"
            "print(json.dumps([a.tolist(), b.tolist()]))\n")
    proc = env.run(["-c", code])
    assert proc.returncode == 0, proc.stderr
    from_dmatrix, from_rows = json.loads(proc.stdout)
    assert from_dmatrix == pytest.approx(from_rows)
