"""Unpacking a tar archive (a model.tar.gz) without letting it write outside its folder.

A model archive may come from S3 or from a learner's upload, so every member is checked
before anything is written: only regular files and folders, with relative names that stay
inside the destination. Links (symbolic or hard), devices and FIFOs are refused, and
permission bits beyond rwx are dropped.

Python added `extractall(filter="data")` in 3.11.4 (and 3.8.17, 3.9.17, 3.10.12); Debian 12
ships 3.11.2, which lacks it. Where the filter exists it is applied on top of these checks;
where it does not, these checks are the whole defence, so they never rely on it.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path, PurePosixPath

from lab.errors import DataError

HAS_DATA_FILTER = hasattr(tarfile, "data_filter")


class UnsafeArchiveError(DataError):
    """An archive member would write outside the folder, or is not a plain file or folder."""


def safe_members(tar: tarfile.TarFile, dest: str | os.PathLike) -> list[tarfile.TarInfo]:
    """Every member of `tar`, checked; UnsafeArchiveError names the first bad one."""
    root = Path(dest).resolve()
    members = []
    for member in tar.getmembers():
        name = member.name
        if not (member.isfile() or member.isdir()):
            kind = ("a link" if member.issym() or member.islnk() else
                    "a device" if member.ischr() or member.isblk() else
                    "a FIFO" if member.isfifo() else "not a regular file")
            raise UnsafeArchiveError(f"The archive member {name!r} is {kind}: only files and "
                                     "folders are unpacked.")
        path = PurePosixPath(name)
        if path.is_absolute() or name.startswith(("/", "\\")) or ".." in path.parts or \
                (len(name) > 1 and name[1] == ":"):
            raise UnsafeArchiveError(f"The archive member {name!r} points outside its folder "
                                     "(absolute path or '..').")
        target = (root / name).resolve()
        if target != root and root not in target.parents:
            raise UnsafeArchiveError(f"The archive member {name!r} points outside its folder.")
        member.mode = (member.mode or 0o644) & 0o777  # no setuid, setgid or sticky bits
        members.append(member)
    return members


def extract_tar(archive: str | os.PathLike | tarfile.TarFile, dest: str | os.PathLike,
                *, use_filter: bool | None = None) -> None:
    """Unpack `archive` (a path or an open TarFile) into `dest`, checked member by member.

    `use_filter` is for tests: False takes the path of a Python without the "data" filter.
    tarfile.TarError and OSError pass through for the caller to word.
    """
    use_filter = HAS_DATA_FILTER if use_filter is None else use_filter
    if isinstance(archive, tarfile.TarFile):
        _extract(archive, Path(dest), use_filter)
        return
    with tarfile.open(archive, "r:*") as tar:
        _extract(tar, Path(dest), use_filter)


def _extract(tar: tarfile.TarFile, dest: Path, use_filter: bool) -> None:
    members = safe_members(tar, dest)  # all checked before the first byte is written
    dest.mkdir(parents=True, exist_ok=True)
    if use_filter:
        tar.extractall(dest, members=members, filter="data")
    else:
        tar.extractall(dest, members=members)  # noqa: S202 - members checked above
