"""One poller for everything SageMaker does in the background (jobs, endpoints, groups).

SageMaker's own waiters sleep before their first look and cannot be cancelled; this one
looks first, reports each status change and the elapsed time (the job's progress), asks
the service once to stop when the learner cancels, and gives up after `timeout_s`.
Tests patch `sleep` here, in one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from lab.errors import BackendError


def sleep(seconds: float) -> None:  # the one place tests patch
    time.sleep(seconds)


def wait_for(describe: Callable[[], dict[str, Any]], status: Callable[[dict[str, Any]], str],
             done: Iterable[str], *, poll_s: float,
             on_status: Callable[[str, float], None] | None = None,
             cancelled: Callable[[], bool] | None = None,
             stop: Callable[[], None] | None = None,
             timeout_s: float | None = None, what: str = "the resource") -> dict[str, Any]:
    """Describe until the status is one of `done`; return that last description.

    `on_status(status, elapsed_s)` is called after every look; when `cancelled()` turns true
    `stop()` is called once (the next looks tell when the service has stopped).
    """
    done = tuple(done)
    started, stop_sent = time.monotonic(), False
    while True:
        description = describe()
        current = status(description)
        elapsed = time.monotonic() - started
        if on_status is not None:
            on_status(current, elapsed)
        if current in done:
            return description
        if cancelled is not None and stop is not None and not stop_sent and cancelled():
            stop_sent = True
            stop()
        if timeout_s is not None and elapsed > timeout_s:
            raise BackendError(f"{what} is still {current} after {elapsed / 60:.0f} minutes: "
                               "look again later.")
        sleep(poll_s)


def elapsed_text(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s"


TERMINAL = ("Completed", "Failed", "Stopped")  # SageMaker's ends of a job


def follow_job(ctx: Any, name: str, describe: Callable[[], dict[str, Any]],
               status: Callable[[dict[str, Any]], str], stop: Callable[[], None], *,
               poll_s: float, detail: Callable[[dict[str, Any]], str] | None = None,
               start: float = 0.25, span: float = 0.6, half_time_s: float = 240) -> dict:
    """Follow a SageMaker job for a lab job (`ctx`: lab.jobs.JobContext) until it ends: log
    each status change, report progress (from `start`, `span` of the bar, half of it
    after `half_time_s`), and ask SageMaker once to stop it if the learner cancels."""
    from lab.aws.errors import describe as describe_error

    last: list[str | None] = [None]
    latest: list[dict[str, Any]] = [{}]

    def look() -> dict[str, Any]:
        latest[0] = describe()
        return latest[0]

    def on_status(current: str, elapsed: float) -> None:
        text = detail(latest[0]) if detail else current
        if text != last[0]:
            ctx.log(f"{name}: {text}")
            last[0] = text
        ctx.progress(start + span * elapsed / (elapsed + half_time_s),
                     f"SageMaker job {text} ({elapsed_text(elapsed)})")

    def stop_once() -> None:
        ctx.log(f"Stopping {name} on request...")
        try:
            stop()
        except Exception as exc:  # e.g. it ended meanwhile: the next look tells
            ctx.log(describe_error(exc))

    return wait_for(look, status, TERMINAL, poll_s=poll_s, on_status=on_status,
                    cancelled=lambda: ctx.cancelled, stop=stop_once)
