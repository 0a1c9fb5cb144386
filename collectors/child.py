"""Child entry point: ``python -m collectors.child --bundle DIR ...``.

Runs one workload (or script) in this fresh process, updates the bundle's
run.json (env, settings, timed steps, status, error) and reports progress as
JSON lines on ``--progress-fd``.  Exit codes: 0 ok, 1 the workload failed,
2 refused (a knob that does not apply, a reference that names nothing).
"""
from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import traceback
from typing import Any

from collectors import bundle as bundle_mod
from collectors.knob_checks import refuse_for_device
from collectors.progress import ProgressWriter
from collectors.workload_ref import WorkloadRef

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="collectors.child")
    p.add_argument("--bundle", required=True)
    p.add_argument("--progress-fd", type=int, default=None)
    p.add_argument("--ref-kind", required=True)
    p.add_argument("--ref-target", required=True)
    p.add_argument("--ref-func", default="build")
    p.add_argument("--ref-name", required=True)
    p.add_argument("--ref-text", required=True)
    p.add_argument("--settings", default="{}", help="JSON object of knob settings")
    p.add_argument("--workload-args", default="[]", help="JSON list of arguments for the workload")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--profile-steps", type=int, default=3)
    p.add_argument("--timed-steps", type=int, default=20)
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--with-stack", action="store_true")
    p.add_argument("--dist", action="store_true", help="one rank of a torchrun job (rank-<r>/ in --bundle)")
    p.add_argument("--backend", default="gloo", choices=("gloo", "nccl"))
    p.add_argument("--probe", action="store_true", help="only build the workload and record its facts")
    return p.parse_args(argv)


def _write(bundle_dir: str, rec: dict[str, Any]) -> None:
    bundle_mod.write_json_atomic(os.path.join(bundle_dir, bundle_mod.RUN_JSON), rec)


def run(args: argparse.Namespace, rec: dict[str, Any], emit: ProgressWriter) -> int:
    """Import torch, apply the knobs, run the workload; fill ``rec``; return the exit code."""
    emit("setup", 0, 0, "importing torch")
    import torch

    from analyzers.knobs import validate
    from collectors import harness, knob_apply
    from collectors.env_info import collect_env

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise knob_apply.KnobRefused("--device cuda: torch sees no CUDA GPU here")
    rec["device"] = device
    settings = validate(json.loads(args.settings))
    rec["settings"] = settings
    rec["env"] = collect_env(device)
    _write(args.bundle, rec)
    refuse_for_device(settings, device)
    knob_apply.apply_process_knobs(settings, device)
    ref = WorkloadRef(args.ref_text, args.ref_kind, args.ref_target, args.ref_func, args.ref_name)
    workload_args = json.loads(args.workload_args)
    loop_cfg = harness.LoopConfig(warmup_steps=args.warmup, profile_steps=args.profile_steps,
                                  timed_steps=args.timed_steps, profile=not args.no_profile,
                                  with_stack=args.with_stack)
    if ref.kind == "script":
        from collectors import script_profile
        emit("setup", 0, 0, f"running script {ref.target}")
        result = script_profile.run_script(ref.target, workload_args, loop_cfg, device, args.bundle, emit)
        rec["workload_kind"] = "script"
    else:
        from collectors.workload_api import RunConfig, Workload
        from collectors.workload_ref import load_build
        dist_info = {}
        if args.dist:
            from collectors.dist_child import init_process_group
            emit("setup", 0, 0, f"joining the {args.backend} process group")
            dist_info = init_process_group(device, args.backend)
        emit("setup", 0, 0, f"building {ref.text}")
        build = load_build(ref)
        wl = build(RunConfig(device=device, settings=settings, args=tuple(workload_args), **dist_info))
        if not isinstance(wl, Workload):
            raise TypeError(f"{ref.text}: build(config) returned {type(wl).__name__}, not a Workload")
        rec["workload_facts"] = knob_apply.workload_facts(wl)
        if args.probe:  # the parent checks knobs against these facts before anything is timed
            rec["timed_steps"] = bundle_mod.step_stats([])
            rec["status"], rec["error"] = "ok", None
            return EXIT_OK
        prep = knob_apply.prepare(wl, settings, device)
        rec["workload_kind"] = wl.kind
        rec["description"] = wl.description
        rec["batch_size"] = knob_apply.effective_batch_size(prep)
        from collectors.model_facts import collect_model_facts
        rec["model_facts"] = collect_model_facts(prep.model, prep.optimizer, settings)
        step = harness.make_step(prep, device)
        result = harness.run_loop(step, loop_cfg, device, args.bundle, emit)
    rec["env"]["torch_threads"] = torch.get_num_threads()
    rec["timed_steps"] = bundle_mod.step_stats(result.step_ms)
    rec["loop"] = {"warmup_steps": args.warmup, "profile_steps": args.profile_steps,
                   "timed_steps": args.timed_steps, "profiled": not args.no_profile}
    rec["trace"] = bundle_mod.TRACE if result.trace_path else None
    if result.note:
        rec["note"] = result.note
    rec["status"], rec["error"] = "ok", None
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    faulthandler.enable(all_threads=True)
    if hasattr(signal, "SIGUSR1"):  # the parent asks for stacks before killing a hung run
        faulthandler.register(signal.SIGUSR1, all_threads=True, chain=False)
    if args.dist:
        from collectors.dist_child import setup_rank
        args.bundle, rec, emit = setup_rank(args.bundle)
    else:
        emit = ProgressWriter(args.progress_fd)
        rec = bundle_mod.read_run(args.bundle)
    from analyzers.knobs import KnobError
    from collectors.workload_ref import WorkloadRefError
    try:
        code = run(args, rec, emit)
    except (KnobError, WorkloadRefError) as exc:
        kind = "refused" if isinstance(exc, KnobError) else "workload_ref"
        rec["status"], rec["error"], rec["error_kind"] = "failed", f"refused: {exc}", kind
        code = EXIT_REFUSED
    except BaseException as exc:  # the workload's own failure, whatever it is
        rec["status"] = "failed"
        rec["error"] = f"workload failed in phase {emit.phase!r}: {type(exc).__name__}: {exc}"
        rec["error_kind"] = "exception"
        rec["traceback"] = traceback.format_exc()
        sys.stderr.write(rec["traceback"])
        code = EXIT_FAILED
    _write(args.bundle, rec)
    if args.dist and code == EXIT_OK:
        from collectors.dist_child import destroy_process_group
        destroy_process_group()
    emit("done", 0, 0, rec["error"] or "ok", event="refused" if code == EXIT_REFUSED else "done",
         status=rec["status"], median_step_ms=rec["timed_steps"]["median_ms"])
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
