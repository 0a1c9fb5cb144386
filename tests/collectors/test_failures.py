"""A workload that raises, segfaults, hangs or is cancelled: clear message, bundle records it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from collector_helpers import FAST, REPO, leftovers, load_run

from collectors.runner import run_workload

STEP_WORKLOAD = """
    import os, signal, time, ctypes
    import torch
    from torch import nn
    from collectors.workload_api import Workload

    MODE = {mode!r}

    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls == 3:  # the first warm-up call is fine, the profiled window is not
                if MODE == "raise":
                    raise RuntimeError("boom in forward")
                if MODE == "segv":
                    os.kill(os.getpid(), signal.SIGSEGV)
                if MODE == "hang":
                    while True:
                        time.sleep(0.05)
            return self.lin(x)

    def build(config):
        if MODE == "build_segv":
            ctypes.string_at(0)
        return Workload(model=Bad(), kind="infer", inputs=torch.randn(2, 4))
"""


def failing(write_workload, mode):
    return str(write_workload(f"bad_{mode}", STEP_WORKLOAD.format(mode=mode)))


def assert_failed_bundle(result, status, runs_dir):
    assert result.status == status
    assert result.bundle_path and os.path.isdir(result.bundle_path)
    run = load_run(result.bundle_path)
    assert run["status"] == status and run["error"] == result.error and result.error
    assert run["schema_version"] == 1 and run["kind"] == "torchscope-run"
    assert os.path.exists(os.path.join(result.bundle_path, "samples.csv.gz"))
    assert not leftovers(runs_dir)
    return run


def test_workload_that_raises(runs_dir, write_workload):
    result = run_workload(failing(write_workload, "raise"), {}, str(runs_dir), timeout_s=60, **FAST)
    run = assert_failed_bundle(result, "failed", runs_dir)
    assert "RuntimeError: boom in forward" in result.error
    assert "phase 'profile'" in result.error
    assert "boom in forward" in run["traceback"]
    assert run["exit_code"] == 1


@pytest.mark.parametrize("mode,where", [("segv", "phase 'profile'"), ("build_segv", "phase 'setup'")])
def test_workload_that_segfaults(runs_dir, write_workload, mode, where):
    result = run_workload(failing(write_workload, mode), {}, str(runs_dir), timeout_s=60, **FAST)
    run = assert_failed_bundle(result, "failed", runs_dir)
    assert "SIGSEGV" in result.error and "segmentation fault" in result.error and where in result.error
    assert run["exit_code"] == -signal.SIGSEGV
    assert not os.path.exists(os.path.join(result.bundle_path, "trace.json.gz"))
    assert run["trace"] is None


def test_workload_that_hangs_times_out(runs_dir, write_workload):
    t0 = time.monotonic()
    result = run_workload(failing(write_workload, "hang"), {}, str(runs_dir), timeout_s=6, **FAST)
    assert time.monotonic() - t0 < 15
    run = assert_failed_bundle(result, "timeout", runs_dir)
    assert "timed out after 6 s" in result.error and "phase 'profile'" in result.error
    assert "bad_hang.py" in result.error  # the stack dump says where it hung
    assert "bad_hang.py" in run["error_detail"]


def _live_group_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies (killed ones may wait for init to reap them)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(entry))
    return members


def test_cancel_kills_child_and_dataloader_workers(runs_dir):
    cancel = threading.Event()
    seen: list[dict] = []

    def on_progress(event):
        seen.append(event)
        if event.get("phase") == "timed":
            cancel.set()

    result = run_workload("slow_loader", {"num_workers": 2, "persistent_workers": True}, str(runs_dir),
                          timeout_s=60, on_progress=on_progress, cancel=cancel,
                          warmup_steps=1, profile_steps=1, timed_steps=500)
    run = assert_failed_bundle(result, "cancelled", runs_dir)
    assert "cancelled in phase 'timed'" in result.error
    pid = run["env"]["pid"]
    assert run["settings"]["num_workers"] == 2
    deadline = time.monotonic() + 1.5  # well under the workers' own 5 s parent watchdog
    while _live_group_members(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _live_group_members(pid) == []  # the child and its DataLoader workers are gone


def test_ctrl_c_on_cli_records_cancelled(runs_dir, write_workload):
    path = failing(write_workload, "hang")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "collectors.cli", "profile", path, "--out", str(runs_dir),
                             "--warmup", "1", "--profile-steps", "2", "--steps", "2"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the child reached the hang (the profiled window)
        partial = [p for p in runs_dir.iterdir() if ".partial-" in p.name]
        if partial and (partial[0] / "trace.json.tmp").exists() or (
                partial and "\"env\": {}" not in (partial[0] / "run.json").read_text()):
            break
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    bundle = out.strip().splitlines()[-1]
    run = load_run(bundle)
    assert run["status"] == "cancelled" and "cancelled" in run["error"]
    assert "Traceback" not in err
