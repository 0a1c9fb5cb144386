"""Compute-once results with a visible owner: :class:`Memo` and the :func:`computed` descriptor.

An analysis object (one rank of a session) owns one :class:`Memo`; every
``@computed`` attribute of that object is computed on first access, kept in
``memo.values`` and counted in ``memo.counts``.  A failure is kept too and
raised again on each access as :class:`AnalysisError` (never recomputed,
never silently empty).  A re-entrant lock makes concurrent first accesses
(GUI worker thread and GUI thread) compute once.
"""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Callable, Generic, TypeVar

from .errors import AnalysisError

T = TypeVar("T")


class Memo:
    """Results by key, each computed at most once; failures kept as :class:`AnalysisError`."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.errors: dict[str, AnalysisError] = {}
        self.counts: Counter[str] = Counter()
        self._lock = threading.RLock()

    def get(self, key: str, compute: Callable[[], T]) -> T:
        """The value under ``key``, computing it once with ``compute()``."""
        with self._lock:
            if key in self.values:
                return self.values[key]
            if key in self.errors:
                raise self.errors[key]
            self.counts[key] += 1
            try:
                value = compute()
            except AnalysisError as err:  # a dependency failed: this one fails with its message, once
                self.errors[key] = err
                raise
            except Exception as exc:  # noqa: BLE001 - recorded and re-raised with the analysis name
                err = AnalysisError(key, exc)
                self.errors[key] = err
                raise err from exc
            self.values[key] = value
            return value

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (results cross process boundaries): everything but the lock."""
        return {"values": self.values, "errors": self.errors, "counts": self.counts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def has(self, key: str) -> bool:
        """True when ``key`` was computed (successfully)."""
        return key in self.values


class computed(Generic[T]):  # noqa: N801 - used as a decorator, like property
    """A lazily computed attribute kept in the owner's ``memo`` (the owner must have one)."""

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        return obj.memo.get(self.name, lambda: self.fn(obj))
