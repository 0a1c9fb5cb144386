"""Background work for the window: load + analyze, run a workload, A/B.

A :class:`Task` runs a plain Python function in a daemon thread and reports
through Qt signals (delivered on the GUI thread by queued connections), so
the event loop never waits on file parsing, analysis or a child process.
Cancel sets a ``threading.Event``; the work checks it in its progress
callback and raises :class:`Cancelled`.
"""
from __future__ import annotations

import gc
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

from .analysis import Cancelled, Opened, warm_rank


class RunError(RuntimeError):
    """A workload run that did not finish ok (its message is for the user)."""


WorkFn = Callable[[Callable[[str, float], None], threading.Event], Any]


class _GcPause:
    """Python's cyclic GC off while background tasks run; it runs on the GUI thread before and after.

    A collection that starts inside a worker thread can finalise Qt wrappers left in cycles (a closed
    window's menus); Qt then deletes those QObjects off the GUI thread, takes a Qt mutex and waits for
    the GIL while the GUI thread holds the GIL and waits for that mutex: a deadlock (seen in the tests).
    Only the GUI thread calls :meth:`enter` and :meth:`leave`."""

    running = 0
    was_enabled = True

    @classmethod
    def enter(cls) -> None:
        if cls.running == 0:
            cls.was_enabled = gc.isenabled()
            gc.collect()  # garbage made so far dies here, on the GUI thread
            gc.disable()
        cls.running += 1

    @classmethod
    def leave(cls) -> None:
        cls.running = max(0, cls.running - 1)
        if cls.running == 0 and cls.was_enabled:
            gc.enable()
            gc.collect()


class Task(QObject):
    """One background job.  Emits progress(message, fraction), then exactly one of done/failed/cancelled."""

    progress = Signal(str, float)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()  # after any of the three above

    def __init__(self, title: str, fn: WorkFn, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self._fn = fn
        self.cancel_event = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Task":
        """Start the work in a daemon thread (call from the GUI thread)."""
        _GcPause.enter()
        self.finished.connect(self._gc_resume)  # queued: runs on the GUI thread, which owns this object
        self._thread = threading.Thread(target=self._run, name=f"torchscope-{self.title}", daemon=True)
        self._thread.start()
        return self

    @Slot()
    def _gc_resume(self) -> None:
        _GcPause.leave()

    def cancel(self) -> None:
        self.cancel_event.set()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.is_running()

    def _progress(self, message: str, fraction: float) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()
        self.progress.emit(str(message), float(fraction))

    def _run(self) -> None:
        try:
            result = self._fn(self._progress, self.cancel_event)
        except Cancelled:
            self.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message, never a crash
            self.failed.emit(user_message(exc))
        else:
            if self.cancel_event.is_set():
                self.cancelled.emit()
            else:
                self.done.emit(result)
        self.finished.emit()


def user_message(exc: BaseException) -> str:
    """One readable line for the user; a traceback on stderr for bugs."""
    from analyzers.errors import TraceLoadError

    try:
        from analyzers.knobs import KnobError
    except ImportError:  # pragma: no cover
        KnobError = ValueError  # type: ignore[misc,assignment]
    known: tuple[type[BaseException], ...] = (TraceLoadError, KnobError, OSError, RunError)
    try:
        from collectors.errors import KnobRefused, UsageError
        from collectors.workload_ref import WorkloadRefError
        known += (KnobRefused, WorkloadRefError, UsageError)
    except ImportError:  # pragma: no cover - collectors need torch; analysis-only installs have no such errors
        pass
    text = " ".join(str(exc).split())
    if isinstance(exc, known):
        return text or type(exc).__name__
    traceback.print_exception(exc)
    return f"internal error ({type(exc).__name__}): {text}"


def load_task(path: str, parent: QObject | None = None) -> Task:
    """Load ``path`` into an AnalysisSession and warm its first rank; done(Opened)."""
    from .isolated_load import load_and_analyze_auto

    return Task("load", lambda progress, cancel: load_and_analyze_auto(path, progress, cancel), parent)


def warm_task(opened: Opened, rank: int, parent: QObject | None = None) -> Task:
    """Compute what the views show for ``rank`` of an open session (nothing else is recomputed); done(Opened)."""
    return Task("rank switch", lambda progress, cancel: warm_rank(opened, rank, progress, cancel), parent)


def run_workload_and_load(workload: str, settings: dict[str, Any], out_dir: str, *, workload_args: list[str] | None = None,
                          run_kwargs: dict[str, Any] | None = None, progress: Callable[[str, float], None],
                          cancel: threading.Event) -> Opened:
    """Run ``workload`` via collectors.runner, then load and analyze its bundle (raises on failure)."""
    from collectors.runner import run_workload

    def on_progress(event: dict[str, Any]) -> None:
        total = event.get("total") or 0
        step = event.get("step") or 0
        frac = 0.05 + 0.6 * (step / total) if total else 0.05
        msg = event.get("message") or f"{event.get('phase', '')} {step}/{total}" if total else event.get("phase", "")
        progress(f"running: {msg}", min(frac, 0.65))

    result = run_workload(workload, settings, out_dir, on_progress=lambda e: _safe(on_progress, e, cancel),
                          cancel=cancel, workload_args=list(workload_args or []), **(run_kwargs or {}))
    if cancel.is_set() or result.status == "cancelled":
        raise Cancelled()
    if not result.ok:
        raise RunError(f"run {result.status}: {result.error or 'no error text'}"
                           + (f" (bundle: {result.bundle_path})" if result.bundle_path else ""))

    def sub(phase: str, frac: float) -> None:
        progress(phase, 0.65 + 0.35 * frac)

    from .isolated_load import load_and_analyze_auto

    return load_and_analyze_auto(str(result.bundle_path), sub, cancel)


def _safe(fn: Callable[[dict[str, Any]], None], event: dict[str, Any], cancel: threading.Event) -> None:
    # the runner polls ``cancel`` itself; a Cancelled raised inside its callback would skip its cleanup
    try:
        fn(event)
    except Cancelled:
        cancel.set()


def ab_progress_text(event: dict[str, Any]) -> tuple[str, float]:
    """(status text, fraction of the whole A/B run) for one collectors.ab progress event."""
    rounds = max(int(event.get("rounds") or 1), 1)
    rnd = max(int(event.get("round") or 1), 1)
    side = str(event.get("side") or "A")
    total = event.get("total") or 0
    step = event.get("step") or 0
    within = (step / total) if total else 0.0
    done = ((rnd - 1) * 2 + (1 if side == "B" else 0) + min(max(within, 0.0), 1.0)) / (2 * rounds)
    what = "baseline" if side == "A" else "fix"
    detail = event.get("message") or (f"{event.get('phase', '')} {step}/{total}" if total else event.get("phase", ""))
    return f"A/B round {rnd}/{rounds}, side {side} ({what}): {detail}".rstrip(": "), 0.02 + 0.78 * done


def run_ab_and_load(workload: str, base_settings: dict[str, Any], fix: dict[str, Any], out_dir: str, *,
                    rounds: int = 2, workload_args: list[str] | None = None, run_kwargs: dict[str, Any] | None = None,
                    progress: Callable[[str, float], None], cancel: threading.Event) -> tuple[Opened, Opened, Any]:
    """Run A (``base_settings``) and B (+ ``fix``) interleaved via collectors.ab.run_ab; load both bundles.

    Returns (A's bundle opened, B's bundle opened, the ABResult).  User mistakes
    (KnobError, KnobRefused, WorkloadRefError, UsageError) propagate as they are; a run that did
    not finish raises RunError; Cancel raises Cancelled.  The one place the GUI runs an A/B.
    """
    from collectors.ab import run_ab

    def on_progress(event: dict[str, Any]) -> None:
        progress(*ab_progress_text(event))

    kwargs = {k: v for k, v in (run_kwargs or {}).items()
              if k in ("warmup_steps", "profile_steps", "timed_steps", "device", "timeout_s")}
    result = run_ab(workload, base_settings, fix, rounds=rounds, out_dir=out_dir,
                    on_progress=lambda e: _safe(on_progress, e, cancel), cancel=cancel,
                    workload_args=list(workload_args or []), **kwargs)
    if cancel.is_set() or result.status == "cancelled":
        raise Cancelled()
    if result.status != "ok":
        raise RunError(f"A/B {result.status}: {result.error or 'no error text'}")
    if not result.a.bundle or not result.b.bundle:
        raise RunError("A/B finished without a profiled bundle on each side")

    from .isolated_load import load_and_analyze_auto

    a = load_and_analyze_auto(str(result.a.bundle), lambda ph, f: progress(f"loading A: {ph}", 0.8 + 0.09 * f), cancel)
    b = load_and_analyze_auto(str(result.b.bundle), lambda ph, f: progress(f"loading B: {ph}", 0.89 + 0.09 * f), cancel)
    return a, b, result
