"""A column of repeated values (names, categories, pids, ids) as int32 codes + the distinct values."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

try:  # pandas' C hash table factorizes object arrays ~2x faster than a dict; optional
    from pandas._libs.hashtable import PyObjectHashTable as _ObjectHashTable
except ImportError:  # pragma: no cover - other pandas layouts
    _ObjectHashTable = None


def factorize(values: Any) -> tuple[np.ndarray, list[Any]]:
    """int64 codes and the distinct values in first-seen order, of an object array or list (strings, ints, a mix)."""
    if isinstance(values, CodedColumn):
        return values.codes.astype(np.int64), values.uniques
    if _ObjectHashTable is not None and len(values):
        arr = values if isinstance(values, np.ndarray) else np.fromiter(values, dtype=object, count=len(values))
        uniques, codes = _ObjectHashTable(1024).factorize(arr)
        codes, uniques = codes.astype(np.int64, copy=False), list(uniques)
        missing = codes < 0  # the table codes None (and NaN) as missing: give it its first-seen place
        if missing.any():
            first = int(np.argmax(missing))
            at = int(codes[:first].max()) + 1 if first else 0
            codes[codes >= at] += 1
            codes[missing] = at
            uniques.insert(at, arr[first])
        return codes, uniques
    index: dict[Any, int] = {}
    setdefault = index.setdefault
    codes = np.fromiter((setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values))
    return codes, list(index)


@dataclass
class CodedColumn:
    """``uniques[codes[i]]`` is row ``i``'s value; uniques are distinct, in first-seen order."""

    codes: np.ndarray  # int32
    uniques: list[Any]

    @classmethod
    def of(cls, values: Any) -> "CodedColumn":
        codes, uniques = factorize(values)
        return cls(codes.astype(np.int32), uniques)

    @classmethod
    def concat(cls, parts: list["CodedColumn"]) -> "CodedColumn":
        """Rows of several columns one after another; the merged uniques keep first-seen order."""
        if len(parts) == 1:
            return parts[0]
        # values are str, int or None (never bool or float), so equal values are the same trace value
        all_uniques = np.fromiter((u for p in parts for u in p.uniques), dtype=object,
                                  count=sum(len(p.uniques) for p in parts))
        global_codes, uniques = factorize(all_uniques)
        codes, start = [], 0
        for part in parts:
            lut = global_codes[start:start + len(part.uniques)].astype(np.int32)
            start += len(part.uniques)
            codes.append(lut[part.codes] if len(part.codes) else part.codes.astype(np.int32))
        return cls(np.concatenate(codes) if codes else np.empty(0, dtype=np.int32), uniques)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> Any:
        return self.uniques[self.codes[i]]

    def __iter__(self):
        uniques = self.uniques
        return (uniques[c] for c in self.codes.tolist())
