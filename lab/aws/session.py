"""Importing the SageMaker SDK v2 safely, and the sessions every SageMaker twin shares.

The SDK has side effects worth avoiding in a teaching app: it sends telemetry, prints a
v2 deprecation banner and config INFO lines, and leaves the root logger at INFO with a
stderr handler (its experiments module calls `logging.basicConfig` when first used). So:

- `import_sagemaker()` sets the opt-outs in the environment, imports the SDK once, and
  puts logging back as it was (`sdk_logging_guard` does the same around other SDK calls);
- botocore is never logged at DEBUG (its DEBUG output holds access keys and tokens), and
  should someone set DEBUG anyway, `lab.aws.redaction` blanks credentials in every record;
- `check_sagemaker()` says why the backend cannot run, without calling AWS and without
  ever quoting a credential;
- `sessions(settings)` makes the (boto3 session, sagemaker.Session) pair once per settings
  and keeps it 15 minutes: making one costs about a second (botocore parses SageMaker's
  large service model), and pages and jobs ask for it on every call. Clients are
  thread-safe. Tests inject their own maker with `use_factory` (as httpx takes a
  transport), and every twin also accepts a session in its constructor.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lab.errors import BackendError
from lab.settings import Settings

_TELEMETRY_OPT_OUT = """\
SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""
_SECRET_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")
_lock = threading.RLock()
_config_dir: Path | None = None

SDK_MISSING = ("The SageMaker SDK is not installed here: run `pip install -r requirements.txt` "
               "(it brings sagemaker 2.x and boto3), then restart the lab.")


def _prepare_environment() -> None:
    """The SDK reads these when imported and when it makes a session."""
    global _config_dir
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    if os.environ.get("SAGEMAKER_USER_CONFIG_OVERRIDE"):
        return  # the user's own SDK config file: theirs to decide
    if _config_dir is None:
        _config_dir = Path(tempfile.mkdtemp(prefix="mlops-lab-sagemaker-"))
    config = _config_dir / "config.yaml"
    config.write_text(_TELEMETRY_OPT_OUT)
    os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(config)


@contextlib.contextmanager
def sdk_logging_guard() -> Iterator[None]:
    """Run SDK code without letting it reconfigure logging or print INFO lines."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)  # makes the SDK's logging.basicConfig() a no-op
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(level)
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        for name in _SECRET_LOGGERS:  # never DEBUG: it would log keys and session tokens
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < logging.INFO:
                logger.setLevel(logging.INFO)


def _compile_config_validation() -> None:
    """Validate the SDK config with a schema compiled once, not at every lookup.

    With a user config file present (our telemetry opt-out), SDK 2.x validates it at every
    config lookup and rebuilds its JSON-schema validator each time: about 0.2-0.7 s a lookup,
    4-6 s of CPU per job or feature group. The check stays the same; only the compiled
    validator is kept. If the SDK's internals differ, its own validation is left alone.
    """
    try:
        import jsonschema
        import sagemaker.config.config as sdk_config
        import sagemaker.session
        import sagemaker.utils

        schema = sdk_config.SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA
        validator = jsonschema.validators.validator_for(schema)(schema)
    except (ImportError, AttributeError):
        return

    def validate(sagemaker_config=None):
        validator.validate(sagemaker_config)

    for module in (sdk_config, sagemaker.utils, sagemaker.session):
        if hasattr(module, "validate_sagemaker_config"):
            module.validate_sagemaker_config = validate


def import_sagemaker() -> Any:
    """The `sagemaker` module (v2), imported quietly; BackendError when it is missing."""
    with _lock:
        _prepare_environment()
        with sdk_logging_guard():
            try:
                import sagemaker
                import sagemaker.processing  # noqa: F401
                import sagemaker.sklearn.processing  # noqa: F401
            except ImportError:
                raise BackendError(SDK_MISSING) from None
        _compile_config_validation()
        if not str(getattr(sagemaker, "__version__", "2")).startswith("2."):
            raise BackendError(f"The lab needs the SageMaker SDK 2.x (found "
                               f"{sagemaker.__version__}): run `pip install -r requirements.txt`.")
        return sagemaker


def _sdk_installed() -> bool:
    try:
        return importlib.util.find_spec("sagemaker") is not None
    except (ImportError, ValueError):
        return False


def check_sagemaker(settings: Settings) -> str | None:
    """None when the SageMaker backend can be used, else one line saying what is missing.

    No AWS API call: credentials and region come from the usual chain (environment,
    profile, container or instance role). Messages never include a credential.
    """
    if not _sdk_installed() or importlib.util.find_spec("boto3") is None:
        return SDK_MISSING
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        boto_session = boto3.Session()
        credentials = boto_session.get_credentials()
        from lab.aws import redaction

        redaction.remember(credentials)
    except BotoCoreError as exc:
        return (f"The AWS configuration could not be read ({type(exc).__name__}): check "
                "AWS_PROFILE and the files in ~/.aws.")
    if credentials is None:
        return ("No AWS credentials found: run `aws configure` (or `aws sso login`), set "
                "AWS_PROFILE, or run the lab where an IAM role provides them.")
    if not boto_session.region_name:
        return "No AWS region set: set AWS_DEFAULT_REGION or give your AWS profile a region."
    if not settings.sagemaker_role:
        return ("No SageMaker execution role: set LAB_SAGEMAKER_ROLE to the ARN of an IAM role "
                "that SageMaker can assume (arn:aws:iam::<account>:role/<name>).")
    return None


def make_session(settings: Settings) -> tuple[Any, Any]:
    """(boto3 session, sagemaker.Session) for `settings`; BackendError if it cannot run."""
    reason = check_sagemaker(settings)
    if reason:
        raise BackendError(reason)
    sagemaker = import_sagemaker()
    import boto3

    boto_session = boto3.Session()
    from lab.aws import redaction

    redaction.remember(boto_session.get_credentials())
    with sdk_logging_guard():
        session = sagemaker.Session(boto_session=boto_session,
                                    default_bucket=settings.s3_bucket or None)
    return boto_session, session


SESSION_TTL_S = 900
Factory = Callable[[Settings], tuple[Any, Any]]
_factory: Factory = make_session
_sessions: dict[Settings, tuple[float, Any, Any]] = {}


def sessions(settings: Settings) -> tuple[Any, Any]:
    """(boto3 session, sagemaker.Session) for `settings`, made once per 15 minutes."""
    with _lock:
        now = time.monotonic()
        found = _sessions.get(settings)
        if found is None or now - found[0] > SESSION_TTL_S:
            for key in [k for k, v in _sessions.items() if now - v[0] > SESSION_TTL_S]:
                del _sessions[key]  # a workshop's sessions come and go: expired ones too
            found = (now, *_factory(settings))
            _sessions[settings] = found
        return found[1], found[2]


@contextlib.contextmanager
def use_factory(factory: Factory) -> Iterator[None]:
    """Make sessions with `factory` inside the block (tests); the cache starts empty."""
    global _factory
    with _lock:
        previous, _factory = _factory, factory
        _sessions.clear()
    try:
        yield
    finally:
        with _lock:
            _factory = previous
            _sessions.clear()


def forget_sessions() -> None:
    """Drop the cached sessions (tests: each moto account is a new world)."""
    with _lock:
        _sessions.clear()
