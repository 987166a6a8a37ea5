"""A small interpreter of SageMaker pipeline definitions, for tests.

It runs a definition the way SageMaker Pipelines does, step by step, on a folder that
plays S3 (`<root>/s3/<bucket>/<key>`, seeded from `pipeline definition --out DIR`):

- values: literals, {"Get": "Parameters.X" | "Execution.X" | "Steps.S.<property path>"},
  {"Std:Join": {"On", "Values"}} and {"Std:JsonGet": {"PropertyFile", "Path"}};
- steps in dependency order (their references and DependsOn), condition steps choosing
  their IfSteps or ElseSteps (nested steps run inside);
- Processing: each S3Input copied to its LocalPath with S3Prefix semantics, the
  ContainerEntrypoint run in the image's parity environment with its ContainerArguments
  (the container's /opt/ml paths handed to the script as arguments, mapped into a
  temporary root), each output folder copied to its S3Output, property files read there;
- Training: the image's environment, the channels, `sagemaker_submit_directory` and
  `sagemaker_program` as the training toolkit uses them (tests/parity/containers.py), the
  metric definitions' regexes applied to the log, model.tar.gz uploaded under
  S3OutputPath;
- RegisterModel: the package recorded (the group must exist, as on SageMaker);
- Lambda: the function called in-process with the step's arguments as its event;
- a processing step whose script exits non-zero fails the execution (SageMaker's rule):
  nothing more runs, `status` is "Failed", and `failures` holds the step's ExitMessage
  (what the script wrote to /opt/ml/output/message) or its log's end;
- step caching: a cacheable step whose request (parameters and properties resolved, the
  execution variables not) matches one that ran before, in any run sharing `cache`, reuses
  its properties instead of running.

What it does not do: cache expiry, retries, parallel steps, real AWS.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.parity import containers
from tests.parity.envs import ParityEnv

IMAGES = {"sagemaker-scikit-learn": "sklearn-1.2-1", "sagemaker-xgboost": "xgboost-1.7-1"}
# Where each script takes the container's paths as arguments (its argparse defaults).
PATH_ARGS = {
    "preprocess.py": {"--input-dir": "/opt/ml/processing/input",
                      "--output-dir": "/opt/ml/processing/output"},
    "evaluate.py": {"--model": "/opt/ml/processing/model/model.tar.gz",
                    "--test": "/opt/ml/processing/test",
                    "--serving-code": "/opt/ml/processing/input/serving",
                    "--output-dir": "/opt/ml/processing/evaluation"},
    "drift.py": {"--train": "/opt/ml/processing/train", "--meta": "/opt/ml/processing/meta",
                 "--baseline": "/opt/ml/processing/baseline",
                 "--output-dir": "/opt/ml/processing/data_quality",
                 "--message-file": "/opt/ml/output/message"},
    "model_quality.py": {"--evaluation": "/opt/ml/processing/evaluation",
                         "--output-dir": "/opt/ml/processing/model_quality"},
}
_TOKEN = re.compile(r"\[\s*'([^']+)'\s*\]|\[(\d+)\]|([A-Za-z0-9_:-]+)")


class StepFailed(Exception):
    """A step failed: the execution stops there."""


@dataclass
class Package:
    group: str
    status: str
    image: str
    model_url: str
    environment: dict[str, str]
    metrics_url: str
    content_types: list[str]
    properties: dict[str, str]


@dataclass
class Interpreter:
    definition: dict[str, Any]
    root: Path  # <root>/s3 plays S3; <root>/jobs/<step> are the containers' /opt/ml roots
    parity: dict[str, ParityEnv]
    parameters: dict[str, Any] = field(default_factory=dict)
    groups: set[str] = field(default_factory=set)  # model package groups that exist
    lambdas: dict[str, Any] = field(default_factory=dict)  # function ARN -> handler
    execution_id: str = "interp-0001"
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)  # shared between runs
    cache_hits: list[str] = field(default_factory=list)
    props: dict[str, dict[str, Any]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    outcomes: dict[str, bool] = field(default_factory=dict)
    packages: list[Package] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    status: str = "Executing"

    _cache_key: bool = False

    def __post_init__(self) -> None:
        declared = {p["Name"]: p for p in self.definition["Parameters"]}
        unknown = set(self.parameters) - set(declared)
        assert not unknown, f"the definition has no parameter {unknown}"
        self.values = {n: self.parameters.get(n, p.get("DefaultValue"))
                       for n, p in declared.items()}

    # S3 as a folder.
    def path(self, uri: str) -> Path:
        assert uri.startswith("s3://"), uri
        return self.root / "s3" / uri[len("s3://"):]

    def download(self, uri: str, target: Path) -> None:
        """S3Prefix: every object whose key starts with the URI's key."""
        base = self.path(uri)
        found = [f for f in base.parent.rglob("*") if f.is_file()
                 and str(f).startswith(str(base))] if base.parent.exists() else []
        assert found, f"nothing in S3 under {uri}"
        for file in found:
            relative = str(file)[len(str(base)):].lstrip("/") or file.name
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(file, target / relative)

    def upload(self, folder: Path, uri: str) -> None:
        shutil.copytree(folder, self.path(uri), dirs_exist_ok=True)

    # Values.
    def value(self, v: Any) -> Any:
        if isinstance(v, dict):
            if set(v) == {"Get"}:
                return self.get(v["Get"])
            if set(v) == {"Std:Join"}:
                join = v["Std:Join"]
                return join["On"].join(str(self.value(x)) for x in join["Values"])
            if set(v) == {"Std:JsonGet"}:
                spec = v["Std:JsonGet"]
                found: Any = json.loads(Path(self.value(spec["PropertyFile"])).read_text())
                for part in spec["Path"].split("."):
                    found = found[part]
                return found
            return {k: self.value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x) for x in v]
        return v

    def get(self, path: str) -> Any:
        head, _, rest = path.partition(".")
        if head == "Parameters":
            return self.values[rest]
        if head == "Execution":
            if self._cache_key:  # the cache key holds the variable, not this execution's
                return "{Execution." + rest + "}"
            return {"PipelineExecutionId": self.execution_id,
                    "PipelineName": "interpreted"}[rest]
        assert head == "Steps", path
        name, _, rest = rest.partition(".")
        assert name in self.props, f"{path}: step {name} has not run"
        found: Any = self.props[name]
        for match in _TOKEN.finditer(rest):
            key = match.group(1) or match.group(3)
            found = found[int(match.group(2))] if match.group(2) else found[key]
        return found

    def references(self, step: dict[str, Any]) -> set[str]:
        """The steps `step` waits for (a condition: those its conditions read; its branches'
        steps wait for their own)."""
        arguments = step.get("Arguments", {})
        if step["Type"] == "Condition":
            arguments = arguments["Conditions"]
        text = json.dumps(arguments) + json.dumps(step.get("PropertyFiles", []))
        names = set(re.findall(r'"Get": "Steps\.([^."\[]+)', text))
        return names | set(step.get("DependsOn", []))

    # Steps.
    def run(self) -> None:
        """The whole execution: Succeeded, or Failed at the first failed step."""
        try:
            self._run(self.definition["Steps"])
        except StepFailed:
            self.status = "Failed"
        else:
            self.status = "Succeeded"

    def _run(self, steps: list[dict[str, Any]]) -> None:
        pending = list(steps)
        while pending:
            ready = next((s for s in pending if self.references(s) <= set(self.props)), None)
            assert ready is not None, f"no step can run: {[s['Name'] for s in pending]}"
            pending.remove(ready)
            key = self.key(ready)
            if key in self.cache:  # SageMaker's step caching: the same request succeeded
                self.props[ready["Name"]] = self.cache[key]
                self.cache_hits.append(ready["Name"])
            else:
                getattr(self, "_" + ready["Type"].lower())(ready)
                if key is not None:
                    self.cache[key] = self.props[ready["Name"]]
            self.ran.append(ready["Name"])

    def key(self, step: dict[str, Any]) -> str | None:
        """A cacheable step's request with its parameters and properties resolved, and the
        execution variables left as they are (None: not cacheable)."""
        if not (step.get("CacheConfig") or {}).get("Enabled"):
            return None
        self._cache_key = True
        try:
            return json.dumps([step["Type"], self.value(step["Arguments"])], sort_keys=True)
        finally:
            self._cache_key = False

    def env(self, image: str) -> ParityEnv:
        repo = image.rsplit("/", 1)[-1].split(":", 1)[0]
        return self.parity[IMAGES[repo]]

    def _condition(self, step: dict[str, Any]) -> None:
        ops = {"Equals": lambda a, b: a == b, "LessThanOrEqualTo": lambda a, b: a <= b,
               "GreaterThanOrEqualTo": lambda a, b: a >= b, "LessThan": lambda a, b: a < b,
               "GreaterThan": lambda a, b: a > b}
        args = step["Arguments"]
        outcome = all(ops[c["Type"]](self.value(c["LeftValue"]), self.value(c["RightValue"]))
                      for c in args["Conditions"])
        self.outcomes[step["Name"]] = outcome
        self.props[step["Name"]] = {"Outcome": outcome}
        self._run(args["IfSteps"] if outcome else args["ElseSteps"])

    def _processing(self, step: dict[str, Any]) -> None:
        args = self.value(step["Arguments"])
        job = self.root / "jobs" / self.execution_id / step["Name"]
        for item in args["ProcessingInputs"]:
            source = item["S3Input"]
            assert source["S3DataType"] == "S3Prefix", source
            self.download(source["S3Uri"], job / source["LocalPath"].lstrip("/"))
        app = args["AppSpecification"]
        assert app["ContainerEntrypoint"][0] == "python3", app
        script = job / app["ContainerEntrypoint"][1].lstrip("/")
        mapped = [a for k, v in PATH_ARGS[script.name].items()
                  for a in (k, str(job / v.lstrip("/")))]
        env = self.env(app["ImageUri"])
        proc = env.run([str(script), *app.get("ContainerArguments", []), *mapped], cwd=job)
        self.logs[step["Name"]] = proc.stdout + proc.stderr
        if proc.returncode != 0:  # the job fails; its ExitMessage is the message file
            message = job / "opt" / "ml" / "output" / "message"
            self.failures[step["Name"]] = (message.read_text() if message.exists()
                                           else (proc.stdout + proc.stderr)[-1000:])
            self.ran.append(step["Name"])
            raise StepFailed(step["Name"])
        outputs = {}
        for item in args["ProcessingOutputConfig"]["Outputs"]:
            output = item["S3Output"]
            self.upload(job / output["LocalPath"].lstrip("/"), output["S3Uri"])
            outputs[item["OutputName"]] = {"S3Output": {"S3Uri": output["S3Uri"]}}
        files = {}
        for pf in step.get("PropertyFiles", []):
            uri = outputs[pf["OutputName"]]["S3Output"]["S3Uri"].rstrip("/")
            files[pf["PropertyFileName"]] = str(self.path(f"{uri}/{pf['FilePath']}"))
        self.props[step["Name"]] = {"ProcessingOutputConfig": {"Outputs": outputs},
                                    "PropertyFiles": files}

    def _training(self, step: dict[str, Any]) -> None:
        args = self.value(step["Arguments"])
        job = self.root / "jobs" / self.execution_id / step["Name"]
        channels = {}
        for channel in args["InputDataConfig"]:
            source = channel["DataSource"]["S3DataSource"]
            target = job / "channels" / channel["ChannelName"]
            self.download(source["S3Uri"], target)
            channels[channel["ChannelName"]] = target
        hps = args["HyperParameters"]
        submit = json.loads(hps["sagemaker_submit_directory"])
        program = json.loads(hps["sagemaker_program"])
        spec = args["AlgorithmSpecification"]
        proc, model_dir = containers.run_training(
            self.env(spec["TrainingImage"]), self.path(submit), program, hps, channels,
            job / "container", check=False)
        self.logs[step["Name"]] = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{step['Name']} failed:\n{proc.stdout}\n{proc.stderr}"
        metrics = []
        for definition in spec.get("MetricDefinitions", []):
            found = re.findall(definition["Regex"], proc.stdout)
            if found:
                metrics.append({"MetricName": definition["Name"], "Value": float(found[-1])})
        uri = (f"{args['OutputDataConfig']['S3OutputPath'].rstrip('/')}/"
               f"{step['Name']}-{self.execution_id}/output/model.tar.gz")
        self.path(uri).parent.mkdir(parents=True, exist_ok=True)
        containers.model_tar(model_dir, self.path(uri))
        self.props[step["Name"]] = {"ModelArtifacts": {"S3ModelArtifacts": uri},
                                    "FinalMetricDataList": metrics}

    def _registermodel(self, step: dict[str, Any]) -> None:
        args = self.value(step["Arguments"])
        group = args["ModelPackageGroupName"]
        assert group in self.groups, f"the model package group {group} does not exist"
        [container] = args["InferenceSpecification"]["Containers"]
        package = Package(
            group=group, status=args["ModelApprovalStatus"], image=container["Image"],
            model_url=container["ModelDataUrl"], environment=container.get("Environment", {}),
            metrics_url=args["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"],
            content_types=args["InferenceSpecification"]["SupportedContentTypes"],
            properties=args.get("CustomerMetadataProperties", {}))
        self.packages.append(package)
        self.props[step["Name"]] = {
            "ModelPackageArn": f"arn:aws:sagemaker:::model-package/{group}/"
                               f"{len(self.packages)}"}

    def _lambda(self, step: dict[str, Any]) -> None:
        event = self.value(step["Arguments"])
        answer = self.lambdas[step["FunctionArn"]](event, None)
        outputs = {o["OutputName"]: answer[o["OutputName"]] for o in step["OutputParameters"]}
        self.props[step["Name"]] = {"OutputParameters": outputs}

    # The registered model, served.
    def serve(self, package: Package, body: str) -> dict[str, Any]:
        """One request to `package` through its image's serving contract."""
        env = package.environment
        return containers.serve(self.env(package.image), self.path(package.model_url),
                                self.path(env["SAGEMAKER_SUBMIT_DIRECTORY"]),
                                env["SAGEMAKER_PROGRAM"], body,
                                root=self.root / "serving" / str(len(self.ran)))
