"""Real runs of the built-in workloads on CPU: bundle contents, progress, knobs applied."""
from __future__ import annotations

import gzip
import os

import pytest
from collector_helpers import FAST, leftovers, load_run, load_trace

from collectors import bundle
from collectors.runner import nvidia_gpu_present, run_workload

RUN_KEYS = ("schema_version", "kind", "workload", "workload_args", "settings", "device", "env",
            "timed_steps", "status", "error", "created_unix", "nvml")


def check_bundle(path: str, settings: dict) -> dict:
    """Assert the fixed format contract of an 'ok' bundle; return run.json."""
    assert sorted(os.listdir(path)) >= ["log.txt", "run.json", "samples.csv.gz", "trace.json.gz"]
    run = load_run(path)
    for key in RUN_KEYS:
        assert key in run, key
    assert run["schema_version"] == 1 and run["kind"] == "torchscope-run"
    assert run["status"] == "ok" and run["error"] is None
    assert run["settings"] == settings
    assert run["device"] in ("cpu", "cuda")
    steps = run["timed_steps"]
    assert steps["count"] == FAST["timed_steps"] == len(steps["step_ms"])
    assert all(x > 0 for x in steps["step_ms"])
    assert min(steps["step_ms"]) <= steps["median_ms"] <= max(steps["step_ms"])
    for key in ("torch", "cuda", "gpu_name", "cpu_name", "cpu_count", "torch_threads"):
        assert key in run["env"], key
    if run.get("workload_kind") != "script":  # a built workload: its model facts are recorded
        facts = run["model_facts"]
        assert facts["parameters"] > 0 and sum(t["params"] for t in facts["module_types"]) >= facts["parameters"]
        assert isinstance(facts["cpu_isa"], list) and facts["torch_threads"] >= 1
    trace = load_trace(path)
    names = {e.get("name", "") for e in trace["traceEvents"]}
    assert sum(n.startswith("ProfilerStep#") for n in names) == FAST["profile_steps"]
    assert "baseTimeNanoseconds" in trace
    rows = bundle.read_samples(path)
    assert rows and list(rows[0])[:2] == ["time_ns", "source"]
    assert list(rows[0]) == list(bundle.SAMPLE_COLUMNS)
    host = [r for r in rows if r["source"] == "host"]
    assert host
    assert max(int(r["host_rss_bytes"]) for r in host if r["host_rss_bytes"]) > 50_000_000  # torch loaded
    cpu = [float(r["host_cpu_pct"]) for r in host if r["host_cpu_pct"]]
    assert cpu and all(0.0 <= c <= 100.0 for c in cpu)
    # samples are on the trace's epoch clock: they bracket the profiled window
    base_ns = int(trace["baseTimeNanoseconds"])
    step_ts = [e["ts"] for e in trace["traceEvents"] if e.get("name", "").startswith("ProfilerStep#")]
    window_ns = base_ns + int(min(step_ts) * 1000)
    times = [int(r["time_ns"]) for r in rows]
    assert min(times) < window_ns < max(times)
    return run


@pytest.mark.parametrize("name,settings", [
    ("slow_loader", {}),
    ("tiny_gpt", {"threads": 1, "optimizer_impl": "foreach"}),
    ("convnet", {"channels_last": True, "batch_size": 8}),
    ("mlp_infer", {"dynamic_quant": True, "inference_mode": True}),
])
def test_builtin_workload_makes_a_complete_bundle(runs_dir, name, settings):
    events: list[dict] = []
    result = run_workload(name, settings, str(runs_dir), timeout_s=120, on_progress=events.append, **FAST)
    assert result.status == "ok", result.error
    assert os.path.dirname(result.bundle_path) == str(runs_dir)
    assert os.path.basename(result.bundle_path).startswith(f"{name}-")
    run = check_bundle(result.bundle_path, settings)
    assert result.step_times_ms == run["timed_steps"]["step_ms"]
    assert result.median_step_ms == run["timed_steps"]["median_ms"]
    assert isinstance(run["batch_size"], int) and run["batch_size"] == result.batch_size
    if "batch_size" in settings:
        assert run["batch_size"] == settings["batch_size"]
    if "threads" in settings:
        assert run["env"]["torch_threads"] == settings["threads"]
    phases = [e["phase"] for e in events]
    for phase in ("setup", "warmup", "profile", "timed"):
        assert phase in phases
    assert events[-1]["event"] == "finished" and events[-1]["status"] == "ok"
    assert all({"phase", "step", "total", "message"} <= set(e) for e in events)
    assert not leftovers(runs_dir)


@pytest.mark.skipif(nvidia_gpu_present(), reason="an NVIDIA GPU is present")
def test_no_gpu_recorded_and_run_continues(runs_dir):
    result = run_workload("mlp_infer", {}, str(runs_dir), timeout_s=120, **FAST)
    run = load_run(result.bundle_path)
    assert result.status == "ok"
    assert run["nvml"] == "no NVIDIA GPU"
    assert run["device"] == "cpu"
    rows = bundle.read_samples(result.bundle_path)
    assert {r["source"] for r in rows} == {"host"}


def test_same_name_twice_gets_a_fresh_bundle(runs_dir):
    a = run_workload("mlp_infer", {}, str(runs_dir), timeout_s=120, name="same", **FAST)
    def broken_callback(event):
        raise RuntimeError("a GUI bug")

    b = run_workload("mlp_infer", {}, str(runs_dir), timeout_s=120, name="same", profile=False,
                     warmup_steps=1, timed_steps=2, on_progress=broken_callback)
    assert b.status == "ok"  # a failing progress callback does not break the run
    assert a.bundle_path == str(runs_dir / "same") and b.bundle_path == str(runs_dir / "same-2")
    assert os.path.exists(os.path.join(a.bundle_path, "trace.json.gz"))
    assert not os.path.exists(os.path.join(b.bundle_path, "trace.json.gz"))  # profile=False
    assert load_run(b.bundle_path)["trace"] is None
    assert not leftovers(runs_dir)


def test_trace_is_gzip(runs_dir):
    result = run_workload("mlp_infer", {}, str(runs_dir), timeout_s=120, **FAST)
    with open(os.path.join(result.bundle_path, "trace.json.gz"), "rb") as fh:
        assert fh.read(2) == b"\x1f\x8b"
    with gzip.open(os.path.join(result.bundle_path, "trace.json.gz")) as fh:
        assert b"traceEvents" in fh.read(4096)
