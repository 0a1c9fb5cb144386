"""The ``profile``, ``ab`` and ``workloads`` subcommands (registered into the torchscope CLI).

Imports no torch at module import time; the runner is imported inside the
commands.  User errors print one ``torchscope: error: ...`` line and exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def _error(message: str) -> int:
    print(f"torchscope: error: {message}", file=sys.stderr)
    return EXIT_USAGE


STEP_PHASES = ("warmup", "profile", "timed")


def _step_count(phase: str, total: int) -> str:
    """`` (3 steps)`` for the phases that count steps, else nothing."""
    if phase not in STEP_PHASES or not total:
        return ""
    return f" ({total} step{'' if total == 1 else 's'})"


class ProgressPrinter:
    """Plain-text progress on stderr: a redrawn bar on a terminal, one line per phase otherwise."""

    def __init__(self, stream: Any = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.quiet = quiet
        self._last_key: tuple[Any, ...] | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        # "refused": the error line says it; "done" (the child's own end): "finished" follows.
        if self.quiet or event.get("event") in ("refused", "done"):
            return
        prefix = f"[{event['side']} {event['round']}/{event['rounds']}] " if "side" in event else ""
        phase, step, total = event.get("phase", ""), int(event.get("step") or 0), int(event.get("total") or 0)
        if event.get("event") == "finished":
            self._end_line()
            if event.get("status") == "ok":  # a failure is printed once, by the command, with the bundle
                print(f"{prefix}done: {event.get('bundle') or 'ok'}", file=self.stream)
            return
        if self.tty and total:
            width = 24
            filled = int(width * min(step, total) / total)
            self.stream.write(f"\r{prefix}{phase:<8} [{'#' * filled}{'.' * (width - filled)}] {step}/{total}  ")
            self.stream.flush()
            self._last_key = ("bar",)
            return
        key = (prefix, phase)
        if key != self._last_key:
            self._end_line()
            print(f"{prefix}{phase}{_step_count(phase, total)}: {event.get('message', '')}", file=self.stream)
            self._last_key = key

    def _end_line(self) -> None:
        if self.tty and self._last_key == ("bar",):
            self.stream.write("\n")
            self._last_key = None


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn user errors into one error line and exit code 2."""
    def wrapped(args: argparse.Namespace) -> int:
        from collectors.errors import USER_ERRORS
        try:
            return func(args)
        except USER_ERRORS as exc:
            return _error(str(exc))
    wrapped.__name__ = func.__name__
    wrapped.__doc__ = func.__doc__
    return wrapped


def _add_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    """The run options of every workload command; with ``suppress`` no defaults (to re-parse
    options given after WORKLOAD)."""
    _add_workload_options(p, suppress)

    def d(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value
    p.add_argument("--set", dest="sets", action="append", default=d([]), metavar="KNOB=VALUE",
                   help="knob setting (repeatable)")
    p.add_argument("--out", default=d("runs"), metavar="DIR", help="folder for the bundle(s) (default: runs)")
    p.add_argument("--name", default=d(None), help="bundle name (default: WORKLOAD-DATE-TIME)")
    p.add_argument("--steps", type=int, default=d(20), metavar="N", help="timed, unprofiled steps (default 20)")
    p.add_argument("--warmup", type=int, default=d(3), metavar="N", help="warm-up steps (default 3)")
    p.add_argument("--profile-steps", type=int, default=d(3), metavar="N",
                   help="profiled steps in the trace (default 3)")
    p.add_argument("--timeout", type=float, default=d(600.0), metavar="S",
                   help="kill the run after S seconds (default 600)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=d("auto"))
    p.add_argument("--json", action="store_true", default=d(False), help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", default=d(False), help="no progress on stderr")


def _add_workload_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    """How the workload runs: the same for every command that runs one (profile, ab)."""
    p.add_argument("--with-stack", action="store_true", default=argparse.SUPPRESS if suppress else True,
                   help="record Python stacks in the profiled window (the default: module tree, flame graph)")
    p.add_argument("--no-stack", dest="with_stack", action="store_false", default=argparse.SUPPRESS,
                   help="do not record Python stacks (smaller trace, no module tree or flame graph)")
    p.add_argument("--script", action="store_true", default=argparse.SUPPRESS if suppress else False,
                   help="treat the file as a plain script (profiler stepped on optimizer steps)")
    p.add_argument("--nproc-per-node", dest="nproc_per_node", type=int,
                   default=argparse.SUPPRESS if suppress else 1, metavar="N",
                   help="run N ranks through torchrun (gloo on CPU, NCCL on GPUs); one rank-<r> folder each")


def _add_ab_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    def d(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value
    p.add_argument("--fix", dest="fixes", action="append", default=d([]), metavar="KNOB=VALUE",
                   help="the fix applied on side B (repeatable, at least one)")
    p.add_argument("--rounds", type=int, default=d(3), metavar="N", help="A/B rounds (default 3)")
    p.add_argument("--seed", type=int, default=d(0), help="bootstrap seed")
    p.add_argument("--aa", action="store_true", default=d(False),
                   help="A/A run: both sides identical (measures the false-positive rate; no --fix)")


def _add_tune_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    def d(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value
    p.add_argument("--budget", default=d("10m"), help="total wall time, e.g. 10m, 90s, 1h (default 10m)")
    p.add_argument("--candidates", action="append", default=d([]), metavar="K=V,...",
                   help="try only these knob settings (comma separated; repeatable)")
    p.add_argument("--band", type=float, default=d(0.02), metavar="F",
                   help="no-effect band: speedups within 1 +- F are not worth a change (default 0.02)")
    p.add_argument("--max-rounds", type=int, default=d(10), metavar="N", help="rounds per candidate at most")


class _RestAction(argparse.Action):
    """WORKLOAD's remainder: options written after WORKLOAD, then ``-- ARGS`` for the workload.

    argparse hands every word after the positional WORKLOAD to a REMAINDER
    argument; this action parses the options among them at parse time, so the
    namespace is complete when parse_args returns, and keeps what follows
    ``--`` as the workload's arguments.
    """

    def __init__(self, option_strings: Any, dest: str, extra: Callable[..., None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.extra = extra

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        rest = list(values or [])
        cut = rest.index("--") if "--" in rest else len(rest)
        opts, workload_args = rest[:cut], rest[cut + 1:]
        setattr(namespace, self.dest, workload_args)
        if not opts:
            return
        sub = argparse.ArgumentParser(prog=parser.prog, add_help=False)
        _add_options(sub, suppress=True)
        if self.extra is not None:
            self.extra(sub, True)
        parsed, unknown = sub.parse_known_args(opts)
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)} (workload arguments go after --)")
        for key, value in vars(parsed).items():
            if isinstance(value, list):
                setattr(namespace, key, list(getattr(namespace, key, None) or []) + value)
            else:
                setattr(namespace, key, value)


def _positionals(p: argparse.ArgumentParser, extra: Callable[..., None] | None) -> None:
    p.add_argument("workload", help="built-in name, a .py file defining build(config), "
                                    "module:function, or a plain training script")
    p.add_argument("workload_args", nargs=argparse.REMAINDER, action=_RestAction, extra=extra,
                   help="options, then -- ARGS: arguments for the workload (config.args) or script (sys.argv)")


def register(subparsers: Any) -> None:
    """Add ``profile``, ``ab`` and ``workloads`` to an argparse subparsers object."""
    p = subparsers.add_parser("profile", help="run a workload once and record a bundle",
                              description="Run a workload in a child process: warm-up, profiled window, "
                                          "timed steps; write a run bundle and print its path.")
    _add_options(p)
    _positionals(p, None)
    p.set_defaults(func=_guard(cmd_profile), command_name="profile")

    p = subparsers.add_parser("ab", help="A/B: baseline vs fixed knobs, interleaved, with a bootstrap CI",
                              description="Run A (--set) and B (--set + --fix) interleaved A B A B ... in "
                                          "separate child processes; report median step times, speedup "
                                          "median_A/median_B and a bootstrap 95% CI.")
    _add_options(p)
    _add_ab_options(p)
    _positionals(p, _add_ab_options)
    p.set_defaults(func=_guard(cmd_ab), command_name="ab")

    p = subparsers.add_parser("tune", help="find the best fix by measurement: interleaved A/Bs with early stopping",
                              description="Profile the baseline, then A/B every candidate knob (the findings' "
                                          "fixes, then a per-device standard list) in interleaved rounds, "
                                          "stopping each as soon as its CI is clear; stack the winners; print a "
                                          "ranked table and the recommended settings.  Every run's bundle is "
                                          "kept under --out.")
    _add_options(p)
    _add_tune_options(p)
    _positionals(p, _add_tune_options)
    p.set_defaults(func=_guard(cmd_tune), command_name="tune", steps=10, timeout=None)

    p = subparsers.add_parser("workloads", help="list the built-in workloads")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_workloads)


def cmd_workloads(args: argparse.Namespace) -> int:
    """Print the built-in workloads with one-line descriptions."""
    from collectors.workload_ref import BUILTINS
    if getattr(args, "json", False):
        print(json.dumps(BUILTINS, indent=2))
        return EXIT_OK
    width = max(map(len, BUILTINS))
    for name, desc in BUILTINS.items():
        print(f"{name:<{width}}  {desc}")
    return EXIT_OK


def _nproc(args: argparse.Namespace) -> int:
    """--nproc-per-node, checked (a user error below 1)."""
    from collectors.errors import UsageError
    raw = getattr(args, "nproc_per_node", 1)
    n = 1 if raw is None else int(raw)
    if n < 1:
        raise UsageError(f"--nproc-per-node must be at least 1, not {n}")
    return n


def cmd_profile(args: argparse.Namespace) -> int:
    """Run one workload and print the bundle path (or the result as JSON)."""
    from analyzers.knobs import parse_assignments
    from collectors.runner import run_workload
    settings = parse_assignments(args.sets)
    result = run_workload(args.workload, settings, args.out, args.timeout, ProgressPrinter(quiet=args.quiet),
                          name=args.name, workload_args=args.workload_args,
                          device=args.device, warmup_steps=args.warmup, profile_steps=args.profile_steps,
                          timed_steps=args.steps, with_stack=args.with_stack,
                          script=True if args.script else None, nproc_per_node=_nproc(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.bundle_path)
        if result.status == "ok" and result.median_step_ms is not None:
            print(f"median step {result.median_step_ms:.2f} ms over {len(result.step_times_ms)} timed steps",
                  file=sys.stderr)
        elif result.status != "ok":
            print(f"torchscope: run {result.status}: {result.error} (bundle: {result.bundle_path})",
                  file=sys.stderr)
    return {"ok": EXIT_OK, "cancelled": EXIT_CANCELLED}.get(result.status, EXIT_FAILED)


def cmd_ab(args: argparse.Namespace) -> int:
    """Run an interleaved A/B comparison and print the report (or JSON)."""
    from analyzers.knobs import parse_assignments
    from collectors.ab import format_ab, run_ab
    if not args.fixes and not args.aa:
        return _error("ab needs at least one --fix KNOB=VALUE (or --aa for an A/A run)")
    base = parse_assignments(args.sets)
    fix = parse_assignments(args.fixes)
    result = run_ab(args.workload, base, fix, rounds=args.rounds, out_dir=args.out, timeout_s=args.timeout,
                    on_progress=ProgressPrinter(quiet=args.quiet or args.json), name=args.name,
                    workload_args=args.workload_args, device=args.device,
                    warmup_steps=args.warmup, profile_steps=args.profile_steps, timed_steps=args.steps,
                    seed=args.seed, with_stack=args.with_stack, script=True if args.script else None,
                    nproc_per_node=_nproc(args), aa=args.aa)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_ab(result))
    return {"ok": EXIT_OK, "cancelled": EXIT_CANCELLED}.get(result.status, EXIT_FAILED)


def cmd_tune(args: argparse.Namespace) -> int:
    """Search the candidate knobs by measurement and print the ranked table (or JSON)."""
    from analyzers.knobs import parse_assignments
    from collectors.tune import TuneConfig, parse_budget, run_tune
    from collectors.tune_report import format_tune, to_json
    budget_s = parse_budget(args.budget)
    if not 0.0 < args.band < 0.5:
        return _error(f"--band {args.band}: expected a fraction between 0 and 0.5")
    if args.max_rounds < 2:
        return _error("--max-rounds must be >= 2")
    cands = [t.strip() for group in args.candidates for t in group.split(",") if t.strip()]
    cfg = TuneConfig(budget_s=budget_s, band=args.band, max_rounds=args.max_rounds, timeout_s=args.timeout,
                     warmup_steps=args.warmup, profile_steps=args.profile_steps, timed_steps=args.steps,
                     seed=0)
    quiet = args.quiet or args.json

    def progress(event: dict[str, Any]) -> None:
        if not quiet and event.get("phase") == "start":
            print(f"tune: run {event.get('run')}", file=sys.stderr)
    result = run_tune(args.workload, parse_assignments(args.sets), args.out, cfg, candidates=cands or None,
                      device=args.device, workload_args=args.workload_args,
                      script=True if args.script else None, on_progress=progress, name=args.name)
    print(json.dumps(to_json(result), indent=2) if args.json else format_tune(result))
    return EXIT_CANCELLED if result.status == "cancelled" else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m collectors.cli``) until the torchscope CLI wires us in."""
    parser = argparse.ArgumentParser(prog="torchscope")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
