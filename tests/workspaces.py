"""The test suite's workspaces: empty, prepared, ingested, trained (a pytest plugin, loaded
by tests/conftest.py, so every test folder has the same fixtures).

The costly states are made once per test process (a session fixture or a cached template)
and copied per test; a copy's feature store is ingested again (each test gets a store of
its own, with the suite's event time).

    ws         an empty Workspace
    house_csv  the workshop's own dataset (../shared), or a skip saying where it should be
    prepared   Settings of a workspace holding the generated data, prepared (10,000 rows)
    small      Settings of a workspace with a small dataset (600 rows) prepared and ingested
    trained    Settings of a workspace with prepared data, feature groups and two real
               training runs (a small XGBoost and a small random forest)
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
HOUSE_CSV = SHARED / "datasets" / "house_pricing.csv"

SMALL_ROWS = 600
FAST_XGB = {"n_estimators": 20, "max_depth": 3}  # a real model, trained in milliseconds
FAST_FOREST = {"n_estimators": 10, "max_depth": 4}
EVENT_TIME = 1_700_000_000.0


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: to prove a failed step changed nothing."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def wait_until(predicate, timeout_s: float = 5.0, every_s: float = 0.01) -> bool:
    """Whether `predicate()` came true within `timeout_s` (asked every `every_s`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return predicate()


def wait_for_job(where, job_id: str, timeout: float = 120.0):
    """The job, once it has finished (a test's way to wait for a background job)."""
    from lab.jobs import JobStore
    from lab.workspace import Workspace

    store = JobStore(where if isinstance(where, Workspace) else Workspace(
        getattr(where, "workspace", where)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get(job_id)
        if job is not None and job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def make_small_workspace(root: Path, rows: int = SMALL_ROWS, ingest: bool = True):
    """A workspace holding a prepared small housing dataset, ingested into its store."""
    from lab.dataset import generate_housing
    from lab.featurestore import ingest_prepared
    from lab.processing import run_prep, use_dataset
    from lab.settings import Settings
    from lab.workspace import Workspace

    ws = Workspace(root)
    use_dataset(ws, generate_housing(rows=rows, seed=3), "small_housing", "PRICE", "generated")
    run_prep(ws)
    settings = Settings(workspace=ws.root)
    if ingest:
        ingest_prepared(settings)
    return settings


_templates: dict[str, Path] = {}
_lock = threading.Lock()


def _template(name: str, make) -> Path:
    """A workspace made once per test process by `make(root)`, removed at exit."""
    with _lock:
        if name not in _templates:
            import atexit

            root = Path(tempfile.mkdtemp(prefix=f"lab-test-{name}-")) / "ws"
            atexit.register(shutil.rmtree, root.parent, True)
            make(root)
            _templates[name] = root
        return _templates[name]


def _make_trained(root: Path) -> None:
    from lab import jobs
    from lab.featurestore import ingest_prepared
    from lab.processing import run_prep
    from lab.settings import Settings
    from lab.training import training_job
    from lab.workspace import Workspace

    settings = Settings(workspace=root)
    run_prep(Workspace(root))
    ingest_prepared(settings, event_time=EVENT_TIME)
    for algorithm, params in (("xgboost", FAST_XGB), ("random_forest", FAST_FOREST)):
        job = jobs.run(settings, training_job(settings, algorithm, params))
        assert job.status == "Completed", job.error


def copy_workspace(name: str, make, target: Path, ingest: bool, **settings_args):
    """A fresh copy of template `name`; its feature store ingested again when `ingest`."""
    from lab.featurestore import ingest_prepared
    from lab.settings import Settings

    shutil.copytree(_template(name, make), target,
                    ignore=shutil.ignore_patterns("featurestore"))
    if ingest:
        ingest_prepared(Settings(workspace=target), event_time=EVENT_TIME)
    return Settings(workspace=target, **settings_args)


def trained_settings(tmp_path: Path, backend: str = "local", **extra):
    """A copy of the trained workspace. Its runs keep pointing at the shared artifacts
    (tests only read them); its feature groups are ingested again (0.2 s)."""
    return copy_workspace("trained", _make_trained, Path(tmp_path) / "ws", True,
                          backend=backend, **extra)


def run_artifacts(settings) -> dict[str, str]:
    """algorithm -> model.tar.gz of its training run."""
    from lab.training import Experiments

    return {r.algorithm: r.artifact for r in Experiments(settings.workspace).list()}


@pytest.fixture
def ws(tmp_path):
    from lab.workspace import Workspace

    return Workspace(tmp_path / "workspace")


@pytest.fixture
def house_csv() -> Path:
    if not HOUSE_CSV.exists():
        pytest.skip(f"the workshop dataset is not at {HOUSE_CSV} (../shared beside the repo)")
    return HOUSE_CSV


@pytest.fixture
def prepared(tmp_path):
    """A fresh workspace holding the generated data, prepared (a copy of one preparation)."""
    from lab.processing import run_prep
    from lab.settings import Settings
    from lab.workspace import Workspace

    root = tmp_path / "prepared-ws"
    shutil.copytree(_template("prepared", lambda r: run_prep(Workspace(r))), root)
    return Settings(workspace=root)


@pytest.fixture
def small(tmp_path):
    """A fresh workspace with the small prepared data, ingested into its own store."""
    return copy_workspace("small", lambda r: make_small_workspace(r, ingest=False),
                          tmp_path / "ws", True)


@pytest.fixture
def trained(tmp_path):
    return trained_settings(tmp_path)
