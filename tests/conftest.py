"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
HOUSE_CSV = SHARED / "datasets" / "house_pricing.csv"


def _isolate_from_the_machine() -> None:
    """Nothing the machine or its user set up reaches a test: no AWS profile, keys or
    ~/.aws files, no EC2 metadata address, no LAB_* setting (a developer's LAB_BACKEND or
    LAB_WORKSPACE would change what the tests run). Tests that need AWS-like settings set
    them themselves, inside the test."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "LAB_", "SAGEMAKER_")):
            del os.environ[name]
    os.environ.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                      AWS_EC2_METADATA_DISABLED="true")


_isolate_from_the_machine()


@pytest.fixture
def ws(tmp_path):
    from lab.workspace import Workspace

    return Workspace(tmp_path / "workspace")


@pytest.fixture
def house_csv() -> Path:
    if not HOUSE_CSV.exists():
        pytest.skip(f"the workshop dataset is not at {HOUSE_CSV} (../shared beside the repo)")
    return HOUSE_CSV


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: to prove a failed step changed nothing."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}
