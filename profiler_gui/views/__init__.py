"""The window's tabs: thin Qt views, each a :class:`~profiler_gui.views.base.SessionView` listed in ``registry.VIEWS``."""
