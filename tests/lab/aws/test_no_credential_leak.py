"""A planted fake credential never appears in a log, a job log, an error, the CLI's output or
a page, with botocore logging at DEBUG (which logs request headers: the access key id in
`Authorization`, the session token in `X-Amz-Security-Token`)."""
# ruff: noqa: F811 (fixtures imported by name)

from __future__ import annotations

import logging

import pytest

from tests.fake_aws import skip_without_aws_packages

skip_without_aws_packages()

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.cli import run_cli  # noqa: E402
from tests.lab.aws.sm_world import WORLD_BUCKET, WORLD_ROLE, world  # noqa: E402,F401
from tests.workspaces import REPO  # noqa: E402

KEY_ID = "AKIAPLANTEDFAKE12345"  # 20 characters, as AWS's
SECRET = "plantedSecret/0123456789abcdefghijklmnopqrstuv"
TOKEN = "plantedSessionToken" + "Q" * 60


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def planted(world, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("LAB_SAGEMAKER_ROLE", WORLD_ROLE)
    monkeypatch.setenv("LAB_S3_BUCKET", WORLD_BUCKET)
    handler = Everything()
    root, botocore = logging.getLogger(), logging.getLogger("botocore")
    levels = (root.level, botocore.level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    botocore.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(levels[0])
    botocore.setLevel(levels[1])


def _debug_on() -> None:
    """The lab puts botocore back to INFO after SDK calls: a user may set DEBUG again."""
    logging.getLogger("botocore").setLevel(logging.DEBUG)


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in (KEY_ID, SECRET, TOKEN, TOKEN[:40]):
            assert secret not in text


def test_no_credential_in_logs_job_logs_errors_or_output(planted, tmp_path, houses_csv,
                                                         monkeypatch):
    ws = tmp_path / "ws"
    outputs = []
    for args in (("check", "--json"), ("prep", "--data", houses_csv, "--json"),
                 ("process", "--json"), ("features", "ingest", "--json"),
                 ("features", "query", "--json"), ("cleanup", "--json")):
        _debug_on()
        result = run_cli(*args, "--backend", "sagemaker", ws=ws)
        outputs += [result.stdout, result.stderr]
    # and errors: a bucket that does not exist, credentials AWS refuses
    monkeypatch.setenv("LAB_S3_BUCKET", "no-such-bucket-of-the-lab")
    _debug_on()
    failed = run_cli("check", "--backend", "sagemaker", "--json", ws=ws)
    assert failed.returncode == 1
    assert "no-such-bucket-of-the-lab (LAB_S3_BUCKET) does not exist" in failed.stdout
    outputs += [failed.stdout, failed.stderr]
    monkeypatch.setenv("LAB_S3_BUCKET", "ab")  # too short: S3 refuses it
    _debug_on()
    failed = run_cli("process", "--backend", "sagemaker", "--json", ws=ws)
    assert failed.returncode == 2 and "InvalidBucketName" in failed.stderr
    outputs += [failed.stdout, failed.stderr]

    text = "\n".join(planted.lines)
    assert "botocore" in text and "Authorization" in text  # DEBUG was on: headers logged
    assert_clean(text, *outputs)
    for path in ws.rglob("*"):
        if path.is_file() and path.suffix in (".txt", ".json", ".log"):
            assert_clean(path.read_text(errors="replace"))


def test_no_credential_on_a_page(planted, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("LAB_BACKEND", "sagemaker")
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/cleanup.py").run()
    _debug_on()
    at.button(key="cleanup_check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(str(e.value) for kind in ("markdown", "caption", "info", "success",
                                               "warning", "error", "code")
                     for e in getattr(at, kind))
    assert "AWS accepts the credentials" in shown
    assert_clean(shown, "\n".join(planted.lines))


@pytest.fixture
def houses_csv(tmp_path):
    from lab.dataset import generate_housing

    path = tmp_path / "houses.csv"
    generate_housing(rows=200, seed=5).to_csv(path, index=False)
    return str(path)
