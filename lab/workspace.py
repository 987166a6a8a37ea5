"""The workspace: one folder that holds all state of one learner.

Deleting the folder resets the lab. Paths handed out here always stay inside the root,
and a step's outputs are replaced as a whole (`replace_dir`), so a failed or interrupted
re-run leaves the previous outputs as they were.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lab.errors import InputError


class Workspace:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    def path(self, *parts: str) -> Path:
        """A path under the root; refuses anything that would escape it."""
        candidate = self.root.joinpath(*parts).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            raise InputError(f"{'/'.join(parts)!r} is outside the workspace.")
        return candidate

    def ensure(self, *parts: str) -> Path:
        p = self.path(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    # Well-known places, so that every module agrees on the layout.
    @property
    def raw_dir(self) -> Path:
        return self.path("data", "raw")

    @property
    def processed_dir(self) -> Path:
        """Outputs of the in-process data preparation (the workshop's data/processed)."""
        return self.path("data", "processed")

    @property
    def jobs_dir(self) -> Path:
        return self.path("jobs")

    def contains(self, path: str | os.PathLike) -> bool:
        """True when `path` (resolved, links followed) is the root or under it."""
        candidate = Path(path).resolve()
        return candidate == self.root or self.root in candidate.parents

    @contextlib.contextmanager
    def replace_dir(self, target: Path) -> Iterator[Path]:
        """Yield a fresh staging folder; on success it replaces `target` as a whole.

        On an exception the staging folder is removed and `target` is untouched. A staging
        folder left by a process that was killed (SIGKILL skips every cleanup) is removed
        by the next replace of the same target.
        """
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-{os.getpid()}-",
                                        dir=target.parent))
        try:
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        swap_in(staging, target)


def remove_stale(target: Path) -> None:
    """Remove the staging and set-aside folders of `target` whose process has ended."""
    for leftover in target.parent.glob(f".{target.name}.*-*"):
        kind, _, rest = leftover.name[len(target.name) + 2:].partition("-")
        pid = rest.partition("-")[0]
        if kind in ("new", "old") and (not pid.isdigit() or not pid_alive(int(pid))):
            shutil.rmtree(leftover, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    """True when a process with this id runs (or exists but is not ours to signal)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


@contextlib.contextmanager
def locked(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """An exclusive lock on the folder `path` (made if missing), held while the block runs,
    between threads and processes alike: flock on the folder itself, so no lock file is
    left behind, and the kernel drops the lock when its holder dies, even by SIGKILL.
    `on_wait` is called once if another holder makes this one wait."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def swap_in(staging: Path, target: Path) -> None:
    """Move `staging` to `target`, replacing what was there.

    Two renames on one filesystem: the old folder is set aside first and only deleted once
    the new one is in place, so readers see either the old outputs or the new ones.
    """
    old = target.parent / f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if target.exists():
        os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return default
