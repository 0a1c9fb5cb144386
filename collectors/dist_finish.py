"""Settle a torchrun job's bundle: each rank's status, which rank failed first and why.

Reads every ``rank-<r>/run.json`` (a rank that raised wrote its error there),
torchrun's failure summary in the job log (``Root Cause (first observed
failure)``: rank and exit code, e.g. -9 for SIGKILL) and the watcher's last
progress event per rank, then writes the job's run.json (``ranks``,
``failed_rank``, ``status``, ``error``), each rank's run.json and samples, and
renames the bundle into place.
"""
from __future__ import annotations

import os
import re
import time
from typing import Any

from collectors import bundle as bundle_mod
from collectors.dist_child import rank_dir_name
from collectors.dist_launch import DistJob, RankWatch, describe_progress
from collectors.errors import KnobRefused
from collectors.runner import (SIGNAL_HINTS, ProgressFn, RunResult, _remove_tree, _signal_name, innermost_frame,
                               log_tail)
from collectors.sampler import SamplerThread
from collectors.workload_ref import WorkloadRefError

_ROOT_CAUSE = re.compile(r"Root Cause \(first observed failure\):.*?rank\s*:\s*(\d+).*?exitcode\s*:\s*(-?\d+)",
                         re.DOTALL)


_FAILURE = re.compile(r"rank\s*:\s*(\d+)\s*\(local_rank:[^)]*\)\s*exitcode\s*:\s*(-?\d+)")
#: a rank's own error that only says a peer went away (a consequence, not the cause)
PEER_ERRORS = ("Connection closed by peer", "remote worker", "Connection reset by peer", "Broken pipe",
               "communicator was aborted")
SIGTERM_EXIT = -15  # how torchrun stops the other ranks


def root_cause(log_text: str) -> tuple[int, int] | None:
    """(rank, exit code) of torchrun's first observed failure, from its summary in the job log."""
    found = _ROOT_CAUSE.findall(log_text)
    return (int(found[-1][0]), int(found[-1][1])) if found else None


def exit_codes(log_text: str) -> dict[int, int]:
    """Rank -> exit code of every failure in torchrun's last summary (the root cause included)."""
    start = log_text.rfind("Failures:")
    return {int(r): int(c) for r, c in _FAILURE.findall(log_text[start:] if start >= 0 else "")}


def _crashed(codes: dict[int, int]) -> list[int]:
    """Ranks that died from a signal torchrun did not send (SIGKILL, SIGSEGV...)."""
    return sorted(r for r, c in codes.items() if c < 0 and c != SIGTERM_EXIT)


def pick_cause(recs: dict[int, dict[str, Any]], log_text: str) -> tuple[int, int] | None:
    """(rank, exit code) that failed first: torchrun's root cause, unless that rank only reports a lost peer
    while another rank crashed (both can land in one monitor tick)."""
    cause, codes = root_cause(log_text), exit_codes(log_text)
    crashed = _crashed(codes)
    error = str((recs.get(cause[0]) or {}).get("error") or "") if cause else ""
    if crashed and (cause is None or (cause[0] not in crashed and any(p in error for p in PEER_ERRORS))):
        return crashed[0], codes[crashed[0]]
    return cause


def _rank_records(partial: str, nproc: int) -> dict[int, dict[str, Any]]:
    out = {}
    for r in range(nproc):
        path = os.path.join(partial, rank_dir_name(r), bundle_mod.RUN_JSON)
        out[r] = bundle_mod.read_run(path) if os.path.isfile(path) else {}
    return out


def _refusal(recs: dict[int, dict[str, Any]]) -> Exception | None:
    """The user error every rank refused with (a knob that does not apply, a bad reference), if any."""
    for rec in recs.values():
        kind = rec.get("error_kind")
        if kind in ("refused", "workload_ref"):
            message = str(rec.get("error") or "refused").removeprefix("refused: ")
            return KnobRefused(message) if kind == "refused" else WorkloadRefError(message)
    return None


def _died(r: int, code: int, watch: RankWatch, tail: str) -> str:
    """Why a rank that wrote no error ended: its signal or exit code, where it was."""
    where = describe_progress(watch.last.get(r))
    frame = innermost_frame(tail)
    at = f"; last Python frame: {frame}" if frame else ""
    if code < 0:
        sig = _signal_name(-code)
        hint = SIGNAL_HINTS.get(sig, "")
        return f"rank {r} died from {sig}{f' ({hint})' if hint else ''} {where}{at}"
    return f"rank {r} exited with code {code} {where}{at}"


def _first_failure(recs: dict[int, dict[str, Any]], cause: tuple[int, int] | None,
                   watch: RankWatch, tails: dict[int, str]) -> tuple[int | None, str | None]:
    """(the rank that failed first, the job's error line) after torchrun ended the job."""
    raised = [r for r, rec in recs.items() if rec.get("status") == "failed" and rec.get("error")]
    if cause is not None and cause[0] in recs:
        r, code = cause
        if r in raised:
            return r, f"rank {r} failed: {recs[r]['error']}"
        return r, _died(r, code, watch, tails.get(r, ""))
    if raised:
        return raised[0], f"rank {raised[0]} failed: {recs[raised[0]]['error']}"
    return None, None


def _timeout_error(job: DistJob, watch: RankWatch, tails: dict[int, str]) -> str:
    parts = []
    for r in range(job.nproc):
        frame = innermost_frame(tails.get(r, ""))
        parts.append(f"rank {r} {describe_progress(watch.last.get(r))}" + (f" at {frame}" if frame else ""))
    return f"timed out after {job.timeout_s:g} s; every rank killed; " + "; ".join(parts)


def settle(job: DistJob, rc: int | None, outcome: str | None, watch: RankWatch,
           recs: dict[int, dict[str, Any]], job_log: str) -> tuple[str, str | None, int | None]:
    """(job status, error line, failed rank); marks each unfinished rank record with why it stopped."""
    tails = {r: log_tail(os.path.join(job.partial, rank_dir_name(r), bundle_mod.LOG)) for r in recs}
    if outcome == "timeout":
        status, error, failed = "timeout", _timeout_error(job, watch, tails), None
    elif outcome == "cancelled":
        status, error, failed = "cancelled", "cancelled; every rank killed", None
    elif rc == 0 and all(rec.get("status") == "ok" for rec in recs.values()):
        return "ok", None, None
    else:
        failed, error = _first_failure(recs, pick_cause(recs, job_log), watch, tails)
        status = "failed"
        if error is None:
            missing = [r for r, rec in recs.items() if rec.get("status") != "ok"]
            error = (f"torchrun exited with code {rc}; rank(s) {', '.join(map(str, missing)) or 'none'} "
                     f"did not finish: {job_log.strip().splitlines()[-1] if job_log.strip() else 'no output'}")
    for r, rec in recs.items():
        if r == failed and rec.get("status") != "failed":  # died without writing its own error
            rec.update(status="failed", error=error, error_detail=tails.get(r, ""))
        elif rec.get("status") not in ("ok", "failed"):  # still 'running' (or never started): stopped
            frame = innermost_frame(tails.get(r, ""))
            why = (f"stopped by torchrun after rank {failed} failed" if failed is not None else
                   f"{status}: killed {describe_progress(watch.last.get(r))}" + (f" at {frame}" if frame else "")
                   if status != "failed" else str(error))
            rec.update(status=status, error=why, error_detail=tails.get(r, ""))
        elif r != failed and failed is not None and rec.get("status") == "failed":
            rec["error"] = f"after rank {failed} failed: {rec.get('error')}"  # its own error is the consequence
    return status, error, failed


def _job_steps(recs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The job's timed steps: per step, the slowest rank (every rank waits for it)."""
    series = [rec.get("timed_steps", {}).get("step_ms") or [] for rec in recs.values() if rec.get("status") == "ok"]
    if not series:
        return bundle_mod.step_stats([])
    n = min(len(s) for s in series)
    return bundle_mod.step_stats([max(s[i] for s in series) for i in range(n)])


def _write_ranks(job: DistJob, recs: dict[int, dict[str, Any]], watch: RankWatch,
                 gpu_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write each rank's samples and run.json; return the job's ``ranks`` list."""
    out = []
    for r, rec in recs.items():
        rank_dir = os.path.join(job.partial, rank_dir_name(r))
        os.makedirs(rank_dir, exist_ok=True)
        mine = [row for row in gpu_rows if row.get("source") == f"gpu{rec.get('local_rank', r)}"]
        rec["samples"] = bundle_mod.write_samples(os.path.join(rank_dir, bundle_mod.SAMPLES),
                                                  watch.rows.get(r, []) + mine)
        has_trace = os.path.isfile(os.path.join(rank_dir, bundle_mod.TRACE))
        rec["trace"] = bundle_mod.TRACE if has_trace else None
        rec.setdefault("rank", r)
        bundle_mod.write_json_atomic(os.path.join(rank_dir, bundle_mod.RUN_JSON), rec)
        out.append({"rank": r, "status": rec.get("status", "failed"), "error": rec.get("error"),
                    "pid": watch.pids.get(r), "trace": f"{rank_dir_name(r)}/{bundle_mod.TRACE}" if has_trace else None,
                    "median_step_ms": (rec.get("timed_steps") or {}).get("median_ms")})
    return out


def finish_distributed(job: DistJob, rc: int | None, outcome: str | None, watch: RankWatch,
                       rows: list[dict[str, Any]], sampler: SamplerThread | None, notify: ProgressFn) -> RunResult:
    """Settle statuses, write run.json files and samples, rename the bundle into place."""
    recs = _rank_records(job.partial, job.nproc)
    refused = _refusal(recs) if outcome is None else None
    if refused is not None:
        _remove_tree(job.partial)
        raise refused
    job_log = log_tail(os.path.join(job.partial, bundle_mod.LOG), 20000)
    status, error, failed = settle(job, rc, outcome, watch, recs, job_log)
    rec = bundle_mod.read_run(job.partial)
    rec.update(status=status, error=error, failed_rank=failed, exit_code=rc, trace=None,
               wall_s=round(time.monotonic() - job.started, 3), timed_steps=_job_steps(recs))
    if error:
        rec["error_detail"] = job_log[-2500:]
    rec["ranks"] = _write_ranks(job, recs, watch, [r for r in rows if r.get("source", "").startswith("gpu")])
    rec["nvml"] = sampler.nvml_status if sampler is not None else "not sampled"
    rec["samples"] = bundle_mod.write_samples(os.path.join(job.partial, bundle_mod.SAMPLES), rows)
    first_ok = next((r for r in recs.values() if r.get("status") == "ok"), {})
    for key in ("env", "device", "settings", "workload_kind", "description", "batch_size", "loop", "model_facts"):
        if key in first_ok:
            rec[key] = first_ok[key]
    bundle_mod.write_json_atomic(os.path.join(job.partial, bundle_mod.RUN_JSON), rec)
    path = bundle_mod.finalize(job.partial, job.name)
    steps = rec["timed_steps"]
    result = RunResult(bundle_path=path, status=status, error=error, median_step_ms=steps.get("median_ms"),
                       step_times_ms=list(steps.get("step_ms", [])), exit_code=rc, wall_s=rec["wall_s"],
                       batch_size=rec.get("batch_size"))
    notify({"event": "finished", "phase": "done", "step": 0, "total": 0, "status": status,
            "message": error or "ok", "bundle": path})
    return result
