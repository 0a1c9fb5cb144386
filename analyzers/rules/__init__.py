"""Bottleneck rules: one module per rule family, registered with ``@rule``.

``run_rules(models)`` runs every registered rule on every model (rank) and
returns the findings ranked by estimated gain (ms per step), highest first.
Adding a rule means adding a module (or a function) here; every module of this
package is imported automatically.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Iterable

from ..findings import Finding
from ..trace_model import TraceModel
from .context import ModelFacts, RuleContext
from .registry import RULES, RuleSpec, rule

__all__ = ["run_rules", "RuleContext", "ModelFacts", "RULES", "RuleSpec", "rule", "Finding", "rule_errors"]

_INTERNAL = {"context", "registry", "common"}
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name not in _INTERNAL and not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

#: errors of the last run_rules call: (rule id, rank, message); a failing rule never stops the others
rule_errors: list[tuple[str, int | None, str]] = []


def _as_list(out: Finding | Iterable[Finding] | None) -> list[Finding]:
    if out is None:
        return []
    if isinstance(out, Finding):
        return [out]
    return [f for f in out if f is not None]


def run_rules(models: list[TraceModel] | TraceModel, context: RuleContext | None = None,
              only: Iterable[str] | None = None) -> list[Finding]:
    """Run the rules on ``models`` (one per rank) and return findings ranked by gain_ms (desc).

    When several ranks raise the same rule, the one with the largest gain is
    kept and ``evidence['ranks']`` lists every rank that raised it."""
    if isinstance(models, TraceModel):
        models = [models]
    context = context or RuleContext()
    wanted = set(only) if only is not None else None
    rule_errors.clear()
    by_rule: dict[str, list[Finding]] = {}
    for model in models:
        if not len(model):
            continue  # a failed run bundle without a trace: nothing was measured
        facts = context.for_model(model)
        for spec in RULES.values():
            if wanted is not None and spec.id not in wanted:
                continue
            try:
                found = _as_list(spec.fn(facts))
            except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
                rule_errors.append((spec.id, model.rank, f"{type(exc).__name__}: {exc}"))
                continue
            settings = model.settings
            for f in found:
                if f.knob is not None and f.knob in settings and settings[f.knob] == f.knob_value:
                    continue  # safety net: never suggest what the run already had on
                f.rank = model.rank
                by_rule.setdefault(f.rule + "\0" + f.title, []).append(f)
    out: list[Finding] = []
    for group in by_rule.values():
        best = max(group, key=lambda f: f.gain_ms)
        if len(models) > 1:
            best.evidence["ranks"] = sorted({f.rank for f in group if f.rank is not None})
        out.append(best)
    out.sort(key=lambda f: (-f.gain_ms, _SEVERITY_ORDER.get(f.severity, 9), f.rule))
    return out
