"""The instructor's view: passcode in constant time, attendees' progress, reset, expiry."""

from __future__ import annotations

import os
import time

import pytest

from lab.checkpoints import answer, questions_of
from lab.errors import InputError
from lab.instructor import (
    PASSCODE_ENV,
    attendees,
    check_passcode,
    expire_idle,
    reset_attendee,
    touch_activity,
)
from lab.settings import Settings
from lab.workspace import Workspace


@pytest.fixture
def base(tmp_path):
    return Settings(workspace=tmp_path / "base", workshop_mode=True)


def test_the_passcode_is_checked_and_closed_when_none_was_set(monkeypatch):
    monkeypatch.delenv(PASSCODE_ENV, raising=False)
    assert not check_passcode("") and not check_passcode("anything")
    monkeypatch.setenv(PASSCODE_ENV, "room-42-secret")
    assert check_passcode("room-42-secret") and check_passcode(" room-42-secret ")
    assert not check_passcode("room-42") and not check_passcode(None)


def test_the_passcode_is_compared_in_constant_time(monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    monkeypatch.setenv(PASSCODE_ENV, "x" * 12)
    check_passcode("y" * 12)
    assert calls


def test_attendees_show_progress_scores_and_activity(base):
    from lab.processing import run_prep

    one, two = base.for_session("aaaa1111"), base.for_session("bbbb2222")
    run_prep(Workspace(one.workspace))
    q = questions_of("Initial")[0]
    answer(Workspace(one.workspace), q.id, q.correct)
    touch_activity(Workspace(two.workspace))
    (base.workspace / "sessions" / "not-an-id!").mkdir()  # ignored: not a valid id
    found = {a.session: a for a in attendees(base)}
    assert set(found) == {"aaaa1111", "bbbb2222"}
    assert found["aaaa1111"].done["prep"] and not found["bbbb2222"].done["prep"]
    assert found["aaaa1111"].scores["Initial"].correct == 1
    assert found["bbbb2222"].scores["Initial"].answered == 0
    assert found["bbbb2222"].idle_s < 60


def test_reset_one_attendee_and_expire_the_idle(base):
    for sid in ("aaaa1111", "bbbb2222", "cccc3333"):
        touch_activity(Workspace(base.for_session(sid).workspace))
    reset_attendee(base, "aaaa1111")
    assert {a.session for a in attendees(base)} == {"bbbb2222", "cccc3333"}
    old = time.time() - 10 * 3600
    marker = base.workspace / "sessions" / "bbbb2222" / ".last-activity"
    os.utime(marker, (old, old))
    os.utime(marker.parent, (old, old))
    assert expire_idle(base, 8 * 3600) == ["bbbb2222"]
    assert [a.session for a in attendees(base)] == ["cccc3333"]


@pytest.mark.parametrize("session", ["../../etc", "UPPER1234", "zzzz9999"])
def test_reset_refuses_ids_outside_the_sessions(base, session):
    with pytest.raises(InputError):
        reset_attendee(base, session)
