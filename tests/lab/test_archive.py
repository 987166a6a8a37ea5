"""Unpacking model archives: hostile members are refused on both code paths.

`use_filter=False` is the path of Python 3.11.0-3.11.3 (Debian 12's 3.11.2), which has no
`extractall(filter="data")`; `True` is the path of newer Pythons (skipped where absent).
"""

from __future__ import annotations

import io
import tarfile

import pytest

from lab.archive import HAS_DATA_FILTER, UnsafeArchiveError, extract_tar
from lab.errors import InputError

PATHS = [pytest.param(False, id="no-data-filter"),
         pytest.param(True, id="data-filter", marks=pytest.mark.skipif(
             not HAS_DATA_FILTER, reason="this Python has no tarfile data filter"))]


def archive(tmp_path, *members: tarfile.TarInfo, payload: bytes = b"x") -> str:
    path = tmp_path / "hostile.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            if member.isfile():
                member.size = len(payload)
                tar.addfile(member, io.BytesIO(payload))
            else:
                tar.addfile(member)
    return str(path)


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "",
           mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    return info


HOSTILE = {
    "absolute path": (member("/tmp/lab-archive-escape"), "outside its folder"),
    "dot-dot": (member("../escape.txt"), "outside its folder"),
    "nested dot-dot": (member("model/../../escape.txt"), "outside its folder"),
    "symlink out": (member("link", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
    "symlink in": (member("link", tarfile.SYMTYPE, "model.json"), "is a link"),
    "hard link": (member("hard", tarfile.LNKTYPE, "/etc/passwd"), "is a link"),
    "character device": (member("dev", tarfile.CHRTYPE), "is a device"),
    "block device": (member("blk", tarfile.BLKTYPE), "is a device"),
    "fifo": (member("pipe", tarfile.FIFOTYPE), "is a FIFO"),
}


@pytest.mark.parametrize("use_filter", PATHS)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_member_is_refused_and_nothing_is_written(tmp_path, use_filter, case):
    bad, message = HOSTILE[case]
    path = archive(tmp_path, member("model.json"), bad)
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=message) as caught:
        extract_tar(path, dest, use_filter=use_filter)
    assert isinstance(caught.value, InputError)  # pages and the CLI show its message
    assert not dest.exists()  # checked before the first byte: not even the good member
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("use_filter", PATHS)
def test_a_model_archive_unpacks_with_its_folders_and_plain_permissions(tmp_path, use_filter):
    path = archive(tmp_path, member("model.json"), member("code", tarfile.DIRTYPE, mode=0o755),
                   member("code/inference.py", mode=0o4755), payload=b"{}")
    dest = tmp_path / "out"
    extract_tar(path, dest, use_filter=use_filter)
    assert (dest / "model.json").read_bytes() == b"{}"
    assert (dest / "code" / "inference.py").is_file()
    assert not (dest / "code" / "inference.py").stat().st_mode & 0o4000  # setuid dropped


def test_a_model_loads_from_its_archive_on_the_path_without_the_filter(tmp_path, monkeypatch):
    """The whole loader on the old-Python path: what Debian 12's Python 3.11.2 runs."""
    import lab.archive
    from lab.training.artifact import load_model, pack

    pytest.importorskip("xgboost")
    import numpy as np
    import xgboost as xgb

    folder = tmp_path / "model"
    folder.mkdir()
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(np.eye(4), label=[1, 2, 3, 4],
                                                       feature_names=list("abcd")), 3)
    booster.save_model(folder / "xgboost-model.json")
    (folder / "model.json").write_text('{"algorithm": "xgboost", "model_file": '
                                       '"xgboost-model.json", "features": ["a","b","c","d"]}')
    tar = pack(folder, tmp_path / "model.tar.gz")
    monkeypatch.setattr(lab.archive, "HAS_DATA_FILTER", False)
    model = load_model(tar)
    assert model.predict([[1, 0, 0, 0]]).shape == (1,)
