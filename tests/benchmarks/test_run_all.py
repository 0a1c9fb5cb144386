"""benchmarks/run_all.py and the --summary contract (benchmarks/summary.py), with fake benchmark scripts."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from benchmarks import run_all  # noqa: E402
from benchmarks.run_all import END, START, Bench  # noqa: E402
from benchmarks.summary import command_line, write_summary  # noqa: E402

BEFORE = "# Benchmarks\n\nProse before the table.\n\n"
AFTER = "\n\nNotes after the table | with a pipe.\n"

FAKE = f"""
import argparse, sys
sys.path.insert(0, {str(REPO)!r})
from benchmarks.summary import add_summary_option, command_line, write_summary
ap = argparse.ArgumentParser()
ap.add_argument("--value", default="1")
ap.add_argument("--trace", default="-")
ap.add_argument("--fail", type=int, default=0)
add_summary_option(ap)
args = ap.parse_args()
print("fake benchmark ran", args.value)
if args.fail:
    sys.exit(args.fail)
write_summary(args.summary, benchmark="fake.py", command=command_line(), figure=f"value {{args.value}} ms",
              baseline=f"trace {{args.trace}}", target="<= 5 ms", met=float(args.value) <= 5)
"""


@pytest.fixture
def bench_dir(tmp_path: Path) -> Path:
    """A README with markers around an old table, a results.json and a fake benchmark script."""
    (tmp_path / "fake.py").write_text(FAKE)
    (tmp_path / "README.md").write_text(f"{BEFORE}{START}\n| old | table |\n{END}{AFTER}")
    old = {name: {"benchmark": "fake.py", "command": f"python benchmarks/fake.py --value {v}",
                  "figure": f"old figure {name}", "baseline": "old baseline", "target": "<= 5 ms", "met": True}
           for name, v in (("alpha", 1), ("beta", 2))}
    (tmp_path / "results.json").write_text(json.dumps(old))
    return tmp_path


def _benches(folder: Path, **extra: Bench) -> tuple[Bench, ...]:
    script = str(folder / "fake.py")
    return (Bench("alpha", script, ("--value", "3"), about="the first"),
            Bench("beta", script, ("--value", "9", "--trace", "{replica}"), replica=True, about="the second"),
            *extra.values())


def _main(folder: Path, argv: list[str], benches: tuple[Bench, ...] | None = None) -> int:
    return run_all.main(argv, benches=benches or _benches(folder), readme=folder / "README.md",
                        results_path=folder / "results.json")


def _table_rows(folder: Path) -> dict[str, str]:
    text = (folder / "README.md").read_text()
    table = text[text.index(START) + len(START):text.index(END)]
    return {line.split("(`")[1].split("`)")[0]: line for line in table.splitlines() if line.startswith("| `")}


def test_render_fills_the_markers_and_leaves_the_rest_alone(bench_dir: Path) -> None:
    assert _main(bench_dir, ["--render"]) == 0
    text = (bench_dir / "README.md").read_text()
    assert text.startswith(BEFORE + START + "\n") and text.endswith(END + AFTER)
    assert "| old | table |" not in text
    assert run_all.HEADER in text
    rows = _table_rows(bench_dir)
    assert list(rows) == ["alpha", "beta"]
    assert rows["alpha"] == ("| `fake.py` (`alpha`): the first | `python benchmarks/fake.py --value 1` | "
                             "old figure alpha | old baseline | <= 5 ms | yes |")
    assert _main(bench_dir, ["--render"]) == 0 and (bench_dir / "README.md").read_text() == text  # idempotent


def test_render_escapes_pipes_and_shows_unmeasured_rows(bench_dir: Path) -> None:
    results = json.loads((bench_dir / "results.json").read_text())
    results["alpha"]["figure"] = "a | b\nc"
    results["alpha"]["met"] = None
    del results["beta"]
    (bench_dir / "results.json").write_text(json.dumps(results))
    assert _main(bench_dir, ["--render"]) == 0
    rows = _table_rows(bench_dir)
    assert "| a \\| b c |" in rows["alpha"] and rows["alpha"].endswith("| - |")
    assert "not measured yet" in rows["beta"] and "--trace /tmp/replica16.json.gz" in rows["beta"]


def test_only_runs_the_subset_and_keeps_the_other_rows(bench_dir: Path, tmp_path: Path,
                                                       capfd: pytest.CaptureFixture[str]) -> None:
    assert _main(bench_dir, ["--render"]) == 0
    alpha_before = _table_rows(bench_dir)["alpha"]
    replica = tmp_path / "replica.json.gz"
    replica.write_bytes(b"not really a trace")
    assert _main(bench_dir, ["--only", "beta", "--replica", str(replica)]) == 0
    assert "fake benchmark ran 9" in capfd.readouterr().out
    rows = _table_rows(bench_dir)
    assert rows["alpha"] == alpha_before
    assert f"value 9 ms | trace {replica} | <= 5 ms | **no** |" in rows["beta"]
    assert f"`python benchmarks/fake.py --value 9 --trace {replica}`" in rows["beta"]
    results = json.loads((bench_dir / "results.json").read_text())
    assert results["alpha"]["figure"] == "old figure alpha"
    assert results["beta"]["figure"] == "value 9 ms" and results["beta"]["met"] is False
    assert results["beta"]["measured"]  # the date (and load) of the run
    assert list(results) == ["alpha", "beta"]


def test_a_failing_benchmark_keeps_its_row_and_exits_nonzero(bench_dir: Path,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    script = str(bench_dir / "fake.py")
    benches = (Bench("alpha", script, ("--value", "3")), Bench("beta", script, ("--fail", "3")))
    assert _main(bench_dir, ["--render"], benches) == 0
    beta_before = _table_rows(bench_dir)["beta"]
    assert _main(bench_dir, [], benches) == 1
    out, err = capfd.readouterr()
    assert "run_all: beta: failed (exit 3, no summary written); its row is kept" in out.splitlines()
    assert "Traceback" not in out + err
    rows = _table_rows(bench_dir)
    assert rows["beta"] == beta_before
    assert "value 3 ms" in rows["alpha"]  # the others still ran and were recorded


def test_missing_script_or_bad_summary_is_a_failure(bench_dir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    bad = bench_dir / "bad.py"
    bad.write_text("import sys, json\nopen(sys.argv[-1], 'w').write(json.dumps({'figure': 1}))\n")
    benches = (Bench("alpha", str(bench_dir / "nope.py")), Bench("beta", str(bad)))
    assert _main(bench_dir, [], benches) == 1
    out = capfd.readouterr().out
    assert "run_all: alpha: failed (" in out and "nope.py not found" in out
    assert "run_all: beta: failed (exit 0, summary lacks benchmark, command, baseline, target, met)" in out
    assert json.loads((bench_dir / "results.json").read_text())["beta"]["figure"] == "old figure beta"


def test_no_replica_fails_only_the_benchmarks_that_need_it(bench_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(run_all, "REPLICA_SRC", bench_dir / "no-reference-trace.json.gz")
    assert _main(bench_dir, ["--replica", str(bench_dir / "missing-replica.json.gz")]) == 1
    out = capfd.readouterr().out
    assert "run_all: cannot build the replica: " in out and "run_all: beta: failed (no replica trace)" in out
    results = json.loads((bench_dir / "results.json").read_text())
    assert results["alpha"]["figure"] == "value 3 ms" and results["beta"]["figure"] == "old figure beta"


def test_a_summary_into_a_missing_folder_is_refused_before_the_run(bench_dir: Path) -> None:
    proc = subprocess.run([sys.executable, str(bench_dir / "fake.py"), "--summary", str(bench_dir / "no" / "s.json")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "fake benchmark ran" not in proc.stdout
    assert "--summary: folder" in proc.stderr and "does not exist" in proc.stderr


def test_user_mistakes_give_one_line_and_exit_2(bench_dir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert _main(bench_dir, ["--only", "gamma"]) == 2
    err = capfd.readouterr().err
    assert err.strip() == "run_all: unknown benchmark gamma; known: alpha, beta"
    (bench_dir / "README.md").write_text("no markers here\n")
    assert _main(bench_dir, ["--only", "alpha"]) == 2
    assert "markers" in capfd.readouterr().err
    assert json.loads((bench_dir / "results.json").read_text())["alpha"]["figure"] == "old figure alpha"
    (bench_dir / "results.json").write_text("{broken")
    (bench_dir / "README.md").write_text(f"{START}\n{END}\n")
    assert _main(bench_dir, ["--render"]) == 2
    assert len(capfd.readouterr().err.strip().splitlines()) == 1


def test_dry_run_and_list_run_nothing(bench_dir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    readme = (bench_dir / "README.md").read_text()
    assert _main(bench_dir, ["--dry-run", "--replica", "/nonexistent/replica.json.gz"]) == 0
    out = capfd.readouterr().out
    assert "python benchmarks/fake.py --value 3 --summary FILE" in out
    assert "--trace /nonexistent/replica.json.gz" in out and "make_big_trace.py" in out
    assert "fake benchmark ran" not in out
    assert _main(bench_dir, ["--list"]) == 0
    assert "alpha" in capfd.readouterr().out
    assert (bench_dir / "README.md").read_text() == readme


def test_write_summary_writes_json_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.json"
    write_summary(path, benchmark="bench_x.py", command="python benchmarks/bench_x.py", figure="1 ms\n(median)",
                  baseline="-", target="<= 2 ms", met=True)
    assert json.loads(path.read_text()) == {"benchmark": "bench_x.py", "command": "python benchmarks/bench_x.py",
                                            "figure": "1 ms (median)", "baseline": "-", "target": "<= 2 ms",
                                            "met": True}
    assert os.listdir(tmp_path) == ["s.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    write_summary(None, benchmark="b", command="c", figure="f", baseline="-", target="t", met=None)  # no-op

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_summary(path, benchmark="bench_x.py", command="c", figure="2 ms", baseline="-", target="t", met=False)
    assert json.loads(path.read_text())["figure"] == "1 ms (median)"  # the old file is intact
    assert os.listdir(tmp_path) == ["s.json"]  # and no temporary file is left
    with pytest.raises(TypeError):
        write_summary(path, benchmark="b", command="c", figure=1.5,  # type: ignore[arg-type]
                      baseline="-", target="t", met=None)


def test_command_line_drops_the_summary_option() -> None:
    argv = ["/x/benchmarks/bench_x.py", "--repeat", "3", "--summary", "/tmp/s.json", "--summary=/tmp/t", "--n", "a b"]
    assert command_line(argv) == "python benchmarks/bench_x.py --repeat 3 --n 'a b'"
    assert command_line(argv[:1], qt=True) == "QT_QPA_PLATFORM=offscreen python benchmarks/bench_x.py"


def test_every_benchmark_is_listed_and_writes_a_summary() -> None:
    scripts = sorted(p.name for p in (REPO / "benchmarks").glob("bench_*.py"))
    assert sorted({b.path().name for b in run_all.BENCHES}) == scripts
    for name in scripts:
        source = (REPO / "benchmarks" / name).read_text()
        if name != "bench_load.py":  # its owner adds --summary separately
            assert "add_summary_option(" in source and "write_summary(" in source, name


def test_the_readme_table_is_rendered_from_results_json() -> None:
    readme = (REPO / "benchmarks" / "README.md").read_text()
    table = run_all.render_table(run_all.BENCHES, run_all.load_results(REPO / "benchmarks" / "results.json"))
    assert run_all.replace_table(readme, table) == readme, "run `python benchmarks/run_all.py --render`"
