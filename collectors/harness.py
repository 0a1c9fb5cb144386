"""The step loop, run inside the child: warm-up, profiled window, timed steps.

The harness owns the loop so that it can apply every knob, put the
profiler's ``ProfilerStep#N`` marks on step boundaries, and time honest
unprofiled steps afterwards.
"""
from __future__ import annotations

import gzip
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch

from collectors import bundle as bundle_mod
from collectors.knob_apply import Prepared
from collectors.progress import Emit


@dataclass
class LoopConfig:
    """How many steps of each phase to run, and what the profiler records."""

    warmup_steps: int = 3
    profile_steps: int = 3
    timed_steps: int = 20
    profile: bool = True
    with_stack: bool = True  # Python stacks in the profiled window: module tree and flame graph
    with_flops: bool = True  # FLOPs of matmuls and convolutions (needs record_shapes, on anyway)


@dataclass
class LoopResult:
    """What the loop measured."""

    step_ms: list[float] = field(default_factory=list)
    trace_path: str | None = None
    trace_bytes: int = 0
    note: str | None = None


def batch_stream(prep: Prepared) -> Iterator[Any]:
    """Endless batches: the loader re-iterated epoch after epoch, or the fixed inputs."""
    if prep.loader is None:
        while True:
            yield prep.inputs
    while True:
        empty = True
        for batch in prep.loader:
            empty = False
            yield batch
        if empty:
            raise RuntimeError("the workload's data source yields no batches")


def _call(model: Any, inputs: Any) -> Any:
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    if isinstance(inputs, dict):
        return model(**inputs)
    return model(inputs)


def make_step(prep: Prepared, device: str) -> Callable[[], None]:
    """The function running one full step (batch fetch included) under the knobs."""
    batches = batch_stream(prep)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    model, opt, scaler = prep.model, prep.optimizer, prep.scaler
    fixed = prep.loader is None

    def train_step() -> None:
        batch = prep.move(next(batches))
        with prep.autocast():
            if prep.forward_loss is not None:
                loss = prep.forward_loss(model, batch)
            else:
                inputs, target = batch[0], batch[1]
                loss = prep.loss_fn(_call(model, inputs), target)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        opt.zero_grad(set_to_none=prep.zero_grad_to_none)
        sync()

    def infer_step() -> None:
        batch = next(batches)
        batch = batch if fixed else prep.move(batch)
        with prep.grad_mode(), prep.autocast():
            if prep.forward_loss is not None:
                prep.forward_loss(model, batch)
            else:
                inputs = batch[0] if (not fixed and isinstance(batch, (tuple, list)) and len(batch) == 2) else batch
                _call(model, inputs)
        sync()

    return train_step if prep.kind == "train" else infer_step


def run_loop(step: Callable[[], None], cfg: LoopConfig, device: str, out_dir: str, emit: Emit) -> LoopResult:
    """Warm-up, then the profiled window (exported to trace.json.gz), then timed steps."""
    result = LoopResult()
    for i in range(cfg.warmup_steps):
        emit("warmup", i, cfg.warmup_steps, "warm-up step")
        step()
    emit("warmup", cfg.warmup_steps, cfg.warmup_steps, "warm-up done")
    if cfg.profile and cfg.profile_steps > 0:
        result.trace_path = _profile_window(step, cfg, device, out_dir, emit)
        result.trace_bytes = os.path.getsize(result.trace_path)
        emit("timed", 0, cfg.timed_steps, "settling after the profiler")
        step()  # the first step after the profiler pays for its teardown: not timed
    for i in range(cfg.timed_steps):
        emit("timed", i, cfg.timed_steps, "timed step")
        t0 = time.perf_counter_ns()
        step()
        result.step_ms.append((time.perf_counter_ns() - t0) / 1e6)
    emit("timed", cfg.timed_steps, cfg.timed_steps, "timed steps done")
    return result


def profiler_activities(device: str) -> list[Any]:
    """CPU, plus CUDA when the run is on a GPU."""
    acts = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    return acts


def export_trace(prof: Any, out_dir: str) -> str:
    """Export the Kineto chrome trace gzipped to ``out_dir/trace.json.gz`` (atomically)."""
    final = os.path.join(out_dir, bundle_mod.TRACE)
    raw = os.path.join(out_dir, ".trace.json.tmp")
    prof.export_chrome_trace(raw)
    tmp = final + ".tmp"
    with open(raw, "rb") as fin, gzip.open(tmp, "wb", compresslevel=6) as fout:
        while chunk := fin.read(1 << 20):
            fout.write(chunk)
    os.remove(raw)
    os.replace(tmp, final)
    return final


def _profile_window(step: Callable[[], None], cfg: LoopConfig, device: str, out_dir: str, emit: Emit) -> str:
    """One profiler warm-up step then ``profile_steps`` recorded steps."""
    exported: list[str] = []
    failed: list[BaseException] = []

    def on_ready(prof: Any) -> None:
        if failed:  # the window broke off: no half trace, keep the failing phase in the error
            return
        emit("write", 0, 1, "exporting trace")
        exported.append(export_trace(prof, out_dir))

    total = 1 + cfg.profile_steps
    schedule = torch.profiler.schedule(wait=0, warmup=1, active=cfg.profile_steps, repeat=1)
    with torch.profiler.profile(activities=profiler_activities(device), schedule=schedule,
                                record_shapes=True, profile_memory=True, with_stack=cfg.with_stack,
                                with_flops=cfg.with_flops, on_trace_ready=on_ready) as prof:
        try:
            for i in range(total):
                emit("profile", i, total, "profiled step")
                step()
                prof.step()
        except BaseException as exc:
            failed.append(exc)
            raise
    if not exported:
        raise RuntimeError("the profiler produced no trace")
    emit("profile", total, total, "profiled window done")
    return exported[0]
