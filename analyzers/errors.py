"""Errors a user can cause (bad files, bad arguments): one line, never a traceback."""
from __future__ import annotations


class TraceLoadError(Exception):
    """A trace that cannot be opened.  ``str()`` is one line naming the file and the problem."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # always one line
        super().__init__(f"{self.path}: {self.problem}")


class AnalysisError(Exception):
    """An analysis that failed on this trace (a bug or an odd trace), named, on one line."""

    def __init__(self, analysis: str, cause: BaseException) -> None:
        self.analysis = analysis
        text = " ".join(str(cause).split()) or type(cause).__name__
        self.message = f"{type(cause).__name__}: {text}"[:300]
        super().__init__(f"{analysis} could not be computed: {self.message}")

    def __reduce__(self) -> tuple:
        """Pickle by name and message (the cause object itself may not pickle)."""
        return (_restore_analysis_error, (self.analysis, self.message))


def _restore_analysis_error(analysis: str, message: str) -> AnalysisError:
    err = AnalysisError(analysis, Exception())
    err.message = message
    err.args = (f"{analysis} could not be computed: {message}",)
    return err
