"""Checkpoints: each stage of the lab ends with knowledge checks and "what you should see
now" checks computed from the workspace; answers and results are stored per workspace.

    questions_of("Initial")            # the knowledge checks (multiple choice)
    answer(ws, "initial-scaler", 0)    # an Answer: correct?, and why, for the choice made
    observe(settings, "Initial")       # Observations computed from the workspace, stored
    scores(ws)                         # per stage: answered, correct, observations passed

Checkpoints are UI-free, like every capability. They need no backend twins of their own:
the observations ask each capability through its public functions, which ask the
settings' backend, so they hold on SageMaker as they do locally. The answers are kept in
`<workspace>/checkpoints.json` (written atomically).
"""

from __future__ import annotations

from lab.lazy import exports

__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["Answer", "Choice", "Observation", "Question", "StageScore"], "_api"),
    **dict.fromkeys(["QUESTIONS", "questions_of", "question"], "questions"),
    **dict.fromkeys(["OBSERVERS", "observe"], "observations"),
    **dict.fromkeys(["answer", "answers", "clear", "scores", "stored_observations"],
                    "_store"),
})
__all__ = list(_lazy)
