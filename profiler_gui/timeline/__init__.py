"""Timeline view (issue 5): CPU threads, GPU streams, steps and counters.

``build_pyramids(model)`` (pure numpy, any thread) prepares the data;
``TimelineWidget.set_model(model, data)`` shows it.
"""
from .data import TimelineData, build_pyramids

__all__ = ["TimelineData", "build_pyramids", "TimelineWidget"]


def __getattr__(name):  # keep `import profiler_gui.timeline.data` Qt free
    if name == "TimelineWidget":
        from .widget import TimelineWidget

        return TimelineWidget
    raise AttributeError(name)
