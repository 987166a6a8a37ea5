"""The experiments store: SQLite in WAL mode, safe for many readers and writer threads."""

from __future__ import annotations

import sqlite3
import threading

from lab.training.experiments import Experiments
from lab.workspace import Workspace


def test_runs_round_trip_with_their_json_fields(tmp_path):
    experiments = Experiments(Workspace(tmp_path))
    experiments.start("r1", "exp", "run one", "xgboost", {"max_depth": 5}, job_id="job-1")
    run = experiments.finish("r1", "Completed", metrics={"mse": 2.0}, validation={"mse": 3.0},
                             curve={"step": [1, 2], "train-rmse": [2, 1],
                                    "validation-rmse": [3, 2]},
                             importance={"A": 0.5}, artifact="/x/model.tar.gz")
    assert run.status == "Completed" and run.params == {"max_depth": 5}
    assert run.metrics == {"mse": 2.0} and run.curve["step"] == [1, 2]
    assert run.ended >= run.created and run.finished and not run.best
    assert experiments.get("missing") is None
    assert run.to_json()["curve_steps"] == 2 and "curve" not in run.to_json()
    with sqlite3.connect(tmp_path / "experiments.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failed_run_keeps_the_tail_of_its_log(tmp_path):
    experiments = Experiments(Workspace(tmp_path))
    experiments.start("r1", "exp", "run", "xgboost", {})
    log = "\n".join(f"line {i}" for i in range(500))
    run = experiments.finish("r1", "Failed", failure="boom", log=log)
    assert run.failure == "boom" and run.log.splitlines()[-1] == "line 499"
    assert len(run.log.splitlines()) == 80


def test_best_trial_is_marked_by_objective_and_direction(tmp_path):
    experiments = Experiments(Workspace(tmp_path))
    for trial, (mse, r2) in enumerate([(5.0, 0.1), (3.0, 0.5), (4.0, 0.9)], 1):
        experiments.start(f"t{trial}", "exp", f"trial {trial}", "xgboost", {}, tuning_job="tj",
                          trial=trial)
        experiments.finish(f"t{trial}", "Completed", validation={"mse": mse, "r2": r2})
    experiments.start("t4", "exp", "trial 4", "xgboost", {}, tuning_job="tj", trial=4)
    experiments.finish("t4", "Failed", failure="x")

    assert experiments.mark_best("tj", "mse", "Minimize").run_id == "t2"
    assert [r.run_id for r in experiments.list(tuning_job="tj") if r.best] == ["t2"]
    assert experiments.mark_best("tj", "r2", "Maximize").run_id == "t3"
    assert [r.run_id for r in experiments.list(tuning_job="tj") if r.best] == ["t3"]
    assert experiments.mark_best("other", "mse", "Minimize") is None
    assert [r.trial for r in experiments.list(tuning_job="tj")] == [1, 2, 3, 4]
    assert len(experiments.list(status="Failed")) == 1


def test_concurrent_writers_and_readers(tmp_path):
    ws = Workspace(tmp_path)
    errors = []

    def write(n: int) -> None:
        try:
            experiments = Experiments(ws)
            for i in range(20):
                experiments.start(f"w{n}-{i}", "exp", "r", "xgboost", {"i": i})
                experiments.finish(f"w{n}-{i}", "Completed", metrics={"mse": float(i)})
                experiments.list(limit=5)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(Experiments(ws).list()) == 80


def test_listing_an_empty_workspace_creates_nothing(tmp_path):
    from lab.steps import progress

    def has_completed_run(ws):  # what the sidebar shows for the training step
        return progress(ws)["training"]

    ws = Workspace(tmp_path / "ws")
    assert Experiments(ws).list() == [] and not has_completed_run(ws)
    assert not (tmp_path / "ws").exists()
    experiments = Experiments(ws)
    experiments.start("r", "e", "r", "xgboost", {})
    assert not has_completed_run(ws)
    experiments.finish("r", "Completed")
    assert has_completed_run(ws)
