"""Timeline view (issue 5): CPU threads, GPU streams, steps and counters.

``build_pyramids(model, steps)`` (pure numpy, any thread; ``steps``: the rank's
``analyzers.steps.StepTable``) prepares the data; ``TimelineWidget.set_model(model, data)``
shows it.  Modules: data (lanes, pyramids), state (what the items read), items / axes /
raster / palette / text_cache (drawing), viewport (layout, scroll, zoom), selection
(selection, highlights), search, picking (hit testing, hover, flows), keys, counters,
widget (wires them).
"""
from .data import TimelineData, build_pyramids

__all__ = ["TimelineData", "build_pyramids", "TimelineWidget"]


def __getattr__(name):  # keep `import profiler_gui.timeline.data` Qt free
    if name == "TimelineWidget":
        from .widget import TimelineWidget

        return TimelineWidget
    raise AttributeError(name)
