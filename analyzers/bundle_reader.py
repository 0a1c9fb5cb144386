"""Read TorchScope run bundles: ``run.json`` + ``trace.json.gz`` + ``samples.csv.gz``.

NVML and host samples become counter tracks on the trace's clock.  A failed
run (no trace) still opens: the model is empty and ``run_info`` says why.
"""
from __future__ import annotations

import csv
import gzip
import io
import math
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from .errors import TraceLoadError
from .kineto_decode import RawEvents
from .loader import ProgressFn, build_model, load_file
from .trace_files import BUNDLE_MARKER as RUN_FILE, TraceSource
from .trace_model import CounterTrack, SourceInfo, TraceModel

SAMPLES_FILE = "samples.csv.gz"

#: sample column -> (display name, unit)
SAMPLE_COLUMNS: dict[str, tuple[str, str]] = {
    "gpu_util_pct": ("GPU utilization (NVML)", "%"),
    "mem_used_bytes": ("GPU memory used (NVML)", "B"),
    "sm_clock_mhz": ("SM clock", "MHz"),
    "power_w": ("Power", "W"),
    "temp_c": ("Temperature", "C"),
    "clock_event_reasons": ("Clock event reasons", "bitmask"),
    "pcie_tx_kbps": ("PCIe TX", "KB/s"),
    "pcie_rx_kbps": ("PCIe RX", "KB/s"),
    "host_cpu_pct": ("Host CPU", "%"),
    "host_proc_cpu_pct": ("Workload CPU", "%"),
    "host_rss_bytes": ("Host RSS", "B"),
}


def read_run_info(bundle: Path | str) -> dict[str, Any]:
    """The run.json of a bundle (the folder, or the file itself), validated to be a JSON object."""
    bundle = Path(bundle)
    path = bundle if bundle.suffix == ".json" else bundle / RUN_FILE
    try:
        info = msgspec.json.decode(path.read_bytes())
    except OSError as exc:
        raise TraceLoadError(path, f"cannot read: {exc.strerror or exc}") from None
    except msgspec.DecodeError as exc:
        raise TraceLoadError(path, f"invalid JSON in run.json ({exc})") from None
    if not isinstance(info, dict):
        raise TraceLoadError(path, "run.json is not a JSON object")
    return info


def timed_steps(run_info: dict[str, Any] | None) -> dict[str, Any]:
    """The unprofiled timed steps of a run (``median_ms``, ``mean_ms``, ``count``, ``step_ms`` list); {} if none."""
    block = (run_info or {}).get("timed_steps")
    if not isinstance(block, dict) or block.get("median_ms") is None:
        return {}
    out = {"median_ms": block.get("median_ms"), "mean_ms": block.get("mean_ms"), "count": block.get("count")}
    step_ms = block.get("step_ms")
    if isinstance(step_ms, list):
        out["step_ms"] = [float(v) for v in step_ms if isinstance(v, (int, float))]
    return out


def load_bundle(source: TraceSource, progress: ProgressFn | None = None) -> TraceModel:
    """Load a run bundle folder into one model with its samples and run info."""
    bundle = source.path
    info = read_run_info(bundle)
    if source.files:
        model = load_file(source.files[0], "run-bundle", progress)
        model.source = SourceInfo(str(bundle), "run-bundle", model.source.schema)
    else:
        model = build_model(RawEvents.empty(), SourceInfo(str(bundle), "run-bundle"))
        status = info.get("status", "unknown")
        model.warnings.append(f"run bundle holds no trace (status: {status}; error: {info.get('error') or 'none'})")
    model.run_info = info
    samples = bundle / SAMPLES_FILE
    if samples.is_file():
        try:
            model.counters.extend(read_samples(samples, model.origin_abs_ns))
        except TraceLoadError as exc:
            model.warnings.append(str(exc))
    return model


def rank_folders(bundle: Path) -> list[tuple[int, Path]]:
    """(rank, folder) of a multi-rank bundle's ``rank-<r>/`` folders (each a one-rank bundle), by rank."""
    out = []
    for d in bundle.glob("rank-*"):
        tail = d.name[len("rank-"):]
        if tail.isdigit() and (d / RUN_FILE).is_file():
            out.append((int(tail), d))
    return sorted(out)


#: what a rank's model learns from the job's run.json
JOB_KEYS = ("distributed", "status", "error", "failed_rank")


def rank_source(folder: Path) -> TraceSource:
    """The one-rank bundle in ``folder`` as a trace source."""
    trace = [f for f in (folder / "trace.json.gz", folder / "trace.json") if f.is_file()]
    return TraceSource(folder, "run-bundle", tuple(trace[:1]))


def load_rank(rank: int, folder: Path, job: dict[str, Any], progress: ProgressFn | None = None) -> TraceModel:
    """Load rank ``rank`` of a multi-rank bundle; ``run_info["job"]`` holds the job's status and launch."""
    model = load_bundle(rank_source(folder), progress)
    model.rank = rank
    world = (job.get("distributed") or {}).get("world_size")
    model.world_size = world if isinstance(world, int) else model.world_size
    model.run_info = {**(model.run_info or {}), "job": {k: job.get(k) for k in JOB_KEYS}}
    return model


def read_samples(path: Path, origin_abs_ns: int | None) -> list[CounterTrack]:
    """Counter tracks from samples.csv.gz (absolute epoch ns -> trace-relative ns)."""
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise TraceLoadError(path, f"unreadable samples ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "time_ns" not in reader.fieldnames:
        raise TraceLoadError(path, "samples file has no time_ns column")
    series: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
    for row in reader:
        try:
            t_abs = int(row["time_ns"])
        except (TypeError, ValueError):
            continue
        t_rel = t_abs - origin_abs_ns if origin_abs_ns is not None else t_abs
        source = (row.get("source") or "host").strip()
        for col in SAMPLE_COLUMNS:
            cell = row.get(col)
            if not cell:
                continue
            try:
                value = float(cell)
            except ValueError:
                continue
            if math.isfinite(value):
                ts, vals = series.setdefault((source, col), ([], []))
                ts.append(t_rel)
                vals.append(value)
    tracks = []
    for (source, col), (ts, vals) in sorted(series.items()):
        label, unit = SAMPLE_COLUMNS[col]
        device = int(source[3:]) if source.startswith("gpu") and source[3:].isdigit() else -1
        name = f"GPU {device} {label}" if device >= 0 else label
        tracks.append(CounterTrack(name, unit, np.asarray(ts, dtype=np.int64), np.asarray(vals, dtype=np.float64),
                                   device=device, source="samples"))
    return tracks


def timed_step_ms(info: dict[str, Any] | None) -> list[float]:
    """Unprofiled timed-step times of a run bundle (run.json ``timed_steps.step_ms``), else []."""
    return list(timed_steps(info).get("step_ms") or [])


def rerun_spec(info: dict[str, Any] | None) -> tuple[str, list[str], dict[str, Any], dict[str, Any]]:
    """(workload, workload args, settings, run kwargs) to run a bundle's workload again as it was run."""
    info = info or {}
    loop = info.get("loop") if isinstance(info.get("loop"), dict) else {}
    kwargs: dict[str, Any] = {k: loop[k] for k in ("warmup_steps", "profile_steps", "timed_steps")
                              if isinstance(loop.get(k), int)}
    if info.get("device") in ("cpu", "cuda"):
        kwargs["device"] = info["device"]
    dist = info.get("distributed") or (info.get("job") or {}).get("distributed") or {}
    if isinstance(dist, dict) and isinstance(dist.get("world_size"), int) and dist["world_size"] > 1:
        kwargs["nproc_per_node"] = dist["world_size"]  # one rank of a torchrun job: rerun the whole job
    return (str(info.get("workload")), [str(x) for x in info.get("workload_args") or []],
            dict(info.get("settings") or {}), kwargs)
