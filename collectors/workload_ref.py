"""Resolve a workload reference without importing torch (parent side) and load it (child side).

A reference is one of:
  * a built-in name (``slow_loader``, ``tiny_gpt``, ``convnet``, ``mlp_infer``);
  * a Python file ``path/to/file.py`` defining ``build(config)``
    (or ``file.py:func`` for another function name);
  * ``package.module:function``;
  * a plain script ``train.py`` without ``build`` (script mode: profiled on optimizer steps).
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Any, Callable, Literal

BUILTINS: dict[str, str] = {
    "slow_loader": "small MLP fed by a Dataset whose items sleep (I/O-like): the data-loading stall",
    "tiny_gpt": "small GPT-style transformer LM training step (FP32 matmuls)",
    "convnet": "small CNN training step on 32x32 images (channels_last, cudnn.benchmark candidates)",
    "mlp_infer": "inference through wide Linear layers (dynamic int8 quantization candidate)",
}


class WorkloadRefError(ValueError):
    """A workload reference that names nothing runnable (a user error)."""


@dataclass(frozen=True)
class WorkloadRef:
    """A resolved reference: what to load in the child and a short name for bundles."""

    text: str
    kind: Literal["builtin", "file", "module", "script"]
    target: str  # module name or absolute file path
    func: str  # function name ("build"); empty for scripts
    name: str  # short name used in bundle names

    def to_argv(self) -> list[str]:
        """The child's arguments that identify this reference."""
        return ["--ref-kind", self.kind, "--ref-target", self.target, "--ref-func", self.func,
                "--ref-name", self.name, "--ref-text", self.text]


def _defines(path: str, func: str) -> bool:
    """Whether the file at ``path`` defines a top-level function ``func`` (parsed, not run)."""
    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except SyntaxError as exc:
        raise WorkloadRefError(f"{path}: syntax error: {exc.msg} (line {exc.lineno})") from None
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func
               for node in tree.body)


def resolve(text: str, script: bool | None = None) -> WorkloadRef:
    """Resolve ``text`` into a WorkloadRef, raising WorkloadRefError for user errors.

    ``script=True`` forces script mode for a file; ``None`` picks it when the
    file defines no ``build``.
    """
    text = text.strip()
    if not text:
        raise WorkloadRefError("empty workload reference")
    if text in BUILTINS:
        return WorkloadRef(text, "builtin", f"collectors.builtin_workloads.{text}", "build", text)
    if ":" in text and not os.path.exists(text):
        path, _, func = text.rpartition(":")
    else:
        path, func = text, ""
    if path.endswith(".py") or os.sep in path or os.path.exists(path):
        if not os.path.isfile(path):
            raise WorkloadRefError(f"workload file not found: {path}")
        if not path.endswith(".py"):
            raise WorkloadRefError(f"workload file must be a .py file: {path}")
        abspath = os.path.abspath(path)
        name = os.path.splitext(os.path.basename(path))[0]
        if script:
            return WorkloadRef(text, "script", abspath, "", name)
        want = func or "build"
        if _defines(abspath, want):
            return WorkloadRef(text, "file", abspath, want, name)
        if func:
            raise WorkloadRefError(f"{path} defines no top-level function {func}()")
        if script is False:
            raise WorkloadRefError(f"{path} defines no build(config) function")
        return WorkloadRef(text, "script", abspath, "", name)
    if func:
        try:
            spec = importlib.util.find_spec(path)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            raise WorkloadRefError(f"cannot find module {path!r} for workload {text!r}")
        return WorkloadRef(text, "module", path, func or "build", path.rsplit(".", 1)[-1])
    raise WorkloadRefError(
        f"unknown workload {text!r}: give a built-in ({', '.join(BUILTINS)}), "
        "a .py file, or module:function")


def load_build(ref: WorkloadRef) -> Callable[[Any], Any]:
    """Import the reference's ``build`` function (child side; may import torch)."""
    if ref.kind in ("builtin", "module"):
        module = importlib.import_module(ref.target)
    elif ref.kind == "file":
        spec = importlib.util.spec_from_file_location(f"torchscope_workload_{ref.name}", ref.target)
        if spec is None or spec.loader is None:
            raise WorkloadRefError(f"cannot load {ref.target}")
        module = importlib.util.module_from_spec(spec)
        import sys
        sys.modules[spec.name] = module  # DataLoader workers and pickling look it up here
        spec.loader.exec_module(module)
    else:
        raise WorkloadRefError("a script has no build() function")
    func = getattr(module, ref.func, None)
    if not callable(func):
        raise WorkloadRefError(f"{ref.text}: no callable {ref.func}()")
    return func
