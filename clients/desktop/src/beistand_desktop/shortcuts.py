"""The desktop icon that raises the alarm when opened.

Linux: a ``.desktop`` file on the desktop (``~/Desktop`` or the XDG desktop folder) and in the
applications menu, running ``beistand-desktop trigger --source desktop_icon``. GNOME asks once
to "Allow Launching" it (right click), which an administrator can pre-set with
``gio set FILE metadata::trusted true``. Windows: a ``.lnk`` shortcut on the desktop, created
through PowerShell's ``WScript.Shell`` (also pinnable to the taskbar).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

NAME = "Stiller Alarm"


def program() -> list[str]:
    """The full path of this installation's ``beistand-desktop`` (also when its directory,
    e.g. ~/.local/bin, is not on the PATH of the graphical session), else the interpreter."""
    here = Path(sys.executable).parent / ("beistand-desktop.exe" if sys.platform == "win32"
                                          else "beistand-desktop")
    if here.exists():
        return [str(here)]
    exe = shutil.which("beistand-desktop")
    if exe:
        return [str(Path(exe).resolve())]
    return [sys.executable, "-m", "beistand_desktop"]


def trigger_command() -> list[str]:
    return [*program(), "trigger", "--source", "desktop_icon"]


def autostart_entry(command: list[str] | None = None) -> str:
    command = command or [*program(), "tray"]
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=beistand",
        "Comment=Stiller Alarm – Symbol im Infobereich",
        f"Exec={shlex.join(command)}",
        "Icon=dialog-warning",
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
        "",
    ])


def install_autostart(folder: Path | None = None) -> Path:
    """The per-user autostart entry with the program's full path (works without PATH)."""
    folder = folder or Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) \
        / "autostart"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "beistand-desktop.desktop"
    path.write_text(autostart_entry(), encoding="utf-8")
    return path


def desktop_entry(command: list[str] | None = None) -> str:
    command = command or trigger_command()
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",
        f"Name={NAME}",
        "Comment=Stillen Alarm auslösen – Kolleginnen und Kollegen kommen zu Hilfe",
        f"Exec={shlex.join(command)}",
        "Icon=dialog-warning",
        "Terminal=false",
        "Categories=Utility;",
        "StartupNotify=false",
        "",
    ])


def desktop_dir() -> Path:
    try:
        out = subprocess.run(["xdg-user-dir", "DESKTOP"], capture_output=True, text=True,
                             timeout=5, check=False).stdout.strip()
        if out:
            return Path(out)
    except (OSError, subprocess.TimeoutExpired):
        pass
    return Path.home() / "Desktop"


def install_linux(desktop: Path | None = None, applications: Path | None = None) -> list[Path]:
    text = desktop_entry()
    written = []
    for folder in (desktop or desktop_dir(),
                   applications or Path(os.environ.get("XDG_DATA_HOME",
                                                       Path.home() / ".local/share"))
                   / "applications"):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "beistand-stiller-alarm.desktop"
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
        written.append(path)
        if shutil.which("gio"):
            subprocess.run(["gio", "set", str(path), "metadata::trusted", "true"],
                           capture_output=True, check=False)
    return written


def install_windows() -> list[Path]:
    desktop = Path(os.environ.get("USERPROFILE", str(Path.home()))) / "Desktop"
    link = desktop / f"{NAME}.lnk"
    command = trigger_command()
    target = command[0].replace("'", "''")
    args = subprocess.list2cmdline(command[1:]).replace("'", "''")
    script = ("$s=(New-Object -ComObject WScript.Shell).CreateShortcut('"
              + str(link).replace("'", "''") + "');"
              f"$s.TargetPath='{target}';$s.Arguments='{args}';"
              "$s.WindowStyle=7;$s.Description='Stillen Alarm auslösen';$s.Save()")
    subprocess.run(["powershell", "-NoProfile", "-Command", script], check=True)
    return [link]


def install() -> list[Path]:
    return install_windows() if sys.platform == "win32" else install_linux()
