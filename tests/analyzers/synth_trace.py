"""Tiny hand-written Kineto traces for metric tests (times in microseconds, as in real traces)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analyzers.loader import load_trace
from analyzers.trace_model import TraceModel


class SynthTrace:
    """Build a trace event by event, then ``load(tmp_path)`` it through the real loader."""

    def __init__(self, device_properties: list[dict[str, Any]] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.corr = 1000
        self.ext = 1
        self.device_properties = device_properties

    def host(self, name: str, ts: float, dur: float, cat: str = "cpu_op", tid: int = 1,
             **args: Any) -> dict[str, Any]:
        ev = {"ph": "X", "cat": cat, "name": name, "pid": 100, "tid": tid, "ts": ts, "dur": dur,
              "args": {"External id": self.ext, **args}}
        self.ext += 1
        self.events.append(ev)
        return ev

    def step(self, n: int, ts: float, dur: float, tid: int = 1) -> dict[str, Any]:
        return self.host(f"ProfilerStep#{n}", ts, dur, cat="user_annotation", tid=tid)

    def gpu(self, name: str, ts: float, dur: float, launch_ts: float | None = None, launch_dur: float = 1.0,
            cat: str = "kernel", device: int = 0, stream: int = 7, tid: int = 1, ext: int | None = None,
            **args: Any) -> dict[str, Any]:
        """A GPU op; with ``launch_ts`` also its cudaLaunchKernel (same correlation)."""
        self.corr += 1
        gargs = {"device": device, "stream": stream, "correlation": self.corr, **args}
        if ext is not None:
            gargs["External id"] = ext
        if launch_ts is not None:
            call = {"kernel": "cudaLaunchKernel", "gpu_memcpy": "cudaMemcpyAsync", "gpu_memset": "cudaMemsetAsync"}
            rargs: dict[str, Any] = {"correlation": self.corr}
            if ext is not None:
                rargs["External id"] = ext
            self.events.append({"ph": "X", "cat": "cuda_runtime", "name": call.get(cat, "cudaLaunchKernel"),
                                "pid": 100, "tid": tid, "ts": launch_ts, "dur": launch_dur, "args": rargs})
        ev = {"ph": "X", "cat": cat, "name": name, "pid": device, "tid": f"stream {stream}", "ts": ts, "dur": dur,
              "args": gargs}
        self.events.append(ev)
        return ev

    def memory(self, ts: float, nbytes: int, addr: int, device_type: int = 1, device_id: int = 0,
               total_allocated: int | None = None, total_reserved: int | None = None) -> None:
        args: dict[str, Any] = {"Bytes": nbytes, "Addr": addr, "Device Type": device_type, "Device Id": device_id}
        if total_allocated is not None:
            args["Total Allocated"] = total_allocated
        if total_reserved is not None:
            args["Total Reserved"] = total_reserved
        self.events.append({"ph": "i", "s": "t", "cat": "cpu_instant_event", "name": "[memory]", "pid": 100,
                            "tid": 1, "ts": ts, "args": args})

    def doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"schemaVersion": 1, "traceEvents": self.events}
        if self.device_properties is not None:
            doc["deviceProperties"] = self.device_properties
        return doc

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.doc()))
        return path

    def load(self, tmp_path: Path, name: str = "synth.json") -> TraceModel:
        return load_trace(self.write(tmp_path / name))


V100 = [{"id": 0, "name": "Tesla V100-SXM2-16GB", "totalGlobalMem": 16945512448, "computeMajor": 7,
         "computeMinor": 0, "numSms": 80, "maxThreadsPerMultiprocessor": 2048}]
