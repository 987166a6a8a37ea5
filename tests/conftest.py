"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
HOUSE_CSV = SHARED / "datasets" / "house_pricing.csv"

# No test may reach AWS or the EC2 metadata address, whatever the machine has set.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


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
