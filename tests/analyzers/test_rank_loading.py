"""Loading many ranks: a process pool for big traces (same models as serial), progress per rank, bounded workers."""
from __future__ import annotations

import numpy as np
import pytest

from analyzers.rank_loading import MODEL_BYTES_PER_DISK_BYTE, PARALLEL_MIN_BYTES, load_tasks, pool_workers
from tests.conftest import reference_path

MB = 1 << 20


def test_small_jobs_load_serially() -> None:
    assert pool_workers([MB, MB], cpus=8, free_bytes=1 << 40) == 1
    assert pool_workers([PARALLEL_MIN_BYTES], cpus=8, free_bytes=1 << 40) == 1  # one rank


def test_workers_bounded_by_cores_ranks_and_memory() -> None:
    sizes = [100 * MB] * 6
    assert pool_workers(sizes, cpus=4, free_bytes=1 << 40) == 4
    assert pool_workers(sizes[:3], cpus=16, free_bytes=1 << 40) == 3
    per_rank = 100 * MB * MODEL_BYTES_PER_DISK_BYTE
    # room for two ranks in flight (each: the worker's copy and ours while it travels)
    assert pool_workers(sizes, cpus=16, free_bytes=4 * per_rank + 1) == 2
    assert pool_workers(sizes, cpus=16, free_bytes=per_rank) == 1


def test_pool_gives_the_serial_models_with_progress_per_rank() -> None:
    files = sorted(reference_path("hta_two_ranks").glob("rank-*.json.gz"))
    tasks = [("file", -1, str(f), "kineto-json.gz") for f in files]
    serial = load_tasks(tasks, workers=1)
    events: list[tuple[str, float]] = []
    pooled = load_tasks(tasks, lambda phase, frac: events.append((phase, frac)), workers=2)
    assert [m.rank for m in pooled] == [m.rank for m in serial] == [0, 1]
    for a, b in zip(serial, pooled):
        assert len(a) == len(b) and a.strings == b.strings
        for col in ("start_ns", "dur_ns", "name_id", "kind", "track_id"):
            assert np.array_equal(getattr(a, col), getattr(b, col)), col
        assert a.origin_abs_ns == b.origin_abs_ns
    assert sorted(p.split(" loaded")[0] for p, _ in events) == ["rank 0", "rank 1"]
    assert sorted(f for _, f in events) == pytest.approx([0.5, 1.0])
