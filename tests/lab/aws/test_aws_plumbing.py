"""The shared AWS plumbing: names, the one error mapping, the one poller, the sessions."""

from __future__ import annotations

import pytest

from lab.aws import names, polling
from lab.aws.errors import describe, is_not_found, translate, translated
from lab.errors import BackendError, InputError
from lab.settings import Settings
from tests.fake_aws import KEY_ID, skip_without_aws_packages

skip_without_aws_packages()


def client_error(code: str, message: str, operation: str = "DescribeThing"):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class Missing(InputError):
    pass


class Taken(InputError):
    pass


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("ResourceNotFound", "Resource lab-train not found.", Missing),
    ("ValidationException", "Could not find endpoint \"x\".", Missing),
    ("ValidationException", "ModelPackageGroup lab does not exist.", Missing),
    ("ResourceInUse", "Resource Already Exists: lab-train", Taken),
    ("ValidationException", "1 validation error detected: Value at 'name'", InputError),
    ("ThrottlingException", "Rate exceeded", BackendError),
    ("AccessDeniedException", "User is not authorized", BackendError),
])
def test_one_mapping_from_botocore_errors_to_lab_errors(code, message, expected):
    error = translate(client_error(code, message), not_found=Missing("missing"),
                      exists=Taken("taken"))
    assert type(error) is expected
    if expected in (InputError, BackendError):
        assert f"AWS refused DescribeThing ({code}): {message}" in str(error)


def test_without_a_not_found_error_a_missing_resource_is_a_backend_error():
    error = translate(client_error("ResourceNotFound", "gone"))
    assert isinstance(error, BackendError) and is_not_found(client_error("ResourceNotFound", ""))


def test_access_denied_says_what_to_check_and_never_shows_a_key_id():
    text = describe(client_error("AccessDenied", f"User with key {KEY_ID} may not"))
    assert KEY_ID not in text and "<access key id>" in text
    assert "LAB_SAGEMAKER_ROLE" in text


def test_translated_turns_aws_errors_into_lab_errors_and_lets_the_rest_through():
    from botocore.exceptions import EndpointConnectionError

    with pytest.raises(Missing), translated(not_found=Missing("no such group")):
        raise client_error("ResourceNotFound", "nope")
    with pytest.raises(BackendError, match="EndpointConnectionError"), translated():
        raise EndpointConnectionError(endpoint_url="https://sagemaker.example")
    with pytest.raises(KeyError), translated():
        raise KeyError("a bug stays a bug")


def test_wait_for_looks_first_reports_each_status_and_stops_once_when_cancelled(monkeypatch):
    statuses = iter(["InProgress", "InProgress", "Stopping", "Stopped"])
    slept, seen, stops = [], [], []
    monkeypatch.setattr(polling, "sleep", slept.append)
    final = polling.wait_for(lambda: {"S": next(statuses)}, lambda d: d["S"],
                             ("Completed", "Failed", "Stopped"), poll_s=7,
                             on_status=lambda s, _: seen.append(s), cancelled=lambda: True,
                             stop=lambda: stops.append(1))
    assert final == {"S": "Stopped"}
    assert seen == ["InProgress", "InProgress", "Stopping", "Stopped"]
    assert stops == [1]  # asked once, however many looks followed
    assert slept == [7, 7, 7]  # no sleep before the first look, none after the last


def test_wait_for_gives_up_after_its_timeout(monkeypatch):
    clock = iter(range(0, 10_000, 100))
    monkeypatch.setattr(polling.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(polling, "sleep", lambda s: None)
    with pytest.raises(BackendError, match="The feature group 'g' is still Creating"):
        polling.wait_for(lambda: {"S": "Creating"}, lambda d: d["S"], ("Created",), poll_s=1,
                         timeout_s=250, what="The feature group 'g'")


def test_names_are_per_workspace_and_within_sagemakers_limits(tmp_path):
    a, b = Settings(workspace=tmp_path / "a"), Settings(workspace=tmp_path / "b")
    assert names.resource_name(a, "lab-train") == names.resource_name(a, "lab-train")
    assert names.resource_name(a, "lab-train") != names.resource_name(b, "lab-train")
    assert names.resource_name(a, "lab-train").startswith("lab-train-")
    job = "training-20261128-233000-abcdef" + "x" * 60
    assert len(names.job_name(job)) <= 63 and names.job_name(job).startswith("mlops-lab-")
    assert len(names.tuning_job_name(job)) <= 32
    assert names.workspace_tag(a) == {"Key": names.WORKSPACE_TAG, "Value": "a"}


def test_sessions_are_made_once_per_settings_and_can_be_injected(tmp_path):
    from lab.aws import session

    made = []

    def factory(settings):
        made.append(settings)
        return ("boto", f"sagemaker-{len(made)}")

    one, two = Settings(workspace=tmp_path / "1"), Settings(workspace=tmp_path / "2")
    with session.use_factory(factory):
        assert session.sessions(one) == ("boto", "sagemaker-1")
        assert session.sessions(one) == ("boto", "sagemaker-1")  # cached
        assert session.sessions(two) == ("boto", "sagemaker-2")
    assert made == [one, two]
    with session.use_factory(factory):  # a new factory starts from an empty cache
        assert session.sessions(one) == ("boto", "sagemaker-3")
