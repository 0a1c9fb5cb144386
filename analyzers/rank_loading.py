"""Loading many ranks: one at a time when small, else in a process pool with progress per rank.

A worker process decodes one rank and returns its model (numpy columns,
pickled once across); it then drops its copy, so each rank is held once in
this process and at most ``workers`` ranks are in flight.  The pool uses
``spawn`` (safe from a GUI process with threads) and is only worth its start
(~1 s) for big traces, so small jobs load serially.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

from .chunk_pool import disable_workers
from .gunzip import available_memory_bytes
from .trace_model import TraceModel

ProgressFn = Callable[[str, float], None]
#: below this many bytes on disk in all, the pool's start costs more than it saves
PARALLEL_MIN_BYTES = 48 << 20
#: decoded model bytes per byte of gzip trace on disk (traces inflate ~10-30x; models are ~1/3 of the JSON)
MODEL_BYTES_PER_DISK_BYTE = 12

#: a task: ("bundle", rank, folder, job run.json) or ("file", rank or -1, path, format)
Task = tuple[str, int, str, Any]


def _load_task(task: Task) -> TraceModel:
    """Worker side (also used serially): load one rank."""
    kind, rank, path, extra = task
    if kind == "bundle":
        from .bundle_reader import load_rank
        return load_rank(rank, Path(path), extra)
    from .loader import load_file
    return load_file(Path(path), extra)


def free_cores() -> int:
    """Cores not busy with other work right now (cores minus the 1-minute load average), at least 1."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:  # no load average on this platform
        busy = 0.0
    return max(1, int(cores - busy + 0.5))


def pool_workers(sizes: list[int], cpus: int | None = None, free_bytes: int | None = None) -> int:
    """How many ranks to decode at once: 1 (serial) for small jobs; else bounded by free cores and memory."""
    if len(sizes) < 2 or sum(sizes) < PARALLEL_MIN_BYTES:
        return 1
    cpus = cpus if cpus is not None else free_cores()
    free = free_bytes if free_bytes is not None else available_memory_bytes()
    per_rank = max(sizes) * MODEL_BYTES_PER_DISK_BYTE
    by_memory = max(1, int(free // max(per_rank * 2, 1)))  # worker copy + ours while it travels
    return max(1, min(cpus, len(sizes), by_memory))


def _size(task: Task) -> int:
    kind, _, path, _ = task
    p = Path(path)
    files = [p / "trace.json.gz", p / "trace.json"] if kind == "bundle" else [p]
    return sum(f.stat().st_size for f in files if f.is_file())


def load_tasks(tasks: list[Task], progress: ProgressFn | None = None, workers: int | None = None) -> list[TraceModel]:
    """Load every task (in task order); progress says which rank finished."""
    n = len(tasks)
    workers = pool_workers([_size(t) for t in tasks]) if workers is None else workers
    if workers <= 1:
        out = []
        for i, task in enumerate(tasks):
            out.append(_load_task(task))
            if progress:
                progress(f"rank {_label(task, i)} loaded ({i + 1}/{n})", (i + 1) / n)
        return out
    models: list[TraceModel | None] = [None] * n
    try:
        _pool_load(tasks, models, workers, progress)
    except BrokenProcessPool:  # a worker could not start or died (e.g. no importable __main__): go on here
        pass
    for i, task in enumerate(tasks):
        if models[i] is None:
            models[i] = _load_task(task)
            if progress:
                progress(f"rank {_label(task, i)} loaded", sum(m is not None for m in models) / n)
    return [m for m in models if m is not None]


def _pool_load(tasks: list[Task], models: list[TraceModel | None], workers: int,
               progress: ProgressFn | None) -> None:
    """Fill ``models`` from a spawn pool of ``workers`` processes, reporting each rank as it lands."""
    n = len(tasks)
    # each rank decodes in its own worker process: no chunk pools inside it
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=disable_workers) as pool:
        futures = {pool.submit(_load_task, t): i for i, t in enumerate(tasks)}
        for done, fut in enumerate(as_completed(futures), 1):
            i = futures[fut]
            models[i] = fut.result()  # TraceLoadError (bad input) propagates with the file's name
            if progress:
                progress(f"rank {_label(tasks[i], i)} loaded ({done}/{n})", done / n)


def _label(task: Task, index: int) -> int:
    return task[1] if task[1] >= 0 else index


def load_bundle_ranks(bundle: Path, progress: ProgressFn | None = None) -> list[TraceModel]:
    """Every ``rank-<r>/`` of a multi-rank run bundle, in rank order."""
    from .bundle_reader import rank_folders, read_run_info
    job = read_run_info(bundle)
    return load_tasks([("bundle", r, str(d), job) for r, d in rank_folders(bundle)], progress)
