"""The ``torchscope`` command line.

Starts without Qt or torch: the GUI and the collectors are imported only by
the subcommands that need them.  User mistakes print one line on stderr and
exit with status 2; a traceback means a bug in TorchScope.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Callable, Sequence

EXIT_USER_ERROR = 2


def _fail(message: str) -> int:
    print(f"torchscope: error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def _user_errors() -> tuple[type[BaseException], ...]:
    from analyzers.errors import TraceLoadError
    from analyzers.knobs import KnobError

    return (TraceLoadError, KnobError)


def cmd_gui(args: argparse.Namespace) -> int:
    """``torchscope gui [PATH]``: the desktop app, or a text report where there is no display."""
    path = getattr(args, "path", None)
    if path is not None and not os.path.exists(path):
        return _fail(f"{path}: no such file or directory")
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))
    if headless:
        print("torchscope: no display found; printing the report instead of opening the window "
              "(set DISPLAY, or QT_QPA_PLATFORM=offscreen)", file=sys.stderr)
        target = path or _default_sample()
        if target is None:
            return _fail("no display and no trace given")
        from analyzers.commands import cmd_analyze
        return cmd_analyze(argparse.Namespace(path=target, json=False, quiet=False, rank=None))
    problem = _xcb_problem()
    if problem is not None:  # Qt would abort with "Could not load the Qt platform plugin"
        return _fail(problem)
    try:
        from profiler_gui.app import run_gui
    except ImportError as exc:  # PySide6 missing or broken
        return _fail(f"cannot start the GUI ({exc}); `torchscope analyze PATH` works without it")
    return int(run_gui(path) or 0)


def _xcb_problem() -> str | None:
    """``PLUGIN: missing libraries; install with ...`` when Qt's xcb plugin cannot load, else None."""
    from profiler_gui import qt_libs

    if not qt_libs.xcb_applies():
        return None
    libs = qt_libs.missing_libraries()
    return f"{qt_libs.plugin_path()}: {qt_libs.install_hint(libs)}" if libs else None


def _default_sample() -> str | None:
    """The bundled sample run to open first (for the headless main job)."""
    from profiler_gui.samples import default_sample

    return default_sample()


def build_parser() -> argparse.ArgumentParser:
    """All subcommands; collectors register theirs when importable."""
    parser = argparse.ArgumentParser(
        prog="torchscope",
        description="Find PyTorch bottlenecks, apply the fix, prove the gain. "
                    "With no command, opens the desktop app.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    from analyzers.commands import register as register_analysis
    register_analysis(sub)

    p = sub.add_parser("gui", help="open the desktop app (optionally on PATH)")
    p.add_argument("path", nargs="?", help="trace to open")
    p.set_defaults(func=cmd_gui)

    try:
        from collectors import cli as collect_cli
    except ImportError:  # collectors need torch; analysis still works without it
        collect_cli = None
    if collect_cli is not None:
        collect_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``torchscope`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        argv = ["gui"]
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(func(args) or 0)
    except _user_errors() as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("torchscope: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:  # e.g. `torchscope analyze x | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:  # no devnull: the interpreter's own flush error at exit is harmless
            pass
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
