"""The window's tabs: thin Qt views over profiler_gui.analysis results."""
