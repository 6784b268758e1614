"""The locked-screen path as packaged (issue 21, item 3): the serial alarm button on a pty is
read by the button service (``beistand-desktop button``, its own process with a device token);
the alarm goes through a real ``beistand demo`` server to a colleague whose screen is locked.
The colleague's session agent (the tray app in their session) plays the sound and posts a
critical notification on the session bus (a real ``dbus-daemon`` with a recording notification
service, as GNOME Shell would show it on the lock screen); when the colleague answers on
another device (the phone: the API with their own login) the sound stops and the notification
is withdrawn; an all-clear withdraws it too. The screen lock is simulated where the client
reads it (``lock_probe``, normally logind's ``LockedHint``)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .notification_server import NotificationBus
from .qt_helpers import pump_until, qapp
from .test_real_server import make_tray, server, tokens  # noqa: F401 - fixtures

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(shutil.which("dbus-daemon") is None,
                                reason="needs dbus-daemon (Debian: dbus-daemon)")


@pytest.fixture
def session_bus(tmp_path, monkeypatch):
    bus = NotificationBus(tmp_path).start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    yield bus
    bus.stop()


def test_button_alarm_reaches_a_locked_session_and_is_withdrawn(server, tokens,  # noqa: F811
                                                                 session_bus, tmp_path):
    from beistand_desktop.gui import icons

    qapp()
    kollege = make_tray(server, tokens["kollege1"], tmp_path / "kollege1")
    master, slave = os.openpty()
    daemon = subprocess.Popen(
        [str(BIN / "beistand-desktop"), "--home", str(tmp_path / "daemon"), "button",
         "--device", os.ttyname(slave), "--kind", "serial", "--server", server.url,
         "--token", server.device_token("melder")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "BEISTAND_DESKTOP_KEYRING": "0"})
    try:
        assert pump_until(lambda: kollege.state == icons.CONNECTED, 20)
        kollege.lock_probe = lambda: True          # the colleague locks the screen
        assert pump_until(lambda: kollege.locked is True, 30)
        assert daemon.stdout.readline().startswith("Alarmtaster-Dienst:")
        log_file = tmp_path / "daemon" / "log" / "beistand-desktop.log"
        assert pump_until(lambda: log_file.exists()
                          and "reading serial button" in log_file.read_text(), 20)

        os.write(master, b"PRESS\n")               # the button at melder's desk
        assert pump_until(lambda: kollege.windows, 30), log_file.read_text()
        [alarm_id] = kollege.windows
        window = kollege.windows[alarm_id]
        assert pump_until(lambda: window.sound.playing and window.sound.plays >= 1, 10)
        assert pump_until(lambda: session_bus.open_ids(), 10)
        [shown] = session_bus.shown
        assert shown["urgency"] == 2                # critical: on the lock screen
        assert shown["title"] == "Stiller Alarm: Beistand"
        melder_name = window.name_label.text()
        assert melder_name in shown["body"] and "Raum" in shown["body"]

        # the colleague answers on the phone: this PC falls silent, the notification goes
        server.api("POST", f"/api/v1/alarms/{alarm_id}/respond", tokens["kollege1"],
                   {"response": "coming"})
        assert pump_until(lambda: not window.sound.playing, 10)
        assert pump_until(lambda: shown["id"] in session_bus.closed, 10)
        assert "anderen Gerät" in window.status_label.text()
        server.api("POST", f"/api/v1/alarms/{alarm_id}/resolve", tokens["melder"], {})
        assert pump_until(lambda: alarm_id not in kollege.windows, 10)

        # a second alarm, never answered: the all-clear withdraws its notification
        second = server.api("POST", "/api/v1/alarms", tokens["melder"],
                            {"template": "beistand"})["id"]
        assert pump_until(lambda: second in kollege.windows, 20)
        assert pump_until(lambda: len(session_bus.open_ids()) == 1, 10)
        [open_id] = session_bus.open_ids()
        server.api("POST", f"/api/v1/alarms/{second}/resolve", tokens["melder"], {})
        assert pump_until(lambda: second not in kollege.windows, 10)
        assert pump_until(lambda: open_id in session_bus.closed, 10)
        assert not session_bus.open_ids()
        sent = list((tmp_path / "daemon" / "state" / "outbox" / "sent").glob("*.json"))
        assert len(sent) == 1 and '"source": "button"' in sent[0].read_text()
    finally:
        daemon.terminate()
        daemon.wait(10)
        os.close(master)
        os.close(slave)
        kollege.close()
        kollege.client.stop()
