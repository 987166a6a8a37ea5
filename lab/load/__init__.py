"""Will my server hold my class? A room of attendees driven against a workshop server.

    python -m lab load --attendees 30 [--burst] [--minutes M] [--url URL] --json

Each attendee is a websocket session speaking Streamlit's own protocol (`_protocol.py`:
BackMsg out, ForwardMsg in, as the browser's front end does, without rendering anything),
in its own workspace (`?ws=`), walking the lab's first steps (`_attendee.py`): pages,
reruns, the in-process preparation, the feature store's ingest and a training job, each
job timed from the click to the panel showing it done. The server is started on a free
127.0.0.1 port with a fresh folder, or is one already running on this machine (`--url`,
loopback only). The count and the time are bounded (`MAX_ATTENDEES`, `MAX_MINUTES`), and
the report (`_run.py`) gives p50/p95/max per action, errors, the health check's worst
time, and the server's peak memory and threads (`_watch.py`, read from /proc).

It is a benchmark, not a test: figures are in docs/performance.md, nothing asserts them.
"""

from __future__ import annotations

from lab.lazy import exports

__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["MAX_ATTENDEES", "MAX_MINUTES", "WORKSHOP_SERVER", "check_request",
                     "format_report", "run_load"], "_run"),
    **dict.fromkeys(["PageRun", "ScriptError", "Session"], "_protocol"),
    **dict.fromkeys(["ACTIONS", "Attendee"], "_attendee"),
})
