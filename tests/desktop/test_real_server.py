"""End to end against a real beistand server process (`beistand demo`): the self-test, the
hotkey, a tray click and the button daemon each raise an alarm that a colleague's receive
window shows; "Ich komme" reaches the sender; a press while the server is down goes out when
it is back, and the sender is told it was delayed.
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from beistand_desktop.backoff import Backoff
from beistand_desktop.client import AlarmClient
from beistand_desktop.config import Config
from beistand_desktop.connection import Status
from beistand_desktop.cursor import EventCursor
from beistand_desktop.gui import icons
from beistand_desktop.gui.tray import TrayController
from beistand_desktop.outbox import Outbox, PendingAlarm
from beistand_desktop.paths import default_paths

from .demo_server import DemoServer
from .qt_helpers import PLAYER, pump_until, qapp, sound_command

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = DemoServer(tmp_path_factory.mktemp("beistand-demo")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def tokens(server):
    return {name: server.token(name) for name in ("melder", "kollege1")}


def make_tray(server, token, home):
    paths = default_paths(home).create()
    config = Config(server=server.url)
    client = AlarmClient(server.url, token, Outbox(paths.outbox_dir),
                         EventCursor(paths.cursor_file))
    client.connection.backoff = Backoff(first=0.5, maximum=2)
    client.sender.backoff = Backoff(first=0.5, maximum=2)
    tray = TrayController(client, config, paths, sound_command=sound_command(paths))
    client.start()
    return tray


@pytest.fixture
def trays(server, tokens, tmp_path):
    qapp()
    melder = make_tray(server, tokens["melder"], tmp_path / "melder")
    kollege = make_tray(server, tokens["kollege1"], tmp_path / "kollege1")
    assert pump_until(lambda: melder.state == kollege.state == icons.CONNECTED, 20)
    yield melder, kollege
    for tray in (melder, kollege):
        tray.close()
        tray.client.stop()


def sent_alarm_id(tray, client_id, timeout=20):
    assert pump_until(lambda: (tray.client.outbox.get(client_id) or object).__dict__.get(
        "alarm_id") is not None, timeout), tray.notices
    return tray.client.outbox.get(client_id).alarm_id


def assert_window_shows_sender(kollege, alarm_id, sender_name, timeout=20):
    assert pump_until(lambda: alarm_id in kollege.windows, timeout), kollege.windows
    window = kollege.windows[alarm_id]
    alarm = window.alarm
    assert window.isVisible()
    assert window.name_label.text() == sender_name
    assert alarm["location"]["room"]
    assert f"Raum {alarm['location']['room']}" in window.location_label.text()
    assert alarm["sender"]["phone"]
    assert f"Telefon {alarm['sender']['phone']}" in window.facts_label.text()
    return window


def resolve(melder, alarm_id, kollege):
    melder.client.resolve(alarm_id).result(10)
    assert pump_until(lambda: alarm_id not in kollege.windows, 10)  # all-clear closes it


def run_cli(home, *args, env=None):
    return subprocess.run([str(BIN / "beistand-desktop"), "--home", str(home), *args],
                          capture_output=True, text=True, timeout=90, check=False,
                          env={**os.environ, "BEISTAND_DESKTOP_KEYRING": "0", **(env or {})})


def test_selftest_passes_against_the_server(server, tokens, tmp_path):
    # the player is a setting; this one really decodes the WAV (no sound card here)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f"sound_player = {json.dumps(shlex.join(PLAYER))}\n")
    result = run_cli(tmp_path, "--selftest", "--server", server.url, "--token",
                     tokens["melder"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[OK    ] Alarmton: abgespielt mit" in result.stdout
    assert "[OK    ] Probealarm empfangen" in result.stdout
    assert "Selbsttest bestanden." in result.stdout


def test_selftest_fails_loudly_when_sound_cannot_play(server, tokens, tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        'sound_player = "sh -c \'echo kein Ausgabegeraet >&2; exit 1\' --"\n')
    result = run_cli(tmp_path, "--selftest", "--server", server.url, "--token",
                     tokens["melder"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FEHLER] Alarmton: OHNE TON" in result.stdout
    assert "kein Ausgabegeraet" in result.stdout
    assert "Selbsttest FEHLGESCHLAGEN." in result.stdout


def test_pairing_refuses_a_token_the_server_does_not_accept(server, tokens, tmp_path):
    made_up = run_cli(tmp_path, "pair", "--server", server.url, "bst_ausgedachtes_token_123")
    assert made_up.returncode == 2
    assert "nimmt dieses Token nicht an" in made_up.stderr and "Gekoppelt" not in made_up.stdout
    assert not (tmp_path / "state" / "token").exists()
    real = run_cli(tmp_path, "pair", "--server", server.url, tokens["melder"])
    assert real.returncode == 0, real.stderr
    assert real.stdout.startswith(f"Gekoppelt mit {server.url} als „")
    assert (tmp_path / "state" / "token").read_text() == tokens["melder"]


def test_pairing_with_a_user_login(server, tmp_path):
    wrong = run_cli(tmp_path, "pair", "--server", server.url, "--user", "kollege2",
                    env={"BEISTAND_PASSWORD": "falsch"})
    assert wrong.returncode == 2 and "Anmeldung abgelehnt" in wrong.stderr
    right = run_cli(tmp_path, "pair", "--server", server.url, "--user", "kollege2",
                    env={"BEISTAND_PASSWORD": "demo"})
    assert right.returncode == 0, right.stderr
    token = (tmp_path / "state" / "token").read_text()
    assert token.startswith("bst_")
    assert server.api("GET", "/api/v1/auth/me", token)["username"] == "kollege2"


def test_pairing_with_a_one_time_enrolment_code(server, tmp_path):
    admin = server.token("admin")
    seats = [{"name": "PC Empfang", "username": "kollege2"},
             {"name": "PC Empfang 2", "username": "kollege2"}]
    first, second = server.api("POST", "/api/v1/devices/enrolment-codes", admin,
                               {"seats": seats, "hours": 1})
    paired = run_cli(tmp_path / "a", "pair", "--server", server.url, "--code", first["code"])
    assert paired.returncode == 0, paired.stderr
    assert "Geräte-Token" in paired.stdout
    token = (tmp_path / "a" / "state" / "token").read_text()
    assert token.startswith("bsd_")
    # the code is burnt: a second PC with the same code is refused, in German, nothing stored
    again = run_cli(tmp_path / "b", "pair", "--server", server.url, "--code", first["code"])
    assert again.returncode == 2
    assert "Kopplungscode abgelehnt" in again.stderr and "bereits am" in again.stderr
    assert not (tmp_path / "b" / "state" / "token").exists()
    made_up = run_cli(tmp_path / "b", "pair", "--server", server.url, "ABCD-EFGH-JKLM")
    assert made_up.returncode == 2 and "nicht bekannt" in made_up.stderr
    # the admin's link form with a code, as a QR code would carry it
    link = f"beistand://pair?server={server.url}&code={second['code']}"
    linked = run_cli(tmp_path / "c", "pair", link)
    assert linked.returncode == 0, linked.stderr
    assert (tmp_path / "c" / "state" / "token").read_text().startswith("bsd_")


def test_hotkey_alarm_reaches_a_colleague_and_ich_komme_reaches_the_sender(trays):
    melder, kollege = trays
    melder.hotkey_pressed()  # the client's hotkey callback (what Ctrl+Alt+H calls)
    client_id = next(iter(melder.pending))
    alarm_id = sent_alarm_id(melder, client_id)
    assert pump_until(lambda: "Alarm wurde ausgelöst." in melder.notices)
    assert melder.client.outbox.get(client_id).source == "hotkey"
    window = assert_window_shows_sender(kollege, alarm_id, melder.client.connection.hello["name"])
    assert pump_until(lambda: melder.state == icons.ALARM)  # discreet tray change
    assert not melder.windows  # the sender sees no receive window
    window.coming_button.click()
    assert pump_until(lambda: "Ihre Antwort: kommt" in window.status_label.text())
    kollege_name = kollege.client.connection.hello["name"]
    assert pump_until(lambda: any(kollege_name in h for h in melder.help_coming)), \
        melder.help_coming
    responders = melder.client.alarms[alarm_id]["responders"]
    assert {"name": kollege_name, "response": "coming"}.items() <= responders[0].items()
    window.message_edit.setText("Bin gleich da")
    window.send_button.click()
    assert pump_until(lambda: any(m.get("text") == "Bin gleich da"
                                  for m in melder.client.messages.get(alarm_id, [])))
    resolve(melder, alarm_id, kollege)


def test_a_press_goes_out_when_the_disk_refuses_to_store_it(trays):
    """Found by the #21 review: the press is written to the outbox before it is sent; when
    that write failed (disk or quota full, the directory gone) the exception ended the Qt slot
    - no alarm, no message, nothing in the log. Now it is sent from memory, and the sender
    is warned that presses cannot be stored."""
    import shutil

    melder, kollege = trays
    outbox_dir = melder.client.outbox.directory
    shutil.rmtree(outbox_dir)
    outbox_dir.write_text("")      # the outbox directory is unusable: every write fails
    melder.hotkey_pressed()
    assert pump_until(lambda: "outbox" in melder.warnings)
    assert "nicht gespeichert werden" in melder.warnings["outbox"]
    client_id = next(iter(melder.client.outbox.sent_memory), None) or next(iter(melder.pending))
    alarm_id = sent_alarm_id(melder, client_id)
    assert_window_shows_sender(kollege, alarm_id, melder.client.connection.hello["name"])
    assert pump_until(lambda: "Alarm wurde ausgelöst." in melder.notices)
    outbox_dir.unlink()
    outbox_dir.mkdir()             # the disk is usable again: the next press clears it
    melder.client.outbox.sent_dir.mkdir()
    test = melder.client.trigger(template="probealarm", source="tray")
    assert pump_until(lambda: "outbox" not in melder.warnings)
    melder.client.resolve(sent_alarm_id(melder, test.client_id)).result(10)
    resolve(melder, alarm_id, kollege)


def test_tray_click_alarm_reaches_a_colleague(trays):
    melder, kollege = trays
    melder.alarm_action.trigger()  # "Stillen Alarm auslösen" in the tray menu
    client_id = next(iter(melder.pending))
    alarm_id = sent_alarm_id(melder, client_id)
    assert melder.client.outbox.get(client_id).source == "tray"
    window = assert_window_shows_sender(kollege, alarm_id, melder.client.connection.hello["name"])
    assert pump_until(lambda: window.sound.plays >= 1)
    resolve(melder, alarm_id, kollege)


def test_button_daemon_with_a_serial_button_raises_the_alarm(server, tokens, trays, tmp_path):
    melder, kollege = trays
    device_token = server.device_token("melder")
    master, slave = os.openpty()
    daemon = subprocess.Popen(
        [str(BIN / "beistand-desktop"), "--home", str(tmp_path / "daemon"), "button",
         "--device", os.ttyname(slave), "--kind", "serial", "--no-sound",
         "--server", server.url, "--token", device_token],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "BEISTAND_DESKTOP_KEYRING": "0"})
    try:
        assert daemon.stdout.readline().startswith("Alarmtaster-Dienst:")
        before = set(kollege.windows)
        log_file = tmp_path / "daemon" / "log" / "beistand-desktop.log"
        assert pump_until(lambda: log_file.exists()                       # the port is open
                          and "reading serial button" in log_file.read_text(), 20)
        os.write(master, b"PRESS\n")
        assert pump_until(lambda: set(kollege.windows) - before, 20), \
            (tmp_path / "daemon" / "log" / "beistand-desktop.log").read_text()
        [alarm_id] = set(kollege.windows) - before
        assert_window_shows_sender(kollege, alarm_id, melder.client.connection.hello["name"])
        sent = list((tmp_path / "daemon" / "state" / "outbox" / "sent").glob("*.json"))
        assert len(sent) == 1 and '"source": "button"' in sent[0].read_text()
        resolve(melder, alarm_id, kollege)
    finally:
        daemon.terminate()
        daemon.wait(10)
        os.close(master)
        os.close(slave)


def test_desktop_icon_raises_the_alarm(server, tokens, trays, tmp_path):
    from beistand_desktop.shortcuts import install_linux

    melder, kollege = trays
    [entry, _menu] = install_linux(tmp_path / "Desktop", tmp_path / "applications")
    exec_line = next(line for line in entry.read_text().splitlines()
                     if line.startswith("Exec="))
    assert exec_line.endswith("trigger --source desktop_icon")
    before = set(kollege.windows)
    # what the desktop opens: the Exec line, with this test's server and token
    result = subprocess.run(
        [*shlex.split(exec_line[len("Exec="):]), "--home", str(tmp_path / "icon"),
         "--server", server.url, "--token", tokens["melder"]],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "Alarm wurde ausgelöst."
    assert pump_until(lambda: set(kollege.windows) - before, 20)
    [alarm_id] = set(kollege.windows) - before
    assert_window_shows_sender(kollege, alarm_id, melder.client.connection.hello["name"])
    resolve(melder, alarm_id, kollege)


def test_press_while_server_is_down_goes_out_on_reconnect_and_is_marked_delayed(server, trays):
    melder, kollege = trays
    server.stop()
    try:
        # The core notices the lost server (the icon then shows "keine Verbindung" unless an
        # alarm window is open, which "Alarm aktiv" outranks).
        assert pump_until(lambda: melder.client.status != Status.CONNECTED, 20), \
            (melder.client.status, melder.state, list(melder.windows), melder.sent_alarms)
        client_id = melder.raise_alarm("tray")
        assert pump_until(lambda: any("NOCH NICHT übermittelt" in n for n in melder.notices),
                          15)
        assert melder.state == icons.PENDING
        assert [i.client_id for i in melder.client.outbox.pending()] == [client_id]
    finally:
        server.start()  # also when an assertion failed: the module's other tests need it
    alarm_id = sent_alarm_id(melder, client_id, timeout=60)
    item = melder.client.outbox.get(client_id)
    assert item.delayed and item.attempts > 1
    assert pump_until(lambda: any("verspätet ausgelöst" in n for n in melder.notices))
    assert_window_shows_sender(kollege, alarm_id, melder.client.connection.hello["name"], 30)
    resolve(melder, alarm_id, kollege)


BROKEN = ["sh", "-c", "echo 'Verbindung verweigert' >&2; exit 1"]


def test_a_seat_without_sound_shows_as_ohne_ton_in_the_coverage(server, tokens, trays):
    _melder, kollege = trays
    name = kollege.client.connection.hello["name"]

    def kollege_entry():
        coverage = server.api("GET", "/api/v1/alarms/coverage", tokens["melder"])
        return next(p for tier in coverage["tiers"] for p in tier["receivers"]
                    if p["name"] == name)
    assert kollege_entry()["online"] and kollege_entry()["no_sound"] is None
    kollege.sound_command = BROKEN
    kollege.check_sound()
    assert pump_until(lambda: "sound" in kollege.warnings, 10)
    assert pump_until(lambda: kollege_entry()["no_sound"] is not None, 10)
    assert "Verbindung verweigert" in kollege_entry()["no_sound"]
    kollege.sound_command = [*PLAYER, str(kollege.paths.state_dir / "soundcheck.wav")]
    kollege.check_sound()
    assert pump_until(lambda: kollege_entry()["no_sound"] is None, 10)
    # a locked screen is shown too (nobody sees the alarm window there now)
    assert not kollege_entry()["locked"]
    kollege.lock_probe = lambda: True
    assert pump_until(lambda: kollege_entry()["locked"], 20)


def test_the_senders_tray_shows_the_coverage_the_server_pushes(server, tokens, trays):
    """Issue 19, item 3, end to end: the colleague of the first tier is connected - green; their
    seat loses its sound - the text says so; their PC goes offline - no longer green; all pushed
    by the server (frame ``coverage``), the tray asks nothing."""
    melder, kollege = trays
    assert pump_until(lambda: melder.coverage_line().startswith("Grün – "), 15), \
        melder.coverage
    assert "(Stufe 1)" in melder.coverage_line()
    kollege.sound_command = BROKEN
    kollege.check_sound()
    assert pump_until(lambda: "ohne Ton" in melder.coverage_line(), 15), melder.coverage
    assert "ohne Ton" in melder.tray.toolTip()
    kollege.client.loop.call_soon_threadsafe(kollege.client.connection.stop)
    assert pump_until(lambda: melder.coverage and melder.coverage["level"] != "green", 15), \
        melder.coverage
    assert melder.coverage_action.text().startswith(("Gelb – ", "Rot – "))


def test_answering_on_one_pc_silences_the_same_persons_other_pc(server, tokens, trays,
                                                                tmp_path):
    melder, kollege = trays
    second = make_tray(server, tokens["kollege1"], tmp_path / "kollege1-pc2")
    try:
        assert pump_until(lambda: second.state == icons.CONNECTED, 20)
        client_id = melder.raise_alarm("tray")
        alarm_id = sent_alarm_id(melder, client_id)
        assert pump_until(lambda: alarm_id in kollege.windows and alarm_id in second.windows,
                          20)
        other = second.windows[alarm_id]
        assert pump_until(lambda: other.sound.playing)
        kollege.windows[alarm_id].coming_button.click()
        assert pump_until(lambda: not other.sound.playing, 10)
        assert "anderen Gerät" in other.status_label.text()
        # by the server's event for this person, not by comparing names
        assert second.client.alarms[alarm_id]["own_answer"] == "coming"
        resolve(melder, alarm_id, kollege)
    finally:
        second.close()
        second.client.stop()


def test_an_old_press_reaches_colleagues_marked_late(server, tokens, trays):
    from datetime import UTC, datetime, timedelta

    melder, kollege = trays
    pressed = (datetime.now(UTC) - timedelta(seconds=90)).isoformat(timespec="milliseconds")
    client_id = melder.raise_alarm("tray", pressed_at=pressed)
    alarm_id = sent_alarm_id(melder, client_id)
    answer = melder.client.outbox.get(client_id).response
    if answer.get("pressed_at") is None:
        pytest.skip("this server does not keep pressed_at yet (protocol change pending)")
    window = assert_window_shows_sender(kollege, alarm_id,
                                        melder.client.connection.hello["name"])
    assert "VERSPÄTET: gedrückt um" in window.facts_label.text()
    assert pump_until(lambda: any("verspätet ausgelöst: gedrückt um" in n
                                  for n in melder.notices))
    resolve(melder, alarm_id, kollege)


def test_settings_dialog_pairs_with_a_user_login(server):
    from beistand_desktop.gui.dialogs import SettingsDialog

    from .qt_helpers import delete_now

    qapp()
    config = Config()
    dialog = SettingsDialog(config)
    dialog.server_edit.setText(server.url)
    dialog.user_edit.setText("kollege3")
    dialog.password_edit.setText("falsch")
    dialog.accept()
    assert "Anmeldung abgelehnt" in dialog.error_label.text() and not dialog.token
    dialog.password_edit.setText("demo")
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error_label.text()
    assert dialog.token.startswith("bst_") and dialog.password_edit.text() == ""
    assert server.api("GET", "/api/v1/auth/me", dialog.token)["username"] == "kollege3"
    assert config.server == server.url
    delete_now(dialog)


def test_a_pc_paired_as_a_room_device_sends_hotkey_and_icon_presses_as_such(server, tokens,
                                                                              trays, tmp_path):
    """A person-less PC paired with a room device token: its hotkey press is stored as
    "hotkey" (it was "button" - shown as "Alarmtaster"), its desktop icon as "desktop_icon"."""
    _melder, kollege = trays
    admin = server.token("admin")
    device_token = server.device_token("melder", room_only=True)
    pc = make_tray(server, device_token, tmp_path / "empfang")

    def close(alarm_id):
        assert pump_until(lambda: alarm_id in kollege.windows, 20), kollege.windows
        window = kollege.windows[alarm_id]
        window.coming_button.click()  # a helper who comes may give the all-clear
        assert pump_until(lambda: "Ihre Antwort: kommt" in window.status_label.text())
        kollege.client.resolve(alarm_id).result(10)
        assert pump_until(lambda: alarm_id not in kollege.windows, 10)

    try:
        pc.hotkey_pressed()  # what Ctrl+Alt+H calls
        client_id = next(iter(pc.pending))
        alarm_id = sent_alarm_id(pc, client_id)
        assert "source=hotkey" in pc.client.sender._request(pc.client.outbox.get(client_id))[1]
        detail = server.api("GET", f"/api/v1/alarms/{alarm_id}", admin)
        assert detail["source"] == "hotkey", detail["source"]
        assert detail["sender"]["name"] == "PC melder (Raum)"
        close(alarm_id)
    finally:
        pc.close()
        pc.client.stop()
    # the desktop icon with the same device token
    result = run_cli(tmp_path / "icon", "trigger", "--source", "desktop_icon",
                     "--server", server.url, "--token", device_token)
    assert result.returncode == 0, result.stdout + result.stderr
    sent = list((tmp_path / "icon" / "state" / "outbox" / "sent").glob("*.json"))
    alarm_id = json.loads(sent[0].read_text())["alarm_id"]
    assert server.api("GET", f"/api/v1/alarms/{alarm_id}", admin)["source"] == "desktop_icon"
    close(alarm_id)


def test_a_press_over_the_flood_limit_is_never_told_as_raised(server, tmp_path):
    """Found by the #21 review: the server refuses a person's press with 429 beyond five
    alarms a minute while one of them is open - also when the open one is a Probealarm, which
    reaches nobody. The client counted 429 as "went out" and said "Alarm wurde ausgelöst":
    the person believed help was called while no one was alarmed."""
    import asyncio

    from beistand_desktop.sender import AlarmSender, SendState

    token = server.token("kollege5")
    tests = [server.api("POST", "/api/v1/alarms", token,
                        {"template": "probealarm", "source": "tray"})["id"] for _ in range(5)]
    try:
        outbox = Outbox(tmp_path / "outbox")
        item = outbox.put(PendingAlarm.new(source="hotkey"))
        [result] = asyncio.run(AlarmSender(server.url, token, outbox).flush())
        assert result.status_code == 429
        assert result.state == SendState.FAILED, result
        assert "Zu viele Alarme" in result.detail
        assert outbox.pending() == [] and outbox.get(item.client_id).alarm_id is None
    finally:
        for alarm_id in tests:
            server.api("POST", f"/api/v1/alarms/{alarm_id}/resolve", token, {})
