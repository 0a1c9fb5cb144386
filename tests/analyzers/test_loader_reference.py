"""Every reference trace opens; the model's counts agree with an independent stdlib parse."""
from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from analyzers.categories import Kind
from analyzers.loader import load_trace, load_traces
from tests.conftest import reference_path

SINGLE_FILES = [
    "hta_alexnet_a100.json.gz", "hta_amd_mi250_rocm.json.gz", "hta_cpu_only.pt.trace.json.gz",
    "hta_nccl_a100.json.gz", "hta_simple_add_a100.json.gz", "hta_triton_a100.json.gz",
    "hta_v100_68k_events.pt.trace.json.gz", "tb_resnet50_num_workers_0.pt.trace.json.gz",
    "tb_resnet50_num_workers_4.pt.trace.json.gz",
]
GPU_CATS = {"kernel": Kind.KERNEL, "Kernel": Kind.KERNEL, "gpu_memcpy": Kind.MEMCPY, "Memcpy": Kind.MEMCPY,
            "gpu_memset": Kind.MEMSET, "Memset": Kind.MEMSET}


def _stdlib_events(path: Path) -> list[dict]:
    doc = json.loads(gzip.decompress(path.read_bytes()))
    return doc["traceEvents"] if isinstance(doc, dict) else doc


@pytest.mark.parametrize("name", SINGLE_FILES)
def test_reference_trace_counts_match_stdlib_parse(name: str) -> None:
    path = reference_path(name)
    events = _stdlib_events(path)
    model = load_trace(path)
    complete = [e for e in events if e.get("ph") == "X"]
    assert model.raw_event_count == len(events)
    assert len(model) == len(complete)
    by_cat = Counter(GPU_CATS[e["cat"]] for e in complete if e.get("cat") in GPU_CATS)
    kinds = Counter(int(k) for k in model.kind)
    for kind, count in by_cat.items():
        assert kinds[int(kind)] == count, kind
    # times: relative, non-negative, and the longest slice keeps its exact duration
    assert model.start_ns.min() == 0
    longest = max(complete, key=lambda e: e.get("dur", 0))
    assert int(model.dur_ns.max()) == round(longest["dur"] * 1000)
    # the slices are sorted by start and every track is known
    assert np.all(np.diff(model.start_ns) >= 0)
    assert model.track_id.max() < len(model.tracks)
    memory = [e for e in events if e.get("name") == "[memory]"]
    assert len(model.memory) == len(memory)


def test_resnet_old_schema_facts() -> None:
    model = load_trace(reference_path("tb_resnet50_num_workers_0.pt.trace.json.gz"))
    assert model.source.schema == "old"
    assert model.vendor == "nvidia"
    assert model.gpu_devices == [0]
    assert model.device_property(0)["numSms"] == 80
    # every GPU op of this trace has its launching runtime call: one launch flow each
    gpu_ops = np.isin(model.kind, [Kind.KERNEL, Kind.MEMCPY, Kind.MEMSET]).sum()
    assert len(model.flows) == gpu_ops == 8772 + 12 + 312
    src, dst = model.flows.src_row, model.flows.dst_row
    assert np.all(model.correlation[src] == model.correlation[dst])
    assert np.all(model.kind[src] == Kind.RUNTIME)
    # kernel args are columns
    kernels = model.rows_of_kind(Kind.KERNEL)
    assert np.isfinite(model.blocks_per_sm[kernels]).all()
    assert (model.grid_blocks[kernels] > 0).all()
    steps = model.rows_named("ProfilerStep#")
    assert len(steps) > 0 and all(model.depth[steps] == 0)


def test_v100_new_schema_flows_and_nesting() -> None:
    path = reference_path("hta_v100_68k_events.pt.trace.json.gz")
    events = _stdlib_events(path)
    model = load_trace(path)
    assert model.source.schema == "new"
    fwdbwd_ids = Counter(e["id"] for e in events if e.get("cat") == "fwdbwd")
    pairs = sum(1 for c in fwdbwd_ids.values() if c == 2)
    assert int((model.flows.kind == 1).sum()) == pairs
    # a child op starts inside its parent: depth > 0 slices have an enclosing slice on the same track
    rows = np.flatnonzero(model.depth == 2)[:50]
    for r in rows:
        same = np.flatnonzero((model.track_id == model.track_id[r]) & (model.depth == 1))
        assert np.any((model.start_ns[same] <= model.start_ns[r]) & (model.end_ns[same] >= model.end_ns[r]))
    # args are kept lazily and decode on demand
    op = int(model.rows_of_kind(Kind.CPU_OP)[0])
    assert "External id" in model.args(op)


def test_amd_trace_is_amd_with_hex_args_tolerated() -> None:
    model = load_trace(reference_path("hta_amd_mi250_rocm.json.gz"))
    assert model.vendor == "amd"
    assert model.gpu_devices == [2]
    assert model.warnings == []  # '0x0' streams are numbers, not errors


def test_cpu_only_trace_has_no_gpu() -> None:
    model = load_trace(reference_path("hta_cpu_only.pt.trace.json.gz"))
    assert not model.has_gpu and model.vendor == "cpu"
    assert model.rank == 34 and model.world_size == 300
    assert "pg_config" not in model.metadata.get("distributedInfo", {})


def test_two_rank_folder_gives_two_models_in_rank_order() -> None:
    models = load_traces(reference_path("hta_two_ranks"))
    assert [m.rank for m in models] == [0, 1]
    assert all(m.world_size == 128 for m in models)
    assert all(m.source.format == "rank-folder" for m in models)


def test_tensorboard_logdir_layout(tmp_path: Path) -> None:
    src = reference_path("hta_triton_a100.json.gz")
    run = tmp_path / "plugins" / "profile" / "run1"
    run.mkdir(parents=True)
    (run / "host_1.pt.trace.json.gz").write_bytes(src.read_bytes())
    models = load_traces(tmp_path)
    assert len(models) == 1 and models[0].source.format == "tensorboard-logdir"
    assert models[0].summary()["kernels"] == 1
