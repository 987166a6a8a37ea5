"""Many sessions at once: twenty in their own workspaces (threads of one process, as a
Streamlit server runs them), and four processes in one workspace (what several tabs and
a terminal do). Bounded in count and time; everything on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from lab import jobs
from lab.settings import Settings
from lab.workspace import Workspace
from tests.workspaces import REPO

SESSIONS = 20


def _whole_lab(root: Path, i: int) -> dict:
    """One learner's way through the lab, with the functions the pages call: their own
    data, prepared, ingested, trained, registered, approved, deployed and invoked."""
    from lab.dataset import generate_housing
    from lab.featurestore import ingest_job, open_featurestore
    from lab.processing import run_prep, use_dataset
    from lab.registry import APPROVED, register_model, set_approval
    from lab.serving import delete_endpoint, deploy_model, predict_offline
    from lab.training import load_model, training_job

    ws = Workspace(root / f"session{i:02d}")
    settings = Settings(workspace=ws.root)
    rows = 200 + 10 * i
    dataset = use_dataset(ws, generate_housing(rows=rows, seed=i), f"session{i}.csv", "PRICE",
                          "upload")
    prep = run_prep(ws)
    jobs.run(settings, ingest_job(settings)).outcome()
    trained = jobs.run(settings, training_job(settings, "xgboost",
                                              {"n_estimators": 5, "max_depth": 2})).outcome()
    version = register_model(settings)
    set_approval(settings, version.version, APPROVED, f"session {i}")
    endpoint = deploy_model(settings, version.version)
    try:
        prediction = predict_offline(settings, 3)
    finally:
        delete_endpoint(settings, endpoint.name)
    store = open_featurestore(settings)
    groups = {g.name: (g.offline_rows, g.online_rows) for g in store.list_groups()}
    store.close()
    model = load_model(version.artifact)
    return {"rows": rows, "dataset": dataset.name, "prep_rows": sum(prep.rows.values()),
            "groups": groups, "prep": prep.rows, "run": trained["run_id"],
            "version": version.version, "endpoint_url": endpoint.url,
            "predicted": [r["prediction"] for r in prediction.rows],
            "features": prediction.rows, "model": model}


def test_twenty_sessions_run_the_lab_at_once_with_separate_results(tmp_path):
    started = time.monotonic()
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(lambda i: _whole_lab(tmp_path, i), range(SESSIONS)))
    elapsed = time.monotonic() - started
    urls = set()
    for i, result in enumerate(results):
        assert result["dataset"] == f"session{i}"
        assert result["prep_rows"] == result["rows"]  # its own data, every row
        expected = {f"lab-{s}": (n, n) for s, n in result["prep"].items()}
        assert result["groups"] == expected  # its own store, its own rows only
        assert result["version"] == 1  # its own registry
        assert len(result["predicted"]) == 3
        urls.add(result["endpoint_url"])
    assert len(urls) == SESSIONS  # one runtime server (one port) per workspace
    for i in range(SESSIONS):
        own = (tmp_path / f"session{i:02d}").resolve()
        for db in own.glob("*.db"):
            text = db.read_bytes()
            others = [j for j in range(SESSIONS)
                      if j != i and f"session{j:02d}".encode() in text]
            assert others == [], (db, others)  # nothing points into another workspace
    print(f"{SESSIONS} sessions in {elapsed:.1f} s")


# --- four sessions in one workspace, in processes ----------------------------------------------

def _cli(ws: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lab", *args, "--workspace", str(ws)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _loop(ws: Path, times: int, *args: str) -> list[tuple[int, str, str]]:
    out = []
    for _ in range(times):
        proc = _cli(ws, *args)
        stdout, stderr = proc.communicate(timeout=240)
        out.append((proc.returncode, stdout, stderr))
    return out


def test_four_sessions_in_one_workspace_keep_every_store_consistent(trained):
    """Ingesting, training, a pipeline and registering at once, as four processes, while
    this process registers from threads: no 'database is locked', no temporary file left,
    stores that open and answer, and registry versions unique and without a gap."""
    from lab.featurestore import open_featurestore
    from lab.registry import default_group, open_registry, register_model

    ws = Path(trained.workspace)
    store = open_featurestore(trained)
    per_ingest = store.describe_group("lab-train").offline_rows
    store.close()
    open_registry(trained).create_group(default_group(trained))
    work = {
        "ingest": lambda: _loop(ws, 1, "features", "ingest", "--json"),
        "train": lambda: _loop(ws, 1, "train", "--hp", "n_estimators=5", "--json"),
        "pipeline": lambda: _loop(ws, 1, "pipeline", "run", "--param", "NEstimators=5",
                                  "--param", "MaxDepth=2", "--param", "MseThreshold=1e12",
                                  "--json"),
        "register": lambda: _loop(ws, 2, "register", "--json"),
    }
    registered_here: list[int] = []
    errors: list[BaseException] = []

    def register_from_threads() -> None:
        try:
            for _ in range(3):
                registered_here.append(register_model(trained).version)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def ingest_from_a_thread() -> None:
        from lab.featurestore import ingest_prepared

        try:
            for _ in range(2):
                ingest_prepared(trained)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register_from_threads) for _ in range(2)]
    threads.append(threading.Thread(target=ingest_from_a_thread))
    with ThreadPoolExecutor(len(work)) as pool:
        futures = {name: pool.submit(fn) for name, fn in work.items()}
        for t in threads:
            t.start()
        results = {name: f.result() for name, f in futures.items()}
    for t in threads:
        t.join()
    assert not errors, errors[0]
    for name, runs in results.items():
        for code, stdout, stderr in runs:
            assert "database is locked" not in stderr, (name, stderr[-2000:])
            assert code == 0, (name, stderr[-2000:])
            json.loads(stdout)
    pipeline = json.loads(results["pipeline"][0][1])
    assert pipeline["status"] == "Succeeded"

    versions = [v.version for v in open_registry(trained).list_versions(default_group(trained))]
    cli_versions = [json.loads(r[1])["registry"]["version"] for r in results["register"]]
    pipeline_version = pipeline["summary"]["registered_version"]
    assert versions == list(range(1, len(versions) + 1))  # unique, gap-free
    assert sorted([*cli_versions, *registered_here, pipeline_version]) == versions

    store = open_featurestore(trained)
    offline = store.describe_group("lab-train").offline_rows
    assert offline % per_ingest == 0 and offline >= 3 * per_ingest  # whole ingests only
    count = store.query('SELECT count(*) AS n FROM "lab-train"').frame["n"][0]
    assert count == offline
    assert np.isfinite(store.get_record("lab-train", 0).values["PRICE"])
    store.close()
    leftovers = [str(p.relative_to(ws)) for p in ws.rglob("*")
                 if p.name.endswith(".tmp") or ".new-" in p.name or ".old-" in p.name]
    assert leftovers == []
