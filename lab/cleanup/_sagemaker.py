"""The SageMaker twin of the cleanup: the workspace's resources on AWS, their cost, and
their deletion in dependency order.

A workspace's resources are found by what the lab gave them (lab.aws.names): their names
carry the workspace's 8-hex id, they are tagged with it, its S3 objects live under its own
folder, and its runs are in its experiments database. Where a name matches but the tags
say another workspace, the resource is left alone. What each costs comes from the lab's
price table (lab.aws.prices): endpoints and running jobs per hour, S3 data per month; the
rest (configs, models, groups, pipelines, experiments) costs nothing while it exists.

Deletion follows `KINDS`, and waits where AWS deletes in the background (endpoints and
feature groups), so that what depends on them can go next. Each failure is reported with
AWS's reason, and the others go on; the inventory taken afterwards is what is left.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from lab.aws import names, polling, prices
from lab.aws.errors import describe as describe_error
from lab.aws.errors import is_not_found
from lab.aws.ledger import Ledger
from lab.aws.twin import SageMakerTwin
from lab.cleanup._api import (
    CleanupReport,
    Inventory,
    Progress,
    Resource,
    RunningEndpoint,
    forget_ingest,
)
from lab.errors import BackendError

FREE = "free while it exists"
RUNNING_CACHE_S = 60.0  # the sidebar asks on every rerun: AWS is asked once a minute
GLUE_DATABASE = "sagemaker_featurestore"
POLL_SECONDS = 5.0
DELETE_TIMEOUT_S = 900.0
_JOB_KINDS = {"processing-job": ("describe_processing_job", "ProcessingJobName",
                                 "ProcessingJobStatus", "stop_processing_job", "processing"),
              "training-job": ("describe_training_job", "TrainingJobName", "TrainingJobStatus",
                               "stop_training_job", "training"),
              "tuning-job": ("describe_hyper_parameter_tuning_job",
                             "HyperParameterTuningJobName", "HyperParameterTuningJobStatus",
                             "stop_hyper_parameter_tuning_job", "training")}
_running: dict[tuple, tuple[float, list[RunningEndpoint]]] = {}
_running_lock = threading.Lock()


class SageMakerCleanup(SageMakerTwin):
    note = ("Lists what the lab created for this workspace on AWS (by its names and tags) "
            "and deletes it; endpoints are billed per hour until they are deleted.")

    def __init__(self, settings: Any, *, session: Any = None,
                 poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(settings, session=session)
        self.poll_seconds = poll_seconds
        self.wid = names.workspace_id(settings)

    # --- the sidebar's flag --------------------------------------------------------------
    def running_endpoints(self) -> list[RunningEndpoint]:
        key = (str(self.settings.workspace), self.settings.sagemaker_role,
               self.settings.s3_bucket)
        with _running_lock:
            cached = _running.get(key)
            if cached and time.monotonic() - cached[0] < RUNNING_CACHE_S:
                return cached[1]
        found = [RunningEndpoint(r.name, r.status, *_variant(r.detail), r.hourly_usd)
                 for r in self._endpoints()
                 if r.kind == "endpoint" and r.status not in ("Deleting", "Failed")]
        with _running_lock:
            now = time.monotonic()
            for old in [k for k, v in _running.items() if now - v[0] > RUNNING_CACHE_S]:
                del _running[old]  # one entry per workspace seen: keep only the fresh ones
            _running[key] = (now, found)
        return found

    @staticmethod
    def forget_running() -> None:
        with _running_lock:
            _running.clear()

    # --- inventory -----------------------------------------------------------------------
    def inventory(self) -> Inventory:
        found = Inventory("sagemaker")
        for lister in (self._jobs, self._endpoints, self._endpoint_configs, self._models,
                       self._pipelines, self._registry, self._feature_groups,
                       self._glue_tables, self._experiments, self._s3):
            try:
                found.resources += [r for r in lister()
                                    if (r.kind, r.name) not in {(x.kind, x.name)
                                                                for x in found.resources}]
            except BackendError as exc:
                found.problems.append(str(exc))
            except Exception as exc:  # noqa: BLE001 - an AWS refusal: said, the rest goes on
                found.problems.append(f"Could not list {lister.__name__.strip('_')}: "
                                      f"{describe_error(exc)}")
        return found

    def _mine(self, name: str, arn: str = "") -> bool:
        """Named with the workspace's id, and not tagged as another workspace's."""
        if self.wid not in name:
            return False
        if not arn:
            return True
        try:
            tags = self.client.list_tags(ResourceArn=arn).get("Tags", [])
        except Exception:  # noqa: BLE001 - not taggable or not readable: the name decides
            return True
        ids = [t["Value"] for t in tags if t["Key"] == names.WORKSPACE_ID_TAG]
        return not ids or ids[0] == self.wid

    def _jobs(self) -> list[Resource]:
        """Jobs this workspace started that are still running (from its ledger)."""
        out = []
        for record in Ledger(self.settings).open_records():
            if record.kind not in _JOB_KINDS:
                continue
            describe, key, status_key, _, use = _JOB_KINDS[record.kind]
            try:
                status = getattr(self.client, describe)(**{key: record.name})[status_key]
            except Exception as exc:  # noqa: BLE001
                if is_not_found(exc):
                    continue
                raise
            if status in ("InProgress", "Stopping"):
                cost = prices.estimate(use, record.instance_type, record.instance_count,
                                       region=self.region)
                out.append(Resource(record.kind, record.name, status, cost.text,
                                    cost.total_hourly_usd, detail=record.instance_type))
        return out

    def _endpoints(self) -> list[Resource]:
        """The workspace's endpoints (named with its id, or tagged with it: a learner may
        name an endpoint), each followed by its config and that config's models."""
        out = []
        pages = self.client.get_paginator("list_endpoints").paginate()
        for summary in (e for page in pages for e in page["Endpoints"]):
            name, arn = summary["EndpointName"], summary["EndpointArn"]
            if not (self._mine(name, arn) if self.wid in name else self._tagged_arn(arn)):
                continue
            desc = self.client.describe_endpoint(EndpointName=summary["EndpointName"])
            variants = desc.get("ProductionVariants") or []
            instance = ""
            count = sum(int(v.get("CurrentInstanceCount") or 0) for v in variants)
            config: dict[str, Any] = {}
            try:
                config = self.client.describe_endpoint_config(
                    EndpointConfigName=desc["EndpointConfigName"])
                first = (config.get("ProductionVariants") or [{}])[0]
                instance = first.get("InstanceType", "")
                count = count or sum(int(v.get("InitialInstanceCount") or 0)
                                     for v in config.get("ProductionVariants") or [])
            except Exception:  # noqa: BLE001 - the config may be gone already
                pass
            cost = prices.estimate("hosting", instance, count or 1, region=self.region)
            out.append(Resource("endpoint", name, desc["EndpointStatus"],
                                cost.text if instance else "billed per hour while it runs",
                                cost.total_hourly_usd, arn=arn,
                                detail=f"{count or 1} x {instance}" if instance else ""))
            if config:
                out.append(Resource("endpoint-config", config["EndpointConfigName"], "", FREE,
                                    arn=config.get("EndpointConfigArn", "")))
                out += [Resource("model", v["ModelName"], "", FREE)
                        for v in config.get("ProductionVariants") or [] if v.get("ModelName")]
        return out

    def _tagged_arn(self, arn: str) -> bool:
        try:
            return names.is_workspace_tagged(
                self.client.list_tags(ResourceArn=arn).get("Tags"), self.settings)
        except Exception:  # noqa: BLE001 - unreadable: not provably ours
            return False

    def _endpoint_configs(self) -> list[Resource]:
        pages = self.client.get_paginator("list_endpoint_configs").paginate(
            NameContains=self.wid)
        return [Resource("endpoint-config", c["EndpointConfigName"], "", FREE,
                         arn=c["EndpointConfigArn"])
                for page in pages for c in page["EndpointConfigs"]
                if self._mine(c["EndpointConfigName"], c["EndpointConfigArn"])]

    def _models(self) -> list[Resource]:
        pages = self.client.get_paginator("list_models").paginate(NameContains=self.wid)
        return [Resource("model", m["ModelName"], "", FREE, arn=m["ModelArn"])
                for page in pages for m in page["Models"]
                if self._mine(m["ModelName"], m["ModelArn"])]

    def _pipelines(self) -> list[Resource]:
        out = []
        pages = self.client.get_paginator("list_pipelines").paginate()
        for summary in (p for page in pages for p in page["PipelineSummaries"]):
            name, arn = summary["PipelineName"], summary["PipelineArn"]
            # a name without the id: the workspace's only if its tags say so
            if self._mine(name, arn) if self.wid in name else self._tagged_arn(arn):
                out.append(Resource("pipeline", name, "", FREE + " (steps bill as jobs)",
                                    arn=arn))
        return out

    def _registry(self) -> list[Resource]:
        out = []
        pages = self.client.get_paginator("list_model_package_groups").paginate(
            NameContains=self.wid)
        for group in (g for page in pages for g in page["ModelPackageGroupSummaryList"]):
            name = group["ModelPackageGroupName"]
            if not self._mine(name, group["ModelPackageGroupArn"]):
                continue
            versions = [v for page in self.client.get_paginator("list_model_packages")
                        .paginate(ModelPackageGroupName=name)
                        for v in page["ModelPackageSummaryList"]]
            for version in versions:
                out.append(Resource("model-package", version["ModelPackageArn"],
                                    version.get("ModelApprovalStatus", ""),
                                    FREE + " (its model.tar.gz is S3 data)",
                                    arn=version["ModelPackageArn"],
                                    detail=f"{name} version {version.get('ModelPackageVersion')}"))
            out.append(Resource("model-package-group", name, "", FREE,
                                arn=group["ModelPackageGroupArn"],
                                detail=f"{len(versions)} version(s)"))
            # the registry's artifacts, when they live outside the workspace's S3 folder
            out += self._s3_folder(f"{names.PREFIX}/registry/{name}/")
        return out

    def _feature_groups(self) -> list[Resource]:
        out = []
        summaries = self.client.list_feature_groups(NameContains=self.wid, MaxResults=100)
        for summary in summaries.get("FeatureGroupSummaries", []):
            name = summary["FeatureGroupName"]
            if not self._mine(name):
                continue
            out.append(Resource("feature-group", name, summary.get("FeatureGroupStatus", ""),
                                "online store: $"
                                f"{prices.table()['feature_store']['online_storage_gb_month']}"
                                "/GB-month (a few KB here); offline data: S3",
                                arn=summary.get("FeatureGroupArn", "")))
            desc = self.client.describe_feature_group(FeatureGroupName=name)
            uri = ((desc.get("OfflineStoreConfig") or {}).get("S3StorageConfig") or {}).get(
                "ResolvedOutputS3Uri", "")
            bucket_prefix = f"s3://{self.bucket}/{self.s3_prefix}/"
            if uri and not uri.startswith(bucket_prefix):  # its data is elsewhere
                bucket, key = uri[len("s3://"):].split("/", 1)
                out += self._s3_folder(key.rstrip("/") + "/", bucket)
        return out

    def _glue_tables(self) -> list[Resource]:
        """The offline stores' tables, including those of groups already deleted (SageMaker
        keeps a group's table when the group is deleted): named `<group>_<created>`."""
        glue = self.boto_session.client("glue", region_name=self.region)
        try:
            pages = glue.get_paginator("get_tables").paginate(
                DatabaseName=GLUE_DATABASE, Expression=f".*{self.wid}.*")
            tables = [t for page in pages for t in page["TableList"]]
        except Exception as exc:  # noqa: BLE001
            if is_not_found(exc) or "EntityNotFound" in describe_error(exc):
                return []  # no feature group was ever created in this region
            raise
        return [Resource("glue-table", t["Name"], "", FREE, detail=GLUE_DATABASE)
                for t in tables if self.wid in t["Name"]]

    def _experiments(self) -> list[Resource]:
        """This workspace's SageMaker Experiments runs (trial components), and their trial
        and experiment when nothing else is left in them (experiments are shared by name)."""
        from lab.training import Experiments
        from lab.workspace import Workspace

        ws = Workspace(self.settings.workspace)
        if not ws.path("experiments.db").exists():
            return []
        runs = Experiments(ws).list()  # local runs have no trial component: none matches
        out = []
        for experiment in sorted({r.experiment for r in runs}):
            jobs = {names.job_name(r.job_id) for r in runs if r.experiment == experiment}
            try:
                found = self.client.describe_experiment(ExperimentName=experiment)
                components = [c for page in self.client.get_paginator(
                    "list_trial_components").paginate(ExperimentName=experiment)
                    for c in page["TrialComponentSummaries"]]
            except Exception as exc:  # noqa: BLE001
                if is_not_found(exc):
                    continue
                raise
            # the run's own component (<experiment>-<job>) and the one SageMaker makes for
            # its training job (<job>-aws-training-job), associated with the run's trial
            mine = [c for c in components if any(job in c["TrialComponentName"]
                                                 for job in jobs)]
            out += [Resource("trial-component", c["TrialComponentName"], "", FREE,
                             arn=c.get("TrialComponentArn", ""), detail=experiment)
                    for c in mine]
            if len(mine) == len(components) and (mine or self._tagged(found)):
                # nothing of anyone else in it (and something of ours): the rest goes too
                trials = [t for page in self.client.get_paginator("list_trials").paginate(
                    ExperimentName=experiment) for t in page["TrialSummaries"]]
                out += [Resource("trial", t["TrialName"], "", FREE, detail=experiment)
                        for t in trials]
                out.append(Resource("experiment", experiment, "", FREE))
        return out

    def _tagged(self, described: dict[str, Any]) -> bool:
        """Whether a resource's tags (read back) name this workspace."""
        try:
            tags = self.client.list_tags(ResourceArn=described.get("ExperimentArn", ""))
        except Exception:  # noqa: BLE001 - unreadable: not provably ours
            return False
        ids = [t["Value"] for t in tags.get("Tags", []) if t["Key"] == names.WORKSPACE_ID_TAG]
        return ids == [self.wid]

    def _s3(self) -> list[Resource]:
        return self._s3_folder(f"{self.s3_prefix}/")

    def _s3_folder(self, prefix: str, bucket: str | None = None) -> list[Resource]:
        bucket = bucket or self.bucket
        s3 = self.boto_session.client("s3", region_name=self.region)
        count = size = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                count, size = count + 1, size + int(item.get("Size", 0))
        if not count:
            return []
        return [Resource("s3-objects", f"s3://{bucket}/{prefix}", "",
                         f"about ${prices.s3_month_usd(size):.4f} a month "
                         f"(S3 Standard, ${prices.table()['s3_standard_gb_month']}/GB-month)",
                         monthly_usd=prices.s3_month_usd(size),
                         detail=f"{count} object(s), {size / 1e6:.2f} MB")]

    # --- deletion ------------------------------------------------------------------------
    def delete_all(self, progress: Progress | None = None, dry_run: bool = False
                   ) -> CleanupReport:
        report = progress or (lambda fraction, message: None)
        found = self.inventory()
        out = CleanupReport("sagemaker", dry_run, problems=list(found.problems))
        todo = found.ordered()
        if dry_run:
            out.deleted, out.left = todo, todo
            return out
        for i, resource in enumerate(todo):
            report(0.05 + 0.85 * i / max(1, len(todo)), f"Deleting {resource.label}")
            try:
                getattr(self, "_delete_" + resource.kind.replace("-", "_"))(resource)
                out.deleted.append(resource)
            except Exception as exc:  # noqa: BLE001 - reported; the others go on
                if is_not_found(exc):
                    out.deleted.append(resource)  # gone meanwhile: nothing left to do
                    continue
                reason = str(exc) if not getattr(exc, "response", None) else \
                    describe_error(exc)
                out.failed.append((resource, reason))
        if any(r.kind == "feature-group" for r in out.deleted):
            forget_ingest(self.settings)  # its groups are gone: nothing is ingested
        self.forget_running()
        report(0.95, "Listing what is left")
        after = self.inventory()
        out.left, out.problems = after.ordered(), list(after.problems)
        return out

    def _wait_gone(self, describe: Any, what: str) -> None:
        def look() -> dict[str, Any]:
            try:
                found = describe()
            except Exception as exc:  # noqa: BLE001
                if is_not_found(exc):
                    return {"status": "Gone"}
                raise
            return {"status": found.get("EndpointStatus") or found.get("FeatureGroupStatus")
                    or "Deleting", "reason": found.get("FailureReason", "")}

        final = polling.wait_for(look, lambda d: d["status"], ("Gone", "DeleteFailed",
                                                               "Failed"),
                                 poll_s=self.poll_seconds, timeout_s=DELETE_TIMEOUT_S,
                                 what=what)
        if final["status"] != "Gone":
            raise BackendError(f"{what} could not be deleted ({final['status']}): "
                               f"{final.get('reason') or 'no reason given'}.")

    def _stop_job(self, resource: Resource) -> None:
        describe, key, _, stop, _ = _JOB_KINDS[resource.kind]
        getattr(self.client, stop)(**{key: resource.name})

    _delete_processing_job = _delete_training_job = _delete_tuning_job = _stop_job

    def _delete_endpoint(self, resource: Resource) -> None:
        self.client.delete_endpoint(EndpointName=resource.name)
        self._wait_gone(lambda: self.client.describe_endpoint(EndpointName=resource.name),
                        f"The endpoint {resource.name}")
        Ledger(self.settings).close("endpoint", resource.name, "Deleted")

    def _delete_endpoint_config(self, resource: Resource) -> None:
        self.client.delete_endpoint_config(EndpointConfigName=resource.name)

    def _delete_model(self, resource: Resource) -> None:
        self.client.delete_model(ModelName=resource.name)

    def _delete_pipeline(self, resource: Resource) -> None:
        self.client.delete_pipeline(PipelineName=resource.name,
                                    ClientRequestToken=f"lab-cleanup-{uuid.uuid4().hex}")

    def _delete_model_package(self, resource: Resource) -> None:
        self.client.delete_model_package(ModelPackageName=resource.arn or resource.name)

    def _delete_model_package_group(self, resource: Resource) -> None:
        self.client.delete_model_package_group(ModelPackageGroupName=resource.name)

    def _delete_feature_group(self, resource: Resource) -> None:
        self.client.delete_feature_group(FeatureGroupName=resource.name)
        self._wait_gone(lambda: self.client.describe_feature_group(
            FeatureGroupName=resource.name), f"The feature group {resource.name}")
        Ledger(self.settings).close("feature-group", resource.name, "Deleted")

    def _delete_glue_table(self, resource: Resource) -> None:
        self.boto_session.client("glue", region_name=self.region).delete_table(
            DatabaseName=resource.detail or GLUE_DATABASE, Name=resource.name)

    def _delete_trial_component(self, resource: Resource) -> None:
        for page in self.client.get_paginator("list_trials").paginate(
                TrialComponentName=resource.name):
            for trial in page["TrialSummaries"]:
                self.client.disassociate_trial_component(
                    TrialComponentName=resource.name, TrialName=trial["TrialName"])
        self.client.delete_trial_component(TrialComponentName=resource.name)

    def _delete_trial(self, resource: Resource) -> None:
        self.client.delete_trial(TrialName=resource.name)

    def _delete_experiment(self, resource: Resource) -> None:
        self.client.delete_experiment(ExperimentName=resource.name)

    def _delete_s3_objects(self, resource: Resource) -> None:
        bucket, prefix = resource.name[len("s3://"):].split("/", 1)
        s3 = self.boto_session.client("s3", region_name=self.region)
        failed = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys,
                                                                  "Quiet": True})
                failed += answer.get("Errors", [])
        if failed:
            raise BackendError(f"{len(failed)} object(s) under {resource.name} could not be "
                               f"deleted (first: {failed[0].get('Key')}: "
                               f"{failed[0].get('Code')} {failed[0].get('Message', '')}).")

    def code(self) -> list:
        return [SageMakerCleanup.delete_all, SageMakerCleanup._wait_gone]


def _variant(detail: str) -> tuple[str, int]:
    """("ml.m5.large", 1) from an endpoint's detail "1 x ml.m5.large"."""
    count, _, instance = detail.partition(" x ")
    return (instance, int(count)) if instance and count.isdigit() else ("", 0)
