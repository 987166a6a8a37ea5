"""The project's layering rules, checked on the source itself."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import REPO

HEAVY = {"boto3", "botocore", "sagemaker", "sklearn", "xgboost"}


def imported_modules(path, top_level_only=False):
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_nothing_under_lab_imports_streamlit():
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "lab").rglob("*.py")
                 if any(m.split(".")[0] == "streamlit" for m in imported_modules(p))]
    assert offenders == []


def test_pages_do_not_import_heavy_or_cloud_modules_at_the_top():
    files = [REPO / "streamlit_app.py", *sorted((REPO / "pages").glob("*.py"))]
    offenders = {str(p.relative_to(REPO)): m for p in files
                 for m in imported_modules(p, top_level_only=True) if m.split(".")[0] in HEAVY}
    assert offenders == {}


def test_importing_the_page_modules_loads_no_cloud_sdk():
    code = ("import sys, lab.prep, lab.processing, lab.jobs, lab.steps, lab.charts, lab.cli;"
            "print(sorted(m for m in ('boto3','sagemaker','xgboost') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


def test_ruff_lint_is_clean():
    """ruff from the interpreter running the tests, never whatever ruff PATH holds."""
    if importlib.util.find_spec("ruff") is None:
        pytest.fail(f"ruff is not installed for {sys.executable}: install requirements-test.txt")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_sidebar_progress_check_imports_no_heavy_module(tmp_path):
    """It runs on every page of every session: file and SQLite checks only."""
    code = ("import sys; from lab.steps import progress; from lab.workspace import Workspace;"
            f"progress(Workspace({str(tmp_path)!r}));"
            "print(sorted(m for m in ('sklearn', 'xgboost', 'duckdb', 'pyarrow', 'boto3', "
            "'optuna', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"
