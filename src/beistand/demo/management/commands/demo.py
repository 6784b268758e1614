"""``beistand demo [--port 8000] [--no-serve]``: migrate, load Stadt Musterstadt, serve locally.

The console script switches demo mode on (BEISTAND_DEMO=1) before settings load; this command
refuses to run without it, so demo accounts never appear without the demo banner.
"""

import os
import secrets
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from beistand.accounts.roles import Role
from beistand.demo.services import DemoRefused, load_demo

HOST = "127.0.0.1"


class Command(BaseCommand):
    help = ("Demo starten: Datenbank migrieren, die fiktive Stadt Musterstadt laden und "
            "auf http://127.0.0.1:PORT bereitstellen (Passwort aller Demo-Konten: demo).")

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="Port (Standard 8000)")
        parser.add_argument("--no-serve", action="store_true",
                            help="nur migrieren und Demo-Daten laden, keinen Server starten")

    def handle(self, *args, port, no_serve, **options):
        if not settings.DEMO_MODE:
            raise CommandError("Der Demo-Modus ist aus. Bitte mit „beistand demo“ starten "
                               "(setzt BEISTAND_DEMO=1).")
        if not 0 < port < 65536:
            raise CommandError(f"Ungültiger Port {port}.")
        call_command("migrate", interactive=False, verbosity=max(0, options["verbosity"] - 1))
        try:
            summary = load_demo()
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        t = summary.totals
        self.stdout.write(
            f"Stadt Musterstadt geladen: {t['units']} Einheiten, {t['sites']} Standorte, "
            f"{t['rooms']} Räume, {t['employees']} Beschäftigte "
            f"({summary.created} neu, {summary.updated} geändert, {summary.unchanged} "
            "unverändert).")
        if summary.incidents:
            self.stdout.write(f"{summary.incidents} Vorfälle der letzten drei Jahre für die "
                              "Statistik angelegt.")
        self.stdout.write("Demo-Konten (Passwort „demo“, ohne Zwei-Faktor nur im Demo-Modus):")
        for account in summary.accounts:
            roles = ", ".join(Role(r).label for r in account["roles"]) or "–"
            self.stdout.write(f"  {account['username']:<12} {account['employee']:<22} "
                              f"{account['unit']:<6} {roles}")
        if no_serve:
            return
        import uvicorn

        self.stdout.write(f"Demo läuft auf http://{HOST}:{port}/ (Beenden mit Strg+C)")
        if "filebased" in settings.MAILERS["default"]["BACKEND"]:
            self.stdout.write(f"E-Mails werden als Dateien abgelegt in "
                              f"{settings.MAILERS['default']['OPTIONS']['file_path']}")
        self.stdout.flush()
        if "BEISTAND_BASE_URL" not in os.environ:
            settings.BASE_URL = f"http://{HOST}:{port}"  # links in the demo's mails
        # The SMS fallback, visible: a local gateway peer that sends nothing and lists what it
        # got (unless an SMS provider is configured).
        gateway, sms_env = None, {}
        if "BEISTAND_SMS_PROVIDER" not in os.environ:
            from beistand.demo.sms_gateway import DemoGateway

            # Answers by key press go back signed, as from a real gateway: the demo's secret
            # unless one is configured.
            if not settings.SMS_INBOUND_SECRET:
                settings.SMS_INBOUND_SECRET = secrets.token_hex(16)
            gateway = DemoGateway(HOST, callback=settings.BASE_URL,
                                  secret=settings.SMS_INBOUND_SECRET).start()
            send_url, call_url = f"{gateway.url}/send", f"{gateway.url}/call"
            settings.SMS_PROVIDER, settings.SMS_HTTP_URL = "http", send_url
            settings.SMS_CALL_URL = call_url
            sms_env = {"BEISTAND_SMS_PROVIDER": "http", "BEISTAND_SMS_HTTP_URL": send_url,
                       "BEISTAND_SMS_CALL_URL": call_url,
                       "BEISTAND_SMS_INBOUND_SECRET": settings.SMS_INBOUND_SECRET}
            self.stdout.write(f"Demo-SMS-Gateway (sendet nichts, zeigt die SMS): "
                              f"{gateway.url}/")
            self.stdout.flush()
        # The demo's worker (e-mails, deadlines, …): ``beistand worker`` as a child process, as
        # in production; it inherits the demo's environment and ends with the demo.
        worker = subprocess.Popen([sys.executable, "-m", "django", "worker"],
                                  env={**os.environ, **sms_env,
                                       "BEISTAND_BASE_URL": settings.BASE_URL,
                                       "DJANGO_SETTINGS_MODULE": "beistand.settings"})
        try:
            # In-process: settings (with demo mode) are already loaded in this interpreter.
            # Lifespan on: the alarm engine starts with the server. Sans-I/O WebSockets without
            # compression: about 20 KB per connected alarm client instead of 65-130 KB.
            uvicorn.run("beistand.asgi:application", host=HOST, port=port, lifespan="on",
                        ws="websockets-sansio", ws_per_message_deflate=False,
                        log_level="info")
        finally:
            if gateway is not None:
                gateway.stop()
            # Ctrl+C reached the worker too (same process group); otherwise SIGTERM. Either way
            # it finishes the job in hand (a second signal would cut it short).
            try:
                worker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.terminate()
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
