"""Run the benchmarks and regenerate the table of ``benchmarks/README.md`` from ``benchmarks/results.json``.

    python benchmarks/run_all.py                       # every benchmark (hours: bench_advice, bench_tune)
    python benchmarks/run_all.py --only bombs,user-code
    python benchmarks/run_all.py --quick --only timeline   # smaller sizes / fewer repeats
    python benchmarks/run_all.py --list | --dry-run | --render

Each benchmark runs as a subprocess with ``--summary FILE`` (the contract of ``benchmarks/summary.py``)
from the repository root; its summary replaces its entry in ``results.json`` (with the date and the load
average), and the table between ``<!-- bench-table:start -->`` and ``<!-- bench-table:end -->`` is
rendered from ``results.json``, so rows not run keep their figures.  A benchmark that fails or writes
no summary keeps its old row; the script then exits 1.  Benchmarks on the replica trace build it first
when it is missing (``make_big_trace.py --copies 16``; with ``--quick`` and no ``--replica``, 2 copies).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from benchmarks.summary import CELLS, write_json_atomic  # noqa: E402

README = HERE / "README.md"
RESULTS = HERE / "results.json"
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
REPLICA_SRC = REPO.parent / "shared" / "reference_traces" / "hta_v100_68k_events.pt.trace.json.gz"
REPLICA = {False: (Path("/tmp/replica16.json.gz"), 16), True: (Path("/tmp/replica2.json.gz"), 2)}  # by --quick
HEADER = ("| benchmark | command | figure now | baseline (same run) | target | met |\n"
          "| --- | --- | --- | --- | --- | --- |")


class UsageError(Exception):
    """A mistake in the command line or in the files run_all reads: one line, exit 2."""


@dataclass(frozen=True)
class Bench:
    """One row of the table: how to run it.  ``{replica}`` in an argv stands for the replica trace."""

    name: str  # the row's key in results.json and for --only
    script: str  # a file in benchmarks/ (or an absolute path: tests)
    argv: tuple[str, ...] = ()
    quick: tuple[str, ...] | None = None  # the argv of --quick (None: argv)
    qt: bool = False  # needs QT_QPA_PLATFORM=offscreen
    replica: bool = False  # needs the replica trace
    about: str = ""

    def args(self, quick: bool, replica: Path) -> list[str]:
        """The argv of this run, the replica's path filled in."""
        argv = self.quick if quick and self.quick is not None else self.argv
        return [a.replace("{replica}", str(replica)) for a in argv]

    def path(self) -> Path:
        """The script's path."""
        return Path(self.script) if Path(self.script).is_absolute() else HERE / self.script


R = "{replica}"
BENCHES: tuple[Bench, ...] = (
    Bench("bombs", "bench_bombs.py", ("--repeat", "3"), ("--gb", "0.2", "--repeat", "1"),
          about="gzip bombs (2 GB expanded, 1.9 MB gzipped) refused"),
    Bench("bombs-legit", "bench_bombs.py", ("--gb", "0", "--legit-gb", "1"),
          ("--gb", "0", "--legit-gb", "0.05", "--repeat", "1"),
          about="gunzip of a legitimate 1 GB trace (`read_trace_bytes`)"),
    Bench("handover", "bench_handover.py", ("--trace", R, "--repeat", "3"), ("--trace", R, "--repeat", "1"),
          replica=True, about="big trace loaded in the child process, handed to the app"),
    Bench("timeline", "bench_timeline.py", ("--trace", R), qt=True, replica=True,
          about="frames at 1920x1000 on the real-trace replica"),
    Bench("load", "bench_load.py", ("--copies", "16", "--repeat", "3"), ("--events", "100000", "--repeat", "1"),
          about="load + full analysis of the V100 replica (1.1M events) vs orjson and HTA's parse"),
    Bench("load-1gb", "bench_load.py", ("--copies", "73", "--gz", "--repeat", "3"),
          ("--copies", "4", "--gz", "--repeat", "1"),
          about="load + full analysis of a 1 GB trace (the V100 trace x73, 5.0M events, gzipped)"),
    Bench("gui-latency", "bench_gui_latency.py", ("--trace", R), qt=True, replica=True,
          about="GUI event-loop latency while a big trace loads (in the child process)"),
    Bench("gui-1gb", "bench_gui_latency.py", ("--trace", "/tmp/replica73.json.gz", "--window"), qt=True,
          about="the app opening a 1 GB trace: overview shown, all processes' memory (first: `python "
                "benchmarks/make_big_trace.py --copies 73 --out /tmp/replica73.json.gz`)"),
    Bench("advice", "bench_advice.py", ("--rounds", "3", "--steps", "5", "--threads", "1"),
          ("--workloads", "mlp_infer", "--rounds", "2", "--steps", "3", "--threads", "1"),
          about="is the fix that measures best among the top-3 findings? (7 workloads, 3 from `transformers` "
                "configs; `pip install -e '.[models]'`)"),
    Bench("critical-path", "bench_critical_path.py", ("--trace", R, "--repeat", "3"), ("--trace", R, "--repeat", "1"),
          replica=True, about="HTA 0.5 figures (`hta_figures`) and the default step's critical path on the replica"),
    Bench("user-code", "bench_user_code.py", ("--repeat", "3"), ("--steps", "30", "--repeat", "1"),
          about="module tree, flame graph (+ folded export), FLOPs on a synthetic with_stack trace"),
    Bench("tune", "bench_tune.py", ("--candidates", "num_workers=2,optimizer_impl=fused", "--budget", "4m",
                                    "--ab-rounds", "4"),
          ("--candidates", "num_workers=2", "--budget", "1m", "--ab-rounds", "2"),
          about="`torchscope tune` vs one-at-a-time full A/Bs of the same candidates (slow_loader, threads=1)"),
    Bench("tune-aa", "bench_tune.py", ("--simulate-aa", "100"), ("--simulate-aa", "20"),
          about="sequential A/A of tune's early stopping (fake runs, 10 % per-run load level)"),
    Bench("sampler", "bench_sampler.py", (), ("--blocks", "3", "--block-s", "0.5"),
          about="sampler overhead on a training step"),
    Bench("ranks", "bench_ranks.py", ("--ranks", "4", "--copies", "4", "--repeat", "3"),
          ("--ranks", "2", "--copies", "1", "--repeat", "1"),
          about="a folder of rank traces loaded serially vs one process per rank"),
)


def command_text(bench: Bench, args: list[str]) -> str:
    """The shell command of one run, as shown in the table and by --dry-run."""
    return ("QT_QPA_PLATFORM=offscreen " if bench.qt else "") + shlex.join(
        ["python", f"benchmarks/{bench.path().name}", *args])


def _cell(text: Any) -> str:
    """One Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def render_table(benches: tuple[Bench, ...], results: dict[str, dict[str, Any]]) -> str:
    """The Markdown table: one row per benchmark in list order (then any result not in the list)."""
    rows = [HEADER]
    known = {b.name for b in benches}
    for bench in benches:
        rows.append(_row(bench.name, bench.path().name, bench.about, results.get(bench.name),
                         command_text(bench, bench.args(False, REPLICA[False][0]))))
    for name, entry in results.items():
        if name not in known:
            rows.append(_row(name, str(entry.get("benchmark", name)), "(not in run_all's list)", entry, ""))
    return "\n".join(rows)


def _row(name: str, script: str, about: str, entry: dict[str, Any] | None, default_command: str) -> str:
    """One table row from a results.json entry (``None``: not measured yet)."""
    entry = entry or {}
    figure = entry.get("figure", "not measured yet")
    when = ", ".join(x for x in (entry.get("measured"), "quick run" if entry.get("quick") else None) if x)
    if when:
        figure = f"{when}: {figure}"
    met = {True: "yes", False: "**no**"}.get(entry.get("met"), "-")
    cells = [f"`{script}` (`{name}`): {about}", f"`{entry.get('command', default_command)}`", figure,
             entry.get("baseline", "-"), entry.get("target", "-"), met]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def replace_table(text: str, table: str) -> str:
    """``text`` with everything between the two marker lines replaced by ``table``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < 0 or end < start:
        raise UsageError(f"the README has no {START} ... {END} markers around the table")
    return text[:start + len(START)] + "\n" + table + "\n" + text[end:]


def load_results(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of results.json by benchmark name ({} when the file does not exist yet)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise UsageError(f"{path} must hold a JSON object of objects (benchmark name -> summary)")
    return data


def save(results: dict[str, dict[str, Any]], benches: tuple[Bench, ...], results_path: Path,
         readme: Path) -> None:
    """Write results.json (list order) and re-render the README's table from it, both atomically."""
    order = [b.name for b in benches if b.name in results] + [n for n in results if n not in {b.name for b in benches}]
    write_json_atomic(results_path, {n: results[n] for n in order})
    text = replace_table(readme.read_text(encoding="utf-8"), render_table(benches, load_results(results_path)))
    tmp = readme.with_name(f".{readme.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, readme)


def read_summary(path: Path) -> dict[str, Any]:
    """A benchmark's summary file, checked against the contract; ValueError says what is wrong."""
    if not path.is_file():
        raise ValueError("no summary written")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"summary is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("summary is not a JSON object")
    missing = [c for c in CELLS if c not in data]
    if missing:
        raise ValueError(f"summary lacks {', '.join(missing)}")
    if not all(isinstance(data[c], str) for c in CELLS if c != "met") or data["met"] not in (True, False, None):
        raise ValueError("summary cells must be strings and met true, false or null")
    return {c: data[c] for c in CELLS}


def ensure_replica(path: Path, copies: int, python: str) -> str | None:
    """Build the replica trace at ``path`` if it is missing; None, or why it could not be built."""
    if path.is_file():
        return None
    if not REPLICA_SRC.is_file():
        return f"cannot build the replica: {REPLICA_SRC} not found (pass --replica PATH to an existing one)"
    part = path.with_name(f".part-{path.name}")  # same suffix, so make_big_trace gzips it too
    cmd = [python, str(HERE / "make_big_trace.py"), "--src", str(REPLICA_SRC), "--copies", str(copies),
           "--out", str(part)]
    print(f"== building the replica: {shlex.join(cmd)}", flush=True)
    if subprocess.run(cmd, cwd=REPO).returncode != 0 or not part.is_file():
        part.unlink(missing_ok=True)
        return "cannot build the replica: make_big_trace.py failed"
    os.replace(part, path)
    return None


def run_one(bench: Bench, args: list[str], folder: Path, python: str) -> dict[str, Any]:
    """Run one benchmark with --summary into ``folder``; its summary, or ValueError saying why there is none."""
    if not bench.path().is_file():
        raise ValueError(f"{bench.path()} not found")
    out = folder / f"{bench.name}.json"
    env = {**os.environ, **({"QT_QPA_PLATFORM": "offscreen"} if bench.qt else {})}
    print(f"== {bench.name}: {command_text(bench, args)}", flush=True)
    rc = subprocess.run([python, str(bench.path()), *args, "--summary", str(out)], cwd=REPO, env=env).returncode
    try:
        summary = read_summary(out)
    except ValueError as exc:
        raise ValueError(f"exit {rc}, {exc}") from None
    if rc != 0:  # e.g. bench_user_code exits 1 when it misses its target: the summary says so (met)
        print(f"run_all: {bench.name}: exited {rc} after writing its summary; recorded", flush=True)
    return summary


def _measured_note() -> str:
    """When and under what load a row was measured (the machine is shared)."""
    try:
        load = f", load {os.getloadavg()[0]:.1f}"
    except OSError:  # no load average on this platform: the date alone
        load = ""
    return time.strftime("%Y-%m-%d") + load


def parse_args(argv: list[str] | None, benches: tuple[Bench, ...]) -> argparse.Namespace:
    """The command line; --only is checked against the benchmark names."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", metavar="NAME[,NAME]", action="append", default=[],
                    help="run these benchmarks only; the other rows keep their figures")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--render", action="store_true", help="only re-render the README's table from results.json")
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats where the scripts allow")
    ap.add_argument("--replica", type=Path, default=None,
                    help="the big replica trace (default /tmp/replica16.json.gz, with --quick a 2-copy "
                         "/tmp/replica2.json.gz); built when missing")
    args = ap.parse_args(argv)
    names = [n.strip() for group in args.only for n in group.split(",") if n.strip()]
    known = [b.name for b in benches]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(known)}")
    args.selected = [b for b in benches if not names or b.name in names]
    # the small replica only where --quick picks the path; a --replica PATH is built at full size
    args.copies = REPLICA[args.quick and args.replica is None][1]
    args.replica = args.replica or REPLICA[args.quick][0]
    return args


def print_list(benches: tuple[Bench, ...]) -> None:
    """--list: one line per benchmark."""
    for b in benches:
        flags = ", ".join(f for f, on in (("Qt offscreen", b.qt), ("replica", b.replica)) if on)
        print(f"{b.name:<14} {b.path().name:<24} {flags:<22} {b.about}")


def run_selected(args: argparse.Namespace, benches: tuple[Bench, ...], results_path: Path, readme: Path,
                 python: str) -> int:
    """Run the selected benchmarks, saving after each; 1 when any failed, else 0."""
    results = load_results(results_path)
    failed = []
    replica_error = None
    if any(b.replica for b in args.selected):
        replica_error = ensure_replica(args.replica, args.copies, python)
        if replica_error:
            print(f"run_all: {replica_error}", flush=True)
    with tempfile.TemporaryDirectory(prefix="torchscope-run-all-") as tmp:
        for bench in args.selected:
            try:
                if bench.replica and replica_error:
                    raise ValueError("no replica trace")
                summary = run_one(bench, bench.args(args.quick, args.replica), Path(tmp), python)
            except ValueError as exc:
                print(f"run_all: {bench.name}: failed ({exc}); its row is kept", flush=True)
                failed.append(bench.name)
                continue
            results[bench.name] = {**summary, "measured": _measured_note(), **({"quick": True} if args.quick else {})}
            save(results, benches, results_path, readme)
    save(results, benches, results_path, readme)
    if failed:
        print(f"run_all: {len(failed)} of {len(args.selected)} failed: {', '.join(failed)}")
        return 1
    return 0


def main(argv: list[str] | None = None, *, benches: tuple[Bench, ...] = BENCHES, readme: Path = README,
         results_path: Path = RESULTS, python: str = sys.executable) -> int:
    """Entry point; ``benches``, ``readme``, ``results_path`` and ``python`` are parameters for the tests."""
    try:
        args = parse_args(argv, benches)
        if args.list:
            print_list(benches)
            return 0
        if args.dry_run:
            if any(b.replica for b in args.selected) and not args.replica.is_file():
                print(f"# the replica is missing; built first: python benchmarks/make_big_trace.py --src "
                      f"{REPLICA_SRC} --copies {args.copies} --out {args.replica}")
            for b in args.selected:
                print(command_text(b, b.args(args.quick, args.replica)) + " --summary FILE")
            return 0
        replace_table(readme.read_text(encoding="utf-8"), "")  # markers missing: say so before hours of runs
        if args.render:
            save(load_results(results_path), benches, results_path, readme)
            return 0
        return run_selected(args, benches, results_path, readme, python)
    except UsageError as exc:
        print(f"run_all: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"run_all: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("run_all: interrupted; the rows finished so far are saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
