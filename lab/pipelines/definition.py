"""The lab's pipelines declared as data: parameters, steps, properties, a condition, caching.

Both executors read these declarations: the local one (`executor.py`) runs them as a DAG,
the SageMaker compiler (`_sagemaker.py`) turns them into an SDK v2 `Pipeline`.
A step input is a literal, a `Param("Name")` (resolved at launch) or a `Prop("Step", "key")`
(an output of an earlier step), the way SageMaker passes `properties` between steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from lab.errors import ParameterError

CACHE_EXPIRY = "PT12H"  # the workshop's CacheConfig(enable_caching=True, expire_after="PT12H")
CACHE_EXPIRY_S = 12 * 3600
MSE_THRESHOLD = 320_000_000.0  # the workshop's condition: MSE <= 320,000,000


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # "Integer", "Float" or "String", SageMaker's parameter types
    default: Any
    help: str = ""

    def parse(self, value: Any) -> Any:
        """`value` (possibly text from a form or `--param K=V`) as this parameter's type."""
        try:
            if self.type == "Integer":
                number = float(value)
                if not number.is_integer() or isinstance(value, bool):
                    raise ValueError
                return int(number)
            if self.type == "Float":
                return float(value)
        except (TypeError, ValueError):
            what = "a whole number" if self.type == "Integer" else "a number"
            raise ParameterError(f"{self.name} must be {what} (got {value!r}).") from None
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Param:
    name: str


@dataclass(frozen=True)
class Prop:
    step: str
    key: str  # an output of that step (a folder, a file, a value)


@dataclass(frozen=True)
class Step:
    name: str
    kind: str  # processing, training, evaluation, register, latest_approved, deploy
    inputs: dict[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    cacheable: bool = True
    property_file: str | None = None  # e.g. EvaluationReport -> evaluation.json
    description: str = ""

    def upstream(self) -> set[str]:
        return set(self.depends_on) | {v.step for v in self.inputs.values() if isinstance(v, Prop)}


@dataclass(frozen=True)
class JsonGet:
    step: str
    property_file: str
    json_path: str


@dataclass(frozen=True)
class ConditionStep:
    name: str
    left: JsonGet
    op: str  # "LessThanOrEqualTo" (the workshop's), or "GreaterThanOrEqualTo"
    right: Param | JsonGet  # a parameter, or another value of a property file
    if_steps: tuple[str, ...] = ()
    else_steps: tuple[str, ...] = ()
    kind: str = "condition"
    cacheable: bool = False
    description: str = ""

    def upstream(self) -> set[str]:
        return {self.left.step} | ({self.right.step} if isinstance(self.right, JsonGet)
                                   else set())

    def holds(self, left: float, right: float) -> bool:
        return {"LessThanOrEqualTo": left <= right, "GreaterThanOrEqualTo": left >= right,
                "LessThan": left < right, "GreaterThan": left > right}[self.op]


@dataclass(frozen=True)
class PipelineDef:
    name: str
    parameters: tuple[Parameter, ...]
    steps: tuple[Step | ConditionStep, ...]
    description: str = ""
    cache_expiry: str = CACHE_EXPIRY
    variant: str = ""  # "gated": the training pipeline with its quality gates

    def step(self, name: str) -> Step | ConditionStep:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def resolve_parameters(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overridden by `overrides` (checked: unknown names and bad types refused)."""
        known = {p.name: p for p in self.parameters}
        values = self.defaults()
        for key, value in (overrides or {}).items():
            if key not in known:
                raise ParameterError(f"The pipeline {self.name} has no parameter {key!r}: use "
                                     f"{', '.join(known)}.")
            values[key] = known[key].parse(value)
        return values

    def stamped(self, name: str, defaults: dict[str, Any] | None = None,
                description: str = "") -> PipelineDef:
        """This pipeline under another name, with other defaults (checked): what a project
        template stamps for a team (SageMaker Projects: one template, a pipeline each)."""
        values = self.resolve_parameters(defaults)
        return replace(self, name=name, description=description or self.description,
                       parameters=tuple(replace(p, default=values[p.name])
                                        for p in self.parameters))

    def edges(self) -> list[tuple[str, str, str]]:
        """(from, to, label) for drawing: data/dependency edges and the condition's branches."""
        out = []
        for s in self.steps:
            for up in sorted(s.upstream()):
                out.append((up, s.name, ""))
            if isinstance(s, ConditionStep):
                out += [(s.name, t, "if true") for t in s.if_steps]
                out += [(s.name, t, "else") for t in s.else_steps]
        return out

    def gated(self) -> dict[str, str]:
        """Steps that run only on a branch: step -> condition step."""
        return {t: s.name for s in self.steps if isinstance(s, ConditionStep)
                for t in (*s.if_steps, *s.else_steps)}

    def to_json(self) -> dict[str, Any]:
        def value(v):
            if isinstance(v, Param):
                return {"Get": f"Parameters.{v.name}"}
            if isinstance(v, Prop):
                return {"Get": f"Steps.{v.step}.{v.key}"}
            if isinstance(v, JsonGet):
                return {"JsonGet": {"Step": v.step, "PropertyFile": v.property_file,
                                    "Path": v.json_path}}
            return v

        steps = []
        for s in self.steps:
            item = {"Name": s.name, "Kind": s.kind, "Cacheable": s.cacheable}
            if isinstance(s, ConditionStep):
                item.update(Condition={"Type": s.op, "LeftValue": value(s.left),
                                       "RightValue": value(s.right)},
                    IfSteps=list(s.if_steps), ElseSteps=list(s.else_steps))
            else:
                item["Inputs"] = {k: value(v) for k, v in s.inputs.items()}
                item["DependsOn"] = sorted(s.upstream())
                if s.property_file:
                    item["PropertyFile"] = s.property_file
            steps.append(item)
        return {"Name": self.name, **({"Variant": self.variant} if self.variant else {}),
                "Parameters": [
            {"Name": p.name, "Type": p.type, "DefaultValue": p.default} for p in self.parameters],
            "Steps": steps, "CacheConfig": {"Enabled": True, "ExpireAfter": self.cache_expiry}}


def topological(defn: PipelineDef) -> list[str]:
    """Step names in an order where each comes after what it depends on."""
    gated = defn.gated()
    deps = {s.name: set(s.upstream()) | ({gated[s.name]} if s.name in gated else set())
            for s in defn.steps}
    order: list[str] = []
    while deps:
        ready = sorted(n for n, d in deps.items() if d <= set(order))
        if not ready:
            raise ValueError(f"The pipeline {defn.name} has a cycle among {sorted(deps)}.")
        order += ready
        for n in ready:
            deps.pop(n)
    return order


TRAINING_PIPELINE = PipelineDef(
    name="lab-housing-pipeline",
    description="Process, train, evaluate; register the model when its MSE is low enough.",
    parameters=(
        Parameter("ProcessingInstanceCount", "Integer", 1, "processing instances (workshop)"),
        Parameter("InputData", "String", "", "a dataset of the workspace, or on SageMaker an "
                  "s3:// URI (empty: the active dataset)"),
        Parameter("TargetColumn", "String", "", "the column to predict (empty: the "
                  "dataset's target)"),
        Parameter("TrainSize", "Float", 0.6, "share of rows for training"),
        Parameter("ValSize", "Float", 0.2, "share of rows for validation"),
        Parameter("TestSize", "Float", 0.2, "share of rows for the test"),
        Parameter("Algorithm", "String", "xgboost", "xgboost or random_forest"),
        Parameter("MaxDepth", "Integer", 5, "depth of each tree"),
        Parameter("NEstimators", "Integer", 200, "boosting rounds or trees"),
        Parameter("MseThreshold", "Float", MSE_THRESHOLD, "register only if test MSE <= this"),
        Parameter("ModelApprovalStatus", "String", "PendingManualApproval",
                  "status of a registered version"),
    ),
    steps=(
        Step("PreprocessData", "processing",
             description="lab/processing/preprocess.py: clean, split, scale",
             inputs={"input_data": Param("InputData"), "target_column": Param("TargetColumn"),
                     "train_size": Param("TrainSize"),
                     "val_size": Param("ValSize"), "test_size": Param("TestSize"),
                     "instance_count": Param("ProcessingInstanceCount")}),
        Step("TrainModel", "training", description="lab/training/entry_point.py",
             inputs={"train": Prop("PreprocessData", "train"),
                     "validation": Prop("PreprocessData", "validation"),
                     "algorithm": Param("Algorithm"), "max_depth": Param("MaxDepth"),
                     "n_estimators": Param("NEstimators")}),
        Step("EvaluateModel", "evaluation", property_file="EvaluationReport",
             description="lab/pipelines/evaluate.py: test MSE into evaluation.json",
             inputs={"model": Prop("TrainModel", "model"),
                     "test": Prop("PreprocessData", "test")}),
        ConditionStep("CheckMSE", JsonGet("EvaluateModel", "EvaluationReport",
                                          "regression_metrics.mse.value"),
                      "LessThanOrEqualTo", Param("MseThreshold"), if_steps=("RegisterModel",),
                      description="MSE <= threshold"),
        Step("RegisterModel", "register", cacheable=False,
             description="a new version in the model registry",
             inputs={"model": Prop("TrainModel", "model"),
                     "evaluation": Prop("EvaluateModel", "evaluation"),
                     "approval_status": Param("ModelApprovalStatus")}),
    ),
)

DEPLOY_PIPELINE = PipelineDef(
    name="lab-housing-deploy",
    description="Deploy the latest approved model version to the real-time endpoint.",
    parameters=(Parameter("EndpointName", "String", "", "endpoint (empty: the lab's)"),),
    steps=(
        Step("LatestApprovedModel", "latest_approved", cacheable=False,
             description="the newest Approved version in the registry"),
        Step("DeployModel", "deploy", cacheable=False, description="create or update endpoint",
             inputs={"version": Prop("LatestApprovedModel", "version"),
                     "endpoint": Param("EndpointName")}),
    ),
)

# The Reliable stage's training pipeline: the same pipeline (same name, same steps, so the
# step cache carries over) with two quality gates. CheckDataQuality compares the new
# training split with the training data's baseline and fails the execution when it drifts
# or breaks the baseline's constraints (as a QualityCheckStep fails); CheckModelQuality
# sets the approved version's test MSE (plus a margin) as the ceiling that
# ModelQualityGate holds the new model to before RegisterModel.
GATE_PARAMETERS = (
    Parameter("DataBaseline", "String", "", "the training data's baseline, statistics.json "
              "and constraints.json (empty: the workspace's, from Baseline & drift)"),
    Parameter("ApprovedModelMse", "Float", 0.0, "the approved version's test MSE to beat "
              "(0: looked up in the registry when the execution starts)"),
    Parameter("ModelQualityMargin", "Float", 0.05, "register only if the test MSE is at most "
              "the approved one's x (1 + this)"),
)
_QUALITY_REPORT = "ModelQualityReport"


def _gated(defn: PipelineDef) -> PipelineDef:
    steps: list[Step | ConditionStep] = []
    for s in defn.steps:
        if s.name == "TrainModel":
            steps.append(Step(
                "CheckDataQuality", "data_quality", property_file="DataQualityReport",
                description="lab/monitoring/drift.py: the new training split against the "
                            "baseline (PSI, KS, completeness)",
                inputs={"train": Prop("PreprocessData", "train"),
                        "meta": Prop("PreprocessData", "meta"),
                        "baseline": Param("DataBaseline")}))
            s = Step(s.name, s.kind, s.inputs, ("CheckDataQuality",), s.cacheable,
                     s.property_file, s.description)
        if s.name == "CheckMSE":
            s = ConditionStep(s.name, s.left, s.op, s.right, ("CheckModelQuality",),
                              s.else_steps, description=s.description)
        if s.name == "RegisterModel":
            steps.append(Step(
                "CheckModelQuality", "model_quality", property_file=_QUALITY_REPORT,
                description="lab/pipelines/model_quality.py: the ceiling the new test MSE "
                            "must stay under (the approved version's, plus the margin)",
                inputs={"evaluation": Prop("EvaluateModel", "evaluation"),
                        "approved_mse": Param("ApprovedModelMse"),
                        "margin": Param("ModelQualityMargin")}))
            steps.append(ConditionStep(
                "ModelQualityGate",
                JsonGet("CheckModelQuality", _QUALITY_REPORT, "model_quality.mse.value"),
                "LessThanOrEqualTo",
                JsonGet("CheckModelQuality", _QUALITY_REPORT, "model_quality.mse.ceiling"),
                if_steps=("RegisterModel",), description="not worse than the approved"))
        steps.append(s)
    return PipelineDef(defn.name, defn.parameters + GATE_PARAMETERS, tuple(steps),
                       defn.description + " Gated: data quality, then model quality.",
                       defn.cache_expiry, variant="gated")


GATED_PIPELINE = _gated(TRAINING_PIPELINE)
PIPELINES = {p.name: p for p in (TRAINING_PIPELINE, DEPLOY_PIPELINE)}


def pipeline(name: str, gated: bool = False) -> PipelineDef:
    if name not in PIPELINES:
        raise ParameterError(f"Unknown pipeline {name!r}: use {', '.join(PIPELINES)}.")
    if gated:
        if name != TRAINING_PIPELINE.name:
            raise ParameterError(f"Only {TRAINING_PIPELINE.name} has quality gates.")
        return GATED_PIPELINE
    return PIPELINES[name]


def definition_of(name: str, parameters: dict[str, Any]) -> PipelineDef:
    """The declaration an execution ran: the gated one if it has the gates' parameters."""
    gated = name == TRAINING_PIPELINE.name and "ModelQualityMargin" in (parameters or {})
    return pipeline(name, gated)
