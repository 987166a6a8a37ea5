"""The bench's measuring aid LAB_PAGE_CACHE=off (pages/_ui.py): in a process that imported
the UI helpers with it, the pages' st.cache_data/st.cache_resource are plain calls, so a
rerun computes again what the caches keep; without it, a rerun reads the cache. Shown on
the Data page, whose cached `dataset_frame` reads the dataset (`lab.dataset.load_dataset`)."""

from __future__ import annotations

import importlib

import pytest
import streamlit as st

import lab.dataset
import pages._ui
from tests.app.test_cleanup_page import open_app, run


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """Every read of a dataset the Data page makes (its cached function's work)."""
    found: list[str] = []
    real = lab.dataset.load_dataset

    def counted(ws, info):
        found.append(info.name)
        return real(ws, info)

    monkeypatch.setattr(lab.dataset, "load_dataset", counted)
    return found


@pytest.fixture
def caches_off(monkeypatch):
    """The UI helpers imported again with LAB_PAGE_CACHE=off (as a server started with it
    imports them once); afterwards Streamlit's decorators and the helpers as they were."""
    cache_data, cache_resource = st.cache_data, st.cache_resource
    monkeypatch.setenv("LAB_PAGE_CACHE", "off")
    try:
        importlib.reload(pages._ui)
        yield
    finally:
        st.cache_data, st.cache_resource = cache_data, cache_resource
        monkeypatch.delenv("LAB_PAGE_CACHE")
        importlib.reload(pages._ui)


def test_with_the_caches_on_a_rerun_reads_no_dataset(prepared, monkeypatch, reads):
    at = open_app(prepared.workspace, monkeypatch, "pages/data.py")
    before = len(reads)
    run(at)
    run(at)
    assert not isinstance(st.cache_data, pages._ui._Uncached)  # off unless asked
    assert len(reads) == before  # the rerun found the dataset in the cache


def test_with_the_caches_off_every_rerun_reads_the_dataset(prepared, monkeypatch, reads,
                                                           caches_off):
    assert isinstance(st.cache_data, pages._ui._Uncached)
    at = open_app(prepared.workspace, monkeypatch, "pages/data.py")
    before = len(reads)
    assert before >= 1
    run(at)
    run(at)
    assert len(reads) == before + 2  # each rerun read it again: no cache in between
