"""Find the trace files behind a path and read their bytes safely.

A path can be a ``.json`` / ``.json.gz`` file, a TensorBoard log dir
(``plugins/profile/<run>/*.pt.trace.json[.gz]``), a folder of per-rank traces
or a TorchScope run bundle (a folder with ``run.json``).  Reading never
executes anything: bytes in, JSON decoded elsewhere.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import TraceLoadError
from .gunzip import (DEFAULT_LIMITS, GZIP_MAGIC, GunzipLimits, available_memory_bytes, first_non_space,
                     gunzip_blocks, size_text)

TRACE_SUFFIXES = (".json", ".json.gz")
BUNDLE_MARKER = "run.json"


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


def read_trace_bytes(path: Path, limits: GunzipLimits = DEFAULT_LIMITS) -> bytes | bytearray:
    """The JSON bytes of a trace file, gunzipped (streamed, bounded) when it is gzip (by magic, not by name)."""
    out: bytes | bytearray = b""
    for block in TraceBlocks(path, limits, block_bytes=None):
        if not out:
            out = block
        else:
            if not isinstance(out, bytearray):
                out = bytearray(out)
            out += block
    if not first_non_space(out):
        raise TraceLoadError(path, "file is empty")
    return out


class TraceBlocks:
    """The JSON text of a trace file as an iterable of blocks (gunzipped, streamed and bounded, when gzip).

    Same checks and one-line errors as ``read_trace_bytes``, without holding the whole text.
    """

    def __init__(self, path: Path, limits: GunzipLimits = DEFAULT_LIMITS, block_bytes: int | None = 16 << 20) -> None:
        self.path, self.limits, self.block_bytes = path, limits, block_bytes
        self.read_bytes = [0]  # bytes of the file consumed so far
        self.file_bytes = 0

    def fraction_read(self) -> float:
        return min(1.0, self.read_bytes[0] / self.file_bytes) if self.file_bytes else 0.0

    def __iter__(self) -> Iterator[bytes]:
        path = self.path
        try:
            with open(path, "rb") as fh:
                self.file_bytes = os.fstat(fh.fileno()).st_size
                if fh.read(2) == GZIP_MAGIC:
                    fh.seek(0)
                    yield from gunzip_blocks(path, fh, self.limits, self.read_bytes)
                    return
                fh.seek(0)
                _check_plain_size(path, self.file_bytes, self.limits)
                while block := (fh.read(self.block_bytes) if self.block_bytes else fh.read()):
                    self.read_bytes[0] += len(block)
                    yield block
        except IsADirectoryError:
            raise TraceLoadError(path, "is a directory, expected a trace file") from None
        except PermissionError:
            raise TraceLoadError(path, "permission denied") from None
        except OSError as exc:
            raise TraceLoadError(path, f"cannot read: {exc.strerror or exc}") from None


def _check_plain_size(path: Path, size_bytes: int, limits: GunzipLimits) -> None:
    """Refuse an uncompressed file larger than the memory available."""
    max_bytes = limits.max_bytes if limits.max_bytes is not None else available_memory_bytes()
    if size_bytes > max_bytes:
        raise TraceLoadError(path, f"file of {size_text(size_bytes)} is larger than the "
                                   f"{size_text(max_bytes)} of memory available; refusing")
