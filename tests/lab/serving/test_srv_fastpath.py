"""The one-row path's shortcuts answer exactly as the general path: XGBoost's
inplace_predict against the serving script's predict_fn, and the plain header reader
against http.client's email parser. Byte for byte, for each model kind the lab serves."""

from __future__ import annotations

import http.client
import io
import json
import socket

import numpy as np
import pytest

from lab.featurestore import LocalFeatureStore, group_names
from lab.serving import ENDPOINT, deploy_model, running_server
from lab.serving._headers import parse_block
from lab.serving._predict import ServingModel, inplace_predictor
from lab.training import load_model
from tests.lab.serving.srv_helpers import raw_request

KINDS = ("xgboost", "random_forest")


@pytest.fixture
def rows(settings):
    """The test split's first 200 records, in the model's feature order, as floats."""
    store = LocalFeatureStore(settings)
    group = group_names(settings)["test"]
    records = [r for start in (0, 100) for r in store.batch_get_records(
        group, list(range(start, start + 100))).records]
    features = load_model(_artifact(settings)).features
    return np.array([[r.values[f] for f in features] for r in records], dtype=float)


def _artifact(settings):
    from tests.workspaces import run_artifacts

    return run_artifacts(settings)["xgboost"]


def _csv(rows) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()


def test_inplace_predict_equals_predict_fn_byte_for_byte(settings, rows):
    loaded = load_model(_artifact(settings))
    served = ServingModel(loaded)
    assert served.inplace  # the default XGBoost model takes the shortcut
    rng = np.random.default_rng(14)
    odd = rng.normal(size=(300, rows.shape[1])) * 10.0 ** rng.integers(-8, 12, (300, 1))
    for batch in (rows, odd, np.zeros((1, rows.shape[1])), rows[:1] * -1.0):
        assert served.predict(batch).tobytes() == loaded.predict(batch).tobytes()
        for row in batch[:50]:  # one row at a time, as the one-row requests come
            one = row.reshape(1, -1)
            assert served.predict(one).tobytes() == loaded.predict(one).tobytes()


def test_a_model_that_predict_fn_could_refuse_keeps_the_general_path(settings):
    from tests.workspaces import run_artifacts

    loaded = load_model(_artifact(settings))
    renamed = load_model(_artifact(settings))
    renamed.features = [f"x{i}" for i in range(len(loaded.features))]
    assert inplace_predictor(renamed) is None  # predict_fn's name check would refuse
    shorter = load_model(_artifact(settings))
    shorter.features = loaded.features[:-1]
    assert inplace_predictor(shorter) is None
    forest = load_model(run_artifacts(settings)["random_forest"])
    assert inplace_predictor(forest) is None and not ServingModel(forest).inplace


def _answers(port: int, endpoint: str, rows) -> list[tuple]:
    path = f"/endpoints/{endpoint}/invocations"
    cases = [(_csv(rows[:1]), "text/csv", "application/json"),
             (_csv(rows[:1]) + b"\n", "text/csv", "text/csv"),
             (_csv(rows[1:2]), "text/csv; charset=utf-8", "*/*"),
             (_csv(rows[:37]), "text/csv", "application/json"),
             (_csv(rows[:37]), "text/csv", "text/csv"),
             (json.dumps(rows[:2].tolist()).encode(), "application/json", "application/json"),
             (b"1,2,3", "text/csv", "application/json"),
             (b"1,2,3,4,5,6,7,x", "text/csv", "application/json"),
             (b"", "text/csv", "application/json"),
             (b"1,2,3,4,5,6,7,nan", "text/csv", "application/json"),
             (b"\xff\xfe", "text/csv", "application/json"),
             (_csv(rows[:1]), "text/csv", "image/png")]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    out = []
    for body, content_type, accept in cases:
        status, headers, reply = raw_request(port, "POST", path, body, {
            "Content-Type": content_type, "Accept": accept}, conn)
        out.append((status, headers.get("content-type"),
                    headers.get("x-amzn-invoked-production-variant"), reply))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_the_endpoint_answers_as_the_general_path(settings, versions, rows, kind):
    endpoint = deploy_model(settings, versions[kind].version, f"fast-{kind.replace('_', '-')}")
    port = int(endpoint.url.rsplit(":", 1)[1])
    server = running_server(settings)
    served = server.models.get(endpoint.name).model
    assert served.inplace is (kind == "xgboost")

    quick = _answers(port, endpoint.name, rows)
    served.predict = served.loaded.predict  # the serving script's predict_fn, as before
    general = _answers(port, endpoint.name, rows)

    assert quick == general
    assert [a[0] for a in quick[:6]] == [200] * 6
    assert all(a[0] == 424 for a in quick[6:])
    expected = [float(v) for v in served.loaded.predict(rows[:37])]
    assert json.loads(quick[3][3]) == expected
    assert json.loads(quick[5][3]) == expected[:2]  # the same rows as JSON


HEADER_BLOCKS = [
    b"Host: x\r\nContent-Type: text/csv\r\nContent-Length: 5\r\n\r\n",
    b"content-type:text/csv\r\nCONTENT-TYPE: application/json\r\n\r\n",  # first one wins
    b"Accept: \t application/json  \r\nX-Empty:\r\nX-Spaces:   \r\n\n",
    b"Content-Type: text/csv\r\n  ; charset=utf-8\r\nAccept: */*\r\n\r\n",  # folded line
    b"Content-Type: text\rcsv\r\nAccept: */*\r\n\r\n",  # a bare CR splits the line
    b"Content-Type: text/csv\r\nX-Name: caf\xe9\r\n\r\n",  # not ASCII
    b"From nobody\r\nContent-Type: text/csv\r\n\r\n",
    b"not a header\r\nContent-Type: text/csv\r\n\r\n",
    b":empty-name\r\nContent-Type: text/csv\r\n\r\n",
    b"Content-Type: text/csv\r\nContent-Length: 3",  # the stream ended
    b"\r\n",
]


@pytest.mark.parametrize("block", HEADER_BLOCKS)
def test_plain_headers_read_as_the_email_parser_reads_them(block):
    expected = http.client.parse_headers(io.BytesIO(block))
    lines = io.BytesIO(block).readlines() or [b""]
    if lines[-1] not in (b"\r\n", b"\n"):
        lines.append(b"")
    got = parse_block(lines)
    for name in ("Host", "Content-Type", "content-length", "ACCEPT", "X-Empty", "X-Spaces",
                 "X-Name", "From", "Missing", ""):
        assert got.get(name) == expected.get(name), (block, name)


def _exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def test_http_versions_connection_and_expect_as_http_server(port, rows):
    one = _csv(rows[:1])
    path = f"/endpoints/{ENDPOINT}/invocations".encode()
    head = b"Content-Type: text/csv\r\nContent-Length: " + str(len(one)).encode()
    # HTTP/1.0: the server closes after the answer (the read below ends).
    reply = _exchange(port, b"POST " + path + b" HTTP/1.0\r\n" + head + b"\r\n\r\n" + one)
    assert reply.startswith(b"HTTP/1.1 200") and b"Connection: close" in reply
    # HTTP/1.1 with Connection: close, and a folded header line (the email parser's case).
    reply = _exchange(port, b"POST " + path + b" HTTP/1.1\r\nConnection: close\r\nX-Folded: a"
                      b"\r\n b\r\n" + head + b"\r\n\r\n" + one)
    assert reply.startswith(b"HTTP/1.1 200") and reply.count(b"HTTP/1.1") == 1
    # Expect: 100-continue gets its interim answer first.
    reply = _exchange(port, b"POST " + path + b" HTTP/1.1\r\nExpect: 100-continue\r\n"
                      b"Connection: close\r\n" + head + b"\r\n\r\n" + one)
    assert reply.startswith(b"HTTP/1.1 100") and b"HTTP/1.1 200" in reply
    # A request line http.server must judge itself (an odd version): still its answer.
    reply = _exchange(port, b"POST " + path + b" HTTP/01.1\r\nConnection: close\r\n" + head
                      + b"\r\n\r\n" + one)
    assert b" 200 " in reply.split(b"\r\n", 1)[0]
    reply = _exchange(port, b"POST " + path + b" HTTP/2.0\r\n\r\n")
    assert b" 505 " in reply.split(b"\r\n", 1)[0]


def test_too_many_or_too_long_headers_are_refused_with_431(port):
    many = b"".join(b"X-%d: y\r\n" % i for i in range(101))
    reply = _exchange(port, b"GET /ping HTTP/1.1\r\n" + many + b"\r\n")
    assert reply.startswith(b"HTTP/1.1 431")
    reply = _exchange(port, b"GET /ping HTTP/1.1\r\nX-Long: " + b"y" * 70000 + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 431")



def test_concurrent_one_row_requests_each_get_their_own_answer(port, versions, rows):
    """Four connections at once (inplace_predict from several handler threads): every
    answer is its own row's prediction by the serving script's predict_fn."""
    from concurrent.futures import ThreadPoolExecutor

    expected = load_model(versions["xgboost"].artifact).predict(rows)
    path = f"/endpoints/{ENDPOINT}/invocations"

    def client(offset: int) -> list[tuple[int, bytes]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        out = []
        for i in range(offset, len(rows), 4):
            status, _, body = raw_request(port, "POST", path, _csv(rows[i:i + 1]),
                                          {"Content-Type": "text/csv"}, conn)
            out.append((i, status, body))
        return out

    with ThreadPoolExecutor(4) as pool:
        answers = [a for part in pool.map(client, range(4)) for a in part]
    assert len(answers) == len(rows)
    for i, status, body in answers:
        assert status == 200 and json.loads(body) == [float(expected[i])], i
