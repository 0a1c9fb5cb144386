"""Parent side of a run: spawn the child, relay progress, enforce timeout/cancel, finish the bundle.

The child is ``sys.executable -m collectors.child`` in its own session (a new
process group), never a fork of this process, so a crash, hang or Ctrl-C in
the workload cannot take the caller down, and killing the group also kills
DataLoader workers.  This module imports neither torch nor Qt.
"""
from __future__ import annotations

import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

from analyzers.knobs import validate
from analyzers.paths import child_env
from collectors import bundle as bundle_mod
from collectors.errors import KnobRefused
from collectors.knob_checks import refuse_for_device, refuse_for_script
from collectors.nvml_sampler import NvmlSampler
from collectors.progress import parse_line
from collectors.sampler import SamplerThread
from collectors.workload_ref import WorkloadRefError, resolve

ProgressFn = Callable[[dict[str, Any]], None]
DEFAULT_TIMEOUT_S = 600.0
STACK_DUMP_GRACE_S = 0.7


@dataclass
class RunResult:
    """The outcome of one run: where its bundle is and what it measured."""

    bundle_path: str | None
    status: str  # "ok" | "failed" | "timeout" | "cancelled"
    error: str | None
    median_step_ms: float | None
    step_times_ms: list[float] = field(default_factory=list)
    exit_code: int | None = None
    wall_s: float = 0.0
    batch_size: int | None = None  # the batch size the steps used, when known

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


SIGNAL_HINTS = {"SIGSEGV": "segmentation fault", "SIGKILL": "killed; out of memory?",
                "SIGABRT": "aborted", "SIGBUS": "bus error", "SIGFPE": "arithmetic error",
                "SIGILL": "illegal instruction"}


def log_tail(path: str, max_chars: int = 2500) -> str:
    """The last ``max_chars`` characters of the child's log (stdout + stderr)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_chars))
            return fh.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group (the child and its DataLoader workers)."""
    for target in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            target()
        except (ProcessLookupError, PermissionError, OSError):  # already gone: nothing left to kill
            pass


@functools.lru_cache(maxsize=1)
def nvidia_gpu_present() -> bool:
    """Whether NVML sees at least one NVIDIA GPU (cached; no torch import)."""
    probe = NvmlSampler()
    ok = probe.open() == "ok"
    probe.close()
    return ok


def precheck(settings: Mapping[str, Any], device: str) -> None:
    """Refuse device-level knobs in the parent when the device is surely a CPU (saves a child start)."""
    if device == "cpu" or (device == "auto" and not nvidia_gpu_present()):
        refuse_for_device(settings, "cpu")


def run_workload(workload_ref: str, settings: Mapping[str, Any], out_dir: str,
                 timeout_s: float = DEFAULT_TIMEOUT_S, on_progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None, *, name: str | None = None,
                 workload_args: Sequence[str] = (), device: str = "auto", warmup_steps: int = 3,
                 profile_steps: int = 3, timed_steps: int = 20, profile: bool = True,
                 with_stack: bool = True, script: bool | None = None,
                 sample: bool = True, nproc_per_node: int = 1, probe: bool = False) -> RunResult:
    """Run one workload in a child process and leave a bundle in ``out_dir``.

    ``settings`` maps knob names to values (strings or typed).  ``on_progress``
    is called from this thread with each progress event dict (keys event,
    phase, step, total, message).  Setting ``cancel`` kills the child.
    Returns a RunResult whatever happened to the workload; raises KnobError /
    WorkloadRefError (user errors: unknown knob or workload, a knob that does
    not apply here) without leaving a bundle.  ``nproc_per_node`` > 1 runs the
    job through torchrun (:mod:`collectors.dist_launch`), one rank folder each.
    """
    ref = resolve(workload_ref, script=script)
    typed = validate(settings)
    precheck(typed, device)
    if ref.kind == "script":
        refuse_for_script(typed)
    if typed.get("ddp") and nproc_per_node < 2:
        raise KnobRefused("ddp=true needs several processes: add --nproc-per-node N (N >= 2)")
    name = name or bundle_mod.default_name(ref.name)
    started = time.monotonic()
    partial = bundle_mod.make_partial(out_dir, name)
    rec = bundle_mod.new_run_record(ref.text, list(workload_args), typed,
                                    "cuda" if device == "cuda" else "cpu", workload_ref_kind=ref.kind)
    run_json = os.path.join(partial, bundle_mod.RUN_JSON)
    bundle_mod.write_json_atomic(run_json, rec)
    log_path = os.path.join(partial, bundle_mod.LOG)
    notify = _safe_callback(on_progress)
    child_args = [*ref.to_argv(), "--settings", json.dumps(typed), "--workload-args", json.dumps(list(workload_args)),
                  "--device", device, "--warmup", str(warmup_steps), "--profile-steps", str(profile_steps),
                  "--timed-steps", str(timed_steps)]
    child_args += (["--no-profile"] if not profile else []) + (["--with-stack"] if with_stack else [])
    child_args += ["--probe"] if probe else []
    if nproc_per_node > 1:
        from collectors.dist_launch import DistJob, run_distributed
        job = DistJob(partial, name, nproc_per_node, device, timeout_s, started, sample)
        return run_distributed(job, child_args, notify, cancel)
    read_fd, write_fd = os.pipe()
    cmd = [sys.executable, "-m", "collectors.child", "--bundle", partial, "--progress-fd", str(write_fd),
           *child_args]
    notify({"event": "phase", "phase": "start", "step": 0, "total": 0, "message": f"starting {ref.text}"})
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    pass_fds=(write_fd,), start_new_session=True, env=child_env())
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        _remove_tree(partial)
        raise
    os.close(write_fd)
    sampler = SamplerThread(pid=proc.pid, nvml=sample).start() if sample else None
    outcome, last = _supervise(proc, read_fd, timeout_s, notify, cancel)
    os.close(read_fd)
    rows = sampler.stop() if sampler else []
    return _finish(partial, name, proc.returncode, outcome, last, rows, sampler, timeout_s, started, notify)


def probe_workload(workload_ref: str, settings: Mapping[str, Any], timeout_s: float = DEFAULT_TIMEOUT_S,
                   cancel: threading.Event | None = None, *, workload_args: Sequence[str] = (),
                   device: str = "auto", script: bool | None = None) -> dict[str, Any] | None:
    """The workload's facts (kind, data source, model module types) from a child that only builds it.

    None for a plain script (nothing to probe) or when the probe itself fails
    (the real run will then report the failure); raises the user errors run_workload raises.
    """
    if resolve(workload_ref, script=script).kind == "script":
        return None
    # one process builds the workload: DDP wrapping needs the job's process group, and changes no fact
    settings = {k: v for k, v in settings.items() if k != "ddp"}
    scratch = tempfile.mkdtemp(prefix="torchscope-probe-")
    try:
        result = run_workload(workload_ref, settings, scratch, timeout_s, None, cancel, name="probe",
                              workload_args=workload_args, device=device, profile=False, sample=False,
                              script=script, probe=True)
        if result.status != "ok" or not result.bundle_path:
            return None
        return bundle_mod.read_run(result.bundle_path).get("workload_facts")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _safe_callback(on_progress: ProgressFn | None) -> ProgressFn:
    """Wrap the caller's progress callback so that an exception in it never strands the child."""
    if on_progress is None:
        return lambda event: None
    failed: list[bool] = []

    def call(event: dict[str, Any]) -> None:
        try:
            on_progress(event)
        except Exception as exc:  # noqa: BLE001 - report once, keep supervising
            if not failed:
                failed.append(True)
                print(f"torchscope: progress callback failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return call


def _supervise(proc: subprocess.Popen[bytes], read_fd: int, timeout_s: float, notify: ProgressFn,
               cancel: threading.Event | None) -> tuple[str | None, dict[str, Any]]:
    """Relay progress until the child exits; kill it on timeout, cancel or Ctrl-C.

    Returns (None | "timeout" | "cancelled", the last progress event).
    """
    deadline = time.monotonic() + timeout_s
    pending = b""
    last: dict[str, Any] = {"phase": "start", "step": 0, "total": 0}
    outcome: str | None = None
    open_pipe = True
    try:
        while True:
            if open_pipe:
                ready, _, _ = select.select([read_fd], [], [], 0.1)
                if ready:
                    data = os.read(read_fd, 65536)
                    if not data:
                        open_pipe = False
                    pending += data
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        event = parse_line(line)
                        if event is not None:
                            last = event
                            notify(event)
            else:
                time.sleep(0.1)
            if proc.poll() is not None:
                break
            if cancel is not None and cancel.is_set():
                outcome = "cancelled"
                break
            if time.monotonic() > deadline:
                outcome = "timeout"
                try:  # ask the child's faulthandler for every thread's stack, into the log
                    os.kill(proc.pid, signal.SIGUSR1)
                    time.sleep(STACK_DUMP_GRACE_S)
                except (ProcessLookupError, AttributeError):  # gone already, or no SIGUSR1 here: kill anyway
                    pass
                break
    except KeyboardInterrupt:
        outcome = "cancelled"
    finally:
        _kill_group(proc)  # also reaps orphaned DataLoader workers after a normal exit
        proc.wait()
    return outcome, last


def _where(last: Mapping[str, Any]) -> str:
    phase = last.get("phase", "?")
    text = f"in phase {phase!r}"
    if last.get("total"):
        text += f" (step {last.get('step')}/{last.get('total')})"
    elif last.get("message") and phase == "setup":
        text += f" ({last['message']})"
    return text


def innermost_frame(log_text: str) -> str | None:
    """The innermost Python frame of the last faulthandler dump or traceback in a child log."""
    lines = log_text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if "most recent call first" in lines[i]:
            for line in lines[i + 1:]:
                if line.strip().startswith("File "):
                    return line.strip()
            return None
    return None


def _finish(partial: str, name: str, rc: int | None, outcome: str | None, last: dict[str, Any],
            rows: list[dict[str, Any]], sampler: SamplerThread | None, timeout_s: float,
            started: float, notify: ProgressFn) -> RunResult:
    """Settle status and error in run.json, write samples, rename the bundle into place."""
    rec = bundle_mod.read_run(partial)
    log_path = os.path.join(partial, bundle_mod.LOG)
    if rc == 2 and outcome is None and rec.get("error_kind") in ("refused", "workload_ref"):
        message = str(rec.get("error") or "refused").removeprefix("refused: ")
        _remove_tree(partial)
        raise (KnobRefused if rec["error_kind"] == "refused" else WorkloadRefError)(message)
    tail = log_tail(log_path)
    if outcome == "timeout":
        rec["status"] = "timeout"
        frame = innermost_frame(tail)
        rec["error"] = (f"timed out after {timeout_s:g} s {_where(last)}; child killed"
                        + (f"; it was at {frame}" if frame else ""))
        rec["error_detail"] = tail
    elif outcome == "cancelled":
        rec["status"] = "cancelled"
        rec["error"] = f"cancelled {_where(last)}; child killed"
    elif rc is not None and rc < 0:
        sig = _signal_name(-rc)
        hint = SIGNAL_HINTS.get(sig, "")
        rec["status"] = "failed"
        frame = innermost_frame(tail)
        rec["error"] = (f"child process died from {sig}{f' ({hint})' if hint else ''} {_where(last)}"
                        + (f"; last Python frame: {frame}" if frame else ""))
        rec["error_detail"] = tail
    elif rc != 0 or rec.get("status") != "ok":
        rec["status"] = "failed"
        if not rec.get("error"):
            rec["error"] = f"child process exited with code {rc} {_where(last)}"
            rec["error_detail"] = tail
    rec["exit_code"] = rc
    rec["wall_s"] = round(time.monotonic() - started, 3)
    if sampler is not None:
        rec["nvml"] = sampler.nvml_status
        rec.setdefault("env", {})["nvidia_driver"] = sampler.nvml.driver
        rec["env"]["nvml_gpus"] = sampler.nvml.gpu_names
        if sampler.nvml.unsupported:
            rec["nvml_unsupported"] = sorted(sampler.nvml.unsupported)
    else:
        rec["nvml"] = "not sampled"
    rec["samples"] = bundle_mod.write_samples(os.path.join(partial, bundle_mod.SAMPLES), rows)
    if not os.path.exists(os.path.join(partial, bundle_mod.TRACE)):
        rec["trace"] = None
    bundle_mod.write_json_atomic(os.path.join(partial, bundle_mod.RUN_JSON), rec)
    path = bundle_mod.finalize(partial, name)
    steps = rec.get("timed_steps", {})
    result = RunResult(bundle_path=path, status=rec["status"], error=rec.get("error"),
                       median_step_ms=steps.get("median_ms"), step_times_ms=list(steps.get("step_ms", [])),
                       exit_code=rc, wall_s=rec["wall_s"], batch_size=rec.get("batch_size"))
    notify({"event": "finished", "phase": "done", "step": 0, "total": 0, "status": result.status,
            "message": result.error or "ok", "bundle": path})
    return result


def _remove_tree(path: str) -> None:
    import shutil
    shutil.rmtree(path, ignore_errors=True)
