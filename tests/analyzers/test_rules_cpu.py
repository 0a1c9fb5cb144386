"""The CPU rule set on traces recorded here with torch.profiler (CPU only)."""
from __future__ import annotations

import time

import pytest

from analyzers.loader import load_trace
from analyzers.rules import RULES

from test_rules_synthetic import strict_findings

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow
GPU_RULES = {rid for rid, spec in RULES.items() if spec.gpu}


def _record(tmp_path, step_fn, steps: int = 5, name: str = "cpu.pt.trace.json"):
    """Profile ``steps`` steps (after one warm-up step) with ProfilerStep# ranges; load the trace."""
    from torch.profiler import ProfilerActivity, profile, schedule
    path = tmp_path / name

    def ready(prof) -> None:  # noqa: ANN001
        prof.export_chrome_trace(str(path))

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True,
                 schedule=schedule(wait=0, warmup=1, active=steps, repeat=1), on_trace_ready=ready) as prof:
        for _ in range(steps + 1):
            step_fn()
            prof.step()
    return load_trace(path)


def _rules(model):
    found = strict_findings(model)
    return {f.rule: f for f in found}


class SleepyDataset(torch.utils.data.Dataset):
    """Items that wait like I/O."""

    def __len__(self) -> int:
        return 10_000

    def __getitem__(self, i: int):
        time.sleep(0.004)
        return torch.randn(32), torch.tensor(i % 2)


def test_dl1_on_cpu_with_sleeping_dataset(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    it = iter(torch.utils.data.DataLoader(SleepyDataset(), batch_size=4, num_workers=0))

    def step():
        x, y = next(it)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    got = _rules(_record(tmp_path, step))
    assert "CPU1" in got
    assert "DL1" in got
    f = got["DL1"]
    assert f.evidence["single_process_iter"] and f.evidence["dataloader_pct_of_step"] > 20
    assert f.knob == "num_workers" and f.knob_value >= 2
    assert not GPU_RULES & set(got)
    assert "CPUQ1" not in got  # training: quantization advice is for inference


def test_cpuq1_on_wide_linear_inference(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                                torch.nn.ReLU(), torch.nn.Linear(1024, 512)).eval()
    x = torch.randn(8, 1024)

    def step():
        with torch.no_grad():
            model(x)

    got = _rules(_record(tmp_path, step, steps=6))
    assert "CPU1" in got
    assert "CPUQ1" in got
    f = got["CPUQ1"]
    assert f.knob == "dynamic_quant" and f.knob_value is True
    assert f.evidence["max_layer_width"] >= 512
    assert "INF1" not in got  # no_grad: nothing recorded for autograd
    assert not GPU_RULES & set(got)


def test_inf1_when_inference_runs_with_grad(tmp_path):
    torch.manual_seed(0)
    layers = []
    for _ in range(30):
        layers += [torch.nn.Linear(16, 16), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers)
    x = torch.randn(2, 16)

    def step():
        model(x)  # grad mode on, no backward

    got = _rules(_record(tmp_path, step, steps=6))
    assert "INF1" in got
    assert got["INF1"].knob == "inference_mode"


def test_training_gets_no_inference_advice(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(256, 256)
    x = torch.randn(4, 256)

    def step():
        model(x).sum().backward()

    got = _rules(_record(tmp_path, step))
    assert "INF1" not in got and "CPUQ1" not in got
