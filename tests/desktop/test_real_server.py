"""End to end against a real beistand server process (`beistand demo`): the self-test, the
hotkey, a tray click and the button daemon each raise an alarm that a colleague's receive
window shows; "Ich komme" reaches the sender; a press while the server is down goes out when
it is back, and the sender is told it was delayed.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from beistand_desktop.backoff import Backoff
from beistand_desktop.client import AlarmClient
from beistand_desktop.config import Config
from beistand_desktop.cursor import EventCursor
from beistand_desktop.gui import icons
from beistand_desktop.gui.tray import TrayController
from beistand_desktop.outbox import Outbox
from beistand_desktop.paths import default_paths

from .demo_server import DemoServer
from .qt_helpers import pump_until, qapp, sound_command

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


def test_selftest_passes_against_the_server(server, tokens, tmp_path):
    result = subprocess.run(
        [str(BIN / "beistand-desktop"), "--home", str(tmp_path), "--selftest",
         "--server", server.url, "--token", tokens["melder"]],
        capture_output=True, text=True, timeout=90, check=False,
        env={**os.environ, "BEISTAND_DESKTOP_KEYRING": "0"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[OK    ] Probealarm empfangen" in result.stdout
    assert "Selbsttest bestanden." in result.stdout


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
        pump_until(lambda: False, 1.5)  # the daemon opens the port
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
    assert pump_until(lambda: melder.state == icons.DISCONNECTED, 20)
    client_id = melder.raise_alarm("tray")
    assert pump_until(lambda: any("NOCH NICHT übermittelt" in n for n in melder.notices), 15)
    assert melder.state == icons.PENDING
    assert [i.client_id for i in melder.client.outbox.pending()] == [client_id]
    server.start()
    alarm_id = sent_alarm_id(melder, client_id, timeout=60)
    item = melder.client.outbox.get(client_id)
    assert item.delayed and item.attempts > 1
    assert pump_until(lambda: any("verspätet ausgelöst" in n for n in melder.notices))
    assert_window_shows_sender(kollege, alarm_id, melder.client.connection.hello["name"], 30)
    resolve(melder, alarm_id, kollege)
