"""The ``torchscope analyze`` and ``torchscope compare`` commands (no Qt, no torch).

Both load through :class:`~analyzers.session.AnalysisSession`; the ``torchscope``
entry point (``profiler_gui.cli``) registers them.  User mistakes raise
:class:`~analyzers.errors.TraceLoadError`, which the entry point prints as one line.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .errors import AnalysisError, TraceLoadError
from .findings import json_safe


def print_json(obj: Any) -> None:
    """One JSON object on stdout (no NaN: reports are made JSON-safe first)."""
    sys.stdout.write(json.dumps(obj, indent=2, allow_nan=False, default=str) + "\n")


def _warn_lines(session: Any) -> None:
    for m in session.models:
        for w in m.warnings:
            print(f"torchscope: warning: {m.source.path}: {w}", file=sys.stderr)


def _checked_rank(session: Any, path: str, rank: int | None) -> int | None:
    if rank is not None and rank not in session.ranks:
        raise TraceLoadError(path, f"no rank {rank} in this trace (ranks: {', '.join(map(str, session.ranks))})")
    return rank


def cmd_analyze(args: argparse.Namespace) -> int:
    """``torchscope analyze PATH [--rank N] [--json]``"""
    from .report_text import format_text
    from .session import AnalysisSession

    session = AnalysisSession.load(args.path)
    rank = _checked_rank(session, args.path, getattr(args, "rank", None))
    if not getattr(args, "quiet", False):
        _warn_lines(session)
    if getattr(args, "folded", None):
        _write_folded(session, args.path, args.folded, rank)
    report = session.report(rank)
    if args.json:
        print_json(report)
    else:
        sys.stdout.write(format_text(report) + "\n")
    return 0


def _write_folded(session: Any, path: str, out: str, rank: int | None) -> None:
    """``--folded OUT``: the rank's host call stacks in the folded format (flamegraph.pl, speedscope)."""
    from .flame import write_folded

    ra = session.rank(rank if rank is not None else session.ranks[0])
    graph = ra.flame
    try:
        lines = write_folded(graph, out)
    except OSError as exc:
        raise TraceLoadError(out, f"cannot write the folded stacks: {exc.strerror or exc}") from None
    note = "" if graph.has_python else " (ops only: the trace has no Python stacks; record with with_stack=True)"
    print(f"torchscope: wrote {lines} stacks (rank {ra.rank}, self time in us) to {out}{note}", file=sys.stderr)


def cmd_compare(args: argparse.Namespace) -> int:
    """``torchscope compare A B [--json]``: every rank, headline figures from the slowest."""
    from .compare import compare, format_compare_text
    from .session import AnalysisSession

    result = compare(AnalysisSession.load(args.a), AnalysisSession.load(args.b))
    if args.json:
        print_json(result)
    else:
        sys.stdout.write(format_compare_text(result) + "\n")
    return 0


def cmd_critical_path(args: argparse.Namespace) -> int:
    """``torchscope critical-path PATH [--annotation NAME] [--instance K] [--rank R] [--json]``"""
    from .critical_path import CriticalPath
    from .report_text import format_critical_path
    from .session import AnalysisSession

    session = AnalysisSession.load(args.path)
    rank = _checked_rank(session, args.path, args.rank)
    ra = session.rank(rank if rank is not None else session.ranks[0])
    try:
        cp = ra.critical_path(args.annotation, args.instance)
    except AnalysisError as exc:  # an odd trace or a bug: named on one line, never a traceback
        raise TraceLoadError(args.path, str(exc)) from exc
    if not isinstance(cp, CriticalPath):
        raise TraceLoadError(args.path, cp.split(": ", 1)[-1])
    result = {"rank": ra.rank, **cp.to_dict()}
    if args.json:
        for w in cp.warnings:  # the text form prints them as notes
            print(f"torchscope: warning: {args.path}: {w}", file=sys.stderr)
        print_json(json_safe(result))
    else:
        sys.stdout.write("\n".join(format_critical_path(result)) + "\n")
    return 0


def register(sub: Any) -> None:
    """Add ``analyze`` and ``compare`` to an argparse subparsers object."""
    p = sub.add_parser("analyze", help="report on a saved trace (file, folder, TensorBoard log dir, run bundle)")
    p.add_argument("path", help="trace file (.json / .json.gz), folder of ranks, TensorBoard log dir or run bundle")
    p.add_argument("--rank", type=int, default=None,
                   help="report this rank in detail (default: a per-rank summary, then the first rank)")
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts and CI)")
    p.add_argument("--quiet", action="store_true", help="do not print loader warnings")
    p.add_argument("--folded", metavar="OUT", default=None,
                   help="also write the host call stacks (Python frames and ops, self time in us) to OUT in the "
                        "folded-stacks format that flamegraph.pl and speedscope open")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("critical-path", help="what bounds one step: its critical path (HTA's model), CPU vs GPU shares")
    p.add_argument("path", help="trace file, folder of ranks, TensorBoard log dir or run bundle")
    p.add_argument("--annotation", default=None,
                   help="window: the events whose name contains NAME (default: profiler steps)")
    p.add_argument("--instance", type=int, default=None,
                   help="which occurrence of the annotation, from 0 (default: 1, the second step, when there are two)")
    p.add_argument("--rank", type=int, default=None, help="rank to analyse (default: the first)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_critical_path)

    p = sub.add_parser("compare", help="compare two traces or runs (A = before, B = after), every rank")
    p.add_argument("a", help="baseline trace or run bundle")
    p.add_argument("b", help="changed trace or run bundle")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_compare)
