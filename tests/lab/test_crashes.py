"""SIGKILL in the middle of each kind of write, then a restart: the stores open, queries
answer, nothing half-written shows as complete, the interrupted work shows as Failed with
a reason (not InProgress forever), and running it again succeeds.

Each test runs `python -m lab ...` in a child process that kills itself (SIGKILL: no
cleanup of any kind runs) at a chosen point of the real code, by wrapping one function.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lab import jobs
from lab.workspace import Workspace
from tests.cli import run_cli as lab
from tests.workspaces import REPO

_CHILD = """
import functools, importlib, os, signal, sys
sys.path.insert(0, {repo!r})
module_name, _, path = {kill_at!r}.partition(":")
owner = importlib.import_module(module_name)
*parents, name = path.split(".")
for parent in parents:
    owner = getattr(owner, parent)
original = getattr(owner, name)
calls = [0]

@functools.wraps(original)
def killing(*args, **kwargs):
    calls[0] += 1
    if calls[0] < {nth}:
        return original(*args, **kwargs)
    if {after}:
        original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

setattr(owner, name, killing)
from lab.cli import main
sys.exit(main({argv!r}))
"""


def killed_at(kill_at: str, argv: list[str], *, after: bool = False, nth: int = 1) -> None:
    """Run `python -m lab argv` until the `nth` call of `kill_at` ("module:attr.path")
    starts (or, with `after`, returns), where the process SIGKILLs itself."""
    code = _CHILD.format(repo=str(REPO), kill_at=kill_at, argv=argv, after=after, nth=nth)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == -9, f"not killed ({proc.returncode}): {proc.stderr[-2000:]}"


def only_job(settings, kind: str) -> jobs.Job:
    found = jobs.JobStore(Workspace(settings.workspace)).list(kind)
    assert len(found) >= 1
    return found[0]


def assert_interrupted(job: jobs.Job) -> None:
    assert job.status == jobs.FAILED
    assert job.error and job.error.startswith("Interrupted")


def test_killed_mid_ingest(small):
    """Killed while a Parquet file is half written, and again between the offline and the
    online write: no partial file is ever counted, both stores open and answer."""
    from lab.featurestore import open_featurestore

    ws = str(small.workspace)
    store = open_featurestore(small)
    rows = store.describe_group("lab-train").offline_rows
    online = store.describe_group("lab-train").online_rows
    killed_at("pyarrow.parquet:write_table", ["features", "ingest", "--workspace", ws],
              after=True)  # written under its temporary name, not yet renamed
    assert_interrupted(only_job(small, "feature-ingest"))
    assert list(Path(ws, "featurestore").rglob("*.parquet.tmp"))  # the half-written file...
    info = store.describe_group("lab-train")
    assert info.offline_rows == rows  # ...is not part of the store
    count = store.query('SELECT count(*) AS n FROM "lab-train"').frame["n"][0]
    assert count == rows

    killed_at("lab.featurestore._online:upsert", ["features", "ingest", "--workspace", ws])
    info = store.describe_group("lab-train")
    assert info.online_rows == online
    assert store.get_record("lab-train", 0).values
    assert lab("features", "ingest", "--json", ws=ws).returncode == 0  # the re-run
    assert store.describe_group("lab-train").online_rows == online
    store.close()


def test_killed_mid_training(small):
    from lab.training import Experiments

    ws = str(small.workspace)
    killed_at("lab.training._job:evaluate",
              ["train", "--hp", "n_estimators=10", "--workspace", ws])
    job = only_job(small, "training")
    assert_interrupted(job)
    runs = Experiments(small.workspace).list()
    assert [r.status for r in runs] == ["Failed"]
    assert runs[0].failure.startswith("Interrupted") and runs[0].artifact is None
    proc = lab("train", "--hp", "n_estimators=10", "--json", ws=ws)
    assert proc.returncode == 0, proc.stderr
    assert [r.status for r in Experiments(small.workspace).list()] == ["Completed", "Failed"]
    proc = lab("register", "--json", ws=ws)  # only the completed run can be registered
    assert json.loads(proc.stdout)["registry"]["source"]["run_id"] != runs[0].run_id


def test_killed_mid_tuning(small):
    from lab.training import Experiments

    ws = str(small.workspace)
    args = ["tune", "--max-jobs", "2", "--max-parallel-jobs", "1", "--hp", "n_estimators=8"]
    killed_at("lab.training.experiments:Experiments.mark_best", [*args, "--workspace", ws])
    job = only_job(small, "tuning")
    assert_interrupted(job)
    trials = Experiments(small.workspace).list(tuning_job=job.job_id)
    assert trials and all(t.status in ("Completed", "Failed") for t in trials)
    assert all(t.failure.startswith("Interrupted") for t in trials if t.status == "Failed")
    proc = lab(*args, "--json", ws=ws)  # the study database opens; a new job completes
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tuning"]["completed"] == 2


def test_killed_mid_pipeline(tmp_path):
    from lab.pipelines import describe_execution, list_executions
    from tests.lab.pipelines.pipe_helpers import small_settings

    settings = small_settings(tmp_path)
    ws = str(settings.workspace)
    params = ["--param", "NEstimators=10", "--param", "MaxDepth=3",
              "--param", "MseThreshold=1e11"]
    killed_at("lab.training._api:TrainingRequest.script_arguments",  # in the training step
              ["pipeline", "run", *params, "--workspace", ws])
    (execution,) = list_executions(settings)
    assert execution.status == "Failed" and execution.failure.startswith("Interrupted")
    described = describe_execution(settings, execution.id)
    assert described.steps["TrainModel"].status == "Failed"
    assert described.steps["TrainModel"].failure.startswith("Interrupted")
    assert described.steps["PreprocessData"].status == "Succeeded"
    proc = lab("pipeline", "run", *params, "--json", ws=ws)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "Succeeded"
    assert out["steps"]["PreprocessData"]["cache_hit"]  # the finished step is reused


def test_killed_mid_registry_write(trained):
    """Killed inside the registry's write transaction, after the artifact was copied:
    no version is recorded, and the next one takes the same number (no gap)."""
    from lab.registry import default_group, open_registry

    ws = str(trained.workspace)
    killed_at("lab.registry._local:_add_history", ["register", "--workspace", ws])
    registry = open_registry(trained)
    group = default_group(trained)
    assert registry.list_versions(group) == []
    first = json.loads(lab("register", "--json", ws=ws).stdout)["registry"]
    second = json.loads(lab("register", "--json", ws=ws).stdout)["registry"]
    assert (first["version"], second["version"]) == (1, 2)
    assert [v.version for v in registry.list_versions(group)] == [1, 2]


def test_killed_mid_prep_keeps_the_previous_outputs(prepared):
    from lab.processing import last_result

    ws = str(prepared.workspace)
    before = last_result(Workspace(ws))
    killed_at("lab.processing.preprocess:write_outputs",
              ["prep", "--random-state", "7", "--workspace", ws], after=True)
    assert last_result(Workspace(ws)) == before  # the old outputs, whole
    assert lab("prep", "--random-state", "7", "--json", ws=ws).returncode == 0
    leftovers = [p.name for p in Workspace(ws).processed_dir.parent.iterdir()
                 if p.name.startswith(".")]
    assert leftovers == []
