"""torchscope tune: early stopping, failures, skips, stacking, budget and cancel (fake runs), and the CLI."""
from __future__ import annotations

import json
import os
import threading

import pytest
from collector_helpers import run_cli
from tune_fakes import FakeClock, FakeRunner

from collectors import tune as tune_mod
from collectors.errors import UsageError
from collectors.tune import BaselineFailed, TuneConfig, parse_budget, run_tune
from collectors.tune_report import format_tune, to_json


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(tune_mod.time, "monotonic", c)
    return c


def _by_knob(result):
    return {m.cand.label: m for m in result.candidates}


@pytest.mark.parametrize("text,seconds", [("10m", 600), ("90s", 90), ("1h", 3600), ("120", 120), ("2.5min", 150)])
def test_budget_parses_durations(text, seconds):
    assert parse_budget(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["0", "0m", "-5m", "ten", "", "nan", "inf"])
def test_budget_refuses_zero_and_garbage(text):
    with pytest.raises(UsageError, match="--budget"):
        parse_budget(text)


def test_clear_winner_stops_at_min_rounds_and_no_effect_stops_early(tmp_path, clock):
    runner = FakeRunner({"num_workers=2": 0.5, "threads=1": 1.0, "optimizer_impl=foreach": 1.3})
    cfg = TuneConfig(budget_s=3600, max_rounds=10)
    result = run_tune("slow_loader", {}, str(tmp_path), cfg, runner=runner,
                      candidates=["num_workers=2", "threads=1", "optimizer_impl=foreach"])
    got = _by_knob(result)
    nw, th, opt = got["num_workers=2"], got["threads=1"], got["optimizer_impl=foreach"]
    assert nw.cand.verdict == "faster" and nw.rounds == cfg.min_rounds
    assert nw.speedup == pytest.approx(2.0, rel=0.03) and nw.ci_low > 1.5
    assert th.cand.verdict == "no effect" and th.rounds < cfg.max_rounds, th.cand.reason
    assert opt.cand.verdict == "slower" and opt.ci_high < 1.0 and opt.rounds == cfg.min_rounds
    assert result.ranked()[0] is nw and result.recommended == {"num_workers": 2}
    # the baseline and every round's runs are kept under the tune folder, one bundle per run
    names = sorted(p.name for p in (tmp_path / result.out_dir.split("/")[-1]).iterdir())
    assert "baseline" in names and len(names) == len(runner.calls)
    # rounds alternate which side runs first: baseline first, then last, then first
    seq = [n for n, _ in runner.calls]
    assert seq[:4] == ["baseline", "num_workers-2-r1", "threads-1-r1", "optimizer_impl-foreach-r1"]
    assert seq[4:8] == ["optimizer_impl-foreach-r2", "threads-1-r2", "num_workers-2-r2", "baseline-r2"]


def test_crash_and_hang_are_failed_and_never_stop_the_tune(tmp_path, clock):
    runner = FakeRunner({"compile=default": "fail", "threads=1": "timeout", "num_workers=2": 0.6})
    result = run_tune("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=3600), runner=runner,
                      candidates=["compile=default", "threads=1", "num_workers=2"])
    got = _by_knob(result)
    assert got["compile=default"].cand.verdict == "failed" and "boom" in got["compile=default"].cand.reason
    assert got["threads=1"].cand.verdict == "failed" and "timed out" in got["threads=1"].cand.reason
    assert got["compile=default"].rounds == 0 and len([n for n, s in runner.calls if "compile" in s]) == 1
    assert got["num_workers=2"].cand.verdict == "faster" and result.status == "ok"


def test_inapplicable_standard_knobs_are_skipped_with_the_reason(tmp_path, clock):
    runner = FakeRunner({"num_workers=2": 0.5})
    result = run_tune("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=3600), runner=runner)
    got = _by_knob(result)
    # the fake bundle has no trace: no findings, the standard CPU list
    assert got["channels_last=true"].cand.verdict == "skipped"
    assert "no 2-D convolution" in got["channels_last=true"].cand.reason
    assert got["inference_mode=true"].cand.verdict == "skipped" and "training" in got["inference_mode=true"].cand.reason
    assert got["amp=bf16"].cand.verdict == "skipped" and "no native bf16" in got["amp=bf16"].cand.reason
    ran = {k for _, s in runner.calls for k in s}
    assert not ran & {"channels_last", "inference_mode", "amp", "dynamic_quant"}  # skipped before any run
    assert "skipped" in format_tune(result) and "no native bf16" in format_tune(result)


def test_winners_are_stacked_and_tested_against_the_baseline(tmp_path, clock):
    runner = FakeRunner({"num_workers=2": 0.5, "threads=1": 0.8})
    result = run_tune("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=3600), runner=runner,
                      candidates=["num_workers=2", "threads=1"])
    assert result.stack is not None and result.stack.cand.settings == {"num_workers": 2, "threads": 1}
    assert result.stack.speedup == pytest.approx(2.5, rel=0.03) and result.stack.cand.verdict == "faster"
    assert result.recommended == {"num_workers": 2, "threads": 1}
    assert any(s == {"num_workers": 2, "threads": 1} for _, s in runner.calls)
    out = to_json(result)
    assert set(out) >= {"baseline", "candidates", "stack", "recommended", "wall_s"}
    assert set(out["candidates"][0]) >= {"knob", "value", "speedup", "ci_low", "ci_high", "rounds", "verdict", "reason"}
    assert out["stack"]["speedup"] == pytest.approx(result.stack.speedup)


def test_a_stack_slower_than_its_best_member_is_reported(tmp_path, clock):
    runner = FakeRunner({"num_workers=2": 0.5, "threads=1": 0.8, "combo": 1.0})
    original = runner.__call__

    def call(ref, settings, *a, **kw):  # the two fixes fight each other when combined
        if settings.get("num_workers") == 2 and settings.get("threads") == 1:
            settings = {"optimizer_impl": "foreach"}
            runner.effects["optimizer_impl=foreach"] = 0.7
        return original(ref, settings, *a, **kw)
    result = run_tune("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=3600), runner=call,
                      candidates=["num_workers=2", "threads=1"])
    assert result.stack.speedup == pytest.approx(1 / 0.7, rel=0.03)
    assert result.recommended == {"num_workers": 2}
    assert any("not faster than its best member" in n for n in result.notes)


def test_budget_is_kept(tmp_path, clock):
    runner = FakeRunner({"threads=1": 1.0, "num_workers=2": 1.0}, clock=clock, run_sd=0.08, wall_s=10.0)
    result = run_tune("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=150, max_rounds=20), runner=runner,
                      candidates=["threads=1", "num_workers=2"])
    assert clock.now - 1000.0 <= 150 * 1.1
    assert result.wall_s <= 150 * 1.1
    assert all(m.cand.verdict in ("no effect", "faster", "slower") for m in result.candidates)
    assert any("budget spent" in m.cand.reason for m in result.candidates)


def test_cancel_keeps_what_was_measured(tmp_path, clock):
    cancel = threading.Event()
    runner = FakeRunner({"threads=1": 1.0, "num_workers=2": 0.9}, run_sd=0.1,
                        on_run=lambda r: cancel.set() if len(r.calls) >= 10 else None)
    result = run_tune("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=3600), runner=runner,
                      candidates=["threads=1", "num_workers=2"], cancel=cancel)
    assert result.status == "cancelled"
    assert all(m.rounds >= 2 for m in result.candidates) and all(m.speedup for m in result.candidates)
    assert "cancelled" in format_tune(result)


def test_baseline_failure_is_a_user_error(tmp_path, clock):
    with pytest.raises(BaselineFailed, match="fails with the baseline settings"):
        run_tune("slow_loader", {}, str(tmp_path), TuneConfig(), runner=FakeRunner({}, fail_baseline=True),
                 candidates=["threads=1"])


@pytest.mark.parametrize("args,needle", [
    (["--candidates", "num_wrokers=2"], "unknown knob 'num_wrokers'"),
    (["--budget", "0"], "--budget '0'"),
    (["--budget", "soon"], "--budget 'soon'"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    proc = run_cli("tune", "slow_loader", *args, "--out", str(tmp_path), timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torchscope: error:") and needle in lines[0], proc.stderr
    assert not list(tmp_path.iterdir())


def test_cli_workload_failing_at_baseline(tmp_path, write_workload):
    path = write_workload("broken", """
        def build(config):
            raise RuntimeError("no data here")
    """)
    proc = run_cli("tune", str(path), "--quiet", "--out", str(tmp_path), timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "fails with the baseline settings" in lines[0] and "no data here" in lines[0]


def test_budget_is_kept_with_a_stack(tmp_path, clock):
    runner = FakeRunner({"num_workers=2": 0.5, "threads=1": 0.8}, clock=clock, wall_s=10.0)
    result = run_tune("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=200), runner=runner,
                      candidates=["num_workers=2", "threads=1"])
    assert clock.now - 1000.0 <= 200 * 1.1
    assert result.stack is not None and result.stack.rounds >= 2
    assert [m.cand.verdict for m in result.ranked()] == ["faster", "faster"]


def test_cli_tune_slow_loader_real_runs(tmp_path):
    """A real (short) tune: the JSON's speedup is the pooled median ratio of the kept bundles' timed steps."""
    import numpy as np
    from collector_helpers import load_run
    proc = run_cli("tune", "slow_loader", "--set", "threads=1", "--candidates", "num_workers=2,channels_last=true",
                   "--budget", "4m", "--steps", "6", "--warmup", "2", "--profile-steps", "1", "--max-rounds", "2",
                   "--out", str(tmp_path), "--json", timeout=400)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"baseline", "candidates", "stack", "recommended", "wall_s"}
    assert out["wall_s"] <= 240 * 1.1
    got = {c["knob"]: c for c in out["candidates"]}
    assert got["channels_last"]["verdict"] == "skipped" and "nothing to act on" in got["channels_last"]["reason"]
    nw = got["num_workers"]
    assert nw["verdict"] in ("faster", "no effect", "slower") and 1 <= nw["rounds"] <= 2
    folder = tmp_path / os.path.basename(out["out_dir"])
    a_steps, b_steps = [], []
    for r in range(1, nw["rounds"] + 1):
        a_steps += load_run(folder / ("baseline" if r == 1 else f"baseline-r{r}"))["timed_steps"]["step_ms"]
        b_steps += load_run(folder / f"num_workers-2-r{r}")["timed_steps"]["step_ms"]
    assert nw["speedup"] == pytest.approx(np.median(a_steps) / np.median(b_steps), rel=1e-4)
    assert nw["ci_low"] <= nw["speedup"] <= nw["ci_high"]
    assert load_run(folder / "num_workers-2-r1")["settings"] == {"threads": 1, "num_workers": 2}
    assert os.path.exists(folder / "baseline" / "trace.json.gz")  # the baseline is a full profiled bundle


def test_cli_ctrl_c_prints_the_partial_table(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from collector_helpers import REPO
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "collectors.cli", "tune", "slow_loader", "--set", "threads=1",
                             "--candidates", "num_workers=2", "--steps", "60", "--out", str(tmp_path)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the baseline is done and a candidate run has started
        time.sleep(1)
        folders = list(tmp_path.glob("tune-*/*"))
        if any(p.name.startswith("num_workers") for p in folders) or proc.poll() is not None:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "tune cancelled" in out and "num_workers=2" in out and "Traceback" not in err
    assert (next(tmp_path.glob("tune-*")) / "baseline" / "run.json").exists()  # the baseline bundle is kept


def test_an_undecided_stack_is_not_recommended():
    from collectors.tune import Measured, recommend
    from collectors.tune_candidates import Candidate
    a = Measured(Candidate("num_workers", 2, verdict="faster"), speedup=1.38)
    b = Measured(Candidate("optimizer_impl", "fused", verdict="faster"), speedup=1.10)
    stack = Measured(Candidate("num_workers", 2, verdict="no effect", extra={"optimizer_impl": "fused"}),
                     b_rounds=[[1.0], [1.0]], speedup=1.76)
    notes: list[str] = []
    assert recommend([a, b], stack, notes) == {"num_workers": 2}
    assert "was not shown faster than the baseline (no effect, 2 rounds)" in notes[0]
