"""The measured speed-up: processing and training time against the number of workers.

    jobs.run(settings, scale_job(settings, rows=200_000, workers=[1, 2]))
    speedup_chart(result)          # seconds per step against workers (a Plotly figure)

A generated dataset of the size the learner picks goes through the sharded processing job
and the distributed XGBoost training with 1, 2, ... workers, on this machine (the local
twins: N worker processes play N instances), timed, and checked: the same rows per split
whatever the workers, the scaled train columns at mean 0 and std 1, test MSEs close to each
other. It composes the processing and training capabilities and has no twin of its own:
on SageMaker each point would be jobs on N instances, minutes of start-up each, so the page
says what it would show there instead of launching them.
"""

from __future__ import annotations

from lab.lazy import exports

__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["KIND", "MAX_ROWS", "MAX_WORKERS", "MIN_ROWS", "ScaleRequest",
                     "build_scale_request", "latest_scale", "parse_workers", "run_all_step",
                     "scale_job"],
                    "_job"),
    "speedup_chart": "charts",
})
__all__ = list(_lazy)
