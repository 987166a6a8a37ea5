"""Issue 15's findings, one test (or a few) each: every one of these failed on the code the
issue was filed against and passes since its fix.

The heavier proofs (SIGKILL mid-step, sessions at once, the bad-input catalogue, the
secrets canary) are in test_crashes.py, test_concurrency.py, test_bad_input.py and
test_secrets.py.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from lab.dataset import GENERATED_NAME, generate_housing, list_datasets, save_dataset
from lab.errors import DataError, InputError, LabError, ParameterError
from lab.settings import Settings, valid_session_id
from lab.workspace import Workspace
from tests.cli import run_cli as lab
from tests.workspaces import snapshot


def dead_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- two writers of one dataset ---------------------------------------------------------

def test_concurrent_writers_of_one_dataset_use_their_own_temporary_files(ws):
    """Two `run-all --data house_pricing.csv` at once crashed with FileNotFoundError on
    `.house_pricing.csv.tmp`; and datasets.json lost one writer's entry."""
    frame = generate_housing(rows=50, seed=1)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def write(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                save_dataset(ws, frame, "house_pricing.csv", "PRICE", "file")
                save_dataset(ws, frame, f"other_{i}", "PRICE", "file", activate=False)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    names = {d.name for d in list_datasets(ws)}
    assert names == {"house_pricing", *(f"other_{i}" for i in range(8))}
    leftovers = [p.name for p in ws.raw_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary file is left
    pd.testing.assert_frame_equal(pd.read_csv(ws.raw_dir / "house_pricing.csv"), frame)


# --- an upload never overwrites a dataset -----------------------------------------------

def test_an_upload_named_like_an_existing_dataset_is_stored_beside_it(ws):
    from lab.dataset import ensure_generated
    from lab.processing import use_dataset

    ensure_generated(ws)
    generated = (ws.raw_dir / f"{GENERATED_NAME}.csv").read_bytes()
    upload = generate_housing(rows=40, seed=9)
    info = use_dataset(ws, upload, f"{GENERATED_NAME}.csv", "PRICE", "upload")
    assert info.name != GENERATED_NAME
    assert (ws.raw_dir / f"{GENERATED_NAME}.csv").read_bytes() == generated
    again = use_dataset(ws, upload, f"{GENERATED_NAME}.csv", "PRICE", "upload")
    assert again.name == info.name  # the very same file again: no third copy
    assert len(list_datasets(ws)) == 2


# --- CSVs the feature store cannot take are refused before anything changes -------------

def _rows(header: list[str], n: int = 30) -> str:
    return ",".join(header) + "\n" + "".join(
        ",".join(str(i + j) for j in range(len(header))) + "\n" for i in range(n))


BAD_TABLES = {
    "space": (_rows(["SQUARE FEET", "PRICE"]), "SQUARE FEET"),
    "quote": (_rows(['"it""s"', "PRICE"]), "it\"s"),
    "unicode": (_rows(["prix_m²", "PRICE"]), "prix_m²"),
    "sql": (_rows(['"x; DROP TABLE y"', "PRICE"]), "DROP TABLE"),
    "duplicate": (_rows(["A", "A", "PRICE"]), "repeated"),
    "empty_header": (_rows(["A", "", "PRICE"]), "no name"),
    "reserved": (_rows(["write_time", "PRICE"]), "write_time"),
    "record_id": (_rows(["record_id", "PRICE"]), "record_id"),
    "bool_target": ("x,PRICE\n" + "".join(f"{i},{i % 2 == 0}\n" for i in range(30)),
                    "True/False"),
    "odd_category": ("city,x,PRICE\n" + "".join(f"{'New York' if i % 2 else 'Paris'},{i},{i}\n"
                                                 for i in range(30)), "city_New York"),
    "inf_feature": ("x,PRICE\n" + "".join(f"{'inf' if i == 3 else i},{i}\n" for i in range(30)),
                    "infinite"),
    "inf_target": ("x,PRICE\n" + "".join(f"{i},{'-inf' if i == 5 else i}\n" for i in range(30)),
                   "infinite"),
}


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_a_table_the_feature_store_cannot_take_is_refused_and_changes_nothing(prepared, case):
    from lab.dataset import read_csv_bytes
    from lab.processing import use_dataset

    ws = Workspace(prepared.workspace)
    before = snapshot(ws.root)
    text, fragment = BAD_TABLES[case]
    with pytest.raises(DataError) as caught:
        use_dataset(ws, read_csv_bytes(text.encode(), "bad.csv"), "bad.csv", "PRICE", "upload")
    assert fragment in str(caught.value)
    assert snapshot(ws.root) == before


def test_too_many_columns_are_refused_with_the_feature_store_limit(prepared):
    from lab.dataset import read_csv_bytes
    from lab.processing import use_dataset

    ws = Workspace(prepared.workspace)
    header = [f"f{i}" for i in range(2500)] + ["PRICE"]
    text = _rows(header, n=12)
    with pytest.raises(DataError, match="2,500"):
        use_dataset(ws, read_csv_bytes(text.encode()), "wide.csv", "PRICE", "upload")


def test_inf_in_the_cli_is_one_line_not_a_traceback(prepared, tmp_path):
    csv = tmp_path / "inf.csv"
    csv.write_text(BAD_TABLES["inf_feature"][0])
    before = snapshot(Path(prepared.workspace))
    proc = lab("prep", "--data", str(csv), "--json", ws=prepared.workspace)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
    assert "infinite" in proc.stderr
    assert snapshot(Path(prepared.workspace)) == before


# --- numbers too large for SQLite or numpy, and values SageMaker refuses -------------------

def test_huge_integers_on_the_command_line_are_one_line_errors(prepared):
    huge = "9" * 30
    for args in (("approve", "--version", huge), ("prep", "--random-state", huge),
                 ("approve", "--version", "-1")):
        proc = lab(*args, "--json", ws=prepared.workspace)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("params", [{"MseThreshold": "nan"}, {"MseThreshold": "-1"},
                                    {"MseThreshold": "inf"},
                                    {"ProcessingInstanceCount": "1000000"}])
def test_pipeline_parameters_sagemaker_would_refuse_are_refused(tmp_path, params):
    from lab.pipelines import pipeline_job

    with pytest.raises(ParameterError):
        pipeline_job(Settings(workspace=tmp_path / "ws"), params)


def test_an_approval_comment_is_capped_at_sagemakers_1024_characters(trained):
    from lab.registry import APPROVED, open_registry, register_model, set_approval

    version = register_model(trained)
    with pytest.raises(InputError, match="1,024"):
        set_approval(trained, version.version, APPROVED, "x" * 1025)
    assert open_registry(trained).describe_version(version.group, version.version).status \
        != APPROVED
    assert set_approval(trained, version.version, APPROVED, "x" * 1024).approved


def test_a_workspace_id_with_a_trailing_newline_is_refused():
    with pytest.raises(InputError):
        valid_session_id("abcdefgh\n")
    assert valid_session_id("abcdefgh") == "abcdefgh"


# --- the CLI: failed executions, unreachable AWS ----------------------------------------

def test_pipeline_run_exits_2_when_the_execution_failed(tmp_path):
    from tests.lab.pipelines.pipe_helpers import small_settings

    settings = small_settings(tmp_path)
    proc = lab("pipeline", "run", "--param", "InputData=nosuchdataset", "--json",
               ws=settings.workspace)
    assert proc.returncode == 2, proc.stderr
    out = json.loads(proc.stdout)  # --json still gives the execution, with its status
    assert out["status"] == "Failed"
    assert "Failed" in proc.stderr.strip().splitlines()[-1]


def test_aws_unreachable_is_one_line_on_stderr_and_json_on_stdout_stays_clean(tmp_path,
                                                                             monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-secret-key-unreachable")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("LAB_SAGEMAKER_ROLE", "arn:aws:iam::123456789012:role/lab")
    monkeypatch.setenv("LAB_S3_BUCKET", "lab-bucket")
    for args in (("endpoints",), ("invoke", "--body", "1,2,3")):
        proc = lab(*args, "--backend", "sagemaker", "--json", ws=tmp_path / "ws")
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert proc.stdout == "", proc.stdout
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "canary" not in proc.stderr and "Traceback" not in proc.stderr


# --- the runtime server ----------------------------------------------------------------

def test_a_deeply_nested_putrecord_body_is_a_validation_error(trained):
    from lab.serving import stop_server
    from lab.serving._runtime import ensure_server
    from tests.lab.serving.srv_helpers import raw_request

    server = ensure_server(trained)
    try:
        status, headers, body = raw_request(server.port, "PUT", "/FeatureGroup/lab-train",
                                            b"[" * 100_000)
    finally:
        stop_server(trained)
    assert status == 400, body
    assert headers["x-amzn-errortype"] == "ValidationError"


def test_idle_connections_do_not_make_a_thread_each_without_bound(trained):
    from lab.serving import _server, stop_server
    from lab.serving._runtime import ensure_server
    from tests.lab.serving.srv_helpers import raw_request

    cap = getattr(_server, "MAX_CONNECTIONS", 64)
    server = ensure_server(trained)
    idle = []
    try:
        before = threading.active_count()
        for _ in range(cap + 150):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        time.sleep(0.5)
        assert threading.active_count() - before <= cap + 2
        status, _, body = raw_request(server.port, "GET", "/ping")  # still answers
        assert status == 200, body
    finally:
        for s in idle:
            s.close()
        stop_server(trained)


def test_a_warming_thread_never_puts_an_older_version_back(trained):
    """Right after a server starts (warm) and an endpoint is updated: the warm thread read
    the record before the update and finished loading after it."""
    from lab.serving import deploy_model, stop_server
    from lab.serving._model_cache import ModelCache
    from lab.serving._records import EndpointRecords
    from tests.lab.serving.srv_helpers import approved_versions

    versions = approved_versions(trained)
    endpoint = deploy_model(trained, versions["xgboost"].version)
    stop_server(trained)
    cache = ModelCache(trained)
    real_load, entered, release = cache.load, threading.Event(), threading.Event()

    def slow_load(group, version):
        model = real_load(group, version)
        if version == versions["xgboost"].version and not release.is_set():
            entered.set()
            release.wait(10)
        return model

    cache.load = slow_load
    warm = threading.Thread(target=cache.warm)
    warm.start()
    assert entered.wait(10)
    EndpointRecords(trained).update(endpoint.name, version=versions["random_forest"].version)
    assert cache.refresh(endpoint.name).endpoint.version == versions["random_forest"].version
    release.set()
    warm.join(10)
    assert cache.get(endpoint.name).endpoint.version == versions["random_forest"].version


# --- a copied or moved workspace keeps its feature store to itself ------------------------

def test_a_copied_workspace_queries_and_recreates_its_own_feature_store(small, tmp_path):
    from lab.featurestore import ingest_prepared, open_featurestore

    original = Path(small.workspace)
    sql = 'SELECT count(*) AS n FROM "lab-train"'
    rows = int(open_featurestore(small).query(sql).frame["n"][0])
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    before = snapshot(original / "featurestore")
    copied = Settings(workspace=copy)
    assert int(open_featurestore(copied).query(sql).frame["n"][0]) == rows
    ingest_prepared(copied)
    open_featurestore(copied).delete_group("lab-train")  # what a re-create starts with
    ingest_prepared(copied)
    assert snapshot(original / "featurestore") == before
    assert int(open_featurestore(copied).query(sql).frame["n"][0]) == rows
    assert int(open_featurestore(small).query(sql).frame["n"][0]) == rows


def test_a_moved_workspace_answers_queries_and_ingests_inside_itself(small, tmp_path):
    from lab.featurestore import ingest_prepared, open_featurestore

    moved = tmp_path / "moved"
    os.rename(small.workspace, moved)
    settings = Settings(workspace=moved)
    sql = 'SELECT count(*) AS n FROM "lab-train"'
    rows = int(open_featurestore(settings).query(sql).frame["n"][0])
    assert rows > 0
    ingest_prepared(settings)
    assert not Path(small.workspace).exists()
    assert int(open_featurestore(settings).query(sql).frame["n"][0]) == 2 * rows


# --- offline SQL stays within its memory and time --------------------------------------

def test_offline_sql_cannot_use_far_more_memory_than_its_limit(small, monkeypatch):
    """`repeat()` builds its string outside DuckDB's buffer manager: memory_limit alone let
    `length(repeat('a', 2000000000))` reach 4.1 GB. Scaled down here (a 600 MB string
    against a 100 MB budget) so the test is cheap whether or not the bound holds."""
    import resource

    from lab.featurestore import QueryError, _offline, open_featurestore

    monkeypatch.setattr(_offline, "MEMORY_LIMIT_MB", 100)
    _offline.reset_workers()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with pytest.raises(QueryError, match="memory"):
            open_featurestore(small).query("SELECT length(repeat('a', 600000000)) AS n")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert (after - before) < 200_000  # KiB: this process did not hold the string
        frame = open_featurestore(small).query('SELECT count(*) AS n FROM "lab-train"').frame
        assert int(frame["n"][0]) > 0  # the next query answers
    finally:
        _offline.reset_workers()


def test_offline_sql_is_stopped_at_its_time_limit(small, monkeypatch):
    from lab.featurestore import QueryError, _offline, open_featurestore

    limit = _offline.QUERY_TIMEOUT_S
    monkeypatch.setattr(_offline, "QUERY_TIMEOUT_S", 1.0)
    started = time.monotonic()
    with pytest.raises(QueryError, match="longer than"):
        open_featurestore(small).query(
            "SELECT count(*) FROM range(100000000000) a, range(100) b WHERE a.range % 7 = b.range")
    assert time.monotonic() - started < 10  # stopped, not left to run for hours
    # The store still answers afterwards, in a fresh worker held to the usual limit (its
    # start and first views took over a second on a loaded two-core machine).
    monkeypatch.setattr(_offline, "QUERY_TIMEOUT_S", limit)
    frame = open_featurestore(small).query('SELECT count(*) AS n FROM "lab-train"').frame
    assert int(frame["n"][0]) > 0


# --- two first tuning jobs at once -------------------------------------------------------

def test_two_first_tuning_studies_at_once_create_the_schema_once(tmp_path):
    from lab.tuning import build_tuning_spec
    from lab.tuning._local import _study, _StudyFile

    def make(ws, spec, barrier, errors, i: int) -> None:
        try:
            barrier.wait()
            study, memory = _study(f"study-{i}", spec)
            study.tell(study.ask(), 1.0)
            _StudyFile(ws).save(f"study-{i}", memory)  # tuning.db opened, the study saved
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for attempt in range(3):
        ws = Workspace(tmp_path / f"ws{attempt}")
        ws.root.mkdir(parents=True)
        spec = build_tuning_spec(max_jobs=2, max_parallel_jobs=1)
        barrier, errors = threading.Barrier(4), []
        threads = [threading.Thread(target=make, args=(ws, spec, barrier, errors, i))
                   for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, repr(errors[0])
        import optuna

        assert sorted(optuna.get_all_study_names(f"sqlite:///{ws.path('tuning.db')}")) == [
            f"study-{i}" for i in range(4)]


# --- what SIGKILL leaves behind is reported, not left InProgress -------------------------

def test_runs_of_a_job_whose_process_died_show_failed_with_the_reason(ws):
    from lab import jobs
    from lab.training import Experiments

    store = jobs.JobStore(ws)
    job = store.create("training", {})
    job.pid = dead_pid()
    store.save(job)
    experiments = Experiments(ws)
    experiments.start("run-1", "exp", "run-1", "xgboost", {}, job_id=job.job_id)
    experiments.start("trial-1", "exp", "trial-1", "xgboost", {}, job_id=job.job_id,
                      tuning_job=job.job_id, trial=1)
    for run in (experiments.get("run-1"), *experiments.list(tuning_job=job.job_id)):
        assert run.status == "Failed"
        assert "Interrupted" in run.failure
    assert {r.status for r in Experiments(ws).list()} == {"Failed"}  # and it is stored


def test_the_steps_of_an_execution_whose_process_died_are_not_left_executing(ws):
    from lab import jobs
    from lab.pipelines import PipelineStore, describe_execution
    from lab.pipelines._store import StepRecord

    store = jobs.JobStore(ws)
    job = store.create("pipeline", {})
    job.pid = dead_pid()
    store.save(job)
    pipelines = PipelineStore(ws)
    execution = pipelines.create_execution("lab-training-pipeline", {}, job.job_id)
    pipelines.save_step(StepRecord(execution.id, "TrainModel", "training", "Executing",
                                   time.time()))
    found = describe_execution(Settings(workspace=ws.root), execution.id)
    assert found.status == "Failed"
    assert found.steps["TrainModel"].status == "Failed"
    assert "Interrupted" in (found.steps["TrainModel"].failure or "")


def test_a_killed_jobs_subprocess_dies_with_it(tmp_path):
    """`python -m lab process` killed with SIGKILL left its preprocess.py child running."""
    marker = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
sys.path.insert(0, {str(Path.cwd())!r})
from lab import jobs
from lab.workspace import Workspace
def fn(ctx):
    ctx.run_subprocess([sys.executable, "-c",
        "import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"])
    return {{}}
jobs.run(Workspace({str(tmp_path / 'ws')!r}), jobs.JobSpec("processing", {{}}, fn))
"""])
    try:
        deadline = time.monotonic() + 30
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(marker.read_text())
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 5
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(child), "the child outlived its killed parent"
    finally:
        parent.kill()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_a_prep_killed_mid_write_leaves_no_staging_folder_after_the_next_run(prepared):
    from lab.processing import run_prep

    ws = Workspace(prepared.workspace)
    code = f"""
import os, signal, sys
sys.path.insert(0, {str(Path.cwd())!r})
from lab.processing import preprocess, run_prep
from lab.workspace import Workspace
real = preprocess.write_outputs
def write_then_die(splits, meta, folder):
    real(splits, meta, folder)
    os.kill(os.getpid(), signal.SIGKILL)
preprocess.write_outputs = write_then_die
run_prep(Workspace({str(ws.root)!r}))
"""
    before = snapshot(ws.processed_dir)
    proc = subprocess.run([sys.executable, "-c", code], timeout=120)
    assert proc.returncode == -9
    assert snapshot(ws.processed_dir) == before  # half-written outputs never replaced these
    run_prep(ws)
    leftovers = [p.name for p in ws.processed_dir.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


# --- model artifacts load only what the lab wrote -----------------------------------------

class _Marker:
    """A pickle that, when loaded, creates a file: proof that loading ran code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _crafted_artifact(folder: Path, model_file: str, marker: Path) -> Path:
    evil = Path(model_file) if os.path.isabs(model_file) else folder / "content" / model_file
    evil.parent.mkdir(parents=True, exist_ok=True)
    evil.write_bytes(pickle.dumps(_Marker(str(marker))))
    (folder / "content").mkdir(parents=True, exist_ok=True)
    (folder / "content" / "model.json").write_text(json.dumps({
        "algorithm": "random_forest", "model_file": model_file, "features": ["a"],
        "target": "PRICE"}))
    tar = folder / "model.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(folder / "content" / "model.json", arcname="model.json")
        if not os.path.isabs(model_file):
            t.add(evil, arcname=model_file)
    return tar


@pytest.mark.parametrize("model_file", ["ABSOLUTE", "../model.joblib", "sub/model.joblib",
                                        "model.pkl"])
def test_a_model_json_naming_another_file_is_refused_before_anything_loads(tmp_path,
                                                                          model_file):
    from lab.training import load_model

    marker = tmp_path / "code-ran"
    if model_file == "ABSOLUTE":
        model_file = str(tmp_path / "elsewhere" / "evil.joblib")
    tar = _crafted_artifact(tmp_path / "art", model_file, marker)
    with pytest.raises(InputError):
        load_model(tar)
    assert not marker.exists()


def test_the_endpoint_loads_models_only_from_the_workspace(trained, tmp_path):
    """A registry row pointing outside the workspace (a tampered or copied database) is
    refused: the endpoint never unpickles a file it did not write."""
    import sqlite3

    from lab.serving import stop_server
    from lab.serving._model_cache import ModelCache
    from tests.lab.serving.srv_helpers import approved_versions

    versions = approved_versions(trained)
    outside = tmp_path / "outside.tar.gz"
    shutil.copyfile(versions["random_forest"].artifact, outside)
    db = sqlite3.connect(Path(trained.workspace) / "registry.db")
    db.execute("UPDATE model_versions SET artifact = ?", (str(outside),))
    db.commit()
    db.close()
    try:
        with pytest.raises(LabError):
            ModelCache(trained).load(versions["random_forest"].group,
                                     versions["random_forest"].version)
    finally:
        stop_server(trained)


# --- workshop mode: the shared server's credentials and paths -----------------------------

def test_workshop_settings_refuse_the_sagemaker_backend_unless_the_server_allows_it(
        tmp_path, monkeypatch):
    from lab.settings import load_settings

    monkeypatch.setenv("LAB_WORKSHOP", "1")
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path))
    monkeypatch.delenv("LAB_WORKSHOP_BACKENDS", raising=False)
    base = load_settings()
    assert base.allowed_backends == ("local",)
    with pytest.raises(InputError):
        base.choose_backend("sagemaker")
    monkeypatch.setenv("LAB_WORKSHOP_BACKENDS", "local,sagemaker")
    assert load_settings().choose_backend("sagemaker").backend == "sagemaker"
    monkeypatch.delenv("LAB_WORKSHOP")
    assert load_settings().allowed_backends == ("local", "sagemaker")


def test_workshop_settings_show_the_session_not_the_servers_path(tmp_path, monkeypatch):
    from lab.settings import load_settings

    monkeypatch.setenv("LAB_WORKSHOP", "1")
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path))
    session = load_settings().for_session("abcdef12")
    assert str(tmp_path) not in session.workspace_label
    assert "abcdef12" in session.workspace_label
    monkeypatch.delenv("LAB_WORKSHOP")
    assert load_settings().workspace_label == str(tmp_path)


# --- two run-alls with different data in one workspace -------------------------------------

def test_two_run_alls_in_one_workspace_each_run_with_their_own_data(ws, tmp_path,
                                                                   monkeypatch):
    """Every step reads the active dataset the one before left; two run-alls interleaved
    trained and deployed each other's data. The steps are replaced by one that looks at
    the active dataset twice, a moment apart (the real steps are tested elsewhere)."""
    from lab import cli, steps
    from lab.dataset import active_dataset

    seen: dict[str, list[str]] = {}

    def steps_reading_the_active_dataset(settings, options, echo):
        first = active_dataset(Workspace(settings.workspace)).name
        time.sleep(0.5)
        seen.setdefault(first, []).append(active_dataset(Workspace(settings.workspace)).name)
        return {}

    monkeypatch.setattr(steps, "run_all", steps_reading_the_active_dataset)
    csvs = []
    for name, seed in (("mine", 1), ("theirs", 2)):
        path = tmp_path / f"{name}.csv"
        generate_housing(rows=30, seed=seed).to_csv(path, index=False)
        csvs.append(path)
    codes = []
    threads = [threading.Thread(target=lambda p=p: codes.append(cli.main(
        ["run-all", "--data", str(p), "--workspace", str(ws.root)]))) for p in csvs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [0, 0]
    assert seen == {"mine": ["mine"], "theirs": ["theirs"]}
