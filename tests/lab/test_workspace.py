from __future__ import annotations

import pytest

from lab.errors import InputError
from lab.settings import Settings, load_settings, valid_session_id
from lab.workspace import Workspace


def test_paths_stay_inside_the_workspace(ws):
    assert ws.path("data", "raw") == ws.root / "data" / "raw"
    for escape in (("..", "x"), ("/etc/passwd",), ("jobs", "../../x")):
        with pytest.raises(InputError, match="outside the workspace"):
            ws.path(*escape)


def test_replace_dir_swaps_whole_folders_and_keeps_the_old_one_on_failure(ws):
    target = ws.root / "out"
    with ws.replace_dir(target) as staging:
        (staging / "a.txt").write_text("one")
    with pytest.raises(RuntimeError), ws.replace_dir(target) as staging:
        (staging / "a.txt").write_text("two")
        raise RuntimeError("failed half-way")
    assert (target / "a.txt").read_text() == "one"
    with ws.replace_dir(target) as staging:
        (staging / "b.txt").write_text("three")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in ws.root.iterdir()] == ["out"]


def test_settings_come_from_arguments_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path / "env-ws"))
    monkeypatch.setenv("LAB_BACKEND", "sagemaker")
    s = load_settings()
    assert s.workspace == tmp_path / "env-ws" and s.backend == "sagemaker"
    s = load_settings(tmp_path / "arg-ws", "local")
    assert s.workspace == tmp_path / "arg-ws" and s.backend == "local"
    with pytest.raises(InputError, match="Unknown backend 'azure'"):
        Settings(workspace=tmp_path, backend="azure")


def test_workshop_sessions_get_their_own_validated_workspace(tmp_path):
    s = Settings(workspace=tmp_path, workshop_mode=True)
    assert s.for_session("abc123def456").workspace == tmp_path / "sessions" / "abc123def456"
    for bad in ("../../etc", "ABC", "short", "a" * 40, None):
        with pytest.raises(InputError):
            valid_session_id(bad)
    assert Workspace(s.for_session("abcdefgh").workspace).root.parent.name == "sessions"


def test_resource_names_are_per_workspace_on_sagemaker_only(tmp_path):
    from lab.featurestore import IMPLEMENTATIONS
    from lab.twins import twin_class

    def resource_name(settings, base):  # what a page asks the backend's twin
        return twin_class(IMPLEMENTATIONS, settings.backend).resource_name(settings, base)

    local = Settings(workspace=tmp_path / "a")
    assert resource_name(local, "lab-train") == "lab-train"
    a = resource_name(local.with_backend("sagemaker"), "lab-train")
    b = resource_name(Settings(workspace=tmp_path / "b", backend="sagemaker"), "lab-train")
    assert a.startswith("lab-train-") and len(a) == len("lab-train-") + 8 and a != b
