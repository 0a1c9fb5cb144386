"""Bad input never crashes the loader or the CLI: one line naming the file and the problem, exit 2."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzers.errors import TraceLoadError
from analyzers.loader import load_trace

REPO = Path(__file__).resolve().parents[2]
GOOD = {"traceEvents": [
    {"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 10.0, "dur": 5.5,
     "args": {"External id": 1}},
    {"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#0", "pid": 1, "tid": 1, "ts": 9.0, "dur": 20},
]}


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "profiler_gui.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


BAD_FILES = {
    "truncated.json.gz": lambda: gzip.compress(json.dumps(GOOD).encode())[:-12],
    "corrupt.json.gz": lambda: b"\x1f\x8b\x08\x00" + b"\x00garbage" * 20,
    "invalid.json": lambda: b'{"traceEvents": [ {"ph": "X",, } ]',
    "not_a_trace.json": lambda: b'{"hello": "world"}',
    "scalar.json": lambda: b"42",
    "string.json": lambda: b'"a string"',
    "nan.json": lambda: b'{"traceEvents": [{"ph": "X", "ts": NaN, "dur": Infinity}]}',
    "bad_utf8.json": lambda: b'{"traceEvents": [{"ph": "X", "name": "\xff\xfe", "ts": 1, "dur": 1}]}',
    "deep.json": lambda: b'{"traceEvents": [' + b"[" * 200_000 + b"]" * 200_000 + b"]}",
    "empty.json": lambda: b"",
    "binary.json": lambda: bytes(range(256)) * 4,
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_raises_one_line_error_naming_the_file(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, BAD_FILES[name]())
    with pytest.raises(TraceLoadError) as info:
        load_trace(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


@pytest.mark.parametrize("name", ["truncated.json.gz", "invalid.json", "not_a_trace.json", "deep.json"])
def test_cli_reports_bad_file_without_traceback(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, BAD_FILES[name]())
    proc = _cli("analyze", str(path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torchscope: error:") and name in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_missing_file_and_empty_folder(tmp_path: Path) -> None:
    proc = _cli("analyze", str(tmp_path / "nope.json"))
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    proc = _cli("analyze", str(empty))
    assert proc.returncode == 2 and "no trace files" in proc.stderr


def test_wrongly_typed_fields_are_skipped_with_a_warning(tmp_path: Path) -> None:
    doc = {"traceEvents": GOOD["traceEvents"] + [
        {"ph": "X", "name": 12, "ts": "soon", "dur": 3},          # ts not a number
        {"ph": "X", "name": "neg", "pid": 1, "tid": 1, "ts": 1, "dur": -5},  # negative duration
        {"ph": "X", "name": "huge", "pid": 1, "tid": 1, "ts": 1e300, "dur": 1},  # absurd time
        "not an event", None, 7,
        {"ph": "X", "name": "odd args", "pid": [1], "tid": {"a": 1}, "ts": 11, "dur": 1, "args": [1, 2]},
    ]}
    path = _write(tmp_path, "odd.json", json.dumps(doc).encode())
    model = load_trace(path)
    names = {model.name(i) for i in range(len(model))}
    assert {"aten::mm", "ProfilerStep#0", "odd args"} <= names
    assert "neg" not in names and "huge" not in names
    assert any("skipped" in w for w in model.warnings)


def test_well_formed_but_empty_traces_load(tmp_path: Path) -> None:
    for doc in ({"traceEvents": []}, [], {"traceEvents": [{"ph": "M", "name": "process_name", "pid": 1,
                                                             "args": {"name": "x"}}]}):
        model = load_trace(_write(tmp_path, "e.json", json.dumps(doc).encode()))
        assert len(model) == 0 and not model.has_gpu


def test_cli_reports_on_empty_trace(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty_events.json", b'{"traceEvents": []}')
    proc = _cli("analyze", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "no events" in proc.stdout.lower()


def test_bare_event_list_and_missing_metadata(tmp_path: Path) -> None:
    model = load_trace(_write(tmp_path, "bare.json", json.dumps(GOOD["traceEvents"]).encode()))
    assert len(model) == 2 and model.device_properties == [] and model.rank == 0 and model.world_size is None


_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                          st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
_json_values = st.recursive(_json_scalars, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)), max_leaves=8)
_event = st.fixed_dictionaries({}, optional={
    "ph": st.sampled_from(["X", "i", "s", "f", "M", "C", "B", "?", ""]) | _json_scalars,
    "cat": st.sampled_from(["kernel", "cpu_op", "cuda_runtime", "Kernel", "fwdbwd", "ac2g", "gpu_memcpy"]) | _json_scalars,
    "name": st.sampled_from(["ProfilerStep#1", "[memory]", "aten::mm", "process_name"]) | _json_scalars,
    "pid": _json_scalars, "tid": _json_scalars, "ts": _json_scalars, "dur": _json_scalars, "id": _json_scalars,
    "args": _json_values | st.fixed_dictionaries({}, optional={
        "correlation": _json_scalars, "External id": _json_scalars, "device": _json_scalars,
        "stream": _json_scalars, "grid": _json_values, "block": _json_values, "Bytes": _json_scalars,
        "blocks per SM": _json_scalars, "name": _json_scalars}),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_event | _json_values, max_size=12), wrap=st.booleans(),
       meta=st.dictionaries(st.sampled_from(["deviceProperties", "distributedInfo", "baseTimeNanoseconds"]),
                            _json_values, max_size=3))
def test_fuzzed_traces_load_or_fail_cleanly(tmp_path: Path, events: list, wrap: bool, meta: dict) -> None:
    doc = dict(meta, traceEvents=events) if wrap else events
    path = tmp_path / "fuzz.json"
    path.write_bytes(json.dumps(doc).encode())
    try:
        model = load_trace(path)
    except TraceLoadError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    assert len(model) <= len(events)
    assert (model.dur_ns >= 0).all()
    for row in range(len(model)):
        assert isinstance(model.args(row), dict)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=10_000), flip=st.integers(min_value=0, max_value=10_000),
       byte=st.integers(min_value=0, max_value=255), gz=st.booleans())
def test_mutated_bytes_load_or_fail_cleanly(tmp_path: Path, cut: int, flip: int, byte: int, gz: bool) -> None:
    data = bytearray(json.dumps(GOOD).encode() * 1)
    if data:
        data[flip % len(data)] = byte
    data = bytes(data[: max(1, len(data) - cut % len(data))])
    if gz:
        data = gzip.compress(data)[: max(2, 40 + cut % 60)]
    path = tmp_path / ("m.json.gz" if gz else "m.json")
    path.write_bytes(data)
    try:
        load_trace(path)
    except TraceLoadError as exc:
        assert "\n" not in str(exc)
