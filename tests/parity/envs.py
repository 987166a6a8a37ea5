"""Virtual environments pinned to the libraries of SageMaker's containers, built once.

The lab's container scripts run in SageMaker's scikit-learn (1.2-1) and XGBoost (1.7-1)
images, whose libraries are far older than the lab's own. These environments hold those
libraries, so a test can run each script the way its container does and see what the
container would see. The pins come from the containers' public sources:

    sagemaker-scikit-learn-container, branch 1.2-1: requirements.txt and
        docker/1.2-1/base/Dockerfile.cpu (Python 3.9, scikit-learn 1.2.1, pandas 1.1.3,
        numpy 1.24.1, scipy 1.8.0, python-dateutil 2.8.1)
    sagemaker-xgboost-container, branch 1.7-1: requirements.txt and
        docker/1.7-1/base/Dockerfile.cpu (Python 3.9, xgboost 1.7.4, scikit-learn 0.24.1,
        pandas 1.2.4, numpy 1.24.1, scipy 1.8.0, python-dateutil 2.8.1)

Those exact pins install on Python 3.9 only. With the suite's own Python (3.11) a pin that
has no wheel for it is replaced by the oldest release that has one (`nearest_311`); set
MLOPS_LAB_PARITY_PYTHON to a Python 3.9 to build the exact pins instead. joblib and
threadpoolctl are not pinned by the images (pip picks them when the image is built): they
are pinned here to releases of the images' time, for a stable cache.

Each environment lives in `<repo>/.parity/<name>-py<version>-<hash>/` (gitignored), made
with `python -m venv --without-pip` and filled by the suite's own pip (`pip --python`),
wheels only. A file lock makes one pytest-xdist worker build it while the others wait;
`ready.json` marks it complete and records the versions found in it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".parity"
PYTHON_ENV = "MLOPS_LAB_PARITY_PYTHON"  # not LAB_*: tests/conftest.py clears those
COMMON = ("joblib==1.3.2", "threadpoolctl==3.2.0", "python-dateutil==2.8.1")


@dataclass(frozen=True)
class Container:
    name: str  # the lab's name for the image: "sklearn-1.2-1" or "xgboost-1.7-1"
    framework: str  # the SDK's image_uris framework name
    version: str  # its framework version (the image tag's start)
    exact: tuple[str, ...]  # the image's own pins (Python 3.9)
    nearest_311: tuple[str, ...]  # the oldest releases with wheels for Python 3.11

    def pins(self, python_version: tuple[int, int]) -> tuple[str, ...]:
        return (self.exact if python_version < (3, 11) else self.nearest_311) + COMMON


CONTAINERS = {c.name: c for c in (
    Container("sklearn-1.2-1", "sklearn", "1.2-1",
              exact=("scikit-learn==1.2.1", "pandas==1.1.3", "numpy==1.24.1", "scipy==1.8.0"),
              nearest_311=("scikit-learn==1.2.1", "pandas==1.5.0", "numpy==1.24.1",
                           "scipy==1.9.2")),
    Container("xgboost-1.7-1", "xgboost", "1.7-1",
              exact=("xgboost==1.7.4", "scikit-learn==0.24.1", "pandas==1.2.4",
                     "numpy==1.24.1", "scipy==1.8.0"),
              nearest_311=("xgboost==1.7.4", "scikit-learn==1.1.3", "pandas==1.5.0",
                           "numpy==1.24.1", "scipy==1.9.2")),
)}
FOR_ALGORITHM = {"xgboost": "xgboost-1.7-1", "random_forest": "sklearn-1.2-1"}


@dataclass(frozen=True)
class ParityEnv:
    container: Container
    folder: Path
    versions: dict[str, str]  # python and each library, as found in the environment
    build_s: float  # seconds spent building it (0 when it came from the cache)

    @property
    def python(self) -> str:
        return str(self.folder / "bin" / "python")

    def run(self, args: list[str], *, env: dict[str, str] | None = None,
            cwd: str | Path | None = None, timeout: float = 300
            ) -> subprocess.CompletedProcess:
        """`python args...` in this environment, with no PYTHONPATH and no AWS secrets."""
        base = {k: v for k, v in os.environ.items()
                if k != "PYTHONPATH" and not k.startswith(("AWS_", "SM_", "SAGEMAKER_"))}
        return subprocess.run([self.python, *args], env={**base, **(env or {})}, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)


    def start(self, args: list[str], *, env: dict[str, str] | None = None,
              cwd: str | Path | None = None) -> subprocess.Popen:
        """`python args...` started in this environment (as `run`), output in `stdout`."""
        base = {k: v for k, v in os.environ.items()
                if k != "PYTHONPATH" and not k.startswith(("AWS_", "SM_", "SAGEMAKER_"))}
        return subprocess.Popen([self.python, *args], env={**base, **(env or {})}, cwd=cwd,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parity_python() -> str:
    return os.environ.get(PYTHON_ENV) or sys.executable


def _python_version(python: str) -> tuple[int, int]:
    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1])


_PROBE = ("import json, platform, importlib\n"
          "found = {'python': platform.python_version()}\n"
          "for name in ('numpy', 'pandas', 'sklearn', 'scipy', 'xgboost', 'joblib'):\n"
          "    try:\n"
          "        found[name] = importlib.import_module(name).__version__\n"
          "    except ImportError:\n"
          "        pass\n"
          "print(json.dumps(found))\n")


def build(name: str, python: str | None = None) -> ParityEnv:
    """The environment of the container `name`, built unless the cache holds it."""
    container = CONTAINERS[name]
    python = python or parity_python()
    version = _python_version(python)
    pins = container.pins(version)
    key = hashlib.sha256(json.dumps([name, version, pins]).encode()).hexdigest()[:10]
    folder = CACHE / f"{name}-py{version[0]}.{version[1]}-{key}"
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one xdist worker builds, the others wait here
        ready = folder / "ready.json"
        if ready.exists():
            return ParityEnv(container, folder, json.loads(ready.read_text())["versions"], 0)
        started = time.perf_counter()
        shutil.rmtree(folder, ignore_errors=True)  # a build that was cut off
        subprocess.run([python, "-m", "venv", "--without-pip", str(folder)], check=True)
        install = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(folder / "bin" / "python"),
             "install", "--quiet", "--disable-pip-version-check", "--no-warn-script-location",
             "--only-binary=:all:", *pins], capture_output=True, text=True)
        if install.returncode != 0:
            tail = "\n".join((install.stdout + install.stderr).strip().splitlines()[-6:])
            raise RuntimeError(f"Could not build the {name} parity environment with "
                               f"{' '.join(pins)} (the package index must be reachable):\n"
                               f"{tail}")
        probe = subprocess.run([str(folder / "bin" / "python"), "-c", _PROBE],
                               capture_output=True, text=True, check=True)
        versions = json.loads(probe.stdout)
        seconds = time.perf_counter() - started
        ready.write_text(json.dumps({"pins": pins, "versions": versions,
                                     "build_s": round(seconds, 1)}, indent=2))
        return ParityEnv(container, folder, versions, seconds)
