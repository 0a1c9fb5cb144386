"""Write an object tree as ``.npy`` columns + a JSON manifest, and map it back without pickle.

The loader child process hands its :class:`~profiler_gui.analysis.Analysis`
to the app this way: every numeric array becomes a ``.npy`` file (mapped with
``numpy.load(mmap_mode="r")`` when large, so the app holds the one copy the
page cache has), string lists and string object arrays become a UTF-8 blob +
offsets, and the rest (dicts, lists, DataFrames, our dataclasses, enums)
becomes tagged JSON.  Only dataclasses and enums of our own modules are
rebuilt, by setting their fields; ``allow_pickle`` is never on.
"""
from __future__ import annotations

import dataclasses
import enum
import importlib
import json
import math
import os
from typing import Any

import numpy as np
import pandas as pd

from analyzers.packed_bytes import PackedBytes  # noqa: F401  (rebuilt from stores; isolated_load imports it here)

MANIFEST = "manifest.json"
#: arrays at least this big are memory-mapped; smaller ones are read (fewer tiny mappings)
MMAP_MIN_BYTES = 1 << 16
#: classes are rebuilt only from these modules (and only dataclasses / enums)
ALLOWED_MODULE_ROOTS = ("analyzers", "profiler_gui.analysis", "profiler_gui.timeline.data", "profiler_gui.isolated_load",
                        "profiler_gui.columnar_store")
_SCALARS = (type(None), bool, int, str)


class StoreError(ValueError):
    """The store holds something this reader will not rebuild."""


# ----------------------------------------------------------------------------- writing
class _Writer:
    """Encodes values to JSON nodes, writing arrays as numbered .npy files in ``folder``."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.n_files = 0

    def array(self, arr: np.ndarray) -> str:
        name = f"a{self.n_files}.npy"
        self.n_files += 1
        np.save(os.path.join(self.folder, name), np.ascontiguousarray(arr), allow_pickle=False)
        return name

    def strings(self, values: Any, container: str) -> dict[str, Any]:
        encoded = [s.encode("utf-8", "surrogatepass") for s in values]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        return {"t": "strs", "c": container, "blob": self.array(blob), "off": self.array(offsets)}

    def encode(self, v: Any) -> Any:
        if isinstance(v, _SCALARS) and not isinstance(v, enum.Enum):
            return v
        if isinstance(v, np.generic):
            return {"t": "np", "dtype": v.dtype.str, "v": self.encode(v.item())}
        if isinstance(v, float):
            return v if math.isfinite(v) else {"t": "float", "v": repr(v)}
        if isinstance(v, np.ndarray):
            return self.ndarray(v)
        if isinstance(v, (list, tuple, set, frozenset)):
            return self.sequence(v)
        if isinstance(v, dict):
            return {"t": "dict", "k": [self.encode(k) for k in v], "v": [self.encode(x) for x in v.values()]}
        if isinstance(v, pd.DataFrame):
            return {"t": "df", "cols": self.index(v.columns),
                    "data": [self.series_values(v.iloc[:, i]) for i in range(v.shape[1])],
                    "index": self.index(v.index)}
        if isinstance(v, pd.Series):
            return {"t": "series", "v": self.series_values(v), "index": self.index(v.index),
                    "name": self.encode(v.name)}
        if isinstance(v, enum.Enum):
            return {"t": "enum", "cls": _qualname(type(v)), "v": self.encode(v.value)}
        if isinstance(v, (bytes, bytearray, memoryview)):
            return {"t": "bytes", "v": self.array(np.frombuffer(bytes(v), dtype=np.uint8))}
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {"t": "dc", "cls": _qualname(type(v)),
                    "f": {f.name: self.encode(getattr(v, f.name)) for f in dataclasses.fields(v)}}
        raise TypeError(f"cannot hand over a {type(v).__module__}.{type(v).__qualname__}")

    def sequence(self, v: Any) -> Any:
        kind = type(v).__name__ if type(v) in (list, tuple, set, frozenset) else "list"
        if len(v) >= 16 and kind in ("list", "tuple") and all(type(s) is str for s in v):
            return self.strings(v, kind)
        return {"t": kind, "v": [self.encode(x) for x in v]}

    def ndarray(self, v: np.ndarray) -> Any:
        if v.dtype != object:
            return {"t": "nd", "f": self.array(v)}
        flat = v.ravel()
        if v.ndim == 1 and all(type(s) is str for s in flat):
            return self.strings(flat, "ndarray")
        return {"t": "objarr", "shape": list(v.shape), "v": [self.encode(x) for x in flat]}

    def series_values(self, s: pd.Series) -> Any:
        if isinstance(s.dtype, pd.CategoricalDtype):
            return {"t": "cat", "codes": self.ndarray(np.asarray(s.cat.codes)),
                    "cats": self.encode(list(s.cat.categories)), "ordered": bool(s.cat.ordered)}
        if isinstance(s.dtype, np.dtype):
            return self.ndarray(s.to_numpy())
        return {"t": "ext", "dtype": str(s.dtype), "v": self.ndarray(s.to_numpy(dtype=object))}

    def index(self, idx: pd.Index) -> Any:
        if isinstance(idx, pd.RangeIndex):
            return {"t": "range", "a": idx.start, "b": idx.stop, "s": idx.step, "name": self.encode(idx.name)}
        if isinstance(idx, pd.MultiIndex):
            raise TypeError("cannot hand over a MultiIndex")
        if isinstance(idx.dtype, np.dtype):
            return {"t": "index", "v": self.ndarray(idx.to_numpy()), "name": self.encode(idx.name)}
        return {"t": "index", "v": self.ndarray(idx.to_numpy(dtype=object)), "name": self.encode(idx.name),
                "dtype": str(idx.dtype)}


def _qualname(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def write_store(value: Any, folder: str) -> int:
    """Write ``value`` into ``folder`` (which must exist); returns the number of .npy files."""
    writer = _Writer(folder)
    root = writer.encode(value)
    with open(os.path.join(folder, MANIFEST), "w", encoding="utf-8") as fh:
        json.dump({"version": 1, "root": root}, fh, allow_nan=False)
    return writer.n_files


# ----------------------------------------------------------------------------- reading
class _Reader:
    """Rebuilds values from JSON nodes, mapping the .npy files of ``folder``."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def array(self, name: str, mmap: bool = True) -> np.ndarray:
        """The array in file ``name``: a read-only view of a memory map when large and ``mmap``."""
        if not name.endswith(".npy") or os.sep in name or "/" in name or name.startswith("."):
            raise StoreError(f"bad array file name {name!r}")
        path = os.path.join(self.folder, name)
        mode = "r" if mmap and os.path.getsize(path) >= MMAP_MIN_BYTES else None
        return np.asarray(np.load(path, mmap_mode=mode, allow_pickle=False))

    def strings(self, node: dict[str, Any]) -> Any:
        blob = self.array(node["blob"]).tobytes()
        off = self.array(node["off"]).tolist()
        values = [blob[a:b].decode("utf-8", "surrogatepass") for a, b in zip(off[:-1], off[1:])]
        if node["c"] == "ndarray":
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out
        return tuple(values) if node["c"] == "tuple" else values

    def decode(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        t = node["t"]
        if t == "nd":
            return self.array(node["f"])
        if t == "strs":
            return self.strings(node)
        if t in ("list", "tuple", "set", "frozenset"):
            items = [self.decode(x) for x in node["v"]]
            return items if t == "list" else {"tuple": tuple, "set": set, "frozenset": frozenset}[t](items)
        if t == "dict":
            return {_hashable(self.decode(k)): self.decode(v) for k, v in zip(node["k"], node["v"])}
        if t == "float":
            return float(node["v"])
        if t == "np":
            return np.dtype(node["dtype"]).type(self.decode(node["v"]))
        if t == "objarr":
            out = np.empty(len(node["v"]), dtype=object)
            out[:] = [self.decode(x) for x in node["v"]]
            return out.reshape(node["shape"])
        if t == "bytes":
            return self.array(node["v"]).tobytes()
        return self.decode_table_or_class(node)

    def decode_table_or_class(self, node: dict[str, Any]) -> Any:
        t = node["t"]
        if t == "df":
            data = {i: self.column(c) for i, c in enumerate(node["data"])}
            frame = pd.DataFrame(data, index=self.index(node["index"]), copy=False)
            frame.columns = self.index(node["cols"])
            return frame
        if t == "series":
            return pd.Series(self.column(node["v"]), index=self.index(node["index"]), name=self.decode(node["name"]),
                             copy=False)
        if t == "enum":
            return _allowed_class(node["cls"], enum.Enum)(self.decode(node["v"]))
        if t == "dc":
            cls = _allowed_class(node["cls"], None)
            obj = object.__new__(cls)
            for name, value in node["f"].items():
                object.__setattr__(obj, name, self.decode(value))
            return obj
        raise StoreError(f"unknown node type {t!r}")

    def column(self, node: dict[str, Any]) -> Any:
        """A table column: read into memory (writable), never mapped."""
        if node["t"] == "nd":
            return self.array(node["f"], mmap=False)
        if node["t"] == "cat":
            return pd.Categorical.from_codes(self.decode(node["codes"]), self.decode(node["cats"]),
                                             ordered=node["ordered"])
        if node["t"] == "ext":
            return pd.array(self.decode(node["v"]), dtype=node["dtype"])
        return self.decode(node)

    def index(self, node: dict[str, Any]) -> pd.Index:
        if node["t"] == "range":
            return pd.RangeIndex(node["a"], node["b"], node["s"], name=self.decode(node["name"]))
        return pd.Index(self.decode(node["v"]), name=self.decode(node["name"]), dtype=node.get("dtype"))


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def _allowed_class(qualname: str, base: type | None) -> type:
    """Our own dataclass (or enum when ``base`` is Enum) named ``module:Qual.Name``; StoreError otherwise."""
    module, _, name = qualname.partition(":")
    if not any(module == root or module.startswith(root + ".") for root in ALLOWED_MODULE_ROOTS):
        raise StoreError(f"refusing to rebuild {qualname}")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part, None)
    ok = isinstance(obj, type) and (issubclass(obj, base) if base is not None else dataclasses.is_dataclass(obj))
    if not ok:
        raise StoreError(f"refusing to rebuild {qualname}")
    return obj


def read_store(folder: str) -> Any:
    """The value :func:`write_store` wrote into ``folder``; large arrays are read-only memory maps."""
    with open(os.path.join(folder, MANIFEST), encoding="utf-8") as fh:
        doc = json.load(fh)
    if doc.get("version") != 1:
        raise StoreError(f"unknown store version {doc.get('version')!r}")
    return _Reader(folder).decode(doc["root"])
