"""Small run bundles recorded by TorchScope's collector, shipped as package data.

Find them with ``profiler_gui.samples`` (``importlib.resources``), never by a
path relative to the source tree.
"""
