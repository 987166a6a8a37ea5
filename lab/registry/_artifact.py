"""What the registry needs to know about a model artifact, read with the training's loader.

The artifact contract belongs to `lab.training.artifact`; the registry only asks it to load
the file (which proves the model can be served) and keeps the facts from model.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.errors import InputError
from lab.registry._errors import ArtifactError


def describe_artifact(path: str | Path, within: str | Path | None = None) -> dict[str, Any]:
    """model.json of a model.tar.gz that loads; ArtifactError saying why when it does not.
    With `within`, only an artifact under that folder (the workspace) is loaded at all."""
    from lab.training.artifact import load_model

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"There is no model artifact at {path}: train a model first, or "
                            "give the path of its model.tar.gz.")
    try:
        model = load_model(path, within=within)
    except InputError as exc:
        raise ArtifactError(f"{path.name} cannot be registered: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a damaged model file fails inside its library
        raise ArtifactError(f"{path.name} cannot be registered: its model does not load "
                            f"({type(exc).__name__}: {exc}).") from None
    meta = dict(model.metadata)
    meta["algorithm"], meta["features"] = model.algorithm, list(model.features)
    return meta
