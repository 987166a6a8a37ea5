"""CI/CD for models, in small: a change starts the gated pipeline.

In a team the pipeline's parameters and the training code live in source control; a push
is a commit, and a webhook starts a build (CodePipeline, GitHub Actions, the CodeBuild of a
SageMaker Project) that upserts the pipeline and starts an execution. The gates run, and
only a model that passes them reaches the registry, where a person approves it.

The lab plays that on its own objects. The committed parameters (`ci_commit`, kept in
`<workspace>/ci/state.json`) and the code the pipeline runs (each script's hash) make a
fingerprint. `ci_trigger_job`, the webhook, compares it with the fingerprint of the last
build it started: if something changed it starts the gated pipeline with the committed
parameters and records the build; if nothing changed it starts nothing, and says so.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from lab import jobs
from lab.errors import InputError
from lab.pipelines.definition import GATED_PIPELINE
from lab.workspace import Workspace, read_json, write_json_atomic

STATE = ("ci", "state.json")
KINDS = ("processing", "training", "evaluation", "data_quality", "model_quality")


@dataclass(frozen=True)
class CiStatus:
    committed: dict[str, Any]  # the parameters in "source control"
    code: dict[str, str]  # step kind -> hash of its scripts (12 hex)
    fingerprint: str
    last_build: dict[str, Any] | None  # the fingerprint, changes and job of the last build
    changes: list[str]  # what differs from the last build, in words

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "changed": self.changed}


def _state(settings: Any) -> dict[str, Any]:
    return read_json(Workspace(settings.workspace).path(*STATE), default={}) or {}


def _save(settings: Any, state: dict[str, Any]) -> None:
    path = Workspace(settings.workspace).path(*STATE)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, state)


def code_hashes() -> dict[str, str]:
    from lab.pipelines._local import code_hash

    return {kind: code_hash(kind)[:12] for kind in KINDS}


def ci_commit(settings: Any, parameters: dict[str, Any], message: str = "") -> dict[str, Any]:
    """Commit pipeline parameters (checked first: a bad value is refused, nothing kept)."""
    values = GATED_PIPELINE.resolve_parameters(parameters)
    defaults = GATED_PIPELINE.defaults()
    changed = {k: v for k, v in values.items() if v != defaults.get(k)}
    state = _state(settings)
    commit = {"parameters": changed, "message": message or "Change the pipeline's parameters",
              "at": time.time()}
    commit["id"] = hashlib.sha256(json.dumps(commit, sort_keys=True).encode()).hexdigest()[:8]
    state["committed"] = commit
    _save(settings, state)
    return commit


def ci_status(settings: Any) -> CiStatus:
    state = _state(settings)
    committed = (state.get("committed") or {}).get("parameters", {})
    code = code_hashes()
    fingerprint = hashlib.sha256(json.dumps({"parameters": committed, "code": code},
                                            sort_keys=True).encode()).hexdigest()[:12]
    last = state.get("last_build")
    changes = []
    if last is None:
        changes.append("no build has run yet")
    elif last.get("fingerprint") != fingerprint:
        before = last.get("parameters", {})
        for key in sorted(set(before) | set(committed)):
            if before.get(key) != committed.get(key):
                changes.append(f"parameter {key}: {before.get(key, 'default')} -> "
                               f"{committed.get(key, 'default')}")
        for kind, digest in code.items():
            if last.get("code", {}).get(kind) != digest:
                changes.append(f"{kind} code changed ({last.get('code', {}).get(kind)} -> "
                               f"{digest})")
    return CiStatus(committed, code, fingerprint, last, changes)


def ci_trigger_job(settings: Any) -> jobs.JobSpec:
    """What the webhook does: a gated execution with the committed parameters when the
    fingerprint changed since the last build; InputError when nothing changed."""
    from lab.pipelines._job import pipeline_job

    status = ci_status(settings)
    if not status.changed:
        raise InputError("Nothing changed since the last build (same parameters, same code): "
                         "a CI trigger starts nothing. Commit a parameter change, or change "
                         "the training code, first.")
    spec = pipeline_job(settings, status.committed, gated=True)
    state = _state(settings)
    state["last_build"] = {"fingerprint": status.fingerprint, "parameters": status.committed,
                           "code": status.code, "changes": status.changes,
                           "at": time.time()}
    _save(settings, state)
    return spec
