"""The warm worker runs a script in a fresh process, as a cold `python script.py` would."""

from __future__ import annotations

import os
import time

import pytest

from lab import jobs
from lab import warm as worker
from lab.training import Experiments, training_job
from lab.workspace import Workspace
from tests.workspaces import FAST_XGB

pytestmark = pytest.mark.skipif(not worker.warm_available(), reason="no forkserver here")


def test_a_script_runs_in_its_own_process_with_its_args_and_environment(tmp_path):
    script = tmp_path / "echo.py"
    script.write_text("import os, sys\nprint('args', sys.argv[1:])\n"
                      "print('env', os.environ.get('SM_MODEL_DIR'))\n"
                      "print('pid-differs', os.getpid() != int(os.environ['PARENT_PID']))\n"
                      "print('to stderr', file=sys.stderr)\nsys.exit(3)\n")
    lines = []
    code = worker.run_script([str(script), "--max_depth", "4"],
                             {"SM_MODEL_DIR": "/m", "PARENT_PID": str(os.getpid())},
                             tmp_path / "out.txt", lines.append, lambda: False)
    assert code == 3
    assert lines == ["args ['--max_depth', '4']", "env /m", "pid-differs True", "to stderr"]
    assert "SM_MODEL_DIR" not in os.environ  # the caller's environment is untouched


def test_an_uncaught_error_is_exit_code_1_with_its_trace(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("raise ValueError('boom')\n")
    lines = []
    assert worker.run_script([str(script)], {}, tmp_path / "o.txt", lines.append,
                             lambda: False) == 1
    assert lines[0].startswith("Traceback") and lines[-1] == "ValueError: boom"


def test_cancel_terminates_the_process(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text("import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    lines = []
    started = time.monotonic()
    code = worker.run_script([str(script)], {}, tmp_path / "o.txt", lines.append,
                             lambda: bool(lines))
    assert code < 0 and lines == ["started"] and time.monotonic() - started < 10


def test_the_cold_subprocess_path_gives_the_same_model(small, monkeypatch):
    warm = jobs.run(small, training_job(small, "xgboost", FAST_XGB))
    monkeypatch.setenv("LAB_TRAINING_WORKER", "subprocess")
    assert not worker.warm_available()
    cold = jobs.run(small, training_job(small, "xgboost", FAST_XGB))
    assert warm.status == cold.status == jobs.COMPLETED
    experiments = Experiments(Workspace(small.workspace))
    assert experiments.get(cold.job_id).validation == experiments.get(warm.job_id).validation
    assert cold.result["metrics"] == warm.result["metrics"]


def test_a_script_can_run_and_wait_for_its_own_subprocesses(tmp_path):
    """The server wakes on SIGCHLD; its children get the default handling back, so a
    script's own subprocess (and its exit code) is its business, as in a cold process."""
    script = tmp_path / "parent.py"
    script.write_text("import signal, subprocess, sys\n"
                      "print('handler default', signal.getsignal(signal.SIGCHLD) == "
                      "signal.SIG_DFL, flush=True)\n"
                      "done = subprocess.run([sys.executable, '-c', 'import sys; sys.exit(7)'])\n"
                      "print('child exit', done.returncode, flush=True)\n")
    lines = []
    runs = [worker.run_script([str(script)], {"PATH": os.environ.get("PATH", "")},
                              tmp_path / f"o{i}.txt", lines.append, lambda: False)
            for i in range(2)]
    assert runs == [0, 0]
    assert lines == ["handler default True", "child exit 7"] * 2
