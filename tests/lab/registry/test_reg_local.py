"""The local registry: groups, numbered versions, approval with history, bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from lab.registry import (
    APPROVED,
    PENDING,
    REJECTED,
    ArtifactError,
    InvalidNameError,
    InvalidStatusError,
    LocalRegistry,
    ModelGroupExistsError,
    ModelGroupNotFoundError,
    VersionNotFoundError,
)
from lab.training import load_model
from tests.workspaces import REPO, snapshot

GROUP = "lab-housing-models"


def test_a_registered_version_holds_the_model_and_its_facts(registry, artifacts, settings):
    registry.create_group(GROUP, "housing")
    source = {"run_id": "r1", "job_id": "j1"}

    version = registry.register(GROUP, artifacts["xgboost"], source=source, description="d")

    assert (version.group, version.version, version.status) == (GROUP, 1, PENDING)
    assert version.arn.endswith(f":model-package/{GROUP}/1")
    assert version.algorithm == "xgboost" and version.target == "PRICE"
    assert len(version.features) == 8 and "SQUARE_FEET" in version.features
    assert version.hyperparameters["max_depth"] == 3
    assert set(version.metrics) == {"validation", "test"}
    assert set(version.test_metrics) == {"mse", "rmse", "r2", "mae"}
    assert version.source == source and version.description == "d"
    assert version.content_types == ["text/csv"]
    assert version.response_types == ["application/json"]
    assert [(h.status, h.comment) for h in version.history] == [(PENDING, "Registered")]
    # The registry keeps its own copy: the job folder can go, the version stays usable.
    copy = Path(version.artifact)
    assert copy == settings.workspace / "registry" / GROUP / "1" / "model.tar.gz"
    assert copy.read_bytes() == Path(artifacts["xgboost"]).read_bytes()
    assert load_model(copy).features == version.features


def test_versions_are_numbered_per_group(registry, artifacts):
    registry.create_group(GROUP)
    registry.create_group("other-group")
    numbers = [registry.register(GROUP, artifacts[a]).version
               for a in ("xgboost", "random_forest", "xgboost")]
    assert numbers == [1, 2, 3]
    assert registry.register("other-group", artifacts["xgboost"]).version == 1
    assert [v.version for v in registry.list_versions(GROUP)] == [1, 2, 3]
    assert [v.algorithm for v in registry.list_versions(GROUP)] == [
        "xgboost", "random_forest", "xgboost"]
    assert {g.name: g.versions for g in registry.list_groups()} == {GROUP: 3, "other-group": 1}


def test_concurrent_registrations_get_distinct_numbers(settings, artifacts):
    LocalRegistry(settings).create_group(GROUP)
    numbers, errors = [], []

    def register():
        try:  # one registry object per thread, as separate Streamlit sessions have
            numbers.append(LocalRegistry(settings).register(
                GROUP, artifacts["xgboost"], metadata=_meta()).version)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(numbers) == [1, 2, 3, 4, 5, 6]


def _meta():
    return {"algorithm": "xgboost", "features": ["a", "b"], "target": "PRICE",
            "hyperparameters": {}, "metrics": {}}


def test_approval_history_keeps_who_when_and_why(registry, artifacts, monkeypatch):
    registry.create_group(GROUP)
    registry.register(GROUP, artifacts["xgboost"])
    monkeypatch.setenv("LAB_USER", "alice")

    registry.update_status(GROUP, 1, APPROVED, "beats the baseline")
    registry.update_status(GROUP, 1, REJECTED, "drift found", by="bob")
    version = registry.update_status(GROUP, 1, APPROVED)

    assert version.status == APPROVED
    assert [(h.status, h.comment, h.by) for h in version.history[1:]] == [
        (APPROVED, "beats the baseline", "alice"), (REJECTED, "drift found", "bob"),
        (APPROVED, "", "alice")]
    times = [h.at for h in version.history]
    assert times == sorted(times)


def test_approval_history_survives_a_restart(registry, artifacts, settings):
    registry.create_group(GROUP)
    registry.register(GROUP, artifacts["xgboost"])
    registry.update_status(GROUP, 1, APPROVED, "ok for production")

    code = ("import sys; from lab.registry import LocalRegistry; "
            "v = LocalRegistry(sys.argv[1]).describe_version('lab-housing-models', 1); "
            "print(v.status, '|', v.history[-1].comment)")
    out = subprocess.run([sys.executable, "-c", code, str(settings.workspace)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "Approved | ok for production"


@pytest.mark.parametrize("name", ["lab_models", "-lab", "lab-", "a" * 64, "", "x y", None])
def test_group_names_follow_sagemakers_rule(registry, name):
    with pytest.raises(InvalidNameError, match="letters, digits and hyphens"):
        registry.create_group(name)


def test_group_names_are_unique_whatever_the_case(registry):
    registry.create_group("Lab-Models")
    assert registry.create_group("lab-models").name == "Lab-Models"  # exist_ok: the same one
    with pytest.raises(ModelGroupExistsError):
        registry.create_group("LAB-MODELS", exist_ok=False)


def test_unknown_group_version_and_status_are_refused(registry, artifacts):
    with pytest.raises(ModelGroupNotFoundError, match="Register a trained model first"):
        registry.list_versions(GROUP)
    with pytest.raises(ModelGroupNotFoundError):
        registry.register(GROUP, artifacts["xgboost"])
    registry.create_group(GROUP)
    registry.register(GROUP, artifacts["xgboost"])
    with pytest.raises(VersionNotFoundError, match="its versions are 1"):
        registry.describe_version(GROUP, 7)
    with pytest.raises(VersionNotFoundError, match="not a version number"):
        registry.describe_version(GROUP, "latest")
    with pytest.raises(InvalidStatusError, match="PendingManualApproval, Approved, Rejected"):
        registry.update_status(GROUP, 1, "Deployed")
    assert registry.describe_version(GROUP, 1).status == PENDING


def test_a_bad_artifact_is_refused_and_nothing_is_written(registry, settings, tmp_path):
    registry.create_group(GROUP)
    folder = Path(settings.workspace) / "incoming"  # artifacts load only from the workspace
    folder.mkdir()
    not_a_tar = folder / "model.tar.gz"
    not_a_tar.write_text("hello")
    no_model_json = folder / "empty.tar.gz"
    with tarfile.open(no_model_json, "w:gz") as tar:
        tar.add(__file__, arcname="notes.py")
    outside = tmp_path / "outside.tar.gz"
    shutil.copyfile(no_model_json, outside)
    before = snapshot(settings.workspace)

    for path, message in ((not_a_tar, "not a readable model.tar.gz"),
                          (no_model_json, "no readable model.json"),
                          (folder / "missing.tar.gz", "There is no model artifact"),
                          (outside, "not in this workspace")):
        with pytest.raises(ArtifactError, match=message):
            registry.register(GROUP, path)
    assert snapshot(settings.workspace) == before


def test_a_version_does_not_depend_on_its_training_job(registry, artifacts):
    registry.create_group(GROUP)
    version = registry.register(GROUP, artifacts["xgboost"])
    job_dir = Path(artifacts["xgboost"]).parent
    shutil.move(job_dir, job_dir.with_name(job_dir.name + "-gone"))
    try:
        assert load_model(registry.describe_version(GROUP, 1).artifact).algorithm == "xgboost"
    finally:
        shutil.move(job_dir.with_name(job_dir.name + "-gone"), job_dir)
    assert version.artifact != artifacts["xgboost"]
