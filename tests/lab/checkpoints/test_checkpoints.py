"""Checkpoints: knowledge checks with an explanation for each answer, observations computed
from the workspace, both stored per workspace."""

from __future__ import annotations

import json

import pytest

from lab.checkpoints import QUESTIONS, answer, answers, observe, questions_of, scores
from lab.errors import InputError
from lab.steps import STAGES
from lab.workspace import Workspace
from tests.workspaces import REPO


def test_every_stage_has_questions_each_answer_explained_and_a_page_that_teaches_it():
    for stage in STAGES:
        assert len(questions_of(stage)) >= 2, stage
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)
    for q in QUESTIONS:
        assert len(q.choices) >= 3 and 0 <= q.correct < len(q.choices)
        assert all(c.why and c.text for c in q.choices), q.id
        assert (REPO / "pages" / q.topic).is_file(), q.topic


def test_answers_are_kept_per_workspace_and_the_last_one_counts(tmp_path):
    a, b = Workspace(tmp_path / "a"), Workspace(tmp_path / "b")
    q = questions_of("Initial")[0]
    wrong = (q.correct + 1) % len(q.choices)
    first = answer(a, q.id, wrong)
    assert not first.correct and first.why == q.choices[wrong].why
    assert first.right_answer == q.choices[q.correct].text
    assert answer(a, q.id, q.correct).correct
    assert answers(a)[q.id].correct and answers(b) == {}
    score = scores(a)["Initial"]
    assert (score.answered, score.correct) == (1, 1)
    assert scores(b)["Initial"].answered == 0


@pytest.mark.parametrize("qid, choice, message", [("nope", 0, "no knowledge check"),
                                                  ("initial-scaler", 7, "Pick one of the 3")])
def test_a_bad_answer_is_refused_and_nothing_is_stored(ws, qid, choice, message):
    with pytest.raises(InputError, match=message):
        answer(ws, qid, choice)
    assert not ws.path("checkpoints.json").exists()


def test_a_damaged_answers_file_is_read_as_empty(ws):
    ws.root.mkdir(parents=True)
    ws.path("checkpoints.json").write_text("{not json")
    assert answers(ws) == {} and scores(ws)["Initial"].answered == 0


def test_observations_of_an_empty_workspace_say_what_is_missing(tmp_path):
    from lab.settings import Settings

    settings = Settings(workspace=tmp_path / "ws")
    found = observe(settings, "Initial")
    assert found and not any(o.ok for o in found)
    assert all(o.found for o in found)
    assert scores(Workspace(settings.workspace))["Initial"].observed_ok == 0


def test_observations_of_a_trained_workspace_hold_with_the_numbers(trained):
    found = {o.id: o for o in observe(trained, "Initial")}
    assert found["prepared"].ok and "6,000 train" in found["prepared"].found
    assert found["offline-rows"].ok and "6,000 offline rows" in found["offline-rows"].found
    assert not found["processing"].ok  # no processing job ran in this workspace
    assert not found["experiments"].ok  # two training runs, but no tuning trial yet
    stored = json.loads((trained.workspace / "checkpoints.json").read_text())
    assert stored["observations"]["Initial"]["results"]["prepared"] is True


def test_the_pipeline_gate_observation_reads_the_condition(tmp_path):
    from tests.lab.pipelines.pipe_helpers import FAST, run_pipeline, small_settings

    settings = small_settings(tmp_path)
    run_pipeline(settings, {**FAST, "MseThreshold": 1.0})  # false: nothing registered
    found = {o.id: o for o in observe(settings, "Repeatable")}
    assert found["pipeline"].ok and not found["gate"].ok
    assert "condition was false" in found["gate"].found
    run_pipeline(settings, FAST)  # true: registered under the gate; training is cached
    found = {o.id: o for o in observe(settings, "Repeatable")}
    assert found["gate"].ok and found["cache"].ok
