"""Re-record the sample bundles in this folder from the built-in workloads.

Usage (from the repository root): python sample_traces/record.py [--device cuda] [NAME ...]
Each sample is recorded into a temporary folder, then replaces the old one.
With ``--device cuda`` the bundles are named ``NAME_gpu`` and sit beside the CPU ones.
Small windows (3 warm-up, 5 profiled, 10 timed steps) keep each bundle small; five profiled
steps give per-step statistics (spread, outliers) something to work on.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile

# One intra-op thread in the child: on a shared 2-core box, two OpenMP threads per run stall whenever
# another process takes a core, and CPU time then buries what each sample is meant to show.
os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from collectors.runner import run_workload  # noqa: E402

# name -> (workload, knob settings)
SAMPLES: dict[str, tuple[str, dict[str, object]]] = {
    "slow_loader_workers0": ("slow_loader", {"num_workers": 0}),
    "slow_loader_workers2": ("slow_loader", {"num_workers": 2}),
    "mlp_infer_fp32": ("mlp_infer", {}),
    "mlp_infer_dynamic_quant": ("mlp_infer", {"dynamic_quant": True}),
    "convnet_baseline": ("convnet", {}),
    "tiny_gpt_baseline": ("tiny_gpt", {}),
}
STEPS = {"warmup_steps": 3, "profile_steps": 5, "timed_steps": 10}  # >= 5 profiled: per-step statistics


def record(name: str, device: str = "cpu") -> str:
    """Record one sample bundle and put it at sample_traces/NAME (NAME_gpu on CUDA); return its path."""
    workload, settings = SAMPLES[name]
    folder = name if device == "cpu" else f"{name}_gpu"
    with tempfile.TemporaryDirectory(prefix="torchscope-samples-") as tmp:
        result = run_workload(workload, settings, tmp, timeout_s=300, name=folder, device=device, **STEPS)
        if result.status != "ok":
            raise SystemExit(f"{name}: {result.status}: {result.error}")
        target = os.path.join(HERE, folder)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.move(result.bundle_path, target)
    size_kb = sum(os.path.getsize(os.path.join(target, f)) for f in os.listdir(target)) / 1024
    print(f"{name}: {workload} {settings or 'defaults'}: median {result.median_step_ms:.2f} ms/step, "
          f"{size_kb:.0f} KiB", flush=True)
    return target


def main(argv: list[str]) -> int:
    device = "cpu"
    if argv[:1] == ["--device"] and len(argv) > 1:
        device, argv = argv[1], argv[2:]
    names = argv or list(SAMPLES)
    unknown = [n for n in names if n not in SAMPLES]
    if unknown:
        print(f"unknown sample(s): {', '.join(unknown)}; known: {', '.join(SAMPLES)}", file=sys.stderr)
        return 2
    for name in names:
        record(name, device)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
