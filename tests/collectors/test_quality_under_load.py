"""A real profile taken beside a CPU-burning process is flagged: measurement quality is not 'good'."""
from __future__ import annotations

import subprocess
import sys

from collector_helpers import FAST

from analyzers.session import AnalysisSession
from collectors.runner import run_workload

BURN = "import time\nend = time.time() + 120\nwhile time.time() < end: pass\n"


def test_cpu_burner_beside_the_profile_makes_quality_not_good(runs_dir) -> None:
    # one burner per core: whatever else runs on the machine, the workload shares every core with them
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(2)]
    try:
        result = run_workload("mlp_infer", {"threads": 1}, str(runs_dir), timeout_s=180, **FAST)
    finally:
        for p in burners:
            p.kill()
            p.wait()
    assert result.status == "ok", result.error
    q = AnalysisSession.load(result.bundle_path).report()["measurement_quality"]
    assert q["status"] != "good", q
    # the bundle's host samples saw the burners: the host CPU minus the workload's own share
    assert q["host_cpu_other_pct"] is not None and q["host_cpu_other_pct"] >= 25.0, q
    assert any("other processes" in r for r in q["reasons"]), q
