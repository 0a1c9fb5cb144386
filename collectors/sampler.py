"""The sampler thread: NVML at ~10 Hz, PCIe at ~1 Hz, host CPU/RSS at ~10 Hz.

Runs in the parent process (the one that spawned the workload's child), so
it survives a crashing or hung workload and takes no GIL time from it.
Samples are stamped with time.time_ns(), the Kineto trace's epoch clock.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from collectors.host_sampler import HostSampler
from collectors.nvml_sampler import NvmlSampler


class SamplerThread:
    """Collects sample rows between start() and stop()."""

    def __init__(self, pid: int | None = None, interval_s: float = 0.1, pcie_interval_s: float = 1.0,
                 nvml: bool = True) -> None:
        self.interval_s = interval_s
        self.pcie_interval_s = pcie_interval_s
        self.host = HostSampler(pid)
        self.nvml = NvmlSampler()
        self.rows: list[dict[str, Any]] = []
        self._want_nvml = nvml
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def nvml_status(self) -> str:
        """"ok", "no NVIDIA GPU" or the reason NVML could not be used."""
        return self.nvml.status

    def start(self) -> "SamplerThread":
        """Open NVML and start sampling in a daemon thread."""
        if self._want_nvml:
            self.nvml.open()
        else:
            self.nvml.status = "disabled"
        self._thread = threading.Thread(target=self._loop, name="torchscope-sampler", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        next_pcie = 0.0
        while True:
            now = time.monotonic()
            pcie = now >= next_pcie
            if pcie:
                next_pcie = now + self.pcie_interval_s
            stamp = time.time_ns()
            self.rows.extend(self.nvml.sample(stamp, pcie=pcie))
            self.rows.append(self.host.sample(stamp))
            if self._stop.wait(self.interval_s):
                break

    def stop(self) -> list[dict[str, Any]]:
        """Stop the thread, close NVML and return the rows."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.nvml.close()
        return self.rows
