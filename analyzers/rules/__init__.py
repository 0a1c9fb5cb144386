"""Bottleneck rules: one module per rule family, registered with ``@rule``.

``run_rank_rules(facts)`` runs every registered rule on one rank; the
analysis session (``analyzers.session``) calls it once per rank and merges
the ranks.  ``run_rules(models)`` is the shortcut for a list of models.
Every module of this package is imported automatically.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Iterable

from ..findings import Finding
from ..trace_model import TraceModel
from .context import ModelFacts
from .registry import RULES, RuleSpec, rule

__all__ = ["run_rules", "run_rank_rules", "run_cross_rank_rules", "ModelFacts", "RULES", "RuleSpec", "rule", "Finding"]

_INTERNAL = {"context", "registry"}

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name not in _INTERNAL and not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")


def _as_list(out: Finding | Iterable[Finding] | None) -> list[Finding]:
    if out is None:
        return []
    if isinstance(out, Finding):
        return [out]
    return [f for f in out if f is not None]


def run_rank_rules(facts: ModelFacts, only: Iterable[str] | None = None) -> list[Finding]:
    """Every rule (or those in ``only``) on one rank; a failing rule is recorded in ``facts.rule_errors``."""
    if not len(facts.model):
        return []  # a failed run bundle without a trace: nothing was measured
    wanted = set(only) if only is not None else None
    settings = facts.model.settings
    out: list[Finding] = []
    for spec in RULES.values():
        if (wanted is not None and spec.id not in wanted) or spec.cross_rank:
            continue
        try:
            found = _as_list(spec.fn(facts))
        except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
            facts.rule_errors.append((spec.id, f"{type(exc).__name__}: {exc}"))
            continue
        for f in found:
            f.rule, f.title = spec.id, f.title or spec.title
            if f.knob is not None and settings.get(f.knob, object()) == f.knob_value:
                continue  # safety net: never suggest what the run already had on
            f.rank = facts.rank
            out.append(f)
    return out


def run_cross_rank_rules(cross: Any, errors: list[tuple[str, int, str]]) -> list[Finding]:
    """The cross-rank rules (STRAG1) on a session's :class:`~analyzers.cross_rank.CrossRank`.

    A failing rule is appended to ``errors`` as (rule id, -1, message).
    """
    out: list[Finding] = []
    for spec in RULES.values():
        if not spec.cross_rank:
            continue
        try:
            found = _as_list(spec.fn(cross))
        except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
            errors.append((spec.id, -1, f"{type(exc).__name__}: {exc}"))
            continue
        for f in found:
            f.rule, f.title = spec.id, f.title or spec.title
            out.append(f)
    return out


def run_rules(models: list[TraceModel] | TraceModel, only: Iterable[str] | None = None) -> list[Finding]:
    """Findings of ``models`` (one per rank), ranked; the best per rule across ranks (see AnalysisSession)."""
    from ..findings import rank_findings
    from ..session import AnalysisSession

    session = AnalysisSession([models] if isinstance(models, TraceModel) else list(models))
    if only is None:
        return session.findings()
    found = [f for ra in session for f in run_rank_rules(ra.facts, only)]
    return rank_findings(found)
