"""A fast fake runner for tune tests: step times from a seeded model of knob effects, no child processes.

Each call writes a tiny bundle (run.json with the facts a real baseline records)
and returns step times drawn as ``base_ms * effect(settings) * run_level * step_noise``;
``clock`` is advanced by each run's wall time, so budgets are tested without waiting.
"""
from __future__ import annotations

import os
import zlib
from typing import Any, Mapping

import numpy as np

from collectors import bundle as bundle_mod
from collectors.runner import RunResult

FACTS = {"kind": "train", "has_data": True, "loader_num_workers": 0, "has_optimizer": True, "inputs_4d": False,
         "model_facts": {"module_types": [{"type": "Linear", "count": 3, "params": 1000, "param_share_pct": 100.0}],
                         "dynamic_quant_param_share_pct": 100.0}}
MODEL = {"cpu_isa": ["avx2"], "cpu_cores": 2, "torch_threads": 2,
         "module_types": FACTS["model_facts"]["module_types"]}


class FakeClock:
    """A monotonic clock the fake runs advance."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeRunner:
    """Callable like ``collectors.runner.run_workload``; ``effects`` maps 'knob=value' to a step-time factor
    (or to 'fail' / 'timeout')."""

    def __init__(self, effects: Mapping[str, Any], clock: FakeClock | None = None, base_ms: float = 20.0,
                 run_sd: float = 0.005, step_sd: float = 0.01, wall_s: float = 5.0, fail_baseline: bool = False,
                 on_run: Any = None) -> None:
        self.effects, self.clock, self.base_ms = dict(effects), clock, base_ms
        self.run_sd, self.step_sd, self.wall_s, self.fail_baseline = run_sd, step_sd, wall_s, fail_baseline
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.on_run = on_run

    def __call__(self, ref: str, settings: Mapping[str, Any], out_dir: str, timeout_s: float, relay: Any,
                 cancel: Any, *, name: str, **kw: Any) -> RunResult:
        self.calls.append((name, dict(settings)))
        if self.on_run is not None:
            self.on_run(self)
        if self.clock is not None:
            self.clock.now += self.wall_s
        path = os.path.join(out_dir, name)
        os.makedirs(path, exist_ok=True)
        rng = np.random.default_rng(zlib.crc32(f"{name}{len(self.calls)}".encode()))
        factor: Any = 1.0
        for k, v in settings.items():
            eff = self.effects.get(f"{k}={str(v).lower()}", 1.0)
            factor = eff if isinstance(eff, str) else (factor * eff if not isinstance(factor, str) else factor)
        if self.fail_baseline and not settings:
            factor = "fail"
        batch = int(settings.get("batch_size", 8))
        rec = {"status": "ok", "device": "cpu", "workload_kind": "train", "workload_facts": FACTS,
               "model_facts": MODEL, "settings": dict(settings), "batch_size": batch}
        if isinstance(factor, str):
            rec["status"] = "failed" if factor == "fail" else "timeout"
            bundle_mod.write_json_atomic(os.path.join(path, "run.json"), rec)
            msg = "workload failed: RuntimeError: boom" if factor == "fail" else f"timed out after {timeout_s:g} s"
            return RunResult(path, rec["status"], msg, None, [], wall_s=self.wall_s)
        level = self.base_ms * factor * float(np.exp(rng.normal(0, self.run_sd)))
        steps = list(level * np.exp(rng.normal(0, self.step_sd, 10)))
        bundle_mod.write_json_atomic(os.path.join(path, "run.json"), rec)
        return RunResult(path, "ok", None, float(np.median(steps)), steps, wall_s=self.wall_s, batch_size=batch)
