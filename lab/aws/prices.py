"""What SageMaker resources cost, from a price table bundled with the lab (prices.json).

The table is dated and names its source: AWS's public On-Demand prices for one region
(us-east-1), recorded by hand, never fetched at run time (the lab makes no pricing call).
Other regions differ by roughly 0-30%, so an estimate for another region says it uses the
us-east-1 figure. Everything here is an estimate for a learner deciding whether to press a
button, not a bill: the bill is AWS Billing's.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("prices.json")
USES = ("processing", "training", "hosting")


@functools.cache
def table() -> dict[str, Any]:
    return json.loads(TABLE.read_text())


def source_note() -> str:
    """Where the figures come from, in one line (shown under every estimate)."""
    t = table()
    return (f"Estimate from the lab's price table of {t['date']} (On-Demand, {t['region']}, "
            f"{t['currency']}; source: AWS's public pricing pages, recorded by hand).")


def hourly(use: str, instance_type: str) -> float | None:
    """The table's On-Demand price per instance-hour, None when the table lacks it."""
    return table()["instance_hour"].get(use, {}).get(instance_type)


@dataclass(frozen=True)
class Estimate:
    """An instance-based cost: what the page shows before a launch, and after it (billed)."""

    use: str  # processing, training or hosting
    instance_type: str
    instance_count: int
    hourly_usd: float | None  # per instance
    seconds: float | None = None  # expected (before) or billed (after); None: open-ended
    region: str = "us-east-1"

    @property
    def total_hourly_usd(self) -> float | None:
        return None if self.hourly_usd is None else self.hourly_usd * self.instance_count

    @property
    def usd(self) -> float | None:
        if self.total_hourly_usd is None or self.seconds is None:
            return None
        return self.total_hourly_usd * self.seconds / 3600

    @property
    def text(self) -> str:
        """e.g. `1 × ml.m5.large at $0.115/h each: about $0.0096 for 5 min`."""
        what = f"{self.instance_count} × {self.instance_type}"
        if self.hourly_usd is None:
            return f"{what} (not in the lab's price table: see AWS's pricing page)"
        text = f"{what} at ${self.hourly_usd:.3f}/h each"
        if self.seconds is not None:
            text += f": about ${self.usd:.4f} for {_duration(self.seconds)}"
        else:
            text += f": ${self.total_hourly_usd:.3f} per hour while it runs"
            text += f" (about ${self.total_hourly_usd * 24 * 30:.0f} a month)"
        if self.region != table()["region"]:
            text += f" (the {table()['region']} price; {self.region} may differ)"
        return text

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "usd": self.usd, "text": self.text}


def estimate(use: str, instance_type: str, instance_count: int = 1,
             seconds: float | None = None, region: str | None = None) -> Estimate:
    return Estimate(use, instance_type, int(instance_count), hourly(use, instance_type),
                    seconds, region or table()["region"])


def s3_month_usd(size_bytes: int) -> float:
    return size_bytes / 1e9 * table()["s3_standard_gb_month"]


def online_store_month_usd(size_bytes: int) -> float:
    return size_bytes / 1e9 * table()["feature_store"]["online_storage_gb_month"]


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
