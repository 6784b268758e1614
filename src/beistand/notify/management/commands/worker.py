"""``beistand worker``: run queued jobs (e-mails) and the deadline check until stopped.

SIGTERM or SIGINT ends it cleanly after the job in hand; a second signal ends it at once (the
job's mail is then re-queued by the next worker: delivery is at least once). ``--once`` does
everything currently due and exits (cron, tests).
"""

import signal
from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand, CommandError

from beistand.notify.worker import BeistandWorker


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ArgumentTypeError(f"keine Zahl: {value}") from None
    if not 0 < number < float("inf"):
        raise ArgumentTypeError(f"muss größer als 0 sein: {value}")
    return number


class Command(BaseCommand):
    help = ("Hintergrundaufträge ausführen (E-Mails) und Fristen überwachen (Erinnerungen, "
            "Eskalation). Läuft, bis es mit SIGTERM/Strg+C beendet wird.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="alles jetzt Fällige erledigen und beenden")
        parser.add_argument("--interval", type=_positive, default=1.0,
                            help="Sekunden zwischen zwei Blicken in die Warteschlange "
                                 "(Standard 1)")
        parser.add_argument("--deadline-interval", type=_positive, default=60.0,
                            help="Sekunden zwischen zwei Fristprüfungen (Standard 60)")
        parser.add_argument("--stale-after", type=_positive, default=300.0,
                            help="Sekunden, nach denen ein laufender Auftrag als abgebrochen "
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
