"""Streamed, chunked (and multi-process) trace decoding gives exactly what the whole-document decode gives.

Chunks are made tiny here (a few KB) so that every reference trace is cut in
hundreds of places; each column is compared with the whole-document decode
and with the standard library's ``json`` parse of the same file.
"""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import msgspec
import numpy as np
import pytest

from analyzers import chunk_pool
from analyzers.chunk_columns import decode_chunk, from_frame, to_frame
from analyzers.coded_column import CodedColumn
from analyzers.errors import TraceLoadError
from analyzers.event_chunks import EventChunker, Unchunkable
from analyzers.kineto_decode import _Doc, decode_trace_file, decode_trace_json
from analyzers.loader import load_trace
from analyzers.packed_bytes import PackedBytes
from analyzers.trace_files import read_trace_bytes

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference_traces"
SMALL_CHUNK = 1 << 13
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference_traces is absent")


def _columns(raw) -> dict:  # type: ignore[no-untyped-def]
    """Every per-event value as plain Python lists (args decoded, so layout differences do not count)."""
    args = [msgspec.json.decode(a) if a is not None else None for a in raw.args]
    out = {f: list(getattr(raw, f)) for f in ("ph", "name", "cat", "pid", "tid", "id")}
    out.update(ts=raw.ts.tolist(), dur=raw.dur.tolist(), args=args, metadata=getattr(raw, "metadata", None), dropped=raw.dropped)
    out.update({f"core.{k}": v.tolist() for k, v in raw.core.items()})
    return out


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key in ("ts", "dur") or key.startswith("core."):
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)
        else:
            assert a[key] == b[key], key


@needs_reference
@pytest.mark.parametrize("name", ["hta_amd_mi250_rocm.json.gz", "hta_cpu_only.pt.trace.json.gz",
                                  "tb_resnet50_num_workers_4.pt.trace.json.gz", "hta_nccl_a100.json.gz"])
def test_streamed_chunks_equal_whole_document_and_stdlib(name: str) -> None:
    path = REFERENCE / name
    whole = decode_trace_json(path, read_trace_bytes(path))
    streamed = decode_trace_file(path, chunk_bytes=SMALL_CHUNK)
    _same(_columns(streamed), _columns(whole))
    events = json.loads(gzip.decompress(path.read_bytes()))["traceEvents"]  # independent parse
    assert list(streamed.name) == [e.get("name", "") for e in events]
    assert streamed.ts.tolist() == [float(e["ts"]) if "ts" in e else streamed.ts[i] for i, e in enumerate(events)]
    corr = [e.get("args", {}).get("correlation", -1) for e in events]
    assert streamed.core["correlation"].tolist() == corr


@needs_reference
def test_worker_processes_give_the_same_columns() -> None:
    if not chunk_pool.can_fork():
        pytest.skip("no fork here (or other threads running)")
    path = REFERENCE / "hta_v100_68k_events.pt.trace.json.gz"
    serial = decode_trace_file(path, chunk_bytes=1 << 16)
    parallel = decode_trace_file(path, workers=2, chunk_bytes=1 << 16)
    _same(_columns(parallel), _columns(serial))


def _die(text: bytes) -> bytes:
    os._exit(3)  # a worker killed mid-chunk (e.g. by the out-of-memory killer)


@needs_reference
def test_a_dying_worker_falls_back_to_decoding_here(monkeypatch: pytest.MonkeyPatch) -> None:
    if not chunk_pool.can_fork():
        pytest.skip("no fork here (or other threads running)")
    path = REFERENCE / "hta_cpu_only.pt.trace.json.gz"
    monkeypatch.setattr(chunk_pool, "_decode_to_frame", _die)  # forked workers inherit it
    raw = decode_trace_file(path, workers=2, chunk_bytes=1 << 14)
    _same(_columns(raw), _columns(decode_trace_json(path, read_trace_bytes(path))))


def _events(n: int) -> list[dict]:
    return [{"ph": "X", "cat": "cpu_op", "name": f"op{i % 7}", "pid": 1, "tid": 2, "ts": 10.0 * i, "dur": 5,
             "args": {"External id": i, "Input Dims": [[i, 3]]}} for i in range(n)]


def _write(tmp_path: Path, doc: object, text: str | None = None, name: str = "t.json") -> Path:
    path = tmp_path / name
    path.write_text(text if text is not None else json.dumps(doc, indent=1))
    return path


@pytest.mark.parametrize("layout", ["object", "bare-list", "compact", "keys-after-events"])
def test_layouts_split_and_match(tmp_path: Path, layout: str) -> None:
    events = _events(3000)
    events[1500]["name"] = 'tricky}, {"ph": "X"'  # a cut candidate inside a string
    doc: object = {"schemaVersion": 1, "traceEvents": events}
    text = None
    if layout == "bare-list":
        doc = events
    elif layout == "compact":
        text = json.dumps(doc, separators=(",", ":"))
    elif layout == "keys-after-events":
        doc = {"traceEvents": events, "distributedInfo": {"rank": 3, "pg_config": [{"ranks": [0, 1]}]},
               "traceName": "a ] b }]"}
    path = _write(tmp_path, doc, text)
    streamed = decode_trace_file(path, chunk_bytes=2048)
    _same(_columns(streamed), _columns(decode_trace_json(path, path.read_bytes())))
    assert len(streamed) == 3000 and streamed.name[1500] == 'tricky}, {"ph": "X"'
    if layout == "keys-after-events":
        assert streamed.metadata["distributedInfo"]["rank"] == 3 and streamed.metadata["traceName"] == "a ] b }]"


def test_chunker_refuses_what_it_cannot_split() -> None:
    with pytest.raises(Unchunkable):  # the key only appears inside a string of the header
        list(EventChunker(_Doc, 64).chunks([b'{"traceName": "\\"traceEvents\\": [", "x": 1}']))
    with pytest.raises(Unchunkable):
        list(EventChunker(_Doc, 64).chunks([b'{"traceEvents": [{"ph": "X"}] garbage']))


def test_string_key_inside_header_still_loads(tmp_path: Path) -> None:
    doc = {"traceName": '"traceEvents": [', "traceEvents": _events(50)}
    raw = decode_trace_file(_write(tmp_path, doc), chunk_bytes=512)
    assert len(raw) == 50 and raw.metadata["traceName"] == '"traceEvents": ['


def test_bad_json_mid_file_gives_the_whole_document_error(tmp_path: Path) -> None:
    text = json.dumps({"traceEvents": _events(2000)}, indent=1)
    cut = len(text) // 2
    path = _write(tmp_path, None, text[:cut] + "}}oops," + text[cut:])
    with pytest.raises(TraceLoadError) as err:
        load_trace(path)
    assert "invalid JSON" in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_oddly_typed_chunk_is_coerced_like_the_whole_document(tmp_path: Path) -> None:
    events = _events(2000)
    events[1200].update(pid=True, ts="12.5", args={"correlation": "0x10", "External id": 7})
    events[1300]["args"] = {"correlation": 2**60, "stream": "stream 7"}
    path = _write(tmp_path, {"traceEvents": events})
    streamed = decode_trace_file(path, chunk_bytes=4096)
    _same(_columns(streamed), _columns(decode_trace_json(path, path.read_bytes())))
    assert streamed.pid[1200] == 1 and streamed.ts[1200] == 12.5
    assert streamed.core["correlation"][1200] == 16 and streamed.core["correlation"][1300] == 2**60
    assert streamed.core["stream"][1300] == 7 and not streamed.core["bad_any"][1300]


def test_frames_round_trip_without_pickle() -> None:
    text = json.dumps(_events(300))[1:-1].encode()
    chunk = decode_chunk(text)
    back = from_frame(to_frame(chunk))
    _same(_columns(back), _columns(chunk))


def test_packed_bytes_take_many_concat() -> None:
    a = PackedBytes.pack([b"{}", None, b'{"a": 1}'])
    b = PackedBytes.pack([b"[2]", b""])
    both = PackedBytes.concat([a, b])
    assert both.tolist() == [b"{}", None, b'{"a": 1}', b"[2]", b""]
    view = both.take(np.array([3, 0, 1]))
    assert view.tolist() == [b"[2]", b"{}", None] and view.blob is both.blob
    assert view.take(np.array([True, False, True])).tolist() == [b"[2]", None]
    assert [bytes(m) if m is not None else None for m in view.many([2, 0])] == [None, b"[2]"]
    assert view[-1] is None and len(view) == 3


def test_coded_column_concat_keeps_first_seen_order_and_none() -> None:
    parts = [CodedColumn.of(np.array(["b", None, "a"], dtype=object)), CodedColumn.of(np.array([7, "a", "c", None],
                                                                                             dtype=object))]
    merged = CodedColumn.concat(parts)
    assert list(merged) == ["b", None, "a", 7, "a", "c", None]
    assert merged.uniques == ["b", None, "a", 7, "c"]


@needs_reference
def test_model_keeps_args_not_the_json_text() -> None:
    path = REFERENCE / "hta_v100_68k_events.pt.trace.json.gz"
    model = load_trace(path)
    text_bytes = len(gzip.decompress(path.read_bytes()))
    assert isinstance(model.args_raw, PackedBytes)
    assert model.args_raw.blob.nbytes < 0.4 * text_bytes  # only args, never a view into the whole text
    row = int(np.flatnonzero(model.correlation >= 0)[0])
    assert model.args(row)["correlation"] == int(model.correlation[row])


def test_packed_bytes_contains_scans_rows() -> None:
    packed = PackedBytes.pack([b'{"flops": 3}', None, b'{"a": 1}', b'{"b": "flops"}', b'{"flops": 1}'])
    view = packed.take(np.array([4, 2, 0, 1]))
    assert view.contains(b'"flops"', np.array([0, 1, 2, 3])).tolist() == [True, False, True, False]
    assert packed.contains(b"flops", np.arange(5)).tolist() == [True, False, False, True, True]


_ORPHAN_SCRIPT = r"""
import json, multiprocessing, sys, time
sys.path.insert(0, sys.argv[1])
from analyzers.chunk_pool import decode_chunks
event = b'{"ph": "X", "name": "a", "ts": 1, "dur": 1}'

def texts():
    while True:  # chunks forever: the parent is killed mid-load
        yield b",".join([event] * 10)
        kids = [p.pid for p in multiprocessing.active_children()]
        if len(kids) >= 2:
            print(json.dumps(kids), flush=True)
            time.sleep(0.05)

decode_chunks(texts(), workers=2)
"""


def test_workers_die_with_a_killed_loader(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    if not chunk_pool.can_fork():
        pytest.skip("no fork here")
    repo = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT, repo], stdout=subprocess.PIPE, text=True)
    try:
        kids = json.loads(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGKILL)  # as the app cancels a load
        proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{k}").exists() and
                                              "Z" not in Path(f"/proc/{k}/stat").read_text().split()[2] for k in kids):
        time.sleep(0.05)
    alive = [k for k in kids if Path(f"/proc/{k}").exists() and "Z" not in Path(f"/proc/{k}/stat").read_text().split()[2]]
    assert not alive, f"workers {alive} outlived the loader"


def test_rank_pool_workers_decode_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunk_pool, "_allowed", [True])
    assert chunk_pool.worker_count(1 << 30, cores=2) == (2 if chunk_pool.can_fork() else 1)
    assert chunk_pool.worker_count(1 << 20, cores=2) == 1  # small files never fork
    chunk_pool.disable_workers()  # what each worker of the per-rank pool runs first
    assert not chunk_pool.can_fork() and chunk_pool.worker_count(1 << 30, cores=2) == 1
