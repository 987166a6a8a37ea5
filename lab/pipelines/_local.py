"""The local twin of SageMaker Pipelines: a definition run as a DAG, with step caching.

Steps start as soon as what they depend on has succeeded (independent steps run at the same
time, in a small thread pool). Before a cacheable step runs, its cache key (its code, its
resolved inputs, its parameters) is looked up: a Succeeded run of the same step with the
same key, ended within the expiry, is reused (its outputs, metrics and log), and the step is
recorded as Succeeded with the source execution, without running. A failed step fails the
execution: nothing new starts, the steps already running finish.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from lab import jobs
from lab.errors import InputError, LabError
from lab.pipelines._runners import CODE, PREPARE, RUNNERS, StepContext, warm_up
from lab.pipelines._store import (
    EXECUTING,
    FAILED,
    STOPPED,
    SUCCEEDED,
    Execution,
    PipelineStore,
    StepRecord,
)
from lab.pipelines.definition import (
    CACHE_EXPIRY_S,
    ConditionStep,
    JsonGet,
    Param,
    PipelineDef,
    Prop,
    Step,
)
from lab.twins import Twin
from lab.workspace import Workspace

MAX_PARALLEL = 2  # the workshop machine has two cores


def code_hash(kind: str) -> str:
    digest = hashlib.sha256(kind.encode())
    for path in CODE.get(kind, []):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def cache_key(step: Step, resolved: dict[str, Any], upstream: dict[str, StepRecord]) -> str:
    """sha256 of the step's code, its inputs (an upstream output by the key of the step that
    produced it; a file by its content hash) and its parameters."""
    identity = {}
    for name, value in resolved.items():
        source = step.inputs.get(name)
        if isinstance(source, Prop):
            identity[name] = f"{upstream[source.step].cache_key}:{source.key}"
        elif name != "file":  # the dataset file counts by its content hash (input_sha256)
            identity[name] = value
    text = json.dumps({"step": step.name, "code": code_hash(step.kind), "inputs": identity},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def json_get(path: str, json_path: str) -> float:
    value: Any = json.loads(Path(path).read_text())
    for part in json_path.split("."):
        value = value[part]
    return float(value)


class LocalPipelines(Twin):
    note = None  # the page explains the local executor itself

    def execute(self, ctx: jobs.JobContext, defn: PipelineDef, execution: Execution,
                runners: dict[str, Callable] | None = None) -> Execution:
        return Executor(self.settings, defn, execution, ctx, runners).run()

    def definition(self, defn: PipelineDef, parameters: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        return defn.to_json()

    def export(self, folder: Path, defn: PipelineDef,
               parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """The lab's own definition as DIR/definition.json (its steps read the workspace)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "definition.json").write_text(json.dumps(defn.to_json(), indent=2))
        return {"definition": str(folder / "definition.json"), "objects": []}

    def retry(self, ctx: jobs.JobContext, defn: PipelineDef, execution_id: str) -> Execution:
        raise InputError("Retry is SageMaker's: on the local backend start the pipeline again; "
                       "its cache reuses every step that succeeded.")

    def code(self) -> list:
        return [Executor.run, cache_key]


class Executor:
    def __init__(self, settings: Any, defn: PipelineDef, execution: Execution,
                 job_ctx: jobs.JobContext, runners: dict[str, Callable] | None = None) -> None:
        self.settings, self.defn, self.ex, self.job_ctx = settings, defn, execution, job_ctx
        self.ws = Workspace(settings.workspace)
        self.store = PipelineStore(self.ws)
        self.runners = runners or RUNNERS
        self.records: dict[str, StepRecord] = {}
        self.branch: dict[str, bool] = {}  # condition step -> outcome

    def folder(self, step: str) -> Path:
        return self.ws.path("pipelines", self.ex.id, step)

    def run(self) -> Execution:
        defn, gated = self.defn, self.defn.gated()
        pending = {s.name for s in defn.steps}
        running: dict[Any, str] = {}
        failure: str | None = None
        if any(s.kind == "evaluation" for s in defn.steps):
            threading.Thread(target=warm_up, daemon=True, name="lab-pipe-warm-up").start()
        with ThreadPoolExecutor(MAX_PARALLEL, thread_name_prefix="lab-pipe") as pool:
            while pending or running:
                if failure is None and not self.job_ctx.cancelled:
                    for name in sorted(pending):
                        state = self._readiness(name, gated)
                        if state == "skip":
                            pending.discard(name)
                        elif state == "ready":
                            pending.discard(name)
                            running[pool.submit(self._run_step, defn.step(name))] = name
                elif not running:
                    break
                if not running:
                    if pending and all(self._readiness(n, gated) == "wait" for n in pending):
                        break  # nothing can start any more (an upstream did not succeed)
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED, timeout=0.5)
                for future in done:
                    name = running.pop(future)
                    rec = future.result()
                    if rec.status != SUCCEEDED and failure is None:
                        failure = f"Step {name} {rec.status.lower()}: {rec.failure}"
        if self.job_ctx.cancelled:
            status, failure = STOPPED, "Stopped on request."
        else:
            status = FAILED if failure else SUCCEEDED
        self.store.finish_execution(self.ex.id, status, failure)
        return self.store.get(self.ex.id)

    def _readiness(self, name: str, gated: dict[str, str]) -> str:
        step = self.defn.step(name)
        for up in step.upstream():
            rec = self.records.get(up)
            if rec is None or rec.status != SUCCEEDED:
                return "wait"
        if name in gated:
            cond = gated[name]
            if cond not in self.branch:
                return "wait"
            cstep = self.defn.step(cond)
            chosen = cstep.if_steps if self.branch[cond] else cstep.else_steps
            return "ready" if name in chosen else "skip"
        return "ready"

    def _resolve(self, step: Step) -> dict[str, Any]:
        resolved = {}
        for name, source in step.inputs.items():
            if isinstance(source, Param):
                resolved[name] = self.ex.parameters[source.name]
            elif isinstance(source, Prop):
                resolved[name] = self.records[source.step].outputs[source.key]
            else:
                resolved[name] = source
        prepare = PREPARE.get(step.kind)
        return prepare(self.settings, resolved) if prepare else resolved

    def _run_step(self, step: Step | ConditionStep) -> StepRecord:
        rec = StepRecord(self.ex.id, step.name, step.kind, EXECUTING, time.time())
        self.records[step.name] = rec
        try:
            if isinstance(step, ConditionStep):
                return self._condition(step, rec)
            rec.inputs = self._resolve(step)
            if step.cacheable:
                rec.cache_key = cache_key(step, rec.inputs, self.records)
                hit = self.store.cache_lookup(self.defn.name, step.name, rec.cache_key,
                                              CACHE_EXPIRY_S, exclude=self.ex.id)
                if hit is not None:
                    rec.cache_source = hit.cache_source or hit.execution
                    rec.outputs, rec.metrics, rec.log_path = hit.outputs, hit.metrics, hit.log_path
                    rec.status, rec.ended = SUCCEEDED, time.time()
                    self.job_ctx.log(f"[{step.name}] cache hit: reusing the outputs of "
                                     f"execution {rec.cache_source}")
                    self.store.save_step(rec)
                    return rec
            ctx = StepContext(self.job_ctx, self.ex.id, step.name, self.folder(step.name))
            rec.log_path = str(ctx.log_path)
            self.store.save_step(rec)
            rec.outputs, rec.metrics = self.runners[step.kind](ctx, self.settings, rec.inputs)
            rec.status = SUCCEEDED
        except jobs.JobCancelled:
            rec.status, rec.failure = STOPPED, "Stopped on request."
        except LabError as exc:
            rec.status, rec.failure = FAILED, str(exc)
            rec.metrics = getattr(exc, "metrics", None) or rec.metrics  # a gate's numbers
            rec.outputs = getattr(exc, "outputs", None) or rec.outputs
        except Exception as exc:  # a bug: the message says where to look
            rec.status = FAILED
            rec.failure = f"Unexpected error ({type(exc).__name__}: {exc})."
        if rec.failure and rec.log_path:
            with open(rec.log_path, "a") as fh:
                fh.write(f"ERROR: {rec.failure}\n")
        rec.ended = time.time()
        self.store.save_step(rec)
        return rec

    def _json_get(self, ref: JsonGet) -> float:
        path = self.records[ref.step].outputs["property_files"][ref.property_file]
        return json_get(path, ref.json_path)

    def _condition(self, step: ConditionStep, rec: StepRecord) -> StepRecord:
        left = self._json_get(step.left)
        if isinstance(step.right, JsonGet):
            right = self._json_get(step.right)
            shown = f"JsonGet({step.right.property_file}, {step.right.json_path})"
        else:
            right = float(self.ex.parameters[step.right.name])
            shown = f"Parameters.{step.right.name}"
        outcome = step.holds(left, right)
        self.branch[step.name] = outcome
        rec.inputs = {"left": f"JsonGet({step.left.property_file}, {step.left.json_path})",
                      "op": step.op, "right": shown}
        rec.outputs = {"outcome": outcome, "left": left, "right": right,
                       "branch": list(step.if_steps if outcome else step.else_steps)}
        rec.status, rec.ended = SUCCEEDED, time.time()
        self.job_ctx.log(f"[{step.name}] {left:,.0f} {step.op} {right:,.0f}: {outcome}")
        self.store.save_step(rec)
        return rec
