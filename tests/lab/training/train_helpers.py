"""Fixtures and data of the training tests (imported by the test modules themselves: a
module with a name of its own, since test folders without __init__ share one namespace).

Most tests train on a small generated dataset (600 rows: 360/120/120), prepared and
ingested into the local feature store once per session, then copied per test. The facts
that need the workshop's numbers use its CSV (test_train_workshop.py).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from lab.dataset import generate_housing
from lab.featurestore import ingest_prepared
from lab.jobs import JobStore
from lab.prep import run_prep, use_dataset
from lab.settings import Settings
from lab.workspace import Workspace

SMALL_ROWS = 600
FAST_XGB = {"n_estimators": 20, "max_depth": 3}  # a real model, trained in milliseconds
FAST_FOREST = {"n_estimators": 10, "max_depth": 4}


def make_small_workspace(root: Path, rows: int = SMALL_ROWS, ingest: bool = True) -> Settings:
    """A workspace holding a prepared small housing dataset, ingested into its store."""
    ws = Workspace(root)
    use_dataset(ws, generate_housing(rows=rows, seed=3), "small_housing", "PRICE", "generated")
    run_prep(ws)
    settings = Settings(workspace=ws.root)
    if ingest:
        ingest_prepared(settings)
    return settings


@pytest.fixture(scope="session")
def small_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train-template") / "ws"
    make_small_workspace(root, ingest=False)
    return root


@pytest.fixture
def small(small_template, tmp_path) -> Settings:
    """A fresh workspace with the small prepared data, ingested into its own feature store
    (the store records absolute paths, so it is made per test rather than copied)."""
    root = tmp_path / "ws"
    shutil.copytree(small_template, root)
    settings = Settings(workspace=root)
    ingest_prepared(settings)
    return settings


def wait_for(ws: Workspace, job_id: str, timeout: float = 120.0):
    store = JobStore(ws)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get(job_id)
        if job is not None and job.finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


FAILING_SCRIPT = """\
import sys
print("train: 360 rows, 8 features", flush=True)
print("ERROR: out of memory while growing tree 3 (simulated)", flush=True)
sys.exit(1)
"""
