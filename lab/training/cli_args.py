"""Command-line spelling of hyperparameters, for `python -m lab train/tune`:

    --hp max_depth=8 --hp eta=0.05              fixed hyperparameters

Values are checked later by `build_request`; here only the spelling. (Tuning ranges are
spelled in `lab.tuning`.)
"""

from __future__ import annotations

from lab.errors import ParameterError


def split_pair(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ParameterError(f"{flag} takes NAME=VALUE (got {text!r}).")
    return name.strip(), value.strip()


def parse_hyperparameters(items: list[str] | None) -> dict[str, str]:
    """["max_depth=8", "eta=0.1"] -> {"max_depth": "8", "eta": "0.1"} (checked later)."""
    return dict(split_pair(item, "--hp") for item in items or [])
