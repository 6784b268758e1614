"""The system packages the client needs, checked by the self-test with a clear message.

Qt's X11 platform plugin (xcb) loads these libraries when the tray starts; a missing one makes
Qt abort with a message that often names another library. Debian/Ubuntu package names; the
self-test lists exactly the packages that are missing and the ``apt-get install`` line."""

from __future__ import annotations

import ctypes
import os
import shutil
import sys

# soname -> Debian package (Debian 12 / Ubuntu 22.04+), what PySide6's xcb plugin loads
QT_X11_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
SOUND_PACKAGES = "pipewire-bin (pw-play), pulseaudio-utils (paplay) oder alsa-utils (aplay)"


def missing_libraries(libraries: dict[str, str] | None = None) -> dict[str, str]:
    """soname -> package of every library that cannot be loaded."""
    missing = {}
    for soname, package in (libraries or QT_X11_LIBRARIES).items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing[soname] = package
    return missing


def gui_packages_problem(libraries: dict[str, str] | None = None) -> str:
    """'' when the Qt X11 libraries are all there, else a German message naming the packages."""
    if not sys.platform.startswith("linux"):
        return ""
    missing = missing_libraries(libraries)
    if not missing:
        return ""
    packages = sorted(set(missing.values()))
    return (f"Es fehlen Systembibliotheken für die Oberfläche ({', '.join(sorted(missing))}). "
            f"Bitte installieren: sudo apt-get install -y {' '.join(packages)}")


def on_path_problem() -> str:
    """'' when ``beistand-desktop`` is on the PATH (autostart and the desktop icon use the
    full path anyway; this is for typing it in a terminal)."""
    if shutil.which("beistand-desktop"):
        return ""
    user_bin = os.path.expanduser("~/.local/bin")
    return (f"„beistand-desktop“ ist nicht im Suchpfad (PATH). Bei einer Installation pro "
            f"Benutzer: {user_bin} in den PATH aufnehmen (Debian: nach einer neuen Anmeldung "
            f"automatisch, wenn das Verzeichnis existiert).")
