"""The instructor's view of a workshop: every attendee's workspace, its progress, its
checkpoint scores and last activity; reset one, expire the idle ones.

Workshop mode (`LAB_WORKSHOP=1`) gives each browser session a workspace under
`<LAB_WORKSPACE>/sessions/<id>`. The view is protected by a passcode set when the app
starts (`LAB_INSTRUCTOR_PASSCODE`), compared in constant time; without one, it is off.
Attendee ids are validated like the URL's, so nothing outside `sessions/` is touched.
"""

from __future__ import annotations

import hmac
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import InputError
from lab.settings import Settings, valid_session_id
from lab.workspace import Workspace

PASSCODE_ENV = "LAB_INSTRUCTOR_PASSCODE"
ACTIVITY = ".last-activity"
SESSIONS = "sessions"


def passcode_configured() -> bool:
    return bool(os.environ.get(PASSCODE_ENV, "").strip())


def check_passcode(given: str | None) -> bool:
    """True when `given` is the passcode the app was started with (constant-time compare);
    always False when none was set, so the view stays closed."""
    expected = os.environ.get(PASSCODE_ENV, "").strip()
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def touch_activity(ws: Workspace) -> None:
    """Mark the workspace as used now (each page a learner opens calls it)."""
    try:
        ws.root.mkdir(parents=True, exist_ok=True)
        (ws.root / ACTIVITY).touch()
    except OSError:
        pass  # a read-only or vanished workspace: activity is only informative


def last_activity(root: Path) -> float:
    """When the workspace was last used: its activity mark, else its newest entry."""
    marks = [root / ACTIVITY, *root.iterdir()] if root.is_dir() else []
    times = []
    for p in marks:
        try:
            times.append(p.stat().st_mtime)
        except OSError:
            continue
    return max(times, default=0.0)


@dataclass
class Attendee:
    session: str
    workspace: Path
    last_activity: float
    done: dict[str, bool]
    scores: dict[str, Any]  # stage -> StageScore
    running_jobs: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def idle_s(self) -> float:
        return max(0.0, time.time() - self.last_activity)

    def to_json(self) -> dict[str, Any]:
        return {"session": self.session, "last_activity": self.last_activity,
                "idle_s": round(self.idle_s, 1), "done": self.done,
                "scores": {k: v.to_json() for k, v in self.scores.items()},
                "running_jobs": self.running_jobs}


def _sessions_dir(base: Settings) -> Path:
    return Path(base.workspace) / SESSIONS


def attendee_root(base: Settings, session: str) -> Path:
    return _sessions_dir(base) / valid_session_id(session)


def attendees(base: Settings) -> list[Attendee]:
    """Every attendee's workspace, most recently active first."""
    from lab.checkpoints import scores
    from lab.flow import running_jobs
    from lab.steps import progress

    folder = _sessions_dir(base)
    if not folder.is_dir():
        return []
    out = []
    for root in folder.iterdir():
        try:
            sid = valid_session_id(root.name)
        except InputError:
            continue
        if not root.is_dir():
            continue
        ws = Workspace(root)
        out.append(Attendee(sid, root, last_activity(root), progress(ws), scores(ws),
                            len(running_jobs(ws))))
    return sorted(out, key=lambda a: a.last_activity, reverse=True)


def reset_attendee(base: Settings, session: str) -> None:
    """Remove one attendee's workspace; their next page starts afresh (same id)."""
    from lab.flow import reset_workspace

    root = attendee_root(base, session)
    if not root.is_dir():
        raise InputError(f"There is no attendee workspace {session!r}.")
    reset_workspace(base.for_session(session))  # refuses while one of its jobs runs
    shutil.rmtree(root, ignore_errors=True)


def expire_idle(base: Settings, max_idle_s: float) -> list[str]:
    """Remove the workspaces idle for longer than `max_idle_s`; those with a running job
    are kept. The ids removed."""
    if max_idle_s <= 0:
        raise InputError("The idle age must be more than zero.")
    removed = []
    for a in attendees(base):
        if a.idle_s > max_idle_s and not a.running_jobs:
            try:
                reset_attendee(base, a.session)
            except InputError:
                continue
            removed.append(a.session)
    return removed
