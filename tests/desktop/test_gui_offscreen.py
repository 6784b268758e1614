"""Tray, receive window and settings under QT_QPA_PLATFORM=offscreen, with a real core."""

import pytest
from beistand_desktop.backoff import Backoff
from beistand_desktop.client import AlarmClient
from beistand_desktop.config import Config
from beistand_desktop.cursor import EventCursor
from beistand_desktop.gui import icons
from beistand_desktop.gui.dialogs import CountdownDialog, SettingsDialog
from beistand_desktop.gui.receive_window import ReceiveWindow
from beistand_desktop.gui.tray import TrayController
from beistand_desktop.outbox import Outbox
from beistand_desktop.paths import default_paths

from .protocol_server import ProtocolServer
from .qt_helpers import delete_now, pump_until, qapp, sound_command

ALARM = {
    "type": "alarm", "alarm_id": 42, "role": "receiver",
    "template": {"code": "beistand", "name": "Beistand", "priority": 2, "sound": "alarm",
                 "test": False, "come": True},
    "state": "triggered", "triggered_at": "2026-11-29T21:14:03.125+00:00", "tier": 1,
    "sender": {"first_name": "Erika", "last_name": "Muster", "name": "Erika Muster",
               "phone": "+49 221 0000", "mobile": None, "unit": "32/3"},
    "location": {"site": "Stadthaus", "address": "Markt 1, 12345 Musterstadt",
                 "building": "Hauptgebäude", "floor": "1. Etage", "room": "1.05",
                 "room_name": "Bürgerbüro", "position": None, "text": ""},
    "distance_m": 8, "instructions": "Bitte sofort zum Raum kommen.",
    "responders": [],
}


@pytest.fixture
def app():
    return qapp()


@pytest.fixture
def tray_setup(tmp_path, app):
    proto = ProtocolServer().start()
    paths = default_paths(tmp_path).create()
    config = Config(server=proto.url, offline_warning_s=1)
    client = AlarmClient(proto.url, proto.token, Outbox(paths.outbox_dir),
                         EventCursor(paths.cursor_file))
    client.connection.backoff = Backoff(first=0.05, maximum=0.2)
    client.sender.backoff = Backoff(first=0.2, maximum=0.5)
    tray = TrayController(client, config, paths, sound_command=sound_command(paths))
    client.start()
    yield proto, tray, client, paths
    tray.close()
    client.stop()
    proto.stop()


def test_receive_window_shows_everything_a_helper_needs(app):
    window = ReceiveWindow(dict(ALARM))
    window.show()
    assert window.windowTitle() == "STILLER ALARM – Beistand"
    assert window.name_label.text() == "Erika Muster"
    assert "Raum 1.05 (Bürgerbüro)" in window.location_label.text()
    assert "1. Etage, Hauptgebäude, Stadthaus" in window.location_label.text()
    facts = window.facts_label.text()
    assert "Entfernung: ca. 8 m" in facts and "Telefon +49 221 0000" in facts
    assert "Ausgelöst um" in facts
    asked = []
    window.respond_requested.connect(lambda a, r: asked.append((a, r)))
    window.coming_button.click()
    assert asked == [(42, "coming")]
    window.apply_update({"kind": "response"},
                        {"responders": [{"name": "Max Beispiel", "response": "coming"}]})
    assert window.responders_list.item(0).text() == "Max Beispiel – kommt"
    window.close()
    delete_now(window)


def test_tray_receives_shows_and_closes_on_all_clear(tray_setup):
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    assert tray.menu.actions()[0].text() == "Stillen Alarm auslösen"
    proto.push(ALARM)
    assert pump_until(lambda: 42 in tray.windows)
    window = tray.windows[42]
    assert window.isVisible() and tray.state == icons.ALARM
    assert pump_until(lambda: window.sound.plays >= 1)  # the WAV was written and played
    proto.push({"type": "message", "alarm_id": 42, "message_id": 1, "text": "Bin unterwegs",
                "from": {"name": "Max Beispiel", "role": "receiver"},
                "at": "2026-11-29T21:15:00+00:00"})
    assert pump_until(lambda: window.thread_list.count() == 1)
    window.coming_button.click()
    assert pump_until(lambda: "Ihre Antwort: kommt" in window.status_label.text())
    assert any(f.get("type") == "respond" and f.get("response") == "coming"
               for f in proto.received)
    proto.push({"type": "alarm_update", "alarm_id": 42, "kind": "resolved", "state": "resolved",
                "by": "Erika Muster"})
    assert pump_until(lambda: 42 not in tray.windows)
    assert not window.sound.playing
    assert pump_until(lambda: tray.state == icons.CONNECTED)


def test_press_without_server_is_kept_and_the_user_is_told(tray_setup):
    _proto, tray, client, _paths = tray_setup
    # the protocol server has no HTTP alarm endpoint: the press cannot go out
    tray.hotkey_pressed()  # what pynput calls on Ctrl+Alt+H
    assert pump_until(lambda: any("NOCH NICHT übermittelt" in n for n in tray.notices))
    assert tray.state == icons.PENDING
    [item] = client.outbox.pending()
    assert item.source == "hotkey"


def test_offline_warning_after_threshold(tray_setup):
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    proto.stop()
    assert pump_until(lambda: tray.state == icons.DISCONNECTED)
    assert pump_until(lambda: tray.offline_warned, timeout=6)
    assert any("Keine Verbindung zum Alarmserver seit" in n for n in tray.notices)
    proto.start = lambda: proto  # already stopped; fixture teardown stops again harmlessly
    proto.stop = lambda: None


def test_countdown_can_be_cancelled(app):
    fired = []
    dialog = CountdownDialog(3)
    dialog.fire.connect(lambda: fired.append(1))
    dialog.show()
    assert dialog.label.text() == "Alarm wird in 3 s ausgelöst."
    dialog.cancel_button.click()
    pump_until(lambda: False, timeout=0.2)
    assert fired == [] and not dialog.isVisible()
    dialog = CountdownDialog(1)
    dialog.fire.connect(lambda: fired.append(1))
    dialog.show()
    assert pump_until(lambda: fired == [1], timeout=3)
    delete_now(dialog)


def test_settings_dialog_validates_and_takes_a_pairing_link(app):
    config = Config()
    dialog = SettingsDialog(config)
    dialog.hotkey_edit.setText("H")
    dialog.accept()
    assert "Ungültige Tastenkombination" in dialog.error_label.text()
    dialog.hotkey_edit.setText("Ctrl+Alt+J")
    dialog.pairing_edit.setText("beistand://pair?server=https://b.example&token=bsd_abcdef123456")
    dialog.countdown_spin.setValue(5)
    dialog.confirmation_combo.setCurrentIndex(dialog.confirmation_combo.findData("tooltip"))
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert (config.server, config.hotkey, config.countdown_s, config.confirmation) == \
        ("https://b.example", "Ctrl+Alt+J", 5, "tooltip")
    assert dialog.token == "bsd_abcdef123456"
    delete_now(dialog)


def test_icons_differ_per_state(app):
    images = {state: icons.make_pixmap(state, 32).toImage()
              for state in (icons.CONNECTED, icons.DISCONNECTED, icons.PENDING, icons.ALARM)}
    # colour and shape: a pixel near the edge and the middle differ between the states
    samples = {(img.pixelColor(5, 16).name(), img.pixelColor(16, 10).name())
               for img in images.values()}
    assert len(samples) == 4
