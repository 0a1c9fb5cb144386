"""The ``--summary PATH`` contract shared by every ``benchmarks/bench_*.py`` script.

A benchmark given ``--summary PATH`` writes one JSON object to PATH, built from the same medians it
prints::

    {"benchmark": "bench_bombs.py", "command": "python benchmarks/bench_bombs.py --repeat 3",
     "figure": "zeros: refused in 0.18 s, ...", "baseline": "...", "target": "< 2 s, < 300 MB", "met": true}

``figure``, ``baseline`` and ``target`` are short human-readable texts; ``baseline`` is what the script
measured in the same run as its reference (``"-"`` when it measures none); ``met`` is true, false, or
null when the script cannot tell.  ``benchmarks/run_all.py`` collects these files into
``benchmarks/results.json`` and renders the table of ``benchmarks/README.md`` from it.

Use from a script (run as ``python benchmarks/bench_x.py``)::

    sys.path.insert(0, str(REPO))
    from benchmarks.summary import add_summary_option, command_line, write_summary
    add_summary_option(parser)
    ...
    write_summary(args.summary, benchmark="bench_x.py", command=command_line(), figure=..., baseline=...,
                  target=..., met=...)
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

#: the cells of a summary, in the order they are written
CELLS = ("benchmark", "command", "figure", "baseline", "target", "met")


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the file is meant to be read (and committed)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)  # never leave a half-written temporary file behind
        raise


def write_summary(path: str | Path | None, *, benchmark: str, command: str, figure: str, baseline: str,
                  target: str, met: bool | None) -> None:
    """Write a benchmark's summary object to ``path`` atomically; a no-op when ``path`` is None.

    ``benchmark`` is the script's file name (``"bench_load.py"``), ``command`` the command line that
    reproduces the run (see ``command_line``); the texts are stripped of newlines so they fit one
    Markdown table cell.  Raises TypeError for a cell of the wrong type (a bug in the calling script).
    """
    if path is None:
        return
    cells: dict[str, Any] = {"benchmark": benchmark, "command": command, "figure": figure,
                             "baseline": baseline, "target": target}
    for key, value in cells.items():
        if not isinstance(value, str):
            raise TypeError(f"summary cell {key!r} must be a str, not {type(value).__name__}")
        cells[key] = " ".join(value.split())
    if met is not None and not isinstance(met, bool):
        raise TypeError(f"summary cell 'met' must be True, False or None, not {met!r}")
    cells["met"] = met
    write_json_atomic(path, cells)


def summary_path(text: str) -> Path:
    """argparse type of ``--summary``: its folder must exist (checked before a long run, not after it)."""
    path = Path(text)
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {path.parent} does not exist")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder")
    return path


def add_summary_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--summary PATH`` to a benchmark's argument parser (the folder of PATH must exist)."""
    parser.add_argument("--summary", metavar="PATH", type=summary_path, default=None,
                        help="also write the figures as one JSON object to PATH (see benchmarks/summary.py)")


def command_line(argv: list[str] | None = None, *, qt: bool = False) -> str:
    """``python benchmarks/<script> ARGS`` for this run, without ``--summary PATH``.

    ``argv`` defaults to ``sys.argv``; ``qt`` prefixes ``QT_QPA_PLATFORM=offscreen``.
    """
    argv = list(sys.argv if argv is None else argv)
    args: list[str] = []
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg == "--summary":
            skip = True
        elif not arg.startswith("--summary="):
            args.append(arg)
    words = ["python", f"benchmarks/{Path(argv[0]).name}", *args] if argv else ["python"]
    return ("QT_QPA_PLATFORM=offscreen " if qt else "") + shlex.join(words)
