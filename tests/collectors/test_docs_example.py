"""docs/workloads.md stays true: its glue example runs, every knob is documented."""
from __future__ import annotations

import re

from collector_helpers import FAST, REPO, load_run

from analyzers.knobs import KNOBS
from collectors.runner import run_workload

DOC = (REPO / "docs" / "workloads.md").read_text()


def glue_example() -> str:
    match = re.search(r"<!-- example:glue -->\s*```python\n(.*?)```", DOC, re.S)
    assert match, "the glue example block is missing"
    return match.group(1)


def test_glue_example_runs_as_a_workload(runs_dir, tmp_path):
    path = tmp_path / "my_train.py"
    path.write_text(glue_example())
    result = run_workload(str(path), {"batch_size": 64}, str(runs_dir), timeout_s=60,
                          workload_args=["--hidden", "128"], **FAST)
    assert result.status == "ok", result.error
    run = load_run(result.bundle_path)
    assert run["description"] == "points MLP hidden=128" and run["settings"] == {"batch_size": 64}


def test_glue_example_also_runs_as_a_plain_script(runs_dir, tmp_path):
    path = tmp_path / "my_train.py"
    path.write_text(glue_example())
    result = run_workload(str(path), {}, str(runs_dir), timeout_s=60, script=True,
                          workload_args=["--epochs", "1"], **FAST)
    assert result.status == "ok", result.error
    assert load_run(result.bundle_path)["workload_kind"] == "script"


def test_every_knob_is_documented():
    for name in KNOBS:
        assert f"| `{name}` |" in DOC, name
