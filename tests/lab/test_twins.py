"""One rule picks an implementation: a backend-name to class map per capability."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lab.errors import BackendError
from lab.settings import Settings
from lab.twins import open_twin, twin_class
from tests.workspaces import REPO

CAPABILITIES = {"processing": "open_processing", "featurestore": "open_featurestore",
                "training": "open_training", "tuning": "open_tuning",
                "registry": "open_registry", "serving": "open_endpoints",
                "pipelines": "open_pipelines"}


def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(BackendError, match="Unknown backend 'azure': choose one of local, "
                                           "sagemaker"):
        twin_class({"local": "lab.twins:Twin"}, "azure")


def test_the_local_backend_never_imports_a_sagemaker_twin_or_a_cloud_sdk(tmp_path):
    opens = "; ".join(f"from lab.{c} import {o}; {o}(s)" for c, o in CAPABILITIES.items())
    code = (f"from lab.settings import Settings; s = Settings(workspace={str(tmp_path)!r}); "
            f"{opens}; import sys; print(sorted(m for m in sys.modules if m.endswith("
            "'._sagemaker') or m.split('.')[0] in ('boto3', 'botocore', 'sagemaker')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
def test_a_sagemaker_twin_opens_without_aws_and_names_resources_per_workspace(
        capability, tmp_path):
    """Opening is free (no session, no call): a page may open one just to ask it."""
    import importlib

    package = importlib.import_module(f"lab.{capability}")
    settings = Settings(workspace=tmp_path / "ws", backend="sagemaker")
    twin = open_twin(package.IMPLEMENTATIONS, settings)
    assert twin.backend == "sagemaker" and twin.label == "SageMaker"
    assert twin._session is None
    local = twin_class(package.IMPLEMENTATIONS, "local")
    assert local.resource_name(settings, "lab-x") == "lab-x"
    assert type(twin).resource_name(settings, "lab-x").startswith("lab-x-")
