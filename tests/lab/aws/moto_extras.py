"""What moto 5.2 leaves out of SageMaker, played on moto's own records (`MotoExtras`).

Moto answers the SageMaker calls the lab makes to create things, but has no
ListFeatureGroups, DeleteFeatureGroup, DeleteModelPackage, DeleteModelPackageGroup or
UpdateEndpoint, answers DescribeFeatureGroup and DescribeExperiment of a missing resource
with an internal error instead of ResourceNotFound, and creates no Glue table for a feature
group's offline store (SageMaker does). These are added to moto's own SageMaker responder
for the test (so every boto3 client sees them, however the lab made it), acting on moto's
records the way SageMaker's documentation says the service does:

- a deleted feature group is `Deleting` for `deleting_looks` describes, then gone (AWS:
  deletion is asynchronous); its Glue table and S3 files stay, as on AWS;
- a model package group with versions cannot be deleted (ConflictException);
- UpdateEndpoint points the endpoint at the new config.
"""

from __future__ import annotations

import pytest


class MotoExtras:
    def __init__(self, monkeypatch) -> None:
        from moto.core.responses import ActionResult, EmptyResult
        from moto.glue.models import glue_backends
        from moto.sagemaker.exceptions import ConflictException, ResourceNotFound
        from moto.sagemaker.models import arn_formatter
        from moto.sagemaker.responses import SageMakerResponse

        self.deleting_looks = 2
        self.deleting: dict[str, int] = {}  # feature group arn -> describes left
        self.calls: list[str] = []
        extras = self

        def group_arn(responder, name: str) -> str:
            backend = responder.sagemaker_backend
            return arn_formatter(region_name=backend.region_name, account_id=backend.account_id,
                                 _type="feature-group", _id=name.lower())

        real_create = SageMakerResponse.create_feature_group

        def create_feature_group(self):
            answer = real_create(self)
            group = self.sagemaker_backend.feature_groups[group_arn(
                self, self._get_param("FeatureGroupName"))]
            catalog = group.offline_store_config["DataCatalogConfig"]
            glue = glue_backends[self.current_account][self.region]
            if catalog["Database"] not in glue.databases:
                glue.create_database(catalog["Database"], {"Name": catalog["Database"]})
            if catalog["TableName"] in glue.databases[catalog["Database"]].tables:
                return answer  # recreated within the same second: moto reuses the name
            glue.create_table(catalog["Database"], catalog["TableName"], {
                "Name": catalog["TableName"], "StorageDescriptor": {"Location": group
                .offline_store_config["S3StorageConfig"]["ResolvedOutputS3Uri"]}})
            return answer

        def describe_feature_group(self):
            name = self._get_param("FeatureGroupName")
            arn = group_arn(self, name)
            group = self.sagemaker_backend.feature_groups.get(arn)
            if group is None:
                raise ResourceNotFound(f"Resource Not Found: FeatureGroup {name} not found.")
            found = group.describe()
            if arn in extras.deleting:
                found["FeatureGroupStatus"] = "Deleting"
                extras.deleting[arn] -= 1
                if extras.deleting[arn] <= 0:
                    del extras.deleting[arn]
                    del self.sagemaker_backend.feature_groups[arn]
            return ActionResult(found)

        def delete_feature_group(self):
            name = self._get_param("FeatureGroupName")
            arn = group_arn(self, name)
            extras.calls.append(f"DeleteFeatureGroup {name}")
            if arn not in self.sagemaker_backend.feature_groups:
                raise ResourceNotFound(f"Resource Not Found: FeatureGroup {name} not found.")
            if extras.deleting_looks <= 0:
                del self.sagemaker_backend.feature_groups[arn]
            else:
                extras.deleting[arn] = extras.deleting_looks
            return EmptyResult()

        def list_feature_groups(self):
            contains = self._get_param("NameContains") or ""
            groups = sorted(self.sagemaker_backend.feature_groups.values(),
                            key=lambda g: g.feature_group_name)
            return ActionResult({"FeatureGroupSummaries": [{
                "FeatureGroupName": g.feature_group_name, "FeatureGroupArn": g.arn,
                "CreationTime": g.creation_time,
                "FeatureGroupStatus": "Deleting" if g.arn in extras.deleting else "Created"}
                for g in groups if contains in g.feature_group_name]})

        def delete_model_package(self):
            backend = self.sagemaker_backend
            name = self._get_param("ModelPackageName")
            arn = backend.model_package_name_mapping.get(name, name)
            extras.calls.append(f"DeleteModelPackage {arn}")
            package = backend.model_packages.pop(arn, None)
            if package is None:
                raise ResourceNotFound(f"Model package {name} not found")
            for key in [k for k, v in backend.model_package_name_mapping.items() if v == arn]:
                del backend.model_package_name_mapping[key]
            return EmptyResult()

        def delete_model_package_group(self):
            backend = self.sagemaker_backend
            name = self._get_param("ModelPackageGroupName")
            extras.calls.append(f"DeleteModelPackageGroup {name}")
            if any(p.model_package_group_name == name for p in backend.model_packages.values()):
                raise ConflictException(f"Model Package Group {name} has model packages: "
                                        "delete them first.")
            if backend.model_package_groups.pop(name, None) is None:
                raise ResourceNotFound(f"ModelPackageGroup {name} does not exist.")
            return EmptyResult()

        def update_endpoint(self):
            backend = self.sagemaker_backend
            name = self._get_param("EndpointName")
            config = self._get_param("EndpointConfigName")
            extras.calls.append(f"UpdateEndpoint {name} {config}")
            backend.describe_endpoint_config(config)  # refuses a missing config
            backend.endpoints[name].endpoint_config_name = config
            return ActionResult({"EndpointArn": backend.endpoints[name].arn})

        real_describe_experiment = SageMakerResponse.describe_experiment

        def describe_experiment(self):
            try:
                return real_describe_experiment(self)
            except KeyError:  # moto's answer for a missing experiment: an internal error
                raise ResourceNotFound(f"Experiment {self._get_param('ExperimentName')} "
                                       "does not exist.") from None

        for method in (describe_experiment, create_feature_group, describe_feature_group,
                       delete_feature_group, list_feature_groups, delete_model_package,
                       delete_model_package_group, update_endpoint):
            monkeypatch.setattr(SageMakerResponse, method.__name__, method, raising=False)


@pytest.fixture
def moto_extras(aws, monkeypatch):
    """moto (the suite's `aws`) with the SageMaker calls it lacks (see the docstring)."""
    return MotoExtras(monkeypatch)
