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

For metric tests that count every microsecond, :meth:`TraceBuilder.bare` writes
only what each call names: no deviceProperties (unless asked), no profiler span,
no default launch-configuration args on kernels, 1 us launch calls; GPU work
added with ``launch=False`` has no launching call at all.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Iterator

HOST_PID = 1000
MAIN_TID = 1000
BWD_TID = 1001

# a V100 as the TensorBoard plugin's sample traces describe it: TraceBuilder(**V100)
V100: dict[str, Any] = {"device_name": "Tesla V100-SXM2-16GB", "compute_major": 7, "num_sms": 80,
                        "total_mem": 16945512448}


class TraceBuilder:
    """Accumulate Kineto events and write them as a trace JSON file."""

    def __init__(self, *, gpu: bool = True, device_name: str = "NVIDIA A100-SXM4-40GB", compute_major: int = 8,
                 compute_minor: int = 0, num_sms: int = 108, total_mem: int = 40 * 2**30,
                 runtime_prefix: str | None = None, extra: dict[str, Any] | None = None,
                 profiler_span: bool = True, kernel_args: bool = True, launch_dur: float = 5.0) -> None:
        """``profiler_span``: write the 'PyTorch Profiler (0)' span at ts 0 (it sets the trace origin);
        ``kernel_args``: give kernels default grid/block/registers/blocks-per-SM/occupancy args;
        ``launch_dur``: default duration of the launch call of kernels, copies and memsets."""
        self.events: list[dict[str, Any]] = []
        self.gpu = gpu
        self.num_sms = num_sms
        self.profiler_span = profiler_span
        self.kernel_args = kernel_args
        self.launch_dur = launch_dur
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

    @classmethod
    def bare(cls, *, gpu: bool = False, **kw: Any) -> "TraceBuilder":
        """A builder that writes only what is asked (see the module doc); ``gpu=True`` adds deviceProperties."""
        kw = {"profiler_span": False, "kernel_args": False, "launch_dur": 1.0, **kw}
        return cls(gpu=gpu, **kw)

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

    def host_event(self, cat: str, name: str, ts: float, dur: float, *, tid: int = MAIN_TID,
                   args: dict | None = None) -> dict:
        """A host slice of any category (e.g. 'python_function')."""
        return self._x(cat, name, ts, dur, HOST_PID, tid, args)

    def annotation(self, name: str, ts: float, dur: float, *, tid: int = MAIN_TID, args: dict | None = None) -> dict:
        return self._x("user_annotation", name, ts, dur, HOST_PID, tid, args)

    def step(self, number: int, ts: float, dur: float, *, tid: int = MAIN_TID) -> dict:
        """One ProfilerStep#``number`` range."""
        return self.annotation(f"ProfilerStep#{number}", ts, dur, tid=tid)

    def steps(self, n: int, step_us: float, start: float = 0.0, first: int = 0) -> Iterator[float]:
        """Add ``n`` ProfilerStep# ranges back to back; yield each start time."""
        for i in range(n):
            t = start + i * step_us
            self.step(first + i, t, step_us)
            yield t

    def dataloader(self, ts: float, dur: float, *, multi: bool = False, tid: int = MAIN_TID) -> dict:
        it = "_MultiProcessingDataLoaderIter" if multi else "_SingleProcessDataLoaderIter"
        return self.annotation(f"enumerate(DataLoader)#{it}.__next__", ts, dur, tid=tid)

    def runtime(self, name: str, ts: float, dur: float, *, tid: int = MAIN_TID, correlation: int | None = None,
                args: dict | None = None, cat: str = "cuda_runtime") -> dict:
        a = {"correlation": correlation if correlation is not None else -1}
        a.update(args or {})
        if correlation is None:
            a.pop("correlation")
        return self._x(cat, name, ts, dur, HOST_PID, tid, a)

    def sync(self, ts: float, dur: float, *, tid: int = MAIN_TID, name: str | None = None) -> dict:
        return self.runtime(name or f"{self.rt}StreamSynchronize", ts, dur, tid=tid)

    # ------------------------------------------------------------------ device
    def _gpu(self, cat: str, name: str, ts: float, dur: float, launch_name: str, launch_ts: float | None,
             launch_dur: float | None, tid: int, stream: int, device: int, args: dict, launch: bool = True,
             ext: int | None = None) -> dict:
        """GPU work; with ``launch`` also its runtime call and ac2g flow; ``ext``: External id of both."""
        corr = self._corr
        self._corr += 1
        a = {"device": device, "stream": stream, "correlation": corr,
             "external id": self._ext - 1 if ext is None else ext}
        a.update(args)
        if not launch:
            return self._x(cat, name, ts, dur, device, stream, a)
        ldur = self.launch_dur if launch_dur is None else launch_dur
        lts = ts - ldur - 1.0 if launch_ts is None else launch_ts
        self.runtime(launch_name, lts, ldur, tid=tid, correlation=corr,
                     args=None if ext is None else {"External id": ext})
        ev = self._x(cat, name, ts, dur, device, stream, a)
        self.events.append({"ph": "s", "id": corr, "pid": HOST_PID, "tid": tid, "ts": float(lts), "cat": "ac2g",
                            "name": "ac2g"})
        self.events.append({"ph": "f", "id": corr, "pid": device, "tid": stream, "ts": float(ts), "cat": "ac2g",
                            "name": "ac2g", "bp": "e"})
        return ev

    def kernel(self, name: str, ts: float, dur: float, *, launch_ts: float | None = None,
               launch_dur: float | None = None, tid: int = MAIN_TID, stream: int = 7, device: int = 0,
               grid: tuple | None = None, block: tuple | None = None, blocks_per_sm: float | None = None,
               occupancy: float | None = None, args: dict | None = None, launch: bool = True,
               ext: int | None = None) -> dict:
        """A kernel; grid/block default to (216,1,1)/(256,1,1) unless the builder has ``kernel_args=False``."""
        a: dict[str, Any] = {}
        if self.kernel_args:
            grid, block = grid or (216, 1, 1), block or (256, 1, 1)
            a = {"registers per thread": 32, "shared memory": 0,
                 "blocks per SM": grid[0] * grid[1] * grid[2] / self.num_sms, "est. achieved occupancy %": 100}
        if grid is not None:
            a["grid"] = list(grid)
        if block is not None:
            a["block"] = list(block)
        if blocks_per_sm is not None:
            a["blocks per SM"] = blocks_per_sm
        if occupancy is not None:
            a["est. achieved occupancy %"] = occupancy
        a.update(args or {})
        return self._gpu("kernel", name, ts, dur, f"{self.rt}LaunchKernel", launch_ts, launch_dur, tid, stream, device,
                         a, launch, ext)

    def memcpy(self, name: str, ts: float, dur: float, *, nbytes: int = 1 << 20, launch_ts: float | None = None,
               launch_dur: float | None = None, tid: int = MAIN_TID, stream: int = 7, device: int = 0,
               launch: bool = True, ext: int | None = None) -> dict:
        """``name`` like 'Memcpy HtoD (Pageable -> Device)'."""
        return self._gpu("gpu_memcpy", name, ts, dur, f"{self.rt}MemcpyAsync", launch_ts, launch_dur, tid, stream,
                         device, {"bytes": nbytes, "memory bandwidth (GB/s)": 10.0}, launch, ext)

    def memset(self, ts: float, dur: float, *, nbytes: int = 1 << 20, launch_ts: float | None = None,
               launch_dur: float | None = None, tid: int = MAIN_TID, stream: int = 7, device: int = 0,
               launch: bool = True, ext: int | None = None) -> dict:
        return self._gpu("gpu_memset", "Memset (Device)", ts, dur, f"{self.rt}MemsetAsync", launch_ts, launch_dur,
                         tid, stream, device, {"bytes": nbytes}, launch, ext)

    def device_process(self, pid: int, name: str) -> None:
        """A ``process_name`` metadata event naming a device process (e.g. 'MTIA 0')."""
        self.events.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}})

    def accel_op(self, cat: str, name: str, ts: float, dur: float, *, pid: int, stream: int | str,
                 launch_name: str | None = None, runtime_cat: str = "mtia_runtime", launch_ts: float | None = None,
                 launch_dur: float | None = None, tid: int = MAIN_TID, device_args: bool = False,
                 args: dict | None = None) -> dict:
        """Device work of any accelerator, Kineto-shaped: on process ``pid`` / thread ``stream`` with
        ``args.stream``; with ``launch_name`` also its host runtime call (category ``runtime_cat``, with
        ``correlation``) and the ac2g flow between them.  Without ``device_args`` the device event carries no
        ``device`` or ``correlation`` arg (as MTIA CCP events): only the flow links it to its launch."""
        corr = self._corr
        self._corr += 1
        a: dict[str, Any] = {"stream": stream}
        if device_args:
            a.update({"device": pid, "correlation": corr, "external id": self._ext - 1})
        a.update(args or {})
        ev = self._x(cat, name, ts, dur, pid, stream, a)
        if launch_name is None:
            return ev
        ldur = self.launch_dur if launch_dur is None else launch_dur
        lts = ts - ldur - 1.0 if launch_ts is None else launch_ts
        self.runtime(launch_name, lts, ldur, tid=tid, correlation=corr, cat=runtime_cat)
        self.events.append({"ph": "s", "id": corr, "pid": HOST_PID, "tid": tid, "ts": float(lts), "cat": "ac2g",
                            "name": "ac2g"})
        self.events.append({"ph": "f", "id": corr, "pid": pid, "tid": stream, "ts": float(ts), "cat": "ac2g",
                            "name": "ac2g", "bp": "e"})
        return ev

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

    def memory(self, ts: float, nbytes: int, total_allocated: int | None = None, total_reserved: int | None = None,
               device: int = 0, *, addr: int = 1234, tid: int = MAIN_TID) -> None:
        """A [memory] event; without ``total_allocated`` it has no totals (reserved defaults to allocated)."""
        args: dict[str, Any] = {"Bytes": nbytes}
        if total_allocated is not None:
            args["Total Allocated"] = total_allocated
            args["Total Reserved"] = total_reserved if total_reserved is not None else total_allocated
        elif total_reserved is not None:
            args["Total Reserved"] = total_reserved
        args.update({"Device Type": 1, "Device Id": device, "Addr": addr})
        self.events.append({"ph": "i", "s": "t", "cat": "cpu_instant_event", "name": "[memory]", "pid": HOST_PID,
                            "tid": tid, "ts": float(ts), "args": args})

    # ------------------------------------------------------------------ output
    def doc(self) -> dict[str, Any]:
        span = [{"ph": "X", "cat": "Trace", "name": "PyTorch Profiler (0)", "pid": "Spans",
                 "tid": "PyTorch Profiler", "ts": 0.0, "dur": 1.0}] if self.profiler_span else []
        d: dict[str, Any] = {"schemaVersion": 1, "deviceProperties": self.device_properties,
                             "traceEvents": self.events + span, "baseTimeNanoseconds": 1_700_000_000_000_000_000}
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
