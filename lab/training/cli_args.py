"""Command-line spellings of hyperparameters and tuning ranges, for `python -m lab train/tune`.

    --hp max_depth=8 --hp eta=0.05              fixed hyperparameters
    --range max_depth=6:10                      Integer (or Continuous for a float parameter)
    --range eta=0.05:0.3:log                    ... with Logarithmic scaling
    --range max_depth=4,6,8                     Categorical

Values are checked later by `build_request` / `build_tuning_spec`; here only the spelling.
"""

from __future__ import annotations

from typing import Any

from lab.errors import ParameterError
from lab.training.params import algorithm


def _pair(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ParameterError(f"{flag} takes NAME=VALUE (got {text!r}).")
    return name.strip(), value.strip()


def parse_hyperparameters(items: list[str] | None) -> dict[str, str]:
    """["max_depth=8", "eta=0.1"] -> {"max_depth": "8", "eta": "0.1"} (checked later)."""
    return dict(_pair(item, "--hp") for item in items or [])


def parse_ranges(algorithm_key: str, items: list[str] | None) -> list[dict[str, Any]] | None:
    """["max_depth=6:10", "eta=0.05:0.3:log", "max_depth=4,6,8"] -> range dicts for
    build_tuning_spec; None (the workshop's ranges) when no item is given."""
    if not items:
        return None
    algo = algorithm(algorithm_key)
    ranges = []
    for item in items:
        name, value = _pair(item, "--range")
        if ":" in value:
            parts = value.split(":")
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("log", "lin")):
                raise ParameterError(f"--range {name} takes MIN:MAX or MIN:MAX:log (got "
                                     f"{value!r}).")
            kind = "Integer" if algo.param(name).kind is int else "Continuous"
            try:
                low, high = float(parts[0]), float(parts[1])
            except ValueError:
                raise ParameterError(f"--range {name}: {value!r} is not MIN:MAX.") from None
            scaling = {"log": "Logarithmic", "lin": "Linear"}.get(
                parts[2] if len(parts) == 3 else "", "Auto")
            ranges.append({"name": name, "kind": kind, "min_value": low, "max_value": high,
                           "scaling": scaling})
        else:
            ranges.append({"name": name, "kind": "Categorical",
                           "values": tuple(v.strip() for v in value.split(",") if v.strip())})
    return ranges
