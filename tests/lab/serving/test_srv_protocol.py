"""The local runtime speaks SageMaker's protocols: boto3's own clients work against it, and
give what the in-process calls give; refusals are SageMaker-shaped and never stop it."""

from __future__ import annotations

import http.client
import json
import time

import numpy as np
import pytest

from lab.featurestore import LocalFeatureStore, group_names
from lab.featurestore._runtime import decode_record
from lab.serving import ENDPOINT, MAX_BODY_BYTES, featurestore_client, runtime_client, to_csv
from lab.training import load_model
from tests.lab.serving.srv_helpers import raw_request

INVOKE = f"/endpoints/{ENDPOINT}/invocations"


@pytest.fixture
def test_rows(settings):
    """The first 50 records of the test split, from the online store (id, values)."""
    store = LocalFeatureStore(settings)
    batch = store.batch_get_records(group_names(settings)["test"], list(range(50)))
    return [r.values for r in batch.records]


def test_invoke_endpoint_equals_the_registered_models_predictions(url, versions, test_rows):
    model = load_model(versions["xgboost"].artifact)
    rows = np.array([[r[f] for f in model.features] for r in test_rows])

    response = runtime_client(url).invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="text/csv", Accept="application/json",
        Body=to_csv(rows))

    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    answer = json.loads(response["Body"].read())
    assert answer == [float(p) for p in model.predict(rows)]


def test_a_thousand_rows_and_csv_answers(url, versions, test_rows):
    model = load_model(versions["xgboost"].artifact)
    rows = np.array([[r[f] for f in model.features] for r in test_rows] * 20)
    response = runtime_client(url).invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="text/csv; charset=utf-8", Accept="text/csv",
        Body=to_csv(rows).encode())
    assert response["ContentType"] == "text/csv"
    values = [float(v) for v in response["Body"].read().decode().split()]
    assert len(values) == 1000 and values == [float(p) for p in model.predict(rows)]


def test_json_rows_are_answered_as_the_serving_scripts_input_fn_reads_them(
        url, versions, test_rows):
    """On SageMaker the container hands a JSON body to the lab's input_fn, which reads a
    list of rows, one row, or {"instances": rows}: the local endpoint answers the same."""
    model = load_model(versions["xgboost"].artifact)
    rows = np.array([[r[f] for f in model.features] for r in test_rows])
    expected = [float(p) for p in model.predict(rows)]
    client = runtime_client(url)

    def invoke(payload):
        response = client.invoke_endpoint(EndpointName=ENDPOINT, Body=json.dumps(payload),
                                           ContentType="application/json; charset=utf-8")
        return json.loads(response["Body"].read())

    assert invoke(rows.tolist()) == expected
    assert invoke({"instances": rows.tolist()}) == expected
    assert invoke({"features": rows[:2].tolist()}) == expected[:2]
    assert invoke(rows[0].tolist()) == expected[:1]  # one row, not nested


def test_get_record_equals_the_in_process_lookup(url, settings):
    store = LocalFeatureStore(settings)
    group = group_names(settings)["test"]
    definitions = store.describe_group(group).definitions
    client = featurestore_client(url)
    for record_id in (0, 7, 1999):
        answer = client.get_record(FeatureGroupName=group,
                                   RecordIdentifierValueAsString=str(record_id))
        assert decode_record(answer["Record"], definitions) == store.get_record(
            group, record_id).values
    some = client.get_record(FeatureGroupName=group, RecordIdentifierValueAsString="3",
                             FeatureNames=["PRICE", "DECK"])["Record"]
    assert [f["FeatureName"] for f in some] == ["PRICE", "DECK"]
    # An id the store does not hold: 200 and no Record, as on SageMaker.
    assert "Record" not in client.get_record(FeatureGroupName=group,
                                             RecordIdentifierValueAsString="99999")


def test_batch_get_and_put_record(url, settings):
    store = LocalFeatureStore(settings)
    group = group_names(settings)["test"]
    definitions = store.describe_group(group).definitions
    client = featurestore_client(url)

    answer = client.batch_get_record(Identifiers=[
        {"FeatureGroupName": group, "RecordIdentifiersValueAsString": ["1", "2", "99999"]},
        {"FeatureGroupName": "no-such-group", "RecordIdentifiersValueAsString": ["1"]}])

    expected = store.batch_get_records(group, [1, 2])
    assert [decode_record(r["Record"], definitions) for r in answer["Records"]] == [
        r.values for r in expected.records]
    assert [e["ErrorCode"] for e in answer["Errors"]] == ["ResourceNotFound"]
    assert answer["UnprocessedIdentifiers"] == []

    record = dict(store.get_record(group, 5).values, record_id=123456, event_time=2e9)
    client.put_record(FeatureGroupName=group, TargetStores=["OnlineStore"],
                      Record=[{"FeatureName": k, "ValueAsString": repr(v) if isinstance(
                          v, float) else str(v)} for k, v in record.items()])
    assert store.get_record(group, 123456).values == record


def _client_error(call):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response


@pytest.mark.parametrize("body, content_type, status, message", [
    ("1,2,3", "application/xml", 415, "Content type 'application/xml' is not supported"),
    ("1,2,3", "application/json", 400, "The body is not JSON: send a list of rows of 8"),
    ('{"rows": [[1]]}', "application/json", 400, "The JSON holds no row"),
    ("[[1, 2, 3]]", "application/json", 400, "Row 1 has 3 values; the model takes 8"),
    ("[[1,2,3,4,5,6,7,8],[1,2,3,4,5,6,7,8,9]]", "application/json", 400,
     "Row 2 has 9 values; the model takes 8 (YEAR_BUILT"),
    ('[[1,2,3,4,5,6,7,"8"]]', "application/json", 400,
     'Row 1, column 8 (DECK): "8" is not a finite number'),
    ("[[1,2,3,4,5,6,7,NaN]]", "application/json", 400, "NaN is not a finite number"),
    ("[[1,2,3,4,5,6,7,true]]", "application/json", 400, "(DECK): true is not a finite"),
    ("[1, [1,2,3,4,5,6,7,8]]", "application/json", 400, "Row 1 is 1, not a list of 8"),
    ("1,2,3", "text/csv", 400, "Row 1 has 3 values; the model takes 8"),
    ("1,2,3,4,5,6,7,x", "text/csv", 400, "Row 1, column 8 (DECK): 'x' is not a number"),
    ("", "text/csv", 400, "The body is empty"),
    ("1,2,3,4,5,6,7,8,9", "text/csv", 400, "Leave out the target column (PRICE)"),
])
def test_bad_payloads_are_model_errors_and_the_endpoint_keeps_serving(
        url, body, content_type, status, message):
    client = runtime_client(url)

    response = _client_error(lambda: client.invoke_endpoint(
        EndpointName=ENDPOINT, ContentType=content_type, Body=body))

    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == status
    assert message in response["Error"]["Message"] and message in response["OriginalMessage"]
    ok = client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv",
                                Body="0,0,0,0,0,0,0,0")
    assert len(json.loads(ok["Body"].read())) == 1


def test_unknown_endpoint_and_unknown_group(url):
    response = _client_error(lambda: runtime_client(url).invoke_endpoint(
        EndpointName="no-such-endpoint", ContentType="text/csv", Body="1"))
    assert response["Error"]["Code"] == "ValidationError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Endpoint no-such-endpoint of account" in response["Error"]["Message"]
    response = _client_error(lambda: featurestore_client(url).get_record(
        FeatureGroupName="no-such-group", RecordIdentifierValueAsString="1"))
    assert response["Error"]["Code"] == "ResourceNotFound"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_an_oversized_body_is_refused_and_the_connection_stays_usable(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    big = b"0," * (MAX_BODY_BYTES // 2) + b"0"

    status, headers, body = raw_request(port, "POST", INVOKE, big,
                                        {"Content-Type": "text/csv"}, conn)

    assert status == 413 and headers["x-amzn-errortype"] == "ValidationError"
    assert "6 MB" in json.loads(body)["message"]
    status, _, body = raw_request(port, "POST", INVOKE, b"0,0,0,0,0,0,0,0",
                                  {"Content-Type": "text/csv"}, conn)  # same connection
    assert status == 200 and len(json.loads(body)) == 1


def test_a_huge_declared_body_is_not_read_and_the_server_goes_on(port):
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST {INVOKE} HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                     f"Content-Length: {10 ** 9}\r\n\r\n".encode())
        reply = sock.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 413") and "Connection: close" in reply
    status, _, _ = raw_request(port, "POST", INVOKE, b"0,0,0,0,0,0,0,0",
                               {"Content-Type": "text/csv"})
    assert status == 200


@pytest.mark.parametrize("raw", [
    b"NONSENSE\r\n\r\n",
    b"POST /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
    b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
])
def test_malformed_http_gets_a_json_error(port, raw):
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split()[1] in (b"400", b"411")
    assert "message" in json.loads(body)
    assert raw_request(port, "GET", "/ping")[0] == 200


def test_unknown_operations_and_accept_types(port):
    status, headers, body = raw_request(port, "GET", "/endpoints")
    assert status == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"
    status, headers, body = raw_request(port, "POST", INVOKE, b"0,0,0,0,0,0,0,0",
                                        {"Content-Type": "text/csv", "Accept": "image/png"})
    assert status == 424 and json.loads(body)["OriginalStatusCode"] == 406


def test_request_headers_are_never_echoed_or_logged(settings, port):
    from lab.serving import running_server

    lines = []
    running_server(settings).log = lines.append
    secret = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/secret-signature"
    for path, body in ((INVOKE, b"bad"), (INVOKE, b"0,0,0,0,0,0,0,0"), ("/nowhere", b"")):
        status, headers, reply = raw_request(port, "POST", path, body, {
            "Content-Type": "text/csv", "Authorization": secret, "X-Amz-Security-Token": "tok"})
        assert secret.encode() not in reply and b"AKIA" not in reply
        assert not any("AKIA" in v or "tok" == v for v in headers.values())
    # each request's line is logged after its answer is sent, by its own thread: wait for it
    deadline = time.monotonic() + 10
    while not any(line.startswith(f"POST {INVOKE} 200") for line in lines):
        assert time.monotonic() < deadline, lines
        time.sleep(0.01)
    assert not any("AKIA" in line or "tok" in line for line in lines)


def test_delete_record_is_refused_plainly(url, settings):
    response = _client_error(lambda: featurestore_client(url).delete_record(
        FeatureGroupName=group_names(settings)["test"], RecordIdentifierValueAsString="1",
        EventTime="2024-01-01T00:00:00Z"))
    assert response["Error"]["Code"] == "ValidationError"
    assert "PutRecord" in response["Error"]["Message"]


def test_a_client_that_goes_away_mid_request_does_not_stop_the_server(port):
    import socket

    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(f"POST {INVOKE} HTTP/1.1\r\nContent-Type: text/csv\r\n"
                     "Content-Length: 100\r\n\r\n0,0".encode())
        sock.close()
    status, _, body = raw_request(port, "POST", INVOKE, b"0,0,0,0,0,0,0,0",
                                  {"Content-Type": "text/csv"})
    assert status == 200 and len(json.loads(body)) == 1
