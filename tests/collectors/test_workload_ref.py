"""Resolving workload references without running them."""
from __future__ import annotations

import pytest

from collectors.workload_ref import BUILTINS, WorkloadRefError, resolve


def test_builtins_resolve_to_their_modules():
    for name in BUILTINS:
        ref = resolve(name)
        assert ref.kind == "builtin" and ref.target == f"collectors.builtin_workloads.{name}"
        assert ref.name == name and ref.func == "build"


def test_files(tmp_path):
    wl = tmp_path / "wl.py"
    wl.write_text("def build(config):\n    pass\n\ndef other(config):\n    pass\n")
    script = tmp_path / "train.py"
    script.write_text("print('training')\n")
    assert resolve(str(wl)).kind == "file" and resolve(str(wl)).func == "build"
    assert resolve(f"{wl}:other").func == "other"
    assert resolve(str(script)).kind == "script"
    assert resolve(str(wl), script=True).kind == "script"
    with pytest.raises(WorkloadRefError, match="no top-level function nope"):
        resolve(f"{wl}:nope")
    with pytest.raises(WorkloadRefError, match="defines no build"):
        resolve(str(script), script=False)
    bad = tmp_path / "bad.py"
    bad.write_text("def build(:\n")
    with pytest.raises(WorkloadRefError, match="syntax error"):
        resolve(str(bad))


def test_modules_and_unknowns(tmp_path):
    ref = resolve("collectors.builtin_workloads.mlp_infer:build")
    assert ref.kind == "module" and ref.name == "mlp_infer"
    for text, needle in (("nope_pkg.x:build", "cannot find module"), ("nothing", "unknown workload"),
                         (str(tmp_path / "gone.py"), "not found"), ("  ", "empty")):
        with pytest.raises(WorkloadRefError, match=needle):
            resolve(text)
