"""NVML GPU sampling (package nvidia-ml-py, module pynvml); degrades to "no NVIDIA GPU".

Each metric is read in its own try: a metric the GPU does not support is
left empty and listed in ``unsupported``.  PCIe throughput blocks about
20 ms per call, so the sampler thread asks for it less often.
"""
from __future__ import annotations

from typing import Any, Callable

NO_GPU = "no NVIDIA GPU"


class NvmlSampler:
    """Opens NVML once, samples every GPU, closes NVML."""

    def __init__(self) -> None:
        self.status = "not started"
        self.driver: str | None = None
        self.gpu_names: list[str] = []
        self.unsupported: set[str] = set()
        self._nv: Any = None
        self._handles: list[Any] = []

    def open(self) -> str:
        """Initialise NVML; return the status ("ok", "no NVIDIA GPU" or a reason)."""
        try:
            import pynvml as nv
        except ImportError:
            self.status = "nvidia-ml-py not installed"
            return self.status
        try:
            nv.nvmlInit()
        except nv.NVMLError_LibraryNotFound:
            self.status = NO_GPU
            return self.status
        except nv.NVMLError as exc:
            self.status = f"{NO_GPU} (NVML: {exc})"
            return self.status
        self._nv = nv
        try:
            count = nv.nvmlDeviceGetCount()
            self._handles = [nv.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self.gpu_names = [self._name(h) for h in self._handles]
            driver = nv.nvmlSystemGetDriverVersion()
            self.driver = driver.decode() if isinstance(driver, bytes) else str(driver)
        except nv.NVMLError as exc:
            self.close()
            self.status = f"NVML error: {exc}"
            return self.status
        self.status = "ok" if self._handles else NO_GPU
        return self.status

    def _name(self, handle: Any) -> str:
        name = self._nv.nvmlDeviceGetName(handle)
        return name.decode() if isinstance(name, bytes) else str(name)

    def _read(self, metric: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, or None when it fails; a NotSupported metric is not asked again."""
        if metric in self.unsupported:
            return None
        try:
            return fn(*args)
        except self._nv.NVMLError_NotSupported:
            self.unsupported.add(metric)
        except self._nv.NVMLError:  # a transient read error: this sample's cell stays empty
            pass
        return None

    def sample(self, now_ns: int, pcie: bool = False) -> list[dict[str, Any]]:
        """One row per GPU (``source="gpuN"``); PCIe columns only when ``pcie`` is true."""
        if self._nv is None:
            return []
        nv = self._nv
        rows = []
        for i, h in enumerate(self._handles):
            mem = self._read("memory", nv.nvmlDeviceGetMemoryInfo, h)
            power_mw = self._read("power", nv.nvmlDeviceGetPowerUsage, h)
            util = self._read("utilization", nv.nvmlDeviceGetUtilizationRates, h)
            row: dict[str, Any] = {
                "time_ns": now_ns, "source": f"gpu{i}",
                "gpu_util_pct": util.gpu if util is not None else None,
                "mem_used_bytes": mem.used if mem is not None else None,
                "mem_total_bytes": mem.total if mem is not None else None,
                "sm_clock_mhz": self._read("sm_clock", nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_SM),
                "power_w": power_mw / 1000.0 if power_mw is not None else None,
                "temp_c": self._read("temperature", nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU),
                "clock_event_reasons": self._read("clock_events", _clock_events, nv, h),
            }
            if pcie:
                row["pcie_tx_kbps"] = self._read("pcie", nv.nvmlDeviceGetPcieThroughput, h,
                                                 nv.NVML_PCIE_UTIL_TX_BYTES)
                row["pcie_rx_kbps"] = self._read("pcie", nv.nvmlDeviceGetPcieThroughput, h,
                                                 nv.NVML_PCIE_UTIL_RX_BYTES)
            rows.append(row)
        return rows

    def close(self) -> None:
        """Shut NVML down (safe to call twice)."""
        if self._nv is not None:
            try:
                self._nv.nvmlShutdown()
            except self._nv.NVMLError:  # already shut down or the driver went away: nothing to release
                pass
        self._nv = None
        self._handles = []


def _clock_events(nv: Any, handle: Any) -> int:
    """Clock-event (throttle) reason bitmask, new name first, old name as fallback."""
    fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None) or nv.nvmlDeviceGetCurrentClocksThrottleReasons
    return int(fn(handle))
