"""Profile an arbitrary training script without glue (child side).

The script runs under runpy as ``__main__`` with ``sys.argv = [script, *ARGS]``.
A global optimizer-step post hook (``torch.optim.optimizer.register_optimizer_step_post_hook``)
marks step boundaries: the first ``warmup_steps`` optimizer steps are warm-up,
the next 1 + ``profile_steps`` are the profiler's warm-up and recorded window,
then ``timed_steps`` intervals between optimizer steps are timed without the
profiler.  After that the script is stopped (a BaseException the script's
``except Exception`` does not catch).  Only process-wide knobs apply.
"""
from __future__ import annotations

import os
import runpy
import sys
import time
from typing import Any

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from collectors.harness import LoopConfig, LoopResult, export_trace, profiler_activities
from collectors.progress import Emit


class StopScript(BaseException):
    """Raised from the optimizer hook once every step we need has run."""


def run_script(path: str, argv: list[str], cfg: LoopConfig, device: str, out_dir: str,
               emit: Emit) -> LoopResult:
    """Run the script, stepping the profiler on every optimizer step; return the timed steps."""
    result = LoopResult()
    last_profiled = cfg.warmup_steps + 1 + cfg.profile_steps if cfg.profile else cfg.warmup_steps
    total = last_profiled + cfg.timed_steps + (1 if cfg.profile else 0)
    state = {"n": 0, "last_ns": time.perf_counter_ns(), "profiling": False}
    prof: Any = None
    if cfg.profile and cfg.profile_steps > 0:
        def on_ready(p: Any) -> None:
            emit("write", 0, 1, "exporting trace")
            result.trace_path = export_trace(p, out_dir)
        prof = torch.profiler.profile(
            activities=profiler_activities(device),
            schedule=torch.profiler.schedule(skip_first=cfg.warmup_steps, wait=0, warmup=1,
                                             active=cfg.profile_steps, repeat=1),
            record_shapes=True, profile_memory=True, with_stack=cfg.with_stack, with_flops=cfg.with_flops,
            on_trace_ready=on_ready)
        prof.start()
        state["profiling"] = True
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def hook(optimizer: Any, args: Any, kwargs: Any) -> None:
        sync()
        now = time.perf_counter_ns()
        state["n"] += 1
        n = state["n"]
        if n <= cfg.warmup_steps:
            emit("warmup", n, cfg.warmup_steps, "warm-up optimizer step")
        elif n <= last_profiled:
            emit("profile", n - cfg.warmup_steps, last_profiled - cfg.warmup_steps, "profiled optimizer step")
        elif n == last_profiled + 1 and cfg.profile:
            pass  # the first step after the profiler pays for its teardown: not timed
        else:
            result.step_ms.append((now - state["last_ns"]) / 1e6)
            emit("timed", n - last_profiled, cfg.timed_steps, "timed optimizer step")
        if state["profiling"]:
            prof.step()
            if n >= last_profiled:
                prof.stop()
                state["profiling"] = False
        state["last_ns"] = time.perf_counter_ns()
        if n >= total:
            raise StopScript()

    handle = register_optimizer_step_post_hook(hook)
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(path))
    try:
        runpy.run_path(path, run_name="__main__")
    except StopScript:  # the harness stops the script once its profiled and timed steps are done
        pass
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise RuntimeError(f"the script exited with status {exc.code}") from None
    finally:
        handle.remove()
        sys.argv, sys.path[:] = old_argv, old_path
        if state["profiling"]:
            prof.stop()
    if state["n"] == 0:
        raise RuntimeError("the script never called optimizer.step(); script mode steps the profiler "
                           "on optimizer steps (write a build(config) workload for inference)")
    if cfg.profile and cfg.profile_steps > 0 and result.trace_path is None:
        raise RuntimeError(f"the script made only {state['n']} optimizer steps; the profiled window needs "
                           f"{last_profiled} (lower --warmup/--profile-steps)")
    if len(result.step_ms) < cfg.timed_steps:
        result.note = (f"the script ended after {state['n']} optimizer steps: {len(result.step_ms)} of "
                       f"{cfg.timed_steps} timed steps recorded")
    if result.trace_path:
        result.trace_bytes = os.path.getsize(result.trace_path)
    return result
