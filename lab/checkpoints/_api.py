"""The checkpoint types: questions with an explanation for every choice, answers,
observations of the workspace, and a stage's score."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Choice:
    text: str
    why: str  # shown once this choice is picked: why it is right, or why not


@dataclass(frozen=True)
class Question:
    id: str
    stage: str
    text: str
    choices: tuple[Choice, ...]
    correct: int  # index into choices
    topic: str = ""  # the page where the concept is taught (a file under pages/)


@dataclass(frozen=True)
class Answer:
    question: str
    choice: int
    correct: bool
    why: str
    right_answer: str


@dataclass(frozen=True)
class Observation:
    """One "what you should see now" check, computed from the workspace."""

    id: str
    stage: str
    expect: str  # what the learner should see, in words
    ok: bool
    found: str  # what the workspace holds, in words with the numbers
    page: str = ""  # where to go to make it true (a file under pages/)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StageScore:
    stage: str
    questions: int
    answered: int
    correct: int
    observations: int  # how many checks the stage has
    observed_ok: int  # how many held when last computed
    observed_at: float | None  # when they were last computed (None: never)

    @property
    def complete(self) -> bool:
        observed = self.observations == 0 or (self.observed_at is not None
                                              and self.observed_ok == self.observations)
        return self.answered == self.questions and observed

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "complete": self.complete}
