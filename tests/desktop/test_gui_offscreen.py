"""Tray, receive window and settings under QT_QPA_PLATFORM=offscreen, with a real core."""

from beistand_desktop.config import Config
from beistand_desktop.gui import icons
from beistand_desktop.gui.dialogs import CountdownDialog, SettingsDialog
from beistand_desktop.gui.receive_window import ReceiveWindow

from .protocol_server import ProtocolServer
from .qt_helpers import delete_now, pump_until

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
    window.close_for_good()
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


def test_offline_warning_stays_exactly_while_there_is_no_connection(tray_setup):
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    proto.stop()
    assert pump_until(lambda: tray.state == icons.DISCONNECTED)
    assert pump_until(lambda: "offline" in tray.warnings, timeout=6)
    note = tray.warning_notices["offline"]
    assert "Keine Verbindung zum Alarmserver seit" in note.label.text() and note.isVisible()
    assert "Keine Verbindung zum Alarmserver seit" in tray.tray.toolTip()
    proto.start()                     # the connection is back: the warning goes at once
    assert pump_until(lambda: tray.state == icons.CONNECTED, timeout=10)
    assert "offline" not in tray.warnings and not note.isVisible()
    assert "seit" not in tray.tray.toolTip()


def test_countdown_can_be_cancelled(app):
    fired, cancelled = [], []
    dialog = CountdownDialog(3)
    dialog.fire.connect(lambda: fired.append(1))
    dialog.cancelled.connect(lambda: cancelled.append(1))
    dialog.show()
    assert dialog.label.text() == "Alarm wird in 3 s ausgelöst."
    dialog.cancel_button.click()
    assert pump_until(lambda: cancelled == [1] and not dialog.isVisible())
    assert fired == []
    delete_now(dialog)
    dialog = CountdownDialog(1)
    dialog.fire.connect(lambda: fired.append(1))
    dialog.show()
    assert pump_until(lambda: fired == [1], timeout=3)
    delete_now(dialog)


def test_settings_dialog_validates_and_takes_only_an_accepted_token(app):
    proto = ProtocolServer().start()
    try:
        config = Config()
        dialog = SettingsDialog(config)
        dialog.hotkey_edit.setText("H")
        dialog.accept()
        assert "Ungültige Tastenkombination" in dialog.error_label.text()
        dialog.hotkey_edit.setText("Ctrl+Alt+J")
        # a made-up token: the server refuses it, nothing is taken
        dialog.pairing_edit.setText(f"beistand://pair?server={proto.url}&token=bsd_ausgedacht123")
        dialog.accept()
        assert "nimmt dieses Token nicht an" in dialog.error_label.text()
        assert dialog.result() != dialog.DialogCode.Accepted and config.server == ""
        dialog.pairing_edit.setText(f"beistand://pair?server={proto.url}&token={proto.token}")
        dialog.countdown_spin.setValue(5)
        dialog.confirmation_combo.setCurrentIndex(dialog.confirmation_combo.findData("tooltip"))
        dialog.accept()
        assert dialog.result() == dialog.DialogCode.Accepted
        assert (config.server, config.hotkey, config.countdown_s, config.confirmation) == \
            (proto.url, "Ctrl+Alt+J", 5, "tooltip")
        assert dialog.token == proto.token and dialog.checked_name == "Erika Muster"
        delete_now(dialog)
    finally:
        proto.stop()


def test_the_sender_sees_nobody_is_coming_until_help_comes(tray_setup):
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    proto.push(dict(ALARM, alarm_id=43, role="sender"))
    assert pump_until(lambda: 43 in tray.sent_alarms)
    assert tray.resolve_action.isVisible()          # the sender may give the all-clear
    proto.push({"type": "alarm_update", "alarm_id": 43, "kind": "nobody_coming",
                "state": "triggered", "text": "Niemand hat zugesagt – rufen Sie 110",
                "call": "110", "reason": "exhausted", "delivered": 0})
    assert pump_until(lambda: "nobody:43" in tray.warnings)
    assert "Niemand hat zugesagt – rufen Sie 110" in tray.tray.toolTip()
    assert tray.warning_notices["nobody:43"].isVisible()
    proto.push({"type": "alarm_update", "alarm_id": 43, "kind": "help_coming",
                "state": "acknowledged", "text": "Hilfe kommt: Max Beispiel",
                "responders": [{"name": "Max Beispiel", "response": "coming"}]})
    assert pump_until(lambda: "nobody:43" not in tray.warnings)
    asked = []
    tray.ask = lambda title, text: asked.append(title) or True
    tray.resolve_action.trigger()
    assert asked == ["Entwarnung"]
    assert pump_until(lambda: any(f.get("type") == "resolve" and f.get("alarm_id") == 43
                                  for f in proto.received))


def test_the_tray_shows_the_pushed_coverage(tray_setup):
    """Issue 19, item 3: the server pushes "Wer bekommt meinen Alarm jetzt?" as a control frame
    (``coverage``); the tray shows it in its menu, tooltip and status window, with a word as
    well as the colour, and forgets it while disconnected."""
    proto, tray, client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    assert not tray.coverage_action.isVisible()        # not known yet
    red = "Niemand ist gerade verbunden – Ihr Alarm ginge nur per SMS. Im Notfall rufen Sie 110."
    proto.send_control({"type": "coverage", "level": "red", "level_text": red})
    assert pump_until(lambda: tray.coverage_action.isVisible())
    assert tray.coverage_action.text() == "Rot – " + red
    assert "Rot – " + red in tray.tray.toolTip()
    assert not tray.coverage_action.icon().isNull()
    green = "Ihr Alarm erreicht jetzt sofort 2 Personen (Stufe 1)."
    proto.send_control({"type": "coverage", "level": "green", "level_text": green})
    assert pump_until(lambda: tray.coverage_action.text() == "Grün – " + green)
    assert client.coverage == {"level": "green", "level_text": green}
    assert client.cursor.last_event_id == 0             # a control frame, not an event
    assert not any(f.get("type") == "receipt" and f.get("event_id") for f in proto.received)
    proto.send_control({"type": "coverage", "level": "lila", "level_text": "?"})  # unknown
    proto.push({"type": "message", "alarm_id": 1, "message_id": 1, "text": "x",
                "from": {"name": "A", "role": "receiver"}, "at": "2026-11-29T21:15:00+00:00"})
    assert pump_until(lambda: client.cursor.last_event_id == 1)
    assert tray.coverage_action.text() == "Grün – " + green
    proto.stop()
    assert pump_until(lambda: not tray.coverage_action.isVisible())
    assert "Grün" not in tray.tray.toolTip() and client.coverage is None
    proto.start()


def test_icons_differ_per_state(app):
    images = {state: icons.make_pixmap(state, 32).toImage()
              for state in (icons.CONNECTED, icons.DISCONNECTED, icons.PENDING, icons.ALARM)}
    # colour and shape: a pixel near the edge and the middle differ between the states
    samples = {(img.pixelColor(5, 16).name(), img.pixelColor(16, 10).name())
               for img in images.values()}
    assert len(samples) == 4


def test_an_alarm_of_an_unexpected_shape_still_opens_a_window_and_sounds(tray_setup):
    """Found by the #21 review: an alarm frame with a field of another shape (a newer server,
    a bug: the template or the sender as text, instructions not text, responders as names, a
    position without coordinates, times not text) made the receive window raise inside the Qt
    slot - no window, no sound, nothing in the log, and the event was receipted. Each of them
    now opens a window that sounds."""
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    odd = {101: {"responders": ["Helfer"]}, 102: {"template": "beistand"},
           103: {"instructions": 5}, 104: {"location": {"position": {"lat": None, "lon": 7}}},
           105: {"sender": "Erika Muster"}, 106: {"triggered_at": None, "pressed_at": 12},
           107: {"location": "Raum 1.05", "tier": "1", "distance_m": "nah"}}
    for alarm_id, fields in odd.items():
        proto.push({**ALARM, "alarm_id": alarm_id, **fields})
    assert pump_until(lambda: set(odd) <= set(tray.windows)), sorted(tray.windows)
    for alarm_id in odd:
        window = tray.windows[alarm_id]
        assert window.isVisible() and window.sound.playing, alarm_id
    assert tray.windows[105].name_label.text() == "Erika Muster"
    assert "Raum 1.05" in tray.windows[107].location_label.text()
    assert tray.windows[103].instructions_label.text() == "5"


def test_a_refused_press_stays_a_warning_until_a_press_goes_out(tray_setup):
    """Found by the #21 review: a press the server refused (a revoked token: 401) was told in
    a note that the next note replaced ("Hilfe kommt", "Probealarm wurde ausgelöst") - the
    sender could no longer see that no alarm went out."""
    from beistand_desktop.outbox import PendingAlarm
    from beistand_desktop.sender import SendResult, SendState

    _proto, tray, _client, _paths = tray_setup
    refused = PendingAlarm.new(source="hotkey")
    tray._on_sent(SendResult(SendState.FAILED, refused, 401, "HTTP 401: Anmeldung erforderlich"))
    assert "KEIN Alarm ausgelöst" in tray.warnings["refused"]
    tray.show_notice("Hilfe kommt: Deniz Arslan")          # another note comes and goes
    assert tray.warning_notices["refused"].isVisible()
    assert "KEIN Alarm ausgelöst" in tray.tray.toolTip()
    test = PendingAlarm.new(template="probealarm")
    test.sent_at = test.created_at
    tray._on_sent(SendResult(SendState.SENT, test, 201))   # a Probealarm is no alarm
    assert "refused" in tray.warnings
    sent = PendingAlarm.new(source="hotkey")
    sent.sent_at = sent.created_at
    tray._on_sent(SendResult(SendState.SENT, sent, 201))   # the next press went out
    assert "refused" not in tray.warnings


def test_an_update_the_client_cannot_process_does_not_end_receiving(tray_setup):
    """Found by the #21 review: two alarm_update frames whose "responder" was text (not an
    object) raised inside the connection task - the task ended, the status stayed "connected",
    the tray stayed green "bereit", and no further alarm was shown. Now such an event is
    logged and passed over, and any unexpected error is a reconnect, never the end."""
    proto, tray, client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    for _ in range(2):
        proto.push({"type": "alarm_update", "alarm_id": 5, "kind": "response",
                    "responder": "Deniz Arslan"})
    proto.push({"type": "alarm_update", "alarm_id": 5, "kind": "response",
                "responders": "Deniz Arslan"})
    proto.push({**ALARM, "alarm_id": 201})
    assert pump_until(lambda: 201 in tray.windows), sorted(tray.windows)
    assert not any(task.done() for task in client._tasks)
    assert client.cursor.last_event_id == 4


def test_an_unexpected_error_in_the_connection_is_a_reconnect(tray_setup, monkeypatch):
    proto, tray, client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    connects = client.connection.connects
    real = client.connection._handle
    calls = []

    async def broken_once(ws, frame):
        if frame.get("type") == "alarm" and not calls:
            calls.append(frame)
            raise RuntimeError("unexpected")
        return await real(ws, frame)
    monkeypatch.setattr(client.connection, "_handle", broken_once)
    proto.push({**ALARM, "alarm_id": 202})
    # reconnected; the event, never receipted, is sent again on resume and shown
    assert pump_until(lambda: 202 in tray.windows), sorted(tray.windows)
    assert client.connection.connects > connects
    assert not any(task.done() for task in client._tasks)


def test_the_sender_goes_on_when_a_press_file_cannot_be_rewritten(tray_setup):
    """Found by the #21 review: after a failed attempt the sender rewrites the press's file
    (attempts, last error); when that write failed (disk full) the exception ended the
    sender's task - the press stayed in the outbox and was never sent again."""
    import json
    from dataclasses import asdict

    from beistand_desktop.client import Listener
    from beistand_desktop.outbox import PendingAlarm

    _proto, _tray, client, paths = tray_setup
    results = []
    client.listeners.append(Listener(on_send=results.append))
    item = PendingAlarm.new(source="hotkey")
    # the rewrite goes through "<id>.json.tmp": a directory there makes every rewrite fail
    (paths.outbox_dir / f"{item.client_id}.json.tmp").mkdir()
    (paths.outbox_dir / f"{item.client_id}.json").write_text(json.dumps(asdict(item)))
    client.loop.call_soon_threadsafe(client.sender.wake)
    # the protocol server has no HTTP alarm endpoint: every attempt fails and is retried
    assert pump_until(lambda: len(results) >= 3), results
    assert not any(task.done() for task in client._tasks)


def test_two_alarms_at_once_are_named_in_both_windows(tray_setup):
    """Found by the #21 review: every receive window is centred at the same size, so with two
    alarms at once the first window lay exactly beneath the second - hidden, its sound not
    told apart from the other's. Every window now names all open alarms."""
    proto, tray, _client, _paths = tray_setup
    assert pump_until(lambda: tray.state == icons.CONNECTED)
    proto.push({**ALARM, "alarm_id": 301})
    proto.push({**ALARM, "alarm_id": 302,
                "sender": {**ALARM["sender"], "name": "Jonas Weber"}})
    assert pump_until(lambda: {301, 302} <= set(tray.windows))
    for alarm_id in (301, 302):
        label = tray.windows[alarm_id].warning_label
        assert label.isVisible() and "2 Alarme gleichzeitig offen" in label.text()
        assert "Erika Muster" in label.text() and "Jonas Weber" in label.text()
    proto.push({"type": "alarm_update", "alarm_id": 302, "kind": "resolved",
                "state": "resolved"})
    assert pump_until(lambda: 302 not in tray.windows)
    assert "several" not in tray.warnings
    assert not tray.windows[301].warning_label.isVisible()
