"""Canary credentials: AWS keys and a session token that must never appear in a page, a log
(botocore's included, at DEBUG), a job log, a workspace file or an error message, on
either backend, and with AWS unreachable. Local servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from tests.cli import run_cli as lab
from tests.fake_aws import BUCKET, ROLE
from tests.parity.fixtures import container_artifacts, parity  # noqa: F401 (fixtures)

KEY_ID = "AKIACANARY0000000001"
# "tripwire", not "canary": a canary is also one of the rollout strategies the pages show
SECRET = "tripwire/Secret+Access+Key+0123456789abcdef"
TOKEN = "tripwire-session-token-FwoGZXIvYXdzEJr"
CANARIES = (SECRET, TOKEN, "tripwire")


@pytest.fixture
def canary_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def debug_logs():
    """Every log record of every logger, botocore's at DEBUG, as text."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(previous)
    for name in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def leaks(text: str) -> list[str]:
    return [c for c in CANARIES if c in text]


def workspace_leaks(root: Path) -> list[str]:
    found = []
    for path in Path(root).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(root)}: {c}" for c in CANARIES if c.encode() in data]
    return found


def test_no_credential_anywhere_on_the_local_backend(small, canary_env, debug_logs):
    """The whole local lab (a processing job's child, the training script, the runtime
    server with boto3's client) with canary credentials in the environment."""
    ws = small.workspace
    outputs = []
    for args in (("process",), ("train", "--hp", "n_estimators=5"), ("register",),
                 ("approve", "--version", "1"), ("deploy",), ("invoke", "--rows", "2"),
                 ("invoke", "--body", "not,numbers"), ("endpoints",),
                 ("features", "query", "--sql", "SELECT getenv('AWS_SECRET_ACCESS_KEY')")):
        proc = lab(*args, "--json", ws=ws)
        outputs += [proc.stdout, proc.stderr]
    assert not leaks("\n".join(outputs))
    assert not leaks("\n".join(debug_logs))
    assert not workspace_leaks(Path(ws))


@pytest.mark.xdist_group("parity")  # the worker that builds the container environments
def test_no_credential_anywhere_on_the_sagemaker_backend(tmp_path, aws, monkeypatch,
                                                         debug_logs, container_artifacts):  # noqa: F811
    """moto's AWS, botocore at DEBUG: requests are signed with the canary keys, and none
    of them reaches a log, a workspace file or an error. (The model registered was trained
    in its serving image's libraries: SageMaker's registry twin refuses others.)"""
    from lab.featurestore import open_featurestore
    from lab.registry import open_registry
    from lab.serving import list_endpoints
    from tests.workspaces import trained_settings

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    settings = trained_settings(tmp_path, backend="sagemaker", sagemaker_role=ROLE,
                                s3_bucket=BUCKET)
    registry = open_registry(settings)
    registry.create_group("lab-secret-check")
    version = registry.register("lab-secret-check", container_artifacts.models["xgboost"])
    registry.update_status("lab-secret-check", version.version, "Approved", "ok")
    errors = []
    for call in (lambda: registry.describe_version("lab-secret-check", 99),
                 lambda: open_featurestore(settings).describe_group("no-such-group"),
                 lambda: list_endpoints(settings)):
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - the message is what is checked
            errors.append(f"{type(exc).__name__}: {exc}")
    assert debug_logs, "botocore logged nothing: the test would prove nothing"
    assert not leaks("\n".join(errors))
    assert not leaks("\n".join(debug_logs)), [r for r in debug_logs if leaks(r)][:2]
    assert not workspace_leaks(Path(settings.workspace))


def test_no_credential_when_aws_is_unreachable(tmp_path, canary_env, monkeypatch, debug_logs):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("LAB_SAGEMAKER_ROLE", ROLE)
    monkeypatch.setenv("LAB_S3_BUCKET", BUCKET)
    outputs = []
    for args in (("endpoints",), ("features", "get", "--id", "1"), ("register",),
                 ("pipeline", "list")):
        proc = lab(*args, "--backend", "sagemaker", "--json", ws=tmp_path / "ws")
        assert "Traceback" not in proc.stdout + proc.stderr
        outputs += [proc.stdout, proc.stderr]
    assert not leaks("\n".join(outputs))
    assert not leaks("\n".join(debug_logs))
    assert not workspace_leaks(tmp_path / "ws") if (tmp_path / "ws").exists() else True


def test_every_page_shows_no_credential(tmp_path, canary_env, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from lab.steps import pages
    from tests.workspaces import REPO

    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path / "ws"))
    shown = []
    for backend in ("local", "sagemaker"):
        monkeypatch.setenv("LAB_BACKEND", backend)
        at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60)
        at.run()
        for page in pages(instructor=False):  # the instructor's page: workshop mode only
            at.switch_page(f"pages/{page.file}").run()
            assert not at.exception, (backend, page.file, at.exception)
            shown.append(str(at._tree))
    assert not leaks("\n".join(shown))


def test_local_servers_listen_on_loopback_only(trained):
    from lab.serving import stop_server
    from lab.serving._runtime import ensure_server

    server = ensure_server(trained)
    try:
        host, port = server.socket.getsockname()[:2]
        assert host == "127.0.0.1"
        for address in _other_addresses():
            with socket.socket() as probe:
                probe.settimeout(0.5)
                assert probe.connect_ex((address, port)) != 0, address
    finally:
        stop_server(trained)
    config = (Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text()
    assert 'address = "127.0.0.1"' in config


def _other_addresses() -> list[str]:
    """This machine's addresses other than loopback (none on some CI machines)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
            address = s.getsockname()[0]
    except OSError:
        return []
    return [] if address.startswith("127.") else [address]
