"""The local runtime server: SageMaker's InvokeEndpoint and Feature Store runtime, on HTTP.

    POST /endpoints/{name}/invocations   InvokeEndpoint (CSV or JSON rows in, JSON or CSV out)
    GET|PUT /FeatureGroup/{name}         GetRecord, PutRecord
    POST /BatchGetRecord                 BatchGetRecord
    GET /ping                            health (what SageMaker asks a serving container)

Why `http.server.ThreadingHTTPServer`: it is in the standard library, one thread per
connection suits a handful of clients, and with two fixes it is fast enough (the HTTP part
costs well under a millisecond; the model's predict is most of a request): TCP_NODELAY,
and each reply written in one `sendall`. Without them a reply goes out as two segments and
the second waits for the client's delayed ACK (Nagle): about 40 ms a request. HTTP/1.1
keep-alive lets boto3 reuse its connection. A one-row request's CPU is mostly the model's
predict: headers of plain lines are read without the email package (`_headers.py`) and an
XGBoost model predicts with Booster.inplace_predict where that provably equals the serving
script's predict_fn (`_predict.py`); what a request means is decided as before.

It binds 127.0.0.1 only. Errors are SageMaker's: a JSON body with a message and the
`x-amzn-ErrorType` header botocore reads (ValidationError, ModelError, ResourceNotFound...).
Request headers are never logged or echoed: they carry the client's signature.

Each answered invocation is counted for its endpoint and variant (`_metrics.py`: what
CloudWatch keeps for an endpoint) and, when the endpoint's data capture is on, written
with its answer in Model Monitor's capture format (`_capture.py`). During a rollout the
endpoint has two fleets (variants) and each request goes to one, drawn by their weights;
the reply names it in `x-Amzn-Invoked-Production-Variant`, as SageMaker's does.

Connections are capped (MAX_CONNECTIONS, one thread each): when a new one would pass the
cap, the connection idle the longest (a keep-alive waiting for its next request) is closed
to make room, so idle or slow clients cannot starve the others; with every connection busy
in a request, the new one gets 503 and is closed.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from lab.errors import InputError
from lab.serving._capture import CaptureWriter
from lab.serving._errors import InvocationError
from lab.serving._fsapi import FeatureStoreAPI
from lab.serving._headers import read_headers
from lab.serving._metrics import MetricsRecorder
from lab.serving._model_cache import ModelCache
from lab.serving._payload import (
    CSV,
    JSON,
    MAX_BODY_BYTES,
    format_predictions,
    media_type,
    parse_csv,
    parse_json,
)

HOST = "127.0.0.1"
DRAIN_LIMIT = 64 * 1024 * 1024  # a larger body is not read: the connection is closed instead
IDLE_TIMEOUT_S = 60  # an idle keep-alive connection is closed after this
MAX_CONNECTIONS = 64  # open connections (and so handler threads) at most


class RuntimeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, settings: Any, port: int = 0,
                 log: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.models = ModelCache(settings)
        self.features = FeatureStoreAPI(settings)
        self.log = log
        self._connections: dict[socket.socket, float | None] = {}  # -> idle since (or None)
        self._conn_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stopped = threading.Event()
        super().__init__((HOST, port), _Handler)
        self.capture = CaptureWriter(settings)
        self.metrics = MetricsRecorder(settings).start()  # once the port is ours

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return not self.stopped.is_set()

    def start(self) -> RuntimeServer:
        """Serve in a background thread; reload the serving endpoints' models meanwhile."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"lab-runtime-{self.port}", daemon=True)
        self._thread.start()
        threading.Thread(target=self.models.warm, name="lab-runtime-warm", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving, free the port, and close the clients' keep-alive connections."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        if self._thread is not None:
            self.shutdown()
        self.server_close()
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.features.close()
        self.metrics.stop()

    def handle_error(self, request, client_address) -> None:
        """A connection that failed outside a request (the client went away mid-reply):
        one line for `serve`, not socketserver's traceback on stderr."""
        import sys

        if self.log:
            self.log(f"connection error: {sys.exc_info()[1]!r}")

    def process_request(self, request, client_address):
        with self._conn_lock:
            evict = None
            if len(self._connections) >= MAX_CONNECTIONS:
                idle = [(since, conn) for conn, since in self._connections.items()
                        if since is not None]
                if not idle:  # every connection is in a request: refuse this one
                    _refuse(request)
                    return
                evict = min(idle, key=lambda pair: pair[0])[1]
                del self._connections[evict]
            self._connections[request] = time.monotonic()
        if evict is not None:
            try:
                evict.shutdown(socket.SHUT_RDWR)  # its thread sees the end and exits
            except OSError:
                pass
        super().process_request(request, client_address)

    def mark(self, request, idle: bool) -> None:
        """A handler says its connection waits for a request (idle) or serves one."""
        with self._conn_lock:
            if request in self._connections:
                self._connections[request] = time.monotonic() if idle else None

    def shutdown_request(self, request):
        with self._conn_lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted connection
    timeout = IDLE_TIMEOUT_S
    server_version, sys_version = "mlops-lab-runtime", ""
    server: RuntimeServer

    def handle_one_request(self) -> None:
        self.server.mark(self.connection, idle=True)
        super().handle_one_request()

    def parse_request(self) -> bool:
        # request line and headers, however slow: idle
        parsed = self._parse_plain_request()
        if parsed is None:
            parsed = super().parse_request()
        self.server.mark(self.connection, idle=False)
        return parsed

    def _parse_plain_request(self) -> bool | None:
        """What http.server's parse_request does, for the usual request line (`METHOD
        PATH HTTP/1.1` or `HTTP/1.0`) and with plain `Name: value` header lines read
        without the email package (a quarter of a one-row request's HTTP work); None,
        having read nothing more, for any other request line (http.server's own parse
        then runs). Header blocks that are not plain go to the email parser as before."""
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            return None
        self.requestline = requestline
        self.request_version = words[2]
        self.close_connection = words[2] == "HTTP/1.0"
        self.command, self.path = words[0], words[1]
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")  # as http.server: reduce to a single /
        try:
            self.headers = read_headers(self.rfile)
        except http.client.LineTooLong as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers",
                            str(err))
            return False
        conntype = (self.headers.get("Connection") or "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive":
            self.close_connection = False
        expect = (self.headers.get("Expect") or "").lower()
        if expect == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_GET

    def _dispatch(self) -> None:
        started = time.perf_counter()
        path, _, query = self.path.partition("?")
        status = 500
        self._counted: tuple[str, str] | None = None  # (endpoint, variant) of an invocation
        try:
            body = self._read_body()
            status = self._route(self.command, path, query, body)
        except InvocationError as exc:
            status = self._error(exc.status, exc.code, str(exc), exc.original_status)
        except Exception:  # a bug: keep the server up, say so, keep the trace for `serve`
            if self.server.log:
                self.server.log(traceback.format_exc())
            status = self._error(500, "InternalFailure", "The local runtime failed on this "
                                 "request; `python -m lab serve` prints the details.")
        elapsed = time.perf_counter() - started
        if self._counted is not None:
            self.server.metrics.record(*self._counted, ok=status < 400, seconds=elapsed)
        if self.server.log:
            self.server.log(f"{self.command} {path} {status} {elapsed * 1000:.2f} ms")

    def _route(self, method: str, path: str, query: str, body: bytes) -> int:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if method == "POST" and len(parts) == 3 and parts[0] == "endpoints" \
                and parts[2] == "invocations":
            return self._invoke(parts[1], body)
        if len(parts) == 2 and parts[0] == "FeatureGroup" and method in ("GET", "PUT"):
            api = self.server.features
            answer = (api.get_record(parts[1], parse_qs(query)) if method == "GET"
                      else api.put_record(parts[1], body))
            return self._json(200, answer)
        if len(parts) == 2 and parts[0] == "FeatureGroup" and method == "DELETE":
            raise InvocationError("DeleteRecord is not supported by the lab's local online "
                                  "store: write a newer record with PutRecord instead.")
        if method == "POST" and parts == ["BatchGetRecord"]:
            return self._json(200, self.server.features.batch_get_record(body))
        if method == "GET" and parts in (["ping"], [""]):
            return self._json(200, {"status": "Healthy", "endpoints": self.server.models.names()})
        raise InvocationError(f"{method} {path} is not an operation of the SageMaker runtime "
                              "or Feature Store runtime APIs.", code="UnknownOperationException",
                              status=404)

    def _invoke(self, name: str, body: bytes) -> int:
        served = self.server.models.get(name)
        variant, model = served.pick()
        self._counted = (served.endpoint.name, variant)
        content_type, accept = (media_type(self.headers.get("Content-Type")),
                                media_type(self.headers.get("Accept")))
        features = model.features
        parse = {CSV: parse_csv, JSON: parse_json}.get(content_type)
        if parse is None:
            raise InvocationError.from_model(415, f"Content type {content_type or '(none)'!r} "
                                             f"is not supported: send {CSV}, rows of "
                                             f"{len(features)} comma-separated numbers "
                                             f"(or {JSON}, a list of rows).")
        if accept not in ("", "*/*", "application/*", JSON, CSV):
            raise InvocationError.from_model(406, f"Accept {accept!r} is not supported: ask "
                                             f"for {JSON} or {CSV}.")
        rows = parse(body, features, model.target)
        try:
            predictions = model.predict(rows)
        except InputError as exc:
            raise InvocationError.from_model(400, str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - the model's own failure, as a container's
            raise InvocationError.from_model(500, f"{type(exc).__name__}: {exc}") from None
        out, out_type = format_predictions(predictions, accept)
        try:
            self.server.capture.capture(served.endpoint.name, variant, body, content_type,
                                        out, out_type)
        except OSError as exc:  # a full disk loses the capture, not the answer
            if self.server.log:
                self.server.log(f"data capture failed: {exc}")
        return self._reply(200, out, out_type, [("x-Amzn-Invoked-Production-Variant", variant)])

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise InvocationError("Chunked request bodies are not supported: send the body "
                                  "with a Content-Length.", status=411)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise InvocationError("The Content-Length header is not a number.")
        if length > MAX_BODY_BYTES:
            if length <= DRAIN_LIMIT:  # read it, so the connection stays usable
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(1 << 20, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            else:
                self.close_connection = True
            raise InvocationError(f"The request body is larger than {MAX_BODY_BYTES:,} bytes "
                                  "(6 MB), SageMaker's limit for InvokeEndpoint: send fewer "
                                  "rows per request.", status=413)
        body = self.rfile.read(length) if length else b""
        if len(body) != length:  # the client stopped sending: answer (if it listens), close
            self.close_connection = True
            raise InvocationError(f"The body ended after {len(body)} of the {length} bytes "
                                  "its Content-Length announced.")
        return body

    def _json(self, status: int, data: Any) -> int:
        return self._reply(status, json.dumps(data).encode(), "application/x-amz-json-1.1")

    def _error(self, status: int, code: str, message: str,
               original_status: int | None = None) -> int:
        data: dict[str, Any] = {"message": message}
        if original_status is not None:
            original = message.split('"', 1)[1].rsplit('"', 1)[0] if '"' in message else message
            data.update(OriginalStatusCode=original_status, OriginalMessage=original)
        return self._reply(status, json.dumps(data).encode(), "application/json",
                           [("x-amzn-ErrorType", code)])

    def _reply(self, status: int, body: bytes, content_type: str,
               headers: list[tuple[str, str]] = ()) -> int:
        """The whole reply in one write: headers and body in one TCP segment when small."""
        lines = [f"HTTP/1.1 {status} {_reason(status)}", f"Content-Type: {content_type}",
                 f"Content-Length: {len(body)}", f"x-amzn-RequestId: {uuid.uuid4()}",
                 *(f"{k}: {v}" for k, v in headers)]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return status

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """Malformed HTTP (http.server's own checks): a JSON error, then close."""
        self.close_connection = True
        try:
            self._error(code, "ValidationError", message or _reason(code))
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: `_dispatch` logs method, path and status, never headers."""


def _refuse(request: socket.socket) -> None:
    body = json.dumps({"message": f"The local runtime serves {MAX_CONNECTIONS} connections at "
                       "once and all are busy: retry in a moment."}).encode()
    try:
        request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json"
                        b"\r\nx-amzn-ErrorType: ServiceUnavailable\r\nConnection: close\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        request.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    request.close()


_REASONS = {int(status): status.phrase for status in HTTPStatus}


def _reason(status: int) -> str:
    return _REASONS.get(status, "Error")
