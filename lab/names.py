"""The rules a column name must follow to become a feature, checked where data comes in.

SageMaker Feature Store takes feature names of 1 to 64 letters, digits, hyphens and
underscores, starting and ending with a letter or digit, at most 2,500 per group, unique
whatever the letter case, and none named like the columns its offline store adds. The lab
also adds `record_id` and `event_time` to every prepared split. A dataset whose prepared
columns break these rules would be accepted and then fail every ingest, so the upload and
the preparation refuse it first (lab.processing), with the same rules the feature store
applies (lab.featurestore._schema).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FEATURE_NAME = re.compile(r"[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}")
MAX_FEATURES = 2500
# The offline store adds these columns itself, so SageMaker refuses features named like them.
RESERVED = ("write_time", "api_invocation_time", "is_deleted")
# The lab's ingest adds these to every prepared split.
ADDED_BY_INGEST = ("record_id", "event_time")


def is_feature_name(name: Any) -> bool:
    return isinstance(name, str) and FEATURE_NAME.fullmatch(name) is not None


def feature_name_problems(names: Iterable[Any], added: Iterable[str] = ()) -> list[str]:
    """Why these column names cannot all be features (empty when they can), in words a
    learner can act on; `added` are the columns the caller will add itself."""
    names, added = [str(n) for n in names], list(added)
    problems = []
    bad = [n for n in names if not is_feature_name(n)]
    if bad:
        shown = ", ".join(repr(n[:80]) for n in bad[:5]) + (" ..." if len(bad) > 5 else "")
        problems.append(f"{len(bad)} column name(s) cannot be feature names: {shown}. Use 1 to "
                        "64 letters, digits, hyphens and underscores, starting and ending with "
                        "a letter or digit (rename them in the CSV)")
    taken = {n.lower() for n in added}
    reserved = [n for n in names if n.lower() in (*RESERVED, *taken)]
    if reserved:
        problems.append(f"the column name(s) {', '.join(map(repr, reserved))} are used by the "
                        "feature store itself: rename them")
    seen: dict[str, str] = {}
    clashes = sorted({n for n in names if seen.setdefault(n.lower(), n) != n})
    if clashes:
        problems.append(f"column names must differ in more than letter case: "
                        f"{', '.join(map(repr, clashes))}")
    if len(names) + len(added) > MAX_FEATURES:
        problems.append(f"a feature group holds at most {MAX_FEATURES:,} features, and this "
                        f"table gives {len(names) + len(added):,} (with {', '.join(added)}): "
                        "drop columns")
    return problems
