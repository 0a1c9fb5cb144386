"""Run bundles on disk: atomic creation, unique names, run.json and samples.csv.gz.

A bundle is a folder with ``run.json``, ``samples.csv.gz`` and (when the
profiled window completed) ``trace.json.gz``.  It is written under
``.NAME.partial-<pid>-<n>`` in the destination folder and renamed when
complete; an existing bundle is never overwritten (``NAME-2``, ``NAME-3``...).
"""
from __future__ import annotations

import csv
import errno
import gzip
import io
import itertools
import json
import os
import time
from typing import Any, Iterable, Mapping

from analyzers.bundle_reader import read_run_info
from analyzers.trace_files import BUNDLE_MARKER

SCHEMA_VERSION = 1
KIND = "torchscope-run"
RUN_JSON = BUNDLE_MARKER  # one name for the file, shared with the reader
TRACE = "trace.json.gz"
SAMPLES = "samples.csv.gz"
LOG = "log.txt"
SAMPLE_COLUMNS = ("time_ns", "source", "gpu_util_pct", "mem_used_bytes", "mem_total_bytes",
                  "sm_clock_mhz", "power_w", "temp_c", "clock_event_reasons", "pcie_tx_kbps",
                  "pcie_rx_kbps", "host_cpu_pct", "host_proc_cpu_pct", "host_rss_bytes")
STATUSES = ("ok", "failed", "timeout", "cancelled")

_partial_counter = itertools.count(1)


def default_name(workload_name: str) -> str:
    """``<workload>-<YYYYmmdd-HHMMSS>`` in local time."""
    return f"{workload_name}-{time.strftime('%Y%m%d-%H%M%S')}"


def make_partial(parent: str, name: str) -> str:
    """Create and return an empty temporary bundle folder next to where ``name`` will go."""
    os.makedirs(parent, exist_ok=True)
    while True:
        path = os.path.join(parent, f".{name}.partial-{os.getpid()}-{next(_partial_counter)}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue


def finalize(partial: str, name: str) -> str:
    """Rename ``partial`` to ``name`` (or ``name-2``, ``name-3``...) in its folder; return the path.

    Never replaces an existing file or folder.
    """
    parent = os.path.dirname(os.path.abspath(partial))
    for n in itertools.count(1):
        target = os.path.join(parent, name if n == 1 else f"{name}-{n}")
        if os.path.lexists(target):
            continue
        try:
            os.rename(partial, target)
            return target
        except OSError as exc:  # lost a race: the name appeared meanwhile
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR):
                continue
            raise
    raise AssertionError("unreachable")


def write_json_atomic(path: str, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` via a temporary file and os.replace."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)


def read_run(bundle: str) -> dict[str, Any]:
    """Read a bundle's run.json (``bundle`` may be the folder or the file): the analyzers' one reader."""
    return read_run_info(bundle)


def step_stats(step_ms: list[float]) -> dict[str, Any]:
    """The ``timed_steps`` block of run.json."""
    xs = sorted(float(x) for x in step_ms)
    n = len(xs)
    if n == 0:
        return {"step_ms": [], "median_ms": None, "mean_ms": None, "count": 0}
    mid = n // 2
    median = xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2.0
    return {"step_ms": [round(float(x), 6) for x in step_ms], "median_ms": median,
            "mean_ms": sum(xs) / n, "count": n}


def new_run_record(workload: str, workload_args: list[str], settings: Mapping[str, Any],
                   device: str, **extra: Any) -> dict[str, Any]:
    """A run.json dict with every contract key present (status 'running' until finished)."""
    rec: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "workload": workload,
        "workload_args": list(workload_args),
        "settings": dict(settings),
        "device": device,
        "env": {},
        "timed_steps": step_stats([]),
        "status": "running",
        "error": None,
        "created_unix": time.time(),
        "nvml": "not sampled",
    }
    rec.update(extra)
    return rec


def write_samples(path: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write sample rows (dicts keyed by SAMPLE_COLUMNS) as gzip CSV with a header; return the count."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SAMPLE_COLUMNS)
    count = 0
    for row in sorted(rows, key=lambda r: r["time_ns"]):
        writer.writerow(["" if row.get(c) is None else row[c] for c in SAMPLE_COLUMNS])
        count += 1
    tmp = f"{path}.tmp-{os.getpid()}"
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as fh:
        fh.write(buf.getvalue())
    os.replace(tmp, path)
    return count


def read_samples(bundle: str) -> list[dict[str, str]]:
    """Read a bundle's samples.csv.gz into a list of dicts of strings (for tests and tools)."""
    with gzip.open(os.path.join(bundle, SAMPLES), "rt", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
