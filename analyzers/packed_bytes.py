"""Per-row optional bytes (each event's raw JSON args) as one blob + offsets.

A million small ``bytes`` objects cost ~50 bytes of header each and keep the
whole JSON text alive when they are views into it; one ``uint8`` blob with
offsets costs 9 bytes a row.  ``take`` re-orders rows without copying the blob
(the trace model keeps its slices' args this way, in its own row order).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np


def json_array(raws: Iterable[Any], missing: bytes = b"{}") -> bytes:
    """One JSON array of raw JSON values (bytes-like; None or empty: ``missing``), to decode in one call."""
    return b"[" + b",".join(r if r else missing for r in raws) + b"]"


@dataclass
class PackedBytes:
    """Row ``i`` is ``blob[offsets[j]:offsets[j + 1]]`` with ``j = index[i]`` (or ``i``), None where not present."""

    blob: np.ndarray  # uint8
    offsets: np.ndarray  # int64, one more than the stored rows
    present: np.ndarray  # bool per stored row: False where the row had None
    index: np.ndarray | None = None  # int64 stored row of each row; None: the identity

    @classmethod
    def pack(cls, values: Iterable[Any]) -> "PackedBytes":
        """From a sequence of bytes-like objects or None."""
        values = list(values)
        n = len(values)
        present = np.fromiter((v is not None for v in values), dtype=bool, count=n)
        parts = [v if v is not None else b"" for v in values]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=n), out=offsets[1:])
        return cls(np.frombuffer(b"".join(parts), dtype=np.uint8), offsets, present)

    @classmethod
    def pack_raw(cls, values: list[Any]) -> "PackedBytes":
        """From bytes-like values where an empty one means none (msgspec.Raw), without a copy per value."""
        n = len(values)
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=n)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(np.frombuffer(b"".join(values), dtype=np.uint8), offsets, lengths > 0)

    @classmethod
    def concat(cls, parts: list["PackedBytes"]) -> "PackedBytes":
        """Rows of several packs, one after another (each must be un-indexed)."""
        if not parts:
            return cls.pack([])
        if len(parts) == 1 and parts[0].index is None:
            return parts[0]
        bases = np.cumsum([0] + [len(p.blob) for p in parts[:-1]])
        offsets = np.concatenate([np.zeros(1, dtype=np.int64)] + [p.offsets[1:] + b for p, b in zip(parts, bases)])
        blob = np.concatenate([p.blob for p in parts]) if parts else np.empty(0, dtype=np.uint8)
        return cls(blob, offsets, np.concatenate([p.present for p in parts]))

    def __len__(self) -> int:
        return len(self.present) if self.index is None else len(self.index)

    def _stored(self, i: int) -> int:
        return i if self.index is None else int(self.index[i])

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            i = int(index) + (len(self) if index < 0 else 0)
            j = self._stored(i)
            if not self.present[j]:
                return None
            return self.blob[self.offsets[j]:self.offsets[j + 1]].tobytes()
        return self.take(np.arange(len(self))[index])

    def take(self, rows: Any) -> "PackedBytes":
        """The given rows (an index array or bool mask), sharing this blob."""
        rows = np.arange(len(self))[rows] if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=np.int64)
        stored = rows if self.index is None else self.index[rows]
        return PackedBytes(self.blob, self.offsets, self.present, stored.astype(np.int64, copy=False))

    def many(self, rows: Any) -> list[memoryview | None]:
        """The given rows' values as read-only views of the blob (no copies), None where not present."""
        stored = np.asarray(rows, dtype=np.int64) if self.index is None else self.index[np.asarray(rows, dtype=np.int64)]
        view = memoryview(self.blob).toreadonly()
        starts, ends = self.offsets[stored].tolist(), self.offsets[stored + 1].tolist()
        return [view[a:b] if p else None for a, b, p in zip(starts, ends, self.present[stored].tolist())]

    def contains(self, needle: bytes, rows: Any) -> np.ndarray:
        """Whether each given row's value contains ``needle`` (one scan of the blob, not one per row)."""
        hits = np.fromiter((m.start() for m in re.finditer(re.escape(needle), memoryview(self.blob))),
                           dtype=np.int64)
        stored_hit = np.zeros(len(self.present), dtype=bool)
        stored_hit[np.searchsorted(self.offsets, hits, side="right") - 1] = True
        rows = np.asarray(rows, dtype=np.int64)
        return stored_hit[rows if self.index is None else self.index[rows]]

    def __iter__(self) -> Iterator[bytes | None]:
        return (self[i] for i in range(len(self)))

    def tolist(self) -> list[bytes | None]:
        return list(self)
