"""Streamed, bounded gunzip: bombs refused early with sizes named; real traces still open.

The files are small and the limits scaled down to match (the 2 GB bombs are
measured by benchmarks/bench_bombs.py).
"""
from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest

from analyzers.errors import TraceLoadError
from analyzers.gunzip import GunzipLimits, first_non_space, size_text
from analyzers.loader import load_trace
from analyzers.trace_files import read_trace_bytes

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference_traces"
#: 1/8192 of the real limits: chunks of 128 B, steps of 2 KB, ratio judged after 8 KB
SCALED = GunzipLimits(chunk_bytes=128, step_bytes=2048, ratio_after_bytes=8192)
BOMB_BYTES = 16 << 20  # 2 GB / 128


def _bomb(path: Path, head: bytes, fill: bytes, total: int = BOMB_BYTES) -> Path:
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    path.write_bytes(comp.compress(head + fill * (total - len(head))) + comp.flush())
    return path


class _Watch:
    """Records the most output a check saw: the decompression stopped at that size."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import analyzers.gunzip as gz
        self.largest = 0
        original = gz._Bounds.check

        def check(bounds, block, n_out, consumed):  # type: ignore[no-untyped-def]
            self.largest = max(self.largest, n_out)
            return original(bounds, block, n_out, consumed)
        monkeypatch.setattr(gz._Bounds, "check", check)


def test_zeros_bomb_refused_after_first_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _bomb(tmp_path / "zeros.json.gz", b"", b"\0")
    watch = _Watch(monkeypatch)
    with pytest.raises(TraceLoadError) as err:
        read_trace_bytes(path, SCALED)
    assert "not a trace" in str(err.value) and "b'\\x00'" in str(err.value)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert watch.largest <= SCALED.step_bytes


def test_spaces_bomb_inside_json_header_refused_on_ratio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _bomb(tmp_path / "spaces.json.gz", b'{"traceEvents": [', b" ")
    watch = _Watch(monkeypatch)
    with pytest.raises(TraceLoadError) as err:
        read_trace_bytes(path, SCALED)
    msg = str(err.value)
    assert "gzip bomb" in msg and "x (" in msg and size_text(path.stat().st_size) in msg and "\n" not in msg
    assert watch.largest <= 2 * SCALED.ratio_after_bytes  # of a 16 MB bomb


def test_output_beyond_memory_refused_with_sizes(tmp_path: Path) -> None:
    doc = {"traceEvents": [{"ph": "X", "name": f"op{i}", "ts": i, "dur": 1, "pid": 1, "tid": 1} for i in range(5000)]}
    data = json.dumps(doc).encode()
    path = tmp_path / "t.json.gz"
    path.write_bytes(gzip.compress(data))
    limits = GunzipLimits(chunk_bytes=128, step_bytes=2048, max_bytes=len(data) // 2)
    with pytest.raises(TraceLoadError) as err:
        read_trace_bytes(path, limits)
    assert "memory available" in str(err.value) and size_text(len(data) // 2) in str(err.value)
    assert "says it expands to" in str(err.value)  # the gzip trailer already tells, before inflating
    # a trailer that lies (mod 4 GiB) is caught while streaming
    lying = bytearray(path.read_bytes())
    lying[-4:] = (1).to_bytes(4, "little")
    path.write_bytes(bytes(lying))
    with pytest.raises(TraceLoadError, match="expands beyond .* memory available"):
        read_trace_bytes(path, limits)


def test_plain_file_beyond_memory_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(b'{"traceEvents": []}' + b" " * 4096)
    with pytest.raises(TraceLoadError, match="larger than the 1.0 KB of memory available"):
        read_trace_bytes(path, GunzipLimits(max_bytes=1000))


def test_streamed_equals_gzip_module_including_members(tmp_path: Path) -> None:
    doc = {"traceEvents": [{"ph": "X", "name": f"op{i % 7}", "ts": i, "dur": 1, "pid": 1, "tid": 1}
                           for i in range(3000)]}
    data = json.dumps(doc).encode()
    path = tmp_path / "m.json.gz"
    path.write_bytes(gzip.compress(data[:1000]) + gzip.compress(data[1000:]) + b"\0" * 8)
    assert bytes(read_trace_bytes(path, SCALED)) == data


def test_leading_spaces_then_trace_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "s.json.gz"
    path.write_bytes(gzip.compress(b" \n" * 3000 + b'{"traceEvents": []}'))
    assert first_non_space(read_trace_bytes(path, SCALED)) == b"{"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="reference traces not available")
def test_reference_traces_pass_scaled_ratio_limit() -> None:
    """Every real trace compresses well within the ratio limit, even judged after 8 KB."""
    files = sorted(REFERENCE.rglob("*.gz"))
    assert files
    for f in files:
        assert read_trace_bytes(f, SCALED) == gzip.decompress(f.read_bytes()), f.name
    assert len(load_trace(files[0])) > 0
