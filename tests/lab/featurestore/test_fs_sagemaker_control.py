"""The SageMaker twin's control plane and Athena, under moto (groups, queries, errors).

Moto implements CreateFeatureGroup/DescribeFeatureGroup and Athena (with empty results) but not
ListFeatureGroups or DeleteFeatureGroup: those are stubbed with botocore's Stubber.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.fake_aws import ACCOUNT, BUCKET, REGION, ROLE, skip_without_aws_packages
from tests.lab.featurestore.fs_helpers import DEFINITIONS, small_frame

skip_without_aws_packages()

from botocore.stub import Stubber  # noqa: E402

from lab.aws.ledger import Ledger  # noqa: E402
from lab.aws.names import workspace_id  # noqa: E402
from lab.errors import BackendError  # noqa: E402
from lab.featurestore import (  # noqa: E402
    GroupExistsError,
    GroupNotFoundError,
    InvalidNameError,
    QueryError,
    SchemaError,
    open_featurestore,
)
from lab.settings import Settings  # noqa: E402


def test_create_with_online_store_and_offline_s3_uri(sm_store):
    requests = []
    sm_store.session.sagemaker_client.meta.events.register(
        "provide-client-params.sagemaker.CreateFeatureGroup",
        lambda params, **_: requests.append(params))
    info = sm_store.create_group("lab-train", small_frame(), description="split")
    (request,) = requests
    assert request["OnlineStoreConfig"] == {"EnableOnlineStore": True}
    prefix = f"mlops-workshop/workspace-{workspace_id(sm_store.settings)}"
    assert request["OfflineStoreConfig"]["S3StorageConfig"]["S3Uri"] == (
        f"s3://{BUCKET}/{prefix}/featurestore")
    assert request["RecordIdentifierFeatureName"] == "record_id"
    assert request["EventTimeFeatureName"] == "event_time"
    assert request["FeatureDefinitions"] == DEFINITIONS
    assert request["RoleArn"] == ROLE and request["Description"] == "split"
    assert {t["Key"] for t in request["Tags"]} == {"mlops-lab", "mlops-lab-workspace",
                                                   "mlops-lab-workspace-id"}
    assert info.name == "lab-train" and info.status == "Created"
    assert info.table_name.startswith("lab_train_")
    assert info.offline_location.startswith(f"s3://{BUCKET}/{prefix}/featurestore/")
    [record] = Ledger(sm_store.settings).list("features")
    assert (record.kind, record.name) == ("feature-group", "lab-train")
    compile(record.code, "group_code", "exec")
    assert f'"s3://{BUCKET}/{prefix}/featurestore"' in record.code and ROLE in record.code
    assert sm_store.describe_group("lab-train").definitions == {
        d["FeatureName"]: d["FeatureType"] for d in DEFINITIONS}


def test_refusals_before_any_aws_call(sm_store):
    with pytest.raises(InvalidNameError):
        sm_store.create_group("bad name", small_frame())
    with pytest.raises(SchemaError, match="'event_time' is missing"):
        sm_store.create_group("lab-train", small_frame().drop(columns=["event_time"]))
    with pytest.raises(SchemaError, match="Unsupported column type"):
        sm_store.create_group("lab-train", small_frame().assign(flag=True))
    sm_store.create_group("lab-train", small_frame())
    with pytest.raises(GroupExistsError, match="already exists"):
        sm_store.create_group("lab-train", small_frame())


def test_athena_query_runs_on_the_glue_table(sm_store, monkeypatch):
    from moto.athena.models import athena_backends

    info = sm_store.create_group("lab-train", small_frame())
    monkeypatch.setattr("sagemaker.session.time.sleep", lambda s: None)

    def download(bucket, prefix, query_execution_id, filename):
        assert bucket == BUCKET and prefix == (f"mlops-workshop/workspace-"
                                               f"{workspace_id(sm_store.settings)}/featurestore/"
                                               "athena-results")
        Path(filename).write_text("record_id,price\n1,101.5\n")

    monkeypatch.setattr(sm_store.session, "download_athena_query_result", download)
    result = sm_store.query('SELECT record_id, price FROM "lab-train" ORDER BY record_id')
    pd.testing.assert_frame_equal(result.frame, pd.DataFrame({"record_id": [1],
                                                              "price": [101.5]}))
    sent = [e.query for e in athena_backends[ACCOUNT][REGION].executions.values()]
    assert sent == [f'SELECT record_id, price FROM "{info.table_name}" ORDER BY record_id']
    with pytest.raises(QueryError, match="Only SELECT"):
        sm_store.query("DROP TABLE x")


def test_failed_athena_query_is_a_query_error(sm_store, monkeypatch):
    sm_store.create_group("lab-train", small_frame())
    monkeypatch.setattr("sagemaker.session.time.sleep", lambda s: None)
    monkeypatch.setattr(sm_store.session, "get_query_execution", lambda query_execution_id: {
        "QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason":
                                      "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be "
                                      "resolved"}}})
    with pytest.raises(QueryError, match="Athena could not run the query: COLUMN_NOT_FOUND"):
        sm_store.query('SELECT nope FROM "lab-train"')


def test_list_and_delete_through_the_sdk(sm_store):
    client = sm_store.session.sagemaker_client
    created = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    with Stubber(client) as stubber:
        stubber.add_response("list_feature_groups", {"FeatureGroupSummaries": [{
            "FeatureGroupName": "lab-test", "FeatureGroupArn": "arn:aws:x", "CreationTime":
            created, "FeatureGroupStatus": "Created"}]}, {"MaxResults": 100, "SortBy": "Name"})
        stubber.add_response("describe_feature_group", {
            "FeatureGroupArn": "arn:aws:x", "FeatureGroupName": "lab-test",
            "RecordIdentifierFeatureName": "record_id", "EventTimeFeatureName": "event_time",
            "FeatureDefinitions": DEFINITIONS, "CreationTime": created, "NextToken": "",
            "FeatureGroupStatus": "Created", "OnlineStoreConfig": {"EnableOnlineStore": True},
            "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://b/p"},
                                   "DataCatalogConfig": {"TableName": "lab_test_1704067200",
                                                         "Catalog": "AwsDataCatalog",
                                                         "Database": "sagemaker_featurestore"}}},
            {"FeatureGroupName": "lab-test"})
        (info,) = sm_store.list_groups()
        assert info.online_enabled and info.table_name == "lab_test_1704067200"
        assert info.created == created.timestamp()
        stubber.add_response("delete_feature_group", {}, {"FeatureGroupName": "lab-test"})
        stubber.add_client_error("describe_feature_group", "ResourceNotFound", "gone")
        sm_store.delete_group("lab-test")
        stubber.add_client_error("delete_feature_group", "ResourceNotFound", "no such group")
        with pytest.raises(GroupNotFoundError):
            sm_store.delete_group("lab-test")
        stubber.add_client_error("delete_feature_group", "AccessDeniedException", "denied")
        with pytest.raises(BackendError, match="Check the permissions"):
            sm_store.delete_group("lab-test")


def test_no_role_is_a_backend_error(aws, tmp_path):
    settings = Settings(workspace=tmp_path, backend="sagemaker", s3_bucket=BUCKET)
    store = open_featurestore(settings)  # cheap: its session is made on the first AWS call
    with pytest.raises(BackendError, match="LAB_SAGEMAKER_ROLE"):
        store.list_groups()


def _described(status: str) -> dict:
    return {"FeatureGroupArn": "arn:aws:x", "FeatureGroupName": "lab-test",
            "RecordIdentifierFeatureName": "record_id", "EventTimeFeatureName": "event_time",
            "FeatureDefinitions": DEFINITIONS, "FeatureGroupStatus": status, "NextToken": "",
            "CreationTime": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)}


def test_delete_returns_only_once_the_group_is_gone(sm_store):
    """Finding 8: deletion is asynchronous; recreating at once would be refused."""
    client = sm_store.session.sagemaker_client
    with Stubber(client) as stubber:
        stubber.add_response("delete_feature_group", {}, {"FeatureGroupName": "lab-test"})
        for _ in range(3):
            stubber.add_response("describe_feature_group", _described("Deleting"),
                                 {"FeatureGroupName": "lab-test"})
        stubber.add_client_error("describe_feature_group", "ResourceNotFound", "gone")
        sm_store.delete_group("lab-test")
        stubber.assert_no_pending_responses()  # it looked until the group was gone
        stubber.add_response("delete_feature_group", {}, {"FeatureGroupName": "lab-test"})
        stubber.add_response("describe_feature_group", {**_described("DeleteFailed"),
                                                        "FailureReason": "Glue is down"})
        with pytest.raises(BackendError, match="could not delete .*Glue is down"):
            sm_store.delete_group("lab-test")


def test_create_waits_for_a_group_of_that_name_still_being_deleted(sm_store):
    client = sm_store.session.sagemaker_client
    sent = []
    client.meta.events.register("provide-client-params.sagemaker.CreateFeatureGroup",
                                lambda params, **_: sent.append(params["FeatureGroupName"]))
    with Stubber(client) as stubber:
        stubber.add_client_error("create_feature_group", "ResourceInUse", "Resource Already "
                                 "Exists: lab-test")
        stubber.add_response("describe_feature_group", _described("Deleting"))
        stubber.add_response("describe_feature_group", _described("Deleting"))
        stubber.add_client_error("describe_feature_group", "ResourceNotFound", "gone")
        stubber.add_response("create_feature_group", {"FeatureGroupArn": "arn:aws:x"})
        stubber.add_response("describe_feature_group", _described("Created"))
        info = sm_store.create_group("lab-test", small_frame())
        stubber.assert_no_pending_responses()
    assert info.status == "Created" and sent == ["lab-test", "lab-test"]


def test_a_group_that_exists_and_is_not_being_deleted_is_refused(sm_store):
    client = sm_store.session.sagemaker_client
    with Stubber(client) as stubber:
        stubber.add_client_error("create_feature_group", "ResourceInUse", "Resource Already "
                                 "Exists: lab-test")
        stubber.add_response("describe_feature_group", _described("Created"))
        with pytest.raises(GroupExistsError):
            sm_store.create_group("lab-test", small_frame())
