"""Check, before Qt starts, that the system libraries of PySide6's xcb plugin are present.

On a minimal Debian/Ubuntu system with a display, Qt aborts with "Could not load
the Qt platform plugin xcb" because libxcb-icccm4, libxcb-keysyms1 or
libxcb-cursor0 (Qt >= 6.5) are missing.  ``ldd`` on the plugin names them; we
turn that into the one command that installs them.  Never imports Qt.

``python -m profiler_gui.qt_libs`` prints the problem and exits 2 (0 when fine);
``--apt`` prints only the apt package names (used by scripts/run.sh as root).
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

PLUGIN_ENV = "TORCHSCOPE_QXCB"  # path of libqxcb.so to check instead of PySide6's own (tests, odd installs)
# library stem (name before ".so") -> (apt package, dnf package)
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-icccm": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-cursor": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-image": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb": ("libx11-xcb1", "libX11-xcb"),
    "libX11": ("libx11-6", "libX11"),
    "libEGL": ("libegl1", "libglvnd-egl"),
    "libGL": ("libgl1", "libglvnd-glx"),
    "libOpenGL": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig": ("libfontconfig1", "fontconfig"),
    "libfreetype": ("libfreetype6", "freetype"),
    "libdbus-1": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0": ("libglib2.0-0", "glib2"),
    "libSM": ("libsm6", "libSM"),
    "libICE": ("libice6", "libICE"),
}
# Libraries that Qt >= 6.5 needs even when ldd of the plugin does not name them.
ALWAYS_NEEDED = ("libxcb-cursor.so.0",)
OWN_LIBS = re.compile(r"^(libQt6|libpyside6|libshiboken6)")  # shipped inside PySide6 itself


def xcb_applies(env: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """Whether Qt will load the xcb plugin: Linux, an X display, no other platform chosen."""
    env = dict(os.environ if env is None else env)
    if not platform.startswith("linux") or not env.get("DISPLAY"):
        return False
    return env.get("QT_QPA_PLATFORM", "xcb").split(":")[0] in ("", "xcb")


def plugin_path() -> Path | None:
    """PySide6's libqxcb.so (or the one named by $TORCHSCOPE_QXCB); None when absent."""
    override = os.environ.get(PLUGIN_ENV)
    if override:
        return Path(override)
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def _ldd(path: Path) -> str:
    try:
        return subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""  # no ldd: nothing to say


def _known_to_loader(lib: str) -> bool:
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return True  # cannot tell: do not complain
    return f"{lib} " in out


def missing_libraries(path: Path | None = None) -> list[str]:
    """System libraries (sonames) the xcb plugin needs and the dynamic loader cannot find."""
    path = path or plugin_path()
    if path is None:
        return []
    missing = [m.group(1) for m in re.finditer(r"^\s*(\S+) => not found", _ldd(path), re.M)]
    missing = [lib for lib in missing if not OWN_LIBS.match(lib)]
    if os.environ.get(PLUGIN_ENV) is None:
        missing += [lib for lib in ALWAYS_NEEDED if lib not in missing and not _known_to_loader(lib)]
    return sorted(set(missing))


def packages_for(libs: list[str]) -> tuple[list[str], list[str]]:
    """(apt packages, dnf packages) that provide ``libs``; unknown ones are guessed from the name
    (Debian: name + soname version, ``libxcb-randr.so.0`` -> ``libxcb-randr0``; Fedora: libxcb-* in libxcb)."""
    apt: list[str] = []
    dnf: list[str] = []
    for lib in libs:
        stem, _, version = lib.partition(".so")
        major = version.lstrip(".").split(".")[0]
        guess = (stem.lower() + ("-" if stem[-1:].isdigit() else "") + major,
                 "libxcb" if stem.startswith("libxcb") else stem)
        apt_name, dnf_name = PACKAGES.get(stem, guess)
        apt += [apt_name] if apt_name not in apt else []
        dnf += [dnf_name] if dnf_name not in dnf else []
    return apt, dnf


def install_hint(libs: list[str]) -> str:
    """The one-line problem and the command that fixes it."""
    apt, dnf = packages_for(libs)
    return (f"Qt's xcb platform plugin needs system libraries that are missing ({', '.join(libs)}); "
            f"install them with: sudo apt-get install -y {' '.join(apt)}  "
            f"(Fedora/RHEL: sudo dnf install -y {' '.join(dnf)})")


def main(argv: list[str]) -> int:
    """Exit 0 when the plugin can load (or xcb is not used), else print the fix and exit 2."""
    if not (xcb_applies() or os.environ.get(PLUGIN_ENV)):
        return 0
    libs = missing_libraries()
    if not libs:
        return 0
    if "--apt" in argv:
        print(" ".join(packages_for(libs)[0]))
    else:
        print(f"torchscope: error: {plugin_path()}: {install_hint(libs)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
