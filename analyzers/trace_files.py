"""Find the trace files behind a path and read their bytes safely.

A path can be a ``.json`` / ``.json.gz`` file, a TensorBoard log dir
(``plugins/profile/<run>/*.pt.trace.json[.gz]``), a folder of per-rank traces
or a TorchScope run bundle (a folder with ``run.json``).  Reading never
executes anything: bytes in, JSON decoded elsewhere.
"""
from __future__ import annotations

import gzip
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import TraceLoadError

TRACE_SUFFIXES = (".json", ".json.gz")
BUNDLE_MARKER = "run.json"
GZIP_MAGIC = b"\x1f\x8b"
MAX_DECOMPRESSED_BYTES = 64 * 1024**3  # refuse gzip bombs beyond 64 GiB


@dataclass(frozen=True)
class TraceSource:
    """What a path turned out to be: its format and the trace files in rank order."""

    path: Path
    format: str  # 'kineto-json', 'kineto-json.gz', 'tensorboard-logdir', 'rank-folder', 'run-bundle'
    files: tuple[Path, ...]


def _is_trace_file(p: Path) -> bool:
    name = p.name.lower()
    return p.is_file() and name.endswith(TRACE_SUFFIXES) and name != BUNDLE_MARKER


def _rank_key(p: Path) -> tuple[int, str]:
    """Order files by a rank number in their name (rank-3, worker3, _3.), else by name."""
    m = re.search(r"(?:rank|worker)[-_]?(\d+)", p.name, re.IGNORECASE)
    return (int(m.group(1)) if m else 1 << 30, p.name)


def _tensorboard_run_dir(root: Path) -> Path | None:
    """The newest run folder under ``plugins/profile`` that holds traces."""
    profile = root / "plugins" / "profile"
    if not profile.is_dir():
        return None
    runs = [d for d in profile.iterdir() if d.is_dir() and any(_is_trace_file(f) for f in d.iterdir())]
    if not runs:
        return None
    return max(runs, key=lambda d: (d.stat().st_mtime, d.name))


def resolve(path: str | os.PathLike[str]) -> TraceSource:
    """Classify ``path`` and list its trace files; raise TraceLoadError when there are none."""
    p = Path(path)
    if not p.exists():
        raise TraceLoadError(p, "no such file or directory")
    if p.is_file():
        if p.name == BUNDLE_MARKER:
            return resolve(p.parent)
        return TraceSource(p, "kineto-json.gz" if p.name.lower().endswith(".gz") else "kineto-json", (p,))
    if not p.is_dir():
        raise TraceLoadError(p, "not a regular file or directory")
    if (p / BUNDLE_MARKER).is_file():
        trace = [f for f in (p / "trace.json.gz", p / "trace.json") if f.is_file()]
        return TraceSource(p, "run-bundle", tuple(trace[:1]))
    run_dir = _tensorboard_run_dir(p)
    if run_dir is None and p.parent.name == "profile" and p.parent.parent.name == "plugins":
        run_dir = p
    if run_dir is not None:
        files = sorted((f for f in run_dir.iterdir() if _is_trace_file(f)), key=_rank_key)
        return TraceSource(p, "tensorboard-logdir", tuple(files))
    files = sorted((f for f in p.iterdir() if _is_trace_file(f)), key=_rank_key)
    if not files:
        files = sorted((f for f in p.rglob("*") if _is_trace_file(f)), key=_rank_key)
    if not files:
        raise TraceLoadError(p, "folder holds no trace files (*.json, *.json.gz, a TensorBoard log dir or a run bundle)")
    return TraceSource(p, "rank-folder" if len(files) > 1 else
                       ("kineto-json.gz" if files[0].name.lower().endswith(".gz") else "kineto-json"), tuple(files))


def read_trace_bytes(path: Path) -> bytes:
    """The JSON bytes of a trace file, gunzipped when it is gzip (by magic, not by name)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except IsADirectoryError:
        raise TraceLoadError(path, "is a directory, expected a trace file") from None
    except PermissionError:
        raise TraceLoadError(path, "permission denied") from None
    except OSError as exc:
        raise TraceLoadError(path, f"cannot read: {exc.strerror or exc}") from None
    if data[:2] == GZIP_MAGIC:
        data = _gunzip(path, data)
    if not data.strip():
        raise TraceLoadError(path, "file is empty")
    return data


def _gunzip(path: Path, data: bytes) -> bytes:
    try:
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = [dec.decompress(data, MAX_DECOMPRESSED_BYTES)]
        if dec.unconsumed_tail:
            raise TraceLoadError(path, f"gzip expands beyond {MAX_DECOMPRESSED_BYTES >> 30} GiB; refusing")
        out.append(dec.flush())
        if not dec.eof:
            raise TraceLoadError(path, "truncated gzip file (unexpected end of data)")
        # concatenated gzip members (rare) go through the slower stdlib path
        if dec.unused_data:
            return gzip.decompress(data)
        return b"".join(out)
    except (zlib.error, gzip.BadGzipFile, EOFError) as exc:
        raise TraceLoadError(path, f"corrupt gzip data ({exc})") from None
