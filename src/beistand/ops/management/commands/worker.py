"""``beistand worker``: run the scheduled jobs (e-mails, deadlines, retention, alarm upkeep and
supervision, …; see ``beistand.ops.scheduler``) until stopped.

SIGTERM or SIGINT ends it cleanly after the job in hand; a second signal ends it at once (a
mail it was sending is then re-queued by the next worker: delivery is at least once). ``--once``
runs every job once and exits (cron, tests).
"""

import signal
from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand, CommandError

from beistand.ops.worker import BeistandWorker


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ArgumentTypeError(f"keine Zahl: {value}") from None
    if not 0 < number < float("inf"):
        raise ArgumentTypeError(f"muss größer als 0 sein: {value}")
    return number


class Command(BaseCommand):
    help = ("Geplante Hintergrundaufträge ausführen (E-Mails, Fristen, Löschfristen, "
            "Alarmüberwachung …). Läuft, bis es mit SIGTERM/Strg+C beendet wird.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="jeden Auftrag einmal ausführen und beenden")
        parser.add_argument("--interval", type=_positive, default=1.0,
                            help="Sekunden zwischen zwei Durchläufen; so oft werden fällige "
                                 "E-Mails gesendet (Standard 1)")
        parser.add_argument("--deadline-interval", type=_positive, default=60.0,
                            help="Sekunden zwischen zwei Runden der regelmäßigen Prüfungen "
                                 "(Fristen, Überwachung, Lebenszeichen; Standard 60)")
        parser.add_argument("--stale-after", type=_positive, default=300.0,
                            help="Sekunden, nach denen eine E-Mail im Versand als abgebrochen "
                                 "gilt und neu eingereiht wird (Standard 300)")
        parser.add_argument("--worker-id", default=None,
                            help="eindeutige Kennung dieses Workers (Standard: Rechner:PID)")

    def handle(self, *args, once, interval, deadline_interval, stale_after, worker_id,
               **options):
        if worker_id is not None and not 0 < len(worker_id) <= 64:
            raise CommandError("Die Worker-Kennung muss 1 bis 64 Zeichen lang sein.")
        worker = BeistandWorker(interval=interval, deadline_interval=deadline_interval,
                                stale_after=stale_after, worker_id=worker_id)
        if once:
            worker.run_once()
            return

        def on_signal(signum, frame):
            if worker.stopping:
                # Second signal: stop now, even mid-job.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                raise SystemExit(1)
            self.stderr.write(f"{signal.strsignal(signum)}: Worker wird beendet …")
            worker.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        worker.run()
