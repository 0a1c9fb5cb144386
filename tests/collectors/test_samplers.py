"""Host and NVML samplers: /proc readings, NVML absent, NVML present (a fake pynvml), the thread."""
from __future__ import annotations

import os
import sys
import time
import types

import pytest

from collectors import host_sampler, nvml_sampler
from collectors.sampler import SamplerThread


def test_host_sampler_reads_cpu_and_rss():
    s = host_sampler.HostSampler(os.getpid())
    sum(i * i for i in range(200_000))  # some CPU time between the two readings
    row = s.sample(time.time_ns())
    assert row["source"] == "host"
    assert row["host_rss_bytes"] == host_sampler.tree_rss_bytes(os.getpid()) or row["host_rss_bytes"] > 0
    assert row["host_rss_bytes"] > 1_000_000
    assert row["host_cpu_pct"] is None or 0.0 <= row["host_cpu_pct"] <= 100.0


def test_workload_cpu_is_told_apart_from_other_processes():
    """A busy workload and an idle one beside a CPU burner: the sampler says which used the CPU."""
    import subprocess
    burn = "import time\nt = time.time()\nwhile time.time() - t < 4: pass"
    busy = subprocess.Popen([sys.executable, "-c", burn])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(4)"])
    try:
        time.sleep(0.3)
        on_busy, on_idle = host_sampler.HostSampler(busy.pid), host_sampler.HostSampler(idle.pid)
        time.sleep(1.5)
        now = time.time_ns()
        rb, ri = on_busy.sample(now), on_idle.sample(now)
    finally:
        for p in (busy, idle):
            p.kill()
            p.wait()
    cores = os.cpu_count() or 1
    # the spinner gets at most one core of all cores (less on a loaded machine); the sleeper next to nothing
    assert 2.0 < rb["host_proc_cpu_pct"] <= 100.0 / cores + 5.0
    assert ri["host_proc_cpu_pct"] < 0.2 * rb["host_proc_cpu_pct"]
    # seen from the sleeper, the spinner's CPU is other processes' CPU
    assert ri["host_cpu_pct"] - ri["host_proc_cpu_pct"] >= 0.8 * rb["host_proc_cpu_pct"]


def test_tree_rss_counts_children():
    import subprocess
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(60_000_000); time.sleep(5)"])
    try:
        time.sleep(0.8)
        own = host_sampler.rss_bytes(os.getpid())
        tree = host_sampler.tree_rss_bytes(os.getpid())
        assert tree - own > 50_000_000
    finally:
        child.kill()
        child.wait()
    assert host_sampler.rss_bytes(child.pid) is None  # gone


def test_nvml_library_not_found_means_no_gpu(monkeypatch):
    import pynvml

    def missing():
        raise pynvml.NVMLError_LibraryNotFound(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", missing)
    s = nvml_sampler.NvmlSampler()
    assert s.open() == "no NVIDIA GPU"
    assert s.sample(1) == []
    s.close()


class FakeNvml(types.ModuleType):
    """Just enough of pynvml for one GPU; PCIe is 'not supported'."""

    class NVMLError(Exception):
        pass

    class NVMLError_NotSupported(NVMLError):
        pass

    class NVMLError_LibraryNotFound(NVMLError):
        pass

    NVML_CLOCK_SM = 1
    NVML_TEMPERATURE_GPU = 0
    NVML_PCIE_UTIL_TX_BYTES = 0
    NVML_PCIE_UTIL_RX_BYTES = 1

    def __init__(self):
        super().__init__("pynvml")
        self.closed = False

    def nvmlInit(self): pass
    def nvmlShutdown(self): self.closed = True
    def nvmlDeviceGetCount(self): return 1
    def nvmlDeviceGetHandleByIndex(self, i): return f"h{i}"
    def nvmlDeviceGetName(self, h): return b"Fake H100"
    def nvmlSystemGetDriverVersion(self): return "555.42"
    def nvmlDeviceGetMemoryInfo(self, h): return types.SimpleNamespace(used=3 << 30, total=80 << 30)
    def nvmlDeviceGetPowerUsage(self, h): return 123_456
    def nvmlDeviceGetUtilizationRates(self, h): return types.SimpleNamespace(gpu=87, memory=40)
    def nvmlDeviceGetClockInfo(self, h, kind): return 1980
    def nvmlDeviceGetTemperature(self, h, kind): return 61
    def nvmlDeviceGetCurrentClocksEventReasons(self, h): return 0x4
    def nvmlDeviceGetPcieThroughput(self, h, which): raise self.NVMLError_NotSupported()


def test_nvml_sampler_with_a_gpu(monkeypatch):
    fake = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    s = nvml_sampler.NvmlSampler()
    assert s.open() == "ok"
    assert s.driver == "555.42" and s.gpu_names == ["Fake H100"]
    (row,) = s.sample(42, pcie=True)
    assert row == {"time_ns": 42, "source": "gpu0", "gpu_util_pct": 87, "mem_used_bytes": 3 << 30,
                   "mem_total_bytes": 80 << 30, "sm_clock_mhz": 1980, "power_w": 123.456, "temp_c": 61,
                   "clock_event_reasons": 4, "pcie_tx_kbps": None, "pcie_rx_kbps": None}
    assert s.unsupported == {"pcie"}
    s.close()
    assert fake.closed


def test_sampler_thread_rates(monkeypatch):
    fake = FakeNvml()
    calls = {"pcie": 0}
    orig = fake.nvmlDeviceGetPcieThroughput

    def pcie(h, which):
        calls["pcie"] += 1
        return orig(h, which)

    fake.nvmlDeviceGetPcieThroughput = pcie
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    thread = SamplerThread(pid=os.getpid(), interval_s=0.05, pcie_interval_s=0.5).start()
    time.sleep(0.6)
    rows = thread.stop()
    assert thread.nvml_status == "ok"
    gpu = [r for r in rows if r["source"] == "gpu0"]
    host = [r for r in rows if r["source"] == "host"]
    assert 6 <= len(gpu) <= 14 and len(host) == len(gpu)
    assert sum("pcie_tx_kbps" in r for r in gpu) == 2  # at t=0 and t=0.5 s only
    times = [r["time_ns"] for r in rows]
    assert times == sorted(times) and abs(times[0] - time.time_ns()) < 5e9  # epoch ns


@pytest.mark.parametrize("nvml", [False])
def test_sampler_thread_without_nvml(nvml):
    thread = SamplerThread(pid=os.getpid(), interval_s=0.05, nvml=nvml).start()
    time.sleep(0.2)
    rows = thread.stop()
    assert thread.nvml_status == "disabled" and rows and {r["source"] for r in rows} == {"host"}
