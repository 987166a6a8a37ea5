"""SageMaker Pipelines' part of an execution, played on moto's records for the run-all test.

moto stores the upserted pipeline, starts an execution (reporting it Succeeded at once) and
runs nothing; it has no ListPipelineExecutionSteps. This play answers that call from the
definition moto holds: every step the execution would run (the branch the `Algorithm`
parameter picks, and the register step its MSE check lets through), Succeeded, and what
SageMaker's register step does: a new version in the workspace's model package group,
created through moto with the definition's own inference specification. What is proven:
the lab's requests (upsert, start, the polls) and how it mirrors the answer; not that the
steps' containers ran (the container-parity interpretation test does that).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any


class PipelinePlay:
    def __init__(self) -> None:
        self.listed: list[str] = []  # the execution ARNs whose steps were asked for

    def attach(self, client: Any) -> None:
        self.client = client
        client.meta.events.register(
            "before-call.sagemaker.ListPipelineExecutionSteps", self._steps)

    def _steps(self, params: dict, **_: Any):
        from botocore.awsrequest import AWSResponse

        arn = json.loads(params["body"])["PipelineExecutionArn"]  # the serialized request
        self.listed.append(arn)
        name = arn.split(":pipeline/", 1)[1].split("/", 1)[0]
        definition = json.loads(self.client.describe_pipeline(PipelineName=name)
                                ["PipelineDefinition"])
        values = self._parameters(definition, arn)
        now = dt.datetime.now(dt.UTC)
        items = []
        for step in self._executed(definition["Steps"], values):
            item = {"StepName": step["Name"], "StepStatus": "Succeeded",
                    "StartTime": now, "EndTime": now, "Metadata": {}}
            if step["Type"] == "Condition":
                item["Metadata"]["Condition"] = {"Outcome": "True"}
            if step["Type"] == "RegisterModel":
                item["Metadata"]["RegisterModel"] = {"Arn": self._register(step["Arguments"])}
            items.append(item)
        return AWSResponse(arn, 200, {}, None), {"PipelineExecutionSteps": items}

    def _parameters(self, definition: dict, arn: str) -> dict[str, str]:
        values = {p["Name"]: str(p.get("DefaultValue", "")) for p in definition["Parameters"]}
        sent = self.client.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
        values.update({p["Name"]: p["Value"] for p in sent.get("PipelineParameters", [])})
        return values

    def _executed(self, steps: list[dict], values: dict[str, str]) -> list[dict]:
        """The steps in order, a condition's chosen branch inlined: `Algorithm` picks its
        branch; an MSE check lets the register step through (the model is good enough)."""
        out = []
        for step in steps:
            out.append(step)
            if step["Type"] != "Condition":
                continue
            chosen = step["Arguments"]["IfSteps"]
            for condition in step["Arguments"]["Conditions"]:
                right = condition.get("RightValue")
                left = condition.get("LeftValue")
                if isinstance(left, dict) and left.get("Get") == "Parameters.Algorithm":
                    if str(right) != values.get("Algorithm"):
                        chosen = step["Arguments"]["ElseSteps"]
            out += self._executed(chosen, values)
        return out

    def _register(self, arguments: dict) -> str:
        spec = arguments["InferenceSpecification"]
        containers = [{"Image": c["Image"] if isinstance(c["Image"], str) else "image",
                       "ModelDataUrl": "s3://played/model.tar.gz"}
                      for c in spec["Containers"]]
        answer = self.client.create_model_package(
            ModelPackageGroupName=arguments["ModelPackageGroupName"],
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={**spec, "Containers": containers})
        return answer["ModelPackageArn"]
