"""The xcb library check: a faked missing library gives the one install command, in the CLI and run.sh."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from profiler_gui import cli, qt_libs

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_plugin(tmp_path, monkeypatch) -> Path:
    """A copy of PySide6's libqxcb.so whose libxcb-icccm.so.4 dependency is renamed to a missing .so.9."""
    monkeypatch.delenv(qt_libs.PLUGIN_ENV, raising=False)
    real = qt_libs.plugin_path()
    if real is None or shutil.which("ldd") is None:
        pytest.skip("needs PySide6's xcb plugin and ldd (Linux)")
    data = real.read_bytes()
    assert b"libxcb-icccm.so.4" in data
    plugin = tmp_path / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(data.replace(b"libxcb-icccm.so.4", b"libxcb-icccm.so.9"))
    (tmp_path / "Qt" / "lib").symlink_to(real.parent.parent.parent / "lib")  # its RUNPATH: $ORIGIN/../../lib
    monkeypatch.setenv(qt_libs.PLUGIN_ENV, str(plugin))
    return plugin


def test_missing_library_found_by_ldd(fake_plugin):
    missing = qt_libs.missing_libraries()
    assert "libxcb-icccm.so.9" in missing
    assert not any(lib.startswith("libQt6") for lib in missing)  # PySide6's own libraries never count
    hint = qt_libs.install_hint(["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0"])
    assert "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0" in hint
    assert "sudo dnf install -y xcb-util-wm xcb-util-keysyms xcb-util-cursor" in hint


def test_package_names_guessed_for_unlisted_libraries():
    apt, dnf = qt_libs.packages_for(["libxcb-randr.so.0", "libxcb-xkb.so.1", "libfoo2.so.3"])
    assert apt == ["libxcb-randr0", "libxcb-xkb1", "libfoo2-3"] and dnf == ["libxcb", "libfoo2"]


def test_xcb_applies_only_with_an_x_display():
    assert qt_libs.xcb_applies({"DISPLAY": ":0"}, "linux")
    assert qt_libs.xcb_applies({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not qt_libs.xcb_applies({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not qt_libs.xcb_applies({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not qt_libs.xcb_applies({"DISPLAY": ":0"}, "darwin")


def test_gui_command_prints_one_line_instead_of_aborting(fake_plugin, monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert cli.main(["gui"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"torchscope: error: {fake_plugin}: ")
    assert "libxcb-icccm.so.9" in err[0] and "apt-get install -y" in err[0] and "dnf install -y" in err[0]


@pytest.mark.slow
def test_run_sh_prints_the_install_command(fake_plugin):
    env = {**os.environ, "DISPLAY": ":99", "TORCHSCOPE_NO_INSTALL": "1"}
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run(["bash", str(REPO / "scripts" / "run.sh")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("torchscope:")]
    assert len(lines) == 1 and "sudo apt-get install -y" in lines[0] and "libxcb-icccm" in lines[0]
    assert "Aborted" not in proc.stderr and "Traceback" not in proc.stderr
