"""The profile/ab/workloads subcommands: output, exit codes, fast import, argument passing."""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys

import pytest

from collector_helpers import REPO, load_run, run_cli

from collectors import cli
from collectors.workload_ref import BUILTINS


def test_register_adds_subcommands():
    parser = argparse.ArgumentParser(prog="torchscope")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    args = parser.parse_args(["ab", "slow_loader", "--fix", "num_workers=2", "--rounds", "1"])
    assert callable(args.func) and args.fixes == ["num_workers=2"] and args.rounds == 1
    args = parser.parse_args(["workloads"])
    assert args.func is cli.cmd_workloads


def test_cli_module_does_not_import_torch():
    code = "import sys, collectors.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_workloads_lists_builtins():
    proc = run_cli("workloads")
    assert proc.returncode == 0
    lines = proc.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(BUILTINS)
    assert all(len(line.split(None, 1)[1]) > 20 for line in lines)


def test_user_errors_exit_2_with_one_line(tmp_path):
    no_build = tmp_path / "notes.txt"
    no_build.write_text("hi")
    for args, needle in ((["profile", "no_such_workload"], "unknown workload"),
                         (["profile", str(tmp_path / "missing.py")], "not found"),
                         (["profile", str(no_build)], "must be a .py file"),
                         (["profile", "no_such_pkg.mod:build"], "cannot find module"),
                         (["ab", "slow_loader"], "at least one --fix"),
                         (["profile", "collectors.builtin_workloads.mlp_infer:nope"], "no callable nope()")):
        proc = run_cli(*args, "--out", str(tmp_path / "runs"))
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert lines[-1].startswith("torchscope: error: ") and needle in lines[-1], lines
        assert [line for line in lines if "error" in line] == lines[-1:]
        if args[1] != "collectors.builtin_workloads.mlp_infer:nope":  # found in the child: progress before
            assert len(lines) == 1, lines
    assert not (tmp_path / "runs").exists() or not os.listdir(tmp_path / "runs")
    proc = run_cli("profile", "mlp_infer", "--bogus", "--out", str(tmp_path / "runs"))  # argparse's own format
    assert proc.returncode == 2 and "unrecognized arguments: --bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_profile_options_after_workload_and_args_after_dashdash(tmp_path, write_workload):
    path = write_workload("echo_args", """
        import torch
        from collectors.workload_api import Workload

        def build(config):
            assert config.args == ("--width", "6"), config.args
            width = int(config.args[1])
            return Workload(model=torch.nn.Linear(width, 2), kind="infer",
                            inputs=torch.randn(config.batch_size(3), width))
    """)
    out = tmp_path / "runs"
    proc = run_cli("profile", str(path), "--set", "threads=1", "--set", "batch_size=5", "--steps", "3",
                   "--warmup", "1", "--profile-steps", "1", "--out", str(out), "--name", "mine", "--json",
                   "--", "--width", "6")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "ok" and result["bundle_path"] == str(out / "mine")
    assert len(result["step_times_ms"]) == 3
    run = load_run(result["bundle_path"])
    assert run["workload_args"] == ["--width", "6"]
    assert run["settings"] == {"threads": 1, "batch_size": 5}
    assert run["env"]["torch_threads"] == 1
    assert "profile" in proc.stderr and "timed" in proc.stderr  # progress on stderr


def test_profile_failed_run_exits_1_and_prints_bundle(tmp_path, write_workload):
    path = write_workload("broken", """
        def build(config):
            return 42
    """)
    proc = run_cli("profile", str(path), "--out", str(tmp_path / "runs"), "--quiet")
    assert proc.returncode == 1
    bundle = proc.stdout.strip()
    run = load_run(bundle)
    assert run["status"] == "failed" and "returned int, not a Workload" in run["error"]
    assert "torchscope: run failed:" in proc.stderr and "Traceback" not in proc.stderr


def test_failing_workload_message_printed_once_with_bundle(tmp_path, write_workload):
    path = write_workload("broken_once", """
        def build(config):
            return 42
    """)
    proc = run_cli("profile", str(path), "--out", str(tmp_path / "runs"))
    assert proc.returncode == 1
    bundle = proc.stdout.strip()
    assert proc.stderr.count("returned int, not a Workload") == 1, proc.stderr
    assert f"(bundle: {bundle})" in proc.stderr
    assert "done:" not in proc.stderr and "failed:" not in proc.stderr.replace("run failed:", "")


def test_every_workload_command_takes_the_same_run_options():
    parser = argparse.ArgumentParser(prog="torchscope")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    for cmd in ("profile", "ab"):
        args = parser.parse_args([cmd, "train.py", "--script", "--with-stack", "--fix", "num_workers=2"]
                                 if cmd == "ab" else [cmd, "train.py", "--script", "--with-stack"])
        assert args.script is True and args.with_stack is True, cmd
        args = parser.parse_args([cmd, "--script", "train.py"] + (["--fix", "a=1"] if cmd == "ab" else []))
        assert args.script is True and args.with_stack is True, cmd  # stacks are recorded by default
        args = parser.parse_args([cmd, "train.py", "--no-stack"] + (["--fix", "a=1"] if cmd == "ab" else []))
        assert args.with_stack is False, cmd
    actions = {cmd: {o for a in sub.choices[cmd]._actions for o in a.option_strings} for cmd in ("profile", "ab")}
    assert actions["profile"] <= actions["ab"], actions["profile"] - actions["ab"]


def test_ab_help_shows_a_plain_percent_sign():
    proc = run_cli("ab", "--help")
    assert "95% CI" in proc.stdout and "%%" not in proc.stdout


def test_unknown_knob_suggests_the_close_name(tmp_path):
    proc = run_cli("ab", "slow_loader", "--fix", "num_worker=2", "--out", str(tmp_path / "runs"))
    assert proc.returncode == 2
    assert "did you mean num_workers?" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_progress_lines_read_well():
    stream = io.StringIO()
    printer = cli.ProgressPrinter(stream=stream)
    printer({"event": "phase", "phase": "warmup", "step": 0, "total": 1, "message": "warm-up step"})
    printer({"event": "phase", "phase": "profile", "step": 0, "total": 5, "message": "profiled step"})
    printer({"event": "phase", "phase": "write", "step": 0, "total": 1, "message": "exporting trace"})
    printer({"event": "done", "phase": "done", "message": "ok", "status": "ok"})
    printer({"event": "finished", "phase": "done", "status": "ok", "message": "ok", "bundle": "runs/x"})
    printer({"event": "finished", "phase": "done", "status": "failed", "message": "boom", "bundle": "runs/y"})
    assert stream.getvalue().splitlines() == ["warmup (1 step): warm-up step", "profile (5 steps): profiled step",
                                              "write: exporting trace", "done: runs/x"]


@pytest.mark.slow
def test_ab_runs_a_plain_script(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import torch\nm = torch.nn.Linear(16, 4)\nopt = torch.optim.SGD(m.parameters(), lr=0.1)\n"
                      "for _ in range(30):\n    loss = m(torch.randn(8, 16)).sum()\n"
                      "    opt.zero_grad(); loss.backward(); opt.step()\n")
    proc = run_cli("ab", str(script), "--script", "--fix", "threads=1", "--rounds", "1", "--steps", "3",
                   "--warmup", "1", "--profile-steps", "1", "--out", str(tmp_path / "runs"), "--json", timeout=240)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "ok" and result["a"]["median_step_ms"] > 0 and result["b"]["median_step_ms"] > 0
