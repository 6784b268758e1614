"""``beistand-desktop``: the tray app, and commands for pairing, triggering, the button daemon
and the self-test. ``beistand-desktop --help`` lists them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import sys
import time
from pathlib import Path

from .config import Config
from .credentials import TokenStore
from .logs import setup_logging
from .outbox import Outbox
from .pairing import PairingError, normalise_server
from .paths import Paths, default_paths

log = logging.getLogger("beistand_desktop.cli")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="beistand-desktop",
                                description="beistand – Stiller Alarm am Arbeitsplatz-PC")
    # the common options work before and after the command
    common = argparse.ArgumentParser(add_help=False)
    for parser, default in ((p, None), (common, argparse.SUPPRESS)):
        parser.add_argument("--server", default=default,
                            help="Server-Adresse, z. B. https://beistand.stadt.example")
        parser.add_argument("--token", default=default,
                            help="Geräte- (bsd_…) oder Benutzer-Token (bst_…)")
        parser.add_argument("--home", default=default,
                            help="Verzeichnis für Einstellungen, Zustand und Protokolle")
        parser.add_argument("-v", "--verbose", action="store_true",
                            default=default if default else False)
    p.add_argument("--selftest", action="store_true",
                   help="Selbsttest ausführen und beenden (Exit-Code 0 = bestanden)")
    p.add_argument("--no-sound-check", action="store_true",
                   help="Selbsttest ohne Tonprüfung (Dienst ohne Lautsprecher)")
    p.add_argument("--gui-check", action="store_true",
                   help="Systempakete der Oberfläche auch ohne Anzeige prüfen")
    sub = p.add_subparsers(dest="command")
    original_add = sub.add_parser

    def add_parser(name, **kwargs):
        return original_add(name, parents=[common], **kwargs)
    sub.add_parser = add_parser
    sub.add_parser("tray", help="Symbol im Infobereich (Standard)")
    pair = sub.add_parser("pair", help="Mit Kopplungs-Link oder Token koppeln")
    pair.add_argument("link", nargs="?", help="beistand://pair?server=…&token=… oder ein Token")
    pair.add_argument("--user", help="statt eines Tokens: mit Benutzername und Passwort "
                                     "anmelden (Passwort wird abgefragt)")
    pair.add_argument("--otp", help="Einmalcode (zweiter Faktor), wo verlangt")
    pair.add_argument("--code", help="Kopplungscode der Administration (ABCD-EFGH-JKLM), "
                                     "statt Token oder Anmeldung")
    trig = sub.add_parser("trigger", help="Stillen Alarm auslösen (für Desktop-Symbol, Tastatur)")
    trig.add_argument("--source", default="desktop",
                      choices=["desktop", "tray", "hotkey", "desktop_icon", "button"])
    trig.add_argument("--template", default="")
    trig.add_argument("--wait", type=float, default=60.0,
                      help="so lange (Sekunden) erneut versuchen, wenn der Server fehlt")
    btn = sub.add_parser("button", help="Alarmtaster-Dienst (systemd / Windows-Dienst)")
    btn.add_argument("--device", help="/dev/input/by-id/… oder /dev/ttyACM0 / COM3")
    btn.add_argument("--kind", choices=["auto", "evdev", "serial"])
    btn.add_argument("--key", help="evdev-Tastencode, z. B. KEY_F13 (Standard: jede Taste)")
    btn.add_argument("--no-grab", action="store_true", help="Gerät nicht exklusiv belegen")
    btn.add_argument("--no-sound", action="store_true")
    btn.add_argument("--sound", action="store_true",
                     help="der Dienst spielt selbst den Alarmton (PC ohne Benutzersitzung)")
    sub.add_parser("install-shortcut", help="Desktop-Symbol „Stiller Alarm“ anlegen")
    sub.add_parser("install-autostart",
                   help="beim Anmelden starten (~/.config/autostart, mit vollem Programmpfad)")
    sub.add_parser("status", help="Verbindung und wartende Alarme anzeigen")
    return p


def _context(args) -> tuple[Paths, Config, str, str]:
    paths = default_paths(args.home).create()
    config = Config.load(paths.config_file)
    if config.problems:
        log.warning("config: %s", config.problems)
        print(config.problems_text(paths.config_file), file=sys.stderr)
    server = args.server or os.environ.get("BEISTAND_SERVER") or config.server
    token = args.token or os.environ.get("BEISTAND_TOKEN") or ""
    if server and not token:
        token = TokenStore(paths.token_file, normalise_server(server)).load()
    return paths, config, server, token


def _need(server: str, token: str) -> None:
    if not server or not token:
        print("Nicht gekoppelt: bitte zuerst „beistand-desktop pair LINK“ ausführen "
              "(oder --server und --token angeben).", file=sys.stderr)
        sys.exit(2)


def cmd_pair(args) -> int:
    from .pairing import Pairing, check_token, enrol, login, pairing_from

    paths = default_paths(args.home).create()
    config = Config.load(paths.config_file)
    try:
        if args.user:
            server = normalise_server(args.server or config.server)
            password = os.environ.get("BEISTAND_PASSWORD") or getpass.getpass(
                f"Passwort für {args.user}: ")
            pairing = Pairing(server, login(server, args.user, password, args.otp or ""))
        elif args.code:
            server = normalise_server(args.server or config.server)
            pairing = Pairing(server, enrol(server, args.code))
        elif args.link:
            pairing = pairing_from(args.link, args.server or config.server)
        else:
            print("Bitte einen Kopplungs-Link/Token, --code oder --user angeben.",
                  file=sys.stderr)
            return 2
        # only a token the server accepts is stored ("Gekoppelt" means: it works)
        name = asyncio.run(check_token(pairing.server, pairing.token))
    except PairingError as exc:
        print(exc, file=sys.stderr)
        return 2
    where = TokenStore(paths.token_file, pairing.server).save(pairing.token)
    config.server = pairing.server
    config.save(paths.config_file)
    kind = "Geräte-Token" if pairing.is_device else "Benutzer-Token"
    print(f"Gekoppelt mit {pairing.server} als „{name}“ ({kind}, gespeichert: "
          f"{'Schlüsselbund' if where == 'keyring' else paths.token_file}).")
    return 0


def cmd_selftest(args) -> int:
    from .selftest import local_checks, run_selftest

    paths, config, server, token = _context(args)
    _need(server, token)
    local = local_checks(paths.state_dir, sound=not args.no_sound_check,
                         player=config.sound_player,
                         gui=bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
                         or args.gui_check)
    result = asyncio.run(run_selftest(server, token, hotkey=config.hotkey if
                                      config.hotkey_enabled else "",
                                      button_device=config.button_device,
                                      button_kind=config.button_kind,
                                      state_dir=paths.state_dir, local=local))
    for line in result.lines():
        print(line)
    log.info("selftest %s", "passed" if result.ok else "failed")
    return 0 if result.ok else 1


def cmd_trigger(args) -> int:
    from .client import user_message
    from .outbox import PendingAlarm
    from .sender import AlarmSender, SendState

    paths, config, server, token = _context(args)
    _need(server, token)
    outbox = Outbox(paths.outbox_dir)
    item = outbox.put(PendingAlarm.new(args.template or config.template, args.source,
                                       config.countdown_s or None))
    sender = AlarmSender(server, token, outbox)
    deadline = time.monotonic() + args.wait
    told = False
    while True:
        results = [r for r in asyncio.run(sender.flush()) if r.item.client_id == item.client_id]
        result = results[0] if results else None
        if result is None:  # another process (the tray) sent it meanwhile
            sent = outbox.get(item.client_id)
            print("Alarm wurde ausgelöst." if sent and sent.sent_at else "Alarm gespeichert.")
            return 0
        if result.state != SendState.QUEUED or time.monotonic() > deadline:
            print(user_message(result))
            return {SendState.SENT: 0, SendState.FAILED: 1}.get(result.state, 3)
        if not told:
            print(user_message(result), flush=True)
            told = True
        time.sleep(min(sender.backoff.next_delay(), max(0.1, deadline - time.monotonic())))


def cmd_button(args) -> int:
    from .button import ButtonDaemon
    from .client import AlarmClient
    from .cursor import EventCursor
    from .sound import AlarmSound, write_alarm_wav

    paths, config, server, token = _context(args)
    _need(server, token)
    device = args.device or config.button_device
    if not device:
        print("Kein Alarmtaster angegeben (--device oder button_device in config.toml).",
              file=sys.stderr)
        return 2
    sound = None
    if (config.button_sound or args.sound) and not args.no_sound:
        from .sound import configured_command

        wav = write_alarm_wav(paths.sound_file, config.volume)
        sound = AlarmSound(wav, command=configured_command(config.sound_player, wav))
    client = AlarmClient(server, token, Outbox(paths.outbox_dir),
                         EventCursor(paths.cursor_file))
    daemon = ButtonDaemon(client, device, args.kind or config.button_kind,
                          args.key or config.button_key, sound, grab=not args.no_grab)
    print(f"Alarmtaster-Dienst: {device} ({daemon.kind}) → {server}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(daemon.run())
    return 0


def cmd_status(args) -> int:
    paths, _config, server, token = _context(args)
    pending = Outbox(paths.outbox_dir).pending()
    print(f"Server: {server or '(nicht gekoppelt)'}")
    print(f"Token: {'vorhanden' if token else 'fehlt'}")
    print(f"Einstellungen: {paths.config_file}")
    print(f"Protokoll: {paths.log_file}")
    print(f"Nicht übermittelte Alarme: {len(pending)}")
    for item in pending:
        print(f"  {item.created_at} {item.source} – {item.last_error or 'wartet'}")
    return 0


def cmd_install_shortcut(args) -> int:
    from .shortcuts import install

    for path in install():
        print(f"Angelegt: {path}")
    return 0


def cmd_install_autostart(args) -> int:
    from .shortcuts import install_autostart

    path = install_autostart()
    print(f"Angelegt: {path}")
    return 0


def cmd_tray(args) -> int:
    from .gui.app import run_tray

    paths, config, server, token = _context(args)
    return run_tray(paths, config, server, token)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    home = Path(args.home) if args.home else None
    setup_logging(default_paths(home).create().log_file, args.verbose)
    if args.selftest:
        sys.exit(cmd_selftest(args))
    command = {"pair": cmd_pair, "trigger": cmd_trigger, "button": cmd_button,
               "status": cmd_status, "install-shortcut": cmd_install_shortcut,
               "install-autostart": cmd_install_autostart,
               "tray": cmd_tray, None: cmd_tray}[args.command]
    sys.exit(command(args))
