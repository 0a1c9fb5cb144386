"""Write small synthetic Kineto traces (new schema) for tests, and load them.

Times are microseconds (floats), as in Kineto JSON.  A kernel, copy or memset
added with :meth:`TraceBuilder.kernel` / :meth:`memcpy` / :meth:`memset` also
gets its launching runtime call (``cudaLaunchKernel`` / ``cudaMemcpyAsync`` /
``cudaMemsetAsync``) on the host thread, linked by ``correlation`` and an
``ac2g`` flow, like the real profiler writes them.

    b = TraceBuilder()
    for i, t in enumerate(b.steps(3, 1000.0)):        # ProfilerStep#0..2, 1000 us each
        b.cpu_op("aten::mm", t + 10, 100, args={"Input type": ["float", "float"]})
        b.kernel("volta_sgemm_128x64_nn", t + 20, 500, launch_ts=t + 15)
    model = b.load(tmp_path)
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Iterator

HOST_PID = 1000
MAIN_TID = 1000
BWD_TID = 1001


class TraceBuilder:
    """Accumulate Kineto events and write them as a trace JSON file."""

    def __init__(self, *, gpu: bool = True, device_name: str = "NVIDIA A100-SXM4-40GB", compute_major: int = 8,
                 compute_minor: int = 0, num_sms: int = 108, total_mem: int = 40 * 2**30,
                 runtime_prefix: str | None = None, extra: dict[str, Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.gpu = gpu
        self.num_sms = num_sms
        self._corr = 1
        self._ext = 1
        amd = "amd" in device_name.lower() or "instinct" in device_name.lower()
        self.rt = runtime_prefix or ("hip" if amd else "cuda")
        self.device_properties: list[dict[str, Any]] = []
        if gpu:
            self.device_properties.append({
                "id": 0, "name": device_name, "totalGlobalMem": total_mem, "computeMajor": compute_major,
                "computeMinor": compute_minor, "maxThreadsPerBlock": 1024, "maxThreadsPerMultiprocessor": 2048,
                "regsPerBlock": 65536, "regsPerMultiprocessor": 65536, "warpSize": 64 if amd else 32,
                "sharedMemPerBlock": 49152, "sharedMemPerMultiprocessor": 167936, "numSms": num_sms})
        self.extra = dict(extra or {})
        self.events.append({"ph": "M", "name": "process_name", "pid": HOST_PID, "tid": 0, "args": {"name": "python"}})
        self.events.append({"ph": "M", "name": "thread_name", "pid": HOST_PID, "tid": MAIN_TID,
                            "args": {"name": "thread 1000 (python)"}})

    # ------------------------------------------------------------------ host
    def _x(self, cat: str, name: str, ts: float, dur: float, pid: Any, tid: Any, args: dict | None) -> dict:
        ev = {"ph": "X", "cat": cat, "name": name, "pid": pid, "tid": tid, "ts": float(ts), "dur": float(dur)}
        if args:
            ev["args"] = dict(args)
        self.events.append(ev)
        return ev

    def cpu_op(self, name: str, ts: float, dur: float, *, tid: int = MAIN_TID, args: dict | None = None) -> dict:
        a = {"External id": self._ext}
        self._ext += 1
        a.update(args or {})
        return self._x("cpu_op", name, ts, dur, HOST_PID, tid, a)

    def annotation(self, name: str, ts: float, dur: float, *, tid: int = MAIN_TID, args: dict | None = None) -> dict:
        return self._x("user_annotation", name, ts, dur, HOST_PID, tid, args)

    def steps(self, n: int, step_us: float, start: float = 0.0, first: int = 0) -> Iterator[float]:
        """Add ``n`` ProfilerStep# ranges back to back; yield each start time."""
        for i in range(n):
            t = start + i * step_us
            self.annotation(f"ProfilerStep#{first + i}", t, step_us)
            yield t

    def dataloader(self, ts: float, dur: float, *, multi: bool = False, tid: int = MAIN_TID) -> dict:
        it = "_MultiProcessingDataLoaderIter" if multi else "_SingleProcessDataLoaderIter"
        return self.annotation(f"enumerate(DataLoader)#{it}.__next__", ts, dur, tid=tid)

    def runtime(self, name: str, ts: float, dur: float, *, tid: int = MAIN_TID, correlation: int | None = None,
                args: dict | None = None) -> dict:
        a = {"correlation": correlation if correlation is not None else -1}
        a.update(args or {})
        if correlation is None:
            a.pop("correlation")
        return self._x("cuda_runtime", name, ts, dur, HOST_PID, tid, a)

    def sync(self, ts: float, dur: float, *, tid: int = MAIN_TID, name: str | None = None) -> dict:
        return self.runtime(name or f"{self.rt}StreamSynchronize", ts, dur, tid=tid)

    # ------------------------------------------------------------------ device
    def _gpu(self, cat: str, name: str, ts: float, dur: float, launch_name: str, launch_ts: float | None,
             launch_dur: float, tid: int, stream: int, device: int, args: dict) -> dict:
        corr = self._corr
        self._corr += 1
        lts = ts - launch_dur - 1.0 if launch_ts is None else launch_ts
        self.runtime(launch_name, lts, launch_dur, tid=tid, correlation=corr)
        a = {"device": device, "stream": stream, "correlation": corr, "external id": self._ext - 1}
        a.update(args)
        ev = self._x(cat, name, ts, dur, device, stream, a)
        self.events.append({"ph": "s", "id": corr, "pid": HOST_PID, "tid": tid, "ts": float(lts), "cat": "ac2g",
                            "name": "ac2g"})
        self.events.append({"ph": "f", "id": corr, "pid": device, "tid": stream, "ts": float(ts), "cat": "ac2g",
                            "name": "ac2g", "bp": "e"})
        return ev

    def kernel(self, name: str, ts: float, dur: float, *, launch_ts: float | None = None, launch_dur: float = 5.0,
               tid: int = MAIN_TID, stream: int = 7, device: int = 0, grid: tuple = (216, 1, 1),
               block: tuple = (256, 1, 1), blocks_per_sm: float | None = None, occupancy: float | None = None,
               args: dict | None = None) -> dict:
        a: dict[str, Any] = {"grid": list(grid), "block": list(block), "registers per thread": 32,
                             "shared memory": 0}
        g = grid[0] * grid[1] * grid[2]
        a["blocks per SM"] = blocks_per_sm if blocks_per_sm is not None else g / self.num_sms
        a["est. achieved occupancy %"] = occupancy if occupancy is not None else 100
        a.update(args or {})
        return self._gpu("kernel", name, ts, dur, f"{self.rt}LaunchKernel", launch_ts, launch_dur, tid, stream, device, a)

    def memcpy(self, name: str, ts: float, dur: float, *, nbytes: int = 1 << 20, launch_ts: float | None = None,
               launch_dur: float = 5.0, tid: int = MAIN_TID, stream: int = 7, device: int = 0) -> dict:
        """``name`` like 'Memcpy HtoD (Pageable -> Device)'."""
        return self._gpu("gpu_memcpy", name, ts, dur, f"{self.rt}MemcpyAsync", launch_ts, launch_dur, tid, stream,
                         device, {"bytes": nbytes, "memory bandwidth (GB/s)": 10.0})

    def memset(self, ts: float, dur: float, *, nbytes: int = 1 << 20, launch_ts: float | None = None,
               tid: int = MAIN_TID, stream: int = 7, device: int = 0) -> dict:
        return self._gpu("gpu_memset", "Memset (Device)", ts, dur, f"{self.rt}MemsetAsync", launch_ts, 5.0, tid,
                         stream, device, {"bytes": nbytes})

    def op_with_kernel(self, op: str, kernel: str, ts: float, op_dur: float, k_dur: float, *,
                       tid: int = MAIN_TID, args: dict | None = None, kernel_ts: float | None = None,
                       **kernel_kw: Any) -> tuple[dict, dict]:
        """A CPU op that launches one kernel (launch inside the op, kernel right after unless kernel_ts)."""
        o = self.cpu_op(op, ts, op_dur, tid=tid, args=args)
        lts = ts + min(1.0, op_dur / 4)
        ldur = min(5.0, op_dur / 2)
        k = self.kernel(kernel, kernel_ts if kernel_ts is not None else lts + ldur + 1.0, k_dur, launch_ts=lts,
                        launch_dur=ldur, tid=tid, **kernel_kw)
        return o, k

    def memory(self, ts: float, nbytes: int, total_allocated: int, total_reserved: int | None = None,
               device: int = 0) -> None:
        self.events.append({"ph": "i", "s": "t", "cat": "cpu_instant_event", "name": "[memory]", "pid": HOST_PID,
                            "tid": MAIN_TID, "ts": float(ts),
                            "args": {"Bytes": nbytes, "Total Allocated": total_allocated,
                                     "Total Reserved": total_reserved if total_reserved is not None else total_allocated,
                                     "Device Type": 1, "Device Id": device, "Addr": 1234}})

    # ------------------------------------------------------------------ output
    def doc(self) -> dict[str, Any]:
        d: dict[str, Any] = {"schemaVersion": 1, "deviceProperties": self.device_properties,
                             "traceEvents": self.events + [{"ph": "X", "cat": "Trace", "name": "PyTorch Profiler (0)",
                                                            "pid": "Spans", "tid": "PyTorch Profiler", "ts": 0.0,
                                                            "dur": 1.0}],
                             "baseTimeNanoseconds": 1_700_000_000_000_000_000}
        d.update(self.extra)
        return d

    def write(self, path: Path | str, gz: bool = False) -> Path:
        path = Path(path)
        if path.is_dir():
            path = path / ("trace.pt.trace.json.gz" if gz else "trace.pt.trace.json")
        data = json.dumps(self.doc()).encode()
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    def load(self, path: Path | str, name: str = "trace.pt.trace.json") -> Any:
        """Write to ``path`` (a folder: ``path/name``) and load it with analyzers.loader.load_trace."""
        from analyzers.loader import load_trace

        path = Path(path)
        if path.is_dir():
            path = path / name
        return load_trace(self.write(path))
