"""Client core logic against a small real protocol server (websockets) and real files."""

import asyncio
import os
import random
import stat
import time
import wave

import pytest
from beistand_desktop.backoff import Backoff
from beistand_desktop.client import AlarmClient, Listener, user_message
from beistand_desktop.config import Config
from beistand_desktop.connection import Status
from beistand_desktop.credentials import TokenStore
from beistand_desktop.cursor import EventCursor
from beistand_desktop.hotkey import HotkeyError, HotkeyListener, to_pynput
from beistand_desktop.logs import setup_logging
from beistand_desktop.outbox import Outbox, PendingAlarm
from beistand_desktop.pairing import PairingError, parse_pairing
from beistand_desktop.protocol import location_lines, trigger_url, ws_url
from beistand_desktop.sender import AlarmSender, SendState
from beistand_desktop.sound import AlarmSound, write_alarm_wav

from .protocol_server import ProtocolServer


def wait_for(condition, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.fixture
def proto():
    server = ProtocolServer().start()
    yield server
    server.stop()


def test_backoff_doubles_to_thirty_seconds_with_jitter():
    b = Backoff(rng=random.Random(1))
    bases = []
    for _ in range(8):
        bases.append(b.base())
        delay = b.next_delay()
        assert 0.8 * bases[-1] <= delay <= min(30, 1.2 * bases[-1])
    assert bases == [1, 2, 4, 8, 16, 30, 30, 30]
    b.reset()
    assert b.base() == 1


def test_cursor_drops_duplicates_and_survives_restart(tmp_path):
    cursor = EventCursor(tmp_path / "last")
    assert cursor.advance(1) and cursor.advance(2)
    assert not cursor.advance(2) and not cursor.advance(1)
    assert EventCursor(tmp_path / "last").last_event_id == 2


def test_outbox_is_durable_and_keeps_the_client_id(tmp_path):
    outbox = Outbox(tmp_path / "outbox")
    item = outbox.put(PendingAlarm.new("beistand", "hotkey"))
    again = Outbox(tmp_path / "outbox").pending()
    assert [i.client_id for i in again] == [item.client_id]
    assert again[0].source == "hotkey"
    outbox.mark_sent(again[0])
    assert outbox.pending() == []
    assert outbox.get(item.client_id).client_id == item.client_id


def test_sender_keeps_the_press_while_the_server_is_unreachable(tmp_path):
    outbox = Outbox(tmp_path / "outbox")
    item = outbox.put(PendingAlarm.new())
    sender = AlarmSender("http://127.0.0.1:9", "bst_x_123456789", outbox, timeout=1)
    [result] = asyncio.run(sender.flush())
    assert result.state == SendState.QUEUED
    assert "NOCH NICHT übermittelt" in user_message(result)
    [kept] = outbox.pending()
    assert kept.client_id == item.client_id and kept.attempts == 1
    assert "nicht erreichbar" in kept.last_error


def test_connection_resumes_dedups_receipts_and_reconnects(proto, tmp_path):
    proto.push({"type": "alarm", "alarm_id": 1, "role": "receiver"})
    seen, statuses = [], []
    client = AlarmClient(proto.url, proto.token, Outbox(tmp_path / "o"),
                         EventCursor(tmp_path / "cursor"),
                         listeners=[Listener(on_alarm=seen.append,
                                             on_status=lambda s, d: statuses.append(s))])
    client.connection.backoff = Backoff(first=0.05, maximum=0.2)
    client.start()
    try:
        assert wait_for(lambda: len(seen) == 1)
        assert proto.resumes == [0]
        assert wait_for(lambda: {"type": "receipt", "event_id": 1} in proto.received)
        proto.push({"type": "alarm", "alarm_id": 2, "role": "receiver"})
        assert wait_for(lambda: len(seen) == 2)
        # the server drops the connection; the client resumes after event 2; the server
        # resends event 2 (at-least-once), which the client drops, then delivers event 3
        proto.drop_connections()
        assert wait_for(lambda: proto.connections == 2)
        assert wait_for(lambda: proto.resumes == [0, 2])
        proto.push({"type": "message", "alarm_id": 2, "text": "Bin unterwegs"})
        assert wait_for(lambda: 2 in client.messages)
        assert [a["alarm_id"] for a in seen] == [1, 2]
        assert client.connection.duplicates_dropped >= 1
        assert Status.DISCONNECTED in statuses and statuses[-1] == Status.CONNECTED
        assert wait_for(lambda: {"type": "receipt", "event_id": 3} in proto.received)
        # a command carries a request_id and waits for its result
        assert client.respond(2, "coming").result(5)["ok"] is True
        assert any(f.get("type") == "respond" and f.get("request_id") for f in proto.received)
    finally:
        client.stop()
    assert EventCursor(tmp_path / "cursor").last_event_id == 3


def test_silence_counts_as_disconnect(tmp_path):
    proto = ProtocolServer(heartbeat_s=0.3)
    proto.silent = True
    proto.start()
    statuses = []
    client = AlarmClient(proto.url, proto.token, Outbox(tmp_path / "o"),
                         listeners=[Listener(on_status=lambda s, d: statuses.append(s))])
    client.connection.backoff = Backoff(first=0.05, maximum=0.1)
    client.start()
    try:
        assert wait_for(lambda: proto.connections >= 2, timeout=5)
        assert Status.DISCONNECTED in statuses
    finally:
        client.stop()
        proto.stop()


def test_bad_token_stops_with_unauthorized(proto, tmp_path):
    statuses = []
    client = AlarmClient(proto.url, "bst_wrong_token_1", Outbox(tmp_path / "o"),
                         listeners=[Listener(on_status=lambda s, d: statuses.append(s))])
    client.start()
    try:
        assert wait_for(lambda: Status.UNAUTHORIZED in statuses)
        # the connection task has ended for good: it will never retry with this token
        assert wait_for(lambda: bool(client._tasks) and client._tasks[0].done())
        assert proto.connections == 0 and client.connection.connects == 0
    finally:
        client.stop()


def test_pairing_link_and_token_store(tmp_path, monkeypatch):
    monkeypatch.setenv("BEISTAND_DESKTOP_KEYRING", "0")
    pairing = parse_pairing("beistand://pair?server=https://b.example/&token=bsd_abcdef123456")
    assert pairing.server == "https://b.example" and pairing.is_device
    assert parse_pairing(" bst_abcdefghijk ", "http://x:8000").token == "bst_abcdefghijk"
    for bad in ("hallo", "beistand://pair?server=https://b.example&token=xyz", "bsd_short"):
        with pytest.raises(PairingError):
            parse_pairing(bad, "https://b.example")
    store = TokenStore(tmp_path / "state" / "token", pairing.server)
    assert store.save(pairing.token) == "file"
    assert stat.S_IMODE(os.stat(tmp_path / "state" / "token").st_mode) == 0o600
    assert store.load() == pairing.token


def test_config_round_trip(tmp_path):
    config = Config(server="http://x", countdown_s=99, confirmation="tooltip", hotkey="Ctrl+Alt+J")
    config.save(tmp_path / "c.toml")
    loaded = Config.load(tmp_path / "c.toml")
    assert (loaded.server, loaded.countdown_s, loaded.confirmation, loaded.hotkey) == \
        ("http://x", 30, "tooltip", "Ctrl+Alt+J")


def test_hotkey_parsing_and_callback(monkeypatch):
    assert to_pynput("Ctrl+Alt+H") == "<ctrl>+<alt>+h"
    assert to_pynput("Strg+Umschalt+F9") == "<ctrl>+<shift>+<f9>"
    with pytest.raises(HotkeyError):
        to_pynput("H")
    pressed = []
    listener = HotkeyListener("Ctrl+Alt+H", lambda: pressed.append(1))
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    status = listener.start()
    assert not status.active and "Wayland" in status.reason
    listener.fire()
    assert pressed == [1]


def test_protocol_helpers():
    assert ws_url("https://b.example/") == "wss://b.example/ws/v1/alarms"
    assert trigger_url("http://b", "bsd_a/b", template="probealarm", source="button") == \
        "http://b/api/v1/trigger/bsd_a%2Fb?template=probealarm&source=button"
    assert location_lines({"location": {"room": "1.05", "room_name": "Bürgerbüro",
                                        "floor": "1. Etage", "building": "Haupthaus"}}) == \
        ["Raum 1.05 (Bürgerbüro)", "1. Etage, Haupthaus"]


def test_alarm_sound_is_a_real_wav_played_until_stopped(tmp_path):
    path = write_alarm_wav(tmp_path / "alarm.wav", volume=50)
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 1 and wav.getframerate() == 22050
        assert wav.getnframes() > 20000
    # the "player" really opens and decodes the file each time it is played
    player = ["python3", "-c", "import sys, wave; wave.open(sys.argv[1]).readframes(-1)",
              str(path)]
    sound = AlarmSound(path, command=player, pause_s=0.01)
    sound.start()
    assert wait_for(lambda: sound.plays >= 2)
    sound.stop()
    assert not sound.playing


def test_log_file_rotates(tmp_path):
    import logging
    handler = setup_logging(tmp_path / "log" / "x.log", max_bytes=2000, backups=2)
    log = logging.getLogger("beistand_desktop.test")
    for i in range(200):
        log.info("zeile %d %s", i, "x" * 50)
    handler.flush()
    assert (tmp_path / "log" / "x.log.1").exists() and (tmp_path / "log" / "x.log.2").exists()
    assert not (tmp_path / "log" / "x.log.3").exists()
    logging.getLogger("beistand_desktop").removeHandler(handler)


def test_a_reset_frame_renumbers_the_cursor(proto, tmp_path):
    """A restored server (another epoch) says "reset": the client takes the server's number and
    does not drop the new alarm as a duplicate."""
    cursor = EventCursor(tmp_path / "cursor")
    cursor.advance(50)          # from the server before the restore
    cursor.set_epoch("old")
    seen = []
    proto.reset_to = 0
    proto.push({"type": "alarm", "alarm_id": 7, "role": "receiver"})
    client = AlarmClient(proto.url, proto.token, Outbox(tmp_path / "o"), cursor,
                         listeners=[Listener(on_alarm=seen.append)])
    client.start()
    try:
        assert wait_for(lambda: [a["alarm_id"] for a in seen] == [7])
        assert {"type": "resume", "last_event_id": 50, "epoch": "old"} in proto.received
        assert EventCursor(tmp_path / "cursor").epoch == "new"
        assert EventCursor(tmp_path / "cursor").last_event_id == 1
    finally:
        client.stop()


def test_missing_system_libraries_are_named_with_their_packages():
    from beistand_desktop.system import gui_packages_problem, missing_libraries

    assert missing_libraries({"libc.so.6": "libc6"}) == {}
    problem = gui_packages_problem({"libc.so.6": "libc6",
                                    "libxcb-gibtsnicht.so.9": "libxcb-gibtsnicht9"})
    assert "libxcb-gibtsnicht.so.9" in problem
    assert "sudo apt-get install -y libxcb-gibtsnicht9" in problem
    assert gui_packages_problem({"libc.so.6": "libc6"}) == ""


def test_autostart_runs_the_program_by_its_full_path(tmp_path):
    import shlex

    from beistand_desktop.shortcuts import install_autostart

    entry = install_autostart(tmp_path / "autostart")
    exec_line = next(line for line in entry.read_text().splitlines()
                     if line.startswith("Exec="))
    command = shlex.split(exec_line[len("Exec="):])
    assert os.path.isabs(command[0]) and os.access(command[0], os.X_OK)
    assert command[-1] == "tray"
    # it starts without PATH (a graphical session without ~/.local/bin on it)
    import subprocess
    result = subprocess.run([*command[:-1], "--help"], capture_output=True, text=True,
                            timeout=60, env={"HOME": str(tmp_path)}, check=False)
    assert result.returncode == 0 and "beistand-desktop" in result.stdout


def test_a_config_with_a_key_set_twice_or_a_bad_line_still_loads(tmp_path):
    """Found by the #21 review: the README's button-service set-up appends
    ``button_device = "…"`` (``tee -a``) to the config.toml that ``pair`` wrote, which already
    has ``button_device = ""``: TOML refuses a key set twice, and the tray and the service
    ended at start with a traceback - a PC that receives no alarms, and nobody sees why."""
    path = tmp_path / "config.toml"
    Config(server="http://beistand.example").save(path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('button_device = "/dev/ttyACM0"\nsound_player = "/usr/bin/paplay"\n')
    config = Config.load(path)
    assert config.button_device == "/dev/ttyACM0"          # the last line counts
    assert config.sound_player == "/usr/bin/paplay"
    assert config.server == "http://beistand.example" and config.problems == []
    assert config.problems_text(path) == ""
    path.write_text('server = "http://beistand.example"\nvolume = "laut"\n'
                    'countdown_s = 5\nhotkey = Strg+Alt+H\n', encoding="utf-8")
    config = Config.load(path)
    assert config.server == "http://beistand.example" and config.countdown_s == 5
    assert config.volume == 80 and config.hotkey == "Ctrl+Alt+H"   # the defaults
    text = config.problems_text(path)
    assert "Zeile 4 nicht lesbar" in text and "volume" in text and "Standardwerte" in text


def test_the_cli_reads_a_config_with_an_appended_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    Config(server="http://127.0.0.1:9").save(tmp_path / "config" / "config.toml")
    with (tmp_path / "config" / "config.toml").open("a", encoding="utf-8") as fh:
        fh.write('button_device = "/dev/ttyACM0"\nvolume = "laut"\n')
    result = subprocess.run([str(Path(sys.executable).parent / "beistand-desktop"), "--home",
                             str(tmp_path), "status"], capture_output=True, text=True,
                            timeout=60, check=False,
                            env={**os.environ, "BEISTAND_DESKTOP_KEYRING": "0"})
    assert result.returncode == 0, result.stderr
    assert "Server: http://127.0.0.1:9" in result.stdout
    assert "volume" in result.stderr and "Standardwerte" in result.stderr


def test_a_refused_command_is_told_in_german():
    """Found by the #21 review: an answer that could not be sent with the server down read
    "Antwort NICHT gesendet: All connection attempts failed"."""
    import httpx
    from beistand_desktop.client import command_error

    assert command_error(httpx.ConnectError("All connection attempts failed")) == \
        "keine Verbindung zum Server (ConnectError)"
    assert "Zeitüberschreitung" in command_error(httpx.ReadTimeout("timed out"))
    assert "Zeitüberschreitung" in command_error(TimeoutError())


def test_a_pending_press_is_retried_at_least_every_few_seconds(tmp_path):
    """Review finding (issue 21): after an outage a stored press waited up to a 30 s backoff
    step. The sender's retries of a pending press stay within 5 s (plus jitter)."""
    from beistand_desktop.outbox import Outbox
    from beistand_desktop.sender import AlarmSender

    sender = AlarmSender("http://127.0.0.1:9", "bst_x", Outbox(tmp_path / "outbox"))
    delays = [sender.backoff.next_delay() for _ in range(20)]
    assert delays[0] <= 1.2 and max(delays) <= 5.0 * 1.2
