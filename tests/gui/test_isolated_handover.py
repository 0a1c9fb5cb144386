"""The loader child hands its session (models, analyses, pyramids) over as .npy columns + a JSON manifest."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import profiler_gui.isolated_load as iso
from profiler_gui.analysis import Opened, load_session
from profiler_gui.columnar_store import PackedBytes, StoreError, read_store, write_store

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference_traces"
TRACE = REFERENCE / "hta_v100_68k_events.pt.trace.json.gz"


def _raw_list(values: Any) -> list[bytes | None]:
    return [None if v is None else bytes(v) for v in values]


def assert_same(a: Any, b: Any, where: str = "analysis") -> None:
    """``b`` (handed over) equals ``a`` (in-process), recursively, field by field."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, obj=where)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        if a.dtype == object:
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                assert_same(x, y, f"{where}[{i}]")
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if f.name == "args_raw":
                assert isinstance(y, PackedBytes) and _raw_list(x) == _raw_list(y), f"{where}.args_raw"
            else:
                assert_same(x, y, f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.skipif(not TRACE.is_file(), reason="reference traces not available")
def test_handover_equals_in_process_load_field_by_field(monkeypatch: pytest.MonkeyPatch) -> None:
    folders: list[str] = []
    real_mkdtemp = iso.tempfile.mkdtemp

    def mkdtemp(**kw: Any) -> str:
        folders.append(real_mkdtemp(**kw))
        return folders[-1]
    monkeypatch.setattr(iso.tempfile, "mkdtemp", mkdtemp)
    handed = iso.load_isolated(str(TRACE), lambda phase, frac: None, threading.Event())
    direct = load_session(str(TRACE))
    assert isinstance(handed, Opened) and handed.rank == direct.rank == 0
    assert_same(direct.session.models, handed.session.models, "models")
    assert_same(direct.pyramids, handed.pyramids, "pyramids")
    got, want = handed.session.rank(0).memo, direct.session.rank(0).memo
    # every analysis the child computed came back, but the rule facts and the HTA view (it holds the model)
    assert set(got.values) == set(want.values) - {"facts", "hta_view"}
    for key in got.values:
        assert_same(want.values[key], got.values[key], f"memo[{key!r}]")
    assert dict(got.counts) == {k: v for k, v in want.counts.items() if k not in ("facts", "hta_view")}
    ra = handed.session.rank(0)
    assert [f.to_dict() for f in ra.findings] == [f.to_dict() for f in direct.session.rank(0).findings]
    assert ra.memo.counts["findings"] == 1 and "facts" not in ra.memo.counts  # kept, not recomputed
    m = ra.model
    assert isinstance(m.start_ns.base, np.memmap) and not m.start_ns.flags.writeable  # mapped, not copied
    dm = direct.session.rank(0).model
    assert m.args(5) == dm.args(5) and m.names[:50].tolist() == dm.names[:50].tolist()
    assert folders and not os.path.exists(folders[0])  # the private folder is gone once mapped


def test_store_round_trip_of_tables_and_scalars(tmp_path: Path) -> None:
    value = {"df": pd.DataFrame({"name": ["a", "b"] * 20, "ms": np.arange(40.0),
                                 "cat": pd.Categorical(["x", "y"] * 20)}),
             (1, 2): [np.int64(3), float("nan"), None, True, b"raw", {"s"}],
             "strs": [f"s{i}" for i in range(20)], "obj": np.array([1, "a", None], dtype=object),
             "packed": PackedBytes.pack([b"{}", None, b'{"a": 1}'])}
    write_store(value, str(tmp_path))
    back = read_store(str(tmp_path))
    pd.testing.assert_frame_equal(back["df"], value["df"])
    assert back[(1, 2)][0] == 3 and isinstance(back[(1, 2)][0], np.int64) and math.isnan(back[(1, 2)][1])
    assert back[(1, 2)][2:] == [None, True, b"raw", {"s"}]
    assert back["strs"] == value["strs"] and back["obj"].tolist() == [1, "a", None]
    assert list(back["packed"]) == [b"{}", None, b'{"a": 1}']
    assert not list(tmp_path.glob("*.pkl"))


def test_store_refuses_foreign_classes_and_pickled_arrays(tmp_path: Path) -> None:
    manifest = {"version": 1, "root": {"t": "dc", "cls": "subprocess:Popen", "f": {}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="refusing to rebuild subprocess:Popen"):
        read_store(str(tmp_path))
    np.save(tmp_path / "a0.npy", np.array([object()], dtype=object), allow_pickle=True)
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 1, "root": {"t": "nd", "f": "a0.npy"}}))
    with pytest.raises(ValueError, match="allow_pickle"):
        read_store(str(tmp_path))
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 1, "root": {"t": "nd", "f": "../x.npy"}}))
    with pytest.raises(StoreError, match="bad array file name"):
        read_store(str(tmp_path))


def test_restricted_unpickler_is_gone() -> None:
    assert not hasattr(iso, "_AnalysisUnpickler") and "pickle" not in vars(iso)
