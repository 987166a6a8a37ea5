"""The project's shape, checked on the source itself: import contracts, one rule for
choosing a backend, a step registry, fast start, lint."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workspaces import REPO

HEAVY = {"boto3", "botocore", "sagemaker", "sklearn", "xgboost", "optuna"}
CAPABILITIES = ("processing", "featurestore", "training", "tuning", "registry", "serving",
                "pipelines")
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def imported_modules(path, top_level_only=False):
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the tree at `root`, with the contracts of its pyproject.toml."""
    if importlib.util.find_spec("importlinter") is None:
        pytest.fail(f"import-linter is not installed for {sys.executable}: install "
                    "requirements-test.txt")
    return subprocess.run([sys.executable, "-c", LINT_IMPORTS, "--no-cache"], cwd=root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(root),
                                                               "PATH": "/usr/bin:/bin"})


def test_the_import_contracts_are_kept():
    proc = lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.fixture
def tree_copy(tmp_path):
    """lab/, pages/ and pyproject.toml copied, to break a rule without touching the repo."""
    for folder in ("lab", "pages"):
        shutil.copytree(REPO / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


VIOLATIONS = {
    "a page imports boto3": (
        "pages/data.py", "import boto3\n",
        "pages import no cloud SDK or model library"),
    "a page imports sklearn in a function": (
        "pages/prep.py", "def f():\n    import sklearn\n",
        "pages import no cloud SDK or model library"),
    "a module imports another package's private module": (
        "lab/training/data.py", "from lab.featurestore._local import LocalFeatureStore\n",
        "no module imports another package's private module"),
    "the AWS plumbing imports a capability": (
        "lab/aws/names.py", "import lab.registry\n", "lab is layered"),
    "a capability imports one above it": (
        "lab/processing/_prep.py", "import lab.training\n", "lab is layered"),
    "lab imports streamlit": (
        "lab/charts.py", "import streamlit\n", "lab has no UI code"),
    "a container script imports the lab": (
        "lab/training/entry_point.py", "import lab.errors\n",
        "the scripts that run in SageMaker's containers import nothing of the lab"),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_each_contract_fails_when_its_rule_is_broken(tree_copy, case):
    path, line, contract = VIOLATIONS[case]
    target = tree_copy / path
    target.write_text(target.read_text() + "\n" + line)
    proc = lint_imports(tree_copy)
    assert proc.returncode != 0, proc.stdout
    text = " ".join(proc.stdout.split())
    verdict = re.search(re.escape(contract) + r".*?\b(KEPT|BROKEN)\b", text)
    assert verdict is not None and verdict.group(1) == "BROKEN", proc.stdout
    assert "1 broken" in text, proc.stdout  # that rule, and only that one


def test_pages_and_the_cli_never_compare_backend_names():
    files = [REPO / "streamlit_app.py", *sorted((REPO / "pages").glob("*.py")),
             REPO / "lab" / "cli.py", REPO / "lab" / "serving" / "cli.py"]
    pattern = re.compile(r"""backend\s*(==|!=|\bin\b|\bnot in\b)|["'](local|sagemaker)["']\s*"""
                         r"""(==|!=)""")
    offenders = {str(p.relative_to(REPO)): line.strip() for p in files
                 for line in p.read_text().splitlines() if pattern.search(line)}
    assert offenders == {}


def test_the_router_imports_no_heavy_module():
    found = {m for m in imported_modules(REPO / "streamlit_app.py") if m.split(".")[0] in HEAVY}
    assert found == set()


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_every_capability_has_its_twins_side_by_side_chosen_in_one_map(capability):
    package = REPO / "lab" / capability
    for module in ("__init__.py", "_api.py", "_local.py", "_sagemaker.py"):
        assert (package / module).is_file(), f"lab/{capability}/{module} is missing"
    lab_package = importlib.import_module(f"lab.{capability}")
    assert set(lab_package.IMPLEMENTATIONS) == {"local", "sagemaker"}
    assert lab_package.IMPLEMENTATIONS["local"].startswith(f"lab.{capability}._local:")
    assert lab_package.IMPLEMENTATIONS["sagemaker"].startswith(f"lab.{capability}._sagemaker:")
    opener = [n for n in dir(lab_package) if n.startswith("open_") and n != "open_twin"]
    assert len(opener) == 1, opener
    from lab.aws.twin import SageMakerTwin
    from lab.twins import Twin, twin_class

    local = twin_class(lab_package.IMPLEMENTATIONS, "local")
    remote = twin_class(lab_package.IMPLEMENTATIONS, "sagemaker")
    assert issubclass(local, Twin) and not issubclass(local, SageMakerTwin)
    assert issubclass(remote, SageMakerTwin)
    assert (local.backend, remote.backend) == ("local", "sagemaker")


def test_no_package_outside_its_map_picks_a_backend_by_name():
    """`if settings.backend == "sagemaker"` is how six packages used to choose."""
    pattern = re.compile(r"""\.backend\s*(==|!=)""")
    offenders = {str(p.relative_to(REPO)): line.strip()
                 for p in sorted((REPO / "lab").rglob("*.py"))
                 for line in p.read_text().splitlines() if pattern.search(line)}
    assert offenders == {}


def _modules_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "; import sys; print(sorted(m for m in "
                          f"{sorted(HEAVY | {'pandas', 'duckdb', 'pyarrow', 'plotly'})!r} "
                          "if m in sys.modules))"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.strip()
    return eval(out)  # a printed list of names


def test_the_cli_parser_imports_no_library():
    """`python -m lab --help` and an argparse error cost about Python's own start-up."""
    assert _modules_after("from lab.cli import build_parser; build_parser()") == []


def test_importing_every_capability_package_loads_no_library():
    code = "; ".join(f"import lab.{c}" for c in CAPABILITIES)
    assert _modules_after(code + "; import lab.steps, lab.jobs, lab.backends") == []


def test_the_sidebar_progress_check_imports_no_heavy_module(tmp_path):
    """It runs on every page of every session: file and SQLite checks only."""
    code = (f"from lab.steps import progress; from lab.workspace import Workspace; "
            f"progress(Workspace({str(tmp_path)!r}))")
    assert _modules_after(code) == []


def test_ruff_lint_is_clean():
    """ruff from the interpreter running the tests, never whatever ruff PATH holds."""
    if importlib.util.find_spec("ruff") is None:
        pytest.fail(f"ruff is not installed for {sys.executable}: install requirements-test.txt")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
