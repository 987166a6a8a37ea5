"""Test helpers of the registry, the endpoints and the registry page (one module, imported
by name: a conftest is not importable once several test folders have one).

`trained_root()` makes, once per test process, a workspace that went through the lab's own
steps: prepared data, feature groups, and two real training runs (the training package's
`run_training_job`: a small XGBoost and a small random forest). Tests work on copies.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from lab.settings import Settings
from tests.aws_helpers import skip_without_aws_packages  # noqa: F401 (re-exported)

XGB = ("xgboost", {"n_estimators": 20, "max_depth": 3})
FOREST = ("random_forest", {"n_estimators": 10, "max_depth": 4})
EVENT_TIME = 1_700_000_000.0
_root: Path | None = None
_lock = threading.Lock()

# The SageMaker twins' tests (moto).
REGION, BUCKET, ACCOUNT = "us-east-1", "lab-registry-bucket", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/LabSageMakerRole"
TELEMETRY_OPT_OUT = ("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n"
                     "      TelemetryOptOut: true\n")
AWS_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")


def trained_root() -> Path:
    """A workspace with prepared data, feature groups and two training runs (made once)."""
    global _root
    with _lock:
        if _root is None:
            from lab.featurestore import ingest_prepared
            from lab.prep import run_prep
            from lab.training import run_training_job
            from lab.workspace import Workspace

            root = Path(tempfile.mkdtemp(prefix="lab-reg-trained-")) / "ws"
            atexit.register(shutil.rmtree, root.parent, True)
            settings = Settings(workspace=root)
            run_prep(Workspace(root))
            ingest_prepared(settings, event_time=EVENT_TIME)
            for algorithm, params in (XGB, FOREST):
                job = run_training_job(settings, algorithm, params)
                assert job.status == "Completed", job.error
            _root = root
    return _root


def trained_settings(tmp_path: Path, backend: str = "local", **extra) -> Settings:
    """A fresh copy of the trained workspace. Its runs keep pointing at the shared artifacts
    (tests only read them); its feature groups are ingested again (0.2 s), since a store
    reads only the offline files under its own workspace."""
    from lab.featurestore import ingest_prepared

    target = Path(tmp_path) / "ws"
    shutil.copytree(trained_root(), target, ignore=shutil.ignore_patterns("featurestore"))
    ingest_prepared(Settings(workspace=target), event_time=EVENT_TIME)
    return Settings(workspace=target, backend=backend, **extra)


def run_artifacts(settings: Settings) -> dict[str, str]:
    """algorithm -> model.tar.gz of its training run."""
    from lab.training import Experiments

    return {r.algorithm: r.artifact for r in Experiments(settings.workspace).list()}


def set_aws_env(monkeypatch, tmp_path: Path) -> None:
    """The SageMaker note's test environment, cut off from the machine's AWS setup."""
    for name in AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    config = Path(tmp_path) / "sagemaker-config.yaml"
    config.write_text(TELEMETRY_OPT_OUT)
    for name, value in {
        "AWS_CONFIG_FILE": str(Path(tmp_path) / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(Path(tmp_path) / "no-aws-credentials"),
        "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1", "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
    }.items():
        monkeypatch.setenv(name, value)
