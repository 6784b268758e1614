"""No accidental answers or cancels (issue 21, finding 1/2/8): keys typed while a colleague is
"typing" never answer an alarm, and nothing but a deliberate action cancels a countdown."""

import logging

from beistand_desktop.gui.dialogs import CountdownDialog
from beistand_desktop.gui.receive_window import ReceiveWindow
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from .qt_helpers import delete_now, pump_until, qapp
from .test_gui_offscreen import ALARM

TYPED = "Sehr geehrte Frau Muster, anbei die Unterlagen"


def type_into(widget, text=TYPED):
    """What a colleague types: words with spaces, then Return and Enter."""
    QTest.keyClicks(widget, text)
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
        QTest.keyClick(widget, key)
    QApplication.processEvents()


def test_typing_into_the_receive_window_answers_nothing():
    qapp()
    window = ReceiveWindow(dict(ALARM))
    asked = []
    window.respond_requested.connect(lambda a, r: asked.append(r))
    window.message_requested.connect(lambda a, t: asked.append(t))
    window.show()
    assert window.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    for button in (window.coming_button, window.cannot_button, window.mute_button):
        assert button.focusPolicy() == Qt.FocusPolicy.NoFocus
    # even if the window manager gives it the keyboard, the keys reach no button
    window.activateWindow()
    assert pump_until(lambda: QApplication.activeWindow() is window, 3)
    target = QApplication.focusWidget() or window
    assert target not in (window.coming_button, window.cannot_button, window.message_edit)
    type_into(target)
    type_into(window)
    assert asked == []
    assert window.my_response == ""
    # the deliberate chord shown on the button answers
    assert "Strg+Alt+K" in window.coming_button.text()
    QTest.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.AltModifier)
    assert pump_until(lambda: asked == ["coming"], 3)
    window.close_for_good()
    delete_now(window)


def test_an_unanswered_alarm_window_does_not_close_with_its_x():
    """Review finding (issue 21): the window's X (or Alt+F4) closed an unanswered alarm - the
    sound stopped, nothing was answered, and there was no way back to it. It now stays, says
    why, and keeps sounding; it closes after an answer or when the alarm ends."""
    qapp()
    window = ReceiveWindow(dict(ALARM))
    window.show()
    assert not window.close()               # the X: refused
    assert window.isVisible() and "Bitte zuerst antworten" in window.status_label.text()
    window.my_response = "cannot"           # answered: the X closes it
    assert window.close() and not window.isVisible()
    again = ReceiveWindow(dict(ALARM))
    again.show()
    again.close_for_good()                  # the alarm ended: closed whatever its state
    assert not again.isVisible()
    delete_now(window)
    delete_now(again)


def test_countdown_default_is_send_now_and_typing_never_cancels():
    qapp()
    for keys in ([Qt.Key.Key_Return], [Qt.Key.Key_Enter], [Qt.Key.Key_Space]):
        fired, cancelled = [], []
        dialog = CountdownDialog(30)
        dialog.fire.connect(lambda f=fired: f.append(1))
        dialog.cancelled.connect(lambda c=cancelled: c.append(1))
        dialog.show()
        dialog.activateWindow()
        assert dialog.now_button.isDefault()
        assert dialog.cancel_button.focusPolicy() == Qt.FocusPolicy.NoFocus
        QTest.keyClicks(dialog, "Hallo")
        QTest.keyClick(dialog, Qt.Key.Key_Escape)      # Escape does not cancel
        dialog.close()                                  # nor does the close button
        QApplication.processEvents()
        assert dialog.isVisible() and fired == [] and cancelled == []
        target = QApplication.focusWidget() or dialog
        for key in keys:
            QTest.keyClick(target, key)
        assert pump_until(lambda f=fired: f == [1], 3), keys   # the default: send now
        assert cancelled == [] and not dialog.isVisible()
        delete_now(dialog)


def test_cancel_needs_a_deliberate_action_and_is_logged_and_shown(tray_setup, caplog):
    _proto, tray, client, _paths = tray_setup
    tray.config.countdown_s = 30
    tray.request_alarm("hotkey")
    dialog = tray.countdown
    assert dialog is not None and dialog.isVisible()
    tray.request_alarm("hotkey")            # a repeat press during the countdown: ignored
    tray.request_alarm("tray")
    assert tray.countdown is dialog and client.outbox.pending() == []
    assert pump_until(lambda: QApplication.activeWindow() is dialog, 3)
    with caplog.at_level(logging.WARNING, logger="beistand_desktop"):
        QTest.keyClick(dialog, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.AltModifier)
        assert pump_until(lambda: tray.countdown is None, 3)
    assert client.outbox.pending() == []
    assert any("CANCELLED in the countdown" in r.getMessage() for r in caplog.records)
    assert any("KEIN Alarm gesendet" in n for n in tray.notices)
    assert "abgebrochen" in tray.tray.toolTip()


def test_countdown_sends_one_alarm_with_the_press_time(tray_setup):
    _proto, tray, client, _paths = tray_setup
    tray.config.countdown_s = 30
    tray._last_press = -1e9
    tray.request_alarm("hotkey")
    pressed = tray.countdown
    tray.request_alarm("hotkey")
    pressed.now_button.click()
    assert pump_until(lambda: len(client.outbox.pending()) == 1, 3)
    tray.request_alarm("hotkey")            # bounce right after: the same press
    QApplication.processEvents()
    [item] = client.outbox.pending()
    assert item.source == "hotkey"


def test_a_countdown_alarm_counts_from_its_release_not_its_press(tray_setup):
    """Review finding (issue 21): with a 30 s countdown every alarm reached the colleagues as
    "VERSPÄTET" - the countdown (the user's own grace period) counted as delay. The alarm's
    press time is now the countdown's end."""
    from datetime import datetime

    from beistand_desktop.outbox import now_iso

    _proto, tray, client, _paths = tray_setup
    tray.config.countdown_s = 1
    tray._last_press = -1e9
    before = datetime.fromisoformat(now_iso())
    tray.request_alarm("hotkey")
    assert pump_until(lambda: len(client.outbox.pending()) == 1, 10)  # the countdown fired
    [item] = client.outbox.pending()
    released = datetime.fromisoformat(item.created_at)
    assert (released - before).total_seconds() >= 0.9


def test_a_refused_answer_does_not_silence_the_alarm(tmp_path):
    """Review finding (issue 21): on a PC paired as a device the server refuses answers; the
    window stopped the sound before the server answered and never started it again - a silent,
    unanswered alarm. Now a refused answer lets the alarm sound again and says why in full."""
    from beistand_desktop.sound import AlarmSound, write_alarm_wav

    qapp()
    path = write_alarm_wav(tmp_path / "alarm.wav", volume=50)
    player = ["python3", "-c", "import sys, wave; wave.open(sys.argv[1]).readframes(-1)",
              str(path)]
    sound = AlarmSound(path, command=player, pause_s=0.01)
    window = ReceiveWindow(dict(ALARM), sound=sound)
    window.show()
    window.start_sound()
    assert pump_until(lambda: sound.plays >= 1)
    window.coming_button.click()
    assert not sound.playing  # answering acknowledges ...
    reason = ("forbidden: Ein Gerät kann Alarme nur auslösen und empfangen. Antworten, "
              "Nachrichten und Entwarnung nur mit dem Konto der Person.")
    window.response_done(False, reason)
    assert sound.playing  # ... unless the answer never arrived
    text = window.status_label.text()
    assert text.startswith("Antwort NICHT gesendet: " + reason) and "weiter offen" in text
    assert window.status_label.wordWrap() and window.my_response == ""
    window.stop_sound()
    delete_now(window)


def test_the_senders_confirmation_notice_never_takes_the_keyboard():
    from beistand_desktop.gui.dialogs import Notice

    qapp()
    notice = Notice("Alarm wurde ausgelöst.", seconds=0)
    notice.show()
    QApplication.processEvents()
    assert notice.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert notice.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert QApplication.focusWidget() is None or QApplication.focusWidget().window() \
        is not notice
    delete_now(notice)
