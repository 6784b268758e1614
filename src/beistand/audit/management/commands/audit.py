from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from beistand.audit import checkpoint, protections
from beistand.audit.services import verify_chain, verify_content


class Command(BaseCommand):
    help = ("Audit trail tools. 'audit verify' checks the hash chain of every audit row (and, with "
            "--checkpoint FILE, that no row up to each signed checkpoint changed); 'audit "
            "checkpoint' signs the head now; 'audit public-key' prints the checkpoint key.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser(
            "verify", help="Recompute the hash chain and check the trail's protections (triggers, "
                      "grants); exit 1 naming the first bad row or missing protection.")
        verify.add_argument("--checkpoint", type=Path, default=None,
                            help="file of signed checkpoints (the DPO's copy) to check against")
        verify.add_argument("--public-key", default=None,
                            help="base64 Ed25519 public key the checkpoints must be signed with "
                                 "(default: the configured signing key's)")
        cp = sub.add_parser("checkpoint", help="Sign the chain's head and append it to a file.")
        cp.add_argument("--file", type=Path, default=None,
                        help="default: BEISTAND_AUDIT_CHECKPOINT_FILE")
        sub.add_parser("public-key", help="Print the public key of the checkpoint signing key.")

    def handle(self, *args, subcommand, **options):
        try:
            if subcommand == "verify":
                self._verify(options["checkpoint"], options["public_key"])
            elif subcommand == "checkpoint":
                written = checkpoint.write_checkpoint(options["file"], force=True)
                self.stdout.write(f"Prüfpunkt geschrieben: #{written['seq']} {written['hash']}")
            else:
                self.stdout.write(checkpoint.public_key_text())
        except checkpoint.CheckpointError as exc:
            raise CommandError(str(exc), returncode=1) from exc

    def _verify(self, checkpoint_file, public_key):
        result = verify_chain()
        if not result.ok:
            raise CommandError(
                f"Audit-Kette ungültig bei Zeile #{result.bad_seq}: {result.reason} "
                f"({result.checked} Zeilen davor geprüft).", returncode=1)
        problems = verify_content()
        if problems:
            raise CommandError("Inhalt passt nicht zur Audit-Kette: " + "; ".join(problems[:20])
                               + (f" (und {len(problems) - 20} weitere)" if len(problems) > 20
                                  else ""), returncode=1)
        broken = protections.problems()
        if broken:
            raise CommandError("Schutz des Audit-Protokolls unvollständig: " + "; ".join(broken),
                               returncode=1)
        for problem in checkpoint.anchor_problems():
            self.stderr.write(f"Warnung: {problem} (docs/audit.md).")
        if checkpoint_file is not None:
            cp = checkpoint.verify_checkpoints(checkpoint_file, public_key=public_key)
            if not cp.ok:
                raise CommandError(f"Audit-Kette passt nicht zum Prüfpunkt: {cp.reason} "
                                   f"({cp.checkpoints} Prüfpunkte davor bestätigt).", returncode=1)
            self.stdout.write(f"Audit-Kette gültig: {result.checked} Zeilen geprüft, "
                              f"{cp.checkpoints} signierte Prüfpunkte bestätigt.")
            return
        self.stdout.write(f"Audit-Kette gültig: {result.checked} Zeilen geprüft.")
