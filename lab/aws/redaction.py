"""No credential in any log record, whatever the logging levels.

botocore at DEBUG logs each request's headers: the access key id (in `Authorization`) and
the session token (`X-Amz-Security-Token`), and, for STS or SSO answers, fresh
credentials. The lab never sets DEBUG (`sdk_logging_guard` puts those loggers back to
INFO), but a learner may, and Streamlit or a test may show every record. So once the lab
touches AWS it installs a log record factory that blanks, in every record that is
created (only records whose level is enabled are created), the credentials it has seen and
anything shaped like one: access key ids, session tokens and secret keys in headers and
bodies, and request signatures. The message is formatted at creation to do so.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "<redacted>"
_PATTERNS = (
    re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}\b"),
    re.compile(r"(?i)((?:x-amz-security-token|security_token|sessiontoken|session_token)"
               r"['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,}&<]+"),
    re.compile(r"(?i)((?:secretaccesskey|secret_access_key|aws_secret_access_key)"
               r"['\"]?\s*[:=>]\s*['\"]?)[^'\"\s,}&<]+"),
    re.compile(r"(?i)(<(?:SecretAccessKey|SessionToken)>)[^<]+"),
    re.compile(r"(Signature=)[0-9a-f]{64}"),
)
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """`text` with every known credential and credential-shaped value blanked."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


def remember(credentials: Any) -> None:
    """Blank these credentials (botocore's Credentials, or None) in every log record."""
    if credentials is None:
        return
    try:
        frozen = credentials.get_frozen_credentials()
        values = (frozen.access_key, frozen.secret_key, frozen.token)
    except Exception:  # noqa: BLE001 - e.g. a refresh failed: nothing to remember
        return
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 8)
    install()


def install() -> None:
    """Install the redacting log record factory (once per process)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad format string stays the logger's problem
                return record
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
