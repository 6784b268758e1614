"""Sound that proves itself, warnings that stay while true, one client per user and seat,
the status window without a tray, controls (issue 21, findings 3, 5, 6, 7, 8, 9)."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from beistand_desktop.gui import icons
from beistand_desktop.gui.receive_window import ReceiveWindow
from beistand_desktop.instance import AlreadyRunning, InstanceLock
from beistand_desktop.sound import AlarmSound, check_sound, player_command, write_alarm_wav

from .qt_helpers import PLAYER, delete_now, pump_until, qapp
from .test_gui_offscreen import ALARM

BIN = Path(sys.executable).parent
# a player that fails like paplay without a sound server
BROKEN = ["sh", "-c", "echo 'Verbindung fehlgeschlagen: Verbindung verweigert' >&2; exit 1"]


def test_a_failing_player_is_reported_and_retried_until_stopped(tmp_path):
    path = write_alarm_wav(tmp_path / "alarm.wav")
    failures, recovered = [], []
    sound = AlarmSound(path, command=BROKEN, pause_s=0.01, retry_s=0.05,
                       on_failure=failures.append, on_ok=lambda: recovered.append(1))
    sound.start()
    assert pump_until(lambda: sound.failures >= 4)      # not given up after three tries
    assert sound.playing
    assert len(failures) == 1 and "Fehler 1" in failures[0]
    assert "Verbindung verweigert" in failures[0]
    sound.command = [*PLAYER, str(path)]                  # the sound server is back
    assert pump_until(lambda: recovered == [1])
    sound.stop()
    assert not sound.playing


def test_a_hanging_player_is_a_failure_not_silence(tmp_path):
    """Found by the #21 review: a player that never ends (paplay or pw-play waiting for a hung
    sound server) played nothing, and since it never returned an exit status, no failure was
    reported: a silent alarm with no "OHNE TON". It is now ended after ``play_timeout_s``,
    reported and retried."""
    path = write_alarm_wav(tmp_path / "alarm.wav")
    hanging = [sys.executable, "-c", "import time; time.sleep(600)"]
    failures = []
    sound = AlarmSound(path, command=hanging, pause_s=0.01, retry_s=0.05,
                       play_timeout_s=0.5, on_failure=failures.append)
    sound.start()
    assert pump_until(lambda: sound.failures >= 2)       # ended, reported, tried again
    assert len(failures) == 1 and "hängt" in failures[0], failures
    sound.stop()
    assert not sound.playing


def test_sound_check_verifies_the_players_exit_status(tmp_path):
    assert not check_sound(tmp_path, BROKEN).ok
    ok = check_sound(tmp_path, [*PLAYER, str(tmp_path / "soundcheck.wav")])
    assert ok.ok, ok.detail


def test_the_player_is_chosen_by_the_sound_server_that_runs(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("pw-play", "paplay", "aplay"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)
    runtime = tmp_path / "run"
    runtime.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    for var in ("PULSE_SERVER", "PIPEWIRE_REMOTE"):
        monkeypatch.delenv(var, raising=False)
    wav = tmp_path / "a.wav"
    assert Path(player_command(wav)[0]).name == "aplay"       # no sound server: ALSA
    (runtime / "pulse").mkdir()
    (runtime / "pulse" / "native").touch()
    assert Path(player_command(wav)[0]).name == "paplay"      # PulseAudio
    (runtime / "pipewire-0").touch()
    assert Path(player_command(wav)[0]).name == "pw-play"     # PipeWire
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert player_command(wav) is None


def test_no_sound_is_a_persistent_warning_and_the_server_is_told(tray_setup):
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    tray.sound_command = BROKEN
    tray.check_sound()
    assert pump_until(lambda: "sound" in tray.warnings)
    assert "OHNE TON" in tray.tray.toolTip()
    assert tray.warning_notices["sound"].isVisible()
    assert tray.warning_action.isVisible() and "OHNE TON" in tray.warning_action.text()
    assert pump_until(lambda: any(f.get("type") == "seat" and f.get("sound") is False
                                  for f in proto.received))
    proto.push(ALARM)                                 # an alarm now: the window says it too
    assert pump_until(lambda: 42 in tray.windows)
    window = tray.windows[42]
    assert window.warning_label.isVisible() and "OHNE TON" in window.warning_label.text()
    assert pump_until(lambda: window.sound.failures >= 2)   # and keeps trying
    # after a reconnect the server is told again
    seats = sum(1 for f in proto.received if f.get("type") == "seat")
    proto.drop_connections()
    assert pump_until(lambda: sum(1 for f in proto.received if f.get("type") == "seat")
                      > seats, 10)
    tray.sound_command = [*PLAYER, str(tray.paths.sound_file)]
    tray.check_sound()                                # repaired: the warning goes
    assert pump_until(lambda: "sound" not in tray.warnings)
    assert not window.warning_label.isVisible()
    assert pump_until(lambda: any(f.get("type") == "seat" and f.get("sound") is True
                                  for f in proto.received))


def test_answering_on_another_device_silences_this_one(tray_setup):
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    proto.push(ALARM)
    assert pump_until(lambda: 42 in tray.windows)
    window = tray.windows[42]
    assert pump_until(lambda: window.sound.playing)
    # someone else answers: this seat keeps ringing
    proto.push({"type": "alarm_update", "alarm_id": 42, "kind": "response",
                "state": "acknowledged", "responder": {"name": "Max Beispiel",
                                                       "response": "coming"}})
    assert pump_until(lambda: window.responders_list.count() == 1)
    assert window.sound.playing
    # a namesake of this PC's person answers: names are not compared, it keeps ringing
    proto.push({"type": "alarm_update", "alarm_id": 42, "kind": "response",
                "state": "acknowledged", "responder": {"name": "Erika Muster",
                                                       "response": "coming"}})
    assert pump_until(lambda: window.responders_list.count() == 2)
    assert window.sound.playing
    # the server: this person answered on her phone / second PC - silent at once
    proto.push({"type": "alarm_update", "alarm_id": 42, "kind": "own_answer",
                "state": "acknowledged", "response": "coming", "at": "2026-12-07T10:00:00Z"})
    assert pump_until(lambda: not window.sound.playing)
    assert "anderen Gerät" in window.status_label.text()
    assert window.resolve_button.isVisibleTo(window)   # who comes may give the all-clear


def test_late_press_is_marked_in_the_receive_window():
    qapp()
    triggered = datetime(2026, 11, 29, 21, 14, 3, tzinfo=UTC)
    late = dict(ALARM, triggered_at=triggered.isoformat(),
                pressed_at=(triggered - timedelta(seconds=82)).isoformat())
    window = ReceiveWindow(late, late_s=30)
    text = window.facts_label.text()
    assert "VERSPÄTET: gedrückt um" in text and "übermittelt um" in text
    assert "(82 s verspätet)" in text and window.late
    delete_now(window)
    fresh = dict(ALARM, triggered_at=triggered.isoformat(),
                 pressed_at=(triggered - timedelta(seconds=2)).isoformat())
    window = ReceiveWindow(fresh, late_s=30)
    assert "VERSPÄTET" not in window.facts_label.text() and not window.late
    delete_now(window)


def test_without_a_tray_the_status_window_shows_state_and_warnings(tray_setup):
    _proto, tray, client, _paths = tray_setup
    # the offscreen platform has no system tray, like stock GNOME
    status = tray.status_window
    assert status is not None and status.isVisible()
    assert pump_until(lambda: "bereit" in status.state_label.text())
    tray.set_warning("sound", "OHNE TON: Test")
    assert status.warning_label.isVisible() and "OHNE TON" in status.warning_label.text()
    tray.set_warning("sound", None)
    assert not status.warning_label.isVisible()
    status.alarm_button.click()
    assert pump_until(lambda: len(client.outbox.pending()) == 1)


def test_the_status_window_shows_a_long_warning_whole(tray_setup):
    """Found by the #21 review under Xvfb: the status window gave the "NOCH NICHT übermittelt"
    warning one line too few - "Bei Gefahr: Telefon 110." was cut off."""
    _proto, tray, _client, _paths = tray_setup
    status = tray.status_window
    tray.set_warning("pending", "Alarm ist NOCH NICHT übermittelt (gedrückt um 23:17:51 Uhr) "
                                "– keine Verbindung zum Server. Er wird automatisch gesendet, "
                                "sobald die Verbindung wieder steht. Bei Gefahr: Telefon 110.")
    tray.set_warning("sound", "OHNE TON: Der Alarmton kann nicht abgespielt werden (paplay "
                              "meldet Fehler 1). Alarme erscheinen nur auf dem Bildschirm.")
    label = status.warning_label
    assert pump_until(lambda: label.isVisible() and label.width() > 0)
    assert label.height() >= label.heightForWidth(label.width())
    assert label.geometry().bottom() <= status.alarm_button.geometry().top()
    assert status.rect().contains(status.menu_button.geometry())


def test_the_questions_are_asked_in_german_and_default_to_no(tray_setup, monkeypatch):
    """Found by the #21 review: "Entwarnung geben?", "beistand wirklich beenden?" and the
    cancel question had the buttons "Yes" / "No" (Qt's own, untranslated)."""
    from beistand_desktop.gui import tray as tray_module
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    _proto, tray, _client, _paths = tray_setup
    quits, seen = [], []
    monkeypatch.setattr(tray_module.QApplication, "quit", lambda: quits.append(1))

    def answer(button_text):
        box = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.isVisible()), None)
        if box is None:  # not shown yet
            QTimer.singleShot(20, lambda: answer(button_text))
            return
        seen.append(([b.text() for b in box.buttons()], box.defaultButton().text()))
        button = next((b for b in box.buttons() if b.text() == button_text), None)
        if button is None:
            box.done(0)   # a box without that button: closed, the assertions below say why
        else:
            button.click()

    QTimer.singleShot(0, lambda: answer("Nein"))
    tray.confirm_quit()
    assert quits == [] and seen[0] == (["Ja", "Nein"], "Nein"), seen
    QTimer.singleShot(0, lambda: answer("Ja"))
    tray.confirm_quit()
    assert quits == [1]


def test_quitting_asks_and_says_no_alarms_will_come(tray_setup, monkeypatch):
    from beistand_desktop.gui import tray as tray_module

    _proto, tray, _client, _paths = tray_setup
    quits, asked = [], []
    monkeypatch.setattr(tray_module.QApplication, "quit", lambda: quits.append(1))
    tray.ask = lambda title, text: asked.append(text) or False
    tray.quit_action.trigger()
    assert quits == [] and "KEINE Alarme" in asked[0]
    tray.ask = lambda title, text: True
    tray.quit_action.trigger()
    assert quits == [1]


def test_one_tray_per_user_and_seat(tmp_path):
    lock = InstanceLock(tmp_path / "state", seat="seat0").acquire()
    try:
        try:
            InstanceLock(tmp_path / "state", seat="seat0").acquire()
            raise AssertionError("second lock acquired")
        except AlreadyRunning as exc:
            assert exc.pid == str(os.getpid())
        InstanceLock(tmp_path / "state", seat="seat1").acquire().release()  # another seat
        # a second `beistand-desktop tray` (autostart plus a manual start) ends at once
        env = {**os.environ, "BEISTAND_DESKTOP_KEYRING": "0", "QT_QPA_PLATFORM": "offscreen",
               "XDG_SEAT": "seat0"}
        second = subprocess.run(
            [str(BIN / "beistand-desktop"), "--home", str(tmp_path), "tray",
             "--server", "http://127.0.0.1:9", "--token", "bst_abcdefghijklmnop"],
            capture_output=True, text=True, timeout=60, env=env, check=False)
        assert second.returncode == 0, second.stderr
        assert "bereits" in second.stderr
    finally:
        lock.release()


def test_a_locked_screen_is_reported_to_the_server(tray_setup):
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    lock = {"locked": False}
    tray.lock_probe = lambda: lock["locked"]
    tray.sound_command = [*PLAYER, str(tray.paths.state_dir / "soundcheck.wav")]
    tray.check_sound()
    assert pump_until(lambda: tray.sound_ok is True)

    def seats():
        return [f for f in proto.received if f.get("type") == "seat"]
    lock["locked"] = True
    assert pump_until(lambda: seats() and seats()[-1].get("locked") is True, 15)
    lock["locked"] = False
    assert pump_until(lambda: seats()[-1].get("locked") is False, 15)
    tray.config.report_locked = False               # the setting: nothing is reported
    tray._report_seat()
    assert pump_until(lambda: "locked" not in seats()[-1])


def test_the_receiving_pc_logs_what_it_showed(tray_setup, caplog):
    """Review finding: after an incident the receiver's log could not show what was shown."""
    import logging

    caplog.set_level(logging.INFO, logger="beistand_desktop")
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    proto.push(ALARM)
    assert pump_until(lambda: 42 in tray.windows)
    proto.push({"type": "alarm_update", "alarm_id": 42, "kind": "resolved",
                "state": "resolved", "at": "2026-12-07T10:00:00Z"})
    assert pump_until(lambda: 42 not in tray.windows)
    text = caplog.text
    assert "alarm 42: receive window shown" in text
    assert "alarm 42: resolved, receive window closed" in text


def test_an_unanswered_alarm_sounds_until_it_is_answered(tmp_path):
    """Review finding (issue 21): the sound of an unanswered alarm ended silently after 600
    plays (about 20 minutes). It now plays until stop() - here far beyond that count."""
    sound = AlarmSound(tmp_path / "none.wav", command=["true"], pause_s=0)
    sound.start()
    try:
        assert pump_until(lambda: sound.plays > 700, 120), sound.plays
        assert sound.playing
    finally:
        sound.stop()
    assert not sound.playing
