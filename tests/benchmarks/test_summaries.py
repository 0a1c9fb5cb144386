"""The --summary cells of the benchmarks too long to run in tests, built from fake measurements."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from benchmarks import bench_advice, bench_bombs, bench_handover, bench_ranks, bench_tune  # noqa: E402


def test_tune_summary_compares_runs_per_candidate_round(tmp_path: Path) -> None:
    def measured(knob: str, value: object, speedup: float, verdict: str, rounds: int) -> SimpleNamespace:
        return SimpleNamespace(cand=SimpleNamespace(knob=knob, value=value, verdict=verdict), speedup=speedup,
                               ci_low=speedup - 0.1, ci_high=speedup + 0.1, rounds=rounds)

    result = SimpleNamespace(candidates=[measured("num_workers", 2, 1.38, "faster", 8),
                                         measured("optimizer_impl", "fused", 1.1, "no effect", 10)],
                             stack=SimpleNamespace(rounds=2), recommended={"num_workers": 2})
    args = argparse.Namespace(ab_rounds=4, budget="4m", summary=tmp_path / "s.json")
    rows = [("num_workers=2", 1.45, 1.08, 1.97, "ok"), ("optimizer_impl=fused", 1.02, 0.72, 1.35, "ok")]
    bench_tune.report(args, result, 239.0, 30, rows, 133.0)
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["benchmark"] == "bench_tune.py" and s["met"] is True
    assert s["figure"].startswith("tune 239 s (budget 240 s), 30 runs for 20 candidate-rounds (1.50 runs per")
    assert "num_workers=2 1.38x [1.28, 1.48] faster after 8 rounds" in s["figure"]
    assert "num_workers=2 recommended" in s["figure"]
    assert s["baseline"].startswith("one-at-a-time A/Bs at 4 rounds, same run: 133 s, 16 runs")


def test_advice_summary_counts_best_fixes_in_the_top_3() -> None:
    fix = {"dynamic_quant": True}
    ok = {"workload": "mlp_infer", "status": "ok", "best": fix, "best_in_top3": True, "proposed_but_slower": [],
          "ab": [{"fix": fix, "speedup": 5.01, "ci_low": 3.73, "ci_high": 5.78}]}
    miss = {"workload": "convnet", "status": "ok", "best": None, "best_in_top3": False,
            "proposed_but_slower": [{"compile": "default"}], "ab": []}
    cells = bench_advice.summary_cells([ok, miss, {"workload": "gpt2_train", "status": "timeout"}])
    assert cells["figure"] == ("best fix in the top 3: 1 of 3; mlp_infer best dynamic_quant=True 5.01x [3.73, 5.78], "
                               "in top 3; convnet no win established, NOT in top 3, proposed but slower: "
                               "compile=default; gpt2_train timeout")
    assert cells["met"] is False
    assert bench_advice.summary_cells([ok] * 6)["met"] is True


def test_bombs_handover_and_ranks_targets() -> None:
    refused = {"label": "zeros", "wall_s": 0.2, "peak_mb": 100.0, "outcome": "refused: not a trace"}
    assert bench_bombs.summary_cells([refused], [], 2.0)["met"] is True
    assert bench_bombs.summary_cells([{**refused, "wall_s": 3.0}], [], 2.0)["met"] is False
    legit = {"label": "legit", "wall_s": 9.0, "peak_mb": 900.0, "outcome": "refused: too big"}
    assert bench_bombs.summary_cells([], [legit], 0.0)["met"] is False
    med = {"wall_s": 2.0, "receive_s": 0.117, "peak_mb": 76.0, "base_mb": 72.0, "col_mb": 70.0, "slices": 726705}
    cells = bench_handover.summary_cells({Path("/tmp/base"): {**med, "peak_mb": 314.0}, bench_handover.REPO: med})
    assert cells["met"] is True and cells["figure"].startswith("726,705 slices: receive 117 ms")
    assert cells["baseline"].startswith("/tmp/base: receive 117 ms") and "parent peak RSS 314 MB" in cells["baseline"]
    assert bench_ranks._met(1.5, 1.4, 2, 0.0) is False
    assert bench_ranks._met(0.7, 1.0, 64, 0.0) is None  # not enough free cores: the speedup target does not apply
