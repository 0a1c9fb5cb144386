"""Load + analyze a big trace in a child process so the GUI's event loop never waits on the GIL.

Parsing (msgspec) and pandas/numpy analysis hold the GIL for seconds on a
1M-event trace, which would freeze the window even from a worker thread.
For large inputs the worker thread instead runs ``python -m
profiler_gui.isolated_load PATH OUTDIR`` and relays its progress; the child
pickles the :class:`~profiler_gui.analysis.Opened` session (warmed) with protocol 5 and out-of-band buffers (the
per-row args are packed into one blob first), so the parent rebuilds it with
a few memcpy-free steps.  Cancel kills the child.  No Qt here.

The trace file itself is only ever parsed as JSON (in the child).  The pickle
stream travels between our own two processes through a private temporary
folder, and the parent reads it with :class:`_AnalysisUnpickler`, which only
resolves the classes an Analysis is made of (numpy, pandas, our dataclasses).
"""
from __future__ import annotations

import io
import json
import os
import pickle
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable

import numpy as np

from .analysis import Cancelled, Opened
from .analysis import load_session as load_and_analyze


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: inputs larger than this (uncompressed estimate, bytes) load in a child process
THRESHOLD_BYTES = int(os.environ.get("TORCHSCOPE_ISOLATE_BYTES", str(48 * 2**20)))


_SAFE_BUILTINS = frozenset({"dict", "list", "tuple", "set", "frozenset", "slice", "complex", "bytearray",
                            "bytes", "range", "float", "int", "str", "bool", "object", "getattr"})
_SAFE_ROOTS = frozenset({"numpy", "pandas", "analyzers", "collections", "copyreg", "datetime", "enum", "_codecs",
                         "msgspec"})
_SAFE_MODULES = frozenset({"profiler_gui.analysis", "profiler_gui.isolated_load", "profiler_gui.timeline.data"})


class _AnalysisUnpickler(pickle.Unpickler):
    """Resolves only the classes an Analysis holds; anything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins":
            allowed = name in _SAFE_BUILTINS
        else:
            allowed = module in _SAFE_MODULES or module.split(".")[0] in _SAFE_ROOTS
        if not allowed:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the loader process")
        return super().find_class(module, name)


class PackedArgs:
    """Per-row raw args as one bytes blob + offsets; indexes like the original object array."""

    def __init__(self, blob: bytes, offsets: np.ndarray, present: np.ndarray) -> None:
        self.blob = blob
        self.offsets = offsets  # int64, len n + 1
        self.present = present  # bool, False where the row had no args (None)

    @classmethod
    def pack(cls, values: Any) -> "PackedArgs":
        n = len(values)
        present = np.fromiter((v is not None for v in values), dtype=bool, count=n)
        parts = [bytes(v) if v is not None else b"" for v in values]
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=n)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(b"".join(parts), offsets, present)

    def __len__(self) -> int:
        return len(self.present)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            i = int(index)
            if i < 0:
                i += len(self)
            if not self.present[i]:
                return None
            return self.blob[self.offsets[i]:self.offsets[i + 1]]
        idx = np.arange(len(self))[index]
        return np.array([self[int(i)] for i in idx], dtype=object)

    def __iter__(self):
        return (self[i] for i in range(len(self)))


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
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from profiler_gui.isolated_load import _child; "
                             "raise SystemExit(_child(sys.argv[1], sys.argv[2]))", path, out_dir],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                            cwd=REPO_ROOT)
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
        buffers = []
        for i in range(int(result["buffers"])):
            if cancel.is_set():
                raise Cancelled()
            fname = os.path.join(out_dir, f"buf{i}.bin")
            buf = bytearray(os.path.getsize(fname))
            with open(fname, "rb", buffering=0) as fh:
                fh.readinto(buf)  # the read releases the GIL
            buffers.append(buf)
            time.sleep(0)
        with open(os.path.join(out_dir, "main.pkl"), "rb") as fh:
            head = fh.read()
        analysis: Opened = _AnalysisUnpickler(io.BytesIO(head), buffers=buffers).load()
        progress("done", 1.0)
        return analysis
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
    return load_and_analyze(path, progress, cancel)


# ----------------------------------------------------------------------------- child side
def _prepare(a: Opened) -> None:
    for m in a.session.models:
        m.__dict__.pop("names", None)  # object array: rebuilt lazily in the parent
        m.__dict__.pop("_string_index", None)
        m.__dict__.pop("_torchscope_cache", None)
        if not isinstance(m.args_raw, PackedArgs):
            m.args_raw = PackedArgs.pack(m.args_raw)


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
        a = load_and_analyze(path, progress)
        progress("sending the analysis", 1.0)
        _prepare(a)
        buffers: list[pickle.PickleBuffer] = []
        head = pickle.dumps(a, protocol=5, buffer_callback=buffers.append)
        for i, b in enumerate(buffers):
            with open(os.path.join(out_dir, f"buf{i}.bin"), "wb") as fh:
                fh.write(b.raw())
        with open(os.path.join(out_dir, "main.pkl"), "wb") as fh:
            fh.write(head)
        emit({"event": "done", "buffers": len(buffers)})
    except TraceLoadError as exc:
        emit({"event": "error", "kind": "TraceLoadError", "message": str(exc), "path": exc.path, "problem": exc.problem})
    except Exception as exc:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        emit({"event": "error", "kind": type(exc).__name__, "message": " ".join(str(exc).split())})
    return 0

