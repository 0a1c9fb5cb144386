"""The rule registry: each rule module registers its functions with :func:`rule`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..findings import Finding
from .context import ModelFacts

RuleFn = Callable[[ModelFacts], "Finding | Iterable[Finding] | None"]


@dataclass(frozen=True)
class RuleSpec:
    """A registered rule: its stable id, what it looks for, and its function."""

    id: str
    title: str
    fn: RuleFn
    gpu: bool = False  # needs GPU work in the trace
    vendor_specific: bool = False  # NVIDIA-only signal or advice
    cross_rank: bool = False  # reads every rank (analyzers.cross_rank.CrossRank), not one rank's ModelFacts


RULES: dict[str, RuleSpec] = {}


def rule(rule_id: str, title: str, *, gpu: bool = False, vendor_specific: bool = False,
         cross_rank: bool = False) -> Callable[[RuleFn], RuleFn]:
    """Decorator: register ``fn`` as rule ``rule_id`` (ids are stable and unique)."""

    def deco(fn: RuleFn) -> RuleFn:
        if rule_id in RULES and RULES[rule_id].fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"rule id {rule_id!r} registered twice")
        RULES[rule_id] = RuleSpec(rule_id, title, fn, gpu, vendor_specific, cross_rank)
        return fn

    return deco
