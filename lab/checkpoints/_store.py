"""Answers and observation results, per workspace, in `checkpoints.json` (atomic writes)."""

from __future__ import annotations

import threading
import time
from typing import Any

from lab.checkpoints._api import Answer, Observation, StageScore
from lab.checkpoints.questions import question, questions_of
from lab.errors import InputError
from lab.steps import STAGES
from lab.workspace import Workspace, read_json, write_json_atomic

FILE = "checkpoints.json"
_lock = threading.Lock()  # one writer at a time within a process (pages of one server)


def _path(ws: Workspace):
    return ws.path(FILE)


def _read(ws: Workspace) -> dict[str, Any]:
    data = read_json(_path(ws), default=None) if _path(ws).exists() else None
    if not isinstance(data, dict):
        data = {}
    data.setdefault("answers", {})
    data.setdefault("observations", {})
    return data


def answer(ws: Workspace, qid: str, choice: int) -> Answer:
    """Record the choice made for question `qid` (the last one counts) and say why it is
    right or not."""
    q = question(qid)
    if not isinstance(choice, int) or not 0 <= choice < len(q.choices):
        raise InputError(f"Pick one of the {len(q.choices)} answers of {qid!r}.")
    correct = choice == q.correct
    with _lock:
        data = _read(ws)
        data["answers"][qid] = {"choice": choice, "correct": correct, "at": time.time()}
        write_json_atomic(_path(ws), data)
    return Answer(qid, choice, correct, q.choices[choice].why, q.choices[q.correct].text)


def answers(ws: Workspace) -> dict[str, Answer]:
    """The answers recorded in this workspace, by question id."""
    out = {}
    for qid, rec in _read(ws)["answers"].items():
        try:
            q = question(qid)
            choice = int(rec["choice"])
            out[qid] = Answer(qid, choice, choice == q.correct, q.choices[choice].why,
                              q.choices[q.correct].text)
        except (InputError, KeyError, ValueError, IndexError, TypeError):
            continue  # a question that no longer exists, or a damaged record
    return out


def save_observations(ws: Workspace, stage: str, found: list[Observation]) -> None:
    with _lock:
        data = _read(ws)
        data["observations"][stage] = {"at": time.time(),
                                       "results": {o.id: o.ok for o in found}}
        write_json_atomic(_path(ws), data)


def stored_observations(ws: Workspace, stage: str) -> tuple[float | None, dict[str, bool]]:
    """(when, {check id: held}) as last computed for `stage`; (None, {}) if never."""
    rec = _read(ws)["observations"].get(stage) or {}
    return rec.get("at"), dict(rec.get("results") or {})


def scores(ws: Workspace) -> dict[str, StageScore]:
    """Per stage: questions answered and correct, and the observations that held when the
    checkpoint was last opened. Cheap: one small file, nothing computed."""
    from lab.checkpoints.observations import OBSERVERS

    given = answers(ws)
    out = {}
    for stage in STAGES:
        qs = questions_of(stage)
        at, results = stored_observations(ws, stage)
        observers = [o for o in OBSERVERS if o[1] == stage]
        out[stage] = StageScore(
            stage, len(qs), sum(q.id in given for q in qs),
            sum(given[q.id].correct for q in qs if q.id in given), len(observers),
            sum(bool(results.get(o[0])) for o in observers), at)
    return out


def clear(ws: Workspace) -> None:
    """Forget every answer and result of this workspace."""
    with _lock:
        _path(ws).unlink(missing_ok=True)
