"""Load + analyze a big trace in a child process so the GUI's event loop never waits on the GIL.

Parsing (msgspec) and pandas/numpy analysis hold the GIL for seconds on a
1M-event trace, which would freeze the window even from a worker thread.
For large inputs the worker thread instead runs ``python -m
profiler_gui.isolated_load PATH OUTDIR`` and relays its progress; the child
(the per-row args packed into one blob first) writes what it analysed (:class:`Handover`: the models,
the shown rank's computed analyses and timeline pyramids) as ``.npy`` columns +
a JSON manifest (:mod:`profiler_gui.columnar_store`) into a private temporary
folder, and the parent maps the big columns with ``numpy.load(mmap_mode="r")``:
one copy of a 1 GB trace's columns, nothing unpickled.  Cancel kills the child.
No Qt here.  The trace file itself is only ever parsed as JSON (in the child).
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from analyzers.paths import PROJECT_ROOT, child_env

from .analysis import Cancelled, Opened, load_session
from .columnar_store import PackedBytes, read_store, write_store

#: inputs larger than this (uncompressed estimate, bytes) load in a child process
THRESHOLD_BYTES = int(os.environ.get("TORCHSCOPE_ISOLATE_BYTES", str(48 * 2**20)))


#: the per-row raw args travel as one blob + offsets (kept under its old name for callers)
PackedArgs = PackedBytes


@dataclass
class Handover:
    """What the loader process hands back: the models, the shown rank's computed analyses, its pyramids."""

    path: str
    models: list[Any]
    rank: int
    pyramids: dict[int, Any]
    values: dict[str, Any]  # the shown rank's memo values that the store can carry
    errors: dict[str, list[str]]  # memo key -> [analysis, message]
    counts: dict[str, int]


def _handover(opened: Opened) -> Handover:
    """The store carries arrays, tables and our dataclasses: analyses of other shapes are recomputed on demand."""
    memo = opened.session.rank(opened.rank).memo
    # rule facts and the HTA view (it holds the model): rebuilt lazily if asked
    values = {k: v for k, v in memo.values.items() if k not in ("facts", "hta_view")}
    return Handover(opened.path, opened.session.models, opened.rank, opened.pyramids, values,
                    {k: [e.analysis, e.message] for k, e in memo.errors.items()},
                    {k: int(v) for k, v in memo.counts.items() if k in values or k in memo.errors})


def _opened(h: Handover) -> Opened:
    """The parent's Opened, its rank's memo filled with the child's results (each still computed once)."""
    from analyzers.errors import AnalysisError
    from analyzers.session import AnalysisSession

    session = AnalysisSession(list(h.models), h.path)
    memo = session.rank(h.rank).memo
    memo.values.update(h.values)
    memo.counts.update(h.counts)
    for key, (analysis, message) in h.errors.items():
        err = AnalysisError(analysis, Exception())
        err.message, err.args = message, (f"{analysis} could not be computed: {message}",)
        memo.errors[key] = err
    return Opened(session, h.rank, dict(h.pyramids))


def estimated_size(path: str) -> int:
    """Rough uncompressed size of what ``path`` holds (gz counted x6)."""
    def one(p: str) -> int:
        try:
            size = os.path.getsize(p)
        except OSError:
            return 0
        return size * 6 if p.endswith(".gz") else size
    if os.path.isfile(path):
        return one(path)
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            if f.endswith((".json", ".json.gz", ".gz")):
                total += one(os.path.join(dirpath, f))
        if total > THRESHOLD_BYTES:
            break
    return total


def should_isolate(path: str) -> bool:
    return estimated_size(path) > THRESHOLD_BYTES


# ----------------------------------------------------------------------------- parent side
def load_isolated(path: str, progress: Callable[[str, float], None], cancel: threading.Event) -> Opened:
    from analyzers.errors import TraceLoadError

    out_dir = tempfile.mkdtemp(prefix="torchscope-load-")
    env = child_env()
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from profiler_gui.isolated_load import _child; "
                             "raise SystemExit(_child(sys.argv[1], sys.argv[2]))", path, out_dir],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                            cwd=PROJECT_ROOT)
    try:
        pending = b""
        result: dict[str, Any] | None = None
        fd = proc.stdout.fileno()
        while True:
            if cancel.is_set():
                raise Cancelled()
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                data = os.read(fd, 65536)
                if not data:
                    break
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    try:
                        msg = json.loads(line)
                    except ValueError:
                        continue
                    if msg.get("event") == "progress":
                        progress(str(msg["phase"]), float(msg["fraction"]) * 0.95)
                    else:
                        result = msg
        proc.wait()
        if result is None:
            err = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(f"the loader process exited with code {proc.returncode}: "
                               f"{err[-1] if err else 'no output'}")
        if result["event"] == "error":
            if result["kind"] == "TraceLoadError":
                raise TraceLoadError(result.get("path", path), result.get("problem", result["message"]))
            if result["kind"] == "Cancelled":
                raise Cancelled()
            raise RuntimeError(f"{result['kind']}: {result['message']}")
        progress("receiving the analysis", 0.96)
        handed = read_store(out_dir)
        if not isinstance(handed, Handover):
            raise RuntimeError(f"the loader process handed over a {type(handed).__name__}, not a Handover")
        progress("done", 1.0)
        return _opened(handed)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        shutil.rmtree(out_dir, ignore_errors=True)


def load_and_analyze_auto(path: str, progress: Callable[[str, float], None], cancel: threading.Event) -> Opened:
    """In a child process for big inputs, in this (worker) thread otherwise."""
    if should_isolate(path):
        return load_isolated(path, progress, cancel)
    return load_session(path, progress, cancel)


# ----------------------------------------------------------------------------- child side
def _prepare(models: list[Any]) -> None:
    for m in models:
        m.__dict__.pop("names", None)  # object array: rebuilt lazily in the parent
        m.__dict__.pop("_string_index", None)
        if not isinstance(m.args_raw, PackedBytes):
            m.args_raw = PackedBytes.pack(m.args_raw)


def _child(path: str, out_dir: str) -> int:
    def emit(msg: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    last = [0.0]

    def progress(phase: str, frac: float) -> None:
        now = time.monotonic()
        if now - last[0] > 0.1 or frac >= 1.0:
            last[0] = now
            emit({"event": "progress", "phase": phase, "fraction": frac})

    from analyzers.errors import TraceLoadError

    try:
        opened = load_session(path, progress)
        progress("sending the analysis", 1.0)
        _prepare(opened.session.models)
        n_files = write_store(_handover(opened), out_dir)
        emit({"event": "done", "files": n_files})
    except TraceLoadError as exc:
        emit({"event": "error", "kind": "TraceLoadError", "message": str(exc), "path": exc.path, "problem": exc.problem})
    except Exception as exc:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        emit({"event": "error", "kind": type(exc).__name__, "message": " ".join(str(exc).split())})
    return 0

